"""The statsmodels-compatible MixedLM against lme4 references and mm.lmer."""

from __future__ import annotations

import copy
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import load_case

import mixedmodels as mm
import mixedmodels.api as sm
import mixedmodels.formula.api as smf
from mixedmodels.errors import (
    DataError,
    FormulaError,
    MissingDataError,
    MixedModelsTypeError,
    SingularFitWarning,
)
from mixedmodels.regression._design import re_pattern_from_free
from mixedmodels.regression.mixed_linear_model import MixedLM, MixedLMParams


def _relative(got: float, want: float) -> float:
    return abs(got - want) / abs(want)


def dietox() -> pd.DataFrame:
    return sm.datasets.get_rdataset("dietox", "geepack").data  # a fresh copy per call


def dietox_ri():
    """A private copy of the fit: no test sees another test's side effects."""
    return copy.deepcopy(_dietox_ri())


def dietox_rs():
    """A private copy of the fit: no test sees another test's side effects."""
    return copy.deepcopy(_dietox_rs())


@cache
def _dietox_ri():
    data = dietox()
    return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit()


@cache
def _dietox_rs():
    data = dietox()
    return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time").fit()


def nested_data(seed: int = 0) -> pd.DataFrame:
    """Students in classrooms in schools; classroom labels are reused across schools."""
    rng = np.random.default_rng(seed)
    rows = []
    for school in range(10):
        school_effect = rng.normal(0, 1.5)
        for classroom in range(int(rng.integers(2, 5))):
            class_effect = rng.normal(0, 0.8)
            for _ in range(int(rng.integers(4, 9))):
                x = rng.normal()
                y = 1 + 0.5 * x + school_effect + class_effect + rng.normal(0, 1)
                rows.append((f"s{school}", f"c{classroom}", x, y))
    return pd.DataFrame(rows, columns=["school", "classroom", "x", "y"])


# ---------------------------------------------------------------------- names
def test_parameter_names_from_formula() -> None:
    data = dietox()
    assert dietox_ri().params.index.tolist() == ["Intercept", "Time", "Group Var"]
    assert dietox_rs().params.index.tolist() == [
        "Intercept",
        "Time",
        "Group Var",
        "Group x Time Cov",
        "Time Var",
    ]
    model = smf.mixedlm("Weight ~ Time", data, groups="Pig", re_formula="~Time")
    assert model.param_names == ["Intercept", "Time", "Pig Var", "Pig x Time Cov", "Time Var"]
    assert model.exog_re_names == ["Pig", "Time"]
    model = smf.mixedlm("Weight ~ Time", data, groups="Pig", re_formula="1")
    assert model.param_names[-1] == "Pig Var"
    model = smf.mixedlm("Weight ~ Time + C(Evit)", data, groups="Pig", re_formula="0 + Time")
    assert model.exog_names == ["Intercept", "Time", "C(Evit)[T.Evit100]", "C(Evit)[T.Evit200]"]
    assert model.param_names[-1] == "Time Var"


def test_parameter_names_from_arrays() -> None:
    data = sm.datasets.get_rdataset("Sitka", "MASS").data
    exog = np.column_stack([np.ones(len(data)), data["Time"].to_numpy()])
    model = MixedLM(data["size"].to_numpy(), exog, data["tree"].to_numpy(), exog_re=exog)
    assert model.exog_names == ["const", "x1"]
    assert model.endog_names == "y"
    assert model.param_names == ["const", "x1", "x_re1 Var", "x_re1 x x_re2 Cov", "x_re2 Var"]
    model = MixedLM(data["size"], exog, data["tree"])
    assert model.param_names == ["const", "x1", "Group Var"]
    assert model.endog_names == "size"
    vc = {"v": {g: np.ones((5, 1)) for g in data["tree"].unique()}}
    model = MixedLM(data["size"], exog, data["tree"], exog_vc=vc)
    assert model.k_re == 0 and model.k_vc == 1
    assert model.param_names == ["const", "x1", "v Var"]


def test_api_namespace() -> None:
    assert sm.regression.mixed_linear_model.MixedLMParams is MixedLMParams
    assert sm.MixedLM is MixedLM
    assert smf.mixedlm == MixedLM.from_formula
    frame = sm.add_constant(pd.DataFrame({"a": [1.0, 2.0]}))
    assert frame.columns.tolist() == ["const", "a"]
    assert sm.add_constant(np.array([1.0, 2.0])).shape == (2, 2)
    assert sm.add_constant(frame) is frame


# ---------------------------------------------------------------------- references
def test_random_intercept_matches_lme4() -> None:
    fit = dietox_ri()
    reference = load_case("dietox_ri_reml")
    assert _relative(fit.llf, reference["logLik"]) < 1e-6
    assert _relative(fit.scale, reference["sigma2"]) < 1e-5
    assert _relative(fit.cov_re.iloc[0, 0], reference["varcorr"][0]["vcov"]) < 1e-4
    for name, value in reference["fixef"].items():
        key = "Intercept" if name == "(Intercept)" else name
        assert _relative(fit.fe_params[key], value) < 1e-6
        assert _relative(fit.bse_fe[key], reference["se"][name]) < 1e-4
    assert fit.method == "REML"
    assert np.isnan(fit.aic) and np.isnan(fit.bic)


def test_ml_fit_equals_lmer() -> None:
    data = dietox()
    model = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time")
    fit = model.fit(reml=False)
    want = mm.lmer("Weight ~ Time + (1 + Time | Pig)", data, REML=False).llf
    assert _relative(fit.llf, want) < 1e-7
    assert _relative(fit.llf, load_case("dietox_rs_ml")["logLik"]) < 1e-6
    assert fit.method == "ML"
    assert fit.aic == pytest.approx(-2 * fit.llf + 2 * 6)
    assert fit.bic == pytest.approx(-2 * fit.llf + np.log(fit.nobs) * 6)
    # The cached REML engine is not disturbed by the ML fit.
    assert _relative(model.fit().llf, load_case("dietox_rs_reml")["logLik"]) < 1e-6


def test_crossed_vc_formula_matches_penicillin() -> None:
    data = mm.datasets.load("Penicillin")
    vc = {"plate": "0 + C(plate)", "sample": "0 + C(sample)"}
    model = smf.mixedlm("diameter ~ 1", data, groups=np.ones(len(data)), vc_formula=vc)
    fit = model.fit()
    reference = load_case("penicillin_crossed_reml")
    assert _relative(fit.llf, reference["logLik"]) < 1e-6
    variances = {row["grp"]: row["vcov"] for row in reference["varcorr"]}
    np.testing.assert_allclose(fit.vcomp, [variances["plate"], variances["sample"]], rtol=1e-4)
    assert _relative(fit.scale, variances["Residual"]) < 1e-4
    assert fit.params.index.tolist() == ["Intercept", "plate Var", "sample Var"]
    assert model.k_re == 0 and model.n_groups == 1
    effects = fit.random_effects[1.0]
    want = [row for row in reference["ranef"] if row["grpvar"] == "plate" and row["grp"] == "a"]
    assert effects["plate[C(plate)[a]]"] == pytest.approx(want[0]["condval"], rel=1e-4)
    covariance = fit.random_effects_cov[1.0]
    assert np.sqrt(covariance.loc["plate[C(plate)[a]]", "plate[C(plate)[a]]"]) == pytest.approx(
        want[0]["condsd"], rel=1e-4
    )


def test_nested_vc_formula_matches_lmer() -> None:
    data = nested_data()
    model = smf.mixedlm(
        "y ~ x", data, groups="school", re_formula="1", vc_formula={"classroom": "0 + C(classroom)"}
    )
    fit = model.fit()
    reference = mm.lmer("y ~ x + (1|school) + (1|school:classroom)", data)
    assert _relative(fit.llf, reference.llf) < 1e-7
    table = reference.varcorr().set_index("grp")["vcov"]
    assert fit.cov_re.iloc[0, 0] == pytest.approx(table["school"], rel=1e-4)
    assert fit.vcomp[0] == pytest.approx(table["school:classroom"], rel=1e-4)
    assert fit.params.index.tolist() == ["Intercept", "x", "school Var", "classroom Var"]
    effects = fit.random_effects["s0"]
    n_classes = data.loc[data.school == "s0", "classroom"].nunique()
    assert effects.index.tolist()[0] == "school"
    assert len(effects) == 1 + n_classes
    ranef = reference.ranef()
    assert effects["school"] == pytest.approx(ranef["school"].loc["s0", "(Intercept)"], rel=1e-5)
    assert effects["classroom[C(classroom)[c0]]"] == pytest.approx(
        ranef["school:classroom"].loc["s0:c0", "(Intercept)"], rel=1e-5
    )
    np.testing.assert_allclose(fit.fittedvalues.to_numpy(), reference.fittedvalues, rtol=1e-6)


def test_exog_vc_dict_form_equals_formula() -> None:
    data = nested_data(1)
    formula_fit = smf.mixedlm(
        "y ~ x", data, groups="school", vc_formula={"classroom": "0 + C(classroom)"}
    ).fit()
    exog = sm.add_constant(data[["x"]])
    vc = {"classroom": {}}
    for school, rows in data.groupby("school").groups.items():
        dummies = pd.get_dummies(data.loc[rows, "classroom"]).astype(float)
        vc["classroom"][school] = dummies
    fit = MixedLM(data["y"], exog, data["school"], exog_vc=vc).fit()
    assert fit.llf == pytest.approx(formula_fit.llf, rel=1e-9)
    np.testing.assert_allclose(fit.vcomp, formula_fit.vcomp, rtol=1e-5)
    assert fit.random_effects["s1"].index[0] == "classroom[c0]"
    reference = mm.lmer("y ~ x + (1|school:classroom)", data)
    assert fit.llf == pytest.approx(reference.llf, rel=1e-8)


def test_tied_variance_component_matches_statsmodels_likelihood() -> None:
    """A component with several non-zeros per row: one variance tied over its columns."""
    statsmodels = pytest.importorskip("statsmodels.regression.mixed_linear_model")
    rng = np.random.default_rng(3)
    n_groups, size = 30, 8
    groups = np.repeat(np.arange(n_groups), size)
    x1, x2 = rng.normal(size=(2, n_groups * size))
    slopes = rng.normal(0, 0.7, size=(n_groups, 2))
    y = 1 + x1 + slopes[groups, 0] * x1 + slopes[groups, 1] * x2 + rng.normal(size=len(groups))
    data = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": groups})
    vc = {"slopes": "0 + x1 + x2"}
    fit = smf.mixedlm("y ~ x1", data, groups="g", vc_formula=vc).fit()
    assert fit.model.components[0].tied
    sm_model = statsmodels.MixedLM.from_formula("y ~ x1", data, groups="g", vc_formula=vc)
    sm_model.reml, sm_model.cov_pen, sm_model.fe_pen, sm_model._cov_sing = True, None, None, 0
    params = statsmodels.MixedLMParams.from_components(
        fit.fe_params.to_numpy(), cov_re=np.zeros((0, 0)), vcomp=fit.vcomp / fit.scale
    )
    assert sm_model.loglike(params, profile_fe=True) == pytest.approx(fit.llf, rel=1e-9)
    assert fit.llf >= sm_model.fit().llf - 1e-6


def test_random_slopes_match_statsmodels_likelihood() -> None:
    """statsmodels' own log-likelihood at our estimate equals our llf."""
    statsmodels = pytest.importorskip("statsmodels.regression.mixed_linear_model")
    data = dietox()
    fit = dietox_rs()
    sm_model = statsmodels.MixedLM.from_formula(
        "Weight ~ Time", data, groups=data["Pig"], re_formula="~Time"
    )
    sm_model.reml, sm_model.cov_pen, sm_model.fe_pen, sm_model._cov_sing = True, None, None, 0
    params = statsmodels.MixedLMParams.from_components(
        fit.fe_params.to_numpy(), cov_re=fit.cov_re_unscaled.to_numpy()
    )
    assert sm_model.loglike(params, profile_fe=True) == pytest.approx(fit.llf, rel=1e-9)


# ---------------------------------------------------------------------- results
def test_params_bse_cov_re_consistency() -> None:
    fit = dietox_rs()
    k_fe = fit.k_fe
    lower = fit.cov_re.to_numpy()[np.tril_indices(2)]
    np.testing.assert_allclose(fit.params.to_numpy()[k_fe:] * fit.scale, lower, rtol=1e-12)
    np.testing.assert_allclose(fit.cov_re_unscaled.to_numpy() * fit.scale, fit.cov_re.to_numpy())
    covariance = fit.cov_params()
    assert covariance.index.tolist() == fit.params.index.tolist()
    np.testing.assert_allclose(fit.bse.to_numpy(), np.sqrt(np.diag(covariance)))
    np.testing.assert_allclose(fit.bse.to_numpy()[:k_fe], fit.bse_fe.to_numpy())
    np.testing.assert_allclose(fit.tvalues, fit.params / fit.bse)
    interval = fit.conf_int()
    np.testing.assert_allclose(interval[0], fit.params - 1.959963984540054 * fit.bse)
    assert fit.pvalues["Time"] < 1e-10
    assert fit.k_fe == 2 and fit.k_re == 2 and fit.k_re2 == 3 and fit.k_vc == 0
    assert fit.nobs == 861
    assert isinstance(fit.vcomp, np.ndarray) and fit.vcomp.size == 0
    assert fit.bse_re.index.tolist() == ["Group Var", "Group x Time Cov", "Time Var"]
    np.testing.assert_allclose(
        fit.fittedvalues + fit.resid, dietox()["Weight"].to_numpy(), rtol=1e-12
    )
    assert fit.params_object.get_packed(use_sqrt=False, has_fe=True) == pytest.approx(
        fit.params.to_numpy()
    )


def test_random_effects_keyed_by_group_labels() -> None:
    fit = dietox_ri()
    data = dietox()
    assert set(fit.random_effects) == set(data["Pig"].astype(str))
    effect = fit.random_effects["4601"]
    assert effect.index.tolist() == ["Group"]
    assert effect.iloc[0] == pytest.approx(-1.213037, abs=1e-5)  # statsmodels' value
    assert fit.random_effects_cov["4601"].iloc[0, 0] == pytest.approx(0.925539, rel=1e-4)
    sitka = sm.datasets.get_rdataset("Sitka", "MASS").data
    fit = MixedLM(sitka["size"], sm.add_constant(sitka[["Time"]]), sitka["tree"]).fit()
    assert sorted(fit.random_effects) == sorted(sitka["tree"].unique().tolist())
    assert fit.random_effects[1].index.tolist() == ["Group Var"]


def test_summary_layout() -> None:
    text = str(dietox_ri().summary())
    lines = text.splitlines()
    assert lines[0].strip() == "Mixed Linear Model Regression Results"
    assert lines[1] == "=" * len(lines[1])
    assert lines[2].startswith("Model:            MixedLM Dependent Variable: Weight")
    header = next(line for line in lines if "Coef." in line)
    assert header == "             Coef.  Std.Err.    z    P>|z| [0.025 0.975]"
    assert any(line.startswith("Time          6.943    0.033 207.939 0.000") for line in lines)
    assert len({len(line) for line in lines[1:] if line}) == 1


# ---------------------------------------------------------------------- missing data
def test_missing_none_raise_drop() -> None:
    data = dietox()
    with pytest.raises(MissingDataError, match="Feed"):
        smf.mixedlm("Weight ~ Time + Feed", data, groups="Pig").fit()
    with pytest.raises(MissingDataError, match="missing='raise'"):
        smf.mixedlm("Weight ~ Time + Feed", data, groups="Pig", missing="raise")
    model = smf.mixedlm("Weight ~ Time + Feed", data, groups="Pig", missing="drop")
    complete = data.dropna(subset=["Feed"])
    assert model.nobs == len(complete)
    fit = model.fit()
    assert fit.llf == pytest.approx(mm.lmer("Weight ~ Time + Feed + (1|Pig)", data).llf, rel=1e-8)
    assert fit.fittedvalues.index.equals(complete.index)
    # Unused columns with missing values do not matter.
    assert smf.mixedlm("Weight ~ Time", data, groups="Pig").nobs == len(data)


def test_missing_in_arrays() -> None:
    data = dietox()
    y = data["Weight"].to_numpy().copy()
    y[[3, 10]] = np.nan
    exog = sm.add_constant(data[["Time"]])
    with pytest.raises(MissingDataError, match="endog"):
        MixedLM(y, exog, data["Pig"])
    model = MixedLM(y, exog, data["Pig"], missing="drop")
    assert model.nobs == len(data) - 2
    groups = data["Pig"].astype(object).to_numpy().copy()
    groups[0] = np.nan
    with pytest.raises(MissingDataError, match="groups"):
        MixedLM(data["Weight"], exog, groups, missing="raise")
    assert MixedLM(data["Weight"], exog, groups, missing="drop").nobs == len(data) - 1


def test_subset_and_groups_as_array() -> None:
    data = dietox()
    mask = data["Evit"] == "Evit000"
    model = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], subset=mask)
    assert model.nobs == int(mask.sum())
    fit = model.fit()
    assert fit.llf == pytest.approx(mm.lmer("Weight ~ Time + (1|Pig)", data[mask]).llf, rel=1e-8)


# ---------------------------------------------------------------------- free and errors
def test_free_patterns() -> None:
    np.testing.assert_array_equal(re_pattern_from_free(np.eye(2), 2), [[0, -1], [-1, 1]])
    block = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(
        re_pattern_from_free(block, 3), [[0, -1, -1], [-1, 2, -1], [1, -1, 3]]
    )
    path = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    with pytest.raises(NotImplementedError, match="block diagonal"):
        re_pattern_from_free(path, 3)
    with pytest.raises(NotImplementedError, match="diagonal"):
        re_pattern_from_free(np.array([[1, 0], [0, 0]]), 2)


def test_free_with_unsupported_pattern_raises() -> None:
    data = dietox()
    model = smf.mixedlm("Weight ~ Time", data, groups="Pig", re_formula="~Time")
    free = MixedLMParams.from_components(np.ones(2), np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(NotImplementedError, match="fixed at their start value"):
        model.fit(free=free)
    free = MixedLMParams.from_components(np.array([1.0, 0.0]), np.ones((2, 2)))
    with pytest.raises(NotImplementedError, match="fe_params"):
        model.fit(free=free)
    with pytest.raises(NotImplementedError, match="cov_pen"):
        model.fit(cov_pen=object())
    with pytest.raises(MixedModelsTypeError, match="bogus"):
        model.fit(bogus=1)
    # statsmodels' optimiser options are accepted and ignored.
    assert model.fit(method="lbfgs", maxiter=10, niter_sa=3).converged


def test_start_params_and_do_cg() -> None:
    data = dietox()
    model = smf.mixedlm("Weight ~ Time", data, groups="Pig", re_formula="~Time")
    best = dietox_rs()
    again = model.fit(start_params=best.params_object)
    assert again.llf == pytest.approx(best.llf, rel=1e-9)
    frozen = model.fit(start_params=best.params.to_numpy(), do_cg=False)
    assert frozen.llf < best.llf  # packed with use_sqrt=True: a different point
    frozen = MixedLM.from_formula("Weight ~ Time", data, groups="Pig", re_formula="~Time").fit(
        start_params=best.params_object, do_cg=False
    )
    assert frozen.llf == pytest.approx(best.llf, rel=1e-10)


def test_clear_errors() -> None:
    data = dietox()
    with pytest.raises(MixedModelsTypeError, match="groups"):
        smf.mixedlm("Weight ~ Time", data)
    with pytest.raises(FormulaError, match="nope"):
        smf.mixedlm("Weight ~ Time", data, groups="nope")
    with pytest.raises(FormulaError, match="Nothing"):
        smf.mixedlm("Weight ~ Time + Nothing", data, groups="Pig")
    with pytest.raises(FormulaError, match="re_formula"):
        smf.mixedlm("Weight ~ Time", data, groups="Pig", re_formula="y ~ Time")
    with pytest.raises(FormulaError, match="lmer"):
        smf.mixedlm("Weight ~ Time + (1 | Pig)", data, groups="Pig")
    with pytest.raises(DataError, match="exog has"):
        MixedLM(data["Weight"], np.ones((3, 1)), data["Pig"])
    with pytest.raises(DataError, match="rank deficient"):
        MixedLM(data["Weight"], np.column_stack([np.ones(861), np.ones(861)]), data["Pig"])
    with pytest.raises(DataError, match="exog_vc"):
        MixedLM(data["Weight"], np.ones((861, 1)), data["Pig"], exog_vc={"v": {"4601": 1}})


def test_singular_fit_warns() -> None:
    data = mm.datasets.load("Dyestuff2")
    model = smf.mixedlm("Yield ~ 1", data, groups="Batch")
    with pytest.warns(SingularFitWarning):
        fit = model.fit()
    assert fit.cov_re.iloc[0, 0] == 0.0
    assert np.isnan(fit.bse_re.iloc[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "Batch Var" in str(fit.summary())


# ---------------------------------------------------------------------- likelihood
# loglike/score/hessian/get_distribution/fit_regularized: the log-likelihood against
# statsmodels' own at the same parameters (both profile_fe settings, REML and ML); the
# numerical score and Hessian against statsmodels' analytic ones.
statsmodels_mixed = pytest.importorskip("statsmodels.regression.mixed_linear_model")
penalties = pytest.importorskip("statsmodels.base._penalties")


@cache
def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    groups = np.repeat(np.arange(40), 6)
    exog = np.column_stack([np.ones(240), rng.normal(size=(240, 2))])
    exog_re = np.column_stack([np.ones(240), rng.normal(size=240)])
    slopes = rng.normal(size=(40, 2)) * [1.0, 0.5]
    endog = exog @ [1.0, 0.5, -0.5] + (slopes[groups] * exog_re).sum(1) + rng.normal(size=240)
    return {"endog": endog, "exog": exog, "groups": groups, "exog_re": exog_re}


def _models(reml: bool, use_sqrt: bool) -> tuple[MixedLM, object]:
    ours = MixedLM(**_arrays(), use_sqrt=use_sqrt)
    theirs = statsmodels_mixed.MixedLM(**_arrays(), use_sqrt=use_sqrt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(reml=reml)
        theirs.fit(reml=reml)
    return ours, theirs


def _point() -> MixedLMParams:
    """A fresh parameter point (statsmodels' loglike may overwrite fe_params in place)."""
    return MixedLMParams.from_components(
        np.array([0.9, 0.4, -0.6]), cov_re=np.array([[0.8, 0.1], [0.1, 0.3]])
    )


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("profile_fe", [True, False], ids=["profile_fe", "given_fe"])
def test_loglike_equals_statsmodels(reml: bool, profile_fe: bool) -> None:
    ours, theirs = _models(reml, use_sqrt=True)
    mine = ours.loglike(_point(), profile_fe=profile_fe)
    assert mine == pytest.approx(theirs.loglike(_point(), profile_fe=profile_fe), rel=1e-10)


@pytest.mark.parametrize("use_sqrt", [True, False], ids=["sqrt", "natural"])
@pytest.mark.parametrize("profile_fe", [True, False], ids=["profile_fe", "given_fe"])
def test_score_equals_statsmodels_analytic(use_sqrt: bool, profile_fe: bool) -> None:
    ours, theirs = _models(True, use_sqrt)
    mine = ours.score(_point(), profile_fe=profile_fe)
    reference = theirs.score(_point(), profile_fe=profile_fe)
    assert np.abs(reference).max() > 1.0  # not at a stationary point
    np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-7 * np.abs(reference).max())


def test_hessian_equals_statsmodels_analytic_at_the_estimate() -> None:
    """statsmodels' analytic Hessian is that of its log-likelihood at the estimate only."""
    ours, theirs = _models(True, use_sqrt=False)
    estimate = ours.fit().params_object
    mine, singular = ours.hessian(estimate)
    reference, _ = theirs.hessian(estimate.copy())
    assert not singular
    np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-6 * np.abs(reference).max())


def test_get_distribution_simulates_the_model_variance() -> None:
    ours, _ = _models(True, use_sqrt=True)
    point = _point()
    params = point.get_packed(use_sqrt=False, has_fe=True)
    draws = np.array([ours.get_distribution(params, 2.0).rvs(0, rng=seed) for seed in range(400)])
    exog_re = _arrays()["exog_re"]
    expected = (exog_re @ (2.0 * point.cov_re) * exog_re).sum(1) + 2.0
    np.testing.assert_allclose(draws.var(axis=0).mean(), expected.mean(), rtol=0.05)
    deviation = draws.mean(axis=0) - _arrays()["exog"] @ point.fe_params
    assert np.abs(deviation).mean() < 0.15  # the standard error of each mean is about 0.1


def test_fit_regularized_l1_shrinks_and_zero_penalty_is_the_fit() -> None:
    model = MixedLM(**_arrays())
    fit = model.fit()
    unpenalised = model.fit_regularized(alpha=0.0)
    np.testing.assert_allclose(unpenalised.fe_params, fit.fe_params, rtol=1e-8)
    heavy = model.fit_regularized(alpha=np.array([0.0, 1e6, 0.0]))
    assert heavy.fe_params[1] == 0.0 and np.isnan(heavy.bse_fe[1])
    light = model.fit_regularized(alpha=20.0)
    assert np.all(np.abs(light.fe_params) <= np.abs(fit.fe_params) + 1e-12)
    ridge = model.fit_regularized(method=penalties.L2(), alpha=5.0)
    assert np.linalg.norm(ridge.fe_params) < np.linalg.norm(fit.fe_params)
    assert "Mixed Linear Model" in ridge.summary().as_text()


def test_get_distribution_of_a_model_with_only_variance_components() -> None:
    """statsmodels' simulator multiplies ``exog_re``: it has no columns here, not None."""
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(40), 5)
    vc = {"a": {label: np.ones((5, 1)) for label in range(40)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = MixedLM(rng.normal(size=200), np.ones((200, 1)), labels, exog_vc=vc)
    assert model.exog_re.shape == (200, 0)
    draws = np.array(
        [model.get_distribution(np.r_[1.0, 3.0], 2.0).rvs(0, rng=s) for s in range(300)]
    )
    # y = 1 + a_g + e: variance 2 * 3 + 2 = 8, rows of a group correlated by 6 / 8
    np.testing.assert_allclose(draws.var(axis=0).mean(), 8.0, rtol=0.1)
    np.testing.assert_allclose(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1], 0.75, atol=0.1)


def test_formula_names_come_from_the_callers_namespace_unless_eval_env_is_minus_one() -> None:
    data = dietox()

    def times_two(values):
        return 2 * values

    model = smf.mixedlm("Weight ~ times_two(Time)", data, groups="Pig")
    assert model.exog_names == ["Intercept", "times_two(Time)"]
    with pytest.raises(FormulaError, match="times_two"):
        smf.mixedlm("Weight ~ times_two(Time)", data, groups="Pig", eval_env=-1)
