"""statsmodels' return types: numpy in, numpy out; pandas in, pandas out.

Every attribute is compared with statsmodels' own ``MixedLM`` on the same data:
same Python type, same shape and (for pandas) the same labels.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels.api as mm_api

statsmodels_mixed = pytest.importorskip("statsmodels.regression.mixed_linear_model")

ATTRIBUTES = {
    "params": lambda fit: fit.params,
    "fe_params": lambda fit: fit.fe_params,
    "bse": lambda fit: fit.bse,
    "bse_fe": lambda fit: fit.bse_fe,
    "cov_re": lambda fit: fit.cov_re,
    "cov_params": lambda fit: fit.cov_params(),
    "conf_int": lambda fit: fit.conf_int(),
    "tvalues": lambda fit: fit.tvalues,
    "pvalues": lambda fit: fit.pvalues,
    "fittedvalues": lambda fit: fit.fittedvalues,
    "resid": lambda fit: fit.resid,
    "random_effects": lambda fit: fit.random_effects,
    "random_effects_cov": lambda fit: fit.random_effects_cov,
    "predict": lambda fit: fit.predict(),
    "predict_exog": lambda fit: fit.predict(_head(fit)),
}


def _head(fit: object) -> object:
    """The first five rows of the model's exog, in the type the user passed."""
    frame = fit.model.data.orig_exog
    return frame.iloc[:5] if isinstance(frame, pd.DataFrame) else np.asarray(frame)[:5]


@cache
def _data() -> dict[str, object]:
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(20), 8)
    time = np.tile(np.arange(8.0), 20)
    x = rng.normal(size=160)
    y = 1 + 0.5 * x + 0.3 * time + rng.normal(size=20)[groups] + rng.normal(size=160)
    y += rng.normal(scale=0.2, size=20)[groups] * time
    exog = np.column_stack([np.ones(160), x, time])
    exog_re = np.column_stack([np.ones(160), time])
    return {"endog": y, "exog": exog, "groups": groups, "exog_re": exog_re}


def _inputs(kind: str) -> dict[str, object]:
    data = _data()
    if kind == "numpy":
        return dict(data)
    index = pd.Index(np.arange(1000, 1160), name="row")
    return {
        "endog": pd.Series(data["endog"], index=index, name="y"),
        "exog": pd.DataFrame(data["exog"], index=index, columns=["const", "x", "time"]),
        "groups": pd.Series(data["groups"], index=index, name="g"),
        "exog_re": pd.DataFrame(data["exog_re"], index=index, columns=["Intercept", "time"]),
    }


@cache
def _fits(kind: str) -> tuple[object, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = mm_api.MixedLM(**_inputs(kind)).fit()
        theirs = statsmodels_mixed.MixedLM(**_inputs(kind)).fit()
    return ours, theirs


def _describe(value: object) -> tuple:
    if isinstance(value, dict):
        first = next(iter(value.values()))
        return (dict, len(value), _describe(first))
    if isinstance(value, pd.DataFrame):
        return (pd.DataFrame, value.shape, list(value.index), list(value.columns))
    if isinstance(value, pd.Series):
        return (pd.Series, value.shape, list(value.index))
    return (type(value), np.shape(value))


@pytest.mark.parametrize("kind", ["numpy", "pandas"])
@pytest.mark.parametrize("name", list(ATTRIBUTES))
def test_types_and_shapes_match_statsmodels(kind: str, name: str) -> None:
    ours, theirs = _fits(kind)
    assert _describe(ATTRIBUTES[name](ours)) == _describe(ATTRIBUTES[name](theirs))


@pytest.mark.parametrize("kind", ["numpy", "pandas"])
def test_positional_indexing_as_statsmodels(kind: str) -> None:
    ours, theirs = _fits(kind)
    if kind == "numpy":
        k = ours.model.k_fe
        assert ours.cov_params()[0:k, 0:k].shape == theirs.cov_params()[0:k, 0:k].shape
        np.testing.assert_allclose(ours.params[1], theirs.params[1], rtol=1e-3)
        assert ours.conf_int()[1].shape == (2,)
    else:
        np.testing.assert_allclose(ours.params["x"], theirs.params["x"], rtol=1e-3)
        assert list(ours.conf_int().loc["x"].index) == [0, 1]


def test_contrasts_with_string_constraints() -> None:
    ours, theirs = _fits("pandas")
    names = list(ours.params.index)
    for constraint, rows in (("x = 0", [[1, 0]]), ("x = time", [[1, -1]]),
                             ("x = 0, time = 0", [[1, 0], [0, 1]])):
        mine = ours.wald_test(constraint, scalar=True)
        assert type(mine) is type(theirs.wald_test(constraint, scalar=True))
        contrast = np.zeros((len(rows), len(names)))
        contrast[:, [names.index("x"), names.index("time")]] = rows
        effect = contrast @ ours.params.to_numpy()
        middle = contrast @ ours.cov_params().to_numpy() @ contrast.T
        np.testing.assert_allclose(mine.statistic, effect @ np.linalg.solve(middle, effect))
    mine, ref = ours.t_test("x = 0"), theirs.t_test(np.array([[0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(mine.effect, ref.effect, rtol=1e-4)
    np.testing.assert_allclose(mine.sd.ravel(), [ours.bse["x"]], rtol=1e-10)
    f_ours = ours.f_test("x = 0")
    np.testing.assert_allclose(f_ours.fvalue, mine.tvalue**2, rtol=1e-10)


def test_summary_is_statsmodels_summary_and_summary_col_accepts_it(tmp_path: object) -> None:
    from statsmodels.iolib.summary2 import Summary, summary_col

    ours, theirs = _fits("pandas")
    summary = ours.summary()
    assert isinstance(summary, Summary)
    assert list(summary.tables[1].index) == list(theirs.summary().tables[1].index)
    for text in (summary.as_text(), summary.as_html(), summary.as_latex()):
        assert "Group Var" in text or "Intercept Var" in text
    table = str(summary_col([ours, theirs], stars=True))
    assert "time" in table


def test_remove_data_save_load(tmp_path: object) -> None:
    ours, _ = _fits("pandas")
    path = tmp_path / "fit.pickle"  # type: ignore[operator]
    ours.save(str(path))
    loaded = mm_api.MixedLMResults.load(str(path))
    np.testing.assert_array_equal(loaded.params, ours.params)
    loaded.remove_data()
    assert loaded.model.endog is None
    assert "Mixed Linear Model" in loaded.summary().as_text()
