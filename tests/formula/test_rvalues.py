"""R values of data columns (``formula/rvalues.py``): factors, labels, level order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.formula.rvalues import (
    Factor,
    as_r_value,
    categorical_factor,
    category_labels,
    character_factor,
    numeric_factor,
    r_label,
    r_sort_key,
)

from .rfunction_reference import r_reference

R = r_reference()
DOUBLES = R["labels_double"]
# R's as.character() of a whole double is scientific when that is shorter (1e+05); r_label
# writes every whole number below 1e15 in full, as R writes an integer: as_r_value turns
# integer columns into doubles, so the integer's label is the one kept (test below).
WHOLE_SHORTER_IN_SCIENTIFIC = [
    (value, label)
    for value, label in zip(DOUBLES["x"], DOUBLES["labels"], strict=True)
    if float(value).is_integer() and abs(value) < 1e15 and "e" in label
]
SAME = [
    (value, label)
    for value, label in zip(DOUBLES["x"], DOUBLES["labels"], strict=True)
    if (value, label) not in WHOLE_SHORTER_IN_SCIENTIFIC
]


@pytest.mark.parametrize(("value", "label"), SAME, ids=[label for _, label in SAME])
def test_label_of_a_double_is_rs_as_character(value: float, label: str) -> None:
    assert r_label(float(value)) == label
    assert r_label(np.float64(value)) == label


@pytest.mark.parametrize(
    ("value", "label"),
    WHOLE_SHORTER_IN_SCIENTIFIC,
    ids=[label for _, label in WHOLE_SHORTER_IN_SCIENTIFIC],
)
@pytest.mark.xfail(strict=True, reason="whole doubles are labelled as R labels integers")
def test_label_of_a_whole_double_shorter_in_scientific(value: float, label: str) -> None:
    assert r_label(float(value)) == label


def test_label_of_an_integer_is_rs_as_character() -> None:
    case = R["labels_integer"]
    assert [r_label(int(value)) for value in case["x"]] == case["labels"]
    assert [r_label(np.int64(value)) for value in case["x"]] == case["labels"]
    # An integer column passes through as_r_value as doubles and keeps R's integer labels.
    levels = numeric_factor(as_r_value(pd.Series(case["x"]))).levels
    assert sorted(levels) == sorted(case["labels"])


def test_labels_of_other_values() -> None:
    assert r_label(True) == "TRUE"
    assert r_label(np.bool_(False)) == "FALSE"
    assert r_label("4601") == "4601"
    assert r_label(4601.0) == r_label(4601) == r_label("4601")


def test_numeric_factor_levels_are_rs() -> None:
    case = R["factor_numeric"]
    factor = numeric_factor(np.array(case["x"]))
    assert factor.levels == tuple(case["levels"])
    np.testing.assert_array_equal(factor.codes + 1, case["codes"])


def test_character_factor_levels_follow_rs_collation() -> None:
    case = R["factor_character"]
    factor = character_factor(np.array(case["x"], dtype=object))
    assert factor.levels == tuple(case["levels"])
    np.testing.assert_array_equal(factor.codes + 1, case["codes"])
    assert sorted(case["x"], key=r_sort_key) == case["levels"]


def test_missing_values_get_code_minus_one() -> None:
    factor = character_factor(np.array(["b", None, "a"], dtype=object))
    assert factor.levels == ("a", "b")
    np.testing.assert_array_equal(factor.codes, [1, -1, 0])
    assert list(factor.labels) == ["b", None, "a"]


def test_equal_labels_of_different_types_are_one_level() -> None:
    factor = character_factor(np.array([1, 1.0, "1", 2], dtype=object))
    assert factor.levels == ("1", "2")
    np.testing.assert_array_equal(factor.codes, [0, 0, 0, 1])


def test_drop_unused_keeps_the_order_of_the_rest() -> None:
    factor = Factor(np.array([2, 0, -1, 2]), ("c", "b", "a"), ordered=True)
    dropped = factor.drop_unused()
    assert dropped.levels == ("c", "a")
    np.testing.assert_array_equal(dropped.codes, [1, 0, -1, 1])
    assert dropped.ordered
    complete = Factor(np.array([0, 1]), ("x", "y"))
    assert complete.drop_unused() is complete


def test_relabel_codes_on_the_training_levels_and_reports_unknown_labels() -> None:
    new = Factor(np.array([0, 1, 2, -1]), ("b", "z", "a"))
    relabelled, unknown = new.relabel(("a", "b"))
    assert relabelled.levels == ("a", "b")
    np.testing.assert_array_equal(relabelled.codes, [1, -1, 0, -1])
    assert unknown == ["z"]
    unused = Factor(np.array([0]), ("a", "never"))
    assert unused.relabel(("a",))[1] == []


def test_category_labels_are_rs_labels() -> None:
    assert category_labels(pd.Index([1, 10, 2])) == ("1", "10", "2")
    assert category_labels(pd.Index([1.0, 2.5])) == ("1", "2.5")
    assert category_labels(pd.Index(["x", "y"])) == ("x", "y")
    assert category_labels(pd.Index([True, False], dtype=object)) == ("TRUE", "FALSE")


def test_categorical_with_equal_labels_merges_them() -> None:
    values = np.array([1, "1", "b"], dtype=object)  # two categories, one R label
    categorical = pd.Categorical(values)
    factor = categorical_factor(
        np.asarray(categorical.codes, dtype=np.int64), categorical.dtype, lambda: values
    )
    assert factor.levels == ("1", "b")
    np.testing.assert_array_equal(factor.codes, [0, 0, 1])


# ------------------------------------------------------------------ as_r_value's table
def test_numbers_become_doubles() -> None:
    for column in (
        pd.Series([1, 2, 3]),
        pd.Series([1.5, 2.0]),
        pd.Series([1, None], dtype="Int64"),
    ):
        value = as_r_value(column)
        assert isinstance(value, np.ndarray) and value.dtype == np.float64
    np.testing.assert_array_equal(as_r_value(pd.Series([1, None], dtype="Int64")), [1.0, np.nan])


def test_float_arrays_pass_through_without_a_copy() -> None:
    array = np.array([1.0, 2.0])
    assert as_r_value(array) is array


def test_logicals_stay_logical_and_with_missing_values_become_a_factor() -> None:
    value = as_r_value(pd.Series([True, False]))
    assert value.dtype == bool
    with_na = as_r_value(pd.Series([True, None, False], dtype="boolean"))
    assert isinstance(with_na, Factor)
    assert with_na.levels == ("FALSE", "TRUE")
    np.testing.assert_array_equal(with_na.codes, [1, -1, 0])


def test_categoricals_keep_their_level_order_and_ordering() -> None:
    column = pd.Series(pd.Categorical(["lo", "hi"], categories=["lo", "mid", "hi"], ordered=True))
    value = as_r_value(column)
    assert value.levels == ("lo", "mid", "hi")  # unused levels kept, as in R's data frame
    assert value.ordered
    np.testing.assert_array_equal(value.codes, [0, 2])


def test_text_becomes_a_factor_with_sorted_levels() -> None:
    value = as_r_value(pd.Series(["b", "a", None, "B"]))
    assert value.levels == ("a", "b", "B")
    np.testing.assert_array_equal(value.codes, [1, 0, -1, 2])
