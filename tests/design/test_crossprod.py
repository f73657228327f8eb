"""Cross-product blocks equal the dense products ``[Z X y]' W [Z X y]``, and chunks add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.crossprod import (
    BlockData,
    PartialCrossProducts,
    cross_products,
    partial_cross_products,
    row_cross_products,
)
from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.design.terms import TermSpec, assemble_blocks, full_pattern

RNG = np.random.default_rng(4)
N = 60
CODES_A = RNG.integers(0, 7, N)
CODES_B = RNG.integers(0, 3, N)
Z_A = np.column_stack([np.ones(N), RNG.normal(size=N)])
Z_B = np.ones((N, 1))
XY = np.column_stack([np.ones(N), RNG.normal(size=N), RNG.normal(size=N)])
WEIGHTS = RNG.uniform(0.5, 2.0, N)


def _dense(codes: np.ndarray, z: np.ndarray, n_levels: int) -> np.ndarray:
    """The ``n x (levels * p)`` matrix of one block, level-major as the engine stores it."""
    p = z.shape[1]
    dense = np.zeros((len(codes), n_levels * p))
    for row, (level, values) in enumerate(zip(codes, z, strict=True)):
        dense[row, level * p : (level + 1) * p] = values
    return dense


def _blocks(rows: slice = slice(None)) -> list[BlockData]:
    return [BlockData(CODES_A[rows], Z_A[rows], 7), BlockData(CODES_B[rows], Z_B[rows], 3)]


def test_blocks_equal_dense_products() -> None:
    cross = cross_products(_blocks(), XY, WEIGHTS)
    z_a, z_b = _dense(CODES_A, Z_A, 7), _dense(CODES_B, Z_B, 3)
    w = np.diag(WEIGHTS)
    full_a = z_a.T @ w @ z_a
    for level in range(7):
        np.testing.assert_allclose(
            cross.diagonal[0][level], full_a[2 * level : 2 * level + 2, 2 * level : 2 * level + 2]
        )
    np.testing.assert_allclose(cross.diagonal[1][:, 0, 0], np.diag(z_b.T @ w @ z_b))
    np.testing.assert_allclose(cross.off_diagonal[(1, 0)].toarray(), z_b.T @ w @ z_a)
    np.testing.assert_allclose(cross.xy_z[0], XY.T @ w @ z_a)
    np.testing.assert_allclose(cross.xy_xy, XY.T @ w @ XY)
    assert cross.n_obs == N
    assert cross.sum_log_weights == np.sum(np.log(WEIGHTS))


def test_chunks_add_up_to_the_whole() -> None:
    whole = cross_products(_blocks(), XY, WEIGHTS)
    first = cross_products(_blocks(slice(0, 25)), XY[:25], WEIGHTS[:25])
    second = cross_products(_blocks(slice(25, None)), XY[25:], WEIGHTS[25:])
    total = first + second
    for a, b in zip(total.diagonal, whole.diagonal, strict=True):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(
        total.off_diagonal[(1, 0)].toarray(), whole.off_diagonal[(1, 0)].toarray()
    )
    np.testing.assert_allclose(total.xy_xy, whole.xy_xy)
    assert total.n_obs == whole.n_obs
    assert np.isclose(total.sum_log_weights, whole.sum_log_weights)


def test_row_cross_products_subtracts_the_offset() -> None:
    factor = make_grouping_factor(pd.DataFrame({"g": CODES_A}), ("g",))
    term = TermSpec(factor, Z_A, ("(Intercept)", "x"), full_pattern(2), "g")
    blocks = assemble_blocks([term])[0]
    offset = RNG.normal(size=N)
    cross = row_cross_products(blocks, XY[:, :2], XY[:, 2], WEIGHTS, offset)
    response = XY[:, 2] - offset
    xy = np.column_stack([XY[:, :2], response])
    np.testing.assert_allclose(cross.xy_xy, xy.T @ (WEIGHTS[:, None] * xy))


def _assert_same(got, want) -> None:
    for a, b in zip(got.diagonal, want.diagonal, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(got.xy_z, want.xy_z, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert set(got.off_diagonal) == set(want.off_diagonal)
    for key, matrix in want.off_diagonal.items():
        np.testing.assert_allclose(got.off_diagonal[key].toarray(), matrix.toarray(), atol=1e-12)
    np.testing.assert_allclose(got.xy_xy, want.xy_xy, rtol=1e-12)
    assert got.n_obs == want.n_obs
    assert got.sum_log_weights == pytest.approx(want.sum_log_weights, rel=1e-12)


def _partial(rows: slice) -> PartialCrossProducts:
    return partial_cross_products(_blocks(rows), XY[rows], WEIGHTS[rows])


def test_partials_hold_only_the_levels_their_rows_touch() -> None:
    rows = slice(0, 5)
    partial = _partial(rows)
    for block, levels, counts in zip(_blocks(rows), partial.levels, partial.counts, strict=True):
        np.testing.assert_array_equal(levels, np.unique(block.codes))
        np.testing.assert_array_equal(counts, np.bincount(block.codes)[levels])
    assert [gram.shape[0] for gram in partial.diagonal] == [len(v) for v in partial.levels]
    assert [cross.shape[1] for cross in partial.xy_z] == [len(v) for v in partial.levels]


def test_partials_add_up_to_the_whole_by_segment_sums() -> None:
    whole = cross_products(_blocks(), XY, WEIGHTS)
    parts = [_partial(slice(start, start + 13)) for start in range(0, N, 13)]
    summed = parts[0]
    for part in parts[1:]:
        summed = summed + part
    dense, counts = summed.to_dense()
    _assert_same(dense, whole)
    np.testing.assert_array_equal(counts[0], np.bincount(CODES_A, minlength=7))
    # Adding into a partial over every level gives the same.
    total = PartialCrossProducts.zeros([7, 3], [2, 1], XY.shape[1])
    pending: dict = {}
    for part in parts:
        part.add_into(total, pending)
    dense, counts = total.with_pending(pending).to_dense()
    _assert_same(dense, whole)
    np.testing.assert_array_equal(counts[1], np.bincount(CODES_B, minlength=3))


@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_dense_and_sparse_constructions_agree(weights, monkeypatch) -> None:
    from mixedmodels.design import crossprod

    # A zero covariate on some rows: the pattern keeps the level pairs they meet.
    z_a = Z_A.copy()
    z_a[CODES_A == 2, 1] = 0.0
    blocks = [BlockData(CODES_A, z_a, 7), BlockData(CODES_B, Z_B, 3)]
    small = cross_products(blocks, XY, weights)
    assert crossprod.DENSE_INDICATOR >= N * 7  # the small build is the dense one
    monkeypatch.setattr(crossprod, "DENSE_ENTRIES", 0)
    monkeypatch.setattr(crossprod, "DENSE_INDICATOR", 0)
    large = cross_products(blocks, XY, weights)
    _assert_same(small, large)
    for key, matrix in large.off_diagonal.items():
        got = small.off_diagonal[key]
        assert got.format == "csr" and got.has_canonical_format
        np.testing.assert_array_equal(got.indptr, matrix.indptr)
        np.testing.assert_array_equal(got.indices, matrix.indices)
