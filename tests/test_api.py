"""The statsmodels-compatible namespace ``mixedmodels.api`` and its ``add_constant``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels.api as sm
from mixedmodels.errors import DataError


def test_namespace() -> None:
    assert sm.MixedLM is sm.regression.mixed_linear_model.MixedLM
    assert len(sm.datasets.get_rdataset("dietox", "geepack").data) == 861


def test_add_constant_arrays() -> None:
    values = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(sm.add_constant(values)[:, 0], np.ones(3))
    np.testing.assert_array_equal(sm.add_constant(values, prepend=False)[:, 2], np.ones(3))
    np.testing.assert_array_equal(sm.add_constant(np.arange(3.0)), [[1, 0], [1, 1], [1, 2]])


def test_add_constant_frames_and_existing_constants() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    out = sm.add_constant(frame)
    assert list(out.columns) == ["const", "x"]
    assert list(frame.columns) == ["x"]  # the caller's frame is not modified
    with_constant = frame.assign(c=5.0)
    assert sm.add_constant(with_constant) is with_constant
    assert sm.add_constant(with_constant, has_constant="add").shape == (3, 3)
    with pytest.raises(DataError, match="constant"):
        sm.add_constant(with_constant, has_constant="raise")
    with pytest.raises(DataError, match="has_constant"):
        sm.add_constant(frame, has_constant="maybe")
