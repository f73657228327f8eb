"""Cross-product blocks of ``[Z X y]`` formed in one pass over the rows.

The output of the design stage that the criterion reads: the in-memory build
forms them from its matrices (:func:`row_cross_products`), the chunked build
chunk by chunk (:mod:`.chunked`). After this step the engine never touches
the ``n`` rows again: every evaluation of the criterion works on these blocks
only. The blocks are sums over rows, so partial blocks from chunks of the
data (Dask partitions) add up to the blocks of the whole
(:meth:`CrossProducts.__add__`).

Notation
--------
=============  ===========================================================
symbol         meaning
=============  ===========================================================
``W``          diagonal matrix of prior weights
``Z_b``        ``n x l_b p_b`` indicator-times-covariate matrix of block b
``Xy``         ``n x (k + 1)`` matrix ``[X y]``
``A_bb``       ``Z_b' W Z_b``, block diagonal, stored ``(l_b, p_b, p_b)``
``A_ij``       ``Z_i' W Z_j`` for ``i > j``, sparse ``(l_i p_i) x (l_j p_j)``
``A_xy,b``     ``Xy' W Z_b``, dense ``(k + 1) x (l_b p_b)``
``A_xy,xy``    ``Xy' W Xy``
=============  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from .terms import RandomEffectsBlock

__all__ = ["BlockData", "CrossProducts", "cross_products", "row_cross_products"]


@dataclass(frozen=True)
class BlockData:
    """Row-level data of one block: codes, model matrix and number of levels."""

    codes: np.ndarray
    z: np.ndarray
    n_levels: int


@dataclass
class CrossProducts:
    """The blocks of ``[Z X y]' W [Z X y]`` and the counts the criterion needs."""

    diagonal: list[np.ndarray]
    off_diagonal: dict[tuple[int, int], sp.csr_matrix]
    xy_z: list[np.ndarray]
    xy_xy: np.ndarray
    n_obs: int
    sum_log_weights: float

    def __add__(self, other: CrossProducts) -> CrossProducts:
        keys = set(self.off_diagonal) | set(other.off_diagonal)
        off = {}
        for key in keys:
            if key in self.off_diagonal and key in other.off_diagonal:
                off[key] = sp.csr_matrix(self.off_diagonal[key] + other.off_diagonal[key])
            else:
                off[key] = self.off_diagonal.get(key, other.off_diagonal.get(key))
        return CrossProducts(
            [a + b for a, b in zip(self.diagonal, other.diagonal, strict=True)],
            off,
            [a + b for a, b in zip(self.xy_z, other.xy_z, strict=True)],
            self.xy_xy + other.xy_xy,
            self.n_obs + other.n_obs,
            self.sum_log_weights + other.sum_log_weights,
        )


def _grouped_sums(codes: np.ndarray, values: np.ndarray, n_levels: int) -> np.ndarray:
    return np.bincount(codes, weights=values, minlength=n_levels)


def _off_diagonal(
    blocks: list[BlockData], weights: np.ndarray | None
) -> dict[tuple[int, int], sp.csr_matrix]:
    """``A_ij = Z_i' W Z_j`` for ``i > j``, sparse, from the rows' level pairs."""
    off_diagonal = {}
    for i, block_i in enumerate(blocks):
        z_i = block_i.z if weights is None else block_i.z * weights[:, None]
        p_i = block_i.z.shape[1]
        for j in range(i):
            block_j = blocks[j]
            p_j = block_j.z.shape[1]
            rows = (block_i.codes[:, None, None] * p_i + np.arange(p_i)[None, :, None]).astype(
                np.int64
            )
            cols = (block_j.codes[:, None, None] * p_j + np.arange(p_j)[None, None, :]).astype(
                np.int64
            )
            values = z_i[:, :, None] * block_j.z[:, None, :]
            shape = (block_i.n_levels * p_i, block_j.n_levels * p_j)
            rows, cols = np.broadcast_arrays(rows, cols)
            matrix = sp.coo_matrix((values.ravel(), (rows.ravel(), cols.ravel())), shape=shape)
            off_diagonal[(i, j)] = matrix.tocsr()
    return off_diagonal


def cross_products(
    blocks: list[BlockData],
    xy: np.ndarray,
    weights: np.ndarray | None = None,
) -> CrossProducts:
    """Form every cross-product block in one pass.

    Parameters
    ----------
    blocks : list of BlockData
        In the engine's block order (most levels first).
    xy : ndarray, shape (n, k + 1)
        Fixed-effects matrix with the response as its last column (offset
        already subtracted).
    weights : ndarray, shape (n,), optional
        Prior weights (positive).

    Returns
    -------
    CrossProducts
    """
    n_obs = xy.shape[0]
    if weights is None:
        weighted_xy = xy
        sum_log_weights = 0.0
    else:
        weighted_xy = xy * weights[:, None]
        sum_log_weights = float(np.sum(np.log(weights)))
    diagonal = []
    xy_z = []
    for block in blocks:
        z_weighted = block.z if weights is None else block.z * weights[:, None]
        p = block.z.shape[1]
        gram = np.empty((block.n_levels, p, p))
        for row in range(p):
            for col in range(row + 1):
                sums = _grouped_sums(
                    block.codes, z_weighted[:, row] * block.z[:, col], block.n_levels
                )
                gram[:, row, col] = sums
                gram[:, col, row] = sums
        diagonal.append(gram)
        cross = np.empty((xy.shape[1], block.n_levels, p))
        for col in range(p):
            for xy_col in range(xy.shape[1]):
                cross[xy_col, :, col] = _grouped_sums(
                    block.codes, weighted_xy[:, xy_col] * block.z[:, col], block.n_levels
                )
        xy_z.append(cross.reshape(xy.shape[1], block.n_levels * p))
    off_diagonal = _off_diagonal(blocks, weights)
    xy_xy = weighted_xy.T @ xy
    return CrossProducts(diagonal, off_diagonal, xy_z, xy_xy, n_obs, sum_log_weights)


def row_cross_products(
    blocks: list[RandomEffectsBlock],
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> CrossProducts:
    """:func:`cross_products` of the engine's blocks and ``[X, y - offset]``.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
        In the engine's order (:func:`~mixedmodels.design.terms.assemble_blocks`).
    X : ndarray, shape (n, k)
    y : ndarray, shape (n,)
    weights, offset : ndarray, shape (n,), optional

    Returns
    -------
    CrossProducts
    """
    response = y if offset is None else y - offset
    return cross_products(
        [BlockData(block.factor.codes, block.z, block.n_levels) for block in blocks],
        np.column_stack([X, response]),
        weights,
    )
