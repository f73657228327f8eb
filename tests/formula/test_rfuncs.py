"""R's functions in formulas (``formula/rfuncs.py``): values as R computes them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mixedmodels.errors import ColumnTypeError, FormulaError
from mixedmodels.formula.rfuncs import UNSUPPORTED_FUNCTIONS, Evaluator
from mixedmodels.formula.rlang import parse_expression
from mixedmodels.formula.rvalues import Factor, RMatrix

from .rfunction_reference import r_matrix, r_reference, r_vector

R = r_reference()


def _evaluate(
    text: str, data: dict[str, Any], state: dict | None = None, training: bool = True
) -> Any:
    n_rows = len(next(iter(data.values()))) if data else 1
    evaluator = Evaluator(lambda name: data[name], n_rows, {} if state is None else state, training)
    return evaluator(parse_expression(text))


# ------------------------------------------------------------------ arithmetic
@pytest.mark.parametrize(
    ("expression", "key"),
    [("u %% v", "mod"), ("u %/% v", "intdiv"), ("u ^ v", "power"), ("u^v", "power")],
)
def test_arithmetic_is_rs(expression: str, key: str) -> None:
    data = {"u": np.array(R["arithmetic"]["u"]), "v": np.array(R["arithmetic"]["v"])}
    np.testing.assert_allclose(_evaluate(f"I({expression})", data), R["arithmetic"][key])


def test_integer_columns_raised_to_negative_powers() -> None:
    # R's ^ on integers is a double power; numpy refuses integer ** negative integer.
    value = _evaluate("I(n^-1)", {"n": pd.Series([1, 2, 4])})
    np.testing.assert_array_equal(value, [1.0, 0.5, 0.25])


def test_log_with_a_base_is_rs() -> None:
    u = np.abs(np.array(R["arithmetic"]["u"])) + 1
    np.testing.assert_allclose(_evaluate("log(w, base = 2)", {"w": u}), R["arithmetic"]["log2"])
    np.testing.assert_allclose(_evaluate("log(w, 7)", {"w": u}), R["arithmetic"]["log_base"])


def test_log_of_a_negative_value_is_nan_as_in_r() -> None:
    value = _evaluate("log(w)", {"w": np.array([-1.0, 1.0])})
    assert np.isnan(value[0]) and value[1] == 0.0


def test_elementwise_functions_and_numpy_spellings() -> None:
    x = np.array([0.25, 1.5, 4.0])
    np.testing.assert_allclose(_evaluate("sqrt(x)", {"x": x}), np.sqrt(x))
    np.testing.assert_allclose(_evaluate("np.log1p(x)", {"x": x}), np.log1p(x))
    np.testing.assert_allclose(_evaluate("ceiling(x)", {"x": x}), [1.0, 2.0, 4.0])
    np.testing.assert_allclose(_evaluate("np.ceil(x)", {"x": x}), [1.0, 2.0, 4.0])


def test_comparisons_and_logic_give_logicals() -> None:
    x = np.array([1.0, 2.0, 3.0])
    value = _evaluate("I(x > 1 & !(x == 3))", {"x": x})
    assert value.dtype == bool
    np.testing.assert_array_equal(value, [False, True, False])
    np.testing.assert_array_equal(_evaluate("I(x >= 2)", {"x": x}), [False, True, True])


def test_constants_only_when_no_column_has_the_name() -> None:
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(_evaluate("I(pi * x)", {"x": x}), np.pi * x)
    np.testing.assert_allclose(_evaluate("I(pi * x)", {"x": x, "pi": np.array([2.0, 3.0])}), [2, 6])


# ------------------------------------------------------------------ poly and scale
@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_poly_training_and_predict_time_values_are_rs(degree: int) -> None:
    case = next(case for case in R["poly"] if case["degree"] == degree)
    state: dict = {}
    text = f"poly(x, {degree})"
    fitted = _evaluate(text, {"x": np.array(R["poly_x"])}, state)
    assert isinstance(fitted, RMatrix)
    assert fitted.colnames == tuple(str(power) for power in range(1, degree + 1))
    np.testing.assert_allclose(fitted.values, r_matrix(case["basis"], degree), atol=1e-14)
    # New data reuse the training basis (R's makepredictcall), not a basis of their own.
    new = _evaluate(text, {"x": np.array(R["poly_new"])}, state, training=False)
    np.testing.assert_allclose(new.values, r_matrix(case["predict"], degree), rtol=1e-13)


def test_raw_poly_is_the_powers_and_learns_nothing() -> None:
    case = next(case for case in R["poly"] if case["degree"] == 3)
    state: dict = {}
    value = _evaluate("poly(x, 3, raw = TRUE)", {"x": np.array(R["poly_x"])}, state)
    np.testing.assert_allclose(value.values, r_matrix(case["raw"], 3))
    assert state == {}


def test_poly_degree_must_be_a_positive_whole_number() -> None:
    with pytest.raises(FormulaError, match=r"'poly\(x, 1.5\)'.*positive whole"):
        _evaluate("poly(x, 1.5)", {"x": np.arange(5.0)})
    with pytest.raises(FormulaError, match="degree must be a constant"):
        _evaluate("poly(x, y)", {"x": np.arange(5.0), "y": np.arange(5.0)})


def test_poly_of_several_variables_is_refused() -> None:
    with pytest.raises(FormulaError, match="several variables"):
        _evaluate("poly(x, y, degree = 2)", {"x": np.arange(5.0), "y": np.arange(5.0)})


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ("", "default"),
        (", center = FALSE", "no_center"),
        (", scale = FALSE", "no_scale"),
        (", center = 2, scale = 4", "given"),
    ],
)
def test_scale_training_and_predict_time_values_are_rs(arguments: str, key: str) -> None:
    state: dict = {}
    text = f"scale(x{arguments})"
    fitted = _evaluate(text, {"x": r_vector(R["scale_x"])}, state)
    np.testing.assert_allclose(fitted.values[:, 0], r_vector(R["scale"][key]["values"]))
    new = _evaluate(text, {"x": np.array(R["scale_new"], float)}, state, training=False)
    np.testing.assert_allclose(new.values[:, 0], R["scale"][key]["new"], rtol=1e-14)


# ------------------------------------------------------------------ factors
def test_factor_of_numbers_has_rs_levels_and_codes() -> None:
    case = R["factor_numeric"]
    factor = _evaluate("factor(x)", {"x": np.array(case["x"])})
    assert factor.levels == tuple(case["levels"])
    np.testing.assert_array_equal(factor.codes + 1, case["codes"])


def test_factor_of_text_has_rs_levels_and_codes() -> None:
    case = R["factor_character"]
    factor = _evaluate("as.factor(x)", {"x": np.array(case["x"], dtype=object)})
    assert factor.levels == tuple(case["levels"])
    np.testing.assert_array_equal(factor.codes + 1, case["codes"])


def test_factor_of_logicals() -> None:
    factor = _evaluate("factor(x)", {"x": np.array(R["factor_logical"]["x"])})
    assert factor.levels == tuple(R["factor_logical"]["levels"])


def test_factor_of_a_categorical_drops_unused_levels_and_keeps_their_order() -> None:
    column = pd.Series(pd.Categorical(["c", "a", "c"], categories=["c", "b", "a"]))
    assert _evaluate("factor(f)", {"f": column}).levels == ("c", "a")
    assert _evaluate("as.factor(f)", {"f": column}).levels == ("c", "b", "a")


def test_ordered_makes_an_ordered_factor() -> None:
    value = _evaluate("ordered(x)", {"x": np.array([3.0, 1.0, 2.0])})
    assert value.ordered and value.levels == ("1", "2", "3")
    assert not _evaluate("factor(x)", {"x": np.array([3.0, 1.0])}).ordered


def test_as_numeric_of_a_factor_is_its_level_number() -> None:
    column = pd.Series(pd.Categorical(["hi", None, "lo"], categories=["lo", "hi"]))
    value = _evaluate("as.numeric(f)", {"f": column})
    np.testing.assert_array_equal(value, [2.0, np.nan, 1.0])
    np.testing.assert_array_equal(_evaluate("as.integer(x)", {"x": np.array([1.7, -1.7])}), [1, -1])


def test_interaction_levels_are_rs() -> None:
    case = R["interaction"]
    data = {"a": np.array(case["a"], dtype=object), "b": np.array(case["b"], dtype=object)}
    value = _evaluate("interaction(a, b)", data)
    assert value.levels == tuple(case["levels"])
    np.testing.assert_array_equal(value.codes + 1, case["codes"])
    assert _evaluate('interaction(a, b, sep = "_")', data).levels == tuple(case["levels_sep"])


def test_interaction_is_missing_where_a_part_is_missing() -> None:
    data = {"a": np.array(["x", None], dtype=object), "b": np.array(["p", "q"], dtype=object)}
    assert _evaluate("interaction(a, b)", data).codes[1] == -1


def test_dummy_is_lme4s() -> None:
    case = R["dummy"]
    column = pd.Series(pd.Categorical(case["f"], categories=case["levels"]))
    every = _evaluate("dummy(f)", {"f": column})
    np.testing.assert_array_equal(every.values, r_matrix(case["all"], 2))
    assert every.colnames == ("mid", "hi")
    np.testing.assert_array_equal(
        _evaluate('dummy(f, "hi")', {"f": column}).values[:, 0], case["keep_hi"]
    )
    with pytest.raises(FormulaError, match="'nope'"):
        _evaluate('dummy(f, "nope")', {"f": column})


# ------------------------------------------------------------------ errors
def test_arithmetic_on_a_factor_names_the_variable() -> None:
    column = pd.Series(pd.Categorical(["a", "b"]))
    with pytest.raises(ColumnTypeError, match=r"'f' in 'f \+ 1' is categorical.*as.numeric\(f\)"):
        _evaluate("I(f + 1)", {"f": column})


def test_unknown_column_is_named() -> None:
    with pytest.raises(FormulaError, match="'zz' is not a column of the data"):
        _evaluate("log(zz)", {"x": np.arange(2.0)})


@pytest.mark.parametrize("function", sorted(UNSUPPORTED_FUNCTIONS))
def test_unsupported_functions_say_what_to_write(function: str) -> None:
    with pytest.raises(FormulaError) as info:
        _evaluate(f"{function}(x)", {"x": np.arange(3.0)})
    message = str(info.value)
    assert f"{function}()" in message and UNSUPPORTED_FUNCTIONS[function] in message


def test_unknown_function_is_named() -> None:
    with pytest.raises(FormulaError, match=r"function frobnicate\(\).*compute the column"):
        _evaluate("frobnicate(x)", {"x": np.arange(3.0)})


def test_offset_inside_an_expression_is_refused() -> None:
    with pytest.raises(FormulaError, match=r"offset.*top level"):
        _evaluate("I(offset(x))", {"x": np.arange(3.0)})


def test_unknown_argument_is_named() -> None:
    with pytest.raises(FormulaError, match=r"\['centre'\]"):
        _evaluate("scale(x, centre = TRUE)", {"x": np.arange(3.0)})


def test_i_takes_one_expression() -> None:
    with pytest.raises(FormulaError, match="I\\(\\) takes one expression"):
        _evaluate("I(x, x)", {"x": np.arange(3.0)})


def test_a_bar_inside_an_expression_is_refused() -> None:
    with pytest.raises(FormulaError, match="'\\|' is not allowed here"):
        _evaluate("I(x | g)", {"x": np.arange(3.0), "g": np.arange(3.0)})


def test_values_are_r_values() -> None:
    assert isinstance(_evaluate("f", {"f": pd.Series(pd.Categorical(["a"]))}), Factor)
