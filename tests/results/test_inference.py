"""Satterthwaite degrees of freedom against lmerTest, and Wald intervals against lme4."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CASE_NAMES, load_case
from conftest import fit_reference as _fit

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
