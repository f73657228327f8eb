"""The three factorisation paths give the same criterion and solutions.

``single`` (one grouping factor, closed form), ``eliminated`` (first block
eliminated, the rest one dense matrix) and ``blocked`` (the general block by
block factor) are different algorithms for the same numbers; each is checked
against the others on the reference data and on synthetic designs that reach
their special cases (p0 = 2 and 3 first blocks, correlated slopes on a later
factor, nested factors, weights).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_case

import mixedmodels as mm
from mixedmodels.objective.pls import PLSState, select_factor


def _model(formula: str, data: pd.DataFrame, **kwargs) -> mm.LinearMixedModel:
    return mm.LinearMixedModel.from_formula(formula, data, **kwargs)


def _thetas(model: mm.LinearMixedModel, count: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    points = []
    for _ in range(count):
        theta = rng.uniform(0.05, 2.0, model.n_theta)
        free = ~np.isfinite(model.lower_bounds)
        theta[free] = rng.uniform(-0.5, 0.5, free.sum())
        points.append(theta / model.theta_scale)
    return points


def _compare(model: mm.LinearMixedModel, paths: tuple[str, ...]) -> None:
    states = [PLSState(model.blocks, model.cross, model.reml, path=path) for path in paths]
    for theta in _thetas(model):
        values = [state.evaluate(theta) for state in states]
        np.testing.assert_allclose(values, values[0], rtol=1e-10)
        betas = [state.beta() for state in states]
        for beta in betas[1:]:
            np.testing.assert_allclose(beta, betas[0], rtol=1e-8, atol=1e-10)
        modes = [state.conditional_modes() for state in states]
        for other in modes[1:]:
            for got, want in zip(other, modes[0], strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
        dense = [state.random_lower_dense() for state in states if model.cross.n_obs < 5000]
        for other in dense[1:]:
            np.testing.assert_allclose(other @ other.T, dense[0] @ dense[0].T, atol=1e-8)


@pytest.fixture(scope="module")
def crossed_data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    g1 = rng.integers(0, 40, n)
    g2 = rng.integers(0, 12, n)
    x = rng.standard_normal(n)
    z = rng.standard_normal(n)
    u1 = rng.standard_normal((40, 3)) * [1.0, 0.5, 0.3]
    u2 = rng.standard_normal((12, 2)) * [0.7, 0.4]
    y = 1 + 0.5 * x + u1[g1, 0] + u1[g1, 1] * x + u1[g1, 2] * z + u2[g2, 0] + u2[g2, 1] * x
    y = y + rng.standard_normal(n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "z": z,
            "w": rng.uniform(0.5, 2.0, n),
            "g1": pd.Categorical(g1),
            "g2": pd.Categorical(g2),
        }
    )


@pytest.mark.parametrize(
    "name",
    ["sleepstudy_rs_reml", "sleepstudy_indep_reml", "dyestuff_reml", "sitka_rs_reml"],
)
def test_single_block_matches_blocked(name: str) -> None:
    reference = load_case(name)
    model = _model(reference["formula"], mm.datasets.load(reference["dataset"]))
    assert model.state.engine.kind == "single"
    _compare(model, ("single", "blocked"))


@pytest.mark.parametrize("name", ["penicillin_crossed_reml", "insteval_crossed_ml"])
def test_eliminated_matches_blocked_on_crossed_references(name: str) -> None:
    reference = load_case(name)
    model = _model(
        reference["formula"], mm.datasets.load(reference["dataset"]), REML=reference["REML"]
    )
    assert model.state.engine.kind == "eliminated"
    _compare(model, ("eliminated", "blocked"))


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + (1 | g1) + (1 | g2)",
        "y ~ x + (x | g1) + (1 | g2)",  # p0 = 2
        "y ~ x + (x + z | g1) + (1 | g2)",  # p0 = 3, general batched path
        "y ~ x + (1 | g1) + (x | g2)",  # correlated T on the later block: congruence
        "y ~ x + (1 | g1) + (x || g2)",  # diagonal T on the later block: folded scales
        "y ~ x + (x | g1) + (x | g2)",
    ],
)
def test_eliminated_matches_blocked_on_special_cases(formula: str, crossed_data) -> None:
    model = _model(formula, crossed_data)
    _compare(model, ("eliminated", "blocked"))


def test_single_general_p_matches_blocked(crossed_data) -> None:
    model = _model("y ~ x + (x + z | g1)", crossed_data)
    _compare(model, ("single", "blocked"))


def test_weighted_paths_agree(crossed_data) -> None:
    _compare(
        _model("y ~ x + (x | g1) + (1 | g2)", crossed_data, weights="w"), ("eliminated", "blocked")
    )
    _compare(_model("y ~ x + (x | g1)", crossed_data, weights="w"), ("single", "blocked"))


def test_nested_design_paths_agree() -> None:
    rng = np.random.default_rng(11)
    schools, per_school, pupils = 30, 4, 8
    school = np.repeat(np.arange(schools), per_school * pupils)
    klass = np.repeat(np.arange(schools * per_school), pupils)
    y = rng.standard_normal(schools)[school] + rng.standard_normal(schools * per_school)[klass]
    data = pd.DataFrame(
        {
            "y": y + rng.standard_normal(len(school)),
            "school": pd.Categorical(school),
            "klass": pd.Categorical(klass),
        }
    )
    model = _model("y ~ 1 + (1 | school) + (1 | klass)", data)
    _compare(model, ("eliminated", "blocked"))


def test_path_selection() -> None:
    sleep = _model("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    assert sleep.state.engine.kind == "single"
    pen = _model("diameter ~ 1 + (1 | plate) + (1 | sample)", mm.datasets.load("Penicillin"))
    assert pen.state.engine.kind == "eliminated"
    with pytest.raises(ValueError, match="one random-effects block"):
        select_factor(pen.blocks, pen.cross, path="single")


def test_large_nested_design_uses_blocked_factor() -> None:
    rng = np.random.default_rng(5)
    groups, per_group = 1500, 2
    outer = np.repeat(np.arange(groups), per_group * 3)
    inner = np.repeat(np.arange(groups * per_group), 3)
    data = pd.DataFrame(
        {
            "y": rng.standard_normal(len(outer)),
            "outer": pd.Categorical(outer),
            "inner": pd.Categorical(inner),
        }
    )
    model = _model("y ~ 1 + (1 | outer) + (1 | inner)", data)
    # The remaining 1500-level block stays block diagonal: no dense 1500 x 1500 factor.
    assert model.state.engine.kind == "blocked"
    _compare(model, ("blocked",))


def test_evaluate_reuses_the_installed_theta() -> None:
    model = _model("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    theta = np.array([1.0, 0.1, 0.3])
    first = model.state.evaluate(theta)
    model.state.set_theta(np.array([0.5, 0.0, 0.5]))
    model.state.update_L()
    assert model.state.evaluate(theta) == first
    assert model.state.evaluate(theta.copy()) == first
