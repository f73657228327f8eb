"""``MixedLM.loglike``/``score``/``hessian``/``get_distribution``/``fit_regularized``.

The log-likelihood is checked against statsmodels' own at the same parameters (both
``profile_fe`` settings, REML and ML); the numerical score and Hessian against
statsmodels' analytic ones.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest

from mixedmodels.api import MixedLM, MixedLMParams

statsmodels_mixed = pytest.importorskip("statsmodels.regression.mixed_linear_model")
penalties = pytest.importorskip("statsmodels.base._penalties")


@cache
def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    groups = np.repeat(np.arange(40), 6)
    exog = np.column_stack([np.ones(240), rng.normal(size=(240, 2))])
    exog_re = np.column_stack([np.ones(240), rng.normal(size=240)])
    slopes = rng.normal(size=(40, 2)) * [1.0, 0.5]
    endog = exog @ [1.0, 0.5, -0.5] + (slopes[groups] * exog_re).sum(1) + rng.normal(size=240)
    return {"endog": endog, "exog": exog, "groups": groups, "exog_re": exog_re}


def _models(reml: bool, use_sqrt: bool) -> tuple[MixedLM, object]:
    ours = MixedLM(**_arrays(), use_sqrt=use_sqrt)
    theirs = statsmodels_mixed.MixedLM(**_arrays(), use_sqrt=use_sqrt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(reml=reml)
        theirs.fit(reml=reml)
    return ours, theirs


def _point() -> MixedLMParams:
    """A fresh parameter point (statsmodels' loglike may overwrite fe_params in place)."""
    return MixedLMParams.from_components(
        np.array([0.9, 0.4, -0.6]), cov_re=np.array([[0.8, 0.1], [0.1, 0.3]])
    )


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("profile_fe", [True, False], ids=["profile_fe", "given_fe"])
def test_loglike_equals_statsmodels(reml: bool, profile_fe: bool) -> None:
    ours, theirs = _models(reml, use_sqrt=True)
    mine = ours.loglike(_point(), profile_fe=profile_fe)
    assert mine == pytest.approx(theirs.loglike(_point(), profile_fe=profile_fe), rel=1e-10)


@pytest.mark.parametrize("use_sqrt", [True, False], ids=["sqrt", "natural"])
@pytest.mark.parametrize("profile_fe", [True, False], ids=["profile_fe", "given_fe"])
def test_score_equals_statsmodels_analytic(use_sqrt: bool, profile_fe: bool) -> None:
    ours, theirs = _models(True, use_sqrt)
    mine = ours.score(_point(), profile_fe=profile_fe)
    reference = theirs.score(_point(), profile_fe=profile_fe)
    assert np.abs(reference).max() > 1.0  # not at a stationary point
    np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-7 * np.abs(reference).max())


def test_hessian_equals_statsmodels_analytic_at_the_estimate() -> None:
    """statsmodels' analytic Hessian is that of its log-likelihood at the estimate only."""
    ours, theirs = _models(True, use_sqrt=False)
    estimate = ours.fit().params_object
    mine, singular = ours.hessian(estimate)
    reference, _ = theirs.hessian(estimate.copy())
    assert not singular
    np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-6 * np.abs(reference).max())


def test_get_distribution_simulates_the_model_variance() -> None:
    ours, _ = _models(True, use_sqrt=True)
    point = _point()
    params = point.get_packed(use_sqrt=False, has_fe=True)
    draws = np.array([ours.get_distribution(params, 2.0).rvs(0, rng=seed) for seed in range(400)])
    exog_re = _arrays()["exog_re"]
    expected = (exog_re @ (2.0 * point.cov_re) * exog_re).sum(1) + 2.0
    np.testing.assert_allclose(draws.var(axis=0).mean(), expected.mean(), rtol=0.05)
    deviation = draws.mean(axis=0) - _arrays()["exog"] @ point.fe_params
    assert np.abs(deviation).mean() < 0.15  # the standard error of each mean is about 0.1


def test_fit_regularized_l1_shrinks_and_zero_penalty_is_the_fit() -> None:
    model = MixedLM(**_arrays())
    fit = model.fit()
    unpenalised = model.fit_regularized(alpha=0.0)
    np.testing.assert_allclose(unpenalised.fe_params, fit.fe_params, rtol=1e-8)
    heavy = model.fit_regularized(alpha=np.array([0.0, 1e6, 0.0]))
    assert heavy.fe_params[1] == 0.0 and np.isnan(heavy.bse_fe[1])
    light = model.fit_regularized(alpha=20.0)
    assert np.all(np.abs(light.fe_params) <= np.abs(fit.fe_params) + 1e-12)
    ridge = model.fit_regularized(method=penalties.L2(), alpha=5.0)
    assert np.linalg.norm(ridge.fe_params) < np.linalg.norm(fit.fe_params)
    assert "Mixed Linear Model" in ridge.summary().as_text()


def test_get_distribution_of_a_model_with_only_variance_components() -> None:
    """statsmodels' simulator multiplies ``exog_re``: it has no columns here, not None."""
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(40), 5)
    vc = {"a": {label: np.ones((5, 1)) for label in range(40)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = MixedLM(rng.normal(size=200), np.ones((200, 1)), labels, exog_vc=vc)
    assert model.exog_re.shape == (200, 0)
    draws = np.array(
        [model.get_distribution(np.r_[1.0, 3.0], 2.0).rvs(0, rng=s) for s in range(300)]
    )
    # y = 1 + a_g + e: variance 2 * 3 + 2 = 8, rows of a group correlated by 6 / 8
    np.testing.assert_allclose(draws.var(axis=0).mean(), 8.0, rtol=0.1)
    np.testing.assert_allclose(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1], 0.75, atol=0.1)
