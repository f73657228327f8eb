"""Fixed-effects matrix: lme4's choice of dropped columns, names and warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.fixed import build_fixed, empty_terms, independent_columns, lme4_name
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
