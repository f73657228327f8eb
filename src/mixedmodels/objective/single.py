"""Closed-form factorisation for a model with one grouping factor.

With a single random-effects block, ``L_Z`` is uniform block diagonal: one
``p x p`` lower-triangular block per level. Every quantity the criterion needs
is then a batched closed-form expression over the levels, and the fixed-effects
Schur complement is a ``(k + 1) x (k + 1)`` matrix product. No sparse matrix and
no Python loop over levels is involved.

Notation
--------
=================  ==========================================================
symbol             meaning
=================  ==========================================================
``l``, ``p``       levels and columns of the block
``k``              fixed-effect columns; ``[X y]`` has ``k + 1`` columns
``A_l``            ``Z_l' W Z_l``, ``p x p``, stored ``(l, p, p)``
``B_l``            ``[X y]' W Z_l``, ``(k + 1) x p``, stored ``(k + 1, l, p)``
``C``              ``[X y]' W [X y]``
``T``              ``p x p`` lower-triangular relative covariance factor
``M_l``            ``T' A_l T + I = L_l L_l'``
``R_l``            ``B_l T L_l^{-T}``, the ``[X y]`` rows of ``L`` for level l
``S``              ``C - sum_l R_l R_l'`` = ``[L_X 0; c_X' r] [L_X 0; c_X' r]'``
=================  ==========================================================

For ``p = 1`` the block reduces to ``M_l = t^2 a_l + 1`` and
``S = C - t^2 B diag(1 / M) B'``; for ``p = 2`` the Cholesky factor of each
``M_l`` is written out (:func:`~mixedmodels.linalg.blocks.gram_2x2` and
:func:`~mixedmodels.linalg.blocks.cholesky_2x2`), which is several times
faster than a batched LAPACK call on ``2 x 2`` blocks.
"""

from __future__ import annotations

import numpy as np

from ..design.crossprod import CrossProducts
from ..linalg.blocks import BlockDiagonalLower, cholesky_2x2, gram_2x2
from .factorization import BlocksOfL, Factorization

__all__ = ["SingleBlockFactor"]


class SingleBlockFactor(Factorization):
    """Factorisation of the PLS system when there is one random-effects block.

    Parameters
    ----------
    cross : CrossProducts
        Cross-products with exactly one diagonal block.
    """

    kind = "single"

    def __init__(self, cross: CrossProducts) -> None:
        gram = cross.diagonal[0]
        self.n_levels, self.p, _ = gram.shape
        k1 = cross.xy_xy.shape[0]
        self.k = k1 - 1
        self.gram = gram
        self.xy_z = cross.xy_z[0].reshape(k1, self.n_levels, self.p)
        self.xy_xy = cross.xy_xy
        if self.p == 1:
            self.a = np.ascontiguousarray(gram[:, 0, 0])
            self.b = np.ascontiguousarray(self.xy_z[:, :, 0])
        elif self.p == 2:
            self.a00 = np.ascontiguousarray(gram[:, 0, 0])
            self.a10 = np.ascontiguousarray(gram[:, 1, 0])
            self.a11 = np.ascontiguousarray(gram[:, 1, 1])
            self.b0 = np.ascontiguousarray(self.xy_z[:, :, 0])
            self.b1 = np.ascontiguousarray(self.xy_z[:, :, 1])
        self.logdet = 0.0
        self.schur = np.zeros((k1, k1))

    # ------------------------------------------------------------------ evaluation
    def update(self, factors: list[np.ndarray]) -> None:
        """Factor at the block's ``T``; sets :attr:`logdet` and :attr:`schur`."""
        factor_t = factors[0]
        if self.p == 1:
            self._update_scalar(factor_t[0, 0])
        elif self.p == 2:
            self._update_two(factor_t[0, 0], factor_t[1, 0], factor_t[1, 1])
        else:
            self._update_general(factor_t)

    def _update_scalar(self, t: float) -> None:
        t2 = t * t
        m = self.a * t2
        m += 1.0
        self.logdet = float(np.log(m).sum())
        scaled = self.b / m
        scaled *= t2
        self.schur = self.xy_xy - scaled @ self.b.T

    def _update_two(self, t0: float, t1: float, t2: float) -> None:
        m00, m10, m11 = gram_2x2(self.a00, self.a10, self.a11, t0, t1, t2)
        l00, l10, l11, l11sq = cholesky_2x2(m00, m10, m11)
        # log det M_l = log(l00^2 l11^2)
        self.logdet = float(np.log(m00 * l11sq).sum())
        # R = B T L^{-T}: v = B T row-wise, then forward substitution per level.
        c0 = self.b0 * t0
        c0 += self.b1 * t1
        c0 /= l00
        c1 = self.b1 * t2
        c1 -= c0 * l10
        c1 /= l11
        self.schur = self.xy_xy - c0 @ c0.T - c1 @ c1.T

    def _update_general(self, factor_t: np.ndarray) -> None:
        diagonal = BlockDiagonalLower.from_gram(self.gram, factor_t)
        self.logdet = diagonal.logdet()
        rows = self.xy_z @ factor_t  # (k+1, l, p)
        rows = np.einsum("rlj,lij->rli", rows, diagonal.inverse)
        flat = rows.reshape(self.k + 1, -1)
        self.schur = self.xy_xy - flat @ flat.T

    # ------------------------------------------------------------------ blocks of L
    def blocks_of_L(self, factors: list[np.ndarray]) -> BlocksOfL:
        """The blocked factor, recomputed from ``T`` (only solutions need it)."""
        factor_t = factors[0]
        diagonal = BlockDiagonalLower.from_gram(self.gram, factor_t)
        rows = np.einsum("rlj,lij->rli", self.xy_z @ factor_t, diagonal.inverse)
        return {"L_diag": [diagonal], "L_off": {}, "L_xy": [rows.reshape(self.k + 1, -1)]}
