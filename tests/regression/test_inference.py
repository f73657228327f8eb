"""Delta-method covariances of statsmodels' variance parameters (``regression/_inference.py``)."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pytest

import mixedmodels.api as sm
import mixedmodels.formula.api as smf
from mixedmodels.design.terms import full_pattern
from mixedmodels.optim.hessian import hessian
from mixedmodels.regression import _inference
from mixedmodels.regression._design import ThetaLayout


@cache
def _dietox_rs():
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time").fit()


def test_profile_jacobian_is_the_derivative_of_t_t_transpose() -> None:
    """``psi = [t0^2, t0 t1, t1^2 + t2^2, t3^2]`` for ``T = [[t0, 0], [t1, t2]]``, vc ``t3``."""
    layout = ThetaLayout(4, full_pattern(2), [3])
    t0, t1, t2, t3 = 0.7, -0.4, 1.3, 0.5
    want = np.array(
        [
            [2 * t0, 0, 0, 0],
            [t1, t0, 0, 0],
            [0, 2 * t1, 2 * t2, 0],
            [0, 0, 0, 2 * t3],
        ]
    )
    got = _inference.profile_jacobian(layout, np.array([t0, t1, t2, t3]))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_profile_covariance_is_the_inverse_information_of_psi() -> None:
    """Independent check: half the Hessian of the profiled criterion in ``psi`` itself."""
    fit = copy.deepcopy(_dietox_rs())
    engine, layout = fit.engine, fit.layout
    psi = layout.packed(fit.theta)

    def criterion(point: np.ndarray) -> float:
        cov = np.array([[point[0], point[1]], [point[1], point[2]]])
        return engine.objective(layout.theta_from_profile(cov, np.zeros(0)))

    information = hessian(criterion, psi, 1e-3 * np.abs(psi), richardson=True) / 2
    cov_profile, cov_natural = _inference.variance_covariances(fit.lmer, layout)
    want = np.linalg.inv(information)
    np.testing.assert_allclose(np.diag(cov_profile), np.diag(want), rtol=2e-3)
    # Off-diagonal entries on the correlation scale (their own size can be tiny).
    sd = np.sqrt(np.diag(want))
    np.testing.assert_allclose(cov_profile / np.outer(sd, sd), want / np.outer(sd, sd), atol=1e-3)
    assert cov_natural.shape == (3, 3)
    assert np.all(np.linalg.eigvalsh(cov_natural) > 0)
    # The natural scale (checked against an independent Hessian for the random intercept in
    # test_mixedlm_standard_errors.py) is a covariance matrix too.


def test_not_positive_definite_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    fit = _dietox_rs()
    singular = np.zeros((4, 4))
    singular[0, 0] = 1.0
    monkeypatch.setattr(_inference, "varpar_covariance", lambda lmer: (singular, None))
    assert _inference.variance_covariances(fit.lmer, fit.layout) is None
