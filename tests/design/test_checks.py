"""Structural checks (lme4's defaults) and identifiability helpers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.checks import (
    check_structure,
    duplicate_effects,
    term_widths,
)
from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.design.terms import TermSpec, assemble_blocks, full_pattern
from mixedmodels.errors import DataError, IdentifiabilityWarning, StructureError


def _term(groups: list[object], z: np.ndarray, names: tuple[str, ...], name: str = "g") -> TermSpec:
    factor = make_grouping_factor(pd.DataFrame({name: groups}), (name,))
    return TermSpec(factor, z, names, full_pattern(z.shape[1]), name)


def _blocks(*terms: TermSpec):
    return assemble_blocks(list(terms))[0]


GROUPS = [0, 0, 0, 1, 1, 1, 2, 2, 2]
ONES = np.ones((9, 1))
X = np.arange(9.0)[:, None]


def test_term_widths_of_merged_terms() -> None:
    block = _blocks(
        _term(GROUPS, np.hstack([ONES, X]), ("(Intercept)", "x")),
        _term(GROUPS, X**2, ("x2",)),
    )[0]
    assert term_widths(block) == [2, 1]


def test_check_structure_errors() -> None:
    y = np.arange(9.0)
    with pytest.raises(StructureError, match="no random-effect term"):
        check_structure(y, [])
    with pytest.raises(DataError, match="constant"):
        check_structure(np.full(9, 2.5), _blocks(_term(GROUPS, ONES, ("(Intercept)",))))
    with pytest.raises(DataError, match="non-finite"):
        check_structure(np.r_[np.nan, y[1:]], _blocks(_term(GROUPS, ONES, ("(Intercept)",))))
    with pytest.raises(StructureError, match="1 level"):
        check_structure(y, _blocks(_term([0] * 9, ONES, ("(Intercept)",))))
    with pytest.raises(StructureError, match="9 levels for 9 observations"):
        check_structure(y, _blocks(_term(list(range(9)), ONES, ("(Intercept)",))))
    wide = np.hstack([ONES, X, X**2])
    with pytest.raises(StructureError, match="9 random effects"):
        check_structure(y, _blocks(_term(GROUPS, wide, ("(Intercept)", "x", "x2"))))


def test_row_count_mismatch() -> None:
    with pytest.raises(DataError, match="have 9 rows for a response of 8"):
        check_structure(np.arange(8.0), _blocks(_term(GROUPS, ONES, ("(Intercept)",))))
    with pytest.raises(DataError, match="one-dimensional"):
        check_structure(np.zeros((9, 2)), _blocks(_term(GROUPS, ONES, ("(Intercept)",))))


def test_merged_uncorrelated_terms_are_checked_per_term() -> None:
    # (1 | g) + (0 + x | g) + (0 + x2 | g): 3 x 3 = 9 random effects in the block, but
    # 3 per term (< 9 observations), as lme4 counts them.
    y = np.sin(np.arange(9.0))
    blocks = _blocks(
        _term(GROUPS, ONES, ("(Intercept)",)),
        _term(GROUPS, X, ("x",)),
        _term(GROUPS, X**2, ("x2",)),
    )
    check_structure(y, blocks)


def test_duplicate_effects_detected() -> None:
    relabelled = ["c", "c", "c", "a", "a", "a", "b", "b", "b"]
    same = _blocks(
        _term(GROUPS, ONES, ("(Intercept)",), "g"), _term(relabelled, ONES, ("(Intercept)",), "h")
    )
    assert duplicate_effects(same) == [("g", "h", "(Intercept)")]
    with pytest.warns(IdentifiabilityWarning, match="'g' and 'h' define the same groups"):
        check_structure(np.sin(np.arange(9.0)), same)
    # Same groups but different effects: identifiable.
    different = _blocks(
        _term(GROUPS, ONES, ("(Intercept)",), "g"), _term(relabelled, X, ("x",), "h")
    )
    assert duplicate_effects(different) == []
    # A different partition with the same number of levels: identifiable.
    crossed = _blocks(
        _term(GROUPS, ONES, ("(Intercept)",), "g"),
        _term([0, 1, 2] * 3, ONES, ("(Intercept)",), "h"),
    )
    assert duplicate_effects(crossed) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_structure(np.sin(np.arange(9.0)), crossed)
