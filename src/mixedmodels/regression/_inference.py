"""Sampling covariance of statsmodels' variance parameters, by the delta method.

Notation
--------
============  ==============================================================
symbol        meaning
============  ==============================================================
``theta``     the engine's relative covariance factor at the estimate
``sigma``     the residual standard deviation; ``s2 = sigma^2`` (``scale``)
``A``         ``cov(theta, sigma) = 2 H^{-1}``, ``H`` the Hessian of the
              engine's criterion with ``sigma`` fixed: the one computed for
              lmerTest's Satterthwaite df (:mod:`mixedmodels.results.inference`)
``psi``       profile variance parameters: lower triangle of ``T T'`` and
              ``theta_vc^2``, statsmodels' ``params`` beyond the fixed effects
``J``         ``d psi / d theta`` (``psi`` is quadratic in ``theta``)
============  ==============================================================

With ``omega = (theta, s2)``, ``cov(omega) = G A G'`` for ``G = diag(I, 2 sigma)``.
Then

* profile parameters: ``cov(psi) = J cov(theta) J'``; this is also the inverse
  Hessian of the criterion with ``s2`` profiled out, i.e. statsmodels'
  ``cov_params()`` block for these parameters;
* natural parameters ``s2 psi``: ``cov = N cov(omega) N'`` with ``N = [s2 J, psi]``,
  which includes the uncertainty of ``s2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..optim.hessian import jacobian
from ..results.inference import varpar_covariance

if TYPE_CHECKING:
    from ..results.lmer import LmerResults
    from ._design import ThetaLayout

__all__ = ["variance_covariances"]


def profile_jacobian(layout: ThetaLayout, theta: np.ndarray) -> np.ndarray:
    """``J = d psi / d theta``: central differences, exact because ``psi`` is quadratic."""
    theta = np.asarray(theta, dtype=float)
    if not len(theta):
        return np.zeros((len(layout.packed(theta)), 0))
    return np.column_stack(jacobian(layout.packed, theta, np.ones(len(theta))))


def variance_covariances(
    lmer: LmerResults, layout: ThetaLayout
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(cov(psi), cov(s2 psi))`` at the fit (see the module notes).

    Returns
    -------
    tuple of ndarray, or None
        None when the Hessian is not positive definite at the estimate.
    """
    cov_varpar, _ = varpar_covariance(lmer)
    m = len(lmer.theta)
    scale_jacobian = np.ones(m + 1)
    scale_jacobian[m] = 2.0 * lmer.sigma
    # Rank in sigma's units of its estimate (its variance scales as sigma^2).
    unit_free = cov_varpar / np.outer(scale_jacobian, scale_jacobian)
    if not np.all(np.isfinite(cov_varpar)) or np.linalg.matrix_rank(unit_free) < m + 1:
        return None
    cov_omega = scale_jacobian[:, None] * cov_varpar * scale_jacobian[None, :]
    psi_jacobian = profile_jacobian(layout, lmer.theta)
    cov_profile = psi_jacobian @ cov_omega[:m, :m] @ psi_jacobian.T
    natural = np.column_stack([lmer.scale * psi_jacobian, layout.packed(lmer.theta)])
    return cov_profile, natural @ cov_omega @ natural.T
