"""Random-effect terms assembled into blocks: lme4's order, global theta, one block per factor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.design.terms import TermSpec, assemble_blocks, full_pattern


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
