"""Grouping factors: integer codes and level labels from one or more data columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import FormulaError

__all__ = ["GroupingFactor", "make_grouping_factor"]


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


def _column_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and levels of one column; categorical order is kept, others are sorted."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categorical = column.cat.remove_unused_categories()
        return categorical.cat.codes.to_numpy(np.int64), pd.Index(categorical.cat.categories)
    values = column.to_numpy()
    try:
        levels, codes = np.unique(values, return_inverse=True)
    except TypeError:
        # Mixed label types (e.g. int and str) have no order; sort by their text.
        as_text = column.map(lambda value: f"{type(value).__name__}:{value}")
        _, first_index, codes = np.unique(
            as_text.to_numpy(), return_index=True, return_inverse=True
        )
        levels = values[first_index]
    return codes.astype(np.int64).reshape(-1), pd.Index(levels)


def make_grouping_factor(data: pd.DataFrame, variables: tuple[str, ...]) -> GroupingFactor:
    """Build the grouping factor for ``a`` or the interaction ``a:b:...``.

    Parameters
    ----------
    data : DataFrame
        Data with missing values already removed from the model's columns.
    variables : tuple of str
        Column names whose interaction defines the factor.

    Returns
    -------
    GroupingFactor
    """
    name = ":".join(variables)
    for variable in variables:
        if variable not in data.columns:
            raise FormulaError(
                f"grouping factor {variable!r} (in random-effect term on {name!r}) is not a "
                "column of the data"
            )
    codes, levels = _column_codes(data[variables[0]])
    labels = [levels.astype(str)]
    for variable in variables[1:]:
        next_codes, next_levels = _column_codes(data[variable])
        codes = codes * len(next_levels) + next_codes
        labels.append(next_levels.astype(str))
    if len(variables) == 1:
        return GroupingFactor(name, codes.astype(np.int32), levels)
    # Keep only the combinations that occur, in lexicographic order of the parts.
    used, compact = np.unique(codes, return_inverse=True)
    parts = []
    remainder = used
    for part_labels in reversed(labels):
        parts.append(np.asarray(part_labels)[remainder % len(part_labels)])
        remainder = remainder // len(part_labels)
    joined = [":".join(items) for items in zip(*reversed(parts), strict=True)]
    return GroupingFactor(name, compact.astype(np.int32).reshape(-1), pd.Index(joined))
