"""General blocked Cholesky factor, block by block (the fallback path).

Used when neither specialised path applies: several grouping factors where
some later factor stays block diagonal (nested designs) and the remaining
system is too large to factor densely. Each diagonal block of ``L`` is a
:class:`~mixedmodels.linalg.blocks.BlockDiagonalLower` or a
:class:`~mixedmodels.linalg.blocks.DenseLower`, and each off-diagonal block a
sparse (CSR) or dense matrix, decided once from the level incidence
(:func:`analyse_structure`); the factorisation dispatches on these types.

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

import copy
import functools

import numpy as np
import scipy.sparse as sp

from ..design.crossprod import CrossProducts
from ..design.terms import RandomEffectsBlock
from ..linalg.blocks import (
    BlockDiagonalLower,
    DenseLower,
    LowerBlock,
    as_dense,
    blockdiag_cholesky,
    blockdiag_to_dense,
    congruence,
    left_blockdiag_transpose,
    right_blockdiag,
)
from ..linalg.dense import TILE, block_threads, cholesky_in_place, threads_limit
from ..linalg.fill import subtract_outer
from ..linalg.fixedfill import FixedPatternFill
from ..linalg.memory import check_dense_block
from .factorization import BlocksOfL, Factorization

__all__ = ["BlockedFactor", "Structure", "analyse_structure"]

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


#: Storage classes of the diagonal blocks and of the blocks below them.
DiagonalKind = type[BlockDiagonalLower] | type[DenseLower]
OffKind = type[sp.csr_matrix] | type[np.ndarray]
Structure = tuple[list[DiagonalKind], dict[tuple[int, int], OffKind]]


def analyse_structure(blocks: list[RandomEffectsBlock], cross: CrossProducts) -> Structure:
    """Storage class of each block of ``L`` from the level incidence.

    Returns
    -------
    diagonal_kind : list of type
        :class:`BlockDiagonalLower` or :class:`DenseLower` per block.
    off_kind : dict
        ``scipy.sparse.csr_matrix`` or ``numpy.ndarray`` per ``(i, j)``, ``i > j``.
    """
    n_blocks = len(blocks)
    diagonal_kind: list[DiagonalKind] = []
    off_kind: dict[tuple[int, int], OffKind] = {}
    pattern: dict[tuple[int, int], sp.csr_matrix | None] = {}
    for (i, j), matrix in cross.off_diagonal.items():
        pattern[(i, j)] = _level_pattern(matrix, blocks[i].n_columns, blocks[j].n_columns)
    for j in range(n_blocks):
        dense = False
        for k in range(j):
            if off_kind[(j, k)] is np.ndarray:
                dense = True
            elif pattern[(j, k)] is not None and (pattern[(j, k)].getnnz(axis=0) > 1).any():
                dense = True
        diagonal_kind.append(DenseLower if dense else BlockDiagonalLower)
        for i in range(j + 1, n_blocks):
            if dense or any(
                off_kind[(i, k)] is np.ndarray or off_kind[(j, k)] is np.ndarray for k in range(j)
            ):
                off_kind[(i, j)] = np.ndarray
                continue
            level_pattern = pattern.get((i, j))
            for k in range(j):
                if pattern.get((i, k)) is not None and pattern.get((j, k)) is not None:
                    fill = pattern[(i, k)] @ pattern[(j, k)].T
                    level_pattern = fill if level_pattern is None else level_pattern + fill
            pattern[(i, j)] = level_pattern
            size = blocks[i].n_levels * blocks[j].n_levels
            density = 0.0 if level_pattern is None else level_pattern.nnz / size
            off_kind[(i, j)] = np.ndarray if density > _DENSE_FILL else sp.csr_matrix
    return diagonal_kind, off_kind


def _factor_diagonal(
    kind: DiagonalKind,
    gram: np.ndarray,
    below: list[np.ndarray | sp.spmatrix],
    fixed_update=None,
    buffer: np.ndarray | None = None,
) -> LowerBlock:
    """``L_jj`` from ``T' A_jj T + I`` (``gram``, per level) less ``sum_k L_jk L_jk'``.

    ``fixed_update``, if given, subtracts the first block's term in place on the
    dense block (a :class:`FixedPatternFill` bound to its scales); ``below`` then
    holds only the other terms. A dense block is assembled in ``buffer`` if given.
    """
    if kind is BlockDiagonalLower:
        p = gram.shape[1]
        for off in below:
            # Nested factor: L_jk L_jk' is block diagonal; subtract its blocks.
            product = (off @ off.T).tocoo()
            level = product.row // p
            np.add.at(gram, (level, product.row % p, product.col % p), -product.data)
        return BlockDiagonalLower(blockdiag_cholesky(gram))
    dense = blockdiag_to_dense(gram, out=buffer)
    threads = block_threads(dense.shape[0])
    with threads_limit(threads):
        if fixed_update is not None:
            fixed_update(dense)
        for off in below:
            subtract_outer(dense, off)  # lower triangle only: the factorisation reads no more
        return DenseLower(cholesky_in_place(dense, tile=TILE if threads > 1 else None))


class BlockedFactor(Factorization):
    """Blocked Cholesky factor with per-block storage classes.

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
        structure: Structure | None = None,
    ) -> None:
        self.blocks = blocks
        self.cross = cross
        self.diagonal_kind, self.off_kind = structure or analyse_structure(blocks, cross)
        self.k = cross.xy_xy.shape[0] - 1
        for block, kind in zip(blocks, self.diagonal_kind, strict=True):
            if kind is DenseLower:  # refuse before any n x n array is asked for
                check_dense_block(block.factor.name, block.n_levels, block.n_random)
        self.fills = self._fixed_fills()
        self._buffers: dict[int, np.ndarray] = {}  # dense blocks, reused by each update

    def _fixed_fills(self) -> dict[int, FixedPatternFill]:
        """Fixed-pattern updates ``L_j0 L_j0'`` of dense scalar blocks from a scalar first block.

        With both blocks scalar, ``L_j0 = t_j A_j0 diag(t_0 / L_00,l)``: a
        fixed matrix with a row and a column scale (see ``linalg/fixedfill.py``).
        """
        fills: dict[int, FixedPatternFill] = {}
        if self.diagonal_kind[0] is not BlockDiagonalLower or self.blocks[0].n_columns != 1:
            return fills
        for j in range(1, len(self.blocks)):
            matrix = self.cross.off_diagonal.get((j, 0))
            if self.diagonal_kind[j] is DenseLower and self.blocks[j].n_columns == 1:
                if matrix is not None and sp.issparse(matrix):
                    fills[j] = FixedPatternFill(matrix)
        return fills

    def fork(self) -> BlockedFactor:
        """A copy with its own buffers (the fixed patterns are shared).

        Both copies keep the last factor, which lives in this factor's dense
        buffers, so neither reuses them: each allocates new ones at its next update.
        """
        new = super().fork()
        new.fills = {j: fill.fork() for j, fill in self.fills.items()}
        new._buffers = {}
        self._buffers = {}
        return new

    def detach(self, spare: BlockedFactor | None = None) -> BlockedFactor:
        """A copy holding the last factor; this factor writes its next one elsewhere.

        The copy keeps the dense buffers of the last :meth:`update` (the best
        point of a fit, kept by :meth:`PLSState.evaluate`); this factor takes
        the buffers of ``spare`` (a detached copy no longer needed) or new ones.
        """
        kept = copy.copy(self)
        self._buffers = spare._buffers if spare is not None else {}
        return kept

    def _scaled_off_diagonal(self, factors, lambdas, i: int, j: int):
        """``Lambda_i' A_ij Lambda_j``."""
        matrix = self.cross.off_diagonal.get((i, j))
        if matrix is None:
            return None
        if factors[i].shape == (1, 1) and factors[j].shape == (1, 1):
            return matrix * (factors[i][0, 0] * factors[j][0, 0])
        scaled = left_blockdiag_transpose(lambdas[i], matrix)
        return right_blockdiag(scaled, lambdas[j])

    def _off_block(self, factors, lambdas, L_off, diagonal: LowerBlock, i: int, j: int):
        """``L_ij = (Lambda_i' A_ij Lambda_j - sum_k L_ik L_jk') L_jj^{-T}``, or None."""
        target = self._scaled_off_diagonal(factors, lambdas, i, j)
        for k in range(j):
            left, right = L_off.get((i, k)), L_off.get((j, k))
            if left is None or right is None:
                continue
            update = left @ right.T
            target = -update if target is None else target - update
        if target is None:
            return None
        if self.off_kind[(i, j)] is np.ndarray:
            target = as_dense(target)
        solved = diagonal.solve_right_transpose(target)
        return sp.csr_matrix(solved) if sp.issparse(solved) else solved

    def update(self, factors: list[np.ndarray]) -> None:
        """Numeric blocked factorisation; sets the blocks, ``logdet`` and ``schur``."""
        blocks, cross = self.blocks, self.cross
        n_blocks = len(blocks)
        lambdas = [
            np.broadcast_to(factor, (block.n_levels, *factor.shape))
            for block, factor in zip(blocks, factors, strict=True)
        ]
        L_diag: list[LowerBlock] = []
        L_off: dict[tuple[int, int], np.ndarray | sp.spmatrix] = {}
        L_xy: list[np.ndarray] = []
        for j in range(n_blocks):
            gram = congruence(cross.diagonal[j], factors[j])
            index = np.arange(blocks[j].n_columns)
            gram[:, index, index] += 1.0
            fill = self.fills.get(j)
            first = 1 if fill is not None else 0
            below = [L_off[(j, k)] for k in range(first, j) if (j, k) in L_off]
            fixed_update = None
            if fill is not None:
                fixed_update = functools.partial(
                    fill.subtract,
                    row_scale=float(factors[j][0, 0]),
                    column_scale=factors[0][0, 0] * L_diag[0].inverse[:, 0, 0],
                )

            buffer = None
            if self.diagonal_kind[j] is DenseLower:
                order = blocks[j].n_random
                buffer = self._buffers.setdefault(j, np.empty((order, order)))
            diagonal = _factor_diagonal(self.diagonal_kind[j], gram, below, fixed_update, buffer)
            L_diag.append(diagonal)
            for i in range(j + 1, n_blocks):
                solved = self._off_block(factors, lambdas, L_off, diagonal, i, j)
                if solved is not None:
                    L_off[(i, j)] = solved
            xy_row = right_blockdiag(cross.xy_z[j], lambdas[j])
            for k in range(j):
                right = L_off.get((j, k))
                if right is not None:
                    xy_row = xy_row - as_dense(right @ L_xy[k].T).T
            L_xy.append(diagonal.solve_right_transpose(xy_row))
        schur = cross.xy_xy.copy()
        for xy_row in L_xy:
            schur -= xy_row @ xy_row.T
        self.schur = schur
        self.logdet = float(sum(diagonal.logdet() for diagonal in L_diag))
        self._blocks: BlocksOfL = {"L_diag": L_diag, "L_off": L_off, "L_xy": L_xy}

    def blocks_of_L(self, factors: list[np.ndarray]) -> BlocksOfL:
        """The blocked factor computed by the last :meth:`update`."""
        return self._blocks
