"""Fixed-effects matrix: lme4's choice of dropped columns, names and warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mixedmodels.design.fixed import (
    build_fixed,
    empty_terms,
    evaluate_matrix,
    independent_columns,
    lme4_name,
)
from mixedmodels.errors import DataError, FormulaError, RankDeficiencyWarning


def test_independent_columns_keep_earlier_ones() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=20)
    z = rng.normal(size=20)
    matrix = np.column_stack([np.ones(20), x, 3 * x + 1, np.full(20, 2.0), z, np.zeros(20)])
    np.testing.assert_array_equal(independent_columns(matrix), [0, 1, 4])
    # Without the intercept, a constant column is kept.
    np.testing.assert_array_equal(independent_columns(matrix[:, [3, 1, 2]]), [0, 1])


def test_independent_columns_scale_free() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    for scale in (1e-8, 1.0, 1e8):
        matrix = np.column_stack([np.ones(30), x * scale, rng.normal(size=30) * scale])
        assert len(independent_columns(matrix)) == 3


def test_build_fixed_warns_and_names_columns() -> None:
    data = pd.DataFrame({"x": np.arange(6.0), "f": list("ababab")})
    data["x2"] = 2 * data["x"]
    with pytest.warns(RankDeficiencyWarning, match="'x2'"):
        fixed = build_fixed("x + f + x2", data)
    assert fixed.names == ["Intercept", "x", "f[T.b]"]
    assert fixed.lme4_names == ["(Intercept)", "x", "fb"]
    assert fixed.dropped == ["x2"]
    assert fixed.all_names == ["Intercept", "x", "f[T.b]", "x2"]


def test_build_fixed_errors() -> None:
    data = pd.DataFrame({"x": [1.0, 0.0, 2.0]})
    with pytest.raises(DataError, match=r"\['np.log\(x\)'\]"):
        build_fixed("np.log(x)", data)
    with pytest.raises(FormulaError, match="cannot build the fixed effects"):
        build_fixed("x +* x", data)


def test_empty_terms_of_one_level_factor() -> None:
    data = pd.DataFrame({"s": ["a"] * 4, "x": np.arange(4.0)})
    with pytest.warns(RankDeficiencyWarning, match="produce no column"):
        fixed = build_fixed("s + x", data)
    assert fixed.names == ["Intercept", "x"]
    assert empty_terms(None) == []


@pytest.mark.parametrize(
    ("name", "want"),
    [("Intercept", "(Intercept)"), ("f[T.b]", "fb"), ("x:f[T.b]", "x:fb"), ("x", "x")],
)
def test_lme4_names(name: str, want: str) -> None:
    assert lme4_name(name) == want


# ------------------------------------------------------------------ terms interface
def _terms_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "z": [2.0, 1.0, 4.0, 3.0, 6.0, 5.0],
            "f": pd.Categorical(list("abcabc")),
        }
    )


def test_term_table_of_a_formulaic_spec() -> None:
    fixed = build_fixed("x * f", _terms_frame())
    table = fixed.term_table()
    assert [term.label for term in table.terms] == ["x", "f", "x:f"]
    assert [term.variables for term in table.terms] == [("x",), ("f",), ("x", "f")]
    assert [fixed.all_names[term.columns] for term in table.terms] == [
        ["x"],
        ["f[T.b]", "f[T.c]"],
        ["x:f[T.b]", "x:f[T.c]"],
    ]
    assert table.intercept
    assert table.factor_levels == {"f": ["a", "b", "c"]}
    assert table.treatment
    assert table.data_names == ("f", "x")


@pytest.mark.parametrize(("rhs", "intercept"), [("1 + x + z", True), ("0 + z + x", False)])
def test_term_table_of_numeric_columns_only(rhs: str, intercept: bool) -> None:
    fixed = build_fixed(rhs, _terms_frame())
    table = fixed.term_table()
    labels = [term.label for term in table.terms]
    assert labels == [name for name in fixed.all_names if name != "Intercept"]
    assert [fixed.all_names[term.columns] for term in table.terms] == [[label] for label in labels]
    assert table.intercept is intercept
    assert table.factor_levels == {} and table.treatment
    assert table.data_names == ("x", "z")


def test_term_table_needs_a_formula() -> None:
    fixed = build_fixed("x", _terms_frame())
    bare = type(fixed)(fixed.matrix, fixed.names, fixed.all_names, fixed.dropped, None)
    with pytest.raises(DataError, match="built from a formula"):
        bare.term_table()


def _loop_only(matrix: np.ndarray, monkeypatch) -> np.ndarray:
    from mixedmodels.design import fixed

    with monkeypatch.context() as patch:
        patch.setattr(fixed, "_clearly_full_rank", lambda matrix: False)
        return independent_columns(matrix)


@pytest.mark.parametrize("gap", [1.0, 1e-1, 1e-3, 1e-6, 1e-9, 0.0])
def test_full_rank_shortcut_agrees_with_the_loop(gap: float, monkeypatch) -> None:
    from mixedmodels.design.fixed import CLEAR_PIVOT, _clearly_full_rank

    rng = np.random.default_rng(3)
    base = np.column_stack([np.ones(40), rng.normal(size=(40, 4))])
    # The last column is a combination of the others plus ``gap`` of a new direction.
    last = base @ rng.normal(size=5) + gap * rng.normal(size=40)
    matrix = np.column_stack([base, last])
    shortcut = _clearly_full_rank(matrix)
    residual = np.linalg.qr(matrix / np.linalg.norm(matrix, axis=0), mode="r")[-1, -1]
    assert shortcut == (abs(residual) > CLEAR_PIVOT)
    np.testing.assert_array_equal(independent_columns(matrix), _loop_only(matrix, monkeypatch))


def test_full_rank_shortcut_declines_zero_and_extreme_columns(monkeypatch) -> None:
    from mixedmodels.design.fixed import _clearly_full_rank

    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(10, 3))
    assert _clearly_full_rank(matrix)
    for value in (0.0, 1e200, 1e-200):
        matrix[:, 1] = value * rng.normal(size=10)
        with np.errstate(over="ignore"):  # squares of 1e200 overflow (as in the loop)
            assert not _clearly_full_rank(matrix)
            kept = independent_columns(matrix)
            np.testing.assert_array_equal(kept, _loop_only(matrix, monkeypatch))


def test_evaluate_matrix_sparse_equals_dense() -> None:
    data = pd.DataFrame({"g": ["a", "b", "a", "c"], "x": [1.0, 0.0, 2.0, 3.0]})
    names, dense, _ = evaluate_matrix("0 + C(g):x", data, "test")
    sparse_names, sparse, spec = evaluate_matrix("0 + C(g):x", data, "test", sparse=True)
    assert sparse_names == names and sp.issparse(sparse)
    np.testing.assert_array_equal(sparse.toarray(), dense)
    assert sparse.nnz == np.count_nonzero(dense)  # explicit zeros removed
    assert list(spec.column_names) == names
