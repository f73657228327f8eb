"""From statsmodels' MixedLM inputs to the engine's random-effect terms.

statsmodels' model for group ``g`` is ``y_g = X_g beta + Z_g gamma_g +
sum_k V_gk eta_gk + e_g`` with ``gamma_g ~ N(0, cov_re)`` (``Z = exog_re``) and,
for every variance component ``k``, independent coefficients
``eta_gk ~ N(0, vcomp_k I)`` on the columns of ``V_gk = exog_vc[k][g]``.

Translation into the engine (``b = Lambda u``, ``cov(b) = scale Lambda Lambda'``):

* ``exog_re`` is one term on the group factor with an unstructured ``T``
  (``cov_re = scale T T'``), or a ``T`` with structural zeros for a ``free``
  mask that makes ``cov_re`` block diagonal after a permutation.
* A variance component whose matrices have at most one non-zero per row is a
  scalar term on the factor ``(group, column)``: nested classrooms in schools
  become ``(1 | school:classroom)``, and with a constant group the crossed
  idiom ``vc_formula={"a": "0 + C(a)"}`` becomes ``(1 | a)``.
* Any other variance component is a term on the group factor whose ``T`` is
  diagonal with all entries tied to one ``theta`` (padded with zero columns
  where groups have fewer columns; a zero column adds nothing to the
  likelihood).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..design.grouping import GroupingFactor
from ..design.terms import TermSpec, full_pattern
from ..errors import DataError, MissingDataError, MixedModelsTypeError

__all__ = [
    "GroupStructure",
    "ThetaLayout",
    "VarianceComponent",
    "as_matrix",
    "build_groups",
    "build_terms",
    "dense",
    "group_values",
    "make_components",
    "missing_report",
    "raise_missing",
    "re_pattern_from_free",
    "row_missing",
    "split_vc",
    "take_rows",
]


# ---------------------------------------------------------------------- arrays and names
def _numeric(values: object, argument: str) -> np.ndarray:
    try:
        if isinstance(values, pd.DataFrame | pd.Series):
            return values.to_numpy(dtype=float, na_value=np.nan)
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise MixedModelsTypeError(
            f"{argument} must be numeric; it could not be converted to float ({error})"
        ) from error


def as_matrix(values: object, argument: str, prefix: str) -> tuple[np.ndarray, list[str]]:
    """A 2-D float matrix and its column names.

    Names come from a DataFrame's columns or a named Series; otherwise they are
    statsmodels' defaults (``const``/``x1``... for exog, ``x_re1``... when
    ``prefix`` is given).
    """
    if isinstance(values, pd.DataFrame):
        names = [str(name) for name in values.columns]
        matrix = _numeric(values, argument)
    elif isinstance(values, pd.Series):
        matrix = _numeric(values, argument)[:, None]
        names = [str(values.name)] if values.name is not None else None
    else:
        matrix = _numeric(values, argument)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        names = None
    if matrix.ndim != 2:
        raise DataError(f"{argument} must be 1-D or 2-D, got shape {matrix.shape}")
    if names is None:
        names = [f"{prefix}{i}" for i in range(1, matrix.shape[1] + 1)]
    return matrix, names


# ---------------------------------------------------------------------- groups
@dataclass
class GroupStructure:
    """The top-level groups.

    Attributes
    ----------
    name : str
        Name of the grouping variable (``"Group"`` unless a column name was given).
    labels : list
        Group labels, sorted as statsmodels sorts them.
    codes : ndarray of int, shape (n,)
        Group index of each row.
    rows : list of ndarray
        Row positions of each group, in data order.
    """

    name: str
    labels: list
    codes: np.ndarray
    rows: list[np.ndarray] = field(repr=False)

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.labels)

    def factor(self, name: str | None = None) -> GroupingFactor:
        """The engine's grouping factor."""
        return GroupingFactor(
            name or self.name, self.codes.astype(np.int32), pd.Index(self.labels, dtype=object)
        )


def sorted_labels(values: np.ndarray) -> list:
    """Distinct labels in statsmodels' order (sorted; by text when not comparable)."""
    unique = pd.unique(pd.Series(values, dtype=object))
    labels = [item.item() if isinstance(item, np.generic) else item for item in unique]
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=lambda item: (type(item).__name__, str(item)))


def build_groups(values: np.ndarray, name: str) -> GroupStructure:
    """Codes and row lists of the groups of ``values`` (no missing labels)."""
    labels = sorted_labels(values)
    codes = pd.Index(labels, dtype=object).get_indexer(pd.Series(values, dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    rows = [order[bounds[i] : bounds[i + 1]] for i in range(len(labels))]
    return GroupStructure(name, labels, codes.astype(np.int64), rows)


def group_values(groups: object, n: int) -> np.ndarray:
    """The group labels as a 1-D object array of length ``n``."""
    if isinstance(groups, pd.DataFrame):
        if groups.shape[1] != 1:
            raise DataError(f"groups must be one column, got {groups.shape[1]}")
        groups = groups.iloc[:, 0]
    values = np.asarray(groups, dtype=object)
    if values.ndim != 1 or values.shape[0] != n:
        raise DataError(
            f"groups must be a 1-D array with one label per observation ({n}), got shape "
            f"{values.shape}"
        )
    return values


# ---------------------------------------------------------------------- variance components
GroupMatrix = np.ndarray | sp.csr_matrix


def _group_matrix(matrix: object, argument: str) -> tuple[GroupMatrix, list[str] | None]:
    """A group's component matrix: dense float array, or CSR when given sparse."""
    names = None
    if isinstance(matrix, pd.DataFrame):
        names = [str(name) for name in matrix.columns]
    elif isinstance(matrix, pd.Series):
        names = [str(matrix.name)] if matrix.name is not None else None
    if sp.issparse(matrix):
        array = sp.csr_matrix(matrix, dtype=float)
        array.eliminate_zeros()
        return array, names
    array = _numeric(matrix, argument)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(f"{argument} must be a 2-D matrix, got shape {array.shape}")
    return array, names


def dense(matrix: GroupMatrix) -> np.ndarray:
    """A group matrix as a dense array."""
    return matrix.toarray() if sp.issparse(matrix) else matrix


def row_missing(matrix: GroupMatrix) -> np.ndarray:
    """Rows of a group matrix that hold a NaN."""
    if sp.issparse(matrix):
        bad = np.zeros(matrix.shape[0], dtype=bool)
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        bad[rows[np.isnan(matrix.data)]] = True
        return bad
    return np.isnan(matrix).any(axis=1)


def take_rows(matrix: GroupMatrix, keep: np.ndarray) -> GroupMatrix:
    """The rows of a group matrix where ``keep`` is True."""
    return matrix[np.flatnonzero(keep)]


def _nonzeros_per_row(matrix: GroupMatrix) -> np.ndarray:
    if sp.issparse(matrix):
        return np.diff(matrix.indptr)
    return (matrix != 0).sum(axis=1)


def _single_entries(matrix: GroupMatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows with exactly one non-zero: a mask, the column and the value."""
    if sp.issparse(matrix):
        counts = np.diff(matrix.indptr)
        hit = counts == 1
        first = np.minimum(matrix.indptr[:-1], max(matrix.nnz - 1, 0))
        column = np.where(hit, matrix.indices[first] if matrix.nnz else 0, 0)
        value = np.where(hit, matrix.data[first] if matrix.nnz else 0.0, 0.0)
        return hit, column, value
    nonzero = matrix != 0
    column = np.argmax(nonzero, axis=1)
    rows = np.arange(matrix.shape[0])
    hit = nonzero[rows, column]
    return hit, column, np.where(hit, matrix[rows, column], 0.0)


def split_vc(
    exog_vc: object, labels: list, group_sizes: list[int]
) -> list[tuple[str, list[list[str]], list[np.ndarray]]]:
    """Normalise ``exog_vc`` (dict of dicts or VCSpec) to per-group dense matrices.

    Returns
    -------
    list of (name, colnames, mats)
        Sorted by name; ``colnames[i]`` and ``mats[i]`` belong to ``labels[i]``.
    """
    if exog_vc is None:
        return []
    out = []
    if isinstance(exog_vc, Mapping):
        for vc_name in sorted(exog_vc, key=str):
            per_group = exog_vc[vc_name]
            if not isinstance(per_group, Mapping):
                raise MixedModelsTypeError(
                    f"exog_vc[{vc_name!r}] must be a dict mapping group labels to matrices, got "
                    f"{type(per_group).__name__}"
                )
            colnames, mats = [], []
            for label in labels:
                if label not in per_group:
                    raise DataError(
                        f"exog_vc[{vc_name!r}] has no matrix for group {label!r}; give one for "
                        "every group"
                    )
                argument = f"exog_vc[{vc_name!r}][{label!r}]"
                matrix, names = _group_matrix(per_group[label], argument)
                colnames.append(names or [str(j) for j in range(matrix.shape[1])])
                mats.append(matrix)
            out.append((str(vc_name), colnames, mats))
    elif hasattr(exog_vc, "names") and hasattr(exog_vc, "mats"):
        given_colnames = getattr(exog_vc, "colnames", None)
        order = np.argsort([str(name) for name in exog_vc.names], kind="stable")
        for k in order:
            vc_name = str(exog_vc.names[k])
            matrices = list(exog_vc.mats[k])
            if len(matrices) != len(labels):
                raise DataError(
                    f"exog_vc component {vc_name!r} has {len(matrices)} group matrices for "
                    f"{len(labels)} groups"
                )
            colnames, mats = [], []
            for i, item in enumerate(matrices):
                matrix, names = _group_matrix(item, f"exog_vc component {vc_name!r}, group {i}")
                if given_colnames is not None:
                    names = [str(name) for name in given_colnames[k][i]]
                colnames.append(names or [str(j) for j in range(matrix.shape[1])])
                mats.append(matrix)
            out.append((vc_name, colnames, mats))
    else:
        raise MixedModelsTypeError(
            f"exog_vc must be a dict of dicts or a VCSpec, got {type(exog_vc).__name__}"
        )
    for vc_name, _, mats in out:
        for label, size, matrix in zip(labels, group_sizes, mats, strict=True):
            if matrix.shape[0] != size:
                raise DataError(
                    f"exog_vc[{vc_name!r}][{label!r}] has {matrix.shape[0]} rows; group "
                    f"{label!r} has {size} observations"
                )
    return out


@dataclass
class VarianceComponent:
    """One variance component and its engine translation.

    Attributes
    ----------
    name : str
    colnames : list of list of str
        Column names per group.
    mats : list of ndarray or scipy.sparse.csr_matrix
        Design matrix per group (rows in data order).
    tied : bool
        True: a tied diagonal term on the group factor; False: a scalar term
        on the factor ``(group, column)``.
    level_group, level_column : ndarray
        For the scalar translation, the group and column of each factor level.
    """

    name: str
    colnames: list[list[str]]
    mats: list[np.ndarray]
    tied: bool = False
    level_group: np.ndarray | None = None
    level_column: np.ndarray | None = None

    def term(self, groups: GroupStructure, n: int, factor_name: str) -> TermSpec:
        """The engine term (see the module notes)."""
        if self.tied:
            width = max(matrix.shape[1] for matrix in self.mats)
            z = np.zeros((n, width))
            for rows, matrix in zip(groups.rows, self.mats, strict=True):
                z[rows, : matrix.shape[1]] = dense(matrix)
            pattern = -np.ones((width, width), dtype=np.int64)
            np.fill_diagonal(pattern, 0)
            names = tuple(f"{self.name}[{j}]" for j in range(width))
            return TermSpec(groups.factor(), z, names, pattern, self.name)
        keys = np.full(n, -1, dtype=np.int64)
        values = np.zeros(n)
        offsets = np.concatenate([[0], np.cumsum([m.shape[1] for m in self.mats])])
        for code, (rows, matrix) in enumerate(zip(groups.rows, self.mats, strict=True)):
            if matrix.shape[1] == 0:
                continue
            hit, column, value = _single_entries(matrix)
            keys[rows[hit]] = offsets[code] + column[hit]
            values[rows[hit]] = value[hit]
        used = np.unique(keys[keys >= 0])
        if used.size == 0:
            raise DataError(f"variance component {self.name!r} is zero for every observation")
        codes = np.searchsorted(used, np.where(keys >= 0, keys, used[0]))
        self.level_group = np.searchsorted(offsets, used, side="right") - 1
        self.level_column = used - offsets[self.level_group]
        labels = [
            f"{groups.labels[g]}[{self.colnames[g][j]}]"
            for g, j in zip(self.level_group, self.level_column, strict=True)
        ]
        factor = GroupingFactor(factor_name, codes.astype(np.int32), pd.Index(labels, dtype=object))
        return TermSpec(factor, values[:, None], (self.name,), full_pattern(1), self.name)


def make_components(
    raw: list[tuple[str, list[list[str]], list[np.ndarray]]],
) -> list[VarianceComponent]:
    """Decide the translation of each component (see the module notes)."""
    components = []
    for name, colnames, mats in raw:
        tied = any(
            matrix.shape[0] > 0 and int(_nonzeros_per_row(matrix).max()) > 1 for matrix in mats
        )
        components.append(VarianceComponent(name, colnames, mats, tied=tied))
    return components


def build_terms(
    groups: GroupStructure,
    n: int,
    exog_re: np.ndarray | None,
    re_names: list[str],
    re_pattern: np.ndarray | None,
    components: list[VarianceComponent],
) -> list[TermSpec]:
    """The engine terms: the ``exog_re`` term first (if any), then one per component."""
    terms = []
    if exog_re is not None:
        terms.append(TermSpec(groups.factor(), exog_re, tuple(re_names), re_pattern, groups.name))
    taken = {groups.name}
    for component in components:
        name = f"{groups.name}:{component.name}"
        while name in taken:
            name += "'"
        taken.add(name)
        terms.append(component.term(groups, n, name))
    return terms


# ---------------------------------------------------------------------- free patterns
def re_pattern_from_free(free_cov: np.ndarray | None, k_re: int) -> np.ndarray:
    """The ``T`` pattern for a ``free.cov_re`` mask (``None``: unstructured).

    A mask whose non-zero pattern is block diagonal after a permutation of the
    columns is exactly a ``T`` with structural zeros between the blocks:
    ``T T'`` then ranges over all covariance matrices with those zeros.

    Raises
    ------
    NotImplementedError
        For a zero on the diagonal (a variance held at its start value) or a
        pattern that is not block diagonal after a permutation.
    """
    if free_cov is None:
        return full_pattern(k_re)
    mask = np.asarray(free_cov, dtype=float)
    if mask.shape != (k_re, k_re):
        raise DataError(f"free.cov_re must have shape ({k_re}, {k_re}), got {mask.shape}")
    lower = np.tril(mask != 0)
    free = lower | lower.T
    if not np.all(np.diag(free)):
        fixed = [int(i) for i in np.flatnonzero(~np.diag(free))]
        raise NotImplementedError(
            f"free.cov_re holds variance(s) fixed at their start value (zero diagonal entries "
            f"{fixed}); only zero covariances can be fixed. Drop the column from exog_re "
            "instead, or use profile_re to fix a variance."
        )
    component = -np.ones(k_re, dtype=np.int64)
    for start in range(k_re):
        if component[start] >= 0:
            continue
        stack = [start]
        component[start] = start
        while stack:
            node = stack.pop()
            for other in np.flatnonzero(free[node]):
                if component[other] < 0:
                    component[other] = start
                    stack.append(int(other))
    same = component[:, None] == component[None, :]
    if not np.array_equal(same, free):
        raise NotImplementedError(
            "free.cov_re pattern "
            f"{free.astype(int).tolist()} fixes covariances to zero in a way that is not "
            "block diagonal after a permutation of the random effects; only such patterns "
            "(e.g. numpy.eye(k) for independent random effects) are supported"
        )
    pattern = -np.ones((k_re, k_re), dtype=np.int64)
    counter = 0
    for column in range(k_re):
        for row in range(column, k_re):
            if same[row, column]:
                pattern[row, column] = counter
                counter += 1
    return pattern


def missing_report(parts: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Rows with a missing value in any part and the names of the parts that have one."""
    first = next(iter(parts.values()))
    bad = np.zeros(first.shape[0], dtype=bool)
    culprits = []
    for name, mask in parts.items():
        if mask.any():
            culprits.append(f"{name} ({int(mask.sum())} row(s))")
            bad |= mask
    return bad, culprits


def raise_missing(culprits: list[str], missing: str) -> None:
    """Raise the error for missing values under ``missing='none'`` or ``'raise'``."""
    where = ", ".join(culprits)
    if missing == "raise":
        raise MissingDataError(f"missing values found in {where} (missing='raise')")
    raise MissingDataError(
        f"missing values found in {where}; pass missing='drop' to drop incomplete rows "
        "(statsmodels' default missing='none' would fit on misaligned data)"
    )


# ---------------------------------------------------------------------- theta layout
@dataclass
class ThetaLayout:
    """Where the statsmodels variance parameters sit in the engine's ``theta``.

    Attributes
    ----------
    n_theta : int
    re_offset : int or None
        Global theta index of local index 0 of the ``exog_re`` term.
    re_pattern : ndarray or None
        Local theta index of each entry of the term's ``T`` (``-1``: zero).
    vc_indices : list of int
        Theta index of each variance component (in sorted name order).
    """

    n_theta: int
    re_offset: int | None
    re_pattern: np.ndarray | None
    vc_indices: list[int]

    @classmethod
    def from_terms(
        cls, term_infos: list, n_theta: int, re_pattern: np.ndarray | None, n_vc: int
    ) -> ThetaLayout:
        """Read the layout from the engine's term infos (``exog_re`` term first)."""
        start = 0
        re_offset = None
        if re_pattern is not None:
            re_offset = term_infos[0].theta_indices[0]
            start = 1
        vc_indices = [term_infos[start + k].theta_indices[0] for k in range(n_vc)]
        return cls(n_theta, re_offset, re_pattern, vc_indices)

    @property
    def k_re(self) -> int:
        """Number of correlated random coefficients."""
        return 0 if self.re_pattern is None else self.re_pattern.shape[0]

    def re_factor(self, theta: np.ndarray) -> np.ndarray:
        """The ``T`` of the ``exog_re`` term (profile ``cov_re = T T'``)."""
        if self.re_pattern is None:
            return np.zeros((0, 0))
        factor = np.zeros(self.re_pattern.shape)
        rows, cols = np.nonzero(self.re_pattern >= 0)
        factor[rows, cols] = theta[self.re_offset + self.re_pattern[rows, cols]]
        return factor

    def profile(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Profile-scale ``cov_re`` and ``vcomp`` at ``theta``."""
        factor = self.re_factor(theta)
        vcomp = np.array([theta[index] ** 2 for index in self.vc_indices])
        return factor @ factor.T, vcomp

    def packed(self, theta: np.ndarray) -> np.ndarray:
        """``[lower triangle of cov_re (row-major), vcomp]`` on the profile scale."""
        cov, vcomp = self.profile(theta)
        return np.concatenate([cov[np.tril_indices(self.k_re)], vcomp])

    def theta_from_profile(self, cov_re: np.ndarray, vcomp: np.ndarray) -> np.ndarray:
        """A ``theta`` with profile ``cov_re`` and ``vcomp`` (Cholesky factor of ``cov_re``).

        Raises
        ------
        NotImplementedError
            When ``cov_re`` is non-zero where the pattern fixes a zero.
        """
        theta = np.zeros(self.n_theta)
        if self.re_pattern is not None:
            cov = np.asarray(cov_re, dtype=float)
            if cov.shape != self.re_pattern.shape:
                raise DataError(
                    f"start cov_re must have shape {self.re_pattern.shape}, got {cov.shape}"
                )
            lower = np.tril(np.ones(cov.shape, dtype=bool))
            fixed = lower & (self.re_pattern < 0)
            if np.any(np.abs(cov[fixed]) > 1e-12 * max(1.0, float(np.abs(cov).max()))):
                raise NotImplementedError(
                    "start cov_re is non-zero where free.cov_re fixes a covariance; only "
                    "covariances fixed at zero are supported"
                )
            try:
                factor = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                factor = np.diag(np.sqrt(np.clip(np.diag(cov), 0.0, None)))
            rows, cols = np.nonzero(self.re_pattern >= 0)
            theta[self.re_offset + self.re_pattern[rows, cols]] = factor[rows, cols]
        vcomp = np.asarray(vcomp, dtype=float).ravel()
        if len(vcomp) != len(self.vc_indices):
            raise DataError(
                f"start vcomp has {len(vcomp)} entries; the model has {len(self.vc_indices)} "
                "variance components"
            )
        for index, value in zip(self.vc_indices, vcomp, strict=True):
            theta[index] = np.sqrt(max(float(value), 0.0))
        return theta
