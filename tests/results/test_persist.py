"""Compact saving: ``fit.save(path)`` / ``mm.load(path)`` and pickling without the rows."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DataError

SLEEP = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep_fit():
    return mm.lmer(SLEEP, mm.datasets.load("sleepstudy"))


def test_insteval_pickle_is_under_5_mb_and_predicts_identically(tmp_path) -> None:
    data = mm.datasets.load("InstEval")
    fit = mm.lmer("y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)", data, REML=False)
    path = tmp_path / "insteval.pkl"
    fit.save(path)
    size = path.stat().st_size
    assert size < 5e6, f"{size / 1e6:.2f} MB"
    assert len(pickle.dumps(fit)) < 5e6
    loaded = mm.load(path)
    newdata = data.sample(2000, random_state=7)
    np.testing.assert_array_equal(loaded.predict(newdata), fit.predict(newdata))
    np.testing.assert_array_equal(loaded.fittedvalues, fit.fittedvalues)
    np.testing.assert_array_equal(loaded.resid, fit.resid)
    assert loaded.llf == fit.llf
    assert str(loaded.summary(ddf=None)) == str(fit.summary(ddf=None))
    assert loaded.model.rows is None  # the rows stayed behind


def test_round_trip_keeps_every_result(sleep_fit, tmp_path) -> None:
    path = tmp_path / "sleep.pkl"
    sleep_fit.save(path)
    loaded = mm.load(path)
    assert str(loaded.summary()) == str(sleep_fit.summary())
    pd.testing.assert_frame_equal(loaded.tidy(effects="ran_vals"), sleep_fit.tidy("ran_vals"))
    pd.testing.assert_frame_equal(loaded.varcorr(), sleep_fit.varcorr())
    for name, frame in sleep_fit.ranef_condsd().items():
        np.testing.assert_allclose(loaded.ranef_condsd()[name], frame, rtol=1e-10)
    # the criterion is rebuilt from the cross-products: the same value at theta
    assert loaded.model.objective(loaded.theta) == pytest.approx(sleep_fit.objective, rel=1e-12)
    assert loaded.to_dict() == sleep_fit.to_dict()


def test_pickling_does_not_change_the_fit(sleep_fit) -> None:
    before = sleep_fit.fittedvalues.copy()
    pickle.dumps(sleep_fit)
    assert sleep_fit.model.rows is not None
    pd.testing.assert_series_equal(sleep_fit.fittedvalues, before)


def test_keep_data_keeps_the_rows(tmp_path) -> None:
    data = mm.datasets.load("sleepstudy")
    fit = mm.lmer(SLEEP, data, keep_data=True)
    assert fit.data is data
    path = tmp_path / "kept.pkl"
    fit.save(path)
    loaded = mm.load(path)
    assert loaded.model.rows is not None
    pd.testing.assert_frame_equal(loaded.data, data)
    compact = mm.lmer(SLEEP, data)
    assert compact.data is None
    assert len(pickle.dumps(compact)) < len(pickle.dumps(fit))
    with pytest.raises(mm.errors.ArgumentTypeError, match="keep_data"):
        mm.lmer(SLEEP, data, keep_data="yes")


def test_chunked_fit_saves_and_loads(tmp_path) -> None:
    data = mm.datasets.load("sleepstudy")
    fit = mm.LinearMixedModel.from_formula(SLEEP, data, chunk_rows=50).fit()
    path = tmp_path / "chunked.pkl"
    fit.save(path)
    loaded = mm.load(path)
    np.testing.assert_array_equal(loaded.predict(data), fit.predict(data))


def test_load_rejects_other_files(tmp_path) -> None:
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(DataError, match="not a file written by"):
        mm.load(path)
