"""The exact Jacobian of vcov(beta) against central differences of the criterion's state."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_formula

from mixedmodels.results.jacobian import covariance_jacobian

MODELS = {
    "slopes": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "independent": ("sleepstudy", "Reaction ~ Days + (Days || Subject)"),
    "crossed": ("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "nested": ("Alfalfa", "Yield ~ Date * Variety + (1 | Block/Variety)"),
    "factors": ("dietox", "Weight ~ Time * Evit + Cu + (Time | Pig)"),
}


@pytest.mark.parametrize("case", list(MODELS), ids=list(MODELS))
def test_jacobian_matches_finite_differences(case: str) -> None:
    fit = fit_formula(*MODELS[case])
    state = fit.model.state
    jacobian = covariance_jacobian(state, fit.model.cross, fit.theta, fit.sigma)

    def covariance(point: np.ndarray) -> np.ndarray:
        state.evaluate(point[:-1])
        return point[-1] ** 2 * state.fixed_covariance_unscaled()

    point = np.append(fit.theta, fit.sigma)
    try:
        for index in range(len(point)):
            step = np.zeros(len(point))
            step[index] = 1e-5 * max(abs(point[index]), 1e-2)
            numeric = (covariance(point + step) - covariance(point - step)) / (2 * step[index])
            scale = np.max(np.abs(jacobian[index]))
            assert np.max(np.abs(numeric - jacobian[index])) < 1e-5 * scale, index
    finally:
        state.evaluate(fit.theta)
