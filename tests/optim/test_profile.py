"""The profile step: minimum over the free coordinates with one held fixed."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.optim.profile import profile_minimum

MATRIX = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 1.5]])
CENTRE = np.array([1.0, -0.5, 2.0])


def _quadratic(u: np.ndarray) -> float:
    d = u - CENTRE
    return float(d @ MATRIX @ d)


def test_profile_of_a_quadratic_is_the_schur_complement() -> None:
    # Fixing u_0 = a: the minimum is (a - c_0)^2 / (MATRIX^{-1})_00.
    inverse = np.linalg.inv(MATRIX)
    lower = np.full(3, -np.inf)
    for value in (0.0, 0.5, 2.5):
        result = profile_minimum(_quadratic, CENTRE, lower, fixed=0, value=value)
        assert result.theta[0] == value
        expected = (value - CENTRE[0]) ** 2 / inverse[0, 0]
        assert result.objective == pytest.approx(expected, rel=1e-6, abs=1e-12)
        # The minimiser moves the others along the regression of u_rest on u_0.
        shift = inverse[1:, 0] / inverse[0, 0] * (value - CENTRE[0])
        np.testing.assert_allclose(result.theta[1:], CENTRE[1:] + shift, atol=1e-5)


def test_bounds_hold_and_nothing_fixed_minimises_all() -> None:
    lower = np.array([-np.inf, 0.0, -np.inf])
    upper = np.array([np.inf, np.inf, 1.0])
    result = profile_minimum(_quadratic, np.zeros(3), lower, upper)
    assert result.theta[1] >= 0.0 and result.theta[2] <= 1.0
    assert result.theta[2] == pytest.approx(1.0, abs=1e-8)
    full = profile_minimum(_quadratic, np.zeros(3), np.full(3, -np.inf))
    np.testing.assert_allclose(full.theta, CENTRE, atol=1e-5)
