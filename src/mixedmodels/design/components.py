"""Random-effect terms from per-group design matrices (variance components).

A *component* gives each group ``g`` a matrix ``V_g`` (``n_g x m_g``) whose
columns get independent coefficients with one common variance,
``eta_gj ~ N(0, sigma^2 theta^2)``: statsmodels' variance components
(``exog_vc``, ``vc_formula``). Stacked, the groups' matrices are one sparse
``n x m`` matrix ``V`` with each group's columns side by side.

Notation
--------
===============  ==============================================================
symbol           meaning
===============  ==============================================================
``n``            number of observations
``V``            the stacked ``n x m`` component matrix (sparse)
``column_group`` group code of each column of ``V`` (``-1``: a group without rows)
``theta``        the component's one relative standard deviation
===============  ==============================================================

The engine expresses a component as one of two equivalent terms:

* a **scalar term** on the factor ``(group, column)`` when every row has at
  most one non-zero: the row's non-zero is ``z`` and each used column is a
  level. Classrooms nested in schools become lme4's ``(1 | school:classroom)``;
  a nested factor adds no fill-in to the Cholesky factor.
* a **tied diagonal term** on the group factor otherwise: ``z`` holds each
  group's columns side by side (zero columns pad groups with fewer), and
  ``T = theta I``. A zero column adds nothing to the likelihood. This form is
  also used when every group has the same few columns (at most
  :data:`SMALL_WIDTH`): as factors of their own, two such components would
  cross within the groups and make the remaining system dense.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DataError
from .frame import float_matrix
from .grouping import GroupingFactor
from .terms import TermSpec, full_pattern

__all__ = ["SMALL_WIDTH", "GroupComponent", "split_by_group"]

#: Most columns per group for which a one-non-zero-per-row component stays on the group factor.
SMALL_WIDTH = 8


def split_by_group(
    matrix: sp.csr_matrix, names: Sequence[str], group_rows: Sequence[np.ndarray]
) -> list[tuple[list[str], sp.csr_matrix]]:
    """Columns shared by the groups (a formula evaluated on every row) as each group's
    ``(column names, matrix)``: its rows, and the columns not zero on them."""
    blocks = []
    for rows in group_rows:
        block = matrix[rows]
        used = np.flatnonzero(block.getnnz(axis=0))
        blocks.append(([names[j] for j in used], block[:, used]))
    return blocks


def _as_coo(matrix: object, argument: str) -> tuple[sp.coo_matrix, list[str] | None]:
    """One group's matrix (dense, sparse or pandas) as COO, with its column names."""
    if sp.issparse(matrix):
        return sp.coo_matrix(matrix, dtype=float), None
    dense, names = float_matrix(matrix, argument)
    return sp.coo_matrix(dense), names


@dataclass(frozen=True)
class GroupComponent:
    """One component: the stacked ``matrix`` ``V`` (see the module notes), each
    column's group code, position within its group and name."""

    name: str
    matrix: sp.csr_matrix
    column_group: np.ndarray
    column_local: np.ndarray
    column_names: tuple[str, ...]

    @classmethod
    def stack(
        cls,
        name: str,
        matrices: Sequence[object],
        group_rows: Sequence[np.ndarray],
        n_rows: int,
        arguments: Sequence[str],
        column_names: Sequence[Sequence[str] | None] | None = None,
    ) -> GroupComponent:
        """Stack group ``g``'s matrix ``matrices[g]`` on its rows ``group_rows[g]`` (of
        ``n_rows``); ``arguments[g]`` names the matrix in errors."""
        rows, cols, values, groups, local, names = [], [], [], [], [], []
        for code, (item, positions) in enumerate(zip(matrices, group_rows, strict=True)):
            coo, found = _as_coo(item, arguments[code])
            if coo.shape[0] != len(positions):
                raise DataError(
                    f"{arguments[code]} has {coo.shape[0]} rows; its group has "
                    f"{len(positions)} observations"
                )
            if column_names is not None and column_names[code] is not None:
                found = [str(column) for column in column_names[code]]
            rows.append(positions[coo.row])
            cols.append(coo.col + len(names))
            values.append(coo.data)
            groups += [code] * coo.shape[1]
            local += range(coo.shape[1])
            names += found or [str(j) for j in range(coo.shape[1])]
        shape = (n_rows, len(names))
        matrix = sp.csr_matrix(shape)  # no groups (every group label missing) or no columns
        if names:
            data = (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols)))
            matrix = sp.csr_matrix(data, shape=shape)
        matrix.eliminate_zeros()
        codes, local = np.array(groups, dtype=np.int64), np.array(local, dtype=np.int64)
        return cls(name, matrix, codes, local, tuple(names))

    def group_blocks(self, group_rows: Sequence[np.ndarray]) -> list[tuple[list, sp.csr_matrix]]:
        """Each group's column names and matrix (its rows and columns), in group order."""
        blocks = []
        for code, rows in enumerate(group_rows):
            columns = self.group_columns(code)
            blocks.append(([self.column_names[j] for j in columns], self.matrix[rows][:, columns]))
        return blocks

    def row_values(self) -> np.ndarray:
        """Per row: NaN where the row holds a NaN, else Inf where it holds an infinite
        value, else 0 (what the row rules of :func:`~.rows.complete_mask` read)."""
        rows = np.repeat(np.arange(self.matrix.shape[0]), np.diff(self.matrix.indptr))
        values = np.zeros(self.matrix.shape[0])
        values[rows[np.isinf(self.matrix.data)]] = np.inf
        values[rows[np.isnan(self.matrix.data)]] = np.nan
        return values

    def restricted(self, keep: np.ndarray, group_map: np.ndarray) -> GroupComponent:
        """The component on the rows ``keep`` (mask), groups recoded by ``group_map``
        (old code -> new code, ``-1`` for a group left without rows)."""
        groups = np.where(self.column_group >= 0, group_map[self.column_group], -1)
        matrix = self.matrix[np.flatnonzero(keep)]
        return GroupComponent(self.name, matrix, groups, self.column_local, self.column_names)

    @property
    def tied(self) -> bool:
        """True when a row has several non-zeros: only the tied form applies."""
        counts = np.diff(self.matrix.indptr)
        return bool(counts.size and counts.max() > 1)

    @cached_property
    def _by_group(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.column_group, kind="stable")
        return order, self.column_group[order]

    def group_columns(self, code: int) -> np.ndarray:
        """Column positions of group ``code`` (ascending)."""
        order, groups = self._by_group
        return order[np.searchsorted(groups, code) : np.searchsorted(groups, code, side="right")]

    def on_group(self, n_groups: int) -> bool:
        """Whether the term is the tied one on the group factor (see the module notes)."""
        if self.tied:
            return True
        counts = np.bincount(self.column_group[self.column_group >= 0], minlength=n_groups)
        return n_groups > 1 and 0 < counts.min() == counts.max() <= SMALL_WIDTH

    @cached_property
    def used_columns(self) -> np.ndarray:
        """Columns with a non-zero: the levels of the scalar term, in order."""
        return np.unique(self.matrix.indices)

    def term(self, groups: GroupingFactor, factor_name: str) -> TermSpec:
        """The engine term on the factor ``groups`` (the rows' groups), or for the scalar
        form on a factor ``factor_name`` whose levels are ``"group[column]"``."""
        if self.used_columns.size == 0:
            raise DataError(f"variance component {self.name!r} is zero for every observation")
        coo = self.matrix.tocoo()
        if self.on_group(groups.n_levels):
            width = int(self.column_local.max()) + 1
            z = np.zeros((self.matrix.shape[0], width))
            z[coo.row, self.column_local[coo.col]] = coo.data
            pattern = np.where(np.eye(width, dtype=bool), 0, -1)
            names = tuple(f"{self.name}[{j}]" for j in range(width))
            return TermSpec(groups, z, names, pattern, self.name)
        level_codes = np.zeros(self.matrix.shape[0], dtype=np.int32)
        values = np.zeros(self.matrix.shape[0])
        level_codes[coo.row] = np.searchsorted(self.used_columns, coo.col)
        values[coo.row] = coo.data
        labels = [
            f"{groups.levels[self.column_group[j]]}[{self.column_names[j]}]"
            for j in self.used_columns
        ]
        factor = GroupingFactor(factor_name, level_codes, pd.Index(labels, dtype=object))
        return TermSpec(factor, values[:, None], (self.name,), full_pattern(1), self.name)
