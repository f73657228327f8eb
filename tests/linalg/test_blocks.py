"""Closed-form block kernels against numpy's batched LAPACK."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.linalg.blocks import (
    blockdiag_cholesky,
    blockdiag_inverse_lower,
    blockdiag_to_dense,
    congruence,
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
