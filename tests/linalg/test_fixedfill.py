"""The fixed-pattern fill-in update ``D -= r^2 A diag(s^2) A'`` (mixedmodels.linalg.fixedfill)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mixedmodels.linalg import _fill_kernel, fixedfill


def _case(n: int = 50, columns: int = 400, integer: bool = True):
    rng = np.random.default_rng(3)
    # Uneven column activity, as users' ratings: a few columns meet most rows.
    counts = np.minimum(n, (n * rng.pareto(1.2, columns) / 6).astype(int) + 1)
    rows = np.concatenate([rng.choice(n, c, replace=False) for c in counts])
    cols = np.repeat(np.arange(columns), counts)
    values = rng.integers(1, 3, rows.size).astype(float) if integer else rng.normal(size=rows.size)
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(n, columns))
    base = rng.normal(size=(n, n))
    scales = 0.3 / np.sqrt(1.0 + np.abs(np.asarray(matrix.sum(axis=0)).ravel()))
    return base @ base.T + n * np.eye(n), matrix, scales


COMPILED = [
    False,
    pytest.param(
        True,
        marks=pytest.mark.skipif(not _fill_kernel.available(), reason="numba not installed"),
    ),
]


@pytest.mark.parametrize("compiled", COMPILED, ids=["numpy", "numba"])
@pytest.mark.parametrize("max_pairs", [None, 200.0, 0.0], ids=["tail", "budget", "no-tail"])
@pytest.mark.parametrize("integer", [True, False, "ones"], ids=["counts", "values", "ones"])
def test_update_equals_the_product_on_the_lower_triangle(max_pairs, integer, compiled) -> None:
    dense, matrix, scales = _case(integer=bool(integer))
    if integer == "ones":
        matrix.data[:] = 1.0
    update = fixedfill.FixedPatternFill(matrix, max_pairs=max_pairs, compiled=compiled)
    parts = [update.head_columns.size, update.tail_columns.size, update.rest_columns.size]
    assert sum(parts) == matrix.shape[1]
    if max_pairs == 200.0 and not compiled:
        assert all(parts)  # head, tail and rest all exercised
    if compiled:
        assert update.head_columns.size and update.tail_columns.size
    below = 0.7 * matrix @ sp.diags(scales)
    want = dense - (below @ below.T).toarray()
    got = dense.copy()
    update.subtract(got, 0.7, scales)
    np.testing.assert_allclose(np.tril(got), np.tril(want), rtol=1e-13, atol=1e-11)
    np.testing.assert_array_equal(np.triu(got, 1), np.triu(dense, 1))


@pytest.mark.parametrize("compiled", COMPILED, ids=["numpy", "numba"])
def test_only_tail_and_repeated_calls(compiled) -> None:
    dense, matrix, scales = _case()
    light = matrix[:, np.flatnonzero(np.diff(matrix.tocsc().indptr) <= 3)]
    update = fixedfill.FixedPatternFill(light, compiled=compiled)
    assert update.head_columns.size == 0 and update.tail_nnz > 0
    fork = update.fork()
    for scale in (0.2, 1.5):  # numbers only change: same pattern, new scales
        got = dense.copy()
        fork.subtract(got, scale, scales[: light.shape[1]])
        below = scale * light @ sp.diags(scales[: light.shape[1]])
        np.testing.assert_allclose(
            np.tril(got), np.tril(dense - (below @ below.T).toarray()), rtol=1e-13, atol=1e-11
        )
    with pytest.raises(ValueError, match="C-contiguous"):
        update.subtract(np.asfortranarray(dense), 1.0, scales[: light.shape[1]])


@pytest.mark.skipif(not _fill_kernel.available(), reason="numba not installed")
def test_compiled_and_pure_forms_agree() -> None:
    dense, matrix, scales = _case(n=120, columns=900, integer=False)
    results = []
    for compiled in (False, True):
        got = dense.copy()
        fixedfill.FixedPatternFill(matrix, compiled=compiled).subtract(got, 1.3, scales)
        results.append(np.tril(got))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-13, atol=1e-12)


def test_numba_can_be_disabled(monkeypatch) -> None:
    monkeypatch.setenv("MIXEDMODELS_NO_NUMBA", "1")
    assert not _fill_kernel.available()
    assert not fixedfill.FixedPatternFill(_case()[1]).compiled


def test_split_by_cost() -> None:
    counts = np.array([1, 2, 5, 40, 400, 4000])
    part = fixedfill.split_columns(counts, 3706, max_pairs=1e9)
    assert part.tolist() == [0, 0, 0, 0, 0, 1]  # only the heaviest column is dense
    part = fixedfill.split_columns(counts, 3706, max_pairs=10.0)
    assert part[:3].tolist() == [0, 0, 2] and part[-1] == 1  # over the budget: the rest
