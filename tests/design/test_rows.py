"""The row mask and row errors of every build; chunks add up to the one-chunk (in-memory) case."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.rows import (
    ChunkStats,
    complete_mask,
    infinite_rows,
    missing_rows,
    raise_row_errors,
    raise_undefined,
)
from mixedmodels.errors import DataError, DataWarning


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "g": pd.Categorical(["a", "b", None, "a", "b", "a", "b", "a"]),
            "k": np.arange(8),
        }
    )


def _mask(data: pd.DataFrame, weights=None, offset=None, stats=None):
    stats = ChunkStats(n_rows=len(data)) if stats is None else stats
    columns = {name: data[name] for name in data.columns}
    return complete_mask(columns, len(data), weights, offset, stats), stats


def test_missing_values_and_weights() -> None:
    weights = np.array([1.0, 1.0, 1.0, 0.0, np.nan, 2.0, 2.0, 2.0])
    offset = np.array([0.0] * 7 + [np.nan])
    mask, stats = _mask(frame(), weights, offset)
    np.testing.assert_array_equal(mask, [True, False, False, False, False, True, True, False])
    assert stats.missing == {"y": 1, "g": 1}
    assert stats.dropped_zero_weight == 1
    assert stats.dropped_missing == 4
    assert not stats.infinite and not stats.negative


def test_inf_and_negative_weights_are_counted_then_raised() -> None:
    data = frame().assign(y=[np.inf, 1, 2, 3, -np.inf, 5, 6, 7])
    weights = np.array([1.0, 1.0, 1.0, -1.0, 1.0, -2.0, 1.0, 1.0])
    mask, stats = _mask(data, weights)
    assert stats.infinite == {"y": 2}
    assert stats.negative == 2 and stats.first_negative == 3
    assert not mask[[0, 3, 4, 5]].any()
    with pytest.raises(DataError, match=r"column 'y' holds 2 infinite value\(s\)"):
        raise_row_errors(["y", "g", "k"], stats, int(mask.sum()))
    stats.infinite.clear()
    with pytest.raises(DataError, match=r"found 2 negative weight\(s\) \(first at row 3\)"):
        raise_row_errors(["y", "g", "k"], stats, int(mask.sum()))


def test_infinite_weights_or_offset() -> None:
    _, stats = _mask(frame(), offset=np.r_[np.inf, np.zeros(7)])
    with pytest.raises(DataError, match=r"offset holds 1 infinite value\(s\)"):
        raise_row_errors(["y", "g", "k"], stats, 5)


def test_chunks_add_up_to_one_chunk() -> None:
    data = frame().assign(y=[1.0, np.nan, 3, 4, 5, 6, np.nan, 8])
    weights = np.array([1.0, 2.0, 0.0, -1.0, 1.0, 0.0, 1.0, -3.0])
    whole_mask, whole = _mask(data, weights)
    first_mask, first = _mask(data.iloc[:4], weights[:4])
    second_mask, second = _mask(data.iloc[4:], weights[4:])
    total = first + second
    np.testing.assert_array_equal(np.r_[first_mask, second_mask], whole_mask)
    assert total.n_rows == whole.n_rows == 8
    assert total.missing == whole.missing
    assert total.negative == whole.negative == 2
    assert total.first_negative == whole.first_negative == 3
    assert total.dropped_missing == whole.dropped_missing
    assert total.dropped_zero_weight == whole.dropped_zero_weight == 1  # row 2 misses g


def test_first_negative_in_a_later_chunk_is_a_row_position() -> None:
    weights = np.array([1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0])
    data = frame().assign(y=1.0, g="a")
    _, first = _mask(data.iloc[:4], weights[:4])
    _, second = _mask(data.iloc[4:], weights[4:])
    assert (first + second).first_negative == 5


def test_zero_weights_warn_and_no_complete_rows() -> None:
    stats = ChunkStats(n_rows=3, dropped_zero_weight=2, missing={"y": 1})
    with pytest.warns(DataWarning, match=r"dropped 2 row\(s\) with zero weight"):
        raise_row_errors(["y"], stats, 1)
    with pytest.raises(DataError, match=r"no complete rows.*\{'y': 1\}"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            raise_row_errors(["y"], stats, 0)


def test_undefined_rows_warn_then_raise_when_none_is_left() -> None:
    stats = ChunkStats(dropped_undefined=3)
    with pytest.warns(DataWarning, match=r"dropped 3 row\(s\) on which a term of 'f' is undefined"):
        raise_undefined("f", stats, 2)
    with pytest.raises(DataError, match="no rows left"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            raise_undefined("f", stats, 0)


def test_column_kinds() -> None:
    assert infinite_rows(pd.Series([1, 2])) is None
    assert missing_rows(pd.Series([1, 2])) is None
    np.testing.assert_array_equal(infinite_rows(pd.Series([1.0, np.inf])), [False, True])
    np.testing.assert_array_equal(missing_rows(pd.Series(["a", None])), [False, True])
    codes = pd.Series(pd.Categorical(["a", None]))
    np.testing.assert_array_equal(missing_rows(codes), [False, True])
    nullable = pd.Series([1.5, None], dtype="Float64")
    np.testing.assert_array_equal(missing_rows(nullable), [False, True])
    np.testing.assert_array_equal(infinite_rows(nullable), [False, False])
