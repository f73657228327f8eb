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
``D(varphi)``   REML criterion (or ML deviance) with ``sigma`` fixed
                (:mod:`mixedmodels.objective.criterion`)
``H``           Hessian of ``D`` at the optimum (:mod:`mixedmodels.optim.hessian`)
``V(varphi)``   ``sigma^2 (L_X L_X')^{-1}``, the covariance of beta
==============  ============================================================

Derivatives are central finite differences with Richardson extrapolation,
on a private copy of the fit's state (the results are not touched); the tests
compare the degrees of freedom with lmerTest's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..optim.hessian import hessian, jacobian

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["satterthwaite_table", "varpar_covariance", "wald_intervals"]


def _criterion_and_covariance(
    results: LmerResults,
) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    """``D(varphi)`` and ``V(varphi)``, evaluated on a fork of the fit's state."""
    state = results.criterion_state()
    n_theta = results.model.n_theta

    def criterion(varpar: np.ndarray) -> float:
        return state.evaluate(varpar[:n_theta], sigma=varpar[n_theta])

    def covariance(varpar: np.ndarray) -> np.ndarray:
        state.evaluate(varpar[:n_theta])
        return varpar[n_theta] ** 2 * state.fixed_covariance_unscaled()

    return criterion, covariance


def _steps(point: np.ndarray) -> np.ndarray:
    return 1e-3 * np.maximum(np.abs(point), 1e-2)


def varpar_covariance(results: LmerResults) -> tuple[np.ndarray, np.ndarray]:
    """``A = 2 H^{-1}`` and the point ``varphi = (theta, sigma)`` it is taken at."""
    criterion, _ = _criterion_and_covariance(results)
    point = np.append(results.theta, results.sigma)
    covariance = 2 * np.linalg.pinv(hessian(criterion, point, _steps(point), richardson=True))
    return covariance, point


def satterthwaite_table(results: LmerResults) -> pd.DataFrame:
    """Estimate, SE, Satterthwaite df, t value and p value for each fixed effect."""
    _, covariance_of = _criterion_and_covariance(results)
    varpar_cov, point = varpar_covariance(results)
    derivatives = jacobian(covariance_of, point, _steps(point), richardson=True)
    names = list(results.cov_fe.index)
    variances = np.diag(results.cov_fe.to_numpy())
    gradients = np.array([np.diag(matrix) for matrix in derivatives]).T  # (k, n_varpar)
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
