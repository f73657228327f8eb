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
  likelihood). So is a component of at most one non-zero per row when every
  group has the same few columns (``SMALL_WIDTH``): as a factor of its own, two
  such components cross within groups and make the remaining system dense
  (statsmodels' ``test_random_effects_getters``: 500 groups, two components).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..design.grouping import GroupingFactor, make_grouping_factor
from ..design.terms import TermSpec, block_pattern, full_pattern
from ..errors import DataError, MissingDataError, MixedModelsTypeError, StructureError

#: Most columns per group for which a one-non-zero-per-row component stays on the group factor.
SMALL_WIDTH = 8

__all__ = [
    "GroupStructure",
    "ThetaLayout",
    "VarianceComponent",
    "as_matrix",
    "build_groups",
    "build_terms",
    "group_values",
    "missing_report",
    "raise_missing",
    "re_pattern_from_free",
    "stack_components",
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
    """A 2-D float matrix and its column names (the frame's, or ``{prefix}1``, ...)."""
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
    """The groups: ``name``, sorted ``labels``, each row's group ``codes`` and each
    group's ``rows`` (positions, in data order)."""

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


def build_groups(values: np.ndarray, name: str) -> GroupStructure:
    """The groups of ``values`` (no missing labels), coded by the engine's grouping
    factor (statsmodels' sorted order)."""
    factor = make_grouping_factor({name: pd.Series(values, dtype=object)}, (name,))
    codes = factor.codes.astype(np.int64)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(factor.n_levels + 1))
    rows = [order[bounds[i] : bounds[i + 1]] for i in range(factor.n_levels)]
    labels = [item.item() if isinstance(item, np.generic) else item for item in factor.levels]
    return GroupStructure(name, labels, codes, rows)


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
def _group_matrix(matrix: object, argument: str) -> tuple[sp.coo_matrix, list[str] | None]:
    """One group's component matrix (dense, sparse or pandas) as COO, and its column names."""
    names = None
    if isinstance(matrix, pd.DataFrame):
        names = [str(name) for name in matrix.columns]
    elif isinstance(matrix, pd.Series) and matrix.name is not None:
        names = [str(matrix.name)]
    if not sp.issparse(matrix):
        matrix = _numeric(matrix, argument)
        matrix = matrix[:, None] if matrix.ndim == 1 else matrix
        if matrix.ndim != 2:
            raise DataError(f"{argument} must be a 2-D matrix, got shape {matrix.shape}")
    return sp.coo_matrix(matrix, dtype=float), names


def _per_group_inputs(exog_vc: object) -> list[tuple[str, object, list | None]]:
    """``(name, matrices by label (dict form) or in group order (VCSpec), column names)``
    per component, sorted by name."""
    if isinstance(exog_vc, Mapping):
        for name, per_group in exog_vc.items():
            if not isinstance(per_group, Mapping):
                raise MixedModelsTypeError(
                    f"exog_vc[{name!r}] must be a dict mapping group labels to matrices, got "
                    f"{type(per_group).__name__}"
                )
        items = [(str(name), exog_vc[name], None) for name in exog_vc]
    elif hasattr(exog_vc, "names") and hasattr(exog_vc, "mats"):
        colnames = getattr(exog_vc, "colnames", None) or [None] * len(exog_vc.names)
        items = [
            (str(name), list(mats), names)
            for name, mats, names in zip(exog_vc.names, exog_vc.mats, colnames, strict=True)
        ]
    else:
        raise MixedModelsTypeError(
            f"exog_vc must be a dict of dicts or a VCSpec, got {type(exog_vc).__name__}"
        )
    return sorted(items, key=lambda item: item[0])


@dataclass
class VarianceComponent:
    """One variance component: every group's columns side by side in one ``n x m``
    sparse ``matrix`` (a group's columns contiguous), with each column's group label,
    name within its group and group code (``-1``: group dropped)."""

    name: str
    matrix: sp.csr_matrix
    column_labels: np.ndarray
    column_names: list[str]
    column_codes: np.ndarray | None = field(default=None, repr=False)

    @property
    def tied(self) -> bool:
        """True when a row has several non-zeros: a tied diagonal term on the group factor."""
        counts = np.diff(self.matrix.indptr)
        return bool(counts.size and counts.max() > 1)

    def missing_rows(self) -> np.ndarray:
        """Rows that hold a NaN."""
        rows = np.repeat(np.arange(self.matrix.shape[0]), np.diff(self.matrix.indptr))
        bad = np.zeros(self.matrix.shape[0], dtype=bool)
        bad[rows[np.isnan(self.matrix.data)]] = True
        return bad

    def restricted(self, keep: np.ndarray, groups: GroupStructure) -> VarianceComponent:
        """The component on the rows ``keep``, its columns coded by ``groups``."""
        codes = pd.Index(groups.labels, dtype=object).get_indexer(self.column_labels)
        matrix = self.matrix[np.flatnonzero(keep)]
        return VarianceComponent(self.name, matrix, self.column_labels, self.column_names, codes)

    @cached_property
    def _sorted_codes(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.column_codes, kind="stable")
        return order, self.column_codes[order]

    def group_columns(self, code: int) -> np.ndarray:
        """Column positions of group ``code`` (ascending)."""
        order, codes = self._sorted_codes
        return order[np.searchsorted(codes, code) : np.searchsorted(codes, code, side="right")]

    def on_group(self, groups: GroupStructure) -> bool:
        """Whether the engine term is on the group factor (see the module notes)."""
        if self.tied:
            return True
        codes = self.column_codes[self.column_codes >= 0]
        counts = np.bincount(codes, minlength=groups.n_groups)
        return groups.n_groups > 1 and 0 < counts.min() == counts.max() <= SMALL_WIDTH

    def term(
        self, groups: GroupStructure, factor_name: str, on_group: bool | None = None
    ) -> TermSpec:
        """The engine term (see the module notes); ``on_group`` defaults to :attr:`tied`."""
        coo = self.matrix.tocoo()
        if self.tied if on_group is None else on_group:
            labels = self.column_labels
            starts = np.r_[True, labels[1:] != labels[:-1]]  # a group's columns are contiguous
            positions = np.arange(len(labels))
            local = positions - np.maximum.accumulate(np.where(starts, positions, 0))
            width = int(local.max()) + 1
            z = np.zeros((self.matrix.shape[0], width))
            z[coo.row, local[coo.col]] = coo.data
            pattern = np.where(np.eye(width, dtype=bool), 0, -1)
            names = tuple(f"{self.name}[{j}]" for j in range(width))
            return TermSpec(groups.factor(), z, names, pattern, self.name)
        used, codes = np.unique(coo.col, return_inverse=True)
        level_codes = np.zeros(self.matrix.shape[0], dtype=np.int32)
        values = np.zeros(self.matrix.shape[0])
        level_codes[coo.row], values[coo.row] = codes, coo.data
        if used.size == 0:
            raise DataError(f"variance component {self.name!r} is zero for every observation")
        labels = [f"{self.column_labels[j]}[{self.column_names[j]}]" for j in used]
        factor = GroupingFactor(factor_name, level_codes, pd.Index(labels, dtype=object))
        return TermSpec(factor, values[:, None], (self.name,), full_pattern(1), self.name)


def stack_components(
    exog_vc: object, groups: GroupStructure, positions: np.ndarray, n: int
) -> list[VarianceComponent]:
    """``exog_vc`` (dict of dicts or VCSpec) as stacked components; ``groups`` are the
    groups of the rows ``positions`` of ``n`` (other rows, without a group, stay empty)."""
    if exog_vc is None:
        return []
    components = []
    for name, matrices, given_names in _per_group_inputs(exog_vc):
        if not isinstance(matrices, Mapping) and len(matrices) != groups.n_groups:
            raise DataError(
                f"exog_vc component {name!r} has {len(matrices)} group matrices for "
                f"{groups.n_groups} groups"
            )
        rows, cols, values, labels, names = [], [], [], [], []
        for code, (label, group_rows) in enumerate(zip(groups.labels, groups.rows, strict=True)):
            if isinstance(matrices, Mapping) and label not in matrices:
                raise DataError(
                    f"exog_vc[{name!r}] has no matrix for group {label!r}; give one for every group"
                )
            argument = f"exog_vc[{name!r}][{label!r}]"
            item = matrices[label] if isinstance(matrices, Mapping) else matrices[code]
            coo, found = _group_matrix(item, argument)
            if coo.shape[0] != len(group_rows):
                raise DataError(
                    f"{argument} has {coo.shape[0]} rows; group {label!r} has "
                    f"{len(group_rows)} observations"
                )
            if given_names is not None:
                found = [str(column) for column in given_names[code]]
            rows.append(positions[group_rows[coo.row]])
            cols.append(coo.col + len(names))
            values.append(coo.data)
            labels += [label] * coo.shape[1]
            names += found or [str(j) for j in range(coo.shape[1])]
        matrix = sp.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, len(names)),
        )
        matrix.eliminate_zeros()
        column_labels = np.array([*labels, None], dtype=object)[:-1]  # 1-D for tuple labels too
        components.append(VarianceComponent(name, matrix, column_labels, names))
    return components


def build_terms(
    groups: GroupStructure,
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
        terms.append(component.term(groups, name, component.on_group(groups)))
    return terms


# ---------------------------------------------------------------------- free patterns
def re_pattern_from_free(free_cov: np.ndarray | None, k_re: int) -> np.ndarray:
    """The ``T`` pattern for a ``free.cov_re`` mask (``None``: unstructured).

    A mask block diagonal after a permutation is a ``T`` with structural zeros
    between the blocks; other masks raise :class:`NotImplementedError`.
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
    try:
        return block_pattern(free)
    except StructureError as error:
        raise NotImplementedError(
            f"free.cov_re fixes covariances to zero in a way that is not block diagonal after "
            f"a permutation of the random effects ({error}); only such patterns (e.g. "
            "numpy.eye(k) for independent random effects) are supported"
        ) from error


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
@dataclass(frozen=True)
class ThetaLayout:
    """Where statsmodels' variance parameters sit in ``theta``: ``re_index``, the theta
    index of each entry of the ``exog_re`` term's ``T`` (``-1``: structural zero), and
    ``vc_indices``, one per variance component (sorted by name)."""

    n_theta: int
    re_index: np.ndarray
    vc_indices: list[int]

    @classmethod
    def from_engine(cls, engine: object, has_re: bool, n_vc: int) -> ThetaLayout:
        """Read the layout from the engine's terms (the ``exog_re`` term first)."""
        infos = engine.term_infos
        re_index = np.zeros((0, 0), dtype=np.int64)
        if has_re:
            columns = np.asarray(infos[0].columns)
            re_index = engine.blocks[infos[0].block].theta_index[np.ix_(columns, columns)]
        vc_indices = [infos[int(has_re) + k].theta_indices[0] for k in range(n_vc)]
        return cls(engine.n_theta, re_index, vc_indices)

    @property
    def k_re(self) -> int:
        """Number of correlated random coefficients."""
        return self.re_index.shape[0]

    def re_factor(self, theta: np.ndarray) -> np.ndarray:
        """The ``T`` of the ``exog_re`` term (profile ``cov_re = T T'``)."""
        factor = np.zeros(self.re_index.shape)
        free = self.re_index >= 0
        factor[free] = theta[self.re_index[free]]
        return factor

    def profile(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Profile-scale ``cov_re`` and ``vcomp`` at ``theta``."""
        factor = self.re_factor(theta)
        return factor @ factor.T, np.asarray(theta)[self.vc_indices] ** 2

    def packed(self, theta: np.ndarray) -> np.ndarray:
        """``[lower triangle of cov_re (row-major), vcomp]`` on the profile scale."""
        cov, vcomp = self.profile(theta)
        return np.concatenate([cov[np.tril_indices(self.k_re)], vcomp])

    def theta_from_profile(self, cov_re: np.ndarray, vcomp: np.ndarray) -> np.ndarray:
        """A ``theta`` with profile ``cov_re`` (Cholesky factor) and ``vcomp``."""
        theta = np.zeros(self.n_theta)
        cov = np.asarray(cov_re, dtype=float) if self.k_re else None
        if cov is not None and cov.shape != self.re_index.shape:
            raise DataError(f"start cov_re must have shape {self.re_index.shape}, got {cov.shape}")
        if cov is not None:
            fixed = np.tril(self.re_index < 0)
            if np.any(np.abs(cov[fixed]) > 1e-12 * max(1.0, float(np.abs(cov).max()))):
                raise NotImplementedError(
                    "start cov_re is non-zero where free.cov_re fixes a covariance; only "
                    "covariances fixed at zero are supported"
                )
            try:
                factor = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                factor = np.diag(np.sqrt(np.clip(np.diag(cov), 0.0, None)))
            free = self.re_index >= 0
            theta[self.re_index[free]] = factor[free]
        vcomp = np.asarray(vcomp, dtype=float).ravel()
        if len(vcomp) != len(self.vc_indices):
            raise DataError(
                f"start vcomp has {len(vcomp)} entries; the model has {len(self.vc_indices)} "
                "variance components"
            )
        theta[self.vc_indices] = np.sqrt(np.clip(vcomp, 0.0, None))
        return theta
