"""The Factorization interface: fixed part from the Schur complement, independent forks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.objective.factorization import Factorization, fixed_from_schur
from mixedmodels.objective.pls import PLSState

from ._paths import make_crossed_data, thetas
from ._paths import model_of as _model


def test_fixed_from_schur_is_the_cholesky_factor() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 4))
    schur = a.T @ a
    L_X, c_X, pwrss = fixed_from_schur(schur, 3)
    full = np.linalg.cholesky(schur)
    np.testing.assert_allclose(np.tril(L_X), full[:3, :3], rtol=1e-12)
    np.testing.assert_allclose(c_X, full[3, :3], rtol=1e-12)
    assert pwrss == pytest.approx(full[3, 3] ** 2, rel=1e-12)


def test_fixed_from_schur_exact_fit_has_zero_pwrss() -> None:
    x = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    xy = np.column_stack([x, x @ [2.0, 3.0]])
    _, _, pwrss = fixed_from_schur(xy.T @ xy, 2)
    assert pwrss == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("path", ["single", "eliminated", "blocked"])
def test_a_fork_keeps_its_factor_when_the_original_moves(path: str) -> None:
    data: pd.DataFrame = make_crossed_data()
    formula = "y ~ x + (x | g1)" if path == "single" else "y ~ x + (x | g1) + (1 | g2)"
    model = _model(formula, data)
    state = PLSState(model.blocks, model.cross, model.reml, path=path)
    assert isinstance(state.engine, Factorization)
    first, second = thetas(model, 2)
    fresh = PLSState(model.blocks, model.cross, model.reml, path=path)
    fresh.evaluate(first)
    modes = fresh.conditional_modes()
    value = state.evaluate(first)
    fork = state.fork()
    state.evaluate(second)
    state.conditional_modes()
    for got, want in zip(fork.conditional_modes(), modes, strict=True):
        np.testing.assert_array_equal(got, want)
    assert fork.evaluate(first) == value
    assert fork.objective() == value


def test_fork_switches_the_criterion_only() -> None:
    model = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")
    )
    theta = np.array([0.9, 0.0, 0.2])
    ml_model = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"), REML=False
    )
    model.objective(theta)
    assert model.state.fork(reml=False).evaluate(theta) == ml_model.objective(theta)
