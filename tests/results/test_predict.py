"""predict as lme4's predict.merMod: re_form, new levels, labels matched by value."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import ArgumentError, DataError, MixedModelsWarning

REFERENCE = Path(__file__).parent.parent / "reference" / "predict" / "sleepstudy_lrt.json"


def _fit(formula: str, data: pd.DataFrame, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        return mm.lmer(formula, data, **options)


@pytest.fixture(scope="module")
def sleep_fit():
    reference = json.loads(REFERENCE.read_text())
    return reference, _fit(reference["formula"], mm.datasets.load("sleepstudy"), REML=True)


@pytest.mark.parametrize("re_form", [None, np.nan, pd.NA, "NA"], ids=["NULL", "nan", "pdNA", "str"])
def test_sleepstudy_predict_matches_lme4(sleep_fit, re_form) -> None:
    reference, fit = sleep_fit
    block = reference["predict"]
    newdata = pd.DataFrame(block["newdata"])
    got = fit.predict(newdata, re_form=re_form, allow_new_levels=block["allow_new_levels"])
    want = block["re_form_NULL"] if re_form is None else block["re_form_NA"]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-6)


def test_re_form_formula_selects_terms(sleep_fit) -> None:
    reference, fit = sleep_fit
    newdata = pd.DataFrame(reference["predict"]["newdata"]).iloc[:4]
    full = fit.predict(newdata, re_form="~ (Days | Subject)")
    np.testing.assert_allclose(full, fit.predict(newdata), rtol=1e-12)
    with pytest.raises(ArgumentError, match="does not have"):
        fit.predict(newdata, re_form="~ (1 | Other)")


def test_new_level_raises_unless_allowed(sleep_fit) -> None:
    _, fit = sleep_fit
    newdata = pd.DataFrame({"Subject": ["308", "999"], "Days": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"'Subject'.*'999'"):
        fit.predict(newdata)
    allowed = fit.predict(newdata, allow_new_levels=True)
    population = fit.predict(newdata, re_form=np.nan)
    assert allowed.iloc[1] == pytest.approx(population.iloc[1])


def test_predict_on_fitted_rows_is_fitted_values(sleep_fit) -> None:
    _, fit = sleep_fit
    data = mm.datasets.load("sleepstudy")
    np.testing.assert_allclose(fit.predict(data), fit.fittedvalues, rtol=1e-12)
    np.testing.assert_allclose(fit.predict(), fit.fittedvalues, rtol=1e-12)


@pytest.fixture(scope="module")
def dietox():
    return mm.datasets.load("dietox")


def test_labels_match_by_value_across_types(dietox) -> None:
    fit = _fit("Weight ~ Time + (Time | Pig)", dietox)
    fitted = fit.fittedvalues[(dietox["Pig"] == "4601") & (dietox["Time"] == 1)].iloc[0]
    population = fit.predict(pd.DataFrame({"Time": [1], "Pig": [4601]}), re_form=np.nan)
    for label in (4601, 4601.0, "4601", np.int32(4601)):
        got = fit.predict(pd.DataFrame({"Time": [1], "Pig": [label]}))
        assert got.iloc[0] == pytest.approx(fitted, rel=1e-10), label
        assert got.iloc[0] != pytest.approx(population.iloc[0])
    categorical = pd.DataFrame({"Time": [1], "Pig": pd.Categorical([4601])})
    assert fit.predict(categorical).iloc[0] == pytest.approx(fitted, rel=1e-10)


def test_new_fixed_effect_level_is_an_error(dietox) -> None:
    fit = _fit("Weight ~ Time * Evit + Cu + (Time | Pig)", dietox)
    newdata = pd.DataFrame({"Time": [1], "Pig": ["4601"], "Evit": ["Evit999"], "Cu": ["Cu000"]})
    with pytest.raises(DataError, match=r"'Evit'.*Evit999"):
        fit.predict(newdata)
    with pytest.raises(DataError, match=r"'Evit'.*Evit999"):
        fit.predict(newdata, re_form=np.nan, allow_new_levels=True)


def test_missing_value_gives_nan(sleep_fit) -> None:
    _, fit = sleep_fit
    got = fit.predict(pd.DataFrame({"Subject": ["308", "308"], "Days": [1.0, np.nan]}))
    assert np.isfinite(got.iloc[0]) and np.isnan(got.iloc[1])


def test_bad_re_form_is_an_argument_error(sleep_fit) -> None:
    _, fit = sleep_fit
    with pytest.raises(ArgumentError, match="re_form"):
        fit.predict(pd.DataFrame({"Subject": ["308"], "Days": [1.0]}), re_form=3)


def test_offsets_as_lme4() -> None:
    """A formula offset() is in the predictions on new data; offset= is not (lme4 alike)."""
    data = mm.datasets.load("sleepstudy").assign(o=lambda frame: 2.0 * frame["Days"])
    in_formula = _fit("Reaction ~ Days + offset(o) + (1 | Subject)", data)
    np.testing.assert_allclose(in_formula.predict(data), in_formula.fittedvalues, rtol=1e-12)
    argument = _fit("Reaction ~ Days + (1 | Subject)", data, offset="o")
    np.testing.assert_allclose(
        argument.predict(data), argument.fittedvalues - data["o"], rtol=1e-12
    )
