"""Random-effect terms assembled into blocks: lme4's order, global theta, one block per factor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.design.terms import TermSpec, assemble_blocks, block_pattern, full_pattern
from mixedmodels.errors import StructureError


def _term(levels: int, z: np.ndarray, names: tuple[str, ...], name: str) -> TermSpec:
    codes = np.arange(z.shape[0]) % levels
    factor = make_grouping_factor(pd.DataFrame({name: codes}), (name,))
    return TermSpec(factor, z, names, full_pattern(z.shape[1]), name)


N = 12
ONES = np.ones((N, 1))
X = np.arange(N, dtype=float)[:, None]


def test_full_pattern_numbers_the_lower_triangle_by_column() -> None:
    np.testing.assert_array_equal(full_pattern(2), [[0, -1], [1, 2]])
    assert TermSpec(None, ONES, ("a",), full_pattern(3)).n_theta == 6


def test_blocks_most_levels_first_and_theta_in_that_order() -> None:
    few = _term(2, ONES, ("(Intercept)",), "h")
    many = _term(6, np.hstack([ONES, X]), ("(Intercept)", "x"), "g")
    blocks, infos, n_theta = assemble_blocks([few, many])
    assert [block.factor.name for block in blocks] == ["g", "h"]
    assert n_theta == 4
    assert infos[0].theta_indices == (3,) and infos[0].block == 1
    assert infos[1].theta_indices == (0, 1, 2) and infos[1].block == 0
    np.testing.assert_array_equal(blocks[0].diagonal_theta_indices(), [0, 2])
    assert blocks[1].is_intercept_only and not blocks[0].is_intercept_only
    assert blocks[0].n_random == 12


def test_terms_on_one_factor_merge_without_fill_in() -> None:
    intercept = _term(3, ONES, ("(Intercept)",), "g")
    slope = _term(3, X, ("x",), "g")
    blocks, infos, n_theta = assemble_blocks([intercept, slope])
    assert len(blocks) == 1 and n_theta == 2
    block = blocks[0]
    assert block.column_names == ("(Intercept)", "x")
    np.testing.assert_array_equal(block.theta_index, [[0, -1], [-1, 1]])
    np.testing.assert_array_equal(block.lambda_factor(np.array([2.0, 3.0])), np.diag([2.0, 3.0]))
    assert infos[1].columns == (1,)


def test_block_pattern_numbers_the_free_entries_by_column() -> None:
    np.testing.assert_array_equal(block_pattern(np.ones((3, 3), dtype=bool)), full_pattern(3))
    np.testing.assert_array_equal(block_pattern(np.eye(2, dtype=bool)), [[0, -1], [-1, 1]])
    # Columns 0 and 2 share a block, column 1 is alone.
    free = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=bool)
    pattern = block_pattern(free)
    np.testing.assert_array_equal(pattern, [[0, -1, -1], [-1, 2, -1], [1, -1, 3]])
    # T T' has exactly the mask's zeros for any values of the free entries.
    factor = np.where(pattern >= 0, 1.0 + pattern, 0.0)
    np.testing.assert_array_equal((factor @ factor.T) != 0, free)


def test_block_pattern_refuses_masks_no_factor_gives() -> None:
    path = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=bool)  # 0-1 and 1-2 but not 0-2
    with pytest.raises(StructureError, match="not block diagonal"):
        block_pattern(path)


@pytest.mark.parametrize("pattern", ["scalar", "diagonal", "full3"])
def test_lambda_factor_item_by_item_and_fancy_agree(pattern: str, monkeypatch) -> None:
    import pickle

    from mixedmodels.design import terms as terms_module
    from mixedmodels.design.terms import RandomEffectsBlock

    p = {"scalar": 1, "diagonal": 2, "full3": 3}[pattern]
    index = np.full((p, p), -1)
    rows, cols = (np.diag_indices(p) if pattern == "diagonal" else np.tril_indices(p))
    index[rows, cols] = 2 + np.arange(len(rows))
    factor = make_grouping_factor(pd.DataFrame({"g": [0, 1, 1]}), ("g",))
    block = RandomEffectsBlock(factor, np.ones((3, p)), tuple("abc"[:p]), index)
    theta = np.arange(1.0, 3.0 + len(rows))
    want = np.where(index >= 0, theta[np.maximum(index, 0)], 0.0)
    np.testing.assert_array_equal(block.lambda_factor(theta), want)
    monkeypatch.setattr(terms_module, "_FEW_ENTRIES", 0)
    np.testing.assert_array_equal(block.lambda_factor(theta), want)
    # A pickle without the derived lookups (an older version's) rebuilds them.
    state = {k: v for k, v in block.__dict__.items() if k != "_entries"}
    restored = RandomEffectsBlock.__new__(RandomEffectsBlock)
    restored.__setstate__(state)
    np.testing.assert_array_equal(restored.lambda_factor(theta), want)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(block)).lambda_factor(theta), want)
