"""Inference for fixed effects: Satterthwaite degrees of freedom, t tests, Wald intervals.

The Satterthwaite approximation follows lmerTest (Kuznetsova, Brockhoff and
Christensen 2017, JSS 82(13)): for a contrast ``c``,

.. math::

    \\nu = \\frac{2 \\{c' V(\\hat\\varphi) c\\}^2}{g' A g}, \\qquad
    g_k = c' \\frac{\\partial V}{\\partial \\varphi_k} c, \\qquad
    A = 2 H^{-1},

Notation
--------
==============  ============================================================
symbol          meaning
==============  ============================================================
``varphi``      variance parameters ``(theta, sigma)``
``D(varphi)``   REML criterion (or ML deviance) with ``sigma`` not profiled:
                ``log|L_Z|^2 [+ log|L_X|^2] + m log(2 pi sigma^2) +
                pwrss / sigma^2``, ``m = n - k`` (REML) or ``n`` (ML)
``H``           Hessian of ``D`` at the optimum (central differences)
``V(varphi)``   ``sigma^2 (L_X L_X')^{-1}``, the covariance of beta
==============  ============================================================

Derivatives are central finite differences with Richardson extrapolation;
the tests compare the degrees of freedom with lmerTest's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["satterthwaite_table", "varpar_covariance", "wald_intervals"]


def _criterion_and_covariance(
    results: LmerResults,
) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    model = results.model
    state = model.state
    n_theta = model.n_theta
    n_obs = model.n_obs
    k = model.n_fixed
    dof = n_obs - k if model.reml else n_obs

    def criterion(varpar: np.ndarray) -> float:
        theta, sigma = varpar[:n_theta], varpar[n_theta]
        state.evaluate(theta)
        value = state.logdet_random() + dof * np.log(2 * np.pi * sigma**2)
        value += state.pwrss / sigma**2
        if model.reml:
            value += state.logdet_fixed()
        return float(value - model.cross.sum_log_weights)

    def covariance(varpar: np.ndarray) -> np.ndarray:
        theta, sigma = varpar[:n_theta], varpar[n_theta]
        state.evaluate(theta)
        return sigma**2 * state.fixed_covariance_unscaled()

    return criterion, covariance


def _richardson(function: Callable[[float], np.ndarray], step: float) -> np.ndarray:
    """Central first derivative at 0 with one Richardson extrapolation."""
    coarse = (function(step) - function(-step)) / (2 * step)
    fine = (function(step / 2) - function(-step / 2)) / step
    return (4 * fine - coarse) / 3


def _hessian_at_step(
    function: Callable[[np.ndarray], float], point: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    size = len(point)
    shifts = np.diag(steps)
    center = function(point)
    hessian = np.empty((size, size))
    for i in range(size):
        hessian[i, i] = (
            function(point + 2 * shifts[i]) - 2 * center + function(point - 2 * shifts[i])
        ) / (4 * steps[i] ** 2)
        for j in range(i):
            value = (
                function(point + shifts[i] + shifts[j])
                - function(point + shifts[i] - shifts[j])
                - function(point - shifts[i] + shifts[j])
                + function(point - shifts[i] - shifts[j])
            ) / (4 * steps[i] * steps[j])
            hessian[i, j] = hessian[j, i] = value
    return hessian


def _hessian(function: Callable[[np.ndarray], float], point: np.ndarray) -> np.ndarray:
    """Central-difference Hessian with one Richardson extrapolation."""
    steps = 1e-3 * np.maximum(np.abs(point), 1e-2)
    coarse = _hessian_at_step(function, point, steps)
    fine = _hessian_at_step(function, point, steps / 2)
    return (4 * fine - coarse) / 3


def varpar_covariance(results: LmerResults) -> tuple[np.ndarray, np.ndarray]:
    """``A = 2 H^{-1}`` and the point ``varphi = (theta, sigma)`` it is taken at."""
    criterion, _ = _criterion_and_covariance(results)
    point = np.append(results.theta, results.sigma)
    try:
        hessian = _hessian(criterion, point)
        covariance = 2 * np.linalg.pinv(hessian)
    finally:
        results.model.state.evaluate(results.theta)
    return covariance, point


def satterthwaite_table(results: LmerResults) -> pd.DataFrame:
    """Estimate, SE, Satterthwaite df, t value and p value for each fixed effect."""
    _, covariance_of = _criterion_and_covariance(results)
    varpar_cov, point = varpar_covariance(results)
    steps = 1e-3 * np.maximum(np.abs(point), 1e-2)
    jacobian = []
    try:
        for index, step in enumerate(steps):
            unit = np.zeros(len(point))
            unit[index] = 1.0
            jacobian.append(_richardson(lambda t, unit=unit: covariance_of(point + t * unit), step))
    finally:
        results.model.state.evaluate(results.theta)
    names = list(results.cov_fe.index)
    variances = np.diag(results.cov_fe.to_numpy())
    gradients = np.array([np.diag(matrix) for matrix in jacobian]).T  # (k, n_varpar)
    denominators = np.einsum("ij,jk,ik->i", gradients, varpar_cov, gradients)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denominators > 0, 2 * variances**2 / denominators, np.inf)
    estimates = results.fe_params[names].to_numpy()
    standard_errors = np.sqrt(variances)
    t_values = estimates / standard_errors
    p_values = 2 * stats.t.sf(np.abs(t_values), df)
    return pd.DataFrame(
        {
            "Estimate": estimates,
            "Std. Error": standard_errors,
            "df": df,
            "t value": t_values,
            "Pr(>|t|)": p_values,
        },
        index=names,
    )


def wald_intervals(results: LmerResults, level: float = 0.95) -> pd.DataFrame:
    """Wald confidence intervals for the fixed effects (lme4's ``confint(method="Wald")``)."""
    quantile = stats.norm.ppf(0.5 + level / 2)
    names = list(results.cov_fe.index)
    estimates = results.fe_params[names].to_numpy()
    errors = results.bse_fe[names].to_numpy()
    lower_label = f"{100 * (1 - level) / 2:g} %"
    upper_label = f"{100 * (1 + level) / 2:g} %"
    return pd.DataFrame(
        {lower_label: estimates - quantile * errors, upper_label: estimates + quantile * errors},
        index=names,
    )
