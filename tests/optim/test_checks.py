"""The convergence checks against known gradients, Hessians and equivalent factors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.optim import checks


def _quadratic(x: np.ndarray) -> float:
    gradient = np.array([0.3, -1.0, 0.5])
    hessian = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])
    return float(gradient @ x + 0.5 * x @ hessian @ x)


def test_quadratic_model_is_exact_on_a_quadratic() -> None:
    rng = np.random.default_rng(0)
    center = np.zeros(3)
    points = rng.normal(scale=0.1, size=(25, 3))
    values = np.array([_quadratic(point) for point in points])
    model = checks.quadratic_model(points, values, center, _quadratic(center))
    assert model is not None
    gradient, hessian = model
    np.testing.assert_allclose(gradient, [0.3, -1.0, 0.5], atol=1e-10)
    np.testing.assert_allclose(
        hessian, [[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]], atol=1e-8
    )


def test_quadratic_model_leaves_out_the_optimisers_first_wide_steps() -> None:
    # As Penicillin's fit: the last trust regions within 1e-4 of the optimum, and a
    # few of the first steps 500 times farther out, where a cubic term dominates.
    rng = np.random.default_rng(3)
    gradient = np.array([0.2, -0.1])
    hessian = np.array([[4.0, 1.0], [1.0, 2.0]])

    def criterion(x: np.ndarray) -> float:
        return float(gradient @ x + 0.5 * x @ hessian @ x + 100.0 * (x**3).sum())

    angles = rng.uniform(0.0, 2.0 * np.pi, size=11)
    near = 1e-4 * np.column_stack([np.cos(angles), np.sin(angles)])
    far = 0.05 * np.array([[1.0, 0.0], [0.0, 1.0], [-0.7, 0.7]])
    points = np.vstack([near, far])
    values = np.array([criterion(point) for point in points])
    model = checks.quadratic_model(points, values, np.zeros(2), 0.0)
    assert model is not None
    np.testing.assert_allclose(model[0], gradient, atol=1e-4)
    np.testing.assert_allclose(model[1], hessian, atol=0.1)


def test_quadratic_model_refuses_points_on_the_axes_only() -> None:
    # Points on the coordinate axes do not determine the cross terms.
    steps = [scale * unit for scale in (0.1, -0.1, 0.2, 0.05) for unit in np.eye(3)]
    points = np.array(steps)
    values = np.array([_quadratic(point) for point in points])
    assert checks.quadratic_model(points, values, np.zeros(3), 0.0) is None


def test_forward_gradient_matches_the_analytic_one() -> None:
    x = np.array([0.2, -0.1, 0.3])
    free = np.array([True, False, True])
    gradient = checks.forward_gradient(_quadratic, x, _quadratic(x), free)
    exact = (
        np.array([0.3, -1.0, 0.5])
        + np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]]) @ x
    )
    np.testing.assert_allclose(gradient, exact[free], atol=1e-4)


def test_central_hessian_stays_feasible_near_a_bound() -> None:
    seen = []

    def recorded(x: np.ndarray) -> float:
        seen.append(x.copy())
        return _quadratic(x)

    x = np.array([1e-5, 0.5, 0.5])
    lower = np.array([0.0, -np.inf, 0.0])
    hessian = checks.central_hessian(recorded, x, np.ones(3, dtype=bool), lower)
    assert min(point[0] for point in seen) >= 0.0
    np.testing.assert_allclose(
        hessian, [[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]], rtol=1e-4
    )


def test_derivative_checks_flag_a_gradient_and_a_saddle() -> None:
    free = np.arange(2)
    labels = ["a", "b"]
    passed = checks.derivative_checks(np.zeros(2), np.eye(2), 100.0, free, labels)
    assert all(check.passed for check in passed)
    sloped = checks.derivative_checks(np.array([0.0, 0.1]), np.eye(2), 100.0, free, labels)
    gradient = next(check for check in sloped if check.name == "gradient")
    assert not gradient.passed
    assert gradient.term == "b"
    assert gradient.value == pytest.approx(0.005)  # Newton decrement g' H^-1 g / 2
    saddle = checks.derivative_checks(np.zeros(2), np.diag([1.0, -1.0]), 100.0, free, labels)
    hessian = next(check for check in saddle if check.name == "hessian")
    assert not hessian.passed
    assert hessian.term == "b"


def _two_slope_model() -> mm.LinearMixedModel:
    rng = np.random.default_rng(1)
    n = 60
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "g": pd.Categorical(np.repeat(np.arange(12), 5).astype(str)),
        }
    )
    return mm.LinearMixedModel.from_formula("y ~ x + (x + z | g)", data)


def test_theta_labels_use_lme4_names() -> None:
    model = _two_slope_model()
    labels = checks.theta_labels(model.blocks, model.n_theta)
    assert labels[:3] == ["g.(Intercept)", "g.x.(Intercept)", "g.z.(Intercept)"]
    assert labels[3] == "g.x"


def test_mirrored_and_rotated_points_keep_the_covariance() -> None:
    model = _two_slope_model()
    block = model.blocks[0]
    partners = checks.column_partners(model.blocks)
    theta = np.array([0.0, 0.4, -0.3, 0.7, 0.2, 0.5])  # T_11 = 0
    factor = block.lambda_factor(theta)
    trials = checks.boundary_trials(theta, model.lower_bounds, np.array([0]), partners)
    kinds = {kind for index, kind, _ in trials if index == 0}
    assert kinds == {"step", "mirrored step", "rotated step", "rotated mirrored step"}
    for index, kind, point in trials:
        if index != 0 or kind == "step":
            continue
        moved = point.copy()
        moved[0] = 0.0  # undo the step off the bound
        other = block.lambda_factor(moved)
        np.testing.assert_allclose(other @ other.T, factor @ factor.T, atol=1e-12)
        if kind.startswith("rotated"):
            assert other[1, 1] == 0.0  # row 2 moved into column 1
