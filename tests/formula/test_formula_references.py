"""lme4's formula language: 70 (formula, data set) pairs against lme4 1.1-31.

Each case (``tests/reference/formula``, made by
``tools/make_formula_references.R``) is fitted from the same data; the
log-likelihood, the fixed effects with lme4's names, VarCorr and, where
given, predictions on new data (``re_form`` NULL and NA) must match.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import MixedModelsWarning

from .reference_data import CASES, dataset, newdata, reference

CONSTRUCTS = {
    "I^",
    "poly",
    "poly_raw",
    "scale",
    "factor",
    "as.factor",
    "as.numeric",
    "log",
    "log1p",
    "exp",
    "sqrt",
    "sin",
    "cos",
    "pi",
    "abs",
    "offset",
    "^",
    "*",
    ":",
    "%in%",
    "/",
    "-1",
    "0+",
    "-term",
    "||",
    "dummy",
    "interaction",
    "dotted",
    "backquote",
    "contr.treatment",
    "contr.sum",
    "contr.helmert",
    "contr.poly",
    "Treatment_column",
}


def _fit(case: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        return mm.lmer(
            case["formula"],
            dataset(case["dataset"]),
            REML=case["REML"],
            contrasts=case.get("contrasts"),
        )


def test_table_covers_every_construct() -> None:
    covered: set[str] = set()
    for case in CASES:
        constructs = reference(case)["constructs"]  # a single one is unboxed by jsonlite
        covered.update([constructs] if isinstance(constructs, str) else constructs)
    assert len(CASES) >= 60
    assert CONSTRUCTS <= covered, CONSTRUCTS - covered


@pytest.mark.parametrize("case_id", CASES, ids=CASES)
def test_formula_reference(case_id: str) -> None:
    case = reference(case_id)
    fit = _fit(case)
    want = case["logLik"]
    assert fit.llf >= want - 1e-6 * max(1.0, abs(want))
    assert fit.llf <= want + 1e-4 * max(1.0, abs(want))
    assert list(fit.fe_params.index) == list(case["fixef"]), "lme4's names and order"
    for name, value in case["fixef"].items():
        scale = case["se"][name]
        assert fit.fe_params[name] == pytest.approx(value, abs=1e-3 * scale), name
    assert fit.nobs == case["nobs"]
    _check_varcorr(fit.varcorr(), case)


def _check_varcorr(ours, case: dict) -> None:
    def text(value: object) -> str | None:
        return value if isinstance(value, str) else None

    table = {
        (re.sub(r"\.\d+$", "", row.grp), text(row.var1), text(row.var2)): row.vcov
        for row in ours.itertuples()
    }
    sigma2 = case["sigma2"]
    for row in case["varcorr"]:
        grp = "Residual" if row["grp"] == "Residual" else re.sub(r"\.\d+$", "", row["grp"])
        key = (grp, row["var1"], row["var2"])
        assert key in table, (key, sorted(table, key=str))
        assert table.pop(key) == pytest.approx(row["vcov"], rel=2e-3, abs=1e-4 * sigma2), key
    for key, value in table.items():  # uncorrelated terms on one factor: structural zeros
        assert value == 0.0, key


PREDICT_CASES = [case for case in CASES if "predict" in reference(case)]


@pytest.mark.parametrize("case_id", PREDICT_CASES, ids=PREDICT_CASES)
def test_formula_predict(case_id: str) -> None:
    case = reference(case_id)
    fit = _fit(case)
    frame = newdata(case)
    scale = float(np.std(dataset(case["dataset"])[case["formula"].split("~")[0].strip()]))
    population = fit.predict(frame, re_form=np.nan)
    np.testing.assert_allclose(population, case["predict"]["re_form_na"], atol=1e-4 * scale)
    conditional = fit.predict(frame, allow_new_levels=True)
    np.testing.assert_allclose(conditional, case["predict"]["re_form_null"], atol=1e-4 * scale)
