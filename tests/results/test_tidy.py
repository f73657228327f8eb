"""``tidy()`` against broom.mixed's ``tidy()`` (stored by ``tools/make_look_references.R``).

broom.mixed ran on lmerTest fits at the optimum of lme4's criterion. Fixed effects
and their standard errors are held to 1e-5 relative; variance parameters to 1e-4
(lme4's optimum and ours differ by up to 1.1e-5 in dietox's correlation, on a flat
criterion); conditional modes to 1e-5 of the largest mode (the tests of
``tests/test_model.py`` allow 2e-3); Satterthwaite df (and the p values and
t intervals that use them) to the ``rel=2e-4`` of the inference tests;
profile intervals to the ``rel=1e-3`` of ``tests/results/test_profile.py`` (lme4
interpolates a spline through a coarse profile, we find the roots).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

REFERENCE = Path(__file__).parents[1] / "reference" / "look"
CASES = ["sleepstudy", "penicillin", "dietox"]
TOLERANCE = {
    "estimate": 1e-5,
    "std.error": 1e-5,
    "statistic": 1e-5,
    "df": 2e-4,
    "p.value": 2e-3,
    "conf.low": 1e-5,
    "conf.high": 1e-5,
}


def _reference(case: str) -> dict:
    return json.loads((REFERENCE / f"{case}_tidy.json").read_text())


def _fit(reference: dict):
    return mm.lmer(reference["formula"][0], mm.datasets.load(reference["data"][0]))


def _compare(
    ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str], tolerance: dict, atol: float = 1e-8
) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs)
    ours = ours.set_index(keys).sort_index()
    theirs = theirs.set_index(keys).sort_index()
    assert list(ours.index) == list(theirs.index)
    for column, rel in tolerance.items():
        if column not in theirs.columns:
            continue
        expected = pd.to_numeric(theirs[column]).to_numpy(dtype=float)
        got = ours[column].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=column)
        keep = ~np.isnan(expected)
        np.testing.assert_allclose(got[keep], expected[keep], rtol=rel, atol=atol, err_msg=column)


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_tidy_fixed_equals_broom_mixed(case: str) -> None:
    reference = _reference(case)
    ours = _fit(reference).tidy(effects="fixed", conf_int=True)
    tolerance = dict(TOLERANCE, **{"conf.low": 2e-4, "conf.high": 2e-4})
    _compare(ours, pd.DataFrame(reference["fixed"]), ["term"], tolerance)


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_tidy_ran_pars_equals_broom_mixed(case: str) -> None:
    reference = _reference(case)
    fit = _fit(reference)
    theirs = pd.DataFrame(reference["ran_pars"])
    ours = fit.tidy(effects="ran_pars", conf_int=True)
    assert list(ours["term"]) == list(theirs["term"])  # broom.mixed's order, too
    _compare(ours, theirs, ["group", "term"], {"estimate": 1e-4})
    profile = fit.tidy(effects="ran_pars", conf_int=True, conf_method="profile")
    tolerance = {"estimate": 1e-4, "conf.low": 1e-3, "conf.high": 1e-3}
    _compare(profile, pd.DataFrame(reference["ran_pars_profile"]), ["group", "term"], tolerance)


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_tidy_ran_vals_equals_broom_mixed(case: str) -> None:
    reference = _reference(case)
    ours = _fit(reference).tidy(effects="ran_vals", conf_int=True)
    theirs = pd.DataFrame(reference["ran_vals"])
    theirs["level"] = theirs["level"].astype(str)
    scale = float(np.abs(theirs["estimate"]).max())
    tolerance = {"estimate": 0, "conf.low": 0, "conf.high": 0}
    _compare(ours, theirs, ["group", "term", "level"], tolerance, atol=1e-5 * scale)
    _compare(ours, theirs, ["group", "term", "level"], {"std.error": 1e-5})


def test_tidy_default_stacks_fixed_and_ran_pars() -> None:
    fit = _fit(_reference("sleepstudy"))
    table = fit.tidy()
    assert list(table["effect"]) == ["fixed"] * 2 + ["ran_pars"] * 4
    assert list(table.columns) == [
        "effect",
        "group",
        "term",
        "estimate",
        "std.error",
        "statistic",
        "df",
        "p.value",
    ]
    plain = fit.tidy(effects="fixed", conf_int=True, ddf=None)
    assert "df" not in plain.columns
    # Without df the intervals are normal: estimate -+ 1.959964 * std.error
    half = (plain["conf.high"] - plain["estimate"]) / plain["std.error"]
    np.testing.assert_allclose(half, 1.959963984540054)


def test_tidy_rejects_unknown_effects() -> None:
    fit = _fit(_reference("sleepstudy"))
    with pytest.raises(ValueError, match="effects"):
        fit.tidy(effects="random")
    with pytest.raises(ValueError, match="conf_method"):
        fit.tidy(effects="ran_pars", conf_int=True, conf_method="boot")
