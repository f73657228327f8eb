"""The design's use of R's formula language (``design/rformula.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from formula.rfunction_reference import r_matrix as r_rows
from formula.rfunction_reference import r_reference

from mixedmodels.design.rformula import (
    R_CONSTANTS,
    evaluate_group,
    expression_names,
    is_plain_name,
    r_matrix,
    r_response,
)
from mixedmodels.errors import ArgumentError, ArgumentTypeError, ColumnTypeError, FormulaError

MODEL = r_reference()["model_matrix"]


def _model_frame() -> pd.DataFrame:
    frame = pd.DataFrame({name: MODEL["data"][name] for name in ("x", "z", "y")})
    frame["f"] = pd.Categorical(MODEL["data"]["f"], categories=MODEL["levels"]["f"])
    frame["o"] = pd.Categorical(MODEL["data"]["o"], categories=MODEL["levels"]["o"], ordered=True)
    return frame


# ------------------------------------------------------------------ names
@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("log(y) + I(x^2)", ("y", "x")),
        ("interaction(a, b)", ("a", "b")),
        ("x + x:z + poly(z, 2)", ("x", "z")),
        ("scale(w, center = FALSE)", ("w", "FALSE")),
        ("`my col` * f", ("my col", "f")),
    ],
)
def test_expression_names_in_order_without_functions(expression: str, names: tuple) -> None:
    assert expression_names(expression) == names


def test_names_r_resolves_without_the_data() -> None:
    assert {"pi", "TRUE", "FALSE", "T", "F"} == R_CONSTANTS


@pytest.mark.parametrize(
    ("expression", "plain"),
    [
        ("g", True),
        ("`my group`", True),
        ("interaction(a, b)", False),
        ("a:b", False),
        ("factor(x)", False),
        ("(", False),
    ],
)
def test_is_plain_name(expression: str, plain: bool) -> None:
    assert is_plain_name(expression) is plain


# ------------------------------------------------------------------ model matrix
def test_model_matrix_is_rs_with_poly_scale_ordered_and_contrasts() -> None:
    frame = _model_frame()
    names, matrix, spec = r_matrix(
        MODEL["rhs"], frame, len(frame), "fixed effects", contrasts=MODEL["contrasts"]
    )
    assert names == MODEL["names"]
    np.testing.assert_allclose(matrix, r_rows(MODEL["matrix"], len(names)), atol=1e-13)
    # The spec rebuilds the same columns from the same rows (the training basis kept).
    np.testing.assert_allclose(spec.matrix(frame), matrix, atol=1e-13)


def test_contrasts_must_be_a_mapping() -> None:
    frame = _model_frame()
    with pytest.raises(ArgumentTypeError, match=r"contrasts must be a dict.*list"):
        r_matrix("f", frame, len(frame), "fixed effects", contrasts=["contr.sum"])


def test_errors_name_the_context_and_the_formula() -> None:
    frame = _model_frame()
    with pytest.raises(FormulaError, match=r"^random effects 'log\(zz\)': .*'zz'"):
        r_matrix("log(zz)", frame, len(frame), "random effects")


def test_context_is_not_repeated() -> None:
    frame = _model_frame()
    # The spec's own message names the context already: it is passed on unchanged.
    with pytest.raises(ArgumentError) as info:
        r_matrix("x", frame, len(frame), "fixed effects", contrasts={"f": "contr.sum"})
    assert str(info.value).startswith("contrasts: 'f' is not a variable of the fixed effects")
    assert str(info.value).count("fixed effects") == 1


# ------------------------------------------------------------------ response
def test_response_expression_is_evaluated_as_r() -> None:
    frame = _model_frame()
    np.testing.assert_allclose(r_response("log(y)", frame, len(frame)), MODEL["response"])


def test_constant_response_is_recycled() -> None:
    np.testing.assert_array_equal(r_response("2", {"y": np.zeros(3)}, 3), [2.0, 2.0, 2.0])


def test_categorical_response_names_the_response() -> None:
    frame = _model_frame()
    with pytest.raises(ColumnTypeError, match="response 'f' is categorical"):
        r_response("f", frame, len(frame))


def test_matrix_response_is_refused() -> None:
    frame = _model_frame()
    with pytest.raises(ColumnTypeError, match=r"response 'poly\(x, 2\)' must be a single"):
        r_response("poly(x, 2)", frame, len(frame))


# ------------------------------------------------------------------ grouping factors
def _column(frame: pd.DataFrame):
    def column(name: str):
        if name not in frame.columns:
            raise KeyError(name)
        return frame[name]

    return column


def test_group_interaction_has_rs_levels() -> None:
    reference = r_reference()["interaction"]
    frame = pd.DataFrame({"a": reference["a"], "b": reference["b"]})
    group = evaluate_group("interaction(a, b)", _column(frame), len(frame))
    assert group.name == "interaction(a, b)"
    assert list(group.cat.categories) == reference["levels"]
    np.testing.assert_array_equal(group.cat.codes + 1, reference["codes"])


def test_group_of_a_numeric_expression_is_a_factor_of_its_values() -> None:
    frame = pd.DataFrame({"x": [3.0, 1.0, 3.0, np.nan]})
    group = evaluate_group("x", _column(frame), len(frame))
    assert list(group.cat.categories) == ["1", "3"]
    assert group.isna().tolist() == [False, False, False, True]


def test_group_with_an_unknown_column_is_named() -> None:
    frame = pd.DataFrame({"a": ["x"]})
    with pytest.raises(FormulaError, match="'b' is not a column"):
        evaluate_group("interaction(a, b)", _column(frame), 1)
