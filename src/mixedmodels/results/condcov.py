"""Joint conditional covariance of any random effects, across levels and factors.

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
``b``         all random effects, blocks concatenated, each level-major
              (:func:`effect_offsets`); ``b = Lambda u``
``L``         random-effects part of the blocked Cholesky factor,
              ``L L' = Lambda' Z' Z Lambda + I``
``S``         the wanted positions of ``b``; ``S+`` all columns of the levels
              they touch (``Lambda`` mixes a level's columns)
``X``         ``L^{-1} E`` for the unit columns ``E`` of ``S+`` (forward
              substitution, block by block)
``T_S``       block diagonal of the touched levels' ``T``
============  ==============================================================

``(L L')^{-1}[S+, S+] = X' X`` and the conditional covariance is
``sigma2 T_S X' X T_S'``, restricted to ``S``. Sets are solved together in
batches of columns: one forward substitution per position of ``S+``, in a
few tens of megabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from ..linalg.blocks import as_dense

if TYPE_CHECKING:
    from ..design.terms import RandomEffectsBlock
    from ..objective.pls import PLSState
    from .lmer import LmerResults

__all__ = ["effect_offsets", "joint_conditional_covariances"]

#: Entries of the dense right-hand side of one batch (32 MB of float64).
_BATCH_ENTRIES = 1 << 22


def effect_offsets(blocks: Sequence[RandomEffectsBlock]) -> np.ndarray:
    """Start of each block's effects in ``b`` (and the total, last); level ``l``, column
    ``c`` of block ``j`` is at ``offsets[j] + l * p_j + c``."""
    return np.concatenate([[0], np.cumsum([block.n_random for block in blocks])]).astype(np.int64)


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


def _levels(positions: np.ndarray, offsets: np.ndarray, widths: np.ndarray) -> tuple:
    """The touched levels ``(block, level)``, all their positions ``S+`` and where each
    wanted position sits in ``S+``."""
    block = np.searchsorted(offsets, positions, side="right") - 1
    level = (positions - offsets[block]) // widths[block]
    pairs, inverse = np.unique(np.column_stack([block, level]), axis=0, return_inverse=True)
    sizes = widths[pairs[:, 0]]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    expanded = np.concatenate(
        [offsets[b] + lv * w + np.arange(w) for (b, lv), w in zip(pairs, sizes, strict=True)]
        or [np.zeros(0, dtype=np.int64)]
    )
    column = positions - offsets[block] - level * widths[block]
    return pairs, expanded, starts[inverse.ravel()] + column


def joint_conditional_covariances(
    results: LmerResults, position_sets: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """``sigma2 (Lambda (L L')^{-1} Lambda')[S, S]`` for each set ``S`` of positions in ``b``.

    Parameters
    ----------
    results : LmerResults
    position_sets : sequence of int arrays
        Positions in ``b`` (:func:`effect_offsets`).

    Returns
    -------
    list of ndarray
        One symmetric matrix per set, in the order of its positions. A set within
        one level is that level's block of :meth:`LmerResults.ranef_condcov`.
    """
    blocks = results.model.blocks
    offsets = effect_offsets(blocks)
    widths = np.array([block.n_columns for block in blocks], dtype=np.int64)
    parts = [_levels(np.asarray(s, dtype=np.int64), offsets, widths) for s in position_sets]
    if all(len(pairs) <= 1 for pairs, _, _ in parts):  # lme4's condVar, closed form per level
        condcov = list(results.ranef_condcov().values())
        return [
            condcov[pairs[0, 0]][pairs[0, 1]][np.ix_(where, where)]
            if len(pairs)
            else np.zeros((0, 0))
            for pairs, _, where in parts
        ]
    state = results.criterion_state()
    batch = max(1, _BATCH_ENTRIES // max(int(offsets[-1]), 1))
    out: list[np.ndarray] = []
    start = 0
    while start < len(parts):
        stop, width = start, 0
        while stop < len(parts) and (stop == start or width + len(parts[stop][1]) <= batch):
            width += len(parts[stop][1])
            stop += 1
        columns = np.concatenate([expanded for _, expanded, _ in parts[start:stop]])
        rhs = np.zeros((int(offsets[-1]), len(columns)))
        rhs[columns, np.arange(len(columns))] = 1.0
        solved = _forward_solve(state, rhs, offsets)
        first = 0
        for pairs, expanded, where in parts[start:stop]:
            if not len(pairs):
                out.append(np.zeros((0, 0)))
                continue
            x = solved[:, first : first + len(expanded)]
            first += len(expanded)
            factor = scipy.linalg.block_diag(*[state.factors[b] for b, _ in pairs])
            covariance = results.scale * factor @ (x.T @ x) @ factor.T
            covariance = covariance[np.ix_(where, where)]
            out.append(0.5 * (covariance + covariance.T))
        start = stop
    return out
