"""LmerResults is a snapshot taken at fit time (as lme4's mkMerMod)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

CASES = {
    # one block (closed-form single path) and crossed factors (eliminated path,
    # whose factor lives in a buffer that each evaluation overwrites)
    "sleepstudy": ("Reaction ~ Days + (Days | Subject)", True),
    "Penicillin": ("diameter ~ 1 + (1 | plate) + (1 | sample)", False),
}


def _snapshot(fit) -> tuple:
    return (
        fit.llf,
        fit.theta.copy(),
        {name: frame.copy() for name, frame in fit.ranef().items()},
        fit.coef_table.copy(),
    )


def _assert_identical(got: tuple, want: tuple) -> None:
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2].keys() == want[2].keys()
    for name in want[2]:
        pd.testing.assert_frame_equal(got[2][name], want[2][name], check_exact=True)
    pd.testing.assert_frame_equal(got[3], want[3], check_exact=True)


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_profile_on_one_result_leaves_another_alone(name: str) -> None:
    """Tell-tale: profile intervals on one result change no other result, bit for bit."""
    formula, reml = CASES[name]
    data = mm.datasets.load(name)
    model = mm.LinearMixedModel.from_formula(formula, data, REML=reml)
    first = model.fit(warn=False)
    second = model.fit(start=first.theta * 1.5, warn=False)
    # The same fit on an untouched model is the reference for "unchanged".
    twin = mm.LinearMixedModel.from_formula(formula, data, REML=reml)
    twin.fit(warn=False)
    expected = _snapshot(twin.fit(start=first.theta * 1.5, warn=False))
    first.confint(method="profile")
    first.coef_table  # noqa: B018  (Hessians on the first result, too)
    _assert_identical(_snapshot(second), expected)


def test_results_do_not_follow_the_model_state() -> None:
    data = mm.datasets.load("Penicillin")
    model = mm.LinearMixedModel.from_formula("diameter ~ 1 + (1 | plate) + (1 | sample)", data)
    fit = model.fit(warn=False)
    model.objective(np.array([0.3, 2.0]))  # move the model's own state elsewhere
    conditional_sd = fit.ranef_condsd()
    refit = mm.LinearMixedModel.from_formula("diameter ~ 1 + (1 | plate) + (1 | sample)", data).fit(
        warn=False
    )
    for key, frame in refit.ranef_condsd().items():
        pd.testing.assert_frame_equal(conditional_sd[key], frame, check_exact=True)
    pd.testing.assert_frame_equal(fit.ranef()["plate"], refit.ranef()["plate"], check_exact=True)


def test_criterion_state_is_a_private_copy() -> None:
    data = mm.datasets.load("sleepstudy")
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    state = fit.criterion_state()
    assert state.evaluate(fit.theta) == pytest.approx(fit.objective, rel=1e-14)
    state.evaluate(fit.theta * 2.0)
    ml = fit.criterion_state(reml=False)
    # The ML deviance at the REML theta differs from the REML criterion.
    assert ml.evaluate(fit.theta) != pytest.approx(fit.objective, rel=1e-6)
    assert fit.model.state.evaluate(fit.theta) == fit.objective
    # With sigma fixed at its estimate the criterion equals the profiled one.
    assert state.evaluate(fit.theta, sigma=fit.sigma) == pytest.approx(fit.objective, rel=1e-12)
