"""The pair operator reproduces ``D'(A_RR - A_R0 W A_R0')D`` computed densely."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mixedmodels.linalg.pairs import PairOperator, count_pairs, pack_index

from ._cases import random_case


@pytest.mark.parametrize("p0", [1, 2, 3])
def test_pair_operator_matches_dense(p0: int) -> None:
    first, a_rr, groups, level_class, w_classes, rng = random_case(p0, seed=p0)
    m = a_rr.shape[0]
    rows, cols = np.tril_indices(m)
    operator = PairOperator(
        first, p0, groups, (rows, cols, a_rr[rows, cols]), identity_rows=5, level_class=level_class
    )
    scales = rng.uniform(0.2, 2.0, groups.max() + 1)
    r, c = np.tril_indices(p0)
    got = np.tril(operator.apply(w_classes[:, r, c], scales))
    w_levels = w_classes[level_class]
    block = sp.block_diag(list(w_levels)).toarray()
    dense_first = first.toarray()
    d = np.diag(scales[groups])
    want = d @ (a_rr - dense_first @ block @ dense_first.T) @ d
    want[np.arange(5), np.arange(5)] += 1.0
    np.testing.assert_allclose(got, np.tril(want), rtol=1e-12, atol=1e-12)
    # A second call with other weights reuses the buffer and is still right.
    got2 = np.tril(operator.apply(2 * w_classes[:, r, c], scales)).copy()
    want2 = d @ (a_rr - 2 * dense_first @ block @ dense_first.T) @ d
    want2[np.arange(5), np.arange(5)] += 1.0
    np.testing.assert_allclose(got2, np.tril(want2), rtol=1e-12, atol=1e-12)


def test_merged_classes_shrink_the_operator() -> None:
    first, a_rr, groups, level_class, _, _ = random_case(1, seed=4)
    m = a_rr.shape[0]
    rows, cols = np.tril_indices(m)
    constant = (rows, cols, a_rr[rows, cols])
    merged = PairOperator(first, 1, groups, constant, 0, level_class=level_class)
    separate = PairOperator(first, 1, groups, constant, 0)
    assert merged.nnz <= separate.nnz
    assert count_pairs(sp.csc_matrix(first), 1) >= separate.nnz - len(rows)


def test_pack_index_is_row_major_lower() -> None:
    a1 = np.array([0, 1, 1, 2, 2, 2])
    a2 = np.array([0, 0, 1, 0, 1, 2])
    np.testing.assert_array_equal(pack_index(a1, a2), np.arange(6))
    np.testing.assert_array_equal(pack_index(a2, a1), np.arange(6))
