"""Extra nlme references (tools/make_residual_extras.R): a correlation with a variance
structure, prior weights with a structure, and nlme's residual types."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning
from structures.residual_cases import RESIDUAL_DIR, load_data

EXTRA_DIR = RESIDUAL_DIR / "extra"
OVARY = "follicles ~ sin_2piTime + cos_2piTime + (1 | Mare)"
BODYWEIGHT = "weight ~ Time * Diet + (Time | Rat)"

CASES = {
    "bodyweight_car1_varident": (
        "BodyWeight",
        BODYWEIGHT,
        mm.CAR1(time="Time", group="Rat"),
        mm.VarIdent("Diet"),
        False,
    ),
    "ovary_ar1_weights": ("Ovary", OVARY, mm.AR1(group="Mare"), None, True),
    "bodyweight_varident_weights": ("BodyWeight", BODYWEIGHT, None, mm.VarIdent("Diet"), True),
    "ovary_ar1_residuals": ("Ovary", OVARY, mm.AR1(group="Mare"), None, False),
    "bodyweight_car1_residuals": (
        "BodyWeight",
        BODYWEIGHT,
        mm.CAR1(time="Time", group="Rat"),
        None,
        False,
    ),
    "bodyweight_varident_residuals": ("BodyWeight", BODYWEIGHT, None, mm.VarIdent("Diet"), False),
}
METHODS = {"REML": True, "ML": False}
PARAMS = [(case, method) for case in CASES for method in METHODS]


def _fit(case: str, method: str):
    reference = json.loads((EXTRA_DIR / f"{case}.json").read_text())
    dataset, formula, correlation, variance, weighted = CASES[case]
    data = load_data(dataset)
    if weighted:
        data["prior_w"] = reference["prior_w"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer(
            formula,
            data,
            REML=METHODS[method],
            correlation=correlation,
            variance=variance,
            weights="prior_w" if weighted else None,
        )
    return reference[method], fit


@pytest.fixture(scope="module", params=PARAMS, ids=[f"{c}-{m}" for c, m in PARAMS])
def fitted(request: pytest.FixtureRequest):
    return _fit(*request.param)


def _relative(actual, expected) -> np.ndarray:
    expected = np.asarray(expected, dtype=float)
    return np.abs(np.asarray(actual, dtype=float) - expected) / np.abs(expected)


def test_log_likelihood_and_estimates(fitted):
    reference, fit = fitted
    assert (fit.llf - reference["logLik"]) / abs(reference["logLik"]) >= -1e-6
    assert fit.df_modelwc == reference["npar"]
    assert np.all(_relative(fit.fe_params.to_numpy(), list(reference["fixef"].values())) < 1e-5)
    assert np.all(_relative(fit.bse_fe.to_numpy(), list(reference["se"].values())) < 1e-5)
    assert _relative(fit.sigma, reference["sigma"]) < 1e-5


def test_structure_parameters(fitted):
    reference, fit = fitted
    if "Phi" in reference:
        assert _relative(fit.correlation_params["Phi"], reference["Phi"]) < 1e-3
    if "varIdent_ratios" in reference:
        expected = reference["varIdent_ratios"]
        assert list(fit.variance_ratios.index) == list(expected)
        assert np.all(_relative(fit.variance_ratios.to_numpy(), list(expected.values())) < 1e-3)


@pytest.mark.parametrize("case", list(CASES))
def test_residuals_as_nlme(case: str):
    reference, fit = _fit(case, "REML")  # residuals are stored for the REML fits
    # Normalized: nlme's resid(type = "normalized") on data sorted by the grouping factor,
    # mapped back to data order (the direct call misaligns groups; see the R script).
    # nlme's values are at nlme's optimum, which is 1e-3 close in the structure parameters.
    scale = np.abs(np.asarray(reference["resid_response"])).max()
    assert np.abs(fit.fittedvalues.to_numpy() - reference["fitted"]).max() < 1e-5 * scale
    for kind in ("response", "pearson", "normalized"):
        actual = fit.residuals(kind).to_numpy()
        expected = np.asarray(reference[f"resid_{kind}"])
        assert np.abs(actual - expected).max() < 1e-5 * np.abs(expected).max(), kind
