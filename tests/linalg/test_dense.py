"""In-place Cholesky of a dense block (mixedmodels.linalg.dense)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.linalg.dense import cholesky_in_place


@pytest.mark.parametrize("n", [1, 7, 300])
def test_in_place_lower_factor(n: int) -> None:
    rng = np.random.default_rng(n)
    base = rng.normal(size=(n, n))
    matrix = base @ base.T + n * np.eye(n)
    work = np.triu(np.full((n, n), np.nan), 1) + np.tril(matrix)  # upper part never read
    factor = cholesky_in_place(work)
    assert np.shares_memory(factor, work)
    np.testing.assert_allclose(factor, np.linalg.cholesky(matrix), rtol=1e-12, atol=1e-12)
    assert np.all(np.triu(factor, 1) == 0.0)


def test_not_positive_definite() -> None:
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cholesky_in_place(np.array([[1.0, 2.0], [2.0, 1.0]]))
