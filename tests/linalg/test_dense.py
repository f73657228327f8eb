"""In-place Cholesky of a dense block (mixedmodels.linalg.dense)."""

from __future__ import annotations

import contextlib

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


@pytest.mark.parametrize("tile", [1, 64, 100, 299])
def test_tiled_equals_one_call(tile: int) -> None:
    rng = np.random.default_rng(tile)
    n = 300
    base = rng.normal(size=(n, n))
    matrix = base @ base.T + n * np.eye(n)
    factor = cholesky_in_place(np.tril(matrix), tile=tile)
    np.testing.assert_allclose(factor, np.linalg.cholesky(matrix), rtol=1e-11, atol=1e-11)
    assert np.all(np.triu(factor, 1) == 0.0)


def test_threads_only_for_large_blocks_on_an_idle_machine(monkeypatch) -> None:
    from threadpoolctl import threadpool_info

    from mixedmodels.linalg import dense

    monkeypatch.setattr(dense.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(dense.os, "cpu_count", lambda: 2)
    assert dense.block_threads(dense.THREADED_ORDER - 1) == 1
    assert dense.block_threads(dense.THREADED_ORDER) == 2
    monkeypatch.setattr(dense.os, "getloadavg", lambda: (1.6, 0.0, 0.0))
    assert dense.block_threads(10 * dense.THREADED_ORDER) == 1  # the other core is busy
    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    with dense.threads_limit(2):
        inside = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert inside == [min(2, count) if count > 1 else 2 for count in before] or not before
    assert isinstance(dense.threads_limit(1), contextlib.nullcontext)
