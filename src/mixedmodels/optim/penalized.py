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
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["l1_descent", "smooth_penalty"]


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
