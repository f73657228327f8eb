"""check_frame: the checks without values, shared by every build, and the formula parsed once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.frame import (
    as_vector,
    check_frame,
    float_matrix,
    model_variables,
    parse,
    require_columns,
)
from mixedmodels.errors import (
    ArgumentError,
    ArgumentTypeError,
    ColumnTypeError,
    DataError,
    FormulaError,
    StructureError,
)


def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"y": rng.normal(size=12), "x": rng.normal(size=12), "g": np.repeat([1, 2, 3], 4)}
    )


def test_returns_the_parsed_formula_and_used_columns() -> None:
    frame = data()
    checked, parsed, variables, columns = check_frame("y ~ x + (1 | g)", frame, None, None)
    assert checked is frame
    assert parsed is parse("y ~ x + (1 | g)")  # cached: one parse per formula string
    assert variables == ["y", "x", "g"]
    assert list(columns) == variables
    assert all(columns[name] is not None for name in variables)


def test_model_variables_in_a_stable_order() -> None:
    assert model_variables(parse("np.log(y) ~ x + C(f) + (1 + z | a/b)")) == [
        "y",
        "f",
        "x",
        "z",
        "a",
        "b",
    ]


def test_unknown_names_get_a_hint() -> None:
    with pytest.raises(FormulaError, match="did you mean 'x'"):
        require_columns("y ~ xx", ["y", "xx"], pd.Index(["y", "x", "g"]))
    with pytest.raises(FormulaError, match="did you mean 'g'") as info:
        check_frame("y ~ x + (1 | gg)", data(), None, None)
    assert "the columns are ['y', 'x', 'g']" in str(info.value)
    require_columns("y ~ x", ["y", "x"], pd.Index(["y", "x"]))  # nothing missing: no error


def test_no_random_term_or_no_rows() -> None:
    with pytest.raises(StructureError, match="no random-effect term"):
        check_frame("y ~ x", data(), None, None)
    with pytest.raises(DataError, match="no rows"):
        check_frame("y ~ x + (1 | g)", data().iloc[:0], None, None)
    # A Dask DataFrame's empty _meta is checked without rows.
    assert check_frame("y ~ x + (1 | g)", data().iloc[:0], None, None, rows=False)[2]


def test_duplicated_used_column_and_variable_on_both_sides() -> None:
    frame = pd.concat([data(), data()[["x"]]], axis=1)
    with pytest.raises(DataError, match=r"duplicate column name\(s\) \['x'\]"):
        check_frame("y ~ x + (1 | g)", frame, None, None)
    with pytest.raises(FormulaError, match="both sides"):
        check_frame("y ~ x + (x | x)", data(), None, None)


def test_column_types() -> None:
    frame = data().assign(t=pd.date_range("2020-01-01", periods=12), b=lambda d: d["y"] > 0)
    with pytest.raises(ColumnTypeError, match="column 't' is datetime64"):
        check_frame("y ~ t + (1 | g)", frame, None, None)
    with pytest.raises(ColumnTypeError, match="response 'b' is bool"):
        check_frame("b ~ x + (1 | g)", frame, None, None)


def test_data_must_be_a_frame_or_dict() -> None:
    frame = data()
    as_dict = {name: frame[name].to_numpy() for name in frame.columns}
    assert check_frame("y ~ x + (1 | g)", as_dict, None, None)[0].shape == (12, 3)
    with pytest.raises(ArgumentTypeError, match="DataFrame"):
        check_frame("y ~ x + (1 | g)", [1, 2, 3], None, None)


def test_as_vector() -> None:
    frame = data().assign(w=2)
    assert as_vector(None, "weights", frame) is None
    np.testing.assert_array_equal(as_vector("w", "weights", frame), np.full(12, 2.0))
    assert as_vector(np.arange(12), "offset", frame).dtype == float
    with pytest.raises(FormulaError, match="weights='v' is not a column"):
        as_vector("v", "weights", frame)
    with pytest.raises(ArgumentTypeError, match="one value per row"):
        as_vector(3.0, "weights", frame)
    with pytest.raises(ArgumentError, match="shape"):
        as_vector(np.ones(5), "offset", frame)


def test_float_matrix_names_and_shapes() -> None:
    matrix, names = float_matrix(pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]}), "exog")
    assert names == ["a", "b"] and matrix.dtype == float and matrix.shape == (2, 2)
    matrix, names = float_matrix(pd.Series([1.0, None], name="z"), "exog_re")
    assert names == ["z"] and matrix.shape == (2, 1) and np.isnan(matrix[1, 0])
    matrix, names = float_matrix(np.arange(3.0), "exog_re")
    assert names is None and matrix.shape == (3, 1)
    with pytest.raises(ArgumentTypeError, match="exog must be numeric"):
        float_matrix(np.array(["a", "b"]), "exog")
    with pytest.raises(DataError, match="1-D or 2-D"):
        float_matrix(np.zeros((2, 2, 2)), "exog")
