"""R's model.matrix: codings, contrasts, names, the training basis on new data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.errors import ArgumentError, DataError
from mixedmodels.formula.rmatrix import model_matrix_spec


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "f": pd.Categorical(list("abcabc")),
            "o": pd.Categorical(list("lmhlmh"), categories=list("lmh"), ordered=True),
            "n": [1, 1, 2, 2, 10, 10],
        }
    )


def _names(rhs: str, **options) -> list[str]:
    frame = _frame()
    return model_matrix_spec(rhs, frame, len(frame), **options)[0]


@pytest.mark.parametrize(
    ("rhs", "names"),
    [
        ("x * f", ["(Intercept)", "x", "fb", "fc", "x:fb", "x:fc"]),
        ("0 + f + x", ["fa", "fb", "fc", "x"]),
        ("f + x:f", ["(Intercept)", "fb", "fc", "fa:x", "fb:x", "fc:x"]),
        ("x %in% f", ["(Intercept)", "x:fa", "x:fb", "x:fc"]),
        ("o", ["(Intercept)", "o.L", "o.Q"]),
        ("factor(n)", ["(Intercept)", "factor(n)2", "factor(n)10"]),
        ("I(x > 3)", ["(Intercept)", "I(x > 3)TRUE"]),
        ("poly(x, 2)", ["(Intercept)", "poly(x, 2)1", "poly(x, 2)2"]),
        ("scale(x)", ["(Intercept)", "scale(x)"]),
        ("as.numeric(f)", ["(Intercept)", "as.numeric(f)"]),
    ],
)
def test_column_names_are_lme4s(rhs: str, names: list[str]) -> None:
    assert _names(rhs) == names


def test_contrasts_argument() -> None:
    assert _names("f", contrasts={"f": "contr.sum"}) == ["(Intercept)", "f1", "f2"]
    assert _names("o", contrasts={"o": "contr.treatment"}) == ["(Intercept)", "om", "oh"]
    with pytest.raises(ArgumentError, match="'g' is not a variable"):
        _names("f", contrasts={"g": "contr.sum"})


def test_poly_is_rs_and_predicts_with_the_training_basis() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    _, matrix, spec = model_matrix_spec("0 + poly(x, 2)", frame, 5)
    np.testing.assert_allclose(matrix[:, 0], np.array([-2, -1, 0, 1, 2]) / np.sqrt(10))
    np.testing.assert_allclose(matrix[:, 1], np.array([2, -1, -2, -1, 2]) / np.sqrt(14))
    new = spec.matrix(pd.DataFrame({"x": [6.0]}))
    np.testing.assert_allclose(new[0], [3 / np.sqrt(10), 7 / np.sqrt(14)])


def test_scale_uses_the_training_centre_and_spread() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    _, _, spec = model_matrix_spec("0 + scale(x)", frame, 3)
    assert spec.matrix(pd.DataFrame({"x": [4.0]}))[0, 0] == pytest.approx(2.0)


def test_columns_named_like_functions_are_columns() -> None:
    frame = pd.DataFrame(
        {
            "Treatment": pd.Categorical(["a", "b", "a", "b"]),
            "C": [1.0, 2.0, 3.0, 5.0],
            "I": [2.0, 1.0, 0.0, 1.0],
            "poly": [1.0, 4.0, 9.0, 16.0],
            "pi": [0.5, 0.5, 1.0, 2.0],
        }
    )
    names, matrix, _ = model_matrix_spec("Treatment + C + I + log(poly) + I(pi * 2)", frame, 4)
    assert names == ["(Intercept)", "Treatmentb", "C", "I", "log(poly)", "I(pi * 2)"]
    np.testing.assert_allclose(matrix[:, 4], np.log(frame["poly"]))
    np.testing.assert_allclose(matrix[:, 5], frame["pi"] * 2)


def test_integer_power_is_a_power_not_xor() -> None:
    frame = pd.DataFrame({"Days": np.arange(10)})
    _, matrix, _ = model_matrix_spec("0 + I(Days^2)", frame, 10)
    np.testing.assert_array_equal(matrix[:, 0], np.arange(10) ** 2)


def test_new_level_of_a_fixed_factor_is_a_data_error() -> None:
    frame = _frame()
    _, _, spec = model_matrix_spec("f", frame, len(frame))
    with pytest.raises(DataError, match=r"'f'.*'z'"):
        spec.matrix(pd.DataFrame({"f": ["a", "z"]}))
    np.testing.assert_array_equal(spec.matrix(pd.DataFrame({"f": ["c"]})), [[1, 0, 1]])


# ------------------------------------------------------------------ terms interface
def test_term_table_gives_labels_variables_columns_and_levels() -> None:
    frame = _frame()
    names, _, spec = model_matrix_spec("poly(x, 2) * f + o + offset(n)", frame, len(frame))
    table = spec.term_table()
    labels = ["poly(x, 2)", "f", "o", "poly(x, 2):f"]
    assert [term.label for term in table.terms] == labels
    assert table.terms[3].variables == ("poly(x, 2)", "f")
    assert names[table.terms[1].columns] == ["fb", "fc"]
    assert names[table.terms[3].columns] == [
        "poly(x, 2)1:fb",
        "poly(x, 2)2:fb",
        "poly(x, 2)1:fc",
        "poly(x, 2)2:fc",
    ]
    assert table.intercept
    assert table.factor_levels == {"f": ["a", "b", "c"], "o": ["l", "m", "h"]}
    assert not table.treatment  # the ordered factor is coded by contr.poly
    assert table.data_names == ("f", "n", "o", "x")  # offset() reads n


@pytest.mark.parametrize(
    ("contrasts", "treatment"),
    [
        (None, True),
        ({"f": "contr.treatment"}, True),
        ({"f": "treatment"}, True),
        ({"f": "contr.sum"}, False),
        ({"f": [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]}, False),
    ],
    ids=["default", "named", "short-name", "sum", "matrix"],
)
def test_term_table_says_whether_every_factor_has_treatment_contrasts(
    contrasts: dict | None, treatment: bool
) -> None:
    frame = _frame()
    _, _, spec = model_matrix_spec("x + f", frame, len(frame), contrasts)
    assert spec.term_table().treatment is treatment


def test_term_table_needs_the_training_data() -> None:
    from mixedmodels.errors import FormulaError
    from mixedmodels.formula.rmatrix import RModelSpec

    with pytest.raises(FormulaError, match="never fitted"):
        RModelSpec("x + f").term_table()
