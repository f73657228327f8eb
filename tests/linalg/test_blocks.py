"""Closed-form block kernels against numpy's batched LAPACK."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mixedmodels.linalg.blocks import (
    BlockDiagonalLower,
    DenseLower,
    LowerBlock,
    as_dense,
    blockdiag_cholesky,
    blockdiag_inverse_lower,
    blockdiag_to_dense,
    cholesky_2x2,
    congruence,
    gram_2x2,
    right_blockdiag,
)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_blockdiag_cholesky_and_inverse(p: int) -> None:
    rng = np.random.default_rng(p)
    half = rng.standard_normal((50, p, p + 2))
    blocks = half @ np.swapaxes(half, 1, 2) + np.eye(p)
    factor = blockdiag_cholesky(blocks)
    np.testing.assert_allclose(factor, np.linalg.cholesky(blocks), rtol=1e-12, atol=1e-13)
    inverse = blockdiag_inverse_lower(factor)
    np.testing.assert_allclose(
        inverse @ factor, np.broadcast_to(np.eye(p), blocks.shape), atol=1e-12
    )


def test_congruence_and_right_blockdiag() -> None:
    rng = np.random.default_rng(0)
    blocks = rng.standard_normal((6, 2, 2))
    factor = np.tril(rng.standard_normal((2, 2)))
    want = np.einsum("ji,kjl,lm->kim", factor, blocks, factor)
    np.testing.assert_allclose(congruence(blocks, factor), want)
    matrix = rng.standard_normal((3, 12))
    dense = blockdiag_to_dense(blocks)
    np.testing.assert_allclose(right_blockdiag(matrix, blocks), matrix @ dense)


def test_closed_form_2x2_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    half = rng.standard_normal((7, 2, 2))
    gram = half @ np.swapaxes(half, 1, 2)
    t0, t1, t2 = 0.8, -0.3, 0.5
    factor_t = np.array([[t0, 0.0], [t1, t2]])
    m00, m10, m11 = gram_2x2(gram[:, 0, 0], gram[:, 1, 0], gram[:, 1, 1], t0, t1, t2)
    want = factor_t.T @ gram @ factor_t + np.eye(2)
    np.testing.assert_allclose(m00, want[:, 0, 0], rtol=1e-13)
    np.testing.assert_allclose(m10, want[:, 1, 0], rtol=1e-13)
    np.testing.assert_allclose(m11, want[:, 1, 1], rtol=1e-13)
    l00, l10, l11, l11sq = cholesky_2x2(m00, m10, m11)
    chol = np.linalg.cholesky(want)
    np.testing.assert_allclose(
        np.stack([l00, l10, l11]), [chol[:, 0, 0], chol[:, 1, 0], chol[:, 1, 1]]
    )
    np.testing.assert_allclose(np.log(m00 * l11sq), np.linalg.slogdet(want)[1], rtol=1e-12)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lower_block_kinds_agree_with_dense_algebra(p: int) -> None:
    rng = np.random.default_rng(p)
    levels = 4
    half = rng.standard_normal((levels, p, p))
    gram = half @ np.swapaxes(half, 1, 2)
    factor_t = np.tril(rng.uniform(0.2, 1.0, (p, p)))
    block = BlockDiagonalLower.from_gram(gram, factor_t)
    dense = DenseLower(block.to_dense())
    full = block.to_dense()
    want = blockdiag_to_dense(factor_t.T @ gram @ factor_t) + np.eye(levels * p)
    np.testing.assert_allclose(full @ full.T, want, rtol=1e-12)
    rhs = rng.standard_normal(levels * p)
    matrix = rng.standard_normal((3, levels * p))
    for kind in (block, dense):
        assert isinstance(kind, LowerBlock)
        assert kind.logdet() == pytest.approx(np.linalg.slogdet(want)[1], rel=1e-12)
        np.testing.assert_allclose(kind.solve(rhs), np.linalg.solve(full, rhs), rtol=1e-10)
        np.testing.assert_allclose(
            kind.solve_transpose(rhs), np.linalg.solve(full.T, rhs), rtol=1e-10
        )
        np.testing.assert_allclose(
            kind.solve_right_transpose(matrix), matrix @ np.linalg.inv(full.T), rtol=1e-10
        )
    sparse = block.solve_right_transpose(sp.csr_matrix(matrix))
    np.testing.assert_allclose(as_dense(sparse), matrix @ np.linalg.inv(full.T), rtol=1e-10)
