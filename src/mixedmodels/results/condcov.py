"""Joint conditional covariance of the random effects of several levels, of any factors.

lme4's ``condVar`` (:meth:`LmerResults.ranef_condcov`) gives each level's own
block. The covariance *between* the effects of different levels, possibly of
different grouping factors (a school's intercept and its classrooms', or
statsmodels' ``random_effects_cov`` of a group with variance components),
needs further entries of ``(L L')^{-1}``: a selected inverse.

Notation
--------
============  ==============================================================
symbol        meaning
============  ==============================================================
``L``         random-effects part of the blocked Cholesky factor,
              ``L L' = Lambda' Z' Z Lambda + I``
``S``         positions (in ``u``, blocks concatenated, level-major) of the
              wanted levels' columns
``E_S``       the unit columns of ``S``
``X``         ``L^{-1} E_S`` (forward substitution, block by block)
``T_S``       block diagonal of each wanted level's ``T``
============  ==============================================================

``(L L')^{-1}[S, S] = X' X`` and the conditional covariance is
``sigma2 T_S X' X T_S'``. Sets are solved together in batches of columns, so
the work is one forward substitution per wanted position, in memory of a
few tens of megabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from ..linalg.blocks import as_dense

if TYPE_CHECKING:
    from ..objective.pls import PLSState
    from .lmer import LmerResults

__all__ = ["joint_conditional_covariances"]

#: Entries of the dense right-hand side of one batch (32 MB of float64).
_BATCH_ENTRIES = 1 << 22


def _forward_solve(state: PLSState, rhs: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``L^{-1} rhs`` through the blocked factor (``rhs`` dense, rows of all blocks)."""
    parts: list[np.ndarray] = []
    for i, diagonal in enumerate(state.L_diag):
        right = rhs[offsets[i] : offsets[i + 1]]
        for m in range(i):
            off = state.L_off.get((i, m))
            if off is not None:
                right = right - as_dense(off @ parts[m])
        parts.append(diagonal.solve(right))
    return np.vstack(parts)


def joint_conditional_covariances(
    results: LmerResults, level_sets: Sequence[Sequence[tuple[int, int]]]
) -> list[np.ndarray]:
    """``sigma2 T_S (L L')^{-1}[S, S] T_S'`` for each set of ``(block, level)`` pairs.

    Parameters
    ----------
    results : LmerResults
    level_sets : sequence of sequences of (int, int)
        Each set lists ``(block index, level code)`` pairs; a pair stands for
        all ``p_block`` columns of that level.

    Returns
    -------
    list of ndarray
        One symmetric matrix per set, rows and columns in the order of its
        pairs (each pair's columns in the block's column order). A set of one
        pair equals that level's :meth:`LmerResults.ranef_condcov` block.
    """
    if all(len(pairs) <= 1 for pairs in level_sets):  # lme4's condVar, closed form per level
        condcov = list(results.ranef_condcov().values())
        return [
            condcov[pairs[0][0]][pairs[0][1]] if pairs else np.zeros((0, 0))
            for pairs in level_sets
        ]
    state = results.criterion_state()
    blocks = state.blocks
    widths = [block.n_columns for block in blocks]
    offsets = np.concatenate([[0], np.cumsum([block.n_random for block in blocks])])
    positions = [
        np.concatenate(
            [offsets[b] + level * widths[b] + np.arange(widths[b]) for b, level in pairs]
            or [np.zeros(0, dtype=np.int64)]
        ).astype(np.int64)
        for pairs in level_sets
    ]
    batch = max(1, _BATCH_ENTRIES // max(int(offsets[-1]), 1))
    out: list[np.ndarray] = []
    start = 0
    while start < len(level_sets):
        stop, width = start, 0
        while stop < len(level_sets) and (stop == start or width + len(positions[stop]) <= batch):
            width += len(positions[stop])
            stop += 1
        columns = np.concatenate(positions[start:stop])
        rhs = np.zeros((int(offsets[-1]), len(columns)))
        rhs[columns, np.arange(len(columns))] = 1.0
        solved = _forward_solve(state, rhs, offsets)
        first = 0
        for index in range(start, stop):
            part = solved[:, first : first + len(positions[index])]
            first += len(positions[index])
            factor = (
                scipy.linalg.block_diag(*[state.factors[b] for b, _ in level_sets[index]])
                if level_sets[index]
                else np.zeros((0, 0))
            )
            covariance = results.scale * factor @ (part.T @ part) @ factor.T
            out.append(0.5 * (covariance + covariance.T))
        start = stop
    return out
