"""The checked fit (issue 8): lme4's best optimum on the hard cases, warnings, the fit log."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import ConvergenceWarning, SingularFitWarning
from mixedmodels.optim import driver
from mixedmodels.optim.driver import optimize_theta
from mixedmodels.optim.optsummary import OptSummary

from ._cases import HARD_CASES, load_hard_case, python_formula


def _fit(name: str, **fit_args) -> tuple[dict, object, list[warnings.WarningMessage]]:
    case, data = load_hard_case(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = mm.LinearMixedModel.from_formula(
            python_formula(case["formula"]), data, REML=case["REML"]
        )
        fit = model.fit(**fit_args)
    return case, fit, caught


def _convergence_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(item.message) for item in caught if issubclass(item.category, ConvergenceWarning)]


@pytest.mark.parametrize("name", HARD_CASES, ids=HARD_CASES)
def test_hard_case_reaches_lme4s_best_optimum(name: str) -> None:
    case, fit, caught = _fit(name)
    # Not below lme4's best log-likelihood by more than 1e-6 relative.
    assert fit.llf >= case["logLik"] - 1e-6 * abs(case["logLik"]), (fit.llf, case["logLik"])
    assert not _convergence_warnings(caught)
    assert fit.optimizer.optsummary.converged


def test_nan_moment_start_falls_back_to_a_finite_start() -> None:
    # Salamanders: the moment start of (1 | sample) is NaN (it crashed with AttributeError).
    _, fit, _ = _fit("salamanders_crossed_slopes_reml")
    summary = fit.optimizer.optsummary
    assert np.all(np.isfinite(summary.initial_theta))
    assert summary.starts[0].label.startswith("identity start")
    assert np.isfinite(fit.llf)


def test_every_start_infinite_reports_instead_of_crashing() -> None:
    result = optimize_theta(
        lambda theta: np.inf, np.array([np.nan, 1.0]), np.array([0.0, 0.0]), np.ones(2)
    )
    assert not result.converged
    assert not np.isfinite(result.objective)
    assert isinstance(result.optsummary, OptSummary)


def test_mirrored_step_is_what_finds_the_better_face() -> None:
    # random_056: the first run stops at T_11 = 0 of (x1 | g); stepping off the bound
    # goes uphill, the mirrored step (column 1 of T negated) goes down.
    _, fit, _ = _fit("random_056_ml")
    labels = [run.label for run in fit.optimizer.optsummary.starts]
    assert labels[0] == "start"
    assert "the step off the bound" in labels
    first, best = fit.optimizer.optsummary.starts[0].objective, fit.optimizer.objective
    assert best < first - 0.04  # 2 x 0.023 short in logLik before


def test_a_problem_that_remains_is_warned_with_check_gradient_and_term(monkeypatch) -> None:
    # With no restarts allowed, the short first optimum on random_056 stays: the fit must say so.
    monkeypatch.setattr(driver, "MAX_ROUNDS", 0)
    _, fit, caught = _fit("random_056_ml")
    messages = _convergence_warnings(caught)
    assert len(messages) == 1
    assert "boundary" in fit.optimizer.message
    assert "g.(Intercept)" in messages[0]
    assert "results.optsummary" in messages[0]
    assert not fit.converged
    failed = fit.optsummary.failed_checks
    assert [check.name for check in failed] == ["boundary"]
    assert failed[0].term == "g.(Intercept)"
    assert failed[0].value > failed[0].tolerance
    text = str(fit.summary())
    assert "Optimizer: NLopt BOBYQA" in text
    assert "check boundary: FAILED" in text


def test_summary_shows_no_fit_log_when_every_check_passed() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    assert fit.optsummary.converged
    assert "Optimizer:" not in str(fit.summary())


def test_fit_log_records_stages_runs_and_gradient() -> None:
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    summary = fit.optsummary
    assert summary.n_evaluations >= summary.starts[0].n_evaluations > 0
    assert {"optimize", "check"} <= set(summary.stage_seconds)
    assert [check.name for check in summary.checks] == ["hessian", "gradient"]
    assert summary.gradient.shape == fit.theta.shape
    np.testing.assert_allclose(summary.final_theta, fit.theta)
    assert summary.final_objective == pytest.approx(fit.objective, rel=1e-12)
    assert "final theta" in str(summary)


def test_saddle_point_is_left_by_the_restarts() -> None:
    # f has a saddle at the origin; BOBYQA started exactly there along a symmetric
    # model may stop; the checks must not let a saddle pass either way.
    def saddle(theta: np.ndarray) -> float:
        x, y = theta
        return float(x**2 - y**2 + y**4)

    result = optimize_theta(saddle, np.array([0.0, 0.0]), np.full(2, -np.inf), np.ones(2))
    assert result.objective == pytest.approx(-0.25, abs=1e-8)
    assert result.optsummary.converged


def test_newton_step_from_the_checks_derivatives_reaches_a_quadratics_minimum() -> None:
    """One evaluation; kept only when lower; bounded coordinates stay feasible."""
    curvature = np.array([[2.0, 0.5], [0.5, 1.0]])
    optimum = np.array([0.3, -0.2])

    def quadratic(theta: np.ndarray) -> float:
        delta = theta - optimum
        return float(delta @ curvature @ delta)

    fit = driver._Fit(quadratic, np.array([0.0, -np.inf]), np.ones(2))
    fit.run_bobyqa("start", np.array([1.0, 1.0]), 0.5)
    start = np.array([0.35, -0.1])
    fit.best = driver.OptimizerResult(start, quadratic(start), 1, True, "", 0, [], None)
    gradient = 2 * curvature @ (start - optimum)
    evaluations = fit.evaluations
    driver._newton_step(fit, {"newton": (np.arange(2), gradient, 2 * curvature)})
    assert fit.evaluations == evaluations + 1
    np.testing.assert_allclose(fit.best.theta, optimum, atol=1e-12)
    # A step that would not lower the criterion is recorded but not kept.
    before = fit.best
    driver._newton_step(fit, {"newton": (np.arange(2), -gradient, 2 * curvature)})
    assert fit.best is before and fit.runs[-1].label.startswith("Newton step")
