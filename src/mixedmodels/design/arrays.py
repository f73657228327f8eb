"""The array front end: ``y``, ``X``, one grouping factor, its random-effect columns
``Z`` and per-group variance components, with the checks of a formula's data.

What :mod:`.builder` is for a formula and a data frame, this is for arrays
(statsmodels' ``MixedLM(endog, exog, groups, exog_re, exog_vc)`` in
:mod:`mixedmodels.regression`, and :meth:`mixedmodels.LinearMixedModel.from_arrays`):

* numbers are converted with errors that name the argument
  (:func:`~.frame.float_matrix`);
* the rows used are chosen by :func:`~.rows.complete_mask`, the rule of every
  design build: a missing value drops its row under ``missing="drop"`` and is
  an error otherwise (the error names the arrays and counts the rows); Inf is
  an error;
* the groups are a :class:`~.grouping.GroupingFactor` (sorted labels, as
  statsmodels sorts them), built on the rows used;
* variance components are stacked as :class:`~.components.GroupComponent`;
* ``X`` must have full column rank: unlike a formula's columns, an array's
  columns have no names to drop one by and report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..errors import DataError, MissingDataError
from .components import GroupComponent
from .fixed import independent_columns
from .frame import float_matrix
from .grouping import GroupingFactor, level_rows, make_grouping_factor
from .rows import ChunkStats, complete_mask
from .terms import TermSpec, full_pattern

__all__ = ["ArrayDesign", "ComponentInputs", "array_design", "group_labels", "used_rows"]

#: ``labels -> [(name, one matrix per group in labels' order, column names or None)]``.
ComponentInputs = Callable[[list], Sequence[tuple[str, Sequence[object], Sequence | None]]]


@dataclass(frozen=True)
class ArrayDesign:
    """Checked arrays on the rows used (``used``: a mask of the input's rows);
    ``group_values`` are the rows' group labels as given."""

    y: np.ndarray
    X: np.ndarray
    x_names: list[str]
    Z: np.ndarray | None
    z_names: list[str]
    groups: GroupingFactor
    group_values: np.ndarray
    components: list[GroupComponent]
    used: np.ndarray

    @cached_property
    def group_rows(self) -> list[np.ndarray]:
        """Row positions of each group (in the order of ``groups.levels``)."""
        return level_rows(self.groups.codes, self.groups.n_levels)

    @property
    def labels(self) -> list:
        """The group labels, sorted, as Python scalars."""
        return [_scalar(label) for label in self.groups.levels]

    def terms(
        self, pattern: np.ndarray | None = None, z: np.ndarray | None = None
    ) -> list[TermSpec]:
        """The engine's terms: ``Z`` (or a replacement ``z``) on the groups with the ``T``
        ``pattern`` (default unstructured), then one term per variance component."""
        group = self.groups
        terms = []
        if self.Z is not None:
            z = self.Z if z is None else z
            pattern = full_pattern(z.shape[1]) if pattern is None else pattern
            terms.append(TermSpec(group, z, tuple(self.z_names), pattern, group.name))
        taken = {group.name}
        for component in self.components:
            name = f"{group.name}:{component.name}"
            while name in taken:  # the scalar form's factor needs a name of its own
                name += "'"
            taken.add(name)
            terms.append(component.term(group, name))
        return terms


def _scalar(label: object) -> object:
    return label.item() if isinstance(label, np.generic) else label


def group_labels(groups: object, n: int) -> np.ndarray:
    """``groups`` (array, Series or one-column DataFrame) as ``n`` labels (object array)."""
    if isinstance(groups, pd.DataFrame):
        if groups.shape[1] != 1:
            raise DataError(f"groups must be one column, got {groups.shape[1]}")
        groups = groups.iloc[:, 0]
    labels = np.asarray(groups, dtype=object)
    if labels.shape != (n,):
        raise DataError(
            f"groups must be a 1-D array with one label per observation ({n}), got shape "
            f"{labels.shape}"
        )
    return labels


def _group_factor(labels: np.ndarray, name: str) -> GroupingFactor:
    return make_grouping_factor({name: pd.Series(labels, dtype=object)}, (name,))


def used_rows(columns: dict[str, pd.Series], missing: str) -> np.ndarray:
    """The rows to use (see the module notes); ``columns`` are keyed by the names the
    errors give. ``missing``: ``"drop"``, or ``"raise"``/``"none"`` (an error)."""
    if missing not in ("none", "drop", "raise"):
        raise DataError(f"missing must be 'none', 'drop' or 'raise', got {missing!r}")
    stats = ChunkStats()
    used = complete_mask(columns, len(next(iter(columns.values()))), None, None, stats)
    for name, count in stats.infinite.items():
        raise DataError(f"{name} holds {count} infinite value(s); remove or replace them")
    if stats.missing and missing != "drop":
        where = ", ".join(f"{name} ({count} row(s))" for name, count in stats.missing.items())
        if missing == "raise":
            raise MissingDataError(f"missing values found in {where} (missing='raise')")
        raise MissingDataError(
            f"missing values found in {where}; pass missing='drop' to drop incomplete rows "
            "(missing='none' does not fit on misaligned data, as statsmodels would)"
        )
    if not used.any():
        raise DataError("no complete rows: every row has a missing value")
    return used


def _stacked(
    labels: np.ndarray, n: int, components: ComponentInputs | None, group_name: str
) -> tuple[list[GroupComponent], GroupingFactor | None]:
    """The components stacked on the groups of the rows that have a group label, and
    those groups (None without components)."""
    if components is None:
        return [], None
    labelled = np.flatnonzero(~pd.isna(pd.Series(labels, dtype=object)).to_numpy())
    known = _group_factor(labels[labelled], group_name)
    rows = [labelled[part] for part in level_rows(known.codes, known.n_levels)]
    names = [_scalar(label) for label in known.levels]
    stacked = [
        GroupComponent.stack(
            name, matrices, rows, n, [f"exog_vc[{name!r}][{label!r}]" for label in names],
            colnames,
        )
        for name, matrices, colnames in components(names)
    ]
    return stacked, known


def array_design(
    endog: object,
    exog: object,
    groups: object,
    exog_re: object = None,
    components: ComponentInputs | None = None,
    missing: str = "raise",
    group_name: str = "Group",
    arguments: tuple[str, str, str] = ("endog", "exog", "exog_re"),
) -> ArrayDesign:
    """Check and code array inputs (see the module notes).

    Parameters
    ----------
    endog : array-like, shape (n,)
    exog : array-like, shape (n, k)
    groups : array-like, shape (n,)
        One label per row.
    exog_re : array-like, shape (n, p), optional
        Random-effect columns of the groups.
    components : callable, optional
        The variance components' matrices, given the sorted group labels
        (:data:`ComponentInputs`).
    missing : {"raise", "none", "drop"}
    group_name : str
    arguments : tuple of str
        The names of ``endog``, ``exog`` and ``exog_re`` in errors (the caller's).

    Returns
    -------
    ArrayDesign
        Column names are a DataFrame's, else ``x1``, ... and ``x_re1``, ....
    """
    y_name, x_name, z_name = arguments
    y, _ = float_matrix(endog, y_name)
    if y.shape[1] != 1:
        raise DataError(f"{y_name} must be one-dimensional, got shape {y.shape}")
    y = y[:, 0]
    n = len(y)
    if n == 0:
        raise DataError(f"{y_name} has no observations")
    X, x_names = float_matrix(exog, x_name)
    x_names = x_names or [f"x{j}" for j in range(1, X.shape[1] + 1)]
    if X.shape[0] != n:
        raise DataError(f"{x_name} has {X.shape[0]} rows; {y_name} has {n}")
    labels = group_labels(groups, n)
    Z, z_names = None, []
    if exog_re is not None:
        Z, z_names = float_matrix(exog_re, z_name)
        z_names = z_names or [f"x_re{j}" for j in range(1, Z.shape[1] + 1)]
        if Z.shape[0] != n:
            raise DataError(f"{z_name} has {Z.shape[0]} rows; {y_name} has {n}")
    stacked, known = _stacked(labels, n, components, group_name)
    columns = {y_name: y, **{f"{x_name} column {j}": X[:, j] for j in range(X.shape[1])}}
    if Z is not None:
        columns.update({f"{z_name} column {j}": Z[:, j] for j in range(Z.shape[1])})
    columns = {name: pd.Series(values) for name, values in columns.items()}
    columns["groups"] = pd.Series(labels, dtype=object)
    for component in stacked:
        columns[f"exog_vc[{component.name!r}]"] = pd.Series(component.row_values())
    used = used_rows(columns, missing)
    X = X[used]
    independent = set(independent_columns(X).tolist())
    if len(independent) < X.shape[1]:
        dependent = [j for j in range(X.shape[1]) if j not in independent]
        raise DataError(
            f"{x_name} is rank deficient: column(s) {dependent} are constant zero or collinear "
            "with earlier columns; remove them"
        )
    if known is not None and used.all():
        factor = known  # every row labelled and used: the components' groups are final
    else:
        factor = _group_factor(labels[used], group_name)
        if known is not None:
            group_map = factor.levels.get_indexer(known.levels)  # left without rows: -1
            stacked = [component.restricted(used, group_map) for component in stacked]
    Z = None if Z is None else Z[used]
    return ArrayDesign(y[used], X, x_names, Z, z_names, factor, labels[used], stacked, used)
