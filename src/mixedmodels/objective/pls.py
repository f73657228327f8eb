"""Penalised least squares with a blocked Cholesky factor, and the profiled criterion.

For a relative covariance parameter ``theta`` the engine factors

.. math::

    \\begin{bmatrix} \\Lambda' Z' W Z \\Lambda + I & \\Lambda' Z' W X & \\Lambda' Z' W y \\\\
    X' W Z \\Lambda & X' W X & X' W y \\\\ y' W Z \\Lambda & y' W X & y' W y \\end{bmatrix}
    = L L'

block by block (Bates et al. 2015, JSS 67(1); MixedModels.jl). One evaluation
is ``set_theta -> update_L -> objective``.

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``K``        number of random-effect blocks (grouping factors)
``k``        number of fixed-effect columns
``L_jj``     diagonal block of ``L`` for block ``j`` (``blockdiag`` or dense)
``L_ij``     block below the diagonal, ``i > j`` (sparse or dense)
``L_xy,j``   rows of ``L`` for ``[X y]`` against block ``j``, ``(k+1) x q_j``
``L_X``      ``k x k`` lower factor of the fixed-effects Schur complement
``r^2``      penalised weighted residual sum of squares (``pwrss``)
``n``        number of observations
===========  ===============================================================

The criterion, with ``log|L_Z|^2 = 2 sum log diag L_jj``:

* ML deviance: ``log|L_Z|^2 + n (1 + log(2 pi r^2 / n)) - sum log w``
* REML criterion: ``log|L_Z|^2 + log|L_X|^2 + (n - k)(1 + log(2 pi r^2 / (n - k)))
  - sum log w``
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..design.terms import RandomEffectsBlock
from ..linalg.blocks import (
    as_dense,
    blockdiag_cholesky,
    blockdiag_inverse_lower,
    blockdiag_to_dense,
    congruence,
    dense_lower_solve_right,
    left_blockdiag_transpose,
    right_blockdiag,
)
from .crossprod import CrossProducts

__all__ = ["PLSState"]

_DENSE_FILL = 0.25  # level-pattern density above which a sparse block is stored dense


def _level_pattern(
    matrix: sp.csr_matrix, rows_per_level: int, cols_per_level: int
) -> sp.csr_matrix:
    coo = matrix.tocoo()
    shape = (matrix.shape[0] // rows_per_level, matrix.shape[1] // cols_per_level)
    pattern = sp.coo_matrix(
        (np.ones(coo.nnz, dtype=np.int8), (coo.row // rows_per_level, coo.col // cols_per_level)),
        shape=shape,
    ).tocsr()
    pattern.data[:] = 1
    return pattern


class _FillPairs:
    """``A diag(w) A'`` as a dense matrix for a fixed sparse ``A`` and changing ``w``.

    The pairs of non-zeros that share a column are listed once; each
    evaluation is then a single weighted ``bincount`` instead of a sparse
    matrix product whose symbolic phase is repeated every time.
    """

    def __init__(self, matrix: sp.csr_matrix) -> None:
        csc = matrix.tocsc()
        csc.sort_indices()
        self.size = matrix.shape[0]
        counts = np.diff(csc.indptr)
        columns = np.repeat(np.arange(matrix.shape[1]), counts)
        # All (first, second) pairs of entries within each column, first <= second.
        within = np.arange(csc.nnz) - np.repeat(csc.indptr[:-1], counts)
        pairs_per_entry = counts[columns] - within
        first = np.repeat(np.arange(csc.nnz), pairs_per_entry)
        offsets = np.arange(first.size) - np.repeat(
            np.cumsum(pairs_per_entry) - pairs_per_entry, pairs_per_entry
        )
        second = first + offsets
        rows = csc.indices
        self.target = rows[second].astype(np.int64) * self.size + rows[first]
        self.values = csc.data[first] * csc.data[second]
        self.column = columns[first]
        self.diagonal_pair = first == second

    def product(self, weights: np.ndarray) -> np.ndarray:
        """Dense symmetric ``A diag(weights) A'``."""
        lower = np.bincount(
            self.target, weights=self.values * weights[self.column], minlength=self.size**2
        ).reshape(self.size, self.size)
        return lower + np.tril(lower, -1).T


class PLSState:
    """Blocked Cholesky factor of the PLS system for one model.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
        Engine blocks, most levels first.
    cross : CrossProducts
        Cross-product blocks formed once from the data.
    reml : bool
        Whether :meth:`objective` is the REML criterion (else the ML deviance).
    """

    def __init__(self, blocks: list[RandomEffectsBlock], cross: CrossProducts, reml: bool) -> None:
        self.blocks = blocks
        self.cross = cross
        self.reml = reml
        self.n_fixed = cross.xy_xy.shape[0] - 1
        self.n_obs = cross.n_obs
        self.theta: np.ndarray | None = None
        self._analyse()

    # ------------------------------------------------------------------ structure
    def _analyse(self) -> None:
        """Decide the storage kind of each block of ``L`` from level incidence."""
        n_blocks = len(self.blocks)
        self.diagonal_kind: list[str] = []
        self.off_kind: dict[tuple[int, int], str] = {}
        pattern: dict[tuple[int, int], sp.csr_matrix | None] = {}
        for (i, j), matrix in self.cross.off_diagonal.items():
            pattern[(i, j)] = _level_pattern(
                matrix, self.blocks[i].n_columns, self.blocks[j].n_columns
            )
        for j in range(n_blocks):
            dense = False
            for k in range(j):
                if self.off_kind[(j, k)] == "dense":
                    dense = True
                elif pattern[(j, k)] is not None and (pattern[(j, k)].getnnz(axis=0) > 1).any():
                    dense = True
            self.diagonal_kind.append("dense" if dense else "blockdiag")
            for i in range(j + 1, n_blocks):
                if dense or any(
                    self.off_kind[(i, k)] == "dense" or self.off_kind[(j, k)] == "dense"
                    for k in range(j)
                ):
                    self.off_kind[(i, j)] = "dense"
                    continue
                level_pattern = pattern.get((i, j))
                for k in range(j):
                    if pattern.get((i, k)) is not None and pattern.get((j, k)) is not None:
                        fill = pattern[(i, k)] @ pattern[(j, k)].T
                        level_pattern = fill if level_pattern is None else level_pattern + fill
                pattern[(i, j)] = level_pattern
                size = self.blocks[i].n_levels * self.blocks[j].n_levels
                density = 0.0 if level_pattern is None else level_pattern.nnz / size
                self.off_kind[(i, j)] = "dense" if density > _DENSE_FILL else "sparse"
        self._fill_pairs = {
            j: _FillPairs(self.cross.off_diagonal[(j, 0)])
            for j in range(1, n_blocks)
            if self.diagonal_kind[j] == "dense"
            and self.blocks[0].n_columns == 1
            and (j, 0) in self.cross.off_diagonal
        }

    # ------------------------------------------------------------------ evaluation
    def set_theta(self, theta: np.ndarray) -> None:
        """Install ``theta`` and build each block's ``T``."""
        self.theta = np.asarray(theta, dtype=float)
        self.factors = [block.lambda_factor(self.theta) for block in self.blocks]

    def _lambda_blocks(self, j: int) -> np.ndarray:
        block = self.blocks[j]
        return np.broadcast_to(self.factors[j], (block.n_levels, *self.factors[j].shape))

    def _scaled_off_diagonal(self, i: int, j: int) -> sp.csr_matrix | None:
        """``Lambda_i' A_ij Lambda_j``."""
        matrix = self.cross.off_diagonal.get((i, j))
        if matrix is None:
            return None
        factor_i, factor_j = self.factors[i], self.factors[j]
        if factor_i.shape == (1, 1) and factor_j.shape == (1, 1):
            return matrix * (factor_i[0, 0] * factor_j[0, 0])
        scaled = left_blockdiag_transpose(self._lambda_blocks(i), matrix)
        return right_blockdiag(scaled, self._lambda_blocks(j))

    def update_L(self) -> None:
        """Numeric blocked Cholesky factorisation at the installed ``theta``."""
        if self.theta is None:
            raise RuntimeError("set_theta must be called before update_L")
        n_blocks = len(self.blocks)
        cross = self.cross
        self.L_diag: list[np.ndarray] = []
        self.L_inv_blocks: list[np.ndarray | None] = []
        self.L_off: dict[tuple[int, int], np.ndarray | sp.spmatrix] = {}
        self.L_xy: list[np.ndarray] = []
        for j in range(n_blocks):
            block = self.blocks[j]
            p = block.n_columns
            gram = congruence(cross.diagonal[j], self.factors[j])
            gram = gram + np.eye(p)
            if self.diagonal_kind[j] == "blockdiag":
                for k in range(j):
                    off = self.L_off.get((j, k))
                    if off is None:
                        continue
                    # Nested factor: L_jk L_jk' is block diagonal; add its blocks.
                    product = (off @ off.T).tocoo()
                    level = product.row // p
                    np.add.at(gram, (level, product.row % p, product.col % p), -product.data)
                factor = blockdiag_cholesky(gram)
                inverse = blockdiag_inverse_lower(factor)
                self.L_diag.append(factor)
                self.L_inv_blocks.append(inverse)
                inverse_transposed = np.swapaxes(inverse, 1, 2)
            else:
                dense = blockdiag_to_dense(gram)
                for k in range(j):
                    off = self.L_off.get((j, k))
                    if off is None:
                        continue
                    if k == 0 and j in self._fill_pairs:
                        # L_j0 = Lambda_j' A_j0 diag(t0 / l0): the fill is
                        # Lambda_j' (A_j0 diag(w) A_j0') Lambda_j with a fixed pattern.
                        column_weights = (self.factors[0][0, 0] / self.L_diag[0][:, 0, 0]) ** 2
                        fill = self._fill_pairs[j].product(column_weights)
                        lam = self._lambda_blocks(j)
                        if lam.shape[1] == 1:
                            fill *= lam[0, 0, 0] ** 2
                        else:
                            fill = right_blockdiag(right_blockdiag(fill, lam).T, lam).T
                        dense -= fill
                    else:
                        dense -= as_dense(off @ off.T)
                factor = scipy.linalg.cholesky(dense, lower=True, check_finite=False)
                self.L_diag.append(factor)
                self.L_inv_blocks.append(None)
            for i in range(j + 1, n_blocks):
                target = self._scaled_off_diagonal(i, j)
                for k in range(j):
                    left, right = self.L_off.get((i, k)), self.L_off.get((j, k))
                    if left is None or right is None:
                        continue
                    update = left @ right.T
                    target = -update if target is None else target - update
                if target is None:
                    continue
                if self.off_kind[(i, j)] == "dense" or self.diagonal_kind[j] == "dense":
                    target = as_dense(target)
                if self.diagonal_kind[j] == "blockdiag":
                    solved = right_blockdiag(target, inverse_transposed)
                else:
                    solved = dense_lower_solve_right(target, factor)
                if sp.issparse(solved):
                    solved = sp.csr_matrix(solved)
                self.L_off[(i, j)] = solved
            xy_row = right_blockdiag(cross.xy_z[j], self._lambda_blocks(j))
            for k in range(j):
                right = self.L_off.get((j, k))
                if right is not None:
                    xy_row = xy_row - as_dense(right @ self.L_xy[k].T).T
            if self.diagonal_kind[j] == "blockdiag":
                xy_row = right_blockdiag(xy_row, inverse_transposed)
            else:
                xy_row = dense_lower_solve_right(xy_row, factor)
            self.L_xy.append(xy_row)
        schur = cross.xy_xy.copy()
        for xy_row in self.L_xy:
            schur -= xy_row @ xy_row.T
        k = self.n_fixed
        if k > 0:
            self.L_X = scipy.linalg.cholesky(schur[:k, :k], lower=True, check_finite=False)
            self.c_X = scipy.linalg.solve_triangular(
                self.L_X, schur[:k, k], lower=True, check_finite=False
            )
        else:
            self.L_X = np.zeros((0, 0))
            self.c_X = np.zeros(0)
        self.pwrss = max(float(schur[k, k] - self.c_X @ self.c_X), 0.0)

    # ------------------------------------------------------------------ criterion
    def logdet_random(self) -> float:
        """``log |L_Z|^2``: twice the sum of the logs of the diagonal of the RE part of L."""
        total = 0.0
        for factor in self.L_diag:
            if factor.ndim == 3:
                total += np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2)))
            else:
                total += np.sum(np.log(np.diag(factor)))
        return 2.0 * total

    def logdet_fixed(self) -> float:
        """``log |L_X|^2``."""
        return 2.0 * float(np.sum(np.log(np.diag(self.L_X)))) if self.n_fixed else 0.0

    def objective(self) -> float:
        """REML criterion or ML deviance (``-2 log L``) at the installed ``theta``."""
        n = self.n_obs
        if self.reml:
            dof = n - self.n_fixed
            value = (
                self.logdet_random()
                + self.logdet_fixed()
                + dof * (1.0 + np.log(2.0 * np.pi * self.pwrss / dof))
            )
        else:
            value = self.logdet_random() + n * (1.0 + np.log(2.0 * np.pi * self.pwrss / n))
        return float(value - self.cross.sum_log_weights)

    def evaluate(self, theta: np.ndarray) -> float:
        """``set_theta -> update_L -> objective``."""
        self.set_theta(theta)
        self.update_L()
        return self.objective()

    # ------------------------------------------------------------------ solutions
    def sigma2(self) -> float:
        """Residual variance estimate at the installed ``theta``."""
        dof = self.n_obs - self.n_fixed if self.reml else self.n_obs
        return self.pwrss / dof

    def beta(self) -> np.ndarray:
        """Fixed effects: ``L_X' beta = c_X``."""
        if self.n_fixed == 0:
            return np.zeros(0)
        return scipy.linalg.solve_triangular(self.L_X, self.c_X, lower=True, trans="T")

    def spherical_modes(self) -> list[np.ndarray]:
        """Spherical random effects ``u`` per block (back-substitution through ``L'``)."""
        beta = self.beta()
        k = self.n_fixed
        modes: list[np.ndarray | None] = [None] * len(self.blocks)
        for j in reversed(range(len(self.blocks))):
            rhs = self.L_xy[j][k, :] - self.L_xy[j][:k, :].T @ beta
            for i in range(j + 1, len(self.blocks)):
                off = self.L_off.get((i, j))
                if off is not None:
                    rhs = rhs - off.T @ modes[i]
            factor = self.L_diag[j]
            if factor.ndim == 3:
                levels, p, _ = factor.shape
                inverse = self.L_inv_blocks[j]
                # u_l = L_l^{-T} rhs_l
                modes[j] = np.einsum("lji,lj->li", inverse, rhs.reshape(levels, p)).ravel()
            else:
                modes[j] = scipy.linalg.solve_triangular(factor, rhs, lower=True, trans="T")
        return modes  # type: ignore[return-value]

    def conditional_modes(self) -> list[np.ndarray]:
        """Random effects ``b = Lambda u`` per block, shaped ``(l_b, p_b)``."""
        result = []
        for block, factor, modes in zip(
            self.blocks, self.factors, self.spherical_modes(), strict=True
        ):
            result.append(modes.reshape(block.n_levels, block.n_columns) @ factor.T)
        return result

    def fixed_covariance_unscaled(self) -> np.ndarray:
        """``(L_X L_X')^{-1}``; times ``sigma2`` it is the covariance of beta."""
        if self.n_fixed == 0:
            return np.zeros((0, 0))
        inverse = scipy.linalg.solve_triangular(self.L_X, np.eye(self.n_fixed), lower=True)
        return inverse.T @ inverse

    def random_lower_dense(self) -> np.ndarray:
        """The random-effects part ``L_Z`` of ``L`` as one dense matrix (for small ``q``)."""
        sizes = [block.n_random for block in self.blocks]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        dense = np.zeros((offsets[-1], offsets[-1]))
        for j, factor in enumerate(self.L_diag):
            piece = blockdiag_to_dense(factor) if factor.ndim == 3 else factor
            dense[offsets[j] : offsets[j + 1], offsets[j] : offsets[j + 1]] = piece
            for i in range(j + 1, len(self.blocks)):
                off = self.L_off.get((i, j))
                if off is not None:
                    dense[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = as_dense(off)
        return dense
