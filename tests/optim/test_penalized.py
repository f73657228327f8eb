"""Penalised quadratic problems (``optim/penalized.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.errors import ArgumentError
from mixedmodels.optim.penalized import l1_descent, penalized_estimate, smooth_penalty


def test_l1_descent_soft_thresholds_an_orthogonal_problem() -> None:
    """Diagonal ``Q``: ``b_j = sign(c_j) max(|c_j| - alpha_j / (2 q_j), 0)``."""
    q = np.array([2.0, 1.0, 4.0])
    beta_hat = np.array([1.0, -0.2, -3.0])
    alpha = np.array([1.0, 1.0, 8.0])
    got = l1_descent(np.diag(q), beta_hat, alpha, ceps=1e-4, ptol=1e-10, maxit=50)
    want = np.sign(beta_hat) * np.maximum(np.abs(beta_hat) - alpha / (2 * q), 0.0)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_l1_descent_without_penalty_keeps_the_estimate() -> None:
    precision = np.array([[2.0, 0.5], [0.5, 1.0]])
    beta_hat = np.array([0.7, -1.2])
    got = l1_descent(precision, beta_hat, np.zeros(2), ceps=1e-4, ptol=1e-12, maxit=200)
    np.testing.assert_allclose(got, beta_hat, atol=1e-10)


def test_l1_descent_satisfies_the_optimality_conditions() -> None:
    precision = np.array([[2.0, 0.8, 0.1], [0.8, 1.5, 0.3], [0.1, 0.3, 1.0]])
    beta_hat = np.array([1.0, 0.05, -2.0])
    alpha = np.full(3, 0.5)
    beta = l1_descent(precision, beta_hat, alpha, ceps=1e-8, ptol=1e-13, maxit=1000)
    gradient = 2 * precision @ (beta - beta_hat)
    active = beta != 0
    np.testing.assert_allclose(gradient[active], -alpha[active] * np.sign(beta[active]), atol=1e-8)
    assert np.all(np.abs(gradient[~active]) <= alpha[~active] + 1e-8)
    assert not active.all()


class _Ridge:
    """``sum a b^2`` with statsmodels' penalty interface."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def func(self, beta: np.ndarray) -> np.ndarray:
        return self.weight * beta**2

    def deriv(self, beta: np.ndarray) -> np.ndarray:
        return 2 * self.weight * beta


def test_smooth_penalty_solves_the_ridge_problem() -> None:
    precision = np.array([[2.0, 0.5], [0.5, 1.0]])
    beta_hat = np.array([0.7, -1.2])
    got = smooth_penalty(precision, beta_hat, _Ridge(0.3))
    want = np.linalg.solve(precision + 0.6 * np.eye(2), precision @ beta_hat)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_penalized_estimate_covariance_covers_the_nonzero_coefficients() -> None:
    covariance = np.array([[0.5, 0.1, 0.0], [0.1, 1.0, 0.2], [0.0, 0.2, 2.0]])
    beta_hat = np.array([2.0, 0.01, -1.0])
    beta, kept = penalized_estimate(beta_hat, covariance, "l1", [0.0, 5.0, 0.0], ceps=1e-4,
                                    ptol=1e-10, maxit=500)
    assert beta[1] == 0.0 and beta[0] != 0.0 and beta[2] != 0.0
    assert np.isnan(kept[1]).all() and np.isnan(kept[:, 1]).all()
    precision = np.linalg.inv(covariance)
    np.testing.assert_allclose(
        kept[np.ix_([0, 2], [0, 2])], np.linalg.inv(precision[np.ix_([0, 2], [0, 2])])
    )
    ridge = _Ridge(0.0)
    beta, kept = penalized_estimate(beta_hat, covariance, ridge, 0.3)
    np.testing.assert_allclose(ridge.weight, 0.0)  # the weight is the penalty's own
    assert np.all(np.asarray(ridge.alpha) == 0.3)  # statsmodels' Penalty.alpha is set
    with pytest.raises(ArgumentError, match="method must be 'l1'"):
        penalized_estimate(beta_hat, covariance, "l2", 1.0)
