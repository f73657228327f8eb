"""The one criterion: profiled and fixed-sigma forms agree where they should."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.objective.criterion import criterion, criterion_array


def test_fixed_sigma_at_its_estimate_is_the_profiled_criterion() -> None:
    logdet, pwrss, dof, weights = 12.5, 840.0, 178, -3.25
    sigma = math.sqrt(pwrss / dof)
    assert criterion(logdet, pwrss, dof, weights, sigma) == pytest.approx(
        criterion(logdet, pwrss, dof, weights), rel=1e-14
    )


def test_profiled_sigma_minimises_the_fixed_sigma_criterion() -> None:
    logdet, pwrss, dof = 3.0, 50.0, 40
    sigma_hat = math.sqrt(pwrss / dof)
    best = criterion(logdet, pwrss, dof, sigma=sigma_hat)
    for factor in (0.5, 0.9, 0.99, 1.01, 1.1, 2.0):
        assert criterion(logdet, pwrss, dof, sigma=factor * sigma_hat) > best
    # The derivative in sigma vanishes there (central difference).
    h = 1e-5 * sigma_hat
    slope = (
        criterion(logdet, pwrss, dof, sigma=sigma_hat + h)
        - criterion(logdet, pwrss, dof, sigma=sigma_hat - h)
    ) / (2 * h)
    assert abs(slope) < 1e-6


def test_edge_values() -> None:
    assert criterion(1.0, 0.0, 10) == -math.inf
    assert math.isnan(criterion(1.0, -1.0, 10))
    assert criterion(1.0, 5.0, 10, sigma=0.0) == math.inf


def test_fixed_sigma_matches_the_model_at_lme4s_estimate() -> None:
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    state = fit.criterion_state()
    assert state.evaluate(fit.theta, sigma=fit.sigma) == pytest.approx(fit.objective, rel=1e-12)
    assert state.evaluate(fit.theta, sigma=1.1 * fit.sigma) > fit.objective
    np.testing.assert_equal(state.evaluate(fit.theta), fit.objective)


def test_criterion_array_is_the_criterion_elementwise() -> None:
    logdet = np.array([3.5, -2.0, 40.0, 1.0])
    pwrss = np.array([1e3, 2.5, 1e-8, 0.0])
    values = criterion_array(logdet, pwrss, 162, sum_log_weights=0.75)
    expected = [criterion(a, b, 162, 0.75) for a, b in zip(logdet, pwrss, strict=True)]
    np.testing.assert_allclose(values, expected, rtol=1e-15)
