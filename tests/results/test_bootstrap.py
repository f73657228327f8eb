"""simulate and the parametric bootstrap: correctness of the refit path, and validity against
lme4's bootMer (tests/reference/bootstrap, made by tools/make_bootstrap_reference.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import fit_formula

import mixedmodels as mm
from mixedmodels.errors import ArgumentError
from mixedmodels.optim.optimizer import minimize_bounded
from mixedmodels.results.bootstrap import order_statistic_quantiles

BOOTMER = Path(__file__).parents[1] / "reference" / "bootstrap" / "sleepstudy_bootmer.json"
QUANTILES = Path(__file__).parents[1] / "reference" / "bootstrap" / "boot_quantiles.json"
SLEEP = ("sleepstudy", "Reaction ~ Days + (Days | Subject)")


def test_simulate_is_reproducible_and_has_the_model_moments() -> None:
    fit = fit_formula(*SLEEP)
    first = fit.simulate(3, seed=11)
    assert first.shape == (180, 3) and list(first.columns) == ["sim_1", "sim_2", "sim_3"]
    assert first.equals(fit.simulate(3, seed=11))
    assert not first.equals(fit.simulate(3, seed=12))
    draws = fit.simulate(4000, seed=1).to_numpy()
    X = fit.model.rows.X
    # Mean X beta; marginal variance sigma^2 + z' Sigma_b z per row (Subject block).
    mean_error = np.abs(draws.mean(axis=1) - X @ fit.fe_params.to_numpy())
    covariance = fit.term_covariances()[0][3]
    z = fit.model.blocks[0].z
    variance = fit.scale + np.einsum("ij,jk,ik->i", z, covariance, z)
    assert np.all(mean_error < 5 * np.sqrt(variance / 4000))
    relative = draws.var(axis=1, ddof=1) / variance - 1
    assert np.all(np.abs(relative) < 5 * np.sqrt(2 / 4000))


def test_a_replicate_is_a_full_refit_of_its_response() -> None:
    fit = fit_formula(*SLEEP)
    boot = fit.bootstrap(3, seed=5)
    responses = fit.simulate(3, seed=5)
    data = mm.datasets.load("sleepstudy")
    for replicate in range(3):
        copy = data.copy()
        copy["Reaction"] = responses.iloc[:, replicate].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = mm.lmer(SLEEP[1], copy)
        row = boot.table.iloc[replicate]
        assert row["logLik"] == pytest.approx(direct.llf, rel=1e-9)
        for name, value in direct.fe_params.items():
            assert row[name] == pytest.approx(value, rel=1e-6)
        assert row["sigma"] == pytest.approx(direct.sigma, rel=1e-5)


def _independent_refit(response: np.ndarray):
    """lmer on the simulated response (parsed and built again), its optimum polished."""
    copy = mm.datasets.load("sleepstudy")
    copy["Reaction"] = response
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = mm.lmer(SLEEP[1], copy)
    model = direct.model
    polished = minimize_bounded(
        model.objective,
        direct.theta,
        model.lower_bounds,
        scale=model.theta_scale,
        xtol_abs=1e-10,
        ftol_abs=1e-14,
        initial_step=0.01,
    )
    return direct, polished


def test_replicates_reach_the_optimum_of_independent_full_refits() -> None:
    """A sample of replicates, from both refit paths (batched Newton and, for the
    replicates it hands back, the fit's checked BOBYQA), against lmer on the same
    simulated response: logLik to 1e-6 relative of lmer's fit (and never below
    it), theta to 1e-6 relative (max norm) of lmer's optimum where the optimum is
    inside the bounds (near a bound, 1e-4: see below). lmer's own stop
    (BOBYQA, ``xtol_abs = 1e-5`` in the scaled theta) leaves its theta up to about
    1e-5 relative from the optimum, so for theta its optimum is first polished by
    a tight BOBYQA run (``xtol_abs = 1e-10``)."""
    fit = fit_formula(*SLEEP)
    boot = fit.bootstrap(200, seed=6, progress=False)
    assert boot.convergence["converged"].all()
    methods = boot.convergence["method"]
    sample = [*np.flatnonzero(methods == "newton")[:8], *np.flatnonzero(methods == "bobyqa")[:3]]
    assert (methods[sample] == "bobyqa").any()  # the sample covers both paths
    responses = fit.simulate(200, seed=6)
    thetas = ["theta1", "theta2", "theta3"]
    for replicate in sample:
        direct, polished = _independent_refit(responses.iloc[:, replicate].to_numpy())
        row = boot.table.iloc[replicate]
        assert row["logLik"] == pytest.approx(direct.llf, rel=1e-6)
        assert row["logLik"] >= direct.llf - 1e-9 * abs(direct.llf)
        assert row["logLik"] == pytest.approx(-0.5 * polished.objective, rel=1e-9)
        # Wald standard errors (the studentized interval's) as the refit's, at its
        # polished optimum.
        state = direct.model.state.fork()
        state.evaluate(polished.theta)
        errors = np.sqrt(state.sigma2() * np.diagonal(state.fixed_covariance_unscaled()))
        got = boot.standard_errors.iloc[replicate][list(direct.bse_fe.index)].to_numpy(float)
        np.testing.assert_allclose(got, errors, rtol=1e-6)
        theta = row[thetas].to_numpy(dtype=float)
        error = np.abs(theta - polished.theta).max() / np.abs(polished.theta).max()
        # The handed-back replicates are singular or nearly so: next to the bound
        # the criterion changes by about its round-off (1e-12) over the first few
        # 1e-6 of theta3, so theta is determined only to about that there (their
        # logLik still agrees to 1e-9).
        tolerance = 1e-6 if methods[replicate] == "newton" else 1e-4
        assert error < tolerance, (replicate, methods[replicate], theta, polished.theta)


def test_bootstrap_is_reproducible_and_has_the_lme4_columns() -> None:
    fit = fit_formula(*SLEEP)
    a = fit.bootstrap(20, seed=3, progress=False)
    b = fit.bootstrap(8, seed=3, progress=False)
    assert np.array_equal(a.table.to_numpy()[:8], b.table.to_numpy())
    assert list(a.table.columns) == [
        "(Intercept)",
        "Days",
        "sd_(Intercept)|Subject",
        "cor_Days.(Intercept)|Subject",
        "sd_Days|Subject",
        "sigma",
        "theta1",
        "theta2",
        "theta3",
        "logLik",
    ]
    intervals = a.confint()
    assert list(intervals.columns) == ["2.5 %", "97.5 %"]
    assert list(intervals.index) == a.parameters
    assert (intervals["2.5 %"] <= intervals["97.5 %"]).all()
    via_confint = fit.confint(method="boot", nsim=20, seed=3)
    assert via_confint.equals(intervals)


def test_studentized_interval_is_the_bootstrap_t() -> None:
    fit = fit_formula(*SLEEP)
    boot = fit.bootstrap(60, seed=4, progress=False)
    intervals = boot.confint(level=0.9, method="studentized")
    assert list(intervals.index) == list(fit.fe_params.index)
    assert list(intervals.columns) == ["5 %", "95 %"]
    for name in intervals.index:
        pivots = (boot.table[name] - fit.fe_params[name]) / boot.standard_errors[name]
        low, high = order_statistic_quantiles(pivots.to_numpy(), np.array([0.05, 0.95]))
        expected = [
            fit.fe_params[name] - high * fit.bse_fe[name],
            fit.fe_params[name] - low * fit.bse_fe[name],
        ]
        np.testing.assert_allclose(intervals.loc[name].to_numpy(), expected, rtol=1e-12)
    assert boot.confint().shape[0] == len(boot.parameters)  # percentile stays the default


@pytest.mark.parametrize("case", range(4), ids=["B10", "B39", "B200", "B999"])
def test_order_statistic_quantiles_are_boot_cis(case: int) -> None:
    """boot's norm.inter (the quantiles of boot.ci, so of lme4's confint(method="boot")),
    tools/make_boot_quantile_reference.R; extreme probabilities take the extreme values."""
    reference = json.loads(QUANTILES.read_text())["cases"][case]
    got = order_statistic_quantiles(
        np.array(reference["values"]), np.array(reference["probabilities"])
    )
    np.testing.assert_allclose(got, reference["quantiles"], rtol=1e-13, atol=1e-15)


def test_percentile_interval_uses_boots_rule_unless_asked() -> None:
    fit = fit_formula(*SLEEP)
    boot = fit.bootstrap(40, seed=9, progress=False)
    default = boot.confint()
    for name in boot.parameters:
        expected = order_statistic_quantiles(boot.table[name].to_numpy(), np.array([0.025, 0.975]))
        np.testing.assert_allclose(default.loc[name].to_numpy(), expected, rtol=1e-14)
    linear = boot.confint(quantile="linear")
    np.testing.assert_allclose(
        linear.to_numpy(), boot.table[boot.parameters].quantile([0.025, 0.975]).to_numpy().T
    )
    # Fewer replicates than the tail needs: boot's rule takes the extremes.
    assert (default["2.5 %"] <= linear["2.5 %"]).all()
    with pytest.raises(ArgumentError, match="'boot' or 'linear'"):
        boot.confint(quantile="type7")


def test_bootstrap_bad_arguments() -> None:
    fit = fit_formula(*SLEEP)
    with pytest.raises(ArgumentError, match="positive integer"):
        fit.bootstrap(0)
    with pytest.raises(ArgumentError, match="positive integer"):
        fit.simulate(2.5)
    with pytest.raises(ArgumentError, match="level"):
        fit.bootstrap(5, seed=1).confint(level=95)
    with pytest.raises(ArgumentError, match="'percentile' or 'studentized'"):
        fit.bootstrap(5, seed=1).confint(method="bca")


def test_bootstrap_of_a_crossed_model_runs_and_is_centred() -> None:
    fit = fit_formula("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = fit.bootstrap(40, seed=2)
    assert boot.table["(Intercept)"].mean() == pytest.approx(
        fit.fe_params["(Intercept)"], abs=4 * boot.table["(Intercept)"].std() / np.sqrt(40)
    )


def test_bootstrap_sds_agree_with_bootmer() -> None:
    """2,000 replicates each; the SDs of the fixed effects (and sigma) agree with lme4's
    bootMer within 3.5 combined Monte Carlo standard errors of a sample SD
    (``sd * sqrt((kurtosis - 1) / (4 n))`` for each side)."""
    reference = json.loads(BOOTMER.read_text())
    fit = fit_formula(*SLEEP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = fit.bootstrap(reference["nsim"], seed=20261130, progress=False)
    pairs = {"(Intercept)": "(Intercept)", "Days": "Days", "sigma": "sigma"}
    for ours, theirs in pairs.items():
        values = boot.table[ours].to_numpy()
        sd = values.std(ddof=1)
        kurtosis = np.mean((values - values.mean()) ** 4) / values.var() ** 2
        mc_se = sd * np.sqrt((kurtosis - 1) / (4 * len(values)))
        bound = 3.5 * np.hypot(mc_se, reference["mc_se"][theirs])
        assert abs(sd - reference["sd"][theirs]) < bound, (ours, sd, reference["sd"][theirs])


def test_progress_bar_is_shown_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    fit = fit_formula(*SLEEP)
    fit.bootstrap(3, seed=1, progress=True)
    assert "bootstrap" in capsys.readouterr().err
    fit.bootstrap(3, seed=1, progress=False)
    assert "bootstrap" not in capsys.readouterr().err
