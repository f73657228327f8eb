"""Sampling covariance of the variance parameters from the engine's criterion.

Notation
--------
============  ==============================================================
symbol        meaning
============  ==============================================================
``x``         the engine's ``theta`` in its internally scaled coordinates
``s2``        the residual variance (``scale``)
``A(x)``      ``log|L_Z|^2`` (+ ``log|L_X|^2`` for REML) at ``x``
``P(x)``      penalised residual sum of squares at ``x``
``d``         ``n - k_fe`` (REML) or ``n`` (ML)
``f(x, s2)``  ``-2 log L = A + d log(2 pi s2) + P / s2`` (the engine's
              criterion before ``s2`` is profiled out)
``psi(x)``    profile variance parameters: lower triangle of ``T T'`` and
              ``theta_vc^2``, statsmodels' ``params`` beyond the fixed effects
============  ==============================================================

The observed information of ``omega = (x, s2)`` is ``H / 2`` with ``H`` the
Hessian of ``f``: the second derivatives of ``A`` and ``P`` by central
differences, those in ``s2`` analytically. Then ``cov(omega) = 2 H^{-1}`` and
by the delta method

* profile parameters: ``cov(psi) = J cov(x) J'`` with ``J = dpsi/dx``; this is
  also the inverse Hessian of the criterion with ``s2`` profiled out, i.e.
  exactly statsmodels' ``cov_params()`` block for these parameters;
* natural parameters ``s2 psi``: ``cov = G cov(omega) G'`` with
  ``G = [s2 J, psi]``, which includes the uncertainty of ``s2``.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ..model import LinearMixedModel
from ._design import ThetaLayout

__all__ = ["VarianceInference", "criterion_parts", "variance_inference"]

_RELATIVE_STEP = 5e-4
_MIN_STEP = 2.5e-5


def criterion_parts(engine: LinearMixedModel, theta: np.ndarray) -> tuple[float, float]:
    """``A(theta)`` and ``P(theta)`` (no bounds check, so a step may cross zero)."""
    state = engine.state
    state.evaluate(np.asarray(theta, dtype=float))
    value = state.logdet_random() - engine.cross.sum_log_weights
    if engine.reml:
        value += state.logdet_fixed()
    return float(value), float(state.pwrss)


def _degrees(engine: LinearMixedModel) -> int:
    return engine.n_obs - engine.n_fixed if engine.reml else engine.n_obs


def criterion_hessian(engine: LinearMixedModel, theta: np.ndarray, sigma2: float) -> np.ndarray:
    """Hessian of ``f(x, s2)`` in ``(x, s2)``, shape ``(m + 1, m + 1)``."""
    scale = engine.theta_scale
    x0 = np.asarray(theta, dtype=float) * scale
    m = len(x0)
    steps = np.maximum(_RELATIVE_STEP * np.abs(x0), _MIN_STEP * np.maximum(1.0, np.abs(x0)))
    steps = np.maximum(steps, _MIN_STEP)

    def parts(x: np.ndarray) -> np.ndarray:
        return np.array(criterion_parts(engine, x / scale))

    centre = parts(x0)
    plus = np.zeros((m, 2))
    minus = np.zeros((m, 2))
    for i in range(m):
        shift = np.zeros(m)
        shift[i] = steps[i]
        plus[i] = parts(x0 + shift)
        minus[i] = parts(x0 - shift)
    gradient = (plus - minus) / (2.0 * steps[:, None])  # columns: A', P'
    second = np.zeros((m, m, 2))
    for i in range(m):
        second[i, i] = (plus[i] - 2.0 * centre + minus[i]) / steps[i] ** 2
        for j in range(i):
            corners = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                shift = np.zeros(m)
                shift[i] = si * steps[i]
                shift[j] = sj * steps[j]
                corners.append(parts(x0 + shift))
            value = (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * steps[i] * steps[j])
            second[i, j] = second[j, i] = value
    engine.state.evaluate(np.asarray(theta, dtype=float))
    d = _degrees(engine)
    pwrss = centre[1]
    hessian = np.zeros((m + 1, m + 1))
    hessian[:m, :m] = second[:, :, 0] + second[:, :, 1] / sigma2
    hessian[:m, m] = hessian[m, :m] = -gradient[:, 1] / sigma2**2
    hessian[m, m] = -d / sigma2**2 + 2.0 * pwrss / sigma2**3
    return hessian


def profile_jacobian(layout: ThetaLayout, theta: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``d psi / d x`` (central differences; exact since ``psi`` is quadratic in ``x``)."""
    x0 = np.asarray(theta, dtype=float) * scale
    columns = []
    for i in range(len(x0)):
        step = max(1e-3 * abs(x0[i]), 1e-3)
        shift = np.zeros(len(x0))
        shift[i] = step
        upper = layout.packed((x0 + shift) / scale)
        lower = layout.packed((x0 - shift) / scale)
        columns.append((upper - lower) / (2 * step))
    if not columns:
        return np.zeros((len(layout.packed(np.asarray(theta))), 0))
    return np.column_stack(columns)


class VarianceInference:
    """Covariances of the variance parameters (profile and natural scale).

    Attributes
    ----------
    hessian : ndarray
        Hessian of ``-2 log L`` in ``(x, scale)``.
    cov_profile : ndarray
        Covariance of the profile parameters (statsmodels' ``params`` beyond
        the fixed effects).
    cov_natural : ndarray
        Covariance of ``cov_re`` (lower triangle) and ``vcomp`` on the natural
        scale, including the uncertainty of ``scale``.
    var_scale : float
        Variance of the estimate of ``scale``.
    positive_definite : bool
        False when the Hessian is not positive definite (the covariances are
        then NaN).
    """

    def __init__(
        self,
        hessian: np.ndarray,
        cov_profile: np.ndarray,
        cov_natural: np.ndarray,
        var_scale: float,
        positive_definite: bool,
    ) -> None:
        self.hessian = hessian
        self.cov_profile = cov_profile
        self.cov_natural = cov_natural
        self.var_scale = var_scale
        self.positive_definite = positive_definite


def variance_inference(
    engine: LinearMixedModel, layout: ThetaLayout, theta: np.ndarray, sigma2: float
) -> VarianceInference:
    """Delta-method covariances of the variance parameters at ``theta`` (see module notes)."""
    with threadpool_limits(limits=engine.blas_threads, user_api="blas"):
        hessian = criterion_hessian(engine, theta, sigma2)
    m = len(theta)
    psi = layout.packed(np.asarray(theta, dtype=float))
    k = len(psi)
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues.min() <= 0:
        nan = np.full((k, k), np.nan)
        return VarianceInference(hessian, nan, nan.copy(), np.nan, False)
    cov_omega = 2.0 * np.linalg.inv(hessian)
    cov_omega = 0.5 * (cov_omega + cov_omega.T)
    jacobian = profile_jacobian(layout, theta, engine.theta_scale)
    cov_profile = jacobian @ cov_omega[:m, :m] @ jacobian.T
    natural_jacobian = np.column_stack([sigma2 * jacobian, psi])
    cov_natural = natural_jacobian @ cov_omega @ natural_jacobian.T
    return VarianceInference(hessian, cov_profile, cov_natural, float(cov_omega[m, m]), True)
