"""statsmodels API: residual structures through keyword arguments (extension of statsmodels)."""

from __future__ import annotations

import numpy as np
import pytest
from structures.residual_cases import load_data, load_residual_case

import mixedmodels as mm
import mixedmodels.formula.api as smf
from mixedmodels.errors import ArgumentError
from mixedmodels.regression.mixed_linear_model import MixedLM


def _bodyweight_car1():
    """BodyWeight's random slopes with CAR(1) residuals in continuous time."""
    return smf.mixedlm(
        "weight ~ Time * Diet",
        load_data("BodyWeight"),
        re_formula="~Time",
        groups="Rat",
        correlation=mm.CAR1(time="Time"),
    )


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_mixedlm_car1_matches_nlme(reml: bool):
    reference = load_residual_case("bodyweight_car1")["REML" if reml else "ML"]["with_structure"]
    fit = _bodyweight_car1().fit(reml=reml)
    assert (fit.llf - reference["logLik"]) / abs(reference["logLik"]) >= -1e-6
    np.testing.assert_allclose(fit.fe_params, list(reference["fixef"].values()), rtol=1e-5)
    np.testing.assert_allclose(fit.bse_fe, list(reference["se"].values()), rtol=1e-5)
    assert fit.lmer.structure_params["Phi"] == pytest.approx(
        reference["structure"]["correlation"]["Phi"], rel=1e-3
    )
    assert fit.df_modelwc == reference["npar"]


def test_mixedlm_varident_and_row_order_ar1_from_arrays():
    reference = load_residual_case("dialyzer_quad_varident")["REML"]["with_structure"]
    data = load_data("Dialyzer")
    fit = smf.mixedlm(
        "rate ~ (pressure + I(pressure**2)) * QB",
        data,
        re_formula="~pressure",
        groups="Subject",
        variance=mm.VarIdent("QB"),
    ).fit()
    assert fit.llf == pytest.approx(reference["logLik"], rel=1e-6)
    np.testing.assert_allclose(
        fit.lmer.variance_ratios,
        list(reference["structure"]["varIdent_ratios"].values()),
        rtol=1e-3,
    )
    # The array constructor: AR1 in row order within groups needs no data columns.
    ovary = load_data("Ovary")
    exog = np.column_stack([np.ones(len(ovary)), ovary["sin_2piTime"], ovary["cos_2piTime"]])
    ar1 = MixedLM(ovary["follicles"], exog, ovary["Mare"], correlation=mm.AR1()).fit()
    expected = load_residual_case("ovary_ar1")["REML"]["with_structure"]
    assert ar1.llf == pytest.approx(expected["logLik"], rel=1e-6)
    with pytest.raises(ArgumentError, match="from_formula/mixedlm"):
        MixedLM(ovary["follicles"], exog, ovary["Mare"], correlation=mm.CAR1(time="Time")).fit()


def test_fitted_values_hold_nlmes_random_effects():
    """Under a residual structure the random effects are nlme's (``fitted(fit, level = 1)``),
    from the engine's whitened factor."""
    import json

    from structures.residual_cases import RESIDUAL_DIR

    extra = json.loads((RESIDUAL_DIR / "extra" / "bodyweight_car1_residuals.json").read_text())
    reference = extra["REML"]  # the fitted values are stored for REML
    fit = _bodyweight_car1().fit()
    np.testing.assert_allclose(fit.fittedvalues, reference["fitted"], rtol=1e-5)
