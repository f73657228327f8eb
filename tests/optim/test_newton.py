"""Batched Newton: derivatives from its stencil, convergence, and what it hands back."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.optim import newton
from mixedmodels.optim.newton import batched_newton


def _quartic(centres: np.ndarray, curvature: np.ndarray):
    """``f_r(x) = 100 + q_r(x - c_r) + (x - c_r)_1^4``: one minimum at ``c_r``, not quadratic."""

    def function(points: np.ndarray, ids: np.ndarray) -> np.ndarray:
        offset = points - centres[ids]
        quadratic = 0.5 * np.einsum("ni,ij,nj->n", offset, curvature, offset)
        return 100.0 + quadratic + offset[:, 0] ** 4

    return function


def test_stencil_derivatives_are_exact_on_a_quadratic() -> None:
    rng = np.random.default_rng(1)
    n = 3
    a = rng.standard_normal((n, n))
    hessian = a @ a.T + n * np.eye(n)
    gradient = rng.standard_normal(n)
    offsets = newton._stencil(n, 1e-3)
    assert offsets.shape == (1 + 2 * n + n * (n - 1), n)
    values = 5.0 + offsets @ gradient + 0.5 * np.einsum("si,ij,sj->s", offsets, hessian, offsets)
    got_gradient, got_hessian = newton._derivatives(values[None], n, 1e-3)
    np.testing.assert_allclose(got_gradient[0], gradient, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(got_hessian[0], hessian, rtol=1e-6, atol=1e-6)


def test_every_replicate_reaches_its_own_minimum() -> None:
    rng = np.random.default_rng(2)
    centres = rng.uniform(0.5, 2.0, (25, 3))
    curvature = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    lower = np.array([0.0, -np.inf, 0.0])
    result = batched_newton(_quartic(centres, curvature), np.ones((25, 3)), lower)
    assert result.converged.all()
    np.testing.assert_allclose(result.x, centres, atol=1e-6)
    assert np.all(result.decrement <= 1e-7 * 100 * newton.DECREMENT_FACTOR)
    assert np.all(result.iterations < newton.MAX_ITERATIONS)


def test_a_minimum_on_the_bound_is_handed_back_unconverged() -> None:
    centres = np.array([[1.0, 1.0], [-0.5, 1.0]])  # the second is below the bound x_0 >= 0
    function = _quartic(centres, np.eye(2))
    result = batched_newton(function, np.ones((2, 2)), np.array([0.0, -np.inf]))
    assert result.converged.tolist() == [True, False]
    assert result.x[1, 0] >= 0.0  # never left the feasible set
    np.testing.assert_allclose(result.x[0], centres[0], atol=1e-6)


def test_ids_pick_the_criterion_of_each_replicate() -> None:
    centres = np.array([[1.0], [2.0], [3.0]])
    function = _quartic(centres, np.eye(1))
    result = batched_newton(function, np.zeros((2, 1)), np.array([-np.inf]), ids=np.array([2, 0]))
    np.testing.assert_allclose(result.x[:, 0], [3.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("start", [0.2, 5.0])
def test_not_positive_definite_start_still_converges(start: float) -> None:
    """A double well: from a concave region the step uses |H| and still descends."""

    def function(points: np.ndarray, ids: np.ndarray) -> np.ndarray:
        x = points[:, 0]
        return (x * x - 4.0) ** 2 + 0.1 * x

    result = batched_newton(function, np.array([[start]]), np.array([-np.inf]))
    assert result.converged.all()
    x = result.x[0, 0]
    assert abs(4 * x * (x * x - 4.0) + 0.1) < 1e-6
