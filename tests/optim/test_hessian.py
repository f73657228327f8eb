"""Finite-difference Hessian and Jacobian against analytic derivatives."""

from __future__ import annotations

import numpy as np

from mixedmodels.optim.hessian import hessian, jacobian


def _function(x: np.ndarray) -> float:
    return float(np.exp(x[0]) * np.sin(x[1]) + x[0] ** 2 * x[2] + np.log(1 + x[2] ** 2))


def _exact_hessian(x: np.ndarray) -> np.ndarray:
    e, s, c = np.exp(x[0]), np.sin(x[1]), np.cos(x[1])
    d = 1 + x[2] ** 2
    return np.array(
        [
            [e * s + 2 * x[2], e * c, 2 * x[0]],
            [e * c, -e * s, 0.0],
            [2 * x[0], 0.0, (2 * d - 4 * x[2] ** 2) / d**2],
        ]
    )


def test_hessian_matches_the_analytic_one() -> None:
    point = np.array([0.3, 0.7, -0.4])
    steps = np.full(3, 1e-3)
    exact = _exact_hessian(point)
    plain = hessian(_function, point, steps)
    extrapolated = hessian(_function, point, steps, richardson=True)
    np.testing.assert_allclose(plain, exact, atol=1e-5)
    np.testing.assert_allclose(extrapolated, exact, atol=1e-8)
    # Richardson extrapolation removes the h^2 error term.
    assert np.abs(extrapolated - exact).max() < np.abs(plain - exact).max()
    np.testing.assert_array_equal(plain, plain.T)


def test_quadratic_is_exact() -> None:
    matrix = np.array([[2.0, 0.5], [0.5, 1.0]])

    def quadratic(x: np.ndarray) -> float:
        return float(x @ matrix @ x)

    np.testing.assert_allclose(
        hessian(quadratic, np.array([1.0, -2.0]), np.array([0.1, 0.1])), 2 * matrix, atol=1e-10
    )


def test_jacobian_of_a_matrix_valued_function() -> None:
    def function(x: np.ndarray) -> np.ndarray:
        return np.array([[x[0] ** 2, x[0] * x[1]], [np.sin(x[1]), 1.0]])

    point = np.array([1.5, 0.2])
    derivatives = jacobian(function, point, np.array([1e-3, 1e-3]), richardson=True)
    np.testing.assert_allclose(derivatives[0], [[3.0, 0.2], [0.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(derivatives[1], [[0.0, 1.5], [np.cos(0.2), 0.0]], atol=1e-9)
