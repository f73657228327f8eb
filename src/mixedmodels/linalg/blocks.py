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

Diagonal blocks of ``L`` are objects of one of two classes with the same
methods, so callers dispatch by type, never by shape: :class:`BlockDiagonalLower`
(``blockdiag``) and :class:`DenseLower` (``dense``). The closed-form ``2 x 2``
algebra of a block-diagonal factor (:func:`gram_2x2`, :func:`cholesky_2x2`)
is written here once. None of the functions loops over levels in Python.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = [
    "BlockDiagonalLower",
    "DenseLower",
    "LowerBlock",
    "blockdiag_cholesky",
    "blockdiag_inverse_lower",
    "blockdiag_matrix",
    "blockdiag_to_dense",
    "cholesky_2x2",
    "congruence",
    "gram_2x2",
    "right_blockdiag",
]


def blockdiag_matrix(blocks: np.ndarray) -> sp.bsr_matrix:
    """Sparse BSR matrix with ``blocks[k]`` as the k-th diagonal block."""
    n_blocks, rows, cols = blocks.shape
    return sp.bsr_matrix(
        (blocks, np.arange(n_blocks), np.arange(n_blocks + 1)),
        shape=(n_blocks * rows, n_blocks * cols),
    )


def blockdiag_to_dense(blocks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Dense matrix with ``blocks`` on its diagonal (written into ``out`` if given).

    Reusing ``out`` across evaluations saves a fresh allocation of a large
    block each time (its page faults cost 0.05 s per evaluation at order 3,706).
    """
    n_blocks, size, _ = blocks.shape
    if out is None:
        dense = np.zeros((n_blocks, size, n_blocks, size))
    else:
        dense = out.reshape(n_blocks, size, n_blocks, size)
        dense.fill(0.0)
    index = np.arange(n_blocks)
    dense[index, :, index, :] = blocks
    return dense.reshape(n_blocks * size, n_blocks * size)


def gram_2x2(
    a00: np.ndarray, a10: np.ndarray, a11: np.ndarray, t0: float, t1: float, t2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``M_l = T' A_l T + I`` per level for ``T = [[t0, 0], [t1, t2]]``, written out.

    ``A_l = [[a00, a10], [a10, a11]]``; returns ``(m00, m10, m11)``. Several times
    faster than batched ``einsum`` on ``2 x 2`` blocks (numpy call overhead).
    """
    a10t0 = a10 * t0
    m00 = a00 * (t0 * t0)
    m00 += a10t0 * (2.0 * t1)
    m00 += a11 * (t1 * t1)
    m00 += 1.0
    m10 = a10t0
    m10 += a11 * t1
    m10 *= t2
    m11 = a11 * (t2 * t2)
    m11 += 1.0
    return m00, m10, m11


def cholesky_2x2(
    m00: np.ndarray, m10: np.ndarray, m11: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closed-form lower Cholesky factor of each ``[[m00, m10], [m10, m11]]``.

    Returns ``(l00, l10, l11, l11**2)``; ``log det = log(m00 * l11**2)``.
    """
    l00 = np.sqrt(m00)
    l10 = m10 / l00
    l11sq = m11 - l10 * l10
    return l00, l10, np.sqrt(l11sq), l11sq


def blockdiag_cholesky(blocks: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of each positive-definite block."""
    if blocks.shape[1] == 1:
        return np.sqrt(blocks)
    if blocks.shape[1] == 2:
        # Closed form: a batched LAPACK call costs more than the arithmetic here.
        factor = np.zeros_like(blocks)
        l00, l10, l11, _ = cholesky_2x2(blocks[:, 0, 0], blocks[:, 1, 0], blocks[:, 1, 1])
        factor[:, 0, 0] = l00
        factor[:, 1, 0] = l10
        factor[:, 1, 1] = l11
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
    # Batched matmul: no einsum path search per call (tens of us on small blocks).
    return factor.T @ blocks @ factor


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


class LowerBlock:
    """A diagonal block ``L_jj`` of ``L``: the methods shared by both storage kinds."""

    def logdet(self) -> float:
        """``log |L_jj|^2``."""
        raise NotImplementedError

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``L_jj^{-1} rhs`` (``rhs`` 1-D or 2-D, rows matching ``L_jj``)."""
        raise NotImplementedError

    def solve_transpose(self, rhs: np.ndarray) -> np.ndarray:
        """``L_jj^{-T} rhs`` for a vector ``rhs``."""
        raise NotImplementedError

    def solve_right_transpose(self, matrix: np.ndarray | sp.spmatrix):
        """``matrix @ L_jj^{-T}`` (dense, or sparse for a block-diagonal ``L_jj``)."""
        raise NotImplementedError

    def to_dense(self) -> np.ndarray:
        """``L_jj`` as a dense matrix."""
        raise NotImplementedError


class BlockDiagonalLower(LowerBlock):
    """``L_jj`` block diagonal: one ``p x p`` lower factor per level, with its inverse.

    Parameters
    ----------
    factor : ndarray, shape (l, p, p)
    inverse : ndarray, shape (l, p, p), optional
        ``factor``'s blockwise inverse (computed when omitted).
    """

    def __init__(self, factor: np.ndarray, inverse: np.ndarray | None = None) -> None:
        self.factor = factor
        self.inverse = blockdiag_inverse_lower(factor) if inverse is None else inverse

    @classmethod
    def from_gram(cls, gram: np.ndarray, factor_t: np.ndarray) -> BlockDiagonalLower:
        """The factor of ``T' A_l T + I`` per level (``gram`` holds ``A_l``, ``(l, p, p)``)."""
        scaled = congruence(gram, factor_t)
        index = np.arange(factor_t.shape[0])
        scaled[:, index, index] += 1.0
        return cls(blockdiag_cholesky(scaled))

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.factor.shape

    def logdet(self) -> float:
        return 2.0 * float(np.sum(np.log(np.diagonal(self.factor, axis1=1, axis2=2))))

    def level_logdets(self) -> np.ndarray:
        """``log |L_l|^2`` per level."""
        return 2.0 * np.log(np.diagonal(self.factor, axis1=1, axis2=2)).sum(axis=1)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        levels, p, _ = self.factor.shape
        reshaped = rhs.reshape(levels, p, -1)
        return np.einsum("lij,ljc->lic", self.inverse, reshaped).reshape(rhs.shape)

    def solve_transpose(self, rhs: np.ndarray) -> np.ndarray:
        levels, p, _ = self.factor.shape
        return np.einsum("lji,lj->li", self.inverse, rhs.reshape(levels, p)).ravel()

    def solve_right_transpose(self, matrix):
        return right_blockdiag(matrix, np.swapaxes(self.inverse, 1, 2))

    def to_dense(self) -> np.ndarray:
        return blockdiag_to_dense(self.factor)


class DenseLower(LowerBlock):
    """``L_jj`` stored as one dense lower-triangular matrix (a block that fills in)."""

    def __init__(self, factor: np.ndarray) -> None:
        self.factor = factor

    @property
    def shape(self) -> tuple[int, int]:
        return self.factor.shape

    def logdet(self) -> float:
        return 2.0 * float(np.sum(np.log(np.diag(self.factor))))

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        return scipy.linalg.solve_triangular(self.factor, rhs, lower=True, check_finite=False)

    def solve_transpose(self, rhs: np.ndarray) -> np.ndarray:
        return scipy.linalg.solve_triangular(
            self.factor, rhs, lower=True, trans="T", check_finite=False
        )

    def solve_right_transpose(self, matrix):
        return dense_lower_solve_right(as_dense(matrix), self.factor)

    def to_dense(self) -> np.ndarray:
        return self.factor
