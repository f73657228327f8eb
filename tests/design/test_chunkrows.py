"""One chunk's rows: the shared mask on a chunk, and evidence of repeated random effects."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.design.chunkplan import ChunkPlan, make_plan
from mixedmodels.design.chunkrows import complete_rows, duplicate_predicates, record_duplicates
from mixedmodels.design.frame import parse
from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.design.rows import ChunkStats
from mixedmodels.design.terms import TermSpec, assemble_blocks, full_pattern


def _plan(frame: pd.DataFrame, weights: str | None = None) -> ChunkPlan:
    parsed = parse("y ~ treat + (1 | g)")
    distinct = {("g",): frame[["g"]].drop_duplicates(), ("treat",): frame[["treat"]]}
    return make_plan(parsed, frame, distinct, weights=weights)


def test_complete_rows_masks_counts_and_casts() -> None:
    frame = pd.DataFrame(
        {
            "y": [1.0, 2.0, np.nan, 4.0, 5.0],
            "treat": ["a", "b", "a", "c", "b"],
            "g": [1, 1, 2, 2, 3],
            "w": [1.0, 0.0, 1.0, 1.0, 2.0],
            "unused": 0,
        }
    )
    plan = _plan(frame, weights="w")
    stats = ChunkStats(n_rows=5)
    rows = complete_rows(plan, frame.iloc[1:], stats)
    assert list(rows.index) == [3, 4]
    assert list(rows.columns) == ["y", "treat", "g", "w"]
    assert list(rows["treat"].cat.categories) == ["a", "b", "c"]  # the plan's levels
    assert stats.missing == {"y": 1}
    assert stats.dropped_zero_weight == 1


def _block(codes: list[int], z: np.ndarray, name: str, label: str = "(Intercept)"):
    factor = make_grouping_factor(pd.DataFrame({name: codes}), (name,))
    return TermSpec(factor, z, (label,), full_pattern(1), name)


def test_duplicate_evidence_adds_up_over_chunks() -> None:
    # Two factors with the same groups (a relabelling): the same random intercepts.
    codes_a = np.array([0, 0, 1, 1, 2, 2])
    codes_b = np.array([2, 2, 0, 0, 1, 1])
    ones = np.ones((6, 1))
    stats = ChunkStats(counts=[np.zeros(3), np.zeros(3)])
    halves = []
    for rows in (slice(0, 3), slice(3, 6)):
        part = ChunkStats(counts=[np.zeros(3), np.zeros(3)])
        record_duplicates(
            part, [codes_a[rows], codes_b[rows]], [ones[rows], ones[rows]], [[1], [1]]
        )
        halves.append(part)
    stats = halves[0] + halves[1]
    blocks = assemble_blocks([_block(list(codes_a), ones, "a"), _block(list(codes_b), ones, "b")])[
        0
    ]
    same_column, same_groups = duplicate_predicates(stats, blocks, ["a", "b"])
    assert same_column(0, 0, 1, 0)
    assert same_groups(0, 1)


def test_different_groups_are_not_duplicates() -> None:
    codes_a = np.array([0, 0, 1, 1])
    codes_b = np.array([0, 1, 0, 1])  # crossed
    ones = np.ones((4, 1))
    stats = ChunkStats(counts=[np.zeros(2), np.zeros(2)])
    record_duplicates(stats, [codes_a, codes_b], [ones, ones], [[1], [1]])
    blocks = assemble_blocks([_block(list(codes_a), ones, "a"), _block(list(codes_b), ones, "b")])[
        0
    ]
    same_column, same_groups = duplicate_predicates(stats, blocks, ["a", "b"])
    assert same_column(0, 0, 1, 0)
    assert not same_groups(0, 1)
