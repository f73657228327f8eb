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

__all__ = [
    "BlockData",
    "CrossProducts",
    "PartialCrossProducts",
    "cross_products",
    "partial_cross_products",
    "row_cross_products",
]


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


#: Rows from which level sums go through a sparse indicator (below: ``np.bincount``,
#: which has no set-up cost; the two give identical sums).
INDICATOR_ROWS = 20_000
#: Entries ``l_i p_i x l_j p_j`` up to which ``A_ij`` is summed into a dense array
#: by one ``np.bincount`` per column pair: scipy.sparse's COO construction and
#: conversion cost more there (0.1-0.25 ms for a small split plot's ``A_10``).
DENSE_ENTRIES = 2**17
#: Levels x rows up to which level sums are one product with a dense indicator:
#: cheaper than a ``np.bincount`` per column only when the indicator is tiny
#: (measured: Alfalfa's 18 x 72 gains, dietox's 72 x 861 and Sitka's 79 x 395 lose).
DENSE_INDICATOR = 2**11


class _LevelSums:
    """Per-level sums of weighted rows, ``sum_{r in level l} w_r M[r, :]``, for one factor.

    For large ``n`` the ``l x n`` indicator matrix (a 1 at ``(codes[r], r)``,
    ``Z'`` of a random intercept) is built once as CSC, which needs no
    sorting (one entry per column); its product with ``M`` is one scatter-add
    pass over the rows for all columns of ``M`` at once, and replacing its
    ``data`` by the row weights gives weighted sums without an ``n x m``
    temporary. That is about twice as fast as one ``np.bincount`` per
    column on million-row chunks, but its set-up costs more than a small
    model's whole sums, so small ``n`` uses ``np.bincount``. Both accumulate
    each level's sum in row order. When ``l x n`` is at most
    :data:`DENSE_INDICATOR` the indicator is dense and the sums are one matrix
    product for all columns (a small model's dozen ``np.bincount`` calls cost
    more).
    """

    def __init__(self, codes: np.ndarray, n_levels: int) -> None:
        self.codes, self.n_levels = codes, n_levels
        self.indicator: sp.csc_matrix | None = None
        self.dense: np.ndarray | None = None
        n_rows = codes.size
        if n_rows * n_levels <= DENSE_INDICATOR:
            self.dense = np.zeros((n_levels, n_rows))
            self.dense[codes, np.arange(n_rows)] = 1.0
        elif n_rows >= INDICATOR_ROWS:
            index_dtype = np.int32 if max(n_rows, n_levels) < 2**31 - 1 else np.int64
            self.indicator = sp.csc_matrix(
                (
                    np.ones(n_rows),
                    codes.astype(index_dtype),
                    np.arange(n_rows + 1, dtype=index_dtype),
                ),
                shape=(n_levels, n_rows),
            )

    def into(self, out: np.ndarray, row_weights: np.ndarray, matrix: np.ndarray) -> None:
        """Write the ``(l, m)`` level sums of ``row_weights[:, None] * matrix`` into ``out``."""
        if self.dense is not None:
            out[...] = self.dense @ (row_weights[:, None] * matrix)
            return
        if self.indicator is None:
            for j in range(matrix.shape[1]):
                out[:, j] = np.bincount(
                    self.codes, weights=row_weights * matrix[:, j], minlength=self.n_levels
                )
            return
        self.indicator.data = np.ascontiguousarray(row_weights, dtype=float)
        out[...] = self.indicator @ matrix


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
            if block_i.n_levels * p_i * block_j.n_levels * p_j <= DENSE_ENTRIES:
                off_diagonal[(i, j)] = _small_off_diagonal(block_i, z_i, block_j)
                continue
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


def _small_off_diagonal(block_i: BlockData, z_i: np.ndarray, block_j: BlockData) -> sp.csr_matrix:
    """``A_ij`` of a small pair of blocks: sums per level pair by ``np.bincount``.

    The pattern is that of the COO construction: every ``p_i x p_j`` block of a
    level pair some row has, zeros included.
    """
    l_i, l_j = block_i.n_levels, block_j.n_levels
    p_i, p_j = z_i.shape[1], block_j.z.shape[1]
    pair = block_i.codes.astype(np.int64) * l_j + block_j.codes
    present = np.bincount(pair, minlength=l_i * l_j).reshape(l_i, 1, l_j, 1) > 0
    values = np.empty((l_i, p_i, l_j, p_j))
    for a in range(p_i):
        for b in range(p_j):
            sums = np.bincount(pair, weights=z_i[:, a] * block_j.z[:, b], minlength=l_i * l_j)
            values[:, a, :, b] = sums.reshape(l_i, l_j)
    shape = (l_i * p_i, l_j * p_j)
    rows, cols = np.nonzero(np.broadcast_to(present, values.shape).reshape(shape))
    indptr = np.zeros(shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    data = values.reshape(shape)[rows, cols]
    return sp.csr_matrix((data, cols.astype(np.int32), indptr), shape=shape)


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
    k1 = xy.shape[1]
    xy_rows = np.ascontiguousarray(weighted_xy, dtype=float)
    for block in blocks:
        z_weighted = block.z if weights is None else block.z * weights[:, None]
        p = block.z.shape[1]
        gram = np.empty((block.n_levels, p, p))
        cross = np.empty((k1, block.n_levels, p))
        level_sums = _LevelSums(block.codes, block.n_levels)
        # Rows of z and [X y] as C-ordered matrices, columns of Wz contiguous:
        # the layouts the grouped products read without copying.
        z_rows = np.ascontiguousarray(block.z, dtype=float)
        z_columns = np.asfortranarray(z_weighted, dtype=float)
        plain_columns = z_columns if weights is None else np.asfortranarray(block.z, dtype=float)
        for col in range(p):
            # Column col of every level's z'Wz and z'W[X y]: one grouped pass each.
            level_sums.into(gram[:, :, col], z_columns[:, col], z_rows)
            level_sums.into(cross[:, :, col].T, plain_columns[:, col], xy_rows)
        for col in range(p):
            for row in range(col + 1, p):
                gram[:, col, row] = gram[:, row, col]  # exactly symmetric
        diagonal.append(gram)
        xy_z.append(cross.reshape(k1, block.n_levels * p))
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


# ---------------------------------------------------------------------- sparse in the levels
def _coalesce(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and the sums of their values (a segment sum)."""
    if keys.size == 0:
        return keys.astype(np.int64), values.astype(float)
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse.ravel(), weights=values, minlength=unique.size)


@dataclass
class PartialCrossProducts:
    """Cross-products of some rows, held only for the levels those rows touch.

    A chunk (a Dask partition) touching ``t_b`` of the ``l_b`` levels of block
    ``b`` stores ``t_b`` diagonal blocks and ``t_b p_b`` columns of ``A_xy,b``,
    not ``l_b``; ``A_ij`` is kept as coordinate entries. So a partial's size
    follows its rows, not the total number of levels, and partials combine by
    segment sums over the union of their levels (:meth:`__add__`), or by adding
    into a partial over every level (:meth:`add_into`, the in-memory chunked
    pass). :meth:`to_dense` gives the :class:`CrossProducts` of the whole.

    Attributes
    ----------
    n_levels : list of int
        Levels of each block (the plan's superset).
    levels : list of ndarray
        Per block, the sorted level codes present.
    counts : list of ndarray
        Per block, rows per present level.
    diagonal : list of ndarray
        Per block, ``(t_b, p_b, p_b)`` blocks of ``A_bb`` for the present levels.
    xy_z : list of ndarray
        Per block, ``(k + 1, t_b, p_b)`` columns of ``A_xy,b``.
    off_diagonal : dict
        ``(i, j)`` -> ``(keys, values)``: entries of ``A_ij`` at
        ``keys = row * (l_j p_j) + col`` (whole-matrix coordinates), sorted and
        distinct.
    xy_xy, n_obs, sum_log_weights
        As :class:`CrossProducts`.
    """

    n_levels: list[int]
    levels: list[np.ndarray]
    counts: list[np.ndarray]
    diagonal: list[np.ndarray]
    xy_z: list[np.ndarray]
    off_diagonal: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]
    xy_xy: np.ndarray
    n_obs: int
    sum_log_weights: float

    @classmethod
    def zeros(cls, n_levels: list[int], widths: list[int], k1: int) -> PartialCrossProducts:
        """A partial over every level, all zero (an accumulator for :meth:`add_into`)."""
        return cls(
            list(n_levels),
            [np.arange(n, dtype=np.int64) for n in n_levels],
            [np.zeros(n, dtype=np.int64) for n in n_levels],
            [np.zeros((n, p, p)) for n, p in zip(n_levels, widths, strict=True)],
            [np.zeros((k1, n, p)) for n, p in zip(n_levels, widths, strict=True)],
            {},
            np.zeros((k1, k1)),
            0,
            0.0,
        )

    def nbytes(self) -> int:
        """Bytes held by the arrays (what a Dask worker keeps and sends)."""
        arrays = [*self.levels, *self.counts, *self.diagonal, *self.xy_z, self.xy_xy]
        arrays += [array for pair in self.off_diagonal.values() for array in pair]
        return int(sum(array.nbytes for array in arrays))

    def __add__(self, other: PartialCrossProducts) -> PartialCrossProducts:
        levels, counts, diagonal, xy_z = [], [], [], []
        for b in range(len(self.levels)):
            union = np.union1d(self.levels[b], other.levels[b])
            mine = np.searchsorted(union, self.levels[b])
            theirs = np.searchsorted(union, other.levels[b])
            for target, a, c in (
                (counts, self.counts[b], other.counts[b]),
                (diagonal, self.diagonal[b], other.diagonal[b]),
            ):
                total = np.zeros((union.size, *a.shape[1:]), dtype=a.dtype)
                total[mine] += a  # positions are distinct within one partial
                total[theirs] += c
                target.append(total)
            total = np.zeros((self.xy_z[b].shape[0], union.size, self.xy_z[b].shape[2]))
            total[:, mine] += self.xy_z[b]
            total[:, theirs] += other.xy_z[b]
            xy_z.append(total)
            levels.append(union)
        off = {}
        for key in set(self.off_diagonal) | set(other.off_diagonal):
            pairs = [p.off_diagonal[key] for p in (self, other) if key in p.off_diagonal]
            off[key] = _coalesce(
                np.concatenate([k for k, _ in pairs]), np.concatenate([v for _, v in pairs])
            )
        return PartialCrossProducts(
            self.n_levels,
            levels,
            counts,
            diagonal,
            xy_z,
            off,
            self.xy_xy + other.xy_xy,
            self.n_obs + other.n_obs,
            self.sum_log_weights + other.sum_log_weights,
        )

    def add_into(self, total: PartialCrossProducts, pending: dict | None = None) -> None:
        """Add this partial into ``total``, a partial over every level (in place).

        Off-diagonal entries are appended to ``pending`` (``(i, j)`` -> list of
        ``(keys, values)``) when given, to be coalesced once at the end
        (:meth:`with_pending`); else coalesced now.
        """
        for b, levels in enumerate(self.levels):
            if levels.size == total.levels[b].size:  # every level: no scatter needed
                levels = slice(None)
            total.counts[b][levels] += self.counts[b]
            total.diagonal[b][levels] += self.diagonal[b]
            total.xy_z[b][:, levels] += self.xy_z[b]
        for key, pair in self.off_diagonal.items():
            if pending is not None:
                pending.setdefault(key, []).append(pair)
            else:
                old = total.off_diagonal.get(key)
                pairs = [pair] if old is None else [old, pair]
                total.off_diagonal[key] = _coalesce(
                    np.concatenate([k for k, _ in pairs]), np.concatenate([v for _, v in pairs])
                )
        total.xy_xy += self.xy_xy
        total.n_obs += self.n_obs
        total.sum_log_weights += self.sum_log_weights

    def with_pending(self, pending: dict) -> PartialCrossProducts:
        """This partial with the off-diagonal entries collected by :meth:`add_into`."""
        for key, pairs in pending.items():
            old = self.off_diagonal.get(key)
            pairs = pairs if old is None else [old, *pairs]
            self.off_diagonal[key] = _coalesce(
                np.concatenate([k for k, _ in pairs]), np.concatenate([v for _, v in pairs])
            )
        return self

    def to_dense(self) -> tuple[CrossProducts, list[np.ndarray]]:
        """The :class:`CrossProducts` over every level, and the rows per level of each block."""
        diagonal, xy_z, counts = [], [], []
        widths = [gram.shape[1] for gram in self.diagonal]
        k1 = self.xy_xy.shape[0]
        for b, (n, p) in enumerate(zip(self.n_levels, widths, strict=True)):
            full = self.levels[b].size == n  # sorted distinct codes below n: every level
            if full:
                gram, cross, count = self.diagonal[b], self.xy_z[b], self.counts[b]
            else:
                gram, cross = np.zeros((n, p, p)), np.zeros((k1, n, p))
                count = np.zeros(n, dtype=np.int64)
                gram[self.levels[b]] = self.diagonal[b]
                cross[:, self.levels[b]] = self.xy_z[b]
                count[self.levels[b]] = self.counts[b]
            diagonal.append(gram)
            xy_z.append(cross.reshape(k1, n * p))
            counts.append(count)
        off = {}
        for (i, j), (keys, values) in self.off_diagonal.items():
            n_cols = self.n_levels[j] * widths[j]
            shape = (self.n_levels[i] * widths[i], n_cols)
            off[(i, j)] = sp.csr_matrix((values, (keys // n_cols, keys % n_cols)), shape=shape)
        dense = CrossProducts(diagonal, off, xy_z, self.xy_xy, self.n_obs, self.sum_log_weights)
        return dense, counts


def _local_levels(codes: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels present (sorted), each row's position among them, and rows per present level.

    By counting (``O(n + l)``) when the levels are not many more than the rows,
    else by sorting (``O(n log n)``), so a chunk never pays for all levels twice.
    """
    if n_levels <= 4 * codes.size:
        count = np.bincount(codes, minlength=n_levels).astype(np.int64)
        present = np.flatnonzero(count)
        if present.size == n_levels:
            return present, codes, count
        position = np.cumsum(count > 0) - 1
        return present, position[codes], count[present]
    present, local = np.unique(codes, return_inverse=True)
    local = local.ravel()
    return present.astype(np.int64), local, np.bincount(local, minlength=present.size)


def partial_cross_products(
    blocks: list[BlockData], xy: np.ndarray, weights: np.ndarray | None = None
) -> PartialCrossProducts:
    """:func:`cross_products` of some rows, held for the levels they touch only.

    Parameters
    ----------
    blocks : list of BlockData
        Codes against the whole set of levels (``n_levels``).
    xy, weights
        As :func:`cross_products`.
    """
    local_blocks, levels, counts = [], [], []
    for block in blocks:
        present, local, count = _local_levels(block.codes, block.n_levels)
        levels.append(present)
        counts.append(count)
        local_blocks.append(BlockData(local, block.z, present.size))
    local_cross = cross_products(local_blocks, xy, weights)
    k1 = xy.shape[1]
    off = {}
    for (i, j), matrix in local_cross.off_diagonal.items():
        coo = matrix.tocoo()
        p_i, p_j = blocks[i].z.shape[1], blocks[j].z.shape[1]
        rows = levels[i][coo.row // p_i] * p_i + coo.row % p_i
        cols = levels[j][coo.col // p_j] * p_j + coo.col % p_j
        keys = rows * (blocks[j].n_levels * p_j) + cols
        order = np.argsort(keys)
        off[(i, j)] = (keys[order], coo.data[order])
    return PartialCrossProducts(
        [block.n_levels for block in blocks],
        levels,
        counts,
        local_cross.diagonal,
        [
            cross.reshape(k1, len(present), -1)
            for cross, present in zip(local_cross.xy_z, levels, strict=True)
        ],
        off,
        local_cross.xy_xy,
        local_cross.n_obs,
        local_cross.sum_log_weights,
    )
