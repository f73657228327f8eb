"""The criterion at fixed theta against lme4's devfun (``objective_at_theta``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import CASE_NAMES, load_case

import mixedmodels as mm
from mixedmodels.objective.pls import PLSState, select_factor

CASES_WITH_VALUES = [name for name in CASE_NAMES if "objective_at_theta" in load_case(name)]
POINTS = [
    (name, criterion, point)
    for name in CASES_WITH_VALUES
    for criterion in ("REML", "ML")
    for point in ("ones", "half", "hat")
]


@pytest.mark.parametrize(
    ("name", "criterion", "point"), POINTS, ids=[f"{n}-{c}-{p}" for n, c, p in POINTS]
)
def test_objective_at_theta_matches_lme4(name: str, criterion: str, point: str) -> None:
    reference = load_case(name)
    data = mm.datasets.load(reference["dataset"])
    model = mm.LinearMixedModel.from_formula(reference["formula"], data, REML=(criterion == "REML"))
    entry = reference["objective_at_theta"][criterion][point]
    theta = np.atleast_1d(np.asarray(entry["theta"], dtype=float))
    assert model.objective(theta) == pytest.approx(entry["value"], rel=1e-8)


def test_objective_is_one_short_composition() -> None:
    reference = load_case("penicillin_crossed_reml")
    model = mm.LinearMixedModel.from_formula(reference["formula"], mm.datasets.load("Penicillin"))
    theta = np.array([0.7, 2.0])
    model.state.set_theta(theta)
    model.state.update_L()
    assert model.state.objective() == model.objective(theta)


def test_objective_outside_bounds_is_infinite() -> None:
    model = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")
    )
    assert model.objective(np.array([-0.1, 0.0, 1.0])) == np.inf
    with pytest.raises(ValueError, match="theta must have 3"):
        model.objective(np.array([1.0]))


def test_path_selection() -> None:
    sleep = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")
    )
    assert sleep.state.engine.kind == "single"
    pen = mm.LinearMixedModel.from_formula(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", mm.datasets.load("Penicillin")
    )
    assert pen.state.engine.kind == "eliminated"
    with pytest.raises(ValueError, match="one random-effects block"):
        select_factor(pen.blocks, pen.cross, path="single")


def test_evaluate_reuses_the_installed_theta() -> None:
    model = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")
    )
    theta = np.array([1.0, 0.1, 0.3])
    first = model.state.evaluate(theta)
    model.state.set_theta(np.array([0.5, 0.0, 0.5]))
    model.state.update_L()
    assert model.state.evaluate(theta) == first
    assert model.state.evaluate(theta.copy()) == first


def test_triangular_solve_matches_scipy_and_keeps_its_errors() -> None:
    import scipy.linalg

    from mixedmodels.objective.pls import _triangular_solve

    rng = np.random.default_rng(5)
    factor = np.tril(rng.standard_normal((4, 4))) + 4.0 * np.eye(4)
    factor[0, 3] = 99.0  # the upper triangle is never read
    rhs = rng.standard_normal(4)
    for transpose in (False, True):
        expected = scipy.linalg.solve_triangular(
            np.tril(factor), rhs, lower=True, trans="T" if transpose else "N"
        )
        np.testing.assert_allclose(_triangular_solve(factor, rhs, transpose), expected, rtol=1e-14)
    singular = np.tril(factor)
    singular[2, 2] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        _triangular_solve(singular, rhs, transpose=True)


def _crossed_blocked_state() -> PLSState:
    rng = np.random.default_rng(4)
    data = pd.DataFrame(
        {
            "y": rng.normal(size=400),
            "u": rng.integers(0, 30, 400).astype(str),
            "i": rng.integers(0, 20, 400).astype(str),
        }
    )
    model = mm.LinearMixedModel.from_formula("y ~ 1 + (1 | u) + (1 | i)", data, REML=False)
    return PLSState(model.blocks, model.cross, False, path="blocked")


def _snapshot(state: PLSState) -> tuple:
    return (state.logdet(), state.pwrss, state.L_diag[1].to_dense().copy(), state.beta().copy())


def test_keep_best_restores_the_best_factor_without_factoring_again(monkeypatch) -> None:
    state = _crossed_blocked_state()
    thetas = [np.array(t) for t in ([0.5, 0.6], [0.05, 3.0], [2.0, 0.01], [0.4, 0.7])]
    fresh = {}
    for theta in thetas:
        reference = _crossed_blocked_state()
        reference.evaluate(theta)
        fresh[theta.tobytes()] = (reference.evaluate(theta), _snapshot(reference))
    best = min(thetas, key=lambda t: fresh[t.tobytes()][0])
    worst = max(thetas, key=lambda t: fresh[t.tobytes()][0])
    state.keep_best = True
    for theta in [*thetas, worst]:
        state.evaluate(theta)
    assert state.theta.tobytes() != best.tobytes()
    updates = []
    update = state.update_L
    monkeypatch.setattr(state, "update_L", lambda: updates.append(1) or update())
    assert state.evaluate(best) == fresh[best.tobytes()][0]
    assert not updates  # restored, not factored again
    for got, want in zip(_snapshot(state), fresh[best.tobytes()][1], strict=True):
        np.testing.assert_array_equal(got, want)
    # Evaluations after the restore write elsewhere: the kept factor stays intact.
    kept = state.fork()
    kept_values = _snapshot(kept)
    for theta in thetas:
        state.evaluate(theta)
        state.evaluate(theta * 1.01)
    for got, want in zip(_snapshot(kept), kept_values, strict=True):
        np.testing.assert_array_equal(got, want)
    state.forget_best()
    assert state._best is None and not state.keep_best


def test_keep_best_is_off_by_default_and_in_forks() -> None:
    state = _crossed_blocked_state()
    state.evaluate(np.array([0.5, 0.6]))
    assert state._best is None
    state.keep_best = True
    state.evaluate(np.array([0.4, 0.6]))
    assert state._best is not None
    assert not state.fork().keep_best
