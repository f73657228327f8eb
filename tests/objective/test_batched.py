"""The batched single-block criterion against PLSState, point by point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
import mixedmodels.objective.batched as batched
from mixedmodels.objective.batched import BatchedSingleBlock
from mixedmodels.results.refit import ResponseProducts

from ._paths import make_crossed_data
from ._paths import model_of as _model
from ._paths import thetas as _thetas


@pytest.fixture(scope="module")
def crossed_data() -> pd.DataFrame:
    return make_crossed_data()


def _batched(model: mm.LinearMixedModel, responses: np.ndarray) -> BatchedSingleBlock:
    z_y, x_y, y_y = ResponseProducts(model).products(responses)
    return BatchedSingleBlock(model.blocks[0], model.cross, model.reml, z_y[0].T, x_y.T, y_y)


def _compare(model: mm.LinearMixedModel, n_responses: int = 3) -> None:
    """Every (theta, response) pair: criterion, beta and sigma^2 as PLSState's."""
    rng = np.random.default_rng(11)
    y = model.rows.y
    responses = y[:, None] + rng.standard_normal((len(y), n_responses)) * y.std()
    criterion = _batched(model, responses)
    points = np.array(_thetas(model, 4))
    thetas = np.repeat(points, n_responses, axis=0)
    which = np.tile(np.arange(n_responses), len(points))
    solution = criterion.solve(thetas, which)
    refits = ResponseProducts(model).models(responses)
    for index, (theta, column) in enumerate(zip(thetas, which, strict=True)):
        state = refits[column].state
        expected = state.evaluate(theta)
        assert solution.objective[index] == pytest.approx(expected, rel=1e-11)
        np.testing.assert_allclose(solution.beta[index], state.beta(), rtol=1e-9, atol=1e-10)
        assert solution.sigma2[index] == pytest.approx(state.sigma2(), rel=1e-9)
    np.testing.assert_array_equal(criterion.evaluate(thetas, which), solution.objective)


@pytest.mark.parametrize("reml", [True, False], ids=["reml", "ml"])
@pytest.mark.parametrize(
    "formula",
    ["Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"],
    ids=["p1", "p2"],
)
def test_batched_matches_pls_state_on_sleepstudy(formula: str, reml: bool) -> None:
    _compare(_model(formula, mm.datasets.load("sleepstudy"), REML=reml))


def test_batched_general_p(crossed_data) -> None:
    _compare(_model("y ~ x + (x + z | g1)", crossed_data))


def test_batched_uncorrelated_terms_and_weights(crossed_data) -> None:
    _compare(_model("y ~ x + (x || g1)", crossed_data, weights="w"))


def test_batched_passes_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Splitting the points into passes (memory bound) changes no value."""
    model = _model("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    responses = np.repeat(model.rows.y[:, None], 2, axis=1)
    criterion = _batched(model, responses)
    thetas = np.array(_thetas(model, 5))
    which = np.arange(5) % 2
    whole = criterion.solve(thetas, which)
    monkeypatch.setattr(batched, "ELEMENTS_PER_PASS", 1)
    parts = criterion.solve(thetas, which)
    np.testing.assert_array_equal(whole.objective, parts.objective)
    np.testing.assert_array_equal(whole.beta, parts.beta)
    assert criterion.solve(thetas[:0], which[:0]).objective.shape == (0,)


def test_batched_needs_one_block() -> None:
    model = _model("diameter ~ 1 + (1 | plate) + (1 | sample)", mm.datasets.load("Penicillin"))
    with pytest.raises(ValueError, match="exactly one"):
        BatchedSingleBlock(
            model.blocks[0], model.cross, True, np.zeros((1, 24)), np.zeros((1, 1)), np.ones(1)
        )
