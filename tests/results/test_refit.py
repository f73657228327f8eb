"""Refits on a built model (``results/refit.py``): ML refits and new responses."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import DataError
from mixedmodels.model import LinearMixedModel
from mixedmodels.results.refit import ResponseProducts, model_with_response, refit_ml

FORMULA = "Reaction ~ Days + (Days | Subject)"
CROSSED = "diameter ~ 1 + (1 | plate) + (1 | sample)"


@pytest.fixture(scope="module")
def sleep():
    return mm.datasets.load("sleepstudy")


def _weights_and_offset(n_obs: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.uniform(0.5, 2.0, n_obs), rng.normal(0.0, 5.0, n_obs)


# ------------------------------------------------------------------ refit_ml
def test_refit_ml_is_the_ml_fit(sleep) -> None:
    reml = mm.lmer(FORMULA, sleep)
    refit = refit_ml(reml)
    direct = mm.lmer(FORMULA, sleep, REML=False)
    assert not refit.reml
    assert refit.llf == pytest.approx(direct.llf, rel=1e-9)
    np.testing.assert_allclose(refit.theta, direct.theta, rtol=1e-4)
    np.testing.assert_allclose(refit.fe_params, direct.fe_params, rtol=1e-6)


def test_refit_ml_leaves_the_reml_fit_and_its_model_as_they_were(sleep) -> None:
    reml = mm.lmer(FORMULA, sleep)
    llf, theta = reml.llf, reml.theta.copy()
    criterion = reml.model.objective(reml.theta)
    refit_ml(reml)
    assert reml.model.reml
    assert reml.llf == llf
    np.testing.assert_array_equal(reml.theta, theta)
    assert reml.model.objective(reml.theta) == criterion


def test_refit_ml_of_an_ml_fit_is_that_fit(sleep) -> None:
    ml = mm.lmer(FORMULA, sleep, REML=False)
    assert refit_ml(ml) is ml


# ------------------------------------------------------------------ new responses
@pytest.mark.parametrize("formula", [FORMULA, CROSSED], ids=["slopes", "crossed"])
def test_new_responses_give_the_cross_products_of_a_model_built_on_them(formula: str) -> None:
    data = mm.datasets.load("sleepstudy" if formula == FORMULA else "Penicillin")
    response = formula.split(" ~")[0]
    weights, offset = _weights_and_offset(len(data))
    model = LinearMixedModel.from_formula(formula, data, weights=weights, offset=offset)
    rng = np.random.default_rng(11)
    responses = data[response].to_numpy()[:, None] + rng.normal(0.0, 10.0, (len(data), 3))
    for column, refit in enumerate(ResponseProducts(model).models(responses)):
        built = LinearMixedModel.from_formula(
            formula, data.assign(**{response: responses[:, column]}), weights=weights, offset=offset
        )
        np.testing.assert_allclose(refit.cross.xy_xy, built.cross.xy_xy, rtol=1e-12)
        for mine, theirs in zip(refit.cross.xy_z, built.cross.xy_z, strict=True):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(refit.rows.y, responses[:, column])
        theta = model.initial_theta() * 0.7
        assert refit.objective(theta) == pytest.approx(built.objective(theta), rel=1e-12)


def test_new_responses_share_the_random_effects_blocks_and_leave_the_model(sleep) -> None:
    model = LinearMixedModel.from_formula(FORMULA, sleep)
    xy_xy, y = model.cross.xy_xy.copy(), model.rows.y.copy()
    (refit,) = ResponseProducts(model).models(np.ones((len(sleep), 1)))
    assert refit.cross.diagonal is model.cross.diagonal
    assert refit.cross.off_diagonal is model.cross.off_diagonal
    assert refit.state is not model.state
    np.testing.assert_array_equal(model.cross.xy_xy, xy_xy)
    np.testing.assert_array_equal(model.rows.y, y)


def test_refits_fit_as_fresh_fits(sleep) -> None:
    model = LinearMixedModel.from_formula(FORMULA, sleep)
    new_y = sleep["Reaction"].to_numpy() * 0.5 + 10.0
    (refit,) = ResponseProducts(model).models(new_y[:, None])
    direct = mm.lmer(FORMULA, sleep.assign(Reaction=new_y))
    assert refit.fit().llf == pytest.approx(direct.llf, rel=1e-9)


def test_model_with_response_keeps_the_reml_flag_and_gets_its_own_state(sleep) -> None:
    model = LinearMixedModel.from_formula(FORMULA, sleep, REML=False)
    clone = model_with_response(model, model.cross, sleep["Reaction"].to_numpy())
    assert not clone.reml
    assert clone.state is not model.state
    theta = model.initial_theta()
    assert clone.objective(theta) == model.objective(theta)


def test_new_responses_need_the_rows(sleep) -> None:
    built = LinearMixedModel.from_formula(FORMULA, sleep)
    rowless = LinearMixedModel.from_cross_products(
        built.cross, built.design.terms, built.fixed_names
    )
    with pytest.raises(DataError, match="row data"):
        ResponseProducts(rowless)
