"""Any data frame: the same fit from pandas, pandas-with-pyarrow, polars, pyarrow and dict."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from formula.reference_data import dataset

import mixedmodels as mm
from mixedmodels.errors import ArgumentTypeError, MixedModelsWarning
from mixedmodels.frames import to_pandas

MODELS = {
    "slopes": ("Reaction ~ Days + (Days | Subject)", lambda: mm.datasets.load("sleepstudy")),
    "crossed": (
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
        lambda: mm.datasets.load("Penicillin"),
    ),
    "nested": ("strength ~ 1 + (1 | batch/cask)", lambda: dataset("Pastes")),
    # Text columns: a categorical's level order (R's for Rat) does not survive a dict.
    "factors": (
        "weight ~ Time * Diet + (Time | Rat)",
        lambda: _text_factors(dataset("BodyWeight")),
    ),
}


def _text_factors(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(Rat=frame["Rat"].astype(str), Diet=frame["Diet"].astype(str))


def _pyarrow_backed(frame: pd.DataFrame) -> pd.DataFrame:
    pytest.importorskip("pyarrow")
    return frame.convert_dtypes(dtype_backend="pyarrow")


def _polars(frame: pd.DataFrame):
    polars = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    return polars.from_pandas(frame)


def _polars_lazy(frame: pd.DataFrame):
    return _polars(frame).lazy()


def _arrow(frame: pd.DataFrame):
    pyarrow = pytest.importorskip("pyarrow")
    return pyarrow.Table.from_pandas(frame, preserve_index=False)


def _dict(frame: pd.DataFrame) -> dict:
    return {name: frame[name].to_numpy() for name in frame.columns}


CONVERSIONS = {
    "pandas_pyarrow": _pyarrow_backed,
    "polars": _polars,
    "polars_lazy": _polars_lazy,
    "pyarrow": _arrow,
    "dict": _dict,
}


def _fit(formula: str, data: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        return mm.lmer(formula, data)


@pytest.mark.parametrize("conversion", sorted(CONVERSIONS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_same_fit_from_every_frame(model: str, conversion: str) -> None:
    formula, load = MODELS[model]
    frame = load()
    want = _fit(formula, frame)
    got = _fit(formula, CONVERSIONS[conversion](frame))
    assert got.llf == pytest.approx(want.llf, rel=1e-10, abs=1e-10)
    assert list(got.fe_params.index) == list(want.fe_params.index)
    np.testing.assert_allclose(got.fe_params, want.fe_params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got.theta, want.theta, rtol=1e-10, atol=1e-10)


def test_user_frame_is_not_changed() -> None:
    frame = dataset("BodyWeight")
    before = frame.copy()
    _fit("weight ~ poly(Time, 2) * Diet + (Time | Rat)", frame)
    pd.testing.assert_frame_equal(frame, before)


def test_pandas_frame_is_used_as_it_is() -> None:
    frame = dataset("Pastes")
    assert to_pandas(frame) is frame


def test_other_frames_are_converted_on_the_used_columns_only() -> None:
    frame = _polars(dataset("BodyWeight"))
    converted = to_pandas(frame, columns=["weight", "Diet", "not a column"])
    assert list(converted.columns) == ["weight", "Diet"]
    assert isinstance(converted["Diet"].dtype, pd.CategoricalDtype)
    assert list(converted["Diet"].cat.categories) == ["1", "2", "3"]


def test_not_a_frame_is_a_type_error() -> None:
    with pytest.raises(ArgumentTypeError, match="polars DataFrame"):
        to_pandas([1, 2, 3])


def test_statsmodels_api_reads_other_frames() -> None:
    import mixedmodels.formula.api as smf

    data = mm.datasets.load("sleepstudy")
    want = smf.mixedlm("Reaction ~ Days", data, groups="Subject").fit()
    got = smf.mixedlm("Reaction ~ Days", _polars(data), groups="Subject").fit()
    assert got.llf == pytest.approx(want.llf, rel=1e-10)
    np.testing.assert_allclose(got.fe_params, want.fe_params, rtol=1e-10)
