"""Grouping factors: codes, level order, label types and missing labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.grouping import level_rows, make_grouping_factor
from mixedmodels.errors import FormulaError, MissingDataError


def test_levels_sorted_and_codes() -> None:
    factor = make_grouping_factor(pd.DataFrame({"g": ["b", "a", "c", "a"]}), ("g",))
    assert list(factor.levels) == ["a", "b", "c"]
    np.testing.assert_array_equal(factor.codes, [1, 0, 2, 0])
    assert factor.codes.dtype == np.int32


def test_categorical_order_kept_and_unused_levels_removed() -> None:
    column = pd.Categorical(["lo", "hi", "lo"], categories=["hi", "mid", "lo"])
    factor = make_grouping_factor(pd.DataFrame({"g": column}), ("g",))
    assert list(factor.levels) == ["hi", "lo"]
    np.testing.assert_array_equal(factor.codes, [1, 0, 1])


def test_mixed_label_types() -> None:
    factor = make_grouping_factor(pd.DataFrame({"g": [3, "a", 1, "a", 3.5]}), ("g",))
    assert factor.n_levels == 4
    assert factor.codes[1] == factor.codes[3]


def test_equal_int_and_float_labels_are_one_level() -> None:
    factor = make_grouping_factor(pd.DataFrame({"g": pd.Series([1, 1.0, 2], dtype=object)}), ("g",))
    assert factor.n_levels == 2


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
def test_missing_label_is_never_a_level(missing: object) -> None:
    data = pd.DataFrame({"g": pd.Series(["a", missing, "b"], dtype=object)})
    with pytest.raises(MissingDataError, match="'g' has 1 missing label"):
        make_grouping_factor(data, ("g",))


def test_missing_float_label() -> None:
    with pytest.raises(MissingDataError, match="never a level"):
        make_grouping_factor(pd.DataFrame({"g": [1.0, np.nan, 2.0]}), ("g",))


def test_interaction_keeps_only_occurring_combinations() -> None:
    data = pd.DataFrame({"a": [1, 1, 2, 2], "b": ["x", "y", "x", "x"]})
    factor = make_grouping_factor(data, ("a", "b"))
    assert factor.name == "a:b"
    assert list(factor.levels) == ["1:x", "1:y", "2:x"]
    np.testing.assert_array_equal(factor.codes, [0, 1, 2, 2])


def test_unknown_column() -> None:
    with pytest.raises(FormulaError, match="'h'"):
        make_grouping_factor(pd.DataFrame({"g": [1, 2]}), ("h",))


@pytest.mark.parametrize(
    "levels",
    [
        pd.Index([1, 2, 10]),
        pd.Index(["a", "b"], dtype="str"),
        pd.Index(["x", "y"], dtype=object),
        pd.Index([1.0, 2.5]),
    ],
)
def test_interaction_labels_one_by_one_equal_the_vectorised_ones(levels, monkeypatch) -> None:
    from mixedmodels.design import grouping

    few = grouping._labels(levels)
    monkeypatch.setattr(grouping, "_FEW_LEVELS", 0)
    many = grouping._labels(levels)
    assert few.dtype == many.dtype == object
    assert few.tolist() == many.tolist()


def test_categorical_levels_do_not_change_the_data() -> None:
    data = pd.DataFrame({"g": pd.Categorical(["b", "a", "b"], categories=["a", "b", "c"])})
    factor = make_grouping_factor(data, ("g",))
    assert list(factor.levels) == ["a", "b"]
    assert list(data["g"].cat.categories) == ["a", "b", "c"]


def test_level_rows_lists_each_levels_rows_in_order() -> None:
    rows = level_rows(np.array([1, 0, 1, 2, 0]), 4)
    assert [part.tolist() for part in rows] == [[1, 4], [0, 2], [3], []]
