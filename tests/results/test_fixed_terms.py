"""R's terms of the fixed part (``results/fixed_terms.py``) against R and lmerTest."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DataError, SingularFitWarning
from mixedmodels.model import LinearMixedModel
from mixedmodels.results.fixed_terms import FixedTerms, fixed_terms, term_dummies

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "fixed_terms" / "fixed_terms.json").read_text()
)
CASES = sorted(REFERENCE["cases"])
# Whether every factor of the fixed part has treatment contrasts (o is ordered: contr.poly).
TREATMENT = {
    "interactions": False,
    "nested_slope": True,
    "sum_contrasts": False,
    "no_intercept": True,
}


def _data() -> pd.DataFrame:
    frame = pd.DataFrame(REFERENCE["data"])
    for name, levels in REFERENCE["levels"].items():
        frame[name] = pd.Categorical(frame[name], categories=levels, ordered=name == "o")
    return frame


@cache
def _terms(case: str) -> FixedTerms:
    reference = REFERENCE["cases"][case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer(reference["formula"], _data(), contrasts=reference.get("contrasts"))
    return fixed_terms(fit)


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]  # jsonlite unboxes length-one vectors


@pytest.mark.parametrize("case", CASES)
def test_term_labels_intercept_and_names_are_rs(case: str) -> None:
    reference, terms = REFERENCE["cases"][case], _terms(case)
    assert [term.label for term in terms.terms] == reference["term_labels"]
    assert terms.intercept == reference["intercept"]
    assert terms.names == reference["names"]


@pytest.mark.parametrize("case", CASES)
def test_columns_of_each_term_are_rs_assign(case: str) -> None:
    reference, terms = REFERENCE["cases"][case], _terms(case)
    assign = np.array(reference["assign"])
    for number, term in enumerate(terms.terms, start=1):
        assert term.columns == tuple(np.flatnonzero(assign == number)), term.label


@pytest.mark.parametrize("case", CASES)
def test_numeric_terms_are_lmertests(case: str) -> None:
    reference, terms = REFERENCE["cases"][case], _terms(case)
    numeric = [term.label for term in terms.terms if terms.is_numeric(term)]
    assert numeric == _as_list(reference["numeric_terms"])


@pytest.mark.parametrize("case", CASES)
def test_containment_is_lmertests(case: str) -> None:
    reference, terms = REFERENCE["cases"][case], _terms(case)
    for term in terms.terms:
        containing = [other.label for other in terms.containing(term)]
        assert containing == _as_list(reference["containment"][term.label]), term.label


@pytest.mark.parametrize("case", CASES)
def test_factor_levels_and_treatment_contrasts(case: str) -> None:
    terms = _terms(case)
    variables = {name for term in terms.terms for name in term.variables}
    expected = {name: levels for name, levels in REFERENCE["levels"].items() if name in variables}
    assert terms.factor_levels == expected
    assert terms.treatment is TREATMENT[case]


def test_variables_of_a_term_are_in_rs_order() -> None:
    terms = _terms("nested_slope")
    assert terms.by_label("f:x").variables == ("f", "x")


def test_unknown_term_lists_the_terms() -> None:
    with pytest.raises(DataError, match=r"no fixed-effect term 'x:z'.*\['x', 'f', 'x:f'\]"):
        _terms("sum_contrasts").by_label("x:z")


@pytest.mark.parametrize("index", range(len(REFERENCE["dummies"])))
def test_term_dummies_are_rs_model_matrix_without_contrasts(index: int) -> None:
    reference = REFERENCE["dummies"][index]
    terms = _terms("interactions")  # its terms include f:o, x:f, f and x
    term = terms.by_label(reference["term"])
    dummies = term_dummies(terms, term, _data())
    assert list(dummies.columns) == _as_list(reference["names"])
    expected = np.asarray(reference["matrix"], dtype=float).reshape(len(dummies), -1)
    np.testing.assert_allclose(dummies.to_numpy(), expected)


def test_a_model_without_a_formula_has_no_terms() -> None:
    built = LinearMixedModel.from_formula(
        "Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy")
    )
    bare = LinearMixedModel.from_cross_products(built.cross, built.design.terms, built.fixed_names)
    with pytest.raises(DataError, match="built from a formula"):
        fixed_terms(bare.fit())
