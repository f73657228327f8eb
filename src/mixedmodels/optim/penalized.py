"""Penalised quadratic problems: the fixed effects of statsmodels' ``fit_regularized``.

With the variance parameters held at their estimates, ``-log L`` is a quadratic
in the fixed effects ``b``:

============  ==============================================================
symbol        meaning
============  ==============================================================
``Q``         precision of the estimate, ``cov(beta_hat)^{-1}``
``beta_hat``  the unpenalised estimate
``alpha``     one penalty weight per coefficient
============  ==============================================================

:func:`l1_descent` minimises ``b'Qb - 2 b'Q beta_hat + sum alpha_j |b_j|`` by
statsmodels' coordinate descent (a coefficient that reaches ``|b_j| < ceps``
stays at zero), and :func:`smooth_penalty` minimises
``(b - beta_hat)'Q(b - beta_hat)/2 + sum penalty(b)`` for a differentiable
penalty (statsmodels' ``L2`` and ``PseudoHuber``: ``func`` and ``deriv``).
:func:`penalized_estimate` chooses between them and gives the covariance.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ..errors import ArgumentError

__all__ = ["l1_descent", "penalized_estimate", "smooth_penalty"]


def l1_descent(
    precision: np.ndarray, beta_hat: np.ndarray, alpha: np.ndarray, ceps: float, ptol: float,
    maxit: int,
) -> np.ndarray:
    """Coordinate descent for the L1 problem (see the module notes)."""
    target = precision @ beta_hat
    beta = np.array(beta_hat, dtype=float)
    for _ in range(maxit):
        previous = beta.copy()
        for j in range(len(beta)):
            if abs(beta[j]) < ceps:
                continue
            beta[j] = 0.0
            slope = -2.0 * (target[j] - precision[j] @ beta)
            if abs(slope) > alpha[j]:
                beta[j] = -(slope - np.sign(slope) * alpha[j]) / (2 * precision[j, j])
        if np.abs(previous - beta).max() < ptol:
            break
    return beta


def smooth_penalty(precision: np.ndarray, beta_hat: np.ndarray, penalty: object) -> np.ndarray:
    """The minimiser for a differentiable ``penalty`` (see the module notes), by BFGS."""

    def objective(beta: np.ndarray) -> tuple[float, np.ndarray]:
        delta = beta - beta_hat
        value = 0.5 * delta @ precision @ delta + float(np.sum(penalty.func(beta)))
        return value, precision @ delta + penalty.deriv(beta)

    return optimize.minimize(objective, beta_hat, jac=True, method="BFGS").x


def penalized_estimate(
    beta_hat: np.ndarray, covariance: np.ndarray, method: object, alpha: float | np.ndarray,
    ceps: float = 1e-4, ptol: float = 1e-6, maxit: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """The penalised estimate for ``method`` (``"l1"`` or a penalty with ``func`` and
    ``deriv``, whose ``alpha`` is set) and its covariance: ``Q^{-1}`` restricted to the
    coefficients that are not zero (``|b_j| > ceps``), NaN elsewhere."""
    precision = np.linalg.inv(covariance)
    weights = np.broadcast_to(np.asarray(alpha, dtype=float), beta_hat.shape).copy()
    if hasattr(method, "func") and hasattr(method, "deriv"):
        method.alpha = weights
        beta = smooth_penalty(precision, beta_hat, method)
    elif method == "l1":
        beta = l1_descent(precision, beta_hat, weights, ceps, ptol, maxit)
    else:
        raise ArgumentError(f"method must be 'l1' or a statsmodels Penalty, got {method!r}")
    keep = np.abs(beta) > ceps
    kept_covariance = np.full(covariance.shape, np.nan)
    kept_covariance[np.ix_(keep, keep)] = np.linalg.inv(precision[np.ix_(keep, keep)])
    return beta, kept_covariance
