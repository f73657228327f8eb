"""Grouping factors: integer codes and level labels from one or more data columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import FormulaError, MissingDataError
from ..formula.rvalues import r_label

__all__ = ["GroupingFactor", "level_rows", "make_grouping_factor"]


@dataclass(frozen=True)
class GroupingFactor:
    """A grouping factor reduced to the levels that occur in the data.

    Attributes
    ----------
    name : str
        lme4-style name, ``"g"`` or ``"a:b"`` for an interaction.
    codes : ndarray of int32, shape (n,)
        Level index of each row, in ``0 .. n_levels - 1``.
    levels : pandas.Index
        Level labels in factor order (categorical order, else sorted); labels of an
        interaction are joined with ``":"`` as R's ``interaction()`` does.
    """

    name: str
    codes: np.ndarray
    levels: pd.Index

    @property
    def n_levels(self) -> int:
        """Number of levels that occur in the data."""
        return len(self.levels)


#: Levels up to which an interaction's labels are made one by one (see :func:`_labels`).
_FEW_LEVELS = 1000


def _sort_key(value: object) -> tuple[str, str]:
    return (type(value).__name__, str(value))


def _column_codes(
    column: pd.Series, name: str, rows: np.ndarray | None = None
) -> tuple[np.ndarray, pd.Index]:
    """Codes and levels of one column; categorical order is kept, others are sorted.

    Labels that compare equal (``1`` and ``1.0``) are one level. Mixed label
    types that cannot be ordered (``1`` and ``"a"``) are sorted by type name,
    then text. A missing label is an error: it is never turned into a level.
    ``rows`` (positions) restricts the column to those rows first.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Straight from the Categorical's codes: ``cat.remove_unused_categories``
        # costs about 0.1 ms per call (more with pyarrow-backed string categories),
        # a large part of a small model's design; the result is the same.
        categorical = column.array
        codes = np.asarray(categorical.codes, dtype=np.int64)
        if rows is not None:
            codes = codes[rows]
        categories = categorical.categories
        present = codes >= 0
        used = np.zeros(len(categories), dtype=bool)
        used[codes[present]] = True
        if used.all():
            levels = categories  # an Index already (immutable, so shared safely)
        else:
            remap = np.cumsum(used) - 1
            codes = np.where(present, remap[np.maximum(codes, 0)], -1)
            levels = categories[used]
    else:
        if rows is not None:
            column = column.iloc[rows]
        try:
            codes, levels = pd.factorize(column, sort=True, use_na_sentinel=True)
        except TypeError:
            codes, levels = pd.factorize(column, sort=False, use_na_sentinel=True)
            order = sorted(range(len(levels)), key=lambda index: _sort_key(levels[index]))
            remap = np.empty(len(order), dtype=np.int64)
            remap[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
            levels = pd.Index([levels[index] for index in order], dtype=object)
        codes = np.asarray(codes, dtype=np.int64)
    if len(codes) and codes.min() < 0:
        raise MissingDataError(
            f"grouping factor {name!r} has {int((codes < 0).sum())} missing label(s); a missing "
            "label is never a level: drop those rows or give them a label"
        )
    # pd.Index(an Index) is a new object at 20-50 us: only wrap what is not one.
    return codes.reshape(-1), levels if isinstance(levels, pd.Index) else pd.Index(levels)


def _labels(levels: pd.Index) -> np.ndarray:
    """R's labels of levels (``1.0 -> "1"``), so an interaction's labels match by value."""
    kind = levels.dtype.kind if isinstance(levels.dtype, np.dtype) else ""
    if kind in ("i", "u") or (not kind and pd.api.types.is_string_dtype(levels.dtype)):
        # str is R's label for these. A few labels one by one: levels.astype(str)
        # builds a pandas string Index first (tens of microseconds).
        if len(levels) <= _FEW_LEVELS:
            return np.array([str(level) for level in levels.tolist()], dtype=object)
        return np.asarray(levels.astype(str), dtype=object)
    return np.array([r_label(level) for level in levels], dtype=object)


def make_grouping_factor(
    data: pd.DataFrame | Mapping[str, pd.Series],
    variables: tuple[str, ...],
    rows: np.ndarray | None = None,
) -> GroupingFactor:
    """Build the grouping factor for ``a`` or the interaction ``a:b:...``.

    Parameters
    ----------
    data : DataFrame or mapping of column name to Series
        Data with missing values already removed from the model's columns (on
        ``rows``, when given).
    variables : tuple of str
        Column names whose interaction defines the factor.
    rows : ndarray of int, optional
        Positions of the rows to use; all rows when omitted.

    Returns
    -------
    GroupingFactor
    """
    name = ":".join(variables)
    columns = data.columns if isinstance(data, pd.DataFrame) else data
    for variable in variables:
        if variable not in columns:
            raise FormulaError(
                f"grouping factor {variable!r} (in random-effect term on {name!r}) is not a "
                "column of the data"
            )
    codes, levels = _column_codes(data[variables[0]], variables[0], rows)
    if len(variables) == 1:
        return GroupingFactor(name, codes.astype(np.int32), levels)
    labels = [_labels(levels)]
    for variable in variables[1:]:
        next_codes, next_levels = _column_codes(data[variable], variable, rows)
        codes = codes * len(next_levels) + next_codes
        labels.append(_labels(next_levels))
    # Keep only the combinations that occur, in lexicographic order of the parts.
    used, compact = np.unique(codes, return_inverse=True)
    parts = []
    remainder = used
    for part_labels in reversed(labels):
        parts.append(np.asarray(part_labels)[remainder % len(part_labels)])
        remainder = remainder // len(part_labels)
    joined = [":".join(items) for items in zip(*reversed(parts), strict=True)]
    return GroupingFactor(name, compact.astype(np.int32).reshape(-1), pd.Index(joined))


def level_rows(codes: np.ndarray, n_levels: int) -> list[np.ndarray]:
    """Row positions (ascending) of each level of a factor with ``codes``."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(np.asarray(codes)[order], np.arange(n_levels + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n_levels)]
