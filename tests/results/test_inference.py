"""Satterthwaite degrees of freedom against lmerTest, and Wald intervals against lme4."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CASE_NAMES, load_case, load_reference_data
from conftest import fit_reference as _fit

import mixedmodels as mm

SMALL_CASES = [name for name in CASE_NAMES if load_case(name)["nobs"] < 20000]


@pytest.mark.parametrize("name", SMALL_CASES, ids=SMALL_CASES)
def test_satterthwaite_df_matches_lmertest(name: str) -> None:
    reference, fit = _fit(name)
    table = fit.coef_table
    for term, df in reference["df_satterthwaite"].items():
        # Both sides differentiate numerically; they agree to a few 1e-5.
        assert table.loc[term, "df"] == pytest.approx(df, rel=2e-4), term
    assert (table["Pr(>|t|)"].between(0, 1)).all()


@pytest.mark.parametrize("name", SMALL_CASES, ids=SMALL_CASES)
def test_wald_intervals_match_lme4(name: str) -> None:
    reference, fit = _fit(name)
    intervals = fit.conf_int()
    wald = reference["confint_wald"]
    columns = [np.atleast_1d(wald[key]).tolist() for key in ("names", "lower", "upper")]
    for term, lower, upper in zip(*columns, strict=True):
        assert intervals.loc[term].iloc[0] == pytest.approx(lower, rel=1e-4, abs=1e-6)
        assert intervals.loc[term].iloc[1] == pytest.approx(upper, rel=1e-4, abs=1e-6)


def test_satterthwaite_df_do_not_depend_on_the_units_of_the_response() -> None:
    """A response in large units (sigma ~ 2e7) gives the same df and standard errors.

    Time's df rests on the uncertainty of sigma, whose Hessian entry is ~1e-12 in
    these units: an absolute eigenvalue cut-off would drop it (df ~ 1e11).
    """
    data = load_reference_data("dietox").copy()
    base = mm.lmer("Weight ~ Time + (1 | Pig)", data)
    data["Weight"] = 1e7 * data["Weight"]
    scaled = mm.lmer("Weight ~ Time + (1 | Pig)", data)
    np.testing.assert_allclose(scaled.coef_table["df"], base.coef_table["df"], rtol=1e-4)
    np.testing.assert_allclose(
        scaled.coef_table["Std. Error"], 1e7 * base.coef_table["Std. Error"], rtol=1e-6
    )


def test_delta_covariance_is_j_a_jt_with_an_exact_jacobian(monkeypatch: pytest.MonkeyPatch) -> None:
    """For ``psi = [t0^2, t0 t1, t1^2 + t2^2, sigma^2 t0^2]`` the unit-step differences are
    exact, so the covariance is ``J A J'`` with the analytic ``J``."""
    from mixedmodels.results import inference

    sleep = mm.datasets.load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    t0, t1, t2 = fit.theta
    sigma = fit.sigma
    covariance = np.diag([1.0, 2.0, 3.0, 4.0]) + 0.1
    monkeypatch.setattr(
        inference, "varpar_covariance", lambda results: (covariance, np.append(fit.theta, sigma))
    )

    def psi(theta: np.ndarray, scale: float) -> np.ndarray:
        a, b, c = theta
        return np.array([a * a, a * b, b * b + c * c, scale**2 * a * a])

    analytic = np.array(
        [
            [2 * t0, 0, 0, 0],
            [t1, t0, 0, 0],
            [0, 2 * t1, 2 * t2, 0],
            [2 * sigma**2 * t0, 0, 0, 2 * sigma * t0 * t0],
        ]
    )
    got = inference.delta_covariance(fit, psi)
    np.testing.assert_allclose(got, analytic @ covariance @ analytic.T, rtol=1e-9)
    # A covariance that is not positive definite gives None.
    singular = np.zeros((4, 4))
    singular[0, 0] = 1.0
    monkeypatch.setattr(inference, "varpar_covariance", lambda results: (singular, None))
    assert inference.delta_covariance(fit, psi) is None
