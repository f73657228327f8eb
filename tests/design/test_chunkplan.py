"""The chunk plan: the levels every chunk is coded against, found before the pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.chunked import iter_chunks
from mixedmodels.design.chunkplan import distinct_frame, level_columns, make_plan
from mixedmodels.design.frame import parse
from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.errors import FormulaError


def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 40
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "treat": rng.choice(["b", "a", "c"], n),
            "site": rng.choice(["s2", "s1", None], n),
            "batch": rng.integers(0, 4, n),
            "g": pd.Categorical(rng.integers(0, 5, n), categories=[4, 3, 2, 1, 0, 9]),
        }
    )


FORMULA = "y ~ treat + (1 | site) + (1 | g) + (1 | site:batch)"


def _plan(frame: pd.DataFrame, chunk_rows: int = 7):
    parsed = parse(FORMULA)
    distinct = {
        columns: distinct_frame(iter_chunks(frame, chunk_rows), columns)
        for columns in level_columns(parsed, frame.iloc[:0])
    }
    return make_plan(parsed, frame.iloc[:0], distinct)


def test_level_columns_skip_categoricals_and_the_response() -> None:
    needed = level_columns(parse(FORMULA), data().iloc[:0])
    assert needed == [("site",), ("site", "batch"), ("treat",)]


def test_distinct_frame_drops_missing_and_repeats() -> None:
    frame = data()
    distinct = distinct_frame(iter_chunks(frame, 6), ("site", "batch"))
    expected = frame[["site", "batch"]].dropna().drop_duplicates()
    assert len(distinct) == len(expected)
    assert not distinct.isna().any().any()


def test_superset_levels_match_the_in_memory_levels() -> None:
    frame = data()
    plan = _plan(frame)
    by_name = {factor.name: factor for factor in plan.factors}
    assert list(by_name) == ["site", "g", "site:batch"]
    for name, variables in (("site", ("site",)), ("site:batch", ("site", "batch"))):
        complete = frame.dropna(subset=list(variables))
        memory = make_grouping_factor(complete, variables)
        assert list(by_name[name].labels) == list(memory.levels)
        np.testing.assert_array_equal(by_name[name].codes(complete), memory.codes)
    # A categorical brings its categories (unused ones are pruned after the pass).
    assert list(by_name["g"].labels) == [4, 3, 2, 1, 0, 9]
    assert list(plan.categories["treat"].categories) == ["a", "b", "c"]
    assert plan.block_terms == [[0], [1], [2]]


def test_terms_on_one_factor_share_a_block() -> None:
    parsed = parse("y ~ 1 + (1 | site) + (0 + batch | site)")
    frame = data()
    distinct = {
        columns: distinct_frame([frame], columns) for columns in level_columns(parsed, frame)
    }
    plan = make_plan(parsed, frame, distinct)
    assert plan.block_terms == [[0, 1]]


def test_unknown_column_keeps_the_hint() -> None:
    with pytest.raises(FormulaError, match="did you mean 'site'"):
        level_columns(parse("y ~ 1 + (1 | sitee)"), data())
    with pytest.raises(FormulaError, match="did you mean 'batch'"):
        make_plan(parse("y ~ batchh + (1 | g)"), data(), {})
