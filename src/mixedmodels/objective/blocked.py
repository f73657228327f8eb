"""General blocked Cholesky factor, block by block (the fallback path).

Used when neither specialised path applies: several grouping factors where
some later factor stays block diagonal (nested designs) and the remaining
system is too large to factor densely. Each diagonal block of ``L`` is kept
``blockdiag`` or ``dense`` and each off-diagonal block ``sparse`` or
``dense``, decided once from the level incidence (:func:`analyse_structure`).

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``K``        number of random-effect blocks
``L_jj``     diagonal block of ``L`` for block ``j`` (``blockdiag`` or dense)
``L_ij``     block below the diagonal, ``i > j`` (sparse or dense)
``L_xy,j``   rows of ``L`` for ``[X y]`` against block ``j``, ``(k+1) x q_j``
``S``        ``[X y]``'s Schur complement, ``(k+1) x (k+1)``
===========  ===============================================================
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..design.crossprod import CrossProducts
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

__all__ = ["BlockedFactor", "analyse_structure"]

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


def analyse_structure(
    blocks: list[RandomEffectsBlock], cross: CrossProducts
) -> tuple[list[str], dict[tuple[int, int], str]]:
    """Storage kind of each block of ``L`` from the level incidence.

    Returns
    -------
    diagonal_kind : list of str
        ``"blockdiag"`` or ``"dense"`` per block.
    off_kind : dict
        ``"sparse"`` or ``"dense"`` per ``(i, j)``, ``i > j``.
    """
    n_blocks = len(blocks)
    diagonal_kind: list[str] = []
    off_kind: dict[tuple[int, int], str] = {}
    pattern: dict[tuple[int, int], sp.csr_matrix | None] = {}
    for (i, j), matrix in cross.off_diagonal.items():
        pattern[(i, j)] = _level_pattern(matrix, blocks[i].n_columns, blocks[j].n_columns)
    for j in range(n_blocks):
        dense = False
        for k in range(j):
            if off_kind[(j, k)] == "dense":
                dense = True
            elif pattern[(j, k)] is not None and (pattern[(j, k)].getnnz(axis=0) > 1).any():
                dense = True
        diagonal_kind.append("dense" if dense else "blockdiag")
        for i in range(j + 1, n_blocks):
            if dense or any(
                off_kind[(i, k)] == "dense" or off_kind[(j, k)] == "dense" for k in range(j)
            ):
                off_kind[(i, j)] = "dense"
                continue
            level_pattern = pattern.get((i, j))
            for k in range(j):
                if pattern.get((i, k)) is not None and pattern.get((j, k)) is not None:
                    fill = pattern[(i, k)] @ pattern[(j, k)].T
                    level_pattern = fill if level_pattern is None else level_pattern + fill
            pattern[(i, j)] = level_pattern
            size = blocks[i].n_levels * blocks[j].n_levels
            density = 0.0 if level_pattern is None else level_pattern.nnz / size
            off_kind[(i, j)] = "dense" if density > _DENSE_FILL else "sparse"
    return diagonal_kind, off_kind


class BlockedFactor:
    """Blocked Cholesky factor with per-block storage kinds.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
    cross : CrossProducts
    structure : tuple, optional
        The result of :func:`analyse_structure`, if already computed.
    """

    kind = "blocked"

    def __init__(
        self,
        blocks: list[RandomEffectsBlock],
        cross: CrossProducts,
        structure: tuple[list[str], dict[tuple[int, int], str]] | None = None,
    ) -> None:
        self.blocks = blocks
        self.cross = cross
        self.diagonal_kind, self.off_kind = structure or analyse_structure(blocks, cross)
        self.k = cross.xy_xy.shape[0] - 1

    def _scaled_off_diagonal(self, factors, lambdas, i: int, j: int):
        """``Lambda_i' A_ij Lambda_j``."""
        matrix = self.cross.off_diagonal.get((i, j))
        if matrix is None:
            return None
        if factors[i].shape == (1, 1) and factors[j].shape == (1, 1):
            return matrix * (factors[i][0, 0] * factors[j][0, 0])
        scaled = left_blockdiag_transpose(lambdas[i], matrix)
        return right_blockdiag(scaled, lambdas[j])

    def update(self, factors: list[np.ndarray]) -> None:
        """Numeric blocked factorisation; sets the blocks, ``logdet`` and ``schur``."""
        blocks, cross = self.blocks, self.cross
        n_blocks = len(blocks)
        lambdas = [
            np.broadcast_to(factor, (block.n_levels, *factor.shape))
            for block, factor in zip(blocks, factors, strict=True)
        ]
        L_diag: list[np.ndarray] = []
        L_inv: list[np.ndarray | None] = []
        L_off: dict[tuple[int, int], np.ndarray | sp.spmatrix] = {}
        L_xy: list[np.ndarray] = []
        for j in range(n_blocks):
            p = blocks[j].n_columns
            gram = congruence(cross.diagonal[j], factors[j])
            index = np.arange(p)
            gram[:, index, index] += 1.0
            if self.diagonal_kind[j] == "blockdiag":
                for k in range(j):
                    off = L_off.get((j, k))
                    if off is None:
                        continue
                    # Nested factor: L_jk L_jk' is block diagonal; add its blocks.
                    product = (off @ off.T).tocoo()
                    level = product.row // p
                    np.add.at(gram, (level, product.row % p, product.col % p), -product.data)
                factor = blockdiag_cholesky(gram)
                inverse = blockdiag_inverse_lower(factor)
                L_diag.append(factor)
                L_inv.append(inverse)
                inverse_transposed = np.swapaxes(inverse, 1, 2)
            else:
                dense = blockdiag_to_dense(gram)
                for k in range(j):
                    off = L_off.get((j, k))
                    if off is not None:
                        dense -= as_dense(off @ off.T)
                factor = scipy.linalg.cholesky(dense, lower=True, check_finite=False)
                L_diag.append(factor)
                L_inv.append(None)
            for i in range(j + 1, n_blocks):
                target = self._scaled_off_diagonal(factors, lambdas, i, j)
                for k in range(j):
                    left, right = L_off.get((i, k)), L_off.get((j, k))
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
                L_off[(i, j)] = solved
            xy_row = right_blockdiag(cross.xy_z[j], lambdas[j])
            for k in range(j):
                right = L_off.get((j, k))
                if right is not None:
                    xy_row = xy_row - as_dense(right @ L_xy[k].T).T
            if self.diagonal_kind[j] == "blockdiag":
                xy_row = right_blockdiag(xy_row, inverse_transposed)
            else:
                xy_row = dense_lower_solve_right(xy_row, factor)
            L_xy.append(xy_row)
        schur = cross.xy_xy.copy()
        for xy_row in L_xy:
            schur -= xy_row @ xy_row.T
        self.schur = schur
        total = 0.0
        for factor in L_diag:
            if factor.ndim == 3:
                total += np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2)))
            else:
                total += np.sum(np.log(np.diag(factor)))
        self.logdet = 2.0 * float(total)
        self._blocks = {"L_diag": L_diag, "L_inv_blocks": L_inv, "L_off": L_off, "L_xy": L_xy}

    def blocks_of_L(self, factors: list[np.ndarray]) -> dict:
        """The blocked factor computed by the last :meth:`update`."""
        return self._blocks
