"""``MixedLMResults`` on the engine's results (``regression/_results.py``)."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels.api as sm
import mixedmodels.formula.api as smf
from mixedmodels.errors import DataError
from mixedmodels.optim.hessian import hessian
from mixedmodels.regression._results import variance_covariances
from mixedmodels.results import inference


def _dietox() -> pd.DataFrame:
    return sm.datasets.get_rdataset("dietox", "geepack").data


@cache
def _dietox_rs():
    data = _dietox()
    return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time").fit()


def fit_rs():
    """A private copy of the fit: no test sees another test's side effects."""
    return copy.deepcopy(_dietox_rs())


def test_random_effects_equal_the_engines_conditional_modes() -> None:
    """The per-group solve equals the engine's blocked factor (lme4's ranef and condVar)."""
    fit = fit_rs()
    modes = fit.lmer.ranef()["Group"]
    covariances = fit.lmer.ranef_condcov()["Group"]
    assert list(fit.random_effects) == fit.model.group_labels
    for index, label in enumerate(fit.model.group_labels):
        ours = fit.random_effects[label]
        assert ours.index.tolist() == ["Group", "Time"]
        np.testing.assert_allclose(ours.to_numpy(), modes.iloc[index].to_numpy(), atol=1e-8)
        np.testing.assert_allclose(
            fit.random_effects_cov[label].to_numpy(), covariances[index], rtol=1e-7, atol=1e-12
        )
    np.testing.assert_allclose(fit.fittedvalues, fit.lmer.fittedvalues, rtol=1e-10)
    np.testing.assert_allclose(fit.resid, fit.model.endog - fit.fittedvalues)


def test_params_and_covariance_blocks() -> None:
    fit = fit_rs()
    k_fe = fit.k_fe
    assert fit.params.index.tolist()[:k_fe] == ["Intercept", "Time"]
    np.testing.assert_allclose(fit.fe_params, fit.lmer.fe_params.to_numpy())
    np.testing.assert_allclose(fit.cov_params().iloc[:k_fe, :k_fe], fit.lmer.cov_fe.to_numpy())
    assert np.all(fit.cov_params().iloc[:k_fe, k_fe:].to_numpy() == 0)
    np.testing.assert_allclose(fit.cov_re, fit.scale * fit.cov_re_unscaled)
    np.testing.assert_allclose(fit.bse_fe, np.sqrt(np.diag(fit.lmer.cov_fe)))
    with pytest.raises(AttributeError, match="computed from the fit"):
        fit._results.normalized_cov_params = np.eye(5)


def test_t_test_pads_fixed_effect_contrasts() -> None:
    fit = fit_rs()
    test = fit.t_test(np.array([[0.0, 1.0]]))
    estimate, se = fit.fe_params["Time"], fit.bse_fe["Time"]
    assert float(test.effect[0]) == pytest.approx(estimate)
    assert float(test.sd[0, 0]) == pytest.approx(se)
    assert float(test.pvalue) == pytest.approx(2 * stats.norm.sf(abs(estimate / se)), rel=1e-6)
    assert float(fit.t_test("Time = 0").effect[0]) == pytest.approx(estimate)
    with pytest.raises(ValueError, match="2 columns"):
        fit.t_test(np.array([[1.0, 0.0, 0.0]]))


def test_information_criteria_follow_statsmodels() -> None:
    fit = fit_rs()
    assert np.isnan(fit.aic) and np.isnan(fit.bic)
    data = _dietox()
    ml = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit(reml=False)
    assert ml.method == "ML" and ml.df_modelwc == 4
    assert ml.aic == pytest.approx(-2 * ml.llf + 8)
    assert ml.bic == pytest.approx(-2 * ml.llf + np.log(ml.nobs) * 4)


def test_predict_types() -> None:
    fit = fit_rs()
    data = _dietox()
    fixed = fit.predict()
    assert isinstance(fixed, np.ndarray)
    np.testing.assert_allclose(fixed, fit.model.exog @ fit.fe_params)
    new = data.iloc[:5]
    predicted = fit.predict(new)
    assert isinstance(predicted, pd.Series) and predicted.index.equals(new.index)
    np.testing.assert_allclose(predicted, fixed[:5])
    np.testing.assert_allclose(fit.predict(fit.model.exog[:3]), fixed[:3])


def test_summary_rows_are_the_estimates() -> None:
    fit = fit_rs()
    summary = fit.summary(alpha=0.1)
    table = summary.tables[1]
    assert table.index.tolist() == fit.model.param_names
    assert table.loc["Time", "Coef."] == f"{fit.fe_params['Time']:.3f}"
    assert table.loc["Time Var", "Coef."] == f"{fit.cov_re.iloc[1, 1]:.3f}"
    assert table.loc["Time Var", "Std.Err."] == f"{fit.bse_re['Time Var']:.3f}"
    assert table.columns.tolist()[-2:] == ["[0.05", "0.95]"]
    assert table.loc["Time Var", "z"] == ""
    renamed = fit.summary(xname_fe=["a", "b"]).tables[1]
    assert renamed.index.tolist()[:2] == ["a", "b"]


def test_random_effects_of_components_match_the_per_group_formulas() -> None:
    """Scalar components on their own factor, with a column without data in every group:
    modes ``G Z'V^-1 r`` and covariances ``G - G Z'V^-1 Z G`` of each group."""
    import warnings

    rng = np.random.default_rng(1)
    n_groups, size = 30, 8
    labels = np.repeat(np.arange(n_groups), size)
    exog = np.column_stack([np.ones(n_groups * size), rng.normal(size=n_groups * size)])
    endog = exog @ [1.0, 2.0] + rng.normal(size=n_groups * size)
    vc = {"a": {}}
    for group in range(n_groups):
        width = 2 + group % 2  # unequal widths: a factor of its own
        level = rng.integers(0, width - 1, size)  # the last column has no data
        vc["a"][group] = np.eye(width)[level]
        endog[labels == group] += 1.5 * rng.normal(size=width)[level]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fit = sm.MixedLM(endog, exog, labels, exog_vc=vc).fit()
    for group in (0, 1, 17):
        z = vc["a"][group]
        prior = fit.vcomp[0] * np.eye(z.shape[1])
        v = z @ prior @ z.T + fit.scale * np.eye(size)
        rows = labels == group
        resid = endog[rows] - exog[rows] @ fit.fe_params
        np.testing.assert_allclose(
            fit.random_effects[group], prior @ z.T @ np.linalg.solve(v, resid), atol=1e-10
        )
        want = prior - prior @ z.T @ np.linalg.solve(v, z @ prior)
        np.testing.assert_allclose(fit.random_effects_cov[group], want, atol=1e-10)


# ---------------------------------------------------------------------- variance covariances
def test_profile_covariance_is_the_inverse_information_of_psi() -> None:
    """Independent check: half the Hessian of the profiled criterion in ``psi`` itself."""
    fit = fit_rs()
    engine, layout = fit.engine, fit.layout
    psi = layout.packed(fit.theta)

    def criterion(point: np.ndarray) -> float:
        cov = np.array([[point[0], point[1]], [point[1], point[2]]])
        return engine.objective(layout.theta_from_profile(cov, np.zeros(0)))

    information = hessian(criterion, psi, 1e-3 * np.abs(psi), richardson=True) / 2
    cov_profile, cov_natural = variance_covariances(fit.lmer, layout)
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
    monkeypatch.setattr(inference, "varpar_covariance", lambda lmer: (singular, None))
    assert variance_covariances(fit.lmer, fit.layout) is None


# ---------------------------------------------------------------------- profile_re
def test_profile_of_the_second_random_coefficient_peaks_at_the_estimate() -> None:
    """re_ix=1 permutes exog_re so that its variance is a single entry of T."""
    fit = fit_rs()
    variance = fit.cov_re.iloc[1, 1]
    profile = fit.profile_re(1, "re", num_low=2, dist_low=0.3 * variance, num_high=2,
                             dist_high=0.3 * variance)
    assert profile.shape == (5, 2)
    assert profile[2, 0] == pytest.approx(variance, rel=1e-6)
    assert profile[2, 1] == pytest.approx(fit.llf, rel=1e-9)
    assert int(np.argmax(profile[:, 1])) == 2
    assert np.all(np.diff(profile[:, 0]) > 0)
    # The fit itself is not moved by the profile.
    assert fit.cov_re.iloc[1, 1] == variance
    assert fit.engine.objective(fit.theta) == pytest.approx(-2 * fit.llf, rel=1e-12)


def test_profile_points_are_constrained_maxima() -> None:
    """Each grid point is the maximum over the other parameters with the variance fixed."""
    fit = fit_rs()
    variance = fit.cov_re.iloc[0, 0]
    profile = fit.profile_re(0, "re", num_low=1, dist_low=0.5 * variance, num_high=0)
    low = profile[0, 1]
    # Moving only the fixed variance (other theta at the estimate) is no better.
    cov = np.asarray(fit.cov_re_unscaled).copy()
    cov[0, 0] *= 0.5  # the grid's low point: (estimate - dist_low) on the profile scale
    cov[0, 1] = cov[1, 0] = 0.0
    theta = fit.layout.theta_from_profile(cov, np.zeros(0))
    assert -0.5 * fit.engine.objective(theta) <= low + 1e-8


def test_profile_errors() -> None:
    fit = _dietox_rs()
    with pytest.raises(DataError, match="vtype"):
        fit.profile_re(0, "variance")
    with pytest.raises(DataError, match="re_ix"):
        fit.profile_re(2, "re")
    with pytest.raises(DataError, match="variance component"):
        fit.profile_re("nope", "vc")
