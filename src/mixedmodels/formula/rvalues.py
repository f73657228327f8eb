"""R values of model-frame variables: factors, numeric vectors and matrices, labels.

A data column becomes the value R's ``model.frame`` would hold for it:

==========================  ===================================================
column dtype                R value
==========================  ===================================================
integer, float              numeric vector (float64)
bool                        logical vector (a two-level factor in a matrix)
categorical                 factor: the categories are the levels, in order;
                            an ordered categorical is an ordered factor
text / object               character: a factor with sorted levels
==========================  ===================================================

Factor labels are R's: ``4601``, ``4601.0`` and ``"4601"`` are the same label
``"4601"`` (R's ``as.character``), so levels match by value across types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .rlang import format_number

__all__ = ["Factor", "RMatrix", "as_r_value", "r_label", "r_sort_key"]


@dataclass(frozen=True)
class Factor:
    """An R factor: integer codes into ``levels`` (-1 for a missing value).

    Attributes
    ----------
    codes : ndarray of int64, shape (n,)
    levels : tuple of str
        Labels in level order.
    ordered : bool
        An ordered factor (default contrasts ``contr.poly``).
    """

    codes: np.ndarray
    levels: tuple[str, ...]
    ordered: bool = False

    def drop_unused(self) -> Factor:
        """The factor without the levels that no row takes (R's ``droplevels``)."""
        present = np.zeros(len(self.levels), dtype=bool)
        valid = self.codes >= 0
        present[self.codes[valid]] = True
        if present.all():
            return self
        remap = np.cumsum(present) - 1
        codes = np.where(valid, remap[np.maximum(self.codes, 0)], -1)
        levels = tuple(label for label, keep in zip(self.levels, present, strict=True) if keep)
        return Factor(codes, levels, self.ordered)

    def relabel(self, levels: tuple[str, ...]) -> tuple[Factor, list[str]]:
        """The factor coded on ``levels`` (the training levels) and the labels not among them."""
        position = {label: index for index, label in enumerate(levels)}
        mapping = np.array([position.get(label, -1) for label in self.levels], dtype=np.int64)
        used = np.unique(self.codes[self.codes >= 0])
        unknown = [self.levels[index] for index in used if mapping[index] < 0]
        codes = np.where(self.codes >= 0, mapping[np.maximum(self.codes, 0)], -1)
        return Factor(codes, levels, self.ordered), unknown

    @property
    def labels(self) -> np.ndarray:
        """Label of each row (``None`` where missing)."""
        table = np.array([*self.levels, None], dtype=object)
        return table[self.codes]


@dataclass(frozen=True)
class RMatrix:
    """A numeric matrix variable (``poly``, ``scale``, ``dummy``) with R's column names.

    ``colnames`` None means R's matrix had none: a one-column matrix is named
    by its label alone, wider ones by the label and ``1, 2, ...``.
    """

    values: np.ndarray
    colnames: tuple[str, ...] | None = None


def r_label(value: object) -> str:
    """R's ``as.character`` of a factor label: ``4601.0 -> "4601"``, ``True -> "TRUE"``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number) and number == int(number) and abs(number) < 1e15:
            return str(int(number))
        return format_number(number)
    return str(value)


def r_sort_key(label: str) -> tuple[str, str]:
    """Sort key close to R's collation of labels in an English locale (``a < A < b``)."""
    return (label.casefold(), label.swapcase())


def _labels_factor(values: np.ndarray, sort_numeric: bool) -> Factor:
    """A factor of arbitrary labels; levels sorted as R sorts them."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [r_label(value) for value in uniques]
    if sort_numeric:
        order = sorted(range(len(uniques)), key=lambda index: float(uniques[index]))
    else:
        order = sorted(range(len(labels)), key=lambda index: r_sort_key(labels[index]))
    # Distinct values can share a label (1 and 1.0 in an object column): merge them.
    levels: list[str] = []
    remap = np.empty(len(labels), dtype=np.int64)
    for index in order:
        label = labels[index]
        if label not in levels:
            levels.append(label)
        remap[index] = levels.index(label)
    codes = np.asarray(codes, dtype=np.int64)
    if len(remap):
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return Factor(codes, tuple(levels))


def numeric_factor(values: np.ndarray) -> Factor:
    """``factor(x)`` of a numeric vector: levels sorted numerically, R's labels."""
    return _labels_factor(np.asarray(values), sort_numeric=True)


def character_factor(values: np.ndarray) -> Factor:
    """``factor(x)`` of a character vector: levels sorted as R sorts text."""
    return _labels_factor(np.asarray(values, dtype=object), sort_numeric=False)


def category_labels(categories: pd.Index) -> tuple[str, ...]:
    """R's labels of a categorical's categories."""
    kind = categories.dtype.kind if isinstance(categories.dtype, np.dtype) else ""
    if kind in "iu" and kind:
        return tuple(str(value) for value in categories.tolist())
    if pd.api.types.is_string_dtype(categories.dtype) and (
        kind != "O" or all(isinstance(value, str) for value in categories)
    ):
        return tuple(categories)
    return tuple(r_label(value) for value in categories)


def categorical_factor(codes: np.ndarray, dtype: pd.CategoricalDtype, values) -> Factor:
    """A factor from a categorical's codes; ``values()`` gives the labels if they must merge."""
    labels = category_labels(dtype.categories)
    if len(set(labels)) != len(labels):  # 1 and 1.0 among the categories: one level
        return _labels_factor(values(), sort_numeric=False)
    return Factor(codes, labels, bool(dtype.ordered))


def as_r_value(column: object) -> np.ndarray | Factor:
    """The R value of a data column (see the module table).

    Parameters
    ----------
    column : pandas Series or array-like

    Returns
    -------
    ndarray (float64 or bool) or Factor
    """
    if isinstance(column, Factor):
        return column
    if isinstance(column, np.ndarray) and column.dtype.kind == "f":
        return column
    series = column if isinstance(column, pd.Series) else pd.Series(column)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(series.array.codes, dtype=np.int64)
        return categorical_factor(codes, dtype, lambda: np.asarray(series.astype(object)))
    if pd.api.types.is_bool_dtype(dtype):
        if series.hasnans:
            return character_factor(series.map(r_label, na_action="ignore").to_numpy())
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        kind = dtype.kind if isinstance(dtype, np.dtype) else ""
        if kind in "iuf" and kind:
            return series.to_numpy().astype(float, copy=False)
        return series.to_numpy(dtype=float, na_value=np.nan)
    values = series.to_numpy(dtype=object)
    return character_factor(np.where(pd.isna(values), None, values))
