"""The eliminated-first-block factorisation against the general blocked factor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_case

import mixedmodels as mm

from ._paths import compare as _compare
from ._paths import make_crossed_data
from ._paths import model_of as _model
from ._paths import thetas as _thetas


@pytest.fixture(scope="module")
def crossed_data() -> pd.DataFrame:
    return make_crossed_data()


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


def test_weighted_paths_agree(crossed_data) -> None:
    _compare(
        _model("y ~ x + (x | g1) + (1 | g2)", crossed_data, weights="w"), ("eliminated", "blocked")
    )


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + (1 | g1) + (1 | g2)",
        "y ~ x + (x | g1) + (1 | g2)",
        "y ~ x + (1 | g1) + (x | g2)",
        "y ~ x + (1 | g1) + (x || g2)",
    ],
)
def test_dense_and_sparse_operators_agree(formula: str, crossed_data) -> None:
    _compare(_model(formula, crossed_data), ("eliminated_sparse", "eliminated_dense"))


def test_small_split_plot_uses_the_dense_operator() -> None:
    rng = np.random.default_rng(5)
    block = np.repeat(np.arange(6), 12)
    variety = np.tile(np.repeat(np.arange(3), 4), 6)
    date = np.tile(np.arange(4), 18)
    data = pd.DataFrame(
        {
            "y": rng.standard_normal(72) + rng.standard_normal(6)[block],
            "block": pd.Categorical(block),
            "variety": pd.Categorical(variety),
            "date": pd.Categorical(date),
        }
    )
    model = _model("y ~ date * variety + (1 | block/variety)", data)
    assert model.state.engine.kind == "eliminated"
    assert type(model.state.engine.operator).__name__ == "DensePairOperator"
    _compare(model, ("eliminated_sparse", "eliminated", "blocked"))


@pytest.mark.parametrize("path", ["eliminated_sparse", "eliminated_dense"])
@pytest.mark.parametrize("formula", ["y ~ x + (1 | g1) + (1 | g2)", "y ~ x + (1 | g1) + (x | g2)"])
def test_fixed_factor_is_lower_triangular(formula: str, path: str, crossed_data) -> None:
    from mixedmodels.objective.pls import PLSState

    model = _model(formula, crossed_data)
    state = PLSState(model.blocks, model.cross, model.reml, path=path)
    for theta in _thetas(model):
        state.evaluate(theta)
        assert not np.triu(state.L_X, 1).any()
        assert np.all(np.diagonal(state.L_X) > 0)
        # The engine's log|L_X|^2, taken with the factor, is the one of L_X.
        assert state.engine.logdet_fixed is not None
        assert state.logdet_fixed() == pytest.approx(
            2.0 * np.log(np.diagonal(state.L_X)).sum(), rel=1e-13
        )
