"""Kenward-Roger covariance and df against pbkrtest (inference and fits references)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CASE_NAMES, INFERENCE_CASES, fit_inference, fit_reference, load_case

from .tolerances import DF, VCOV_KR, relative_error

KR_FIT_CASES = [
    name
    for name in CASE_NAMES
    if load_case(name).get("df_kenward_roger") is not None and load_case(name)["nobs"] < 20000
]


@pytest.mark.parametrize("name", INFERENCE_CASES, ids=INFERENCE_CASES)
def test_adjusted_covariance_matches_vcovadj(name: str) -> None:
    reference, fit = fit_inference(name)
    expected = reference["vcov_kenward_roger"]
    adjusted = fit.vcov_kenward_roger
    assert list(adjusted.index) == expected["rownames"]
    values = np.array(expected["values"])
    # Relative to the largest entry: off-diagonal covariances can be ~0.
    error = np.max(np.abs(adjusted.to_numpy() - values)) / np.max(np.abs(values))
    assert error < VCOV_KR


@pytest.mark.parametrize("name", KR_FIT_CASES, ids=KR_FIT_CASES)
def test_df_kenward_roger_matches_fits_reference(name: str) -> None:
    reference, fit = fit_reference(name)
    expected = reference["df_kenward_roger"]
    table = fit.coefficients("Kenward-Roger")
    if isinstance(expected, dict):
        names, values = list(expected), list(expected.values())
    else:
        names, values = list(table.index), list(np.atleast_1d(expected))
    assert relative_error(table.loc[names, "df"], values) < DF["kenward_roger"]


def test_adjusted_covariance_is_at_least_the_plain_one() -> None:
    # Kenward-Roger inflates vcov for the uncertainty of the variance parameters.
    _, fit = fit_inference("dietox_factors")
    difference = fit.vcov_kenward_roger.to_numpy() - fit.cov_fe.to_numpy()
    assert np.min(np.linalg.eigvalsh((difference + difference.T) / 2)) > -1e-10
