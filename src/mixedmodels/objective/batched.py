"""The single-block criterion for many responses, each at its own theta (the bootstrap's).

A parametric bootstrap refits one model to ``m`` responses. With one grouping
factor the system of :mod:`mixedmodels.objective.single` splits into parts that
every response shares (``A_l = Z_l' W Z_l``, the ``X`` rows of ``B_l`` and
``X' W X``) and the response's own cross-products (``Z_l' W y``, ``X' W y``,
``y' W y``). :class:`BatchedSingleBlock` evaluates the criterion at ``N``
points ``(theta_i, response r_i)`` with one pass of array operations over all
of them, which is what lets the bootstrap's optimiser
(:func:`mixedmodels.optim.newton.batched_newton`) move every replicate at once
instead of paying the per-call overhead of a ``p x p`` problem per evaluation.

The algebra is that of :class:`~mixedmodels.objective.single.SingleBlockFactor`
(closed forms for ``p = 1, 2``, batched LAPACK otherwise) and the value is
:func:`~mixedmodels.objective.criterion.criterion_array`, the vectorised form of
the one criterion; ``tests/objective/test_batched.py`` checks every value
against :meth:`PLSState.evaluate <mixedmodels.objective.pls.PLSState.evaluate>`.

Notation
--------
=================  ==========================================================
symbol             meaning
=================  ==========================================================
``N``              points evaluated together (replicate, theta) pairs
``m``              responses (replicates)
``l``, ``p``, k``  levels, columns of the block, fixed-effect columns
``A_l``            ``Z_l' W Z_l``, shared
``B_l``            ``[X y_r]' W Z_l``: ``X`` rows shared, the ``y`` row per response
``C``              ``[X y_r]' W [X y_r]``: ``X' W X`` shared
``S``              ``C - sum_l R_l R_l'`` with ``R_l = B_l T L_l^{-T}``
=================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..design.crossprod import CrossProducts
from ..design.terms import RandomEffectsBlock
from ..linalg.blocks import cholesky_2x2, gram_2x2
from .criterion import criterion_array

__all__ = ["BatchedSingleBlock", "BatchedSolution"]

#: Points per pass, so that ``N x (k + 1) x l x p`` stays near this many doubles.
ELEMENTS_PER_PASS = 2_000_000


@dataclass
class BatchedSolution:
    """The criterion and the estimates at ``N`` points (one row each).

    ``fixed_variance`` is the diagonal of ``(L_X L_X')^{-1}``: times ``sigma2`` the
    variances of the fixed effects (``PLSState.fixed_covariance_unscaled``).
    """

    objective: np.ndarray
    beta: np.ndarray
    pwrss: np.ndarray
    sigma2: np.ndarray
    fixed_variance: np.ndarray


class BatchedSingleBlock:
    """The profiled criterion of a one-block model for ``m`` responses.

    Parameters
    ----------
    block : RandomEffectsBlock
        The model's only block (its ``theta_index`` maps theta into ``T``).
    cross : CrossProducts
        The model's cross-products; only their response-free parts are used.
    reml : bool
        REML criterion (else the ML deviance).
    z_y : ndarray, shape (m, l * p)
        ``Z' W y_r`` per response, level-major as ``cross.xy_z``.
    x_y : ndarray, shape (m, k)
        ``X' W y_r``.
    y_y : ndarray, shape (m,)
        ``y_r' W y_r``.
    """

    def __init__(
        self,
        block: RandomEffectsBlock,
        cross: CrossProducts,
        reml: bool,
        z_y: np.ndarray,
        x_y: np.ndarray,
        y_y: np.ndarray,
    ) -> None:
        if len(cross.diagonal) != 1:
            raise ValueError("the batched criterion needs exactly one random-effects block")
        self.gram = cross.diagonal[0]
        self.n_levels, self.p, _ = self.gram.shape
        self.k = cross.xy_xy.shape[0] - 1
        self.x_z = cross.xy_z[0][: self.k].reshape(self.k, self.n_levels, self.p)
        self.x_x = cross.xy_xy[: self.k, : self.k]
        self.z_y = np.asarray(z_y, dtype=float).reshape(-1, self.n_levels, self.p)
        self.x_y = np.asarray(x_y, dtype=float).reshape(len(self.z_y), self.k)
        self.y_y = np.asarray(y_y, dtype=float)
        self.reml = reml
        self.n_obs = cross.n_obs
        self.dof = self.n_obs - self.k if reml else self.n_obs
        self.sum_log_weights = cross.sum_log_weights
        self.rows, self.cols = np.nonzero(block.theta_index >= 0)
        self.index = block.theta_index[self.rows, self.cols]

    # ------------------------------------------------------------------ public
    def evaluate(self, thetas: np.ndarray, which: np.ndarray) -> np.ndarray:
        """The criterion at each ``thetas[i]`` for response ``which[i]``, shape ``(N,)``."""
        return self.solve(thetas, which, estimates=False).objective

    def solve(self, thetas: np.ndarray, which: np.ndarray, estimates: bool = True):
        """:class:`BatchedSolution` at the points (``beta`` only when ``estimates``)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        which = np.asarray(which, dtype=np.intp)
        size = max(1, ELEMENTS_PER_PASS // ((self.k + 1) * self.n_levels * self.p))
        parts = [
            self._solve(thetas[start : start + size], which[start : start + size], estimates)
            for start in range(0, len(thetas), size)
        ]
        if not parts:
            empty = np.empty((0, self.k))
            return BatchedSolution(np.empty(0), empty, np.empty(0), np.empty(0), empty)
        if len(parts) == 1:
            return parts[0]
        return BatchedSolution(
            *(np.concatenate([getattr(part, name) for part in parts]) for name in _FIELDS)
        )

    # ------------------------------------------------------------------ kernel
    def _schur(self, factors: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log|L_Z|^2`` and ``S`` at each point (``factors`` is ``(N, p, p)``)."""
        n_points = len(which)
        k, p = self.k, self.p
        rows = np.empty((n_points, k + 1, self.n_levels, p))
        rows[:, :k] = self.x_z
        rows[:, k] = self.z_y[which]
        if p == 1:
            t2 = (factors[:, 0, 0] ** 2)[:, None]
            m = self.gram[None, :, 0, 0] * t2 + 1.0
            logdet = np.log(m).sum(axis=1)
            scaled = rows[..., 0] * np.sqrt(t2 / m)[:, None, :]
        elif p == 2:
            t0, t1, t2 = (factors[:, i, j][:, None] for i, j in ((0, 0), (1, 0), (1, 1)))
            a = self.gram
            m00, m10, m11 = gram_2x2(a[:, 0, 0], a[:, 1, 0], a[:, 1, 1], t0, t1, t2)
            l00, l10, l11, l11sq = cholesky_2x2(m00, m10, m11)
            logdet = np.log(m00 * l11sq).sum(axis=1)
            c0 = (rows[..., 0] * t0[:, None] + rows[..., 1] * t1[:, None]) / l00[:, None]
            c1 = (rows[..., 1] * t2[:, None] - c0 * l10[:, None]) / l11[:, None]
            scaled = np.concatenate((c0, c1), axis=2)
        else:
            m = np.einsum("nji,ljk,nkm->nlim", factors, self.gram, factors)
            m += np.eye(p)
            lower = np.linalg.cholesky(m)
            logdet = 2.0 * np.log(np.diagonal(lower, axis1=2, axis2=3)).sum(axis=(1, 2))
            products = np.einsum("nrlj,nji->nlir", rows, factors)  # (B_l T)' per level
            scaled = np.linalg.solve(lower, products)  # L_l^{-1} T' B_l'
            scaled = scaled.transpose(0, 3, 1, 2).reshape(n_points, k + 1, -1)
        schur = np.empty((n_points, k + 1, k + 1))
        schur[:, :k, :k] = self.x_x
        schur[:, :k, k] = schur[:, k, :k] = self.x_y[which]
        schur[:, k, k] = self.y_y[which]
        schur -= scaled @ scaled.transpose(0, 2, 1)
        return logdet, schur

    def _solve(self, thetas: np.ndarray, which: np.ndarray, estimates: bool) -> BatchedSolution:
        k = self.k
        factors = np.zeros((len(thetas), self.p, self.p))
        factors[:, self.rows, self.cols] = thetas[:, self.index]
        logdet, schur = self._schur(factors, which)
        lower, good = _cholesky(schur)
        pwrss = lower[:, k, k] ** 2
        if self.reml and k:
            logdet = logdet + 2.0 * np.log(np.diagonal(lower[:, :k, :k], axis1=1, axis2=2)).sum(1)
        objective = criterion_array(logdet, pwrss, self.dof, self.sum_log_weights)
        objective[~good] = np.nan
        beta = np.full((len(thetas), k), np.nan)
        variance = np.full((len(thetas), k), np.nan)
        if estimates and k:
            # L_X' beta = c_X, batched (LAPACK's triangular solve has no batched form).
            inverse = np.linalg.inv(lower[good, :k, :k])
            beta[good] = np.einsum("nji,nj->ni", inverse, lower[good, k, :k])
            variance[good] = np.einsum("nji,nji->ni", inverse, inverse)
        return BatchedSolution(objective, beta, pwrss, pwrss / self.dof, variance)


_FIELDS = ("objective", "beta", "pwrss", "sigma2", "fixed_variance")


def _cholesky(schur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower Cholesky factors of a stack; points whose ``S`` is not positive definite
    (round-off at an exact fit) are flagged rather than raising for the whole stack."""
    try:
        return np.linalg.cholesky(schur), np.ones(len(schur), dtype=bool)
    except np.linalg.LinAlgError:
        lower = np.zeros_like(schur)
        good = np.zeros(len(schur), dtype=bool)
        for index, matrix in enumerate(schur):
            try:
                lower[index] = np.linalg.cholesky(matrix)
                good[index] = True
            except np.linalg.LinAlgError:
                pass
        return lower, good
