"""Every unsupported construct listed in docs/formula.md raises FormulaError with advice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import ArgumentError, FormulaError
from mixedmodels.model import LinearMixedModel


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = mm.datasets.load("sleepstudy")
    return frame.assign(z=np.cos(frame["Days"]), f=pd.Categorical(frame["Days"] % 3))


UNSUPPORTED = {
    "dot": ("Reaction ~ . + (1 | Subject)", "list the columns"),
    "C": ("Reaction ~ C(f) + (1 | Subject)", "contrasts="),
    "bs": ("Reaction ~ bs(Days) + (1 | Subject)", "splines are not supported"),
    "ns": ("Reaction ~ ns(Days) + (1 | Subject)", "splines are not supported"),
    "cr": ("Reaction ~ cr(Days) + (1 | Subject)", "splines are not supported"),
    "cc": ("Reaction ~ cc(Days) + (1 | Subject)", "splines are not supported"),
    "s": ("Reaction ~ s(Days) + (1 | Subject)", "GAM"),
    "center": ("Reaction ~ center(Days) + (1 | Subject)", "scale(x, scale = FALSE)"),
    "Q": ("Reaction ~ Q(Days) + (1 | Subject)", "quoted column name"),
    "relevel": ('Reaction ~ relevel(f, "1") + (1 | Subject)', "pandas.Categorical"),
    "cut": ("Reaction ~ cut(Days, 3) + (1 | Subject)", "compute the binned column"),
    "unknown_function": ("Reaction ~ foo(Days) + (1 | Subject)", "nor a known function"),
    "numpy_unknown": ("Reaction ~ np.cumsum(Days) + (1 | Subject)", "nor a known function"),
    "indexing": ("Reaction ~ Days[1] + (1 | Subject)", "indexing"),
    "dollar": ("Reaction ~ d$Days + (1 | Subject)", "'$'"),
    "braces": ("Reaction ~ {Days} + (1 | Subject)", "braces"),
    "assignment": ("Reaction ~ (x <- Days) + (1 | Subject)", "assignment"),
    "number_term": ("Reaction ~ 2 + Days + (1 | Subject)", "I(2)"),
    "string_term": ('Reaction ~ "Days" + (1 | Subject)', "not a term"),
    "power_not_integer": ("Reaction ~ (Days + z)^z + (1 | Subject)", "positive whole number"),
    "other_special": ("Reaction ~ Days %o% z + (1 | Subject)", "%in%"),
    "bar_outside_parentheses": ("Reaction ~ Days + 1 | Subject", "parentheses"),
    "remove_in_double_bar": ("Reaction ~ Days + (Days - z || Subject)", "cannot remove"),
    "offset_in_random_term": ("Reaction ~ Days + (offset(z) || Subject)", "offset()"),
    "offset_in_random_bar": ("Reaction ~ Days + (offset(z) | Subject)", "offset()"),
    "poly_several_variables": ("Reaction ~ poly(Days, z, degree = 2) + (1 | Subject)", "poly()"),
}


@pytest.mark.parametrize("construct", sorted(UNSUPPORTED), ids=sorted(UNSUPPORTED))
def test_unsupported_construct(data: pd.DataFrame, construct: str) -> None:
    formula, advice = UNSUPPORTED[construct]
    with pytest.raises(FormulaError) as info:
        mm.lmer(formula, data)
    assert advice in str(info.value)


CHUNKED = {
    "poly": "Reaction ~ poly(Days, 2) + (1 | Subject)",
    "scale": "Reaction ~ scale(Days) + (1 | Subject)",
    "offset": "Reaction ~ Days + offset(z) + (1 | Subject)",
    "interaction": "Reaction ~ Days + (1 | interaction(Subject, f))",
    "factor": "Reaction ~ factor(Days) + (1 | Subject)",
}


@pytest.mark.parametrize("construct", sorted(CHUNKED), ids=sorted(CHUNKED))
def test_data_dependent_terms_are_refused_in_chunks(data: pd.DataFrame, construct: str) -> None:
    with pytest.raises(FormulaError, match="large or Dask data"):
        LinearMixedModel.from_formula(CHUNKED[construct], data, chunk_rows=50)


def test_contrasts_are_refused_in_chunks(data: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match="contrasts="):
        LinearMixedModel.from_formula(
            "Reaction ~ f + (1 | Subject)", data, chunk_rows=50, contrasts={"f": "contr.sum"}
        )


def test_dummy_of_several_levels(data: pd.DataFrame) -> None:
    with pytest.raises(FormulaError, match="must be a constant"):
        mm.lmer('Reaction ~ Days + (0 + dummy(f, c("1", "2")) | Subject)', data)
