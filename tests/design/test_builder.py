"""build_design: rows used, dropped counts, weights, offsets, and the boundary contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.design.builder import build_design
from mixedmodels.design.frame import model_variables
from mixedmodels.errors import DataError, DataWarning, FormulaError, MixedModelsError
from mixedmodels.formula.parse import parse_formula


def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(5), 4)
    return pd.DataFrame({"y": rng.normal(size=20), "x": rng.normal(size=20), "g": g})


def test_model_variables() -> None:
    parsed = parse_formula("np.log(y) ~ x + C(f) + (1 + z | a/b)")
    assert model_variables(parsed) == ["y", "f", "x", "z", "a", "b"]


def test_missing_rows_dropped_and_counted() -> None:
    frame = data()
    frame.loc[2, "x"] = np.nan
    frame["g"] = frame["g"].astype(object)
    frame.loc[5, "g"] = None
    design = build_design("y ~ x + (1 | g)", frame)
    assert design.nobs_dropped == 2
    assert list(design.row_index) == [i for i in range(20) if i not in (2, 5)]
    assert design.y.shape == (18,)
    assert design.terms[0].factor.n_levels == 5


def test_missing_weight_and_offset_rows_dropped() -> None:
    weights = np.ones(20)
    weights[3] = np.nan
    offset = np.zeros(20)
    offset[4] = np.nan
    design = build_design("y ~ x + (1 | g)", data(), weights=weights, offset=offset)
    assert design.nobs_dropped == 2
    assert design.weights.shape == design.offset.shape == (18,)


def test_zero_weights_dropped_with_message() -> None:
    weights = np.ones(20)
    weights[[0, 1]] = 0.0
    with pytest.warns(DataWarning, match="dropped 2 row"):
        design = build_design("y ~ x + (1 | g)", data(), weights=weights)
    assert design.nobs_dropped == 2
    assert np.all(design.weights == 1.0)


def test_weights_by_column_name() -> None:
    frame = data().assign(w=2.0)
    design = build_design("y ~ x + (1 | g)", frame, weights="w")
    np.testing.assert_array_equal(design.weights, np.full(20, 2.0))


def test_unused_categories_are_not_levels() -> None:
    frame = data()
    frame["g"] = pd.Categorical(frame["g"], categories=range(8))
    frame["f"] = pd.Categorical(np.where(frame["x"] > 0, "p", "n"), categories=["n", "p", "q"])
    design = build_design("y ~ f + (1 | g)", frame)
    assert design.terms[0].factor.n_levels == 5
    assert design.fixed.names == ["(Intercept)", "fp"]  # lme4's names (issue 13)


def test_unknown_column_suggests_a_name() -> None:
    with pytest.raises(FormulaError, match="did you mean 'x'"):
        build_design("y ~ xx + (1 | g)", data())


def test_raw_exceptions_are_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import mixedmodels.design.builder as builder

    def broken(*args: object, **kwargs: object) -> None:
        raise np.linalg.LinAlgError("boom")

    monkeypatch.setattr(builder, "drop_collinear", broken)
    with pytest.raises(DataError, match="LinAlgError: boom") as info:
        build_design("y ~ x + (1 | g)", data())
    assert isinstance(info.value, MixedModelsError)
    assert isinstance(info.value.__cause__, np.linalg.LinAlgError)


def test_data_not_modified() -> None:
    frame = data()
    frame["g"] = pd.Categorical(frame["g"], categories=range(8))
    frame.loc[0, "y"] = np.nan
    before = frame.copy(deep=True)
    build_design("y ~ x + (1 | g)", frame)
    pd.testing.assert_frame_equal(frame, before)
