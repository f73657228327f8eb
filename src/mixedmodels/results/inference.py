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

``dV/d varphi`` is exact, through the blocked factor
(:mod:`mixedmodels.results.jacobian`); ``H`` takes central differences in
``theta`` only (its ``sigma`` row is exact), on a private copy of the fit's
state. Both are computed once per fit; every test statistic
(:mod:`~mixedmodels.results.contrasts`, :mod:`~mixedmodels.results.anova`) uses
them. The tests compare the degrees of freedom with lmerTest's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from ..optim.hessian import jacobian

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["delta_covariance", "satterthwaite_table", "varpar_covariance", "wald_intervals"]


def varpar_covariance(results: LmerResults) -> tuple[np.ndarray, np.ndarray]:
    """``A = 2 H^{-1}`` and the point ``varphi = (theta, sigma)`` it is taken at.

    See :func:`mixedmodels.results.jacobian.varpar_covariance` (on a private
    copy of the fit's state).
    """
    from .jacobian import varpar_covariance as covariance

    point = np.append(results.theta, results.sigma)
    with threadpool_limits(limits=results.model.blas_threads, user_api="blas"):
        value = covariance(
            results.criterion_state(),
            results.theta,
            results.sigma,
            results.model.theta_scale,
        )
    return value, point


def delta_covariance(
    results: LmerResults, function: Callable[[np.ndarray, float], np.ndarray]
) -> np.ndarray | None:
    """Covariance of ``function(theta, sigma)`` by the delta method: ``J A J'``.

    ``J`` is the Jacobian at the estimate by central differences with unit
    steps, exact for a ``function`` quadratic in each coordinate (variances
    and covariances are). Returns None when ``A`` is not positive definite
    (rank measured with ``sigma`` in the units of ``sigma^2``).
    """
    cov_varpar, point = varpar_covariance(results)
    units = np.append(np.ones(len(results.theta)), 2.0 * results.sigma)
    if not np.all(np.isfinite(cov_varpar)) or np.linalg.matrix_rank(
        cov_varpar / np.outer(units, units)
    ) < len(units):
        return None
    parts = jacobian(lambda p: np.asarray(function(p[:-1], p[-1])), point, np.ones(len(point)))
    derivative = np.column_stack(parts)
    return derivative @ cov_varpar @ derivative.T


def satterthwaite_table(results: LmerResults) -> pd.DataFrame:
    """Estimate, SE, Satterthwaite df, t value and p value for each fixed effect.

    The one implementation is :func:`mixedmodels.results.contrasts.coefficient_table`
    (exact Jacobian of ``V``, Hessian computed once per fit and cached).
    """
    from .contrasts import coefficient_table

    return coefficient_table(results, "Satterthwaite")


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
