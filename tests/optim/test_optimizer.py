"""BOBYQA wrappers: the fit's minimiser and the profiles' bounded one."""

from __future__ import annotations

import numpy as np

from mixedmodels.optim.optimizer import minimize_bounded, minimize_theta


def test_minimize_theta_respects_bounds_and_snaps_to_zero() -> None:
    def quadratic(theta: np.ndarray) -> float:
        return float((theta[0] + 0.3) ** 2 + (theta[1] - 1.0) ** 2)

    result = minimize_theta(quadratic, np.array([1.0, 0.5]), np.array([0.0, -np.inf]))
    assert result.theta[0] == 0.0
    np.testing.assert_allclose(result.theta[1], 1.0, atol=1e-5)
    assert result.converged


def test_minimize_bounded_honours_both_bounds_and_scaling() -> None:
    def quadratic(x: np.ndarray) -> float:
        return float((x[0] - 3.0) ** 2 + (x[1] + 2.0) ** 2)

    result = minimize_bounded(
        quadratic,
        np.array([0.0, 0.0]),
        np.array([-1.0, -1.0]),
        np.array([2.0, 5.0]),
        scale=np.array([10.0, 0.1]),
    )
    np.testing.assert_allclose(result.theta, [2.0, -1.0], atol=1e-8)
    assert result.objective == quadratic(result.theta)
    assert result.n_evaluations > 0
