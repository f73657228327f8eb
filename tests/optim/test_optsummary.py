"""The fit log: its verdict and its text."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mixedmodels.optim.optsummary import Check, OptSummary, StartRecord


def _summary(*checks: Check) -> OptSummary:
    return OptSummary(
        optimizer="NLopt BOBYQA",
        initial_theta=np.array([1.0, 0.0]),
        final_theta=np.array([0.5, 0.25]),
        final_objective=123.456,
        n_evaluations=42,
        starts=(StartRecord("start", np.array([1.0, 0.0]), 123.456, 40),),
        checks=checks,
        gradient=np.array([1e-6, np.nan]),
        derivatives="quadratic model of the optimiser's evaluations",
        stage_seconds={"optimize": 0.002, "check": 0.0001},
    )


def test_verdict_follows_the_checks() -> None:
    good = Check("gradient", True, 1e-12, 1e-5, "fine")
    bad = Check("boundary", False, 0.01, 1e-5, "a step lowers it", "g.(Intercept)")
    assert _summary(good).converged
    summary = _summary(good, bad)
    assert not summary.converged
    assert summary.failed_checks == (bad,)


def test_text_lists_runs_checks_and_stages() -> None:
    text = str(_summary(Check("boundary", False, 0.01, 1e-5, "a step lowers it", "g.x")))
    assert "NLopt BOBYQA; 42 evaluations; 1 run(s)" in text
    assert "run from start: criterion 123.456, 40 evaluations" in text
    assert "check boundary: FAILED (a step lowers it)" in text
    assert "optimize 2.0 ms" in text


def test_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _summary().n_evaluations = 0  # type: ignore[misc]


def test_a_lazy_message_is_written_when_read_and_when_pickled() -> None:
    import pickle

    calls = []

    def message() -> str:
        calls.append(1)
        return "fine"

    check = Check("gradient", True, 1e-12, 1e-5, message, lambda: "g.x")
    assert not calls
    assert check.message == "fine" and check.term == "g.x"
    restored = pickle.loads(pickle.dumps(check))
    assert (restored.message, restored.term, restored.passed) == ("fine", "g.x", True)
