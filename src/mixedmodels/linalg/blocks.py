"""Block kernels for the blocked Cholesky factor.

Three storage kinds occur in the factor ``L``:

``blockdiag``
    An ndarray of shape ``(l, p, p)``: ``l`` dense ``p x p`` blocks on the
    diagonal (a diagonal matrix when ``p == 1``). Diagonal blocks of ``L`` for
    the first factor, and for every nested factor, are of this kind.
``sparse``
    A :class:`scipy.sparse.csr_matrix`; off-diagonal blocks between grouping
    factors keep the sparsity of the level incidence as long as no fill-in
    makes them dense.
``dense``
    A plain 2-D ndarray; crossed factors fill in their diagonal block of ``L``.

The functions here take and return these kinds; none of them loops over levels
in Python.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = [
    "blockdiag_cholesky",
    "blockdiag_inverse_lower",
    "blockdiag_matrix",
    "blockdiag_to_dense",
    "congruence",
    "right_blockdiag",
]


def blockdiag_matrix(blocks: np.ndarray) -> sp.bsr_matrix:
    """Sparse BSR matrix with ``blocks[k]`` as the k-th diagonal block."""
    n_blocks, rows, cols = blocks.shape
    return sp.bsr_matrix(
        (blocks, np.arange(n_blocks), np.arange(n_blocks + 1)),
        shape=(n_blocks * rows, n_blocks * cols),
    )


def blockdiag_to_dense(blocks: np.ndarray) -> np.ndarray:
    """Dense matrix with ``blocks`` on its diagonal."""
    n_blocks, size, _ = blocks.shape
    dense = np.zeros((n_blocks, size, n_blocks, size))
    index = np.arange(n_blocks)
    dense[index, :, index, :] = blocks
    return dense.reshape(n_blocks * size, n_blocks * size)


def blockdiag_cholesky(blocks: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of each positive-definite block."""
    if blocks.shape[1] == 1:
        return np.sqrt(blocks)
    if blocks.shape[1] == 2:
        # Closed form: a batched LAPACK call costs more than the arithmetic here.
        factor = np.zeros_like(blocks)
        l00 = np.sqrt(blocks[:, 0, 0])
        l10 = blocks[:, 1, 0] / l00
        factor[:, 0, 0] = l00
        factor[:, 1, 0] = l10
        factor[:, 1, 1] = np.sqrt(blocks[:, 1, 1] - l10 * l10)
        return factor
    return np.linalg.cholesky(blocks)


def blockdiag_inverse_lower(factor: np.ndarray) -> np.ndarray:
    """Inverse of each lower-triangular block."""
    if factor.shape[1] == 1:
        return 1.0 / factor
    if factor.shape[1] == 2:
        inverse = np.zeros_like(factor)
        inverse[:, 0, 0] = 1.0 / factor[:, 0, 0]
        inverse[:, 1, 1] = 1.0 / factor[:, 1, 1]
        inverse[:, 1, 0] = -factor[:, 1, 0] * inverse[:, 0, 0] * inverse[:, 1, 1]
        return inverse
    identity = np.broadcast_to(np.eye(factor.shape[1]), factor.shape)
    return np.linalg.solve(factor, identity)


def congruence(blocks: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``T' B_k T`` for every block ``B_k`` and one small matrix ``T``."""
    if factor.shape == (1, 1):
        return blocks * (factor[0, 0] * factor[0, 0])
    return np.einsum("ji,kjl,lm->kim", factor, blocks, factor, optimize=True)


def right_blockdiag(
    matrix: np.ndarray | sp.spmatrix, blocks: np.ndarray
) -> np.ndarray | sp.spmatrix:
    """``matrix @ blockdiag(blocks)`` for a dense or sparse ``matrix``."""
    n_blocks, size, _ = blocks.shape
    if size == 1:
        scale = blocks[:, 0, 0]
        if sp.issparse(matrix):
            return sp.csr_matrix(matrix @ sp.diags(scale))
        return matrix * scale
    if sp.issparse(matrix):
        return sp.csr_matrix(matrix @ blockdiag_matrix(blocks))
    rows = matrix.shape[0]
    reshaped = matrix.reshape(rows, n_blocks, size)
    return np.einsum("rki,kij->rkj", reshaped, blocks).reshape(rows, n_blocks * size)


def left_blockdiag_transpose(blocks: np.ndarray, matrix: sp.spmatrix) -> sp.spmatrix:
    """``blockdiag(blocks)' @ matrix`` for a sparse ``matrix``."""
    if blocks.shape[1] == 1:
        return sp.csr_matrix(sp.diags(blocks[:, 0, 0]) @ matrix)
    return sp.csr_matrix(blockdiag_matrix(np.swapaxes(blocks, 1, 2)) @ matrix)


def dense_lower_solve_right(matrix: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``matrix @ factor^{-T}`` for a dense lower-triangular ``factor``."""
    return scipy.linalg.solve_triangular(factor, matrix.T, lower=True, check_finite=False).T


def as_dense(matrix: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Dense copy of a dense or sparse matrix."""
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
