"""The row checks of every design build, counted so that chunks add up.

One row pass: the in-memory build (:func:`~.builder.build_design`) is the
one-chunk case of the chunked build (:mod:`.chunked`). Both mark the rows to
use with :func:`complete_mask` (a missing value in a used column, a missing
or zero weight drops a row; Inf and negative weights are errors), count what
they drop in a :class:`ChunkStats`, and report it with
:func:`raise_row_errors` and :func:`raise_undefined` (the errors and warnings
name the column and give totals and the first row position). Chunks add
their :class:`ChunkStats` like their cross-products.

Everything kept has the size of the levels or the columns, never of ``n``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, DataWarning, warn_user
from .frame import is_real, numpy_kind

__all__ = [
    "ChunkStats",
    "complete_mask",
    "infinite_error",
    "infinite_rows",
    "missing_rows",
    "raise_row_errors",
    "raise_undefined",
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
    """Row bookkeeping of one or more chunks (the whole data is one chunk).

    Adds up like the cross-products.

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
        Per block, rows used per (superset) level: set after the chunked pass
        from its cross-products (a chunk's are held there, for the levels it
        touches only).
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
        # A chunk without used rows has neither; the chunked pass keeps the
        # counts in its cross-products and sets them here at the end.
        if not self.ones or not other.ones:
            ones = self.ones or other.ones
        else:
            ones = [a & b for a, b in zip(self.ones, other.ones, strict=True)]
        if not self.counts or not other.counts:
            counts = self.counts or other.counts
        else:
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


def infinite_rows(column: pd.Series) -> np.ndarray | None:
    """Rows where ``column`` is infinite, or None when it cannot hold Inf.

    Parameters
    ----------
    column : Series

    Returns
    -------
    ndarray of bool or None
    """
    kind = numpy_kind(column)
    if kind in ("b", "i", "u"):
        return None  # cannot hold Inf
    if kind == "f":
        return np.isinf(column.to_numpy())
    if is_real(column):
        return np.isinf(column.to_numpy(dtype=float, na_value=np.nan))
    return None


def missing_rows(column: pd.Series) -> np.ndarray | None:
    """Rows where ``column`` is missing (as ``isna``), or None when it cannot be.

    From the column's arrays: ``DataFrame.notna`` on the used columns costs
    about 0.5 ms even for a few hundred rows.
    """
    kind = numpy_kind(column)
    if kind in ("b", "i", "u"):
        return None
    if kind == "f":
        return np.isnan(column.to_numpy())
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.array.codes) < 0
    return np.asarray(column.isna().to_numpy(), dtype=bool)


def infinite_error(name: str, count: int, column: bool = True) -> DataError:
    """The error for ``count`` infinite values in a used column (or ``weights``/``offset``).

    Parameters
    ----------
    name : str
        Column name, or ``"weights"``/``"offset"`` when ``column`` is False.
    count : int
    column : bool
        Whether ``name`` is a data column used by the formula.

    Returns
    -------
    DataError
    """
    if column:
        return DataError(
            f"column {name!r} holds {count} infinite value(s); remove or replace them "
            "before fitting"
        )
    return DataError(f"{name} holds {count} infinite value(s); give finite values")


def negative_weights_error(count: int, first: int) -> DataError:
    """The error for ``count`` negative weights, the first at row position ``first``."""
    return DataError(
        f"weights must be non-negative; found {count} negative weight(s) (first at row {first})"
    )


def warn_zero_weights(count: int) -> None:
    """Warn that ``count`` rows with zero weight were dropped (nothing when zero)."""
    if count:
        warn_user(
            f"dropped {count} row(s) with zero weight; they carry no information "
            "and are not counted as observations",
            DataWarning,
        )


def no_complete_rows_error(missing: pd.Series) -> DataError:
    """The error for data without complete rows, from the missing counts per used column."""
    worst = missing[missing > 0].sort_values(ascending=False).head(3).to_dict()
    return DataError(
        "no complete rows: every row has a missing value in a column the model uses "
        f"(missing counts: {worst}); fill or drop those values"
    )


def warn_undefined(formula: str, count: int) -> None:
    """Warn that ``count`` rows on which a term is undefined (NaN) were dropped."""
    if count:
        warn_user(
            f"dropped {count} row(s) on which a term of {formula!r} is undefined "
            "(NaN, e.g. log of a negative number)",
            DataWarning,
        )


def no_rows_left_error(formula: str) -> DataError:
    """The error for a transformation that is undefined on every complete row."""
    return DataError(f"no rows left: a term of {formula!r} is undefined on every row")


def complete_mask(
    columns: Mapping[str, pd.Series],
    n_rows: int,
    weights: np.ndarray | None,
    offset: np.ndarray | None,
    stats: ChunkStats,
) -> np.ndarray:
    """The rows to use, with what is dropped counted in ``stats`` (updated in place).

    A row is used when every used column holds a value and the weight and
    offset (when given) are not missing, and the weight is not zero (lme4's
    ``na.omit``, and zero weights dropped). Rows with an Inf or a negative
    weight are left out and counted, so that :func:`raise_row_errors` reports
    their totals after the pass.

    Parameters
    ----------
    columns : mapping of str to Series
        The used columns, in the order of the model's variables.
    n_rows : int
    weights, offset : ndarray or None
        One value per row.
    stats : ChunkStats

    Returns
    -------
    ndarray of bool
    """
    complete = np.ones(n_rows, dtype=bool)
    for name, column in columns.items():
        infinite = infinite_rows(column)
        if infinite is not None and infinite.any():
            stats.infinite[name] = stats.infinite.get(name, 0) + np.count_nonzero(infinite)
            complete &= ~infinite
        missing = missing_rows(column)
        if missing is not None:
            count = np.count_nonzero(missing)
            if count:
                stats.missing[name] = stats.missing.get(name, 0) + count
                complete &= ~missing
    for label, array in (("weights", weights), ("offset", offset)):
        if array is not None:
            infinite = np.isinf(array)
            if infinite.any():
                count = np.count_nonzero(infinite)
                stats.vector_infinite[label] = stats.vector_infinite.get(label, 0) + count
                complete &= ~infinite
            complete &= ~np.isnan(array)
    if weights is not None:
        _mask_negative(weights, complete, stats)
    stats.dropped_missing += len(complete) - np.count_nonzero(complete)
    if weights is not None:
        zero = complete & (weights == 0)
        stats.dropped_zero_weight += np.count_nonzero(zero)
        complete &= ~zero
    return complete


def _mask_negative(weights: np.ndarray, complete: np.ndarray, stats: ChunkStats) -> None:
    """Leave out negative weights on otherwise complete rows; count them and the first."""
    negative = complete & (weights < 0)
    if negative.any():
        if stats.first_negative < 0 and not stats.negative:
            stats.first_negative = int(np.flatnonzero(negative)[0])
        stats.negative += np.count_nonzero(negative)
        complete &= ~negative


def raise_row_errors(variables: list[str], stats: ChunkStats, n_obs: int) -> None:
    """The row errors and warnings of the in-memory path, from the totals of the pass.

    Parameters
    ----------
    variables : list of str
        The used columns.
    stats : ChunkStats
    n_obs : int
        Rows used (after dropping undefined ones; before, the complete rows).

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
    for name in variables:
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
            [stats.missing.get(name, 0) for name in variables],
            index=variables,
            dtype=np.int64,
        )
        raise no_complete_rows_error(missing)


def raise_undefined(formula: str, stats: ChunkStats, n_obs: int) -> None:
    """Warn about rows dropped for an undefined transformation; raise when none is left."""
    warn_undefined(formula, stats.dropped_undefined)
    if n_obs == 0:
        raise no_rows_left_error(formula)
