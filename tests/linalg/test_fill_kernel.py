"""Tests of :mod:`mixedmodels.linalg._fill_kernel` (the optional compiled fill-in kernel).

The kernel adds ``A diag(w) A'`` into the lower triangle of a dense matrix,
row by row of the result, from ``A``'s CSC pattern regrouped by rows
(:func:`row_entries`). Each test compares with the dense product. The
algorithm itself is checked as plain Python (no numba needed); the compiled
kernel only where numba is installed.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp

from mixedmodels.linalg import _fill_kernel

HAS_NUMBA = importlib.util.find_spec("numba") is not None


def random_csc(n_rows: int, n_columns: int, density: float, seed: int, ones: bool):
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_rows, n_columns, density=density, random_state=rng, format="csc")
    if ones:
        matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix


def structure_of(matrix: sp.csc_matrix):
    rows = _fill_kernel.row_entries(matrix.indptr, matrix.indices, matrix.shape[0])
    return (*rows, matrix.indptr, matrix.indices)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_entries_list_every_entry_by_row(seed: int) -> None:
    matrix = random_csc(30, 45, 0.2, seed, ones=False)
    row_pointer, column, position = _fill_kernel.row_entries(
        matrix.indptr, matrix.indices, matrix.shape[0]
    )
    assert row_pointer[0] == 0 and row_pointer[-1] == matrix.nnz
    rebuilt = np.zeros(matrix.shape)
    for row in range(matrix.shape[0]):
        entries = slice(row_pointer[row], row_pointer[row + 1])
        assert np.all(np.diff(column[entries]) > 0)  # ascending columns within a row
        assert np.all(matrix.indices[position[entries]] == row)
        rebuilt[row, column[entries]] = matrix.data[position[entries]]
    np.testing.assert_array_equal(rebuilt, matrix.toarray())


@pytest.mark.parametrize("ones", [False, True], ids=["values", "ones"])
def test_algorithm_as_python_equals_the_dense_product(ones: bool) -> None:
    matrix = random_csc(25, 40, 0.25, 7, ones)
    weights = np.random.default_rng(3).uniform(0.1, 2.0, matrix.shape[1])
    out = np.zeros((25, 25))
    if ones:
        _fill_kernel._lower_update_ones(*structure_of(matrix), weights, out)
    else:
        _fill_kernel._lower_update(*structure_of(matrix), matrix.data, weights, out)
    dense = matrix.toarray()
    expected = np.tril(dense @ np.diag(weights) @ dense.T)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba (the 'fast' extra) is not installed")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("ones", [False, True], ids=["values", "ones"])
def test_compiled_kernel_adds_into_the_lower_triangle(ones: bool, threads: int) -> None:
    matrix = random_csc(60, 90, 0.1, 11, ones)
    weights = np.random.default_rng(5).uniform(0.1, 2.0, matrix.shape[1])
    start = np.random.default_rng(6).normal(size=(60, 60))
    out = start.copy()
    _fill_kernel.lower_update(
        structure_of(matrix), None if ones else matrix.data, weights, out, threads
    )
    dense = matrix.toarray()
    expected = start + np.tril(dense @ np.diag(weights) @ dense.T)
    np.testing.assert_allclose(np.tril(out), np.tril(expected), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.triu(out, 1), np.triu(start, 1))  # upper untouched


def test_environment_variable_turns_the_kernel_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIXEDMODELS_NO_NUMBA", "1")
    assert not _fill_kernel.available()
    monkeypatch.delenv("MIXEDMODELS_NO_NUMBA")
    assert _fill_kernel.available() == HAS_NUMBA


@pytest.mark.skipif(not HAS_NUMBA, reason="numba (the 'fast' extra) is not installed")
@pytest.mark.parametrize("ones", [False, True], ids=["values", "ones"])
def test_unsigned_indices_give_identical_sums(ones: bool) -> None:
    matrix = random_csc(70, 80, 0.15, 13, ones)
    weights = np.random.default_rng(8).uniform(0.1, 2.0, matrix.shape[1])
    structure = structure_of(matrix)
    unsigned = _fill_kernel.as_unsigned(structure)
    assert all(array.dtype.kind == "u" for array in unsigned)
    assert all(np.shares_memory(a, b) for a, b in zip(structure, unsigned, strict=True))
    results = []
    for indices in (structure, unsigned):
        out = np.zeros((70, 70))
        _fill_kernel.lower_update(indices, None if ones else matrix.data, weights, out, 1)
        results.append(out)
    np.testing.assert_array_equal(results[0], results[1])
    dense = matrix.toarray()
    expected = np.tril(dense @ np.diag(weights) @ dense.T)
    np.testing.assert_allclose(results[1], expected, rtol=1e-12, atol=1e-12)
