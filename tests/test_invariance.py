"""Invariances of the fit (issue 4, items 6 and 7), as hypothesis property tests.

The fit must not change with the order of the rows, a relabelling of the
levels, or the type of the group labels (int, float, str, mixed). Scaling the
response by ``c`` moves the REML log-likelihood by exactly ``-(n - p) log|c|``
and scales the fixed effects by ``c`` (variances by ``c^2``); scaling a
covariate by ``c`` divides its coefficient by ``c`` (and moves the REML
log-likelihood by ``-log|c|``, the change of ``log|X'V^-1X|``; ML is unchanged).

Tolerances: log-likelihood 1e-8 relative (as the issue asks); fixed effects
1e-4 of their standard error; variance components 1e-3 of the residual
variance. The last two are the optimiser's precision along flat directions of
the criterion, measured at about a tenth of these bounds on 900 fits.

The hypothesis tests run with a derandomised profile (``ci``), so CI always
runs the same examples; data sets are small (at most 10 groups of 8 rows) so
that each fit takes milliseconds.

The hard cases (:func:`test_hard_case_agreement`) check that two starting
points and a second optimiser (scipy's bounded Powell on the same criterion)
reach the same optimum within 1e-6 in log-likelihood.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
from conftest import load_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixedmodels as mm
from mixedmodels.errors import MixedModelsWarning
from mixedmodels.model import LinearMixedModel

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CI = settings.get_profile("ci")

LLF_RTOL = 1e-8
FE_SE_TOL = 1e-4
VC_TOL = 1e-3


def make_data(seed: int, slope: bool) -> pd.DataFrame:
    """Small random-intercept (and slope) data; sizes and scales come from the seed.

    Random-intercept data: 3 to 8 groups of 3 to 6 rows, intercept SD from 0
    (boundary fits included) to 2. Random-slope data: 5 to 10 groups of 4 to 8
    rows with a slope SD of at least 0.3, so that the optimum is determined; on
    smaller slope designs the criterion can be flat to 1e-5 along a ridge or
    have two local optima, which tests the optimiser rather than the
    invariances (see :data:`KNOWN_LOCAL_OPTIMA`).
    """
    rng = np.random.default_rng(seed)
    if slope:
        n_groups, per_group = int(rng.integers(5, 11)), int(rng.integers(4, 9))
        sd_intercept, sd_slope = rng.uniform(0.5, 2.0), rng.uniform(0.3, 1.0)
    else:
        n_groups, per_group = int(rng.integers(3, 9)), int(rng.integers(3, 7))
        sd_intercept, sd_slope = rng.uniform(0.0, 2.0), 0.0
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size) * rng.uniform(0.5, 3.0)
    b0 = rng.normal(size=n_groups) * sd_intercept
    b1 = rng.normal(size=n_groups) * sd_slope
    y = 1.0 + 0.5 * x + b0[g] + b1[g] * x + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def make_tiny_slope_data(seed: int) -> pd.DataFrame:
    """The first generator's random-slope data (3 to 8 groups of 3 to 6 rows)."""
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(3, 9))
    per_group = int(rng.integers(3, 7))
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size) * rng.uniform(0.5, 3.0)
    b0 = rng.normal(size=n_groups) * rng.uniform(0.0, 2.0)
    b1 = rng.normal(size=n_groups) * rng.uniform(0.0, 1.0)
    y = 1.0 + 0.5 * x + b0[g] + b1[g] * x + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g})


@st.composite
def designs(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    seed = draw(st.integers(0, 2**32 - 1))
    slope = draw(st.booleans())
    formula = "y ~ x + (x | g)" if slope else "y ~ x + (1 | g)"
    return make_data(seed, slope), formula


def lmer(formula: str, data: pd.DataFrame, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        return mm.lmer(formula, data, **kwargs)


def assert_same_fit(got: Any, want: Any) -> None:
    assert got.llf == pytest.approx(want.llf, rel=LLF_RTOL)
    assert list(got.fe_params.index) == list(want.fe_params.index)
    difference = np.abs(got.fe_params.to_numpy() - want.fe_params.to_numpy())
    assert np.all(difference <= FE_SE_TOL * want.bse_fe.to_numpy())
    np.testing.assert_allclose(
        got.varcorr().vcov.to_numpy(), want.varcorr().vcov.to_numpy(), atol=VC_TOL * want.scale
    )


# ---------------------------------------------------------------------------- invariance


@CI
@given(designs(), st.integers(0, 2**32 - 1))
def test_row_order(design: tuple[pd.DataFrame, str], seed: int) -> None:
    data, formula = design
    order = np.random.default_rng(seed).permutation(len(data))
    assert_same_fit(lmer(formula, data.iloc[order]), lmer(formula, data))


@CI
@given(st.lists(st.integers(0, 17), min_size=3, max_size=6, unique=True), st.integers(0, 2**16))
def test_row_order_sleepstudy_subset(subjects: list[int], seed: int) -> None:
    data = mm.datasets.load("sleepstudy")
    codes = pd.factorize(data["Subject"], sort=True)[0]
    subset = data[np.isin(codes, subjects)]
    order = np.random.default_rng(seed).permutation(len(subset))
    formula = "Reaction ~ Days + (Days | Subject)"
    assert_same_fit(lmer(formula, subset.iloc[order]), lmer(formula, subset))


@CI
@given(designs(), st.integers(0, 2**32 - 1))
def test_level_relabelling(design: tuple[pd.DataFrame, str], seed: int) -> None:
    data, formula = design
    n_levels = int(data["g"].max()) + 1
    labels = np.random.default_rng(seed).permutation(1000)[:n_levels]
    relabelled = data.assign(g=labels[data["g"].to_numpy()])
    assert_same_fit(lmer(formula, relabelled), lmer(formula, data))


@CI
@given(designs(), st.sampled_from(["int", "float", "str", "mixed", "category"]))
def test_label_types(design: tuple[pd.DataFrame, str], kind: str) -> None:
    data, formula = design
    codes = data["g"].to_numpy()
    labels: Any = {
        "int": codes.astype(np.int64) * 7 - 3,
        "float": codes * 0.5 + 0.25,
        "str": np.array([f"level {code}" for code in codes], dtype=object),
        "mixed": [code if code % 2 else f"s{code}" for code in codes],
        "category": pd.Categorical([f"c{code}" for code in codes]),
    }[kind]
    assert_same_fit(lmer(formula, data.assign(g=labels)), lmer(formula, data))


# ---------------------------------------------------------------------------- scaling

scales = st.tuples(st.floats(-3.0, 3.0), st.booleans()).map(
    lambda pair: (10.0 ** pair[0]) * (-1.0 if pair[1] else 1.0)
)


@CI
@given(designs(), scales)
def test_scale_response(design: tuple[pd.DataFrame, str], c: float) -> None:
    data, formula = design
    base = lmer(formula, data)
    scaled = lmer(formula, data.assign(y=data["y"] * c))
    n, p = base.nobs, len(base.fe_params)
    assert scaled.llf == pytest.approx(base.llf - (n - p) * np.log(abs(c)), rel=LLF_RTOL)
    difference = np.abs(scaled.fe_params.to_numpy() - c * base.fe_params.to_numpy())
    assert np.all(difference <= FE_SE_TOL * abs(c) * base.bse_fe.to_numpy())
    np.testing.assert_allclose(
        scaled.varcorr().vcov.to_numpy(),
        c * c * base.varcorr().vcov.to_numpy(),
        atol=VC_TOL * c * c * base.scale,
    )
    assert scaled.singular == base.singular


@CI
@given(designs(), scales, st.booleans())
def test_scale_covariate(design: tuple[pd.DataFrame, str], c: float, reml: bool) -> None:
    data, formula = design
    base = lmer(formula, data, REML=reml)
    scaled = lmer(formula, data.assign(x=data["x"] * c), REML=reml)
    shift = -np.log(abs(c)) if reml else 0.0
    assert scaled.llf == pytest.approx(base.llf + shift, rel=LLF_RTOL, abs=1e-9)
    want = base.fe_params.to_numpy() / np.array([1.0, c])
    se = base.bse_fe.to_numpy() / np.array([1.0, abs(c)])
    assert np.all(np.abs(scaled.fe_params.to_numpy() - want) <= FE_SE_TOL * se)
    # Variance components back in the units of the original x: a row involving x once is
    # multiplied by c (covariance), twice by c^2 (the slope variance).
    rows = scaled.varcorr()
    back = [
        vcov
        * (c if var1 == "x" else 1.0)
        * (c if (var2 if isinstance(var2, str) else var1) == "x" else 1.0)
        for var1, var2, vcov in zip(rows.var1, rows.var2, rows.vcov, strict=True)
    ]
    np.testing.assert_allclose(back, base.varcorr().vcov.to_numpy(), atol=VC_TOL * base.scale)
    assert scaled.singular == base.singular


# ---------------------------------------------------------------------------- hard cases

HARD_CASES = ["sitka_rs_reml", "dietox_rs_reml", "dyestuff2_singular_reml"]


def _model(name: str) -> tuple[LinearMixedModel, dict]:
    reference = load_case(name)
    data = mm.datasets.load(reference["dataset"])
    model = LinearMixedModel.from_formula(reference["formula"], data, REML=reference["REML"])
    return model, reference


@pytest.mark.parametrize("name", HARD_CASES)
def test_hard_case_agreement(name: str) -> None:
    model, reference = _model(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        default = model.fit()
        diagonal = np.isfinite(model.lower_bounds)
        # lme4's start (identity T) and a start far from it (T = 3 I, off-diagonal 0.5).
        from_identity = model.fit(start=np.where(diagonal, 1.0, 0.0))
        from_far = model.fit(start=np.where(diagonal, 3.0, 0.5) / model.theta_scale)
    assert default.llf >= reference["logLik"] - 1e-6 * abs(reference["logLik"])
    for other in (from_identity, from_far):
        assert other.llf == pytest.approx(default.llf, abs=1e-6)
        assert other.singular == default.singular == reference["singular"]
    # A second optimiser: scipy's bounded Powell on the same profiled criterion, in the
    # internally scaled parameters, from the default start.
    scale = model.theta_scale
    bounds = [(0.0, None) if bounded else (None, None) for bounded in diagonal]
    powell = scipy.optimize.minimize(
        lambda x: model.objective(x / scale),
        model.initial_theta() * scale,
        method="Powell",
        bounds=bounds,
        options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 100_000},
    )
    assert -0.5 * powell.fun == pytest.approx(default.llf, abs=1e-6)
    np.testing.assert_allclose(powell.x / scale, default.theta, rtol=1e-3, atol=1e-6)


# ---------------------------------------------------------------------------- known misses

# Found by a non-derandomised run of the properties on tiny random-slope designs
# (make_tiny_slope_data, 3,000 seeds): profiled criteria with two local optima, where the
# optimiser stopped on the worse one, a boundary point, and lme4 1.1 finds the better one.
# The moment-based starts in mixedmodels.optim.start now reach lme4's optimum on all
# three; they stay here as regression tests of the optimiser's start and boundary handling.
KNOWN_LOCAL_OPTIMA = [
    # (seed of make_tiny_slope_data, scale of x, REML, lme4's logLik)
    (1141, 10.0, False, -26.0870586591),
    (1195, 10.0, False, -53.1838044279),
    (2880, 1.0, True, -37.2432997466),
]


@pytest.mark.parametrize(("seed", "c", "reml", "lme4_llf"), KNOWN_LOCAL_OPTIMA)
def test_known_local_optima(seed: int, c: float, reml: bool, lme4_llf: float) -> None:
    data = make_tiny_slope_data(seed)
    fit = lmer("y ~ x + (x | g)", data.assign(x=data["x"] * c), REML=reml)
    assert fit.llf >= lme4_llf - 1e-6
