"""Standard errors of the variance parameters and profile likelihoods of MixedLM."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pytest

import mixedmodels.api as sm
import mixedmodels.formula.api as smf
from mixedmodels.errors import MixedModelsError
from mixedmodels.results.inference import varpar_covariance


def dietox_ri():
    """A private copy of the fit: no test sees another test's side effects."""
    return copy.deepcopy(_dietox_ri())


@cache
def _dietox_ri():
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit()


def criterion_parts(engine, theta: np.ndarray) -> tuple[float, float]:
    """The criterion's parts at ``theta``: ``log|L|^2 - sum log w`` and ``r^2`` (on a fork)."""
    state = engine.state.fork()
    state.evaluate(np.asarray(theta, dtype=float))
    return float(state.logdet() - engine.cross.sum_log_weights), float(state.pwrss)


def _second_derivative(function, x: float, step: float) -> float:
    return (function(x + step) - 2 * function(x) + function(x - step)) / step**2


def test_profile_scale_se_matches_statsmodels_definition() -> None:
    """bse of 'Group Var' is statsmodels' 0.637336; checked by an independent derivative.

    With the scale profiled out the criterion is c(psi) at theta = sqrt(psi);
    the observed information of psi is c''(psi) / 2.
    """
    fit = dietox_ri()
    engine = fit.engine
    psi = fit.params["Group Var"]

    def criterion(value: float) -> float:
        return engine.objective(np.array([np.sqrt(value)]))

    information = _second_derivative(criterion, psi, 1e-3 * psi) / 2
    engine.state.evaluate(fit.theta)
    assert fit.bse["Group Var"] == pytest.approx(1 / np.sqrt(information), rel=1e-4)
    assert fit.bse["Group Var"] == pytest.approx(0.637336, rel=1e-4)  # statsmodels' bse


def test_natural_scale_se_from_full_likelihood() -> None:
    """bse_re is the SE of Group Var = 40.39 itself: 6.94, not statsmodels' 2.149.

    Independent check: the Hessian of -2 log L in (variance, scale), both
    natural, by plain finite differences.
    """
    fit = dietox_ri()
    engine = fit.engine
    d = engine.n_obs - engine.n_fixed

    def minus_two_loglik(point: np.ndarray) -> float:
        variance, scale = point
        a, pwrss = criterion_parts(engine, np.array([np.sqrt(variance / scale)]))
        return a + d * np.log(2 * np.pi * scale) + pwrss / scale

    centre = np.array([fit.cov_re.iloc[0, 0], fit.scale])
    steps = 1e-3 * centre
    hessian = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                shift = np.zeros(2)
                shift[i] += si * steps[i]
                shift[j] += sj * steps[j]
                total += sign * minus_two_loglik(centre + shift)
            hessian[i, j] = total / (4 * steps[i] * steps[j])
    engine.state.evaluate(fit.theta)
    covariance = 2 * np.linalg.inv(hessian)
    assert fit.bse_re["Group Var"] == pytest.approx(np.sqrt(covariance[0, 0]), rel=1e-3)
    assert fit.bse_re["Group Var"] == pytest.approx(6.94, abs=0.01)
    # statsmodels' summary number is sqrt(scale) * bse, which is not this.
    assert np.sqrt(fit.scale) * fit.bse["Group Var"] == pytest.approx(2.149, abs=1e-3)


def test_hessian_scale_block_is_analytic() -> None:
    """The analytic scale entries of the Hessian agree with finite differences.

    The Hessian is the one behind the variance covariances: lmerTest's in
    ``(theta, sigma)`` (:func:`mixedmodels.results.inference.varpar_covariance`),
    here carried to ``(x, s2)``, ``x = theta * theta_scale``.
    """
    fit = dietox_ri()
    engine = fit.engine
    cov_theta_sigma, _ = varpar_covariance(fit.lmer)
    to_x_s2 = np.array([engine.theta_scale[0], 2 * np.sqrt(fit.scale)])
    hessian = 2 * np.linalg.inv(to_x_s2[:, None] * cov_theta_sigma * to_x_s2[None, :])
    d = engine.n_obs - engine.n_fixed
    x0 = fit.theta * engine.theta_scale

    def f(x: float, scale: float) -> float:
        a, pwrss = criterion_parts(engine, np.array([x / engine.theta_scale[0]]))
        return a + d * np.log(2 * np.pi * scale) + pwrss / scale

    h_x, h_s = 1e-4 * x0[0], 1e-4 * fit.scale
    cross = (
        f(x0[0] + h_x, fit.scale + h_s)
        - f(x0[0] + h_x, fit.scale - h_s)
        - f(x0[0] - h_x, fit.scale + h_s)
        + f(x0[0] - h_x, fit.scale - h_s)
    ) / (4 * h_x * h_s)
    second = _second_derivative(lambda s: f(x0[0], s), fit.scale, h_s)
    engine.state.evaluate(fit.theta)
    assert hessian[0, 1] == pytest.approx(cross, rel=1e-5)
    assert hessian[1, 1] == pytest.approx(second, rel=1e-5)


def test_natural_se_is_equivariant_under_rescaling() -> None:
    """Multiplying endog by 10 multiplies variances and their SEs by 100."""
    data = sm.datasets.get_rdataset("dietox", "geepack").data.copy()
    data["W10"] = 10 * data["Weight"]
    fit = dietox_ri()
    scaled = smf.mixedlm("W10 ~ Time", data, groups=data["Pig"], re_formula="~1").fit()
    assert scaled.cov_re.iloc[0, 0] == pytest.approx(100 * fit.cov_re.iloc[0, 0], rel=1e-5)
    assert scaled.bse_re.iloc[0] == pytest.approx(100 * fit.bse_re.iloc[0], rel=1e-3)
    assert scaled.bse.iloc[-1] == pytest.approx(fit.bse.iloc[-1], rel=1e-3)


def test_compare_with_statsmodels_fit() -> None:
    """Where statsmodels reaches the optimum, its bse agrees; its bse_re is sqrt(scale) * bse."""
    statsmodels_api = pytest.importorskip("statsmodels.formula.api")
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    theirs = statsmodels_api.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit()
    ours = dietox_ri()
    assert ours.llf == pytest.approx(theirs.llf, rel=1e-9)
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-5)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-4)
    assert theirs.bse_re.iloc[0] == pytest.approx(np.sqrt(ours.scale) * ours.bse.iloc[-1], 1e-4)


def test_vc_profile_peaks_at_estimate() -> None:
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    vc = {"litter": "0 + C(Litter)"}
    fit = smf.mixedlm("Weight ~ Time", data, groups="Evit", vc_formula=vc, re_formula="1").fit()
    estimate = fit.vcomp[0]
    profile = fit.profile_re(
        "litter", "vc", num_low=3, dist_low=0.5 * estimate, num_high=3, dist_high=0.5 * estimate
    )
    assert profile.shape == (7, 2)
    assert np.all(np.isfinite(profile))
    assert int(np.argmax(profile[:, 1])) == 3
    assert profile[3, 1] == pytest.approx(fit.llf, rel=1e-9)
    with pytest.raises(MixedModelsError, match="dist_low"):
        fit.profile_re("litter", "vc", dist_low=2 * estimate)
    with pytest.raises(MixedModelsError, match="litter"):
        fit.profile_re("nope", "vc")


def test_profile_of_only_variance() -> None:
    fit = dietox_ri()
    variance = fit.cov_re.iloc[0, 0]
    profile = fit.profile_re(0, "re", dist_low=10, dist_high=10)
    assert profile.shape == (11, 2)
    assert int(np.argmax(profile[:, 1])) == 5
    # Fixed profile-scale variance times the refitted scale.
    assert profile[5, 0] == pytest.approx(variance, rel=1e-8)
