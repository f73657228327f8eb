"""One chunk's rows: the shared row mask, and evidence of repeated random effects.

:mod:`mixedmodels.design.chunked` never holds all rows, so the checks that
look at values are split in two:

* per chunk (:func:`complete_rows`, :func:`record_duplicates`): the row mask
  of every build (:func:`~mixedmodels.design.rows.complete_mask`) and the
  evidence :func:`~mixedmodels.design.checks.duplicate_effects` needs, added
  up in :class:`~mixedmodels.design.rows.ChunkStats` like the cross-products;
* after the pass (:func:`~mixedmodels.design.rows.raise_row_errors`,
  :func:`duplicate_predicates`): the errors and warnings of the in-memory
  path, from the totals.

Everything kept has the size of the levels or the columns, never of ``n``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .frame import as_vector
from .rows import ChunkStats, complete_mask

if TYPE_CHECKING:
    from collections.abc import Callable

    from .chunkplan import ChunkPlan
    from .terms import RandomEffectsBlock

__all__ = ["complete_rows", "duplicate_predicates", "record_duplicates"]


def complete_rows(plan: ChunkPlan, frame: pd.DataFrame, stats: ChunkStats) -> pd.DataFrame:
    """The used columns of ``frame`` on its complete rows, counted in ``stats``.

    The rows dropped are those of
    :func:`~mixedmodels.design.builder.build_design`: a missing value in a used
    column, a missing or zero weight. Rows with an Inf (and, when the pass
    will fail anyway, a negative weight) are left out and counted, so that
    :func:`~mixedmodels.design.rows.raise_row_errors` reports the totals.

    Parameters
    ----------
    plan : ChunkPlan
    frame : DataFrame
        One chunk.
    stats : ChunkStats
        Updated in place.

    Returns
    -------
    DataFrame
        Categorical covariates cast to the plan's levels.
    """
    columns = list(dict.fromkeys([*plan.variables, *(c for c in (plan.weights, plan.offset) if c)]))
    frame = frame[columns]
    weights, offset = (
        None if name is None else as_vector(frame[name], label, frame)
        for label, name in (("weights", plan.weights), ("offset", plan.offset))
    )
    used = {name: frame[name] for name in plan.variables}
    complete = complete_mask(used, len(frame), weights, offset, stats)
    if not complete.all():
        frame = frame.iloc[np.flatnonzero(complete)]
    if plan.categories:
        frame = frame.assign(
            **{name: frame[name].astype(dtype) for name, dtype in plan.categories.items()}
        )
    return frame


def record_duplicates(
    stats: ChunkStats,
    codes: list[np.ndarray],
    zs: list[np.ndarray],
    members: list[list[int]],
    n_levels: list[int] | None = None,
) -> None:
    """Per-chunk evidence for :func:`~mixedmodels.design.checks.duplicate_effects`.

    Parameters
    ----------
    stats : ChunkStats
        Updated in place.
    codes : list of ndarray
        Per block (plan order), the superset level codes of the rows used.
    zs : list of ndarray
        Per block, its ``z`` (the member terms' columns side by side).
    members : list of list of int
        Per block, the widths of its member terms.
    n_levels : list of int, optional
        Per block, its (superset) number of levels (default: the length of
        ``stats.counts``' arrays).
    """
    if n_levels is None:
        n_levels = [len(counts) for counts in stats.counts]
    if sum(len(widths) for widths in members) < 2:
        return  # one term: nothing can repeat
    term_of = [np.repeat(np.arange(len(widths)), widths) for widths in members]
    for first, z in enumerate(zs):
        for a in range(z.shape[1]):
            for b in range(a + 1, z.shape[1]):
                if term_of[first][a] != term_of[first][b]:
                    key = (first, a, first, b)
                    stats.equal[key] = bool(np.array_equal(z[:, a], z[:, b]))
        for second in range(first + 1, len(zs)):
            other = zs[second]
            for a in range(z.shape[1]):
                for b in range(other.shape[1]):
                    key = (first, a, second, b)
                    stats.equal[key] = bool(np.array_equal(z[:, a], other[:, b]))
            stats.links[(first, second)] = _level_maps(
                codes[first], codes[second], n_levels[first], n_levels[second]
            )


def _level_maps(left: np.ndarray, right: np.ndarray, n_left: int, n_right: int):
    """Maps between the levels of two factors on one chunk; None when not one-to-one."""
    forward = np.full(n_left, -1, dtype=np.int64)
    forward[left] = right
    backward = np.full(n_right, -1, dtype=np.int64)
    backward[right] = left
    if np.any(forward[left] != right) or np.any(backward[right] != left):
        return None
    return forward, backward


def duplicate_predicates(
    stats: ChunkStats, blocks: list[RandomEffectsBlock], names: list[str]
) -> tuple[Callable[[int, int, int, int], bool], Callable[[int, int], bool]]:
    """``same_column`` and ``same_groups`` of :func:`~.checks.duplicate_effects`, from ``stats``.

    Parameters
    ----------
    stats : ChunkStats
        Totals of the pass.
    blocks : list of RandomEffectsBlock
        The engine's blocks (most levels first).
    names : list of str
        Factor names in the plan's block order.
    """
    plan_index = [names.index(block.factor.name) for block in blocks]

    def same_column(first: int, a: int, second: int, b: int) -> bool:
        left, right = (plan_index[first], a), (plan_index[second], b)
        key = (*left, *right) if left < right else (*right, *left)
        return stats.equal.get(key, False)

    def same_groups(first: int, second: int) -> bool:
        key = tuple(sorted((plan_index[first], plan_index[second])))
        return stats.links.get(key) is not None

    return same_column, same_groups
