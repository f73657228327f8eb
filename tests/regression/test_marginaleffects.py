"""Code written for statsmodels results works on ours: marginaleffects on dietox.

marginaleffects rebuilds the design from ``model.formula`` and ``model.data.frame``
(with patsy's column order) and multiplies it by ``params``. On the random-intercept
model both fits reach the same optimum, so every estimate agrees within 1e-6. On
random slopes statsmodels stops short of the optimum (its REML log-likelihood is
below ours), so there the comparison is of the optimum, not of marginaleffects.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

import mixedmodels.api as sm
import mixedmodels.formula.api as smf

marginaleffects = pytest.importorskip("marginaleffects")
statsmodels_formula = pytest.importorskip("statsmodels.formula.api")

FORMULA = "Weight ~ Time + Evit"


@cache
def _data() -> pd.DataFrame:
    data = sm.datasets.get_rdataset("dietox", "geepack").data.copy()
    data["Evit"] = data["Evit"].astype("category")  # marginaleffects needs categoricals
    return data


@cache
def _fits(re_formula: str | None) -> tuple[object, object]:
    data = _data()
    extra = {} if re_formula is None else {"re_formula": re_formula}
    ours = smf.mixedlm(FORMULA, data, groups=data["Pig"], **extra).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = statsmodels_formula.mixedlm(FORMULA, data, groups=data["Pig"], **extra).fit()
    return ours, theirs


CALLS = {
    "predictions": lambda fit: marginaleffects.predictions(fit),
    "avg_predictions": lambda fit: marginaleffects.avg_predictions(fit),
    "avg_predictions_by": lambda fit: marginaleffects.avg_predictions(fit, by="Evit"),
    "comparisons": lambda fit: marginaleffects.comparisons(fit),
    "comparisons_time": lambda fit: marginaleffects.comparisons(fit, variables="Time"),
    "slopes": lambda fit: marginaleffects.slopes(fit, variables="Time"),
}


def test_random_slopes_optimum_is_at_least_statsmodels() -> None:
    ours, theirs = _fits("~Time")
    assert ours.llf >= theirs.llf - 1e-8


@pytest.mark.parametrize("call", list(CALLS))
def test_marginaleffects_estimates_match_statsmodels(call: str) -> None:
    ours, theirs = _fits(None)
    assert ours.llf == pytest.approx(theirs.llf, abs=1e-6)  # the same optimum
    mine, reference = CALLS[call](ours), CALLS[call](theirs)
    assert mine.shape == reference.shape
    np.testing.assert_allclose(
        mine["estimate"].to_numpy(), reference["estimate"].to_numpy(), rtol=0, atol=1e-6
    )
