"""The Schur complement left by eliminating the first block, as one sparse mat-vec.

Eliminating the first random-effects block (uniform block diagonal) from the
PLS system leaves, for the remaining rows ``R`` (later blocks and ``[X y]``),

.. math::

    S = D' (A_{RR} - A_{R0} W A_{R0}') D \\;(+ I \\text{ on random rows}),

where ``W`` is block diagonal with one symmetric ``p0 x p0`` block per level of
the first factor. Both terms are linear in a short vector of weights: every
entry of the lower triangle of ``A_R0 W A_R0'`` is a fixed combination of
``W``'s entries, and a diagonal ``D`` only rescales those combinations by
``d_g1 d_g2`` for the scale groups of the two rows. So the whole lower triangle
of ``S`` is ``P w`` for a sparse ``P`` built once from the cross-products and a
weight vector ``w`` rebuilt per evaluation in ``O(l0)``. The sparsity pattern
never changes, so there is no symbolic phase per evaluation.

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``m``        rows of ``R``: random effects of later blocks, then ``k + 1``
``l0, p0``   levels and columns of the first block
``A_R0``     ``m x l0 p0`` cross-products of ``R`` with the first block
``A_RR``     ``m x m`` cross-products among ``R`` (lower triangle used)
``W_l``      ``T0 (T0' A_00,l T0 + I)^{-1} T0'``, packed lower, ``(l0, npack)``
``c(l)``     class of level ``l``: levels with equal ``A_00,l`` share ``W``
``g(r)``     scale group of row ``r``: one per (later block, column), and one
             for ``[X y]`` (scale 1)
``d_g``      diagonal entry of ``T`` for group ``g``
``P``        ``m^2 x (n_classes npack G^2 + G^2)`` sparse, CSR
===========  ===============================================================

Column ``((c(l) npack + s) G + g1) G + g2`` of ``P`` carries the products
``A_R0[r1, (l, a1)] A_R0[r2, (l, a2)]`` with ``s = pack(a1, a2)``,
``g(r1) = g1``, ``g(r2) = g2``, at row ``r1 m + r2`` (``r1 >= r2``); its weight
is ``-W_l[s] d_g1 d_g2``. The last ``G^2`` columns carry ``A_RR``'s lower
triangle with weight ``d_g1 d_g2``.
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

try:  # the kernel behind ``csr_matrix @ vector``, without its allocation
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - private API moved
    _csr_matvec = None

__all__ = ["PairOperator", "accumulate_matvec", "count_pairs", "pack_index"]


def accumulate_matvec(matrix: sp.csr_matrix, vector: np.ndarray, out: np.ndarray) -> None:
    """``out += matrix @ vector`` without a temporary of ``out``'s size.

    scipy's own kernel behind ``csr_matrix @ vector`` adds into its output;
    the public operator would allocate a second ``out``-sized array, which
    for a dense fill-in block is as large as the block itself.
    """
    if _csr_matvec is not None:
        _csr_matvec(
            matrix.shape[0],
            matrix.shape[1],
            matrix.indptr,
            matrix.indices,
            matrix.data,
            vector,
            out,
        )
    else:  # pragma: no cover - private API moved
        out += matrix @ vector


_PAIRS_PER_CHUNK = 4_000_000


def pack_index(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Index of ``(a1, a2)`` in the packed lower triangle (row-major, ``a1 >= a2``)."""
    high = np.maximum(first, second)
    return high * (high + 1) // 2 + np.minimum(first, second)


def count_pairs(matrix: sp.csc_matrix, p0: int) -> int:
    """Upper bound on the ordered pairs within levels: ``sum_l n_l^2``."""
    per_level = np.diff(matrix.indptr[::p0]).astype(np.int64)
    return int(np.sum(per_level * per_level))


class PairOperator:
    """Lower triangle of ``S`` (see the module notes) as ``P w``.

    Parameters
    ----------
    first : scipy.sparse matrix, shape (m, l0 * p0)
        ``A_R0``.
    p0 : int
        Columns of the first block.
    groups : ndarray of int, shape (m,)
        Scale group of each row, ``0 .. G - 1``.
    constant : tuple of ndarray
        ``(rows, cols, values)`` of ``A_RR``'s lower triangle (``rows >= cols``).
    identity_rows : int
        The first ``identity_rows`` rows get ``+1`` on the diagonal.
    level_class : ndarray of int, shape (l0,), optional
        Class of each first-block level. Levels with equal ``A_00,l`` have equal
        ``W_l`` at every ``theta``, so their columns are merged: with InstEval's
        2972 students in 86 classes (their rating counts) this halves ``P``.
    """

    def __init__(
        self,
        first: sp.spmatrix,
        p0: int,
        groups: np.ndarray,
        constant: tuple[np.ndarray, np.ndarray, np.ndarray],
        identity_rows: int,
        level_class: np.ndarray | None = None,
    ) -> None:
        csc = sp.csc_matrix(first)
        csc.sum_duplicates()  # canonical: sorted rows, no duplicates, within each column
        csc.eliminate_zeros()
        m, n_first = csc.shape
        self.m = m
        self.p0 = p0
        self.n_levels = n_first // p0
        if level_class is None:
            level_class = np.arange(self.n_levels)
        level_class = np.asarray(level_class, dtype=np.int64)
        self.n_classes = int(level_class.max()) + 1 if self.n_levels else 0
        self.n_pack = p0 * (p0 + 1) // 2
        self.groups = np.asarray(groups, dtype=np.int64)
        self.n_groups = int(self.groups.max()) + 1 if m else 1
        g2 = self.n_groups * self.n_groups
        self.n_pair_columns = self.n_classes * self.n_pack * g2
        # Levels in class order: for a fixed target row the column index then grows
        # with the generation order, so the (stable) COO -> CSR conversion yields
        # sorted rows with adjacent duplicates, and summing them needs no sort.
        order = np.argsort(level_class, kind="stable")
        columns = (order[:, None] * p0 + np.arange(p0)).ravel()
        csc = csc[:, columns]
        index_dtype = np.int32 if m * m < 2**31 else np.int64
        rows, cols, values = constant
        constant_t = (rows.astype(np.int64) * m + cols).astype(index_dtype)
        constant_c = self.n_pair_columns + self.groups[rows] * self.n_groups + self.groups[cols]
        pairs = self._pairs(csc, level_class[order], index_dtype)
        targets, cols, data = _collect(pairs, csc, p0, constant_t, constant_c, values, index_dtype)
        shape = (m * m, self.n_pair_columns + g2)
        self.matrix = sp.csr_matrix((data, (targets, cols)), shape=shape)
        del targets, cols, data
        self.matrix.sum_duplicates()
        self.weights = np.empty(shape[1])
        self.buffer = np.zeros(m * m)
        self.identity = np.arange(identity_rows, dtype=np.int64) * (m + 1)

    def fork(self) -> PairOperator:
        """A copy sharing the (constant) operator, with its own output buffers."""
        new = copy.copy(self)
        new.weights = self.weights.copy()
        new.buffer = self.buffer.copy()
        return new

    @property
    def nnz(self) -> int:
        """Stored entries of ``P``."""
        return int(self.matrix.nnz)

    def _pairs(self, csc: sp.csc_matrix, level_class: np.ndarray, index_dtype):
        """Yield ``(targets, columns, values)`` chunk by chunk of first-block levels."""
        p0, m, n_groups = self.p0, self.m, self.n_groups
        indptr = csc.indptr.astype(np.int64)
        rows = csc.indices.astype(index_dtype)
        data = csc.data
        column_of_entry = np.repeat(np.arange(csc.shape[1], dtype=np.int64), np.diff(indptr))
        level_of_entry = column_of_entry // p0
        sub_of_entry = column_of_entry % p0
        # Per entry: row as a target offset, its group, and its level's column base.
        row_target = rows * index_dtype(m)
        row_group = self.groups[rows].astype(index_dtype)
        column_base = (level_class[level_of_entry] * self.n_pack * n_groups).astype(index_dtype)
        level_start = indptr[::p0]
        per_level = np.diff(level_start)
        cost = np.cumsum(per_level * per_level)
        start_level = 0
        while start_level < self.n_levels:
            base = cost[start_level - 1] if start_level else 0
            stop_level = int(np.searchsorted(cost, base + _PAIRS_PER_CHUNK, side="right"))
            stop_level = min(max(stop_level, start_level + 1), self.n_levels)
            entries = np.arange(level_start[start_level], level_start[stop_level])
            start_level = stop_level
            if entries.size == 0:
                continue
            start = level_start[level_of_entry[entries]]
            if p0 == 1:
                # Rows are sorted within a column: pair each entry with itself and
                # the entries above it, which is exactly the lower triangle.
                count = entries - start + 1
            else:
                count = per_level[level_of_entry[entries]]
            first = np.repeat(entries, count)
            # second = start of the level + position within the entry's pairs
            second = np.arange(first.size, dtype=np.int64)
            second -= np.repeat(np.cumsum(count) - count - start, count)
            if p0 > 1:
                keep = rows[first] >= rows[second]
                first, second = first[keep], second[keep]
            cols = column_base[first]
            if p0 > 1:
                cols += (pack_index(sub_of_entry[first], sub_of_entry[second]) * n_groups).astype(
                    index_dtype
                )
            cols += row_group[first]
            cols *= index_dtype(n_groups)
            cols += row_group[second]
            targets = row_target[first]
            targets += rows[second]
            yield targets, cols, data[first] * data[second]

    def apply(self, packed_w: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Lower triangle of ``S`` as an ``m x m`` C-ordered array (upper part zero).

        Parameters
        ----------
        packed_w : ndarray, shape (n_classes, npack)
            ``W``'s packed lower triangles, one per class of levels.
        scales : ndarray, shape (G,)
            ``d_g``.

        Returns
        -------
        ndarray, shape (m, m)
            A view of an internal buffer, overwritten by the next call.
        """
        outer = np.multiply.outer(scales, scales).ravel()
        weights = self.weights
        pair_weights = weights[: self.n_pair_columns].reshape(-1, outer.size)
        np.multiply.outer(packed_w.ravel(), -outer, out=pair_weights)
        weights[self.n_pair_columns :] = outer
        buffer = self.buffer
        matrix = self.matrix
        buffer.fill(0.0)
        accumulate_matvec(matrix, weights, buffer)
        buffer[self.identity] += 1.0
        return buffer.reshape(self.m, self.m)


def _collect(pairs, csc, p0: int, constant_t, constant_c, values, index_dtype):
    """Concatenate the generated pair triplets and the constant part (targets, cols, data)."""
    if p0 == 1:
        # The count is exact (n_l (n_l + 1) / 2 per level): fill preallocated
        # arrays instead of concatenating pieces, which would double the peak.
        per_level = np.diff(csc.indptr).astype(np.int64)
        size = int(np.sum(per_level * (per_level + 1) // 2)) + len(constant_t)
        targets = np.empty(size, dtype=index_dtype)
        cols = np.empty(size, dtype=index_dtype)
        data = np.empty(size)
        position = 0
        for piece_t, piece_c, piece_v in pairs:
            stop = position + len(piece_t)
            targets[position:stop], cols[position:stop], data[position:stop] = (
                piece_t,
                piece_c,
                piece_v,
            )
            position = stop
        targets[position:] = constant_t
        cols[position:] = constant_c
        data[position:] = values
        return targets, cols, data
    pieces = list(pairs)
    targets = np.concatenate([piece[0] for piece in pieces] + [constant_t])
    cols = np.concatenate([piece[1] for piece in pieces] + [constant_c.astype(index_dtype)])
    data = np.concatenate([piece[2] for piece in pieces] + [np.asarray(values, float)])
    return targets, cols, data
