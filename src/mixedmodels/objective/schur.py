"""Factorisation for several grouping factors: eliminate the first, factor the rest densely.

The first block (most levels) is uniform block diagonal and is eliminated in
closed form, level by level. What remains -- the later blocks and ``[X y]`` --
is one dense symmetric matrix ``S`` of order ``m = q_R + k + 1``, assembled by a
single sparse mat-vec (:class:`~mixedmodels.linalg.pairs.PairOperator`) and
factored by one LAPACK ``dpotrf``. The last ``k + 1`` rows of that factor hold
``L_X``, ``c_X`` and ``sqrt(r^2)``, so one call yields the whole criterion.

This is the structure of crossed designs (InstEval, Penicillin, the synthetic
``(1|f1) + (1|f2)`` case), where the later blocks fill in anyway; the choice
between this and the general blocked factor is made in
:mod:`mixedmodels.objective.pls`.

Notation
--------
=============  =============================================================
symbol         meaning
=============  =============================================================
``l0, p0``     levels and columns of the first block
``c``          classes of first-block levels with equal ``A_00,l``
``T_j``        ``p_j x p_j`` relative covariance factor of block ``j``
``M_l``        ``T0' A_00,l T0 + I``, per level of the first block
``W_l``        ``T0 M_l^{-1} T0'``, packed lower (``npack = p0 (p0+1)/2``)
``q_R``        random effects in blocks ``1 .. K-1``
``m``          ``q_R + k + 1``
``S``          ``D'(A_RR - A_R0 W A_R0')D + I_{q_R}``, ``D = diag(Lambda_j, I)``
``L_R``        lower Cholesky factor of ``S`` (C order, in place)
=============  =============================================================

``log|L_Z|^2 = sum_l log det M_l + 2 sum_{r < q_R} log L_R[r, r]``;
``L_X = L_R[q_R:q_R+k, q_R:q_R+k]``, ``c_X = L_R[m-1, q_R:q_R+k]``,
``r^2 = L_R[m-1, m-1]^2``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg.lapack as lapack
import scipy.sparse as sp

from ..design.crossprod import CrossProducts
from ..design.terms import RandomEffectsBlock
from ..linalg.blocks import (
    BlockDiagonalLower,
    DenseLower,
    LowerBlock,
    gram_2x2,
    left_blockdiag_transpose,
    right_blockdiag,
)
from ..linalg.densepairs import DensePairOperator, dense_pairs_suit
from ..linalg.memory import check_dense_block
from ..linalg.pairs import PairOperator, count_pairs
from .factorization import BlocksOfL, Factorization

__all__ = [
    "EliminatedFactor",
    "eliminated_pair_count",
    "first_block_dense",
    "first_block_rows",
    "scale_group_count",
]


def first_block_rows(blocks: list[RandomEffectsBlock], cross: CrossProducts) -> sp.csc_matrix:
    """``A_R0``: later blocks' cross-products with the first, then ``[X y]``'s (CSC)."""
    rows, cols, values = [], [], []
    offset = 0
    for j in range(1, len(blocks)):
        coo = cross.off_diagonal[(j, 0)].tocoo()
        rows.append(coo.row.astype(np.int64) + offset)
        cols.append(coo.col.astype(np.int64))
        values.append(coo.data)
        offset += coo.shape[0]
    xy = cross.xy_z[0]
    r, c = np.nonzero(xy)
    rows.append(r + offset)
    cols.append(c)
    values.append(xy[r, c])
    shape = (offset + xy.shape[0], xy.shape[1])
    return sp.csc_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )


def first_block_dense(blocks: list[RandomEffectsBlock], cross: CrossProducts) -> np.ndarray:
    """``A_R0`` as a dense array (as :func:`first_block_rows`, for small systems)."""
    later = [cross.off_diagonal[(j, 0)] for j in range(1, len(blocks))]
    n_later = sum(matrix.shape[0] for matrix in later)
    xy = cross.xy_z[0]
    dense = np.empty((n_later + xy.shape[0], xy.shape[1]))
    offset = 0
    for matrix in later:
        dense[offset : offset + matrix.shape[0]] = matrix.toarray()
        offset += matrix.shape[0]
    dense[offset:] = xy
    return dense


def eliminated_pair_count(first: sp.csc_matrix, p0: int) -> int:
    """Bound on the stored entries of the eliminated path's ``P`` (for the choice of path)."""
    return count_pairs(first, p0)


def scale_group_count(blocks: list[RandomEffectsBlock]) -> int:
    """Scale groups ``G`` of the eliminated path's operator: one per (later block,
    column) when every later block has a diagonal ``T``, plus one for ``[X y]``."""
    rest = blocks[1:]
    if all(block.is_diagonal for block in rest):
        return 1 + sum(block.n_columns for block in rest)
    return 1


#: Order of the dense remainder up to which its pivots' logs are summed in plain floats.
_FEW_PIVOTS = 64


class EliminatedFactor(Factorization):
    """First block eliminated in closed form; the rest factored as one dense matrix.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
        At least two blocks, most levels first.
    cross : CrossProducts
    first : scipy.sparse.csc_matrix, optional
        :func:`first_block_rows`, if already built.
    dense : bool, optional
        Hold the Schur complement's operator densely
        (:class:`~mixedmodels.linalg.densepairs.DensePairOperator`) rather than
        as sparse pairs (:class:`~mixedmodels.linalg.pairs.PairOperator`); by
        default dense when :func:`~mixedmodels.linalg.densepairs.dense_pairs_suit`
        says so and no ``first`` is given. Both give the same ``S``.
    """

    kind = "eliminated"

    def __init__(
        self,
        blocks: list[RandomEffectsBlock],
        cross: CrossProducts,
        first: sp.csc_matrix | None = None,
        dense: bool | None = None,
    ) -> None:
        self.blocks = blocks
        self.cross = cross
        level_class = self._first_block_classes(blocks[0], cross)
        rest = blocks[1:]
        sizes = [block.n_random for block in rest]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.q_rest = int(self.offsets[-1])
        self.k = cross.xy_xy.shape[0] - 1
        self.m = self.q_rest + self.k + 1
        # S and its factor (in place), plus the pair operator's own output.
        check_dense_block(
            " and ".join(block.factor.name for block in rest),
            sum(block.n_levels for block in rest),
            self.m,
            copies=2,
        )
        groups = self._scale_groups(rest)
        identity_rows = 0 if self.posthoc else self.q_rest
        if dense is None:
            dense = first is None and dense_pairs_suit(
                blocks[0].n_levels, self.p0, self.m, len(self._scales)
            )
        self.operator: PairOperator | DensePairOperator
        if dense:
            self.operator = DensePairOperator(
                first_block_dense(blocks, cross),
                self.p0,
                groups,
                self._constant_dense(),
                identity_rows,
                level_class.ravel(),
            )
        else:
            self.operator = PairOperator(
                first_block_rows(blocks, cross) if first is None else first,
                self.p0,
                groups,
                self._constant_part(),
                identity_rows=identity_rows,
                level_class=level_class.ravel(),
            )
        self.logdet = 0.0
        self.info = 0
        self.factor = np.zeros((self.m, self.m))

    def _first_block_classes(self, head: RandomEffectsBlock, cross: CrossProducts) -> np.ndarray:
        """The first block's distinct ``A_00,l`` (levels with equal ones share ``M_l`` and
        ``W_l``: work per distinct block); returns each level's class."""
        self.p0 = head.n_columns
        per_level = cross.diagonal[0].reshape(head.n_levels, -1)
        if (per_level == per_level[0]).all():  # one class (a balanced design): no sort
            unique, counts = per_level[:1], np.array([head.n_levels])
            level_class = np.zeros(head.n_levels, dtype=np.int64)
        elif self.p0 == 1:  # the same classes, without numpy's row-wise unique (0.1 ms)
            unique, level_class, counts = np.unique(
                per_level[:, 0], return_inverse=True, return_counts=True
            )
        else:
            unique, level_class, counts = np.unique(
                per_level, axis=0, return_inverse=True, return_counts=True
            )
        gram = unique.reshape(-1, self.p0, self.p0)
        self.gram0 = gram
        self.multiplicity = counts.astype(float)
        self._one_scalar_class = self.p0 == 1 and len(counts) == 1
        if self._one_scalar_class:
            self._a_single = float(gram[0, 0, 0])
            self._count_single = float(counts[0])
            self._packed_single = np.zeros((1, 1))
        if self.p0 == 1:
            self.a = np.ascontiguousarray(gram[:, 0, 0])
        elif self.p0 == 2:
            self.a00 = np.ascontiguousarray(gram[:, 0, 0])
            self.a10 = np.ascontiguousarray(gram[:, 1, 0])
            self.a11 = np.ascontiguousarray(gram[:, 1, 1])
        return level_class

    def _scale_groups(self, rest: list[RandomEffectsBlock]) -> np.ndarray:
        """Scale group of each row of ``S``: (block, column) for later blocks with
        diagonal ``T``, then one for ``[X y]``."""
        self.posthoc = not all(block.is_diagonal for block in rest)
        groups = np.zeros(self.m, dtype=np.int64)
        self._scale_source: list[tuple[int, int]] = []
        if not self.posthoc:
            for j, block in enumerate(rest):
                start, stop = self.offsets[j], self.offsets[j + 1]
                base = len(self._scale_source)
                groups[start:stop] = base + np.arange(stop - start) % block.n_columns
                self._scale_source.extend((j + 1, c) for c in range(block.n_columns))
        groups[self.q_rest :] = len(self._scale_source)
        self._scales = np.ones(len(self._scale_source) + 1)
        return groups

    def _constant_part(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lower triangle of ``A_RR`` as ``(rows, cols, values)``."""
        cross, offsets, q = self.cross, self.offsets, self.q_rest
        rows, cols, values = [], [], []
        for j in range(1, len(self.blocks)):
            start = offsets[j - 1]
            gram = cross.diagonal[j]
            levels, p, _ = gram.shape
            r, c = np.tril_indices(p)
            base = start + np.arange(levels)[:, None] * p
            rows.append((base + r).ravel())
            cols.append((base + c).ravel())
            values.append(gram[:, r, c].ravel())
            for i in range(j + 1, len(self.blocks)):
                coo = cross.off_diagonal[(i, j)].tocoo()
                rows.append(offsets[i - 1] + coo.row.astype(np.int64))
                cols.append(start + coo.col.astype(np.int64))
                values.append(coo.data)
            xy = cross.xy_z[j]
            r, c = np.nonzero(xy)
            rows.append(q + r)
            cols.append(start + c)
            values.append(xy[r, c])
        r, c = np.tril_indices(self.k + 1)
        rows.append(q + r)
        cols.append(q + c)
        values.append(cross.xy_xy[r, c])
        return (
            np.concatenate(rows).astype(np.int64),
            np.concatenate(cols).astype(np.int64),
            np.concatenate(values).astype(float),
        )

    def _constant_dense(self) -> np.ndarray:
        """``A_RR`` as a dense ``m x m`` array (its lower triangle is what is read)."""
        cross, offsets, q = self.cross, self.offsets, self.q_rest
        dense = np.zeros((self.m, self.m))
        for j in range(1, len(self.blocks)):
            start, stop = offsets[j - 1], offsets[j]
            gram = cross.diagonal[j]
            levels, p, _ = gram.shape
            base = start + np.arange(levels)[:, None, None] * p
            rows = base + np.arange(p)[None, :, None]
            cols = base + np.arange(p)[None, None, :]
            dense[rows, cols] = gram
            for i in range(j + 1, len(self.blocks)):
                below = cross.off_diagonal[(i, j)].toarray()
                dense[offsets[i - 1] : offsets[i], start:stop] = below
            dense[q:, start:stop] = cross.xy_z[j]
        dense[q:, q:] = cross.xy_xy
        return dense

    # ------------------------------------------------------------------ evaluation
    def _first_block(self, factor_t: np.ndarray) -> np.ndarray:
        """Set ``logdet`` of the first block and return the packed ``W``."""
        if self._one_scalar_class:
            # One class of a scalar block (a balanced design): plain floats, since
            # each numpy call on a one-element array costs more than its arithmetic.
            t2 = float(factor_t[0, 0]) ** 2
            m = self._a_single * t2 + 1.0
            self.logdet = self._count_single * math.log(m)
            packed = self._packed_single
            packed[0, 0] = t2 / m
            return packed
        if self.p0 == 1:
            t2 = factor_t[0, 0] ** 2
            m = self.a * t2
            m += 1.0
            self.logdet = float(self.multiplicity @ np.log(m))
            return (t2 / m)[:, None]
        if self.p0 == 2:
            t0, t1, t2 = factor_t[0, 0], factor_t[1, 0], factor_t[1, 1]
            m00, m10, m11 = gram_2x2(self.a00, self.a10, self.a11, t0, t1, t2)
            det = m00 * m11 - m10 * m10
            self.logdet = float(self.multiplicity @ np.log(det))
            i00, i10, i11 = m11 / det, -m10 / det, m00 / det
            packed = np.empty((len(det), 3))
            packed[:, 0] = (t0 * t0) * i00
            packed[:, 1] = t0 * (t1 * i00 + t2 * i10)
            packed[:, 2] = (t1 * t1) * i00 + (2.0 * t1 * t2) * i10 + (t2 * t2) * i11
            return packed
        diagonal = BlockDiagonalLower.from_gram(self.gram0, factor_t)
        self.logdet = float(self.multiplicity @ diagonal.level_logdets())
        half = factor_t @ np.swapaxes(diagonal.inverse, 1, 2)
        w = half @ np.swapaxes(half, 1, 2)
        r, c = np.tril_indices(self.p0)
        return w[:, r, c]

    def update(self, factors: list[np.ndarray]) -> None:
        """Factor at the installed ``T``; sets ``logdet``, ``L_X``, ``c_X``, ``pwrss``."""
        packed = self._first_block(factors[0])
        scales = self._scales
        for g, (j, c) in enumerate(self._scale_source):
            scales[g] = factors[j][c, c]
        dense = self.operator.apply(packed, scales)
        if self.posthoc:
            dense = self._congruence(dense, factors)
        # C-ordered lower triangle == Fortran-ordered upper triangle of the transpose.
        _, info = lapack.dpotrf(dense.T, lower=0, clean=0, overwrite_a=1)
        self.factor = dense
        self.info = int(info)
        m, q, k = self.m, self.q_rest, self.k
        self.logdet_fixed = None
        if (info == 0 or info == m) and m <= _FEW_PIVOTS:
            # The logs of a few pivots in plain floats, L_X's included (the criterion
            # needs them every evaluation); numpy calls on them cost more.
            pivots = dense.diagonal().tolist()
            if q:
                self.logdet += 2.0 * math.fsum(map(math.log, pivots[:q]))
            self.logdet_fixed = 2.0 * math.fsum(map(math.log, pivots[q : q + k]))
        elif q and (info == 0 or info == m):
            self.logdet += 2.0 * float(np.log(dense.diagonal()[:q]).sum())
        if info == 0 or info == m:
            # Both operators and the congruence leave the upper triangle zero, and
            # dpotrf writes only the lower one, so this block is L_X as it is.
            self.L_X = dense[q : q + k, q : q + k].copy()
            self.c_X = dense[m - 1, q : q + k].copy()
            self.pwrss = float(dense[m - 1, m - 1]) ** 2 if info == 0 else 0.0
        else:
            self.logdet = np.inf
            self.L_X = np.eye(k)
            self.c_X = np.zeros(k)
            self.pwrss = np.inf

    def fixed_factor(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(L_X, c_X, r^2)``: the last rows of the dense factor (no second factorisation)."""
        return self.L_X, self.c_X, self.pwrss

    def fork(self) -> EliminatedFactor:
        """A copy with its own operator buffers (``update`` factors in place)."""
        new = super().fork()
        new._scales = self._scales.copy()
        if self._one_scalar_class:
            new._packed_single = self._packed_single.copy()
        new.operator = self.operator.fork()
        # In place, the factor is the operator's buffer; with a full T in a later block
        # (posthoc) it is a separate array and the buffer holds S before the congruence.
        if self.posthoc:
            new.factor = self.factor.copy()
        else:
            new.factor = new.operator.buffer.reshape(self.m, self.m)
        return new

    def _congruence(self, lower: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
        """``D' S D + I`` for later blocks with a full (non-diagonal) ``T``."""
        full = lower + np.tril(lower, -1).T
        for j, block in enumerate(self.blocks[1:]):
            start, stop = self.offsets[j], self.offsets[j + 1]
            levels, p = block.n_levels, block.n_columns
            factor_t = factors[j + 1]
            piece = full[start:stop].reshape(levels, p, self.m)
            full[start:stop] = np.einsum("ca,lcm->lam", factor_t, piece).reshape(-1, self.m)
            piece = full[:, start:stop].reshape(self.m, levels, p)
            full[:, start:stop] = np.einsum("mlc,ca->mla", piece, factor_t).reshape(self.m, -1)
        index = np.arange(self.q_rest)
        full[index, index] += 1.0
        return np.ascontiguousarray(np.tril(full))

    # ------------------------------------------------------------------ blocks of L
    def blocks_of_L(self, factors: list[np.ndarray]) -> BlocksOfL:
        """The blocked factor at the last :meth:`update` (for solutions, not the criterion)."""
        cross = self.cross
        first = self.blocks[0]
        factor_t = factors[0]
        diagonal0 = BlockDiagonalLower.from_gram(cross.diagonal[0], factor_t)
        inverse0_t = np.swapaxes(diagonal0.inverse, 1, 2)
        lam0 = np.broadcast_to(factor_t, (first.n_levels, self.p0, self.p0))
        L_diag: list[LowerBlock] = [diagonal0]
        L_off: dict[tuple[int, int], np.ndarray | sp.spmatrix] = {}
        L_xy = [right_blockdiag(right_blockdiag(cross.xy_z[0], lam0), inverse0_t)]
        dense = np.tril(self.factor)
        q, m = self.q_rest, self.m
        for j, block in enumerate(self.blocks[1:], start=1):
            lam = np.broadcast_to(factors[j], (block.n_levels, *factors[j].shape))
            scaled = left_blockdiag_transpose(lam, cross.off_diagonal[(j, 0)])
            scaled = right_blockdiag(right_blockdiag(scaled, lam0), inverse0_t)
            L_off[(j, 0)] = sp.csr_matrix(scaled)
            rows = slice(self.offsets[j - 1], self.offsets[j])
            L_diag.append(DenseLower(dense[rows, rows].copy()))
            for i in range(j + 1, len(self.blocks)):
                below = slice(self.offsets[i - 1], self.offsets[i])
                L_off[(i, j)] = dense[below, rows].copy()
            L_xy.append(dense[q:m, rows].copy())
        return {"L_diag": L_diag, "L_off": L_off, "L_xy": L_xy}
