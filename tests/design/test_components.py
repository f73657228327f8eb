"""Random-effect terms from per-group design matrices (``design/components.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mixedmodels.design.components import GroupComponent, split_by_group
from mixedmodels.design.grouping import GroupingFactor, level_rows
from mixedmodels.design.terms import full_pattern
from mixedmodels.errors import DataError


def _groups() -> tuple[GroupingFactor, list[np.ndarray]]:
    codes = np.array([0, 0, 1, 1, 1], dtype=np.int32)
    factor = GroupingFactor("Group", codes, pd.Index(["g1", "g2"], dtype=object))
    return factor, level_rows(codes, 2)


def _stack(name: str, matrices: list, column_names: list | None = None) -> GroupComponent:
    _, rows = _groups()
    arguments = [f"{name}[{label!r}]" for label in ("g1", "g2")]
    return GroupComponent.stack(name, matrices, rows, 5, arguments, column_names)


def test_dense_sparse_and_pandas_matrices_stack_alike() -> None:
    g1 = pd.DataFrame({"u": [1.0, 0.0], "v": [0.0, 1.0]})
    g2 = np.array([[1.0], [1.0], [0.0]])
    from_frames = _stack("c", [g1, g2])
    from_sparse = _stack("c", [g1.to_numpy(), sp.csr_matrix(g2)], [["u", "v"], ["0"]])
    for component in (from_frames, from_sparse):
        assert component.column_names == ("u", "v", "0")
        assert component.column_group.tolist() == [0, 0, 1]
        assert component.column_local.tolist() == [0, 1, 0]
        np.testing.assert_array_equal(
            component.matrix.toarray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]]
        )
        assert not component.tied


def test_a_matrix_of_the_wrong_height_is_named() -> None:
    with pytest.raises(DataError, match=r"c\['g1'\] has 3 rows; its group has 2"):
        _stack("c", [np.ones((3, 1)), np.ones((3, 1))])
    with pytest.raises(DataError, match=r"c\['g1'\] must be 1-D or 2-D"):
        _stack("c", [np.ones((2, 1, 1)), np.ones((3, 1))])


def test_missing_rows_and_restriction_recode_groups() -> None:
    component = _stack("c", [np.array([[np.nan, 1.0], [1.0, 1.0]]), np.ones((3, 2))])
    assert component.tied  # rows with two non-zeros: a tied term on the group factor
    assert np.isnan(component.row_values()).tolist() == [True, False, False, False, False]
    keep = np.array([False, False, True, True, True])
    restricted = component.restricted(keep, np.array([-1, 0]))  # g1 loses its rows
    assert restricted.matrix.shape == (3, 4)
    assert restricted.column_group.tolist() == [-1, -1, 0, 0]
    assert restricted.group_columns(0).tolist() == [2, 3]


def test_scalar_component_is_a_term_on_group_and_column() -> None:
    """At most one non-zero per row: ``(1 | group:column)`` with the row's value as z."""
    factor, _ = _groups()
    component = _stack("c", [np.array([[2.0, 0.0], [0.0, 3.0]]), np.array([[1.0], [0.0], [4.0]])])
    assert not component.on_group(factor.n_levels)  # 2 and 1 columns: not the same few
    term = component.term(factor, "Group:c")
    assert term.factor.name == "Group:c"
    assert term.factor.levels.tolist() == ["g1[0]", "g1[1]", "g2[0]"]
    assert term.factor.codes.tolist() == [0, 1, 2, 0, 2]
    assert term.z[:, 0].tolist() == [2.0, 3.0, 1.0, 0.0, 4.0]  # row 3 adds nothing
    np.testing.assert_array_equal(term.pattern, full_pattern(1))


def test_tied_component_is_a_diagonal_term_with_one_parameter() -> None:
    factor, _ = _groups()
    component = _stack("c", [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0], [6.0], [7.0]])])
    term = component.term(factor, "unused")
    assert term.factor is factor and term.label == "c"
    np.testing.assert_array_equal(term.z, [[1, 2], [3, 4], [5, 0], [6, 0], [7, 0]])
    np.testing.assert_array_equal(term.pattern, [[0, -1], [-1, 0]])


def test_the_same_few_columns_per_group_stay_on_the_group_factor() -> None:
    factor, _ = _groups()
    component = _stack("c", [np.eye(2), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])])
    assert not component.tied and component.on_group(factor.n_levels)
    assert component.term(factor, "unused").factor is factor


def test_a_component_that_is_zero_everywhere_is_an_error() -> None:
    factor, _ = _groups()
    with pytest.raises(DataError, match="'c' is zero for every observation"):
        _stack("c", [np.zeros((2, 1)), np.zeros((3, 1))]).term(factor, "Group:c")


def test_split_keeps_each_groups_nonzero_columns_and_group_blocks_give_them_back() -> None:
    """statsmodels' ``vc_formula`` without an intercept: one evaluation, split by group."""
    _, rows = _groups()
    shared = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0.0]]))
    blocks = split_by_group(shared, ["a", "b", "z"], rows)
    component = GroupComponent.stack(
        "c", [block for _, block in blocks], rows, 5, ["c"] * 2, [names for names, _ in blocks]
    )
    assert component.column_names == ("a", "b", "b", "z")
    assert component.column_group.tolist() == [0, 0, 1, 1]
    for (names, block), split in zip(component.group_blocks(rows), blocks, strict=True):
        assert names == split[0]
        np.testing.assert_array_equal(block.toarray(), split[1].toarray())
    (names_1, block_1), (names_2, block_2) = blocks
    assert names_1 == ["a", "b"] and names_2 == ["b", "z"]
    np.testing.assert_array_equal(block_1.toarray(), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(block_2.toarray(), [[1, 0], [0, 1], [1, 0]])


def test_row_values_flag_nan_before_inf() -> None:
    g1 = np.array([[np.inf, 0.0], [np.nan, np.inf]])
    values = _stack("c", [g1, np.ones((3, 1))]).row_values()
    assert np.isinf(values[0]) and np.isnan(values[1]) and np.all(values[2:] == 0)
