"""The dense pair operator gives the sparse one's ``D'(A_RR - A_R0 W A_R0')D``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mixedmodels.linalg.densepairs import (
    DENSE_PAIR_ENTRIES,
    DensePairOperator,
    dense_pairs_suit,
)
from mixedmodels.linalg.pairs import PairOperator

from ._cases import random_case


@pytest.mark.parametrize("classes", ["some shared", "one", "one missing"])
@pytest.mark.parametrize("p0", [1, 2, 3])
def test_dense_operator_matches_the_formula(p0: int, classes: str) -> None:
    first, a_rr, groups, level_class, w_classes, rng = random_case(p0, seed=10 + p0)
    if classes == "one":
        level_class = np.zeros_like(level_class)
        w_classes = w_classes[:1]
    elif classes == "one missing":  # class 2 has no level: its rows of P are zero
        level_class = np.where(level_class == 2, 0, level_class)
    operator = DensePairOperator(first.toarray(), p0, groups, a_rr, 5, level_class)
    scales = rng.uniform(0.2, 2.0, groups.max() + 1)
    r, c = np.tril_indices(p0)
    block = sp.block_diag(list(w_classes[level_class])).toarray()
    d = np.diag(scales[groups])
    for factor in (1.0, 2.0):  # the second call reuses the buffers
        got = operator.apply(factor * w_classes[:, r, c], scales).copy()
        want = d @ (a_rr - factor * first.toarray() @ block @ first.toarray().T) @ d
        want[np.arange(5), np.arange(5)] += 1.0
        np.testing.assert_allclose(got, np.tril(want), rtol=1e-12, atol=1e-12)
        assert not np.triu(got, 1).any()  # upper part zero, as the sparse operator's


@pytest.mark.parametrize("p0", [1, 2])
def test_dense_and_sparse_operators_agree(p0: int) -> None:
    first, a_rr, groups, level_class, w_classes, rng = random_case(p0, seed=20 + p0)
    rows, cols = np.tril_indices(a_rr.shape[0])
    sparse = PairOperator(first, p0, groups, (rows, cols, a_rr[rows, cols]), 3, level_class)
    dense = DensePairOperator(first.toarray(), p0, groups, a_rr, 3, level_class)
    r, c = np.tril_indices(p0)
    scales = rng.uniform(0.2, 2.0, groups.max() + 1)
    np.testing.assert_allclose(
        dense.apply(w_classes[:, r, c], scales),
        np.tril(sparse.apply(w_classes[:, r, c], scales)),
        rtol=1e-12,
        atol=1e-12,
    )


def test_one_scale_group_and_fork() -> None:
    first, a_rr, _, level_class, w_classes, _ = random_case(1, seed=3)
    groups = np.zeros(a_rr.shape[0], dtype=int)
    operator = DensePairOperator(first.toarray(), 1, groups, a_rr, 0, level_class)
    twin = operator.fork()
    a_r0 = first.toarray()
    want = np.tril(a_rr - a_r0 @ np.diag(w_classes[level_class, 0, 0]) @ a_r0.T)
    np.testing.assert_allclose(operator.apply(w_classes[:, :, 0], np.ones(1)), want, atol=1e-12)
    np.testing.assert_allclose(
        twin.apply(w_classes[:, :, 0], np.full(1, 2.0)), 4.0 * want, atol=1e-12
    )
    # The fork has its own buffer: the first operator's last output is intact.
    np.testing.assert_allclose(operator.buffer.reshape(want.shape), want, atol=1e-12)
    # Rows: one per class (p0 = 1), one for A_RR, one for the identity (G = 1).
    assert operator.nnz == (level_class.max() + 3) * a_rr.size


def test_dense_pairs_suit_bounds_the_entries() -> None:
    assert dense_pairs_suit(18, 1, 19)  # Alfalfa's split plot
    assert not dense_pairs_suit(2972, 1, 1131)  # InstEval
    m = int(np.sqrt(DENSE_PAIR_ENTRIES // 4))  # (1 level x 3 packed + A_RR) rows
    assert dense_pairs_suit(1, 2, m) and not dense_pairs_suit(1, 2, m + 1)
    assert not dense_pairs_suit(1, 2, m, n_groups=2)  # P has G^2 rows per product
