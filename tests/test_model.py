"""Every lme4 reference fit, reproduced by mm.lmer to the documented tolerances.

Tolerances (shared/reference/README): logLik not below lme4's by more than
1e-6 relative; fixed effects within 1e-5 relative; standard errors and variance
components within 1e-3 relative; exactly zero variance on singular fits.
"""

from __future__ import annotations

import copy
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import CASE_NAMES, load_case

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning


def fitted(name: str):
    """A private copy of the reference fit: no test sees another test's side effects."""
    return copy.deepcopy(_fitted(name))


@cache
def _fitted(name: str):
    reference = load_case(name)
    data = mm.datasets.load(reference["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        return mm.lmer(reference["formula"], data, REML=reference["REML"])


def _relative(got: float, want: float) -> float:
    return abs(got - want) / max(abs(want), 1e-300)


@pytest.mark.parametrize("name", CASE_NAMES, ids=CASE_NAMES)
def test_loglik_reaches_reference(name: str) -> None:
    reference = load_case(name)
    fit = fitted(name)
    want = reference["logLik"]
    assert fit.llf >= want - 1e-6 * max(1.0, abs(want))
    assert fit.converged
    assert fit.nobs == reference["nobs"]


@pytest.mark.parametrize("name", CASE_NAMES, ids=CASE_NAMES)
def test_fixed_effects_and_standard_errors(name: str) -> None:
    reference = load_case(name)
    fit = fitted(name)
    assert list(fit.fe_params.index) == list(reference["fixef"])
    for term, value in reference["fixef"].items():
        assert _relative(fit.fe_params[term], value) < 1e-5, term
    for term, value in reference["se"].items():
        assert _relative(fit.bse_fe[term], value) < 1e-3, term
    np.testing.assert_allclose(fit.cov_fe.to_numpy(), np.array(reference["vcov"]), rtol=2e-3)


@pytest.mark.parametrize("name", CASE_NAMES, ids=CASE_NAMES)
def test_variance_components(name: str) -> None:
    reference = load_case(name)
    fit = fitted(name)
    table = fit.varcorr()
    want = pd.DataFrame(reference["varcorr"])
    assert len(table) == len(want)
    largest = want["vcov"].abs().max()
    for (_, row), (_, expected) in zip(table.iterrows(), want.iterrows(), strict=True):
        assert row["grp"] == expected["grp"]
        for column in ("var1", "var2"):
            want_name = expected.get(column)
            if isinstance(want_name, str):
                assert row[column] == want_name
            else:
                assert pd.isna(row[column])
        if expected["vcov"] == 0:
            assert abs(row["vcov"]) <= 1e-6 * largest
        else:
            assert _relative(row["vcov"], expected["vcov"]) < 1e-3, (row, expected)
    assert _relative(fit.scale, reference["sigma2"]) < 1e-3


@pytest.mark.parametrize("name", CASE_NAMES, ids=CASE_NAMES)
def test_information_criteria_and_theta(name: str) -> None:
    reference = load_case(name)
    fit = fitted(name)
    assert fit.aic == pytest.approx(reference["AIC"], rel=1e-6, abs=1e-3)
    assert fit.bic == pytest.approx(reference["BIC"], rel=1e-6, abs=1e-3)
    assert fit.singular == reference["singular"]
    theta = np.atleast_1d(np.asarray(reference["theta"], dtype=float))
    np.testing.assert_allclose(fit.theta, theta, rtol=2e-3, atol=2e-5)


@pytest.mark.parametrize("name", CASE_NAMES, ids=CASE_NAMES)
def test_conditional_modes(name: str) -> None:
    reference = load_case(name)
    fit = fitted(name)
    modes = fit.ranef()
    sds = fit.ranef_condsd()
    scale = max(abs(row["condval"]) for row in reference["ranef"]) or 1.0
    for row in reference["ranef"]:
        got = modes[row["grpvar"]].loc[row["grp"], row["term"]]
        assert abs(got - row["condval"]) <= 2e-3 * scale, row
        if sds is not None:
            got_sd = sds[row["grpvar"]].loc[row["grp"], row["term"]]
            assert abs(got_sd - row["condsd"]) <= 2e-3 * max(row["condsd"], 1e-8) + 1e-8, row


def test_singular_fit_is_flagged_and_exact() -> None:
    reference = load_case("dyestuff2_singular_reml")
    data = mm.datasets.load(reference["dataset"])
    with pytest.warns(SingularFitWarning):
        fit = mm.lmer(reference["formula"], data)
    assert fit.singular
    assert fit.theta[0] == 0.0
    assert fit.varcorr()["vcov"].iloc[0] == 0.0


def test_sitka_slopes_reach_the_true_optimum_where_lme4_stops() -> None:
    fit = fitted("sitka_rs_reml")
    assert fit.llf >= -62.48344 - 1e-6 * 62.48344
    assert not fit.singular


def test_fitted_plus_residual_is_response() -> None:
    fit = fitted("sleepstudy_rs_reml")
    data = mm.datasets.load("sleepstudy")
    np.testing.assert_allclose(fit.fittedvalues + fit.resid, data["Reaction"])
    np.testing.assert_allclose(fit.predict(data), fit.fittedvalues, rtol=1e-10)


def test_predict_new_level_uses_population_part() -> None:
    fit = fitted("sleepstudy_rs_reml")
    new = pd.DataFrame({"Days": [0.0, 5.0], "Subject": ["unseen", "308"]})
    prediction = fit.predict(new, allow_new_levels=True)  # lme4 raises without it (issue 13)
    beta = fit.fe_params
    assert prediction.iloc[0] == pytest.approx(beta["(Intercept)"])
    modes = fit.ranef()["Subject"].loc["308"]
    expected = beta["(Intercept)"] + modes["(Intercept)"] + 5 * (beta["Days"] + modes["Days"])
    assert prediction.iloc[1] == pytest.approx(expected)


def test_from_cross_products_is_the_same_model_without_rows() -> None:
    data = mm.datasets.load("sleepstudy")
    memory = mm.LinearMixedModel.from_formula("Reaction ~ Days + (Days | Subject)", data)
    design = memory.design
    model = mm.LinearMixedModel.from_cross_products(
        memory.cross, design.terms, memory.fixed_names, REML=True, design=design
    )
    assert model.rows is None and memory.rows is not None
    assert model.n_obs == memory.n_obs and model.n_theta == memory.n_theta
    np.testing.assert_array_equal(model.theta_scale, memory.theta_scale)
    theta = np.array([0.9, 0.05, 0.2])
    assert model.objective(theta) == memory.objective(theta)
    assert model.fit().llf == pytest.approx(memory.fit().llf, rel=1e-12)


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def _crossed_model() -> mm.LinearMixedModel:
    rng = np.random.default_rng(11)
    data = pd.DataFrame(
        {
            "g": rng.integers(0, 40, 600).astype(str),
            "h": rng.integers(0, 15, 600).astype(str),
            "y": rng.normal(size=600),
        }
    )
    return mm.LinearMixedModel.from_formula("y ~ 1 + (1 | g) + (1 | h)", data)


def test_thread_policy_is_active_during_initial_theta(monkeypatch) -> None:
    """The start's evaluation of the criterion (the first dense factorisation of a
    crossed model) runs under the fit's BLAS thread limit, not after it."""
    from threadpoolctl import threadpool_limits

    if not _blas_threads():
        pytest.skip("no BLAS library visible to threadpoolctl")
    model = _crossed_model()
    seen: dict[str, list[list[int]]] = {"evaluate": [], "initial_theta": []}
    evaluate = model.state.evaluate
    initial_theta = model.initial_theta

    def recording_evaluate(theta):
        seen["evaluate"].append(_blas_threads())
        return evaluate(theta)

    def recording_initial_theta():
        seen["initial_theta"].append(_blas_threads())
        return initial_theta()

    monkeypatch.setattr(model.state, "evaluate", recording_evaluate)
    monkeypatch.setattr(model, "initial_theta", recording_initial_theta)
    with threadpool_limits(limits=2, user_api="blas"):  # as an unlimited process would be
        outside = _blas_threads()
        model.fit(warn=False)
        assert _blas_threads() == outside  # the limit is lifted after the fit
    assert seen["initial_theta"] and seen["evaluate"]
    for threads in seen["initial_theta"] + seen["evaluate"]:
        assert threads and all(count == model.blas_threads for count in threads)


def test_objective_outside_fit_uses_the_thread_policy_for_large_models(monkeypatch) -> None:
    from threadpoolctl import threadpool_limits

    import mixedmodels.model as model_module

    if not _blas_threads():
        pytest.skip("no BLAS library visible to threadpoolctl")
    monkeypatch.setattr(model_module, "GUARD_OBJECTIVE_ABOVE", 10)
    model = _crossed_model()  # 55 random effects: "large" under the lowered threshold
    seen = []
    evaluate = model.state.evaluate

    def recording_evaluate(theta):
        seen.append(_blas_threads())
        return evaluate(theta)

    monkeypatch.setattr(model.state, "evaluate", recording_evaluate)
    with threadpool_limits(limits=2, user_api="blas"):
        model.objective(np.array([0.5, 0.5]))
    assert seen and all(count == model.blas_threads for count in seen[0])


def test_results_at_a_given_theta_do_not_optimise() -> None:
    """lme4's ``optimizer = NULL``: the results at the start or at a given theta."""
    sleep = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel.from_formula("Reaction ~ Days + (Days | Subject)", sleep)
    fit = model.fit()
    again = model.results_at(fit.theta)
    assert again.llf == pytest.approx(fit.llf, rel=1e-12)
    np.testing.assert_allclose(again.fe_params, fit.fe_params, rtol=1e-10)
    start = model.results_at()
    np.testing.assert_array_equal(start.theta, model.initial_theta())
    assert start.llf == pytest.approx(-0.5 * model.objective(model.initial_theta()), rel=1e-12)
    assert start.llf < fit.llf
    with pytest.raises(mm.errors.ArgumentError):
        model.results_at([1.0, 0.0])
