"""Row checks of the chunked design: the in-memory checks, counted chunk by chunk.

:mod:`mixedmodels.design.chunked` never holds all rows, so the checks of
:func:`~mixedmodels.design.builder.build_design` and
:func:`~mixedmodels.design.checks.check_structure` that look at values are
split in two, reusing their code and messages:

* per chunk (:func:`complete_rows`, :func:`record_duplicates`): the same
  masks (Inf, missing, weights) and counts, added up in :class:`ChunkStats`
  like the cross-products; rows with an Inf are left out so that the pass can
  finish and report the total count;
* after the pass (:func:`raise_row_errors`, :func:`duplicate_predicates`): the
  errors and warnings of the in-memory path, from the totals.

Everything kept has the size of the levels or the columns, never of ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .builder import (
    as_vector,
    infinite_error,
    infinite_rows,
    missing_rows,
    negative_weights_error,
    no_complete_rows_error,
    no_rows_left_error,
    warn_undefined,
    warn_zero_weights,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from .chunked import ChunkPlan
    from .terms import RandomEffectsBlock

__all__ = [
    "ChunkStats",
    "complete_rows",
    "duplicate_predicates",
    "raise_row_errors",
    "record_duplicates",
]


def _add_counts(a: dict, b: dict) -> dict:
    total = dict(a)
    for key, value in b.items():
        total[key] = total.get(key, 0) + value
    return total


def _and_flags(a: dict, b: dict) -> dict:
    total = dict(a)
    for key, value in b.items():
        total[key] = total.get(key, True) and value
    return total


def _merge_map(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Two partial level maps (-1: not seen) merged; None when they disagree."""
    if np.any((a >= 0) & (b >= 0) & (a != b)):
        return None
    return np.where(a >= 0, a, b)


def _merge_links(a: dict, b: dict) -> dict:
    total = dict(a)
    for key, value in b.items():
        if key not in total:
            total[key] = value
        elif total[key] is None or value is None:
            total[key] = None
        else:
            forward = _merge_map(total[key][0], value[0])
            backward = _merge_map(total[key][1], value[1])
            total[key] = None if forward is None or backward is None else (forward, backward)
    return total


@dataclass
class ChunkStats:
    """Row bookkeeping of one or more chunks; adds up like the cross-products.

    Chunks must be added in row order (as :func:`functools.reduce` and the
    Dask tree reduction do) for ``first_negative`` to be a row position.

    Attributes
    ----------
    n_rows : int
        Rows read.
    dropped_missing, dropped_zero_weight, dropped_undefined : int
        Rows dropped for each reason.
    y_first, y_min, y_max : float
        First, smallest and largest response value on the rows used.
    ones : list of ndarray
        Per block, whether each column is 1 on every row used.
    counts : list of ndarray
        Per block, rows used per (superset) level.
    missing, infinite : dict of str to int
        Missing and infinite values per used column.
    vector_infinite : dict of str to int
        Infinite values of ``"weights"`` and ``"offset"``.
    negative : int
        Negative weights on otherwise complete rows.
    first_negative : int
        Row position of the first one, -1 when none.
    equal : dict
        ``(block_a, column_a, block_b, column_b)`` -> whether the two ``z``
        columns are equal on every row used.
    links : dict
        ``(block_a, block_b)`` -> the maps between their levels seen so far
        (forward, backward; -1 where unseen), None when a level of one factor
        meets two levels of the other.
    """

    n_rows: int = 0
    dropped_missing: int = 0
    dropped_zero_weight: int = 0
    dropped_undefined: int = 0
    y_first: float = np.nan
    y_min: float = np.inf
    y_max: float = -np.inf
    ones: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)
    infinite: dict[str, int] = field(default_factory=dict)
    vector_infinite: dict[str, int] = field(default_factory=dict)
    negative: int = 0
    first_negative: int = -1
    equal: dict[tuple[int, int, int, int], bool] = field(default_factory=dict)
    links: dict[tuple[int, int], tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict)

    def __add__(self, other: ChunkStats) -> ChunkStats:
        if not self.counts or not other.counts:
            ones, counts = (self.ones, self.counts) if self.counts else (other.ones, other.counts)
        else:
            ones = [a & b for a, b in zip(self.ones, other.ones, strict=True)]
            counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        if self.first_negative >= 0:
            first_negative = self.first_negative
        elif other.first_negative >= 0:
            first_negative = self.n_rows + other.first_negative
        else:
            first_negative = -1
        return ChunkStats(
            self.n_rows + other.n_rows,
            self.dropped_missing + other.dropped_missing,
            self.dropped_zero_weight + other.dropped_zero_weight,
            self.dropped_undefined + other.dropped_undefined,
            other.y_first if np.isnan(self.y_first) else self.y_first,
            min(self.y_min, other.y_min),
            max(self.y_max, other.y_max),
            ones,
            counts,
            _add_counts(self.missing, other.missing),
            _add_counts(self.infinite, other.infinite),
            _add_counts(self.vector_infinite, other.vector_infinite),
            self.negative + other.negative,
            first_negative,
            _and_flags(self.equal, other.equal),
            _merge_links(self.links, other.links),
        )


def complete_rows(plan: ChunkPlan, frame: pd.DataFrame, stats: ChunkStats) -> pd.DataFrame:
    """The used columns of ``frame`` on its complete rows, counted in ``stats``.

    The rows dropped are those of
    :func:`~mixedmodels.design.builder.build_design`: a missing value in a used
    column, a missing or zero weight. Rows with an Inf (and, when the pass
    will fail anyway, a negative weight) are left out and counted, so that
    :func:`raise_row_errors` reports the totals.

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
    complete = np.ones(len(frame), dtype=bool)
    for name in plan.variables:
        column = frame[name]
        infinite = infinite_rows(column)
        if infinite is not None and infinite.any():
            stats.infinite[name] = stats.infinite.get(name, 0) + int(infinite.sum())
            complete &= ~infinite
        missing = missing_rows(column)
        if missing is not None:
            count = int(missing.sum())
            if count:
                stats.missing[name] = stats.missing.get(name, 0) + count
                complete &= ~missing
    weights = None
    for label, name in (("weights", plan.weights), ("offset", plan.offset)):
        if name is None:
            continue
        array = as_vector(frame[name], label, frame)
        infinite = np.isinf(array)
        if infinite.any():
            stats.vector_infinite[label] = stats.vector_infinite.get(label, 0) + int(infinite.sum())
            complete &= ~infinite
        complete &= ~np.isnan(array)
        if label == "weights":
            weights = array
    if weights is not None:
        negative = complete & (weights < 0)
        if negative.any():
            if stats.first_negative < 0 and not stats.negative:
                stats.first_negative = int(np.flatnonzero(negative)[0])
            stats.negative += int(negative.sum())
            complete &= ~negative
        zero = complete & (weights == 0)
        n_zero = int(zero.sum())
        stats.dropped_zero_weight += n_zero
        complete &= ~zero
        stats.dropped_missing -= n_zero
    stats.dropped_missing += int((~complete).sum())
    if not complete.all():
        frame = frame.iloc[np.flatnonzero(complete)]
    if plan.categories:
        frame = frame.assign(
            **{name: frame[name].astype(dtype) for name, dtype in plan.categories.items()}
        )
    return frame


def record_duplicates(
    stats: ChunkStats, codes: list[np.ndarray], zs: list[np.ndarray], members: list[list[int]]
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
    """
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
                codes[first], codes[second], len(stats.counts[first]), len(stats.counts[second])
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


def raise_row_errors(plan: ChunkPlan, stats: ChunkStats, n_obs: int) -> None:
    """The row errors and warnings of the in-memory path, from the totals of the pass.

    Parameters
    ----------
    plan : ChunkPlan
    stats : ChunkStats
    n_obs : int
        Rows used (after dropping undefined ones).

    Raises
    ------
    DataError
        Inf in a used column or in ``weights``/``offset``; negative weights; no
        complete rows; a transformation undefined on every row.

    Warns
    -----
    DataWarning
        Rows with zero weight, or on which a transformation is undefined, were dropped.
    """
    for name in plan.variables:
        if stats.infinite.get(name):
            raise infinite_error(name, stats.infinite[name])
    for label in ("weights", "offset"):
        if stats.vector_infinite.get(label):
            raise infinite_error(label, stats.vector_infinite[label], column=False)
    if stats.negative:
        raise negative_weights_error(stats.negative, stats.first_negative)
    warn_zero_weights(stats.dropped_zero_weight)
    if n_obs + stats.dropped_undefined == 0:
        missing = pd.Series(
            [stats.missing.get(name, 0) for name in plan.variables],
            index=plan.variables,
            dtype=np.int64,
        )
        raise no_complete_rows_error(missing)


def raise_undefined(plan: ChunkPlan, stats: ChunkStats, n_obs: int) -> None:
    """Warn about rows dropped for an undefined transformation; raise when none is left."""
    warn_undefined(plan.parsed.formula, stats.dropped_undefined)
    if n_obs == 0:
        raise no_rows_left_error(plan.parsed.formula)
