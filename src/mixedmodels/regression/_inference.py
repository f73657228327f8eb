"""Sampling covariance of the variance parameters from the engine's criterion.

Notation
--------
============  ==============================================================
symbol        meaning
============  ==============================================================
``x``         the engine's ``theta`` in its internally scaled coordinates
``s2``        the residual variance (``scale``)
``f(x, s2)``  ``-2 log L``: the engine's criterion with ``sigma = sqrt(s2)``
              fixed (:mod:`mixedmodels.objective.criterion`)
``psi(x)``    profile variance parameters: lower triangle of ``T T'`` and
              ``theta_vc^2``, statsmodels' ``params`` beyond the fixed effects
============  ==============================================================

The observed information of ``omega = (x, s2)`` is ``H / 2`` with ``H`` the
Hessian of ``f`` by central differences (:mod:`mixedmodels.optim.hessian`, the
same module as lmerTest's Satterthwaite df), on a private copy of the engine's
state. Then ``cov(omega) = 2 H^{-1}`` and by the delta method

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
from ..optim.hessian import hessian, jacobian
from ._design import ThetaLayout

__all__ = ["VarianceInference", "criterion_hessian", "criterion_parts", "variance_inference"]

_RELATIVE_STEP = 5e-4
_MIN_STEP = 2.5e-5


def criterion_parts(engine: LinearMixedModel, theta: np.ndarray) -> tuple[float, float]:
    """The criterion's parts at ``theta``: ``log|L|^2 - sum log w`` and ``r^2``.

    Evaluated on a copy of the engine's state (no bounds check, so a step may
    cross zero); :mod:`mixedmodels.objective.criterion` combines them.
    """
    state = engine.state.fork()
    state.evaluate(np.asarray(theta, dtype=float))
    return float(state.logdet() - engine.cross.sum_log_weights), float(state.pwrss)


def criterion_hessian(engine: LinearMixedModel, theta: np.ndarray, sigma2: float) -> np.ndarray:
    """Hessian of ``f(x, s2)`` in ``(x, s2)``, shape ``(m + 1, m + 1)``."""
    scale = engine.theta_scale
    x0 = np.asarray(theta, dtype=float) * scale
    m = len(x0)
    steps = np.maximum(_RELATIVE_STEP * np.abs(x0), _MIN_STEP * np.maximum(1.0, np.abs(x0)))
    steps = np.append(np.maximum(steps, _MIN_STEP), _RELATIVE_STEP * sigma2)
    state = engine.state.fork()

    def criterion(point: np.ndarray) -> float:
        return state.evaluate(point[:m] / scale, sigma=np.sqrt(point[m]))

    return hessian(criterion, np.append(x0, sigma2), steps)


def profile_jacobian(layout: ThetaLayout, theta: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``d psi / d x`` (central differences; exact since ``psi`` is quadratic in ``x``)."""
    x0 = np.asarray(theta, dtype=float) * scale
    if not len(x0):
        return np.zeros((len(layout.packed(np.asarray(theta))), 0))
    steps = np.maximum(1e-3 * np.abs(x0), 1e-3)
    columns = jacobian(lambda x: layout.packed(x / scale), x0, steps)
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
