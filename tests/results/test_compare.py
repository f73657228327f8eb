"""mm.anova between models against lme4's anova (tests/reference/inference)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import INFERENCE_CASES, fit_formula, fit_inference, load_inference_case

import mixedmodels as mm
from mixedmodels.errors import DataError, NestingWarning
from mixedmodels.results.compare import RefitNotice

from .tolerances import ESTIMATE, LOGLIK

COMPARISONS = [
    (name, index)
    for name in INFERENCE_CASES
    for index, _ in enumerate(load_inference_case(name)["model_comparisons"])
]
IDS = [
    f"{name}-{load_inference_case(name)['model_comparisons'][index]['name']}"
    for name, index in COMPARISONS
]
COLUMNS = [
    ("npar", "npar"),
    ("AIC", "AIC"),
    ("BIC", "BIC"),
    ("logLik", "logLik"),
    ("deviance", "deviance"),
    ("Chisq", "Chisq"),
    ("Df", "Df"),
    ("Pr(>Chisq)", "p"),
]


def _compare(table, expected: list[dict]) -> None:
    assert list(table.index) == [row["formula"] for row in expected]
    for column, field in COLUMNS:
        for value, row in zip(table[column], expected, strict=True):
            if row[field] is None:
                assert np.isnan(value)
            elif field in ("logLik", "deviance", "AIC", "BIC"):
                assert value == pytest.approx(row[field], rel=LOGLIK), column
                if field == "logLik":  # not below the stored optimum
                    assert value >= row[field] - LOGLIK * abs(row[field])
            else:
                # Chisq is a difference of log-likelihoods: absolute error 2 * 1e-6 |logLik|.
                slack = 4 * LOGLIK * max(abs(r["logLik"]) for r in expected)
                assert value == pytest.approx(row[field], rel=ESTIMATE, abs=slack), column


@pytest.mark.parametrize(("name", "index"), COMPARISONS, ids=IDS)
def test_refit_ml_comparison_matches_lme4(name: str, index: int) -> None:
    reference, full = fit_inference(name)
    spec = reference["model_comparisons"][index]
    reduced = fit_formula(reference["dataset"], spec["reduced_formula"])
    with pytest.warns(RefitNotice, match="refitting model"):
        table = mm.anova(full, reduced)
    _compare(table, spec["refit_ML"])


REFIT_FALSE = [
    (n, i)
    for n, i in COMPARISONS
    if "refit_FALSE_REML" in load_inference_case(n)["model_comparisons"][i]
]


@pytest.mark.parametrize(("name", "index"), REFIT_FALSE, ids=[f"{n}-{i}" for n, i in REFIT_FALSE])
def test_refit_false_comparison_matches_lme4(name: str, index: int) -> None:
    reference, full = fit_inference(name)
    spec = reference["model_comparisons"][index]
    reduced = fit_formula(reference["dataset"], spec["reduced_formula"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no refit notice, and these pairs are nested
        table = mm.anova(reduced, full, refit=False)
    _compare(table, spec["refit_FALSE_REML"])


def test_models_not_nested_warn() -> None:
    a = fit_formula("sleepstudy", "Reaction ~ Days + (1 | Subject)", reml=False)
    b = fit_formula("sleepstudy", "Reaction ~ 1 + (Days | Subject)", reml=False)
    with pytest.warns(NestingWarning, match="not nested"):
        mm.anova(a, b)


def test_models_on_different_data_are_an_error() -> None:
    data = mm.datasets.load("sleepstudy")
    a = mm.lmer("Reaction ~ Days + (1 | Subject)", data, REML=False)
    b = mm.lmer("Reaction ~ Days + (1 | Subject)", data.iloc[:-10], REML=False)
    with pytest.raises(DataError, match="different numbers of observations"):
        mm.anova(a, b)
    other = data.copy()
    other["Reaction"] = other["Reaction"] + np.arange(len(other)) % 3
    c = mm.lmer("Reaction ~ Days + (Days | Subject)", other, REML=False)
    with pytest.raises(DataError, match="different data"):
        mm.anova(a, c)


def test_anova_needs_two_models_and_keeps_inputs() -> None:
    a = fit_formula("sleepstudy", "Reaction ~ Days + (1 | Subject)")
    with pytest.raises(mm.errors.ArgumentError, match="two"):
        mm.anova(a)
    with pytest.warns(RefitNotice):
        mm.anova(a, fit_formula("sleepstudy", "Reaction ~ Days + (Days | Subject)"))
    assert a.reml  # the REML fit itself is untouched
