"""Kenward-Roger adjusted covariance of the fixed effects and denominator df (pbkrtest).

Kenward and Roger (1997, Biometrics 53) correct the covariance of the REML
fixed effects for the uncertainty of the variance parameters, and give the
denominator degrees of freedom of a Wald F test. This module follows
pbkrtest's ``vcovAdj`` (``vcovAdj_internal``), ``Lb_ddf`` and
``.KR_adjust`` (Halekoh and Hojsgaard 2014, JSS 59(9)).

The variance parameters are the entries of each term's covariance matrix and
``sigma^2``; the marginal covariance is linear in them,
``Sigma = sum_r gamma_r G_r`` with ``G_r = Z_t (I (x) E_r) Z_t'`` for an
entry of term ``t`` and ``G = I`` for ``sigma^2``.

Notation
--------
==========  ================================================================
symbol      meaning (pbkrtest's name)
==========  ================================================================
``S``       ``Sigma^{-1}``, ``n x n`` (``SigmaInv``)
``Phi``     ``(X' S X)^{-1}``, lme4's ``vcov``
``P_r``     ``-X' S G_r S X`` (``PP``)
``Q_rs``    ``X' S G_r S G_s S X`` (``QQ``)
``I_rs``    ``tr(S G_r S G_s) - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s)`` (``IE2``)
``W``       ``2 I^{-1}``, the asymptotic covariance of the parameters
``Phi_A``   ``Phi + 2 Phi U Phi``, ``U = sum_rs W_rs (Q_rs - P_r Phi P_s)``
==========  ================================================================

The computation is dense in ``n`` (as pbkrtest's): its cost grows as
``n^2`` times the number of levels plus one ``n^3`` inverse, so it is refused
above :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from ..errors import ArgumentError, DataError

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["KenwardRoger", "kenward_roger"]

#: Largest number of observations for the dense computation.
MAX_ROWS = 15_000


@dataclass(frozen=True)
class KenwardRoger:
    """pbkrtest's ``vcovAdj`` result: ``Phi_A`` with its ``P`` and ``W`` attributes."""

    vcov: np.ndarray
    vcov_adjusted: np.ndarray
    P: tuple[np.ndarray, ...]
    W: np.ndarray

    def _a1_a2(self, L: np.ndarray) -> tuple[float, float]:
        phi = self.vcov
        theta = L.T @ np.linalg.solve(L @ phi @ L.T, L)
        theta_phi = theta @ phi
        u = [theta_phi @ p @ phi for p in self.P]
        a1 = a2 = 0.0
        n = len(u)
        for i in range(n):
            for j in range(i, n):
                e = 1.0 if i == j else 2.0
                a1 += e * self.W[i, j] * np.trace(u[i]) * np.trace(u[j])
                a2 += e * self.W[i, j] * float(np.sum(u[i] * u[j].T))
        return a1, a2

    def _ddf_and_scaling(self, L: np.ndarray, q: int) -> tuple[float, float]:
        a1, a2 = self._a1_a2(L)
        b = (a1 + 6 * a2) / (2 * q)
        g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        denominator = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / denominator, (q - g) / denominator, (q + 2 - g) / denominator
        v0 = 1 + c1 * b
        v1 = 1 - c2 * b
        v2 = 1 - c3 * b
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        numerator = 1 - a2 / q
        ratio = 1.0 if abs(numerator) < 1e-14 and abs(v1) < 1e-14 else numerator / v1
        rho = ratio**2 * v0 / v2 / q
        ddf = 4 + (q + 2) / (q * rho - 1)
        scaling = 1.0 if abs(ddf - 2) < 0.01 else ddf * (1 - a2 / q) / (ddf - 2)
        return float(ddf), float(scaling)

    def ddf(self, L: np.ndarray) -> float:
        """pbkrtest's ``Lb_ddf(L, V0, Vadj)``: denominator df for ``L beta``."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        return self._ddf_and_scaling(L, L.shape[0])[0]

    def f_test(self, L: np.ndarray, beta: np.ndarray, beta_h: np.ndarray | float = 0.0) -> dict:
        """pbkrtest's ``.KR_adjust``: the scaled Wald F test of ``L beta = L beta_h``."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        q = int(np.linalg.matrix_rank(L))
        ddf, scaling = self._ddf_and_scaling(L, q)
        diff = L @ (np.asarray(beta, dtype=float) - beta_h)
        wald = float(diff @ np.linalg.solve(L @ self.vcov_adjusted @ L.T, diff))
        f_unscaled = wald / q
        f_value = scaling * f_unscaled
        return {
            "ndf": q,
            "ddf": ddf,
            "F_unscaled": f_unscaled,
            "F_scaling": scaling,
            "F": f_value,
            "p": float(stats.f.sf(f_value, q, ddf)),
        }


def _term_pieces(results: LmerResults) -> list[tuple[np.ndarray, np.ndarray | None, float]]:
    """``(U, V, gamma)`` per variance parameter: ``G = U V' + V U'`` (or ``U U'``)."""
    model = results.model
    pieces = []
    covariances = results.term_covariances()
    infos = sorted(
        model.term_infos,
        key=lambda info: info.theta_indices[0] if info.theta_indices else 10**9,
    )
    for info, (_, _, _, covariance) in zip(infos, covariances, strict=True):
        block = model.blocks[info.block]
        codes = block.factor.codes
        n_levels = block.n_levels
        n_obs = len(codes)
        columns = list(info.columns)
        size = len(columns)
        design = []
        for column in columns:
            matrix = np.zeros((n_obs, n_levels))
            matrix[np.arange(n_obs), codes] = block.z[:, column]
            design.append(matrix)
        for i in range(size):
            for j in range(i, size):
                if i == j:
                    pieces.append((design[i], None, float(covariance[i, i])))
                else:
                    pieces.append((design[i], design[j], float(covariance[i, j])))
    return pieces


def kenward_roger(results: LmerResults) -> KenwardRoger:
    """pbkrtest's ``vcovAdj`` for a REML fit (computed once per results object)."""
    cached = results.__dict__.get("_kenward_roger")
    if cached is not None:
        return cached
    model = results.model
    if not model.reml:
        raise ArgumentError(
            "Kenward-Roger's method is only available for REML fits (as in lmerTest); "
            "refit with REML=True"
        )
    rows = model.rows
    if rows is None:
        raise DataError("Kenward-Roger needs the row data, which this model did not keep")
    if model.n_obs > MAX_ROWS:
        raise DataError(
            f"Kenward-Roger works with n x n matrices; {model.n_obs} observations is more than "
            f"the {MAX_ROWS} supported; use ddf='Satterthwaite'"
        )
    result = _compute(results, rows.X, rows.weights)
    results.__dict__["_kenward_roger"] = result
    return result


def _compute(results: LmerResults, X: np.ndarray, weights: np.ndarray | None) -> KenwardRoger:
    pieces = _term_pieces(results)
    n_obs = X.shape[0]
    residual = 1.0 / weights if weights is not None else np.ones(n_obs)
    sigma = np.diag(results.scale * residual)
    for u, v, gamma in pieces:
        sigma += gamma * (u @ u.T if v is None else u @ v.T + v @ u.T)
    inverse = np.linalg.inv(sigma)
    inverse = (inverse + inverse.T) / 2
    phi = results.cov_fe.to_numpy()
    tt = inverse @ X
    hh: list[np.ndarray] = []
    for u, v, _ in pieces:
        if v is None:
            hh.append(u @ (u.T @ inverse))
        else:
            hh.append(u @ (v.T @ inverse) + v @ (u.T @ inverse))
    hh.append(residual[:, None] * inverse)
    oo = [h @ X for h in hh]
    pp = [-(o.T @ tt) for o in oo]
    pp = [(p + p.T) / 2 for p in pp]
    count = len(hh)
    qq = {}
    information = np.empty((count, count))
    for r in range(count):
        left = oo[r].T @ inverse
        for s in range(r, count):
            qq[r, s] = left @ oo[s]
            trace = float(np.sum(hh[r].T * hh[s]))
            value = trace - 2 * float(np.sum(phi * qq[r, s]))
            value += float(np.sum((phi @ pp[r]) * (pp[s] @ phi)))
            information[r, s] = information[s, r] = value
    smallest = np.min(np.abs(np.linalg.eigvalsh(information)))
    w = 2 * (np.linalg.inv(information) if smallest > 1e-10 else np.linalg.pinv(information))
    w = (w + w.T) / 2
    u_sum = np.zeros_like(phi)
    for r in range(count - 1):
        for s in range(r + 1, count):
            u_sum += w[r, s] * (qq[r, s] - pp[r] @ phi @ pp[s])
    u_sum = u_sum + u_sum.T
    for r in range(count):
        u_sum += w[r, r] * (qq[r, r] - pp[r] @ phi @ pp[r])
    adjusted = phi + 2 * phi @ u_sum @ phi
    return KenwardRoger(phi, adjusted, tuple(pp), w)
