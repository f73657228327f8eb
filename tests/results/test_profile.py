"""Profile-likelihood confidence intervals against lme4's ``confint(method="profile")``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CASE_NAMES, load_case
from conftest import fit_reference as _fit
from scipy import stats

import mixedmodels as mm
from mixedmodels.results.profile import _Profiler

PROFILE_CASES = [name for name in CASE_NAMES if "confint_profile" in load_case(name)]


def _reference_table(reference: dict) -> pd.DataFrame:
    profile = reference["confint_profile"]
    names, lower, upper = (
        np.atleast_1d(profile[key]).tolist() for key in ("names", "lower", "upper")
    )
    # JSON null is lme4's NA (a limit the profile never reaches).
    lower = [np.nan if value is None else value for value in lower]
    upper = [np.nan if value is None else value for value in upper]
    return pd.DataFrame({"2.5 %": lower, "97.5 %": upper}, index=names, dtype=float)


@pytest.mark.parametrize("name", PROFILE_CASES, ids=PROFILE_CASES)
def test_profile_intervals_match_lme4(name: str) -> None:
    reference, fit = _fit(name)
    expected = _reference_table(reference)
    intervals = fit.confint(method="profile")
    # Same rows, same order as lme4's oldNames=FALSE output.
    assert list(intervals.index) == list(expected.index)
    assert list(intervals.columns) == ["2.5 %", "97.5 %"]
    for term in expected.index:
        for column in expected.columns:
            want = expected.loc[term, column]
            got = intervals.loc[term, column]
            if np.isnan(want):
                assert np.isnan(got), (term, column)
            else:
                # lme4 interpolates a spline through the profile; we root-find on zeta.
                assert got == pytest.approx(want, rel=1e-3, abs=1e-4), (term, column)


def test_profile_endpoints_are_roots_of_zeta() -> None:
    _, fit = _fit("sleepstudy_rs_ml")
    intervals = fit.confint(level=0.9)
    assert list(intervals.columns) == ["5 %", "95 %"]
    quantile = stats.norm.ppf(0.95)
    profiler = _Profiler(fit)
    zeta = profiler.zeta_beta(1, {})
    lower, upper = intervals.loc["Days"]
    assert zeta(lower) == pytest.approx(-quantile, abs=1e-6)
    assert zeta(upper) == pytest.approx(quantile, abs=1e-6)
    zeta_sigma = profiler.zeta_v(profiler.n_theta, {})
    lower, upper = intervals.loc["sigma"]
    assert zeta_sigma(lower) == pytest.approx(-quantile, abs=1e-5)
    assert zeta_sigma(upper) == pytest.approx(quantile, abs=1e-5)


def test_profile_leaves_fit_state_and_estimates_alone() -> None:
    _, fit = _fit("sleepstudy_rs_reml")
    before = fit.model.objective(fit.theta)
    intervals = fit.confint()
    assert fit.model.state.evaluate(fit.theta) == before
    # Intervals bracket the ML estimates (profiles are ML, as lme4's refitML).
    assert (intervals["2.5 %"] < intervals["97.5 %"]).all()
    assert intervals.loc["Days", "2.5 %"] < fit.fe_params["Days"] < intervals.loc["Days", "97.5 %"]


def test_confint_wald_and_bad_method() -> None:
    _, fit = _fit("dyestuff_reml")
    pd.testing.assert_frame_equal(fit.confint(method="Wald"), fit.conf_int())
    with pytest.raises(ValueError, match="method"):
        fit.confint(method="bogus")  # "boot" is implemented now (issue 9)
    with pytest.raises(ValueError, match="level"):
        fit.confint(level=1.5)


def test_weighted_profile_matches_lme4() -> None:
    # Prior weights 1 + (Days mod 3) on sleepstudy, ML. Variance rows: lme4 1.1-31
    # confint(profile(fm, delta.cutoff = 1/64)). Fixed-effect rows: lme4's own profile
    # is wrong with weights (intervals of width 0.1), so the expected ends were checked
    # in R by refitting with Days * b in the offset: sqrt(deviance difference) = 1.959964.
    data = mm.datasets.load("sleepstudy").copy()
    weights = 1.0 + (data["Days"].to_numpy() % 3)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data, REML=False, weights=weights)
    intervals = fit.confint()
    expected = {
        "sd_(Intercept)|Subject": (16.130386848, 39.524151899),
        "cor_Days.(Intercept)|Subject": (-0.575188447, 0.483577555),
        "sd_Days|Subject": (4.349423164, 9.563479349),
        "sigma": (28.458433512, 35.865326733),
        "Days": (7.31770975, 14.03702752),
    }
    for term, (lower, upper) in expected.items():
        assert intervals.loc[term, "2.5 %"] == pytest.approx(lower, rel=1e-4), term
        assert intervals.loc[term, "97.5 %"] == pytest.approx(upper, rel=1e-4), term


# ---------------------------------------------------------------- several levels
LEVELS = (0.8, 0.95, 0.99, 0.999)
LEVEL_REFERENCE = Path(__file__).parents[1] / "reference" / "profile" / "profile_levels.json"
LEVEL_CASES = ["sleepstudy", "penicillin"]


@pytest.fixture(scope="module")
def level_reference() -> dict:
    return json.loads(LEVEL_REFERENCE.read_text())


@pytest.fixture(scope="module", params=LEVEL_CASES, ids=LEVEL_CASES)
def level_intervals(request, level_reference) -> tuple[str, list[pd.DataFrame], _Profiler]:
    case = level_reference["cases"][request.param]
    fit = mm.lmer(case["formula"], mm.datasets.load(case["dataset"]))
    return request.param, [fit.confint(level=level) for level in LEVELS], _Profiler(fit)


def test_intervals_at_every_level_match_lme4(level_intervals, level_reference) -> None:
    # lme4 1.1-31 confint(profile(fit), level=...): 0.99 once raised scipy's
    # "f(a) and f(b) must have different signs" on sleepstudy's correlation.
    name, tables, _ = level_intervals
    expected = level_reference["cases"][name]["intervals"]
    for level, table, want in zip(LEVELS, tables, expected, strict=True):
        assert list(table.index) == want["names"]
        for column, values in zip(table.columns, (want["lower"], want["upper"]), strict=True):
            for term, value in zip(want["names"], values, strict=True):
                got = table.loc[term, column]
                assert got == pytest.approx(value, rel=1e-3, abs=1e-4), (level, term, column)


def test_intervals_nest_as_the_level_grows(level_intervals) -> None:
    _, tables, _ = level_intervals
    for narrow, wide in itertools.pairwise(tables):
        assert (wide.iloc[:, 0].to_numpy() <= narrow.iloc[:, 0].to_numpy()).all()
        assert (wide.iloc[:, 1].to_numpy() >= narrow.iloc[:, 1].to_numpy()).all()
        assert (narrow.iloc[:, 0] < narrow.iloc[:, 1]).all()


def test_interval_limits_stay_inside_the_parameter_bounds(level_intervals) -> None:
    _, tables, profiler = level_intervals
    lower, upper = profiler.v_bounds()
    count = profiler.n_theta + 1
    for table in tables:
        assert np.isfinite(table.to_numpy()).all()
        ends = table.to_numpy()[:count]
        assert (ends >= lower[:, None]).all() and (ends <= upper[:, None]).all()


def test_a_limit_past_the_bound_is_the_bound() -> None:
    # lme4 reports 1 for sleepstudy's correlation at 99.9 %: zeta(1) < 3.29.
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    profiler = _Profiler(fit)
    zeta = profiler.zeta_v(1)
    assert 0 < zeta(1.0) < stats.norm.ppf(0.9995)
    assert fit.confint(level=0.999).loc["cor_Days.(Intercept)|Subject", "99.95 %"] == 1.0


def test_zeta_is_one_function_whatever_the_order_of_evaluation() -> None:
    # At cor = -1 the minimiser has an sd at 0; warm-starting cor = -0.534 from
    # there once gave zeta(-1) again (a local minimum), so Brent's bracket
    # changed sign. Points now start from their neighbour towards the estimate.
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    profiler = _Profiler(fit)
    outward, inward = profiler.zeta_v(1), profiler.zeta_v(1)
    values = [-0.134, -0.534, -1.0]
    forward = [outward(value) for value in values]
    backward = [inward(value) for value in reversed(values)][::-1]
    assert forward == pytest.approx(backward, abs=1e-6)
    assert forward[1] > forward[2]  # zeta decreases on the left of the estimate
    assert outward(-1.0) == forward[2]  # evaluated once, then remembered
