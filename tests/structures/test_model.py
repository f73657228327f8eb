"""Every nlme residual-structure reference, REML and ML (tolerances of issue 10).

- log-likelihood not below nlme's by more than 1e-6 relative;
- fixed effects and their SEs within 1e-5 relative;
- structure parameters (Phi, varIdent ratios) within 1e-3 relative;
- the model without the structure equals lme4.
"""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from structures.residual_cases import RESIDUAL_CASES, fit_residual_case

METHODS = {"REML": True, "ML": False}
CASE_METHODS = [(case, method) for case in RESIDUAL_CASES for method in METHODS]
IDS = [f"{case}-{method}" for case, method in CASE_METHODS]


@pytest.fixture(params=CASE_METHODS, ids=IDS)
def fitted(request: pytest.FixtureRequest):
    case, method = request.param
    reference, fit = fit_residual_case(case, METHODS[method])
    return case, reference[method], fit


def _relative(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    expected = np.asarray(expected, dtype=float)
    return np.abs(np.asarray(actual, dtype=float) - expected) / np.abs(expected)


def test_log_likelihood_not_below_nlme(fitted):
    _, block, fit = fitted
    reference = block["with_structure"]["logLik"]
    assert (fit.llf - reference) / abs(reference) >= -1e-6
    # and it is the same optimum, not a different model (nlme and the independent
    # profile check agree to 1e-7)
    assert abs(fit.llf - reference) / abs(reference) < 1e-6


def test_parameter_count_and_aic(fitted):
    _, block, fit = fitted
    reference = block["with_structure"]
    assert fit.df_modelwc == reference["npar"]
    assert fit.nobs == reference["nobs"]
    assert abs(fit.aic - reference["AIC"]) / abs(reference["AIC"]) < 1e-6


def test_fixed_effects_and_standard_errors(fitted):
    _, block, fit = fitted
    reference = block["with_structure"]
    # Positions: the R names of the Ovary terms are sin(2 * pi * Time), cos(...).
    assert next(iter(fit.fe_params.index)) == "(Intercept)"
    assert np.all(_relative(fit.fe_params.to_numpy(), list(reference["fixef"].values())) < 1e-5)
    assert np.all(_relative(fit.bse_fe.to_numpy(), list(reference["se"].values())) < 1e-5)


def test_sigma(fitted):
    _, block, fit = fitted
    assert _relative(fit.sigma, block["with_structure"]["sigma"]) < 1e-5


def test_structure_parameters(fitted):
    case, block, fit = fitted
    structure = block["with_structure"].get("structure")
    if structure is None:
        assert case == "sleepstudy_plain_lme"
        assert not isinstance(fit, mm.results.structured.StructuredResults)
        return
    if "correlation" in structure:
        phi = structure["correlation"]["Phi"]
        assert _relative(fit.correlation_params["Phi"], phi) < 1e-3
        assert _relative(fit.structure_params["Phi"], phi) < 1e-3
    if "varIdent_ratios" in structure:
        ratios = structure["varIdent_ratios"]
        assert list(fit.variance_ratios.index) == list(ratios)
        assert np.all(_relative(fit.variance_ratios.to_numpy(), list(ratios.values())) < 1e-3)
        assert fit.variance_ratios[structure["reference_level"]] == 1.0


def test_random_effect_variances(fitted):
    case, block, fit = fitted
    expected = [row["vcov"] for row in block["with_structure"]["varcorr"]]
    actual = fit.varcorr()["vcov"].to_numpy()
    if case == "dialyzer_varident":
        # Boundary fit (see the case notes): nlme stops at SDs of about 1e-3 and
        # 1e-4; the supremum has them at 0. Compare absolutely, and the residual relatively.
        assert np.all(np.abs(actual[:-1]) < 1e-5)
        assert np.all(np.abs(np.asarray(expected[:-1])) < 1e-5)
        assert _relative(actual[-1], expected[-1]) < 1e-5
        return
    # nlme's own optimum is not more precise than this: on sleepstudy_plain_lme (no
    # structure) its covariance differs from lme4's by 2e-4 relative. The issue sets no
    # tolerance for these; use nlme's tolerance for its structure parameters.
    assert np.all(_relative(actual, expected) < 1e-3)


def test_without_structure_equals_lme4(fitted):
    case, block, fit = fitted
    reference = block["lme4_without_structure"]
    plain = fit if case == "sleepstudy_plain_lme" else fit.without_structure
    assert (plain.llf - reference["logLik"]) / abs(reference["logLik"]) >= -1e-6
    assert abs(plain.llf - reference["logLik"]) / abs(reference["logLik"]) < 1e-6
    assert plain.df_modelwc == reference["npar"]
    assert np.all(_relative(plain.fe_params.to_numpy(), list(reference["fixef"].values())) < 1e-5)


STRUCTURED = [(case, method) for case, method in CASE_METHODS if case != "sleepstudy_plain_lme"]


@pytest.mark.parametrize(("case", "method"), STRUCTURED, ids=[f"{c}-{m}" for c, m in STRUCTURED])
def test_likelihood_ratio_test(case: str, method: str):
    reference, fit = fit_residual_case(case, METHODS[method])
    block = reference[method]
    table = fit.anova()
    expected = {row["model"]: row for row in block["lrt"]}
    assert list(table.index) == ["without_structure", "with_structure"]
    for model in table.index:
        assert table.loc[model, "df"] == expected[model]["df"]
        assert abs(table.loc[model, "logLik"] - expected[model]["logLik"]) < 1e-6 * abs(
            expected[model]["logLik"]
        )
        assert abs(table.loc[model, "AIC"] - expected[model]["AIC"]) < 1e-6 * abs(
            expected[model]["AIC"]
        )
    ratio = expected["with_structure"]["L.Ratio"]
    assert abs(table.loc["with_structure", "L.Ratio"] - ratio) < 1e-5 * max(1.0, ratio)
    p_value = expected["with_structure"]["p"]
    assert abs(table.loc["with_structure", "p-value"] - p_value) <= 1e-3 * p_value + 1e-12
