"""The fill-in update ``D -= r^2 A diag(s^2) A'`` on a sparsity pattern fixed once.

In a crossed model of two scalar random-effects blocks (MovieLens'
``(1 | user) + (1 | item)``), eliminating the first factor leaves the
second's dense block to be updated by ``L_10 L_10'`` with ``L_10 = r A
diag(s)``: ``A`` the fixed cross-products of the two factors' levels, ``r``
the second block's ``theta`` and ``s_l = t_0 / L_00,l`` one number per
level of the first factor. Only ``r`` and ``s`` change between evaluations,
so the pattern of the product is analysed once here and each evaluation
updates numbers only (no symbolic phase, no sparse-to-dense conversion):

* **head** (heavy columns): their dense columns ``A_h`` are kept; each
  evaluation scales them and calls one BLAS ``dsyrk`` into ``D``'s lower
  triangle;
* **tail** (light columns): the lower triangle of ``A_t diag(s^2) A_t'``
  is ``P w`` for a sparse ``P`` built once (one row per entry of ``D``,
  one column per column of ``A_t``) and ``w_l = s_l^2``. ``P w`` is one
  CSR mat-vec accumulated straight into ``D`` (weights ``-r^2 w``).
  (Merging columns with equal scales -- users with equal counts -- was
  measured: it removed 8% of ``P``'s entries on MovieLens-1M and cost a
  sort, so it is not done.)
* **rest**: columns that are neither (when ``P`` would exceed its memory
  budget) go through scipy's sparse product per evaluation, as before.

The split is a cost model over the columns' counts ``c_l``: a dense column
costs ``n^2`` flops in ``dsyrk`` at :data:`DENSE_RATE`; a tail column
``c_l (c_l + 1) / 2`` entries of ``P`` (:data:`PAIR_EVAL` seconds each per
evaluation, :data:`PAIR_BUILD` once, amortised over
:data:`EXPECTED_EVALUATIONS`, :data:`PAIR_BYTES` bytes each).

Notation
--------
=============  ==============================================================
symbol         meaning
=============  ==============================================================
``D``          dense symmetric ``n x n`` block (C order), lower triangle used
``A``          sparse ``n x L`` cross-products (``A_10``), fixed
``r``          row scale (a scalar: the second block's ``theta``)
``s``          column scales, ``(L,)``
``c_l``        stored entries in column ``l`` of ``A``
``P``          ``n^2 x L_t`` CSR; row ``a n + b`` (``a >= b``) holds
               ``A[a, l] A[b, l]`` in column ``l``
=============  ==============================================================
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from . import _fill_kernel
from .dense import block_threads
from .fill import SPARSE_TO_DENSE_RATE, _syrk_lower
from .memory import memory_budget
from .pairs import accumulate_matvec

try:  # scipy's COO -> CSR kernel, into preallocated arrays
    from scipy.sparse._sparsetools import coo_tocsr as _coo_tocsr
except ImportError:  # pragma: no cover - private API moved
    _coo_tocsr = None

__all__ = ["FixedPatternFill", "split_columns"]

#: One-thread ``dsyrk`` speed, flop/s (3,706 x 727 in 0.23 s on this machine).
DENSE_RATE = 3.0e10
#: Seconds per stored entry of ``P`` per evaluation (one CSR mat-vec).
PAIR_EVAL = 2.0e-9
#: Seconds per generated pair to build ``P`` (generation and COO -> CSR).
PAIR_BUILD = 4.0e-8
#: Bytes per stored entry of ``P``: an int32 column and a float64 value, plus the
#: chunk being sorted (4 million pairs at a time) spread over the whole.
PAIR_BYTES = 16
#: Seconds per multiply-add of the compiled kernel (:mod:`._fill_kernel`): 0.8 ns
#: measured on MovieLens-1M with unsigned indices (values all 1; 1.15 ns with signed
#: ones); whole updates at 0.8 and 1.2 ns (77 and 132 dense columns) were within noise.
KERNEL_PAIR = 0.8e-9
#: Evaluations the build is amortised over.
EXPECTED_EVALUATIONS = 25
#: Most bytes ``P`` may take (and at most a quarter of the memory budget).
TAIL_BYTES = 2 * 2**30
_PAIRS_PER_CHUNK = 4_000_000


def split_columns(counts: np.ndarray, n_rows: int, max_pairs: float) -> np.ndarray:
    """Part of each column: 0 tail (fixed pattern), 1 head (dense), 2 rest (sparse product).

    Parameters
    ----------
    counts : ndarray of int, shape (L,)
        Stored entries per column.
    n_rows : int
        Order of the dense block.
    max_pairs : float
        Most pairs the tail may generate (its memory budget).
    """
    counts = np.asarray(counts, dtype=np.float64)
    pairs = counts * (counts + 1) / 2
    dense_seconds = n_rows * n_rows / DENSE_RATE
    tail_seconds = pairs * (PAIR_EVAL + PAIR_BUILD / EXPECTED_EVALUATIONS)
    part = np.where(tail_seconds <= dense_seconds, 0, 1)
    # Within the budget, the lightest tail columns first (most columns per byte).
    order = np.argsort(np.where(part == 0, counts, np.inf), kind="stable")
    over = np.cumsum(pairs[order]) > max_pairs
    part[order[over & (part[order] == 0)]] = 2
    # A rest column is cheaper in dsyrk than in scipy's product past the old split.
    sparse_seconds = counts * counts / (DENSE_RATE * SPARSE_TO_DENSE_RATE)
    part[(part == 2) & (sparse_seconds > dense_seconds)] = 1
    return part


class FixedPatternFill:
    """``D -= r^2 A diag(s^2) A'`` (lower triangle) with ``A``'s pattern analysed once.

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (n, L)
        ``A``; its values are fixed, only the scales change.
    max_pairs : float, optional
        Budget of tail pairs (default: :data:`TAIL_BYTES`, at most a quarter of the
        memory budget, less the row pointers, over :data:`PAIR_BYTES`).
    compiled : bool, optional
        Update the tail with the compiled kernel (:mod:`._fill_kernel`, numba)
        instead of ``P``: no build, no storage, all light columns in the tail.
        Default: when numba is installed.
    """

    def __init__(
        self,
        matrix: sp.spmatrix,
        max_pairs: float | None = None,
        compiled: bool | None = None,
    ) -> None:
        csc = sp.csc_matrix(matrix, dtype=np.float64, copy=True)
        csc.sum_duplicates()
        csc.eliminate_zeros()
        csc.sort_indices()
        n = csc.shape[0]
        self.n = n
        self.compiled = _fill_kernel.available() if compiled is None else bool(compiled)
        if self.compiled:
            self._init_compiled(csc)
            return
        if max_pairs is None:
            budget = memory_budget()
            tail_bytes = TAIL_BYTES if budget is None else min(TAIL_BYTES, budget / 4)
            max_pairs = max(tail_bytes - 4 * n * n, 0) / PAIR_BYTES  # less P's row pointers
        part = split_columns(np.diff(csc.indptr), n, max_pairs)
        self.head_columns = np.flatnonzero(part == 1)
        self.tail_columns = np.flatnonzero(part == 0)
        self.rest_columns = np.flatnonzero(part == 2)
        self.head = csc[:, self.head_columns].toarray(order="F")
        self._head_buffer = np.empty_like(self.head)
        self.rest = csc[:, self.rest_columns] if self.rest_columns.size else None
        self.tail = _build_pattern(csc[:, self.tail_columns])
        self._weights = np.empty(self.tail_columns.size)

    def _init_compiled(self, csc: sp.csc_matrix) -> None:
        counts = np.diff(csc.indptr).astype(np.float64)
        dense_seconds = self.n * self.n / DENSE_RATE
        head = counts * (counts + 1) / 2 * KERNEL_PAIR > dense_seconds
        self.head_columns = np.flatnonzero(head)
        self.tail_columns = np.flatnonzero(~head)
        self.rest_columns = np.zeros(0, dtype=np.int64)
        self.head = csc[:, self.head_columns].toarray(order="F")
        self._head_buffer = np.empty_like(self.head)
        self.rest = None
        tail = csc[:, self.tail_columns]
        tail.sort_indices()
        index = np.int32 if tail.nnz < 2**31 else np.int64
        indptr, indices = tail.indptr.astype(index), tail.indices.astype(index)
        structure = (*_fill_kernel.row_entries(indptr, indices, self.n), indptr, indices)
        self._structure = _fill_kernel.as_unsigned(structure)
        self._tail_data = None if np.all(tail.data == 1.0) else tail.data
        self._tail_pairs = int(np.sum(counts[~head] * (counts[~head] + 1) / 2))
        self.tail = None
        self._weights = np.empty(self.tail_columns.size)

    def fork(self) -> FixedPatternFill:
        """A copy sharing the patterns, with its own buffers."""
        new = copy.copy(self)
        new._head_buffer = np.empty_like(self.head)
        new._weights = np.empty_like(self._weights)
        return new

    @property
    def tail_nnz(self) -> int:
        """Stored entries of ``P`` (multiply-adds of the compiled kernel)."""
        return self._tail_pairs if self.tail is None else int(self.tail.nnz)

    def subtract(self, dense: np.ndarray, row_scale: float, column_scale: np.ndarray) -> None:
        """``dense -= r^2 A diag(s^2) A'`` in place, on the lower triangle.

        Parameters
        ----------
        dense : ndarray, shape (n, n)
            C-contiguous; its strict upper triangle is left unchanged.
        row_scale : float
            ``r``.
        column_scale : ndarray, shape (L,)
            ``s``.
        """
        if not dense.flags.c_contiguous:
            raise ValueError("the dense block must be C-contiguous")
        if self.head_columns.size:
            scale = row_scale * column_scale[self.head_columns]
            np.multiply(self.head, scale, out=self._head_buffer)
            _syrk_lower(dense, self._head_buffer)
        if self.compiled:
            weights = self._weights
            np.square(column_scale[self.tail_columns], out=weights)
            weights *= -(row_scale * row_scale)
            threads = block_threads(self.n)
            _fill_kernel.lower_update(self._structure, self._tail_data, weights, dense, threads)
        elif self.tail.nnz:
            weights = self._weights
            np.square(column_scale[self.tail_columns], out=weights)
            weights *= -(row_scale * row_scale)
            accumulate_matvec(self.tail, weights, dense.reshape(-1))
        if self.rest is not None:
            below = self.rest @ sp.diags(row_scale * column_scale[self.rest_columns])
            dense -= np.tril((below @ below.T).toarray())


def _build_pattern(tail: sp.csc_matrix) -> sp.csr_matrix:
    """``P``: row ``a n + b`` (``a >= b``), column ``l``, value ``A[a, l] A[b, l]``.

    The pairs are generated row by row of ``A`` (its entries sorted by row,
    then by column), a chunk of rows at a time, and each chunk is sorted into
    its rows of ``P`` by a counting sort (scipy's COO -> CSR kernel) written
    straight into the preallocated arrays: the size of ``P`` is known up
    front, ``sum_l c_l (c_l + 1) / 2``, and the peak beyond it is one chunk.
    Within a row of ``P`` the columns arrive in order, so ``P`` is canonical.
    """
    n, n_columns = tail.shape
    indptr = tail.indptr.astype(np.int64)
    counts = np.diff(indptr)
    total = int(np.sum(counts * (counts + 1) // 2))
    index_dtype = np.int32 if max(total, n * n) < 2**31 else np.int64
    rows = tail.indices.astype(index_dtype)
    by_row = np.argsort(rows, kind="stable").astype(index_dtype)  # then by column
    start = np.repeat(indptr[:-1], counts)[by_row].astype(index_dtype)
    partners = by_row - start + 1  # the column's entries up to this one
    row_of = rows[by_row]
    row_bounds = np.searchsorted(row_of, np.arange(n + 1))
    row_cost = np.concatenate([[0], np.cumsum(partners, dtype=np.int64)])[row_bounds]
    column_of = np.repeat(np.arange(n_columns, dtype=index_dtype), counts)[by_row]
    ones = bool(np.all(tail.data == 1.0))  # counts of unique pairs: every product is 1
    out_indptr = np.empty(n * n + 1, dtype=index_dtype)
    out_indices = np.empty(total, dtype=index_dtype)
    out_data = np.ones(total) if ones else np.empty(total)
    out_indptr[0] = 0
    first_row = 0
    while first_row < n:
        last_row = int(np.searchsorted(row_cost, row_cost[first_row] + _PAIRS_PER_CHUNK, "right"))
        last_row = min(max(last_row - 1, first_row + 1), n)
        chunk = slice(row_bounds[first_row], row_bounds[last_row])
        repeats = partners[chunk]
        # Partner k of an entry is entry start + k of its column.
        second = np.arange(int(repeats.sum()), dtype=index_dtype)
        offset = start[chunk] - (np.cumsum(repeats) - repeats).astype(index_dtype)
        second += np.repeat(offset, repeats)
        target = np.repeat((row_of[chunk] - index_dtype(first_row)) * index_dtype(n), repeats)
        target += rows[second]
        lo, hi = int(row_cost[first_row]), int(row_cost[last_row])
        values = out_data[lo:hi]
        if not ones:
            values = np.repeat(tail.data[by_row[chunk]], repeats) * tail.data[second]
        _counting_sort(
            (last_row - first_row) * n,
            n_columns,
            (target, np.repeat(column_of[chunk], repeats), values),
            (out_indptr[first_row * n : last_row * n + 1], out_indices[lo:hi], out_data[lo:hi]),
        )
        out_indptr[first_row * n + 1 : last_row * n + 1] += lo
        first_row = last_row
    matrix = sp.csr_matrix((n * n, n_columns), dtype=np.float64)
    matrix.indptr, matrix.indices, matrix.data = out_indptr, out_indices, out_data
    return matrix


def _counting_sort(n_rows: int, n_columns: int, coo, out) -> None:
    """COO ``(rows, columns, values)`` to CSR ``(indptr, indices, data)`` in the given arrays.

    The row counts of ``indptr`` are written from ``indptr[0]`` on, relative to the chunk.
    """
    target, column, values = coo
    indptr, indices, data = out
    if _coo_tocsr is not None:
        first = indptr[0]
        _coo_tocsr(n_rows, n_columns, target.size, target, column, values, indptr, indices, data)
        indptr[0] = first  # the kernel writes 0 there; the previous chunk's end belongs
        return
    piece = sp.coo_matrix((values, (target, column)), shape=(n_rows, n_columns)).tocsr()
    indptr[1:], indices[:], data[:] = piece.indptr[1:], piece.indices, piece.data
