"""statsmodels' ``profile_re`` on the engine's profile step (``regression/_profile.py``)."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pytest

import mixedmodels.api as sm
import mixedmodels.formula.api as smf
from mixedmodels.errors import DataError


@cache
def _dietox_rs():
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time").fit()


def test_profile_of_the_second_random_coefficient_peaks_at_the_estimate() -> None:
    """re_ix=1 permutes exog_re so that its variance is a single entry of T."""
    fit = copy.deepcopy(_dietox_rs())
    variance = fit.cov_re.iloc[1, 1]
    profile = fit.profile_re(1, "re", num_low=2, dist_low=0.3 * variance, num_high=2,
                             dist_high=0.3 * variance)
    assert profile.shape == (5, 2)
    assert profile[2, 0] == pytest.approx(variance, rel=1e-6)
    assert profile[2, 1] == pytest.approx(fit.llf, rel=1e-9)
    assert int(np.argmax(profile[:, 1])) == 2
    assert np.all(np.diff(profile[:, 0]) > 0)
    # The fit itself is not moved by the profile.
    assert fit.cov_re.iloc[1, 1] == variance
    assert fit.engine.objective(fit.theta) == pytest.approx(-2 * fit.llf, rel=1e-12)


def test_profile_points_are_constrained_maxima() -> None:
    """Each grid point is the maximum over the other parameters with the variance fixed."""
    fit = copy.deepcopy(_dietox_rs())
    variance = fit.cov_re.iloc[0, 0]
    profile = fit.profile_re(0, "re", num_low=1, dist_low=0.5 * variance, num_high=0)
    low = profile[0, 1]
    # Moving only the fixed variance (other theta at the estimate) is no better.
    cov = np.asarray(fit.cov_re_unscaled).copy()
    cov[0, 0] *= 0.5  # the grid's low point: (estimate - dist_low) on the profile scale
    cov[0, 1] = cov[1, 0] = 0.0
    theta = fit.layout.theta_from_profile(cov, np.zeros(0))
    assert -0.5 * fit.engine.objective(theta) <= low + 1e-8


def test_profile_errors() -> None:
    fit = _dietox_rs()
    with pytest.raises(DataError, match="vtype"):
        fit.profile_re(0, "variance")
    with pytest.raises(DataError, match="re_ix"):
        fit.profile_re(2, "re")
    with pytest.raises(DataError, match="variance component"):
        fit.profile_re("nope", "vc")
