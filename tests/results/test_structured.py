"""Results with a residual structure: names, summary rows, anova, residuals, predict."""

from __future__ import annotations

import numpy as np
import pytest
from structures.residual_cases import fit_residual_case, load_data

import mixedmodels as mm
from mixedmodels.errors import ArgumentError


@pytest.fixture(scope="module")
def ovary():
    return fit_residual_case("ovary_ar1", True)[1]


@pytest.fixture(scope="module")
def bodyweight():
    data = load_data("BodyWeight")
    return mm.lmer(
        "weight ~ Time * Diet + (Time | Rat)",
        data,
        correlation=mm.CAR1(time="Time", group="Rat"),
        variance=mm.VarIdent("Diet"),
    ), data


def test_structure_parameters_have_natural_names(ovary, bodyweight):
    assert list(ovary.structure_params.index) == ["Phi"]
    fit, _ = bodyweight
    assert list(fit.structure_params.index) == ["Phi", "Diet=2", "Diet=3"]
    assert list(fit.variance_ratios.index) == ["1", "2", "3"]
    assert fit.variance_ratios["1"] == 1.0
    assert fit.structure_params["Diet=3"] == fit.variance_ratios["3"]


def test_summary_has_the_structure_rows(ovary, bodyweight):
    text = str(ovary.summary())
    assert "Correlation structure: AR(1) within Mare, in row order" in text
    assert f"{ovary.correlation_params['Phi']:.6f}" in text
    assert "Normalized residuals:" in text
    assert "Fixed effects:" in text
    fit, _ = bodyweight
    text = str(fit.summary())
    assert "continuous AR(1) within Rat, time Time" in text
    assert "Variance function: VarIdent by Diet" in text
    assert f"{fit.variance_ratios['3']:.5f}" in text


def test_anova_against_the_model_without_the_structure(bodyweight):
    fit, _ = bodyweight
    table = fit.anova()
    assert list(table.columns) == ["df", "AIC", "BIC", "logLik", "L.Ratio", "p-value"]
    assert table.loc["with_structure", "df"] - table.loc["without_structure", "df"] == 3
    ratio = 2 * (fit.llf - fit.without_structure.llf)
    assert table.loc["with_structure", "L.Ratio"] == pytest.approx(ratio)
    assert 0 <= table.loc["with_structure", "p-value"] < 1e-6


def test_residual_types(bodyweight):
    fit, _ = bodyweight
    response = fit.residuals("response")
    assert response.equals(fit.resid)
    pearson = fit.residuals("pearson")
    diet = load_data("BodyWeight")["Diet"].astype(str).to_numpy()
    expected = response.to_numpy() / (fit.sigma * fit.variance_ratios[diet].to_numpy())
    np.testing.assert_allclose(pearson.to_numpy(), expected, rtol=1e-12)
    normalized = fit.residuals("normalized")
    # within a rat, normalized residuals are the whitened Pearson residuals: the first
    # row of each rat is unchanged
    first = ~load_data("BodyWeight")["Rat"].duplicated().to_numpy()
    np.testing.assert_allclose(normalized.to_numpy()[first], pearson.to_numpy()[first])
    with pytest.raises(ArgumentError, match="type must be one of"):
        fit.residuals("deviance")


def test_predict_uses_the_structured_estimates(bodyweight):
    fit, data = bodyweight
    np.testing.assert_allclose(fit.predict(data).to_numpy(), fit.fittedvalues.to_numpy())
    population = fit.predict(data, include_random=False).to_numpy()
    np.testing.assert_allclose(population, fit.model.rows.X @ fit.fe_params.to_numpy())
    assert not np.allclose(fit.fe_params, fit.without_structure.fe_params, rtol=1e-6)


def test_inference_that_would_ignore_the_structure_is_refused(ovary):
    assert list(ovary.coef_table.columns) == ["Estimate", "Std. Error", "t value"]
    with pytest.raises(ArgumentError, match="ddf=None only"):
        ovary.summary(ddf="Satterthwaite")
    with pytest.raises(ArgumentError, match="ddf=None only"):
        ovary.tidy(ddf="Satterthwaite")
    tidy = ovary.tidy()
    assert tidy.loc[tidy["effect"] == "fixed", "estimate"].tolist() == ovary.fe_params.tolist()
    with pytest.raises(ArgumentError, match="Wald"):
        ovary.confint()
    intervals = ovary.confint(method="Wald")
    assert list(intervals.index) == list(ovary.fe_params.index)


def test_saved_fit_keeps_structure_and_anova_without_rows(bodyweight, tmp_path):
    fit, _ = bodyweight
    path = tmp_path / "fit.pkl"
    fit.save(path)
    loaded = mm.load(path)
    assert loaded.model.rows is None  # compact: the rows are not saved
    assert loaded.llf == fit.llf
    assert loaded.structure_params.equals(fit.structure_params)
    np.testing.assert_array_equal(
        loaded.residuals("normalized").to_numpy(), fit.residuals("normalized").to_numpy()
    )
    assert loaded.anova().equals(fit.anova())
