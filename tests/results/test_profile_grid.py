"""Zeta on a grid per parameter (``results/profile_grid.py``), lme4's ``profile`` table."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import PchipInterpolator

import mixedmodels as mm
from mixedmodels.errors import ArgumentError, SingularFitWarning
from mixedmodels.results.profile_grid import profile_grid

LEVELS_REFERENCE = Path(__file__).parents[1] / "reference" / "profile" / "profile_levels.json"
CASES = {
    "sleepstudy": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "penicillin": ("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
}
SLEEP_VARIANCE = [
    "sd_(Intercept)|Subject",
    "cor_Days.(Intercept)|Subject",
    "sd_Days|Subject",
    "sigma",
]


@pytest.fixture(scope="module")
def sleep_fit():
    return mm.lmer(CASES["sleepstudy"][1], mm.datasets.load("sleepstudy"))


@pytest.fixture(scope="module", params=sorted(CASES), ids=sorted(CASES))
def grid(request) -> tuple[str, pd.DataFrame]:
    dataset, formula = CASES[request.param]
    fit = mm.lmer(formula, mm.datasets.load(dataset))
    return request.param, profile_grid(fit, points=8)


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def test_zeta_crosses_the_normal_quantiles_at_lme4s_profile_intervals(grid) -> None:
    """Where the grid's zeta is -+z(level), the parameter is at lme4's ``confint(profile)``.

    lme4's bounds (1.1-31, ``tools/make_profile_level_references.R``) come from its own,
    finer grid; the grid here is interpolated (PCHIP), which costs about 5e-4 of the
    interval's width at 8 points a side (1e-3 at 6, 1.2e-4 at 8 on Penicillin).
    """
    case, table = grid
    reference = json.loads(LEVELS_REFERENCE.read_text())
    for level, bounds in zip(
        reference["levels"], reference["cases"][case]["intervals"], strict=True
    ):
        if level > 0.99:  # the default grid stops at |zeta| = z(0.995)
            continue
        for name, lower, upper in zip(
            bounds["names"], bounds["lower"], bounds["upper"], strict=True
        ):
            part = table[table["parameter"] == name]
            value_at = PchipInterpolator(part["zeta"].to_numpy(), part["value"].to_numpy())
            tolerance = 1e-3 * (upper - lower)
            assert float(value_at(-_z(level))) == pytest.approx(lower, abs=tolerance), (name, level)
            assert float(value_at(_z(level))) == pytest.approx(upper, abs=tolerance), (name, level)


def test_fixed_effect_zeta_is_the_signed_root_of_the_ml_deviance_with_the_effect_fixed(
    sleep_fit,
) -> None:
    """zeta(b) = sign(b - b_hat) sqrt(D(b) - D(b_hat)), D(b) from an ML fit with b x as offset."""
    data = mm.datasets.load("sleepstudy")
    table = profile_grid(sleep_fit, which=["Days"], points=2)
    best = -2 * mm.lmer(CASES["sleepstudy"][1], data, REML=False).llf
    for value, zeta in table[["value", "zeta"]].itertuples(index=False):
        if zeta == 0.0:
            continue
        fixed = mm.lmer(
            "Reaction ~ 1 + (Days | Subject)",
            data,
            REML=False,
            offset=value * data["Days"].to_numpy(),
        )
        deviance = -2 * fixed.llf
        expected = math.copysign(math.sqrt(deviance - best), value - sleep_fit.fe_params["Days"])
        assert zeta == pytest.approx(expected, rel=1e-5, abs=1e-5), value


def test_table_layout_and_attributes(sleep_fit) -> None:
    table = profile_grid(sleep_fit, which="variance", points=3)
    assert list(table.columns) == ["parameter", "value", "zeta"]
    assert list(dict.fromkeys(table["parameter"])) == SLEEP_VARIANCE
    assert list(table.attrs["estimates"]) == SLEEP_VARIANCE
    assert table.attrs["alphamax"] == 0.01
    cutoff = _z(0.99)
    for name in SLEEP_VARIANCE:
        part = table[table["parameter"] == name]
        estimate = table.attrs["estimates"][name]
        assert part.loc[part["value"] == estimate, "zeta"].tolist() == [0.0]
        assert np.all(np.diff(part["value"].to_numpy()) > 0), name  # sorted by value
        assert np.all(np.diff(part["zeta"].to_numpy()) > 0), name  # zeta increases
        assert part["zeta"].min() <= -cutoff and part["zeta"].max() >= cutoff, name
    correlation = table[table["parameter"] == SLEEP_VARIANCE[1]]["value"]
    assert correlation.between(-1.0, 1.0).all()


def test_sigma_estimate_is_the_ml_estimate(sleep_fit) -> None:
    table = profile_grid(sleep_fit, which=["sigma"], points=1)
    ml = mm.lmer(CASES["sleepstudy"][1], mm.datasets.load("sleepstudy"), REML=False)
    assert table.attrs["estimates"]["sigma"] == pytest.approx(ml.scale**0.5, rel=1e-6)


def test_alphamax_sets_how_far_the_grid_reaches(sleep_fit) -> None:
    table = profile_grid(sleep_fit, which="fixed", alphamax=0.2, points=3)
    assert table.attrs["alphamax"] == 0.2
    assert list(dict.fromkeys(table["parameter"])) == ["(Intercept)", "Days"]
    for _, part in table.groupby("parameter"):
        # Each side stops once |zeta| reaches z(0.9) = 1.28: short of the default 2.58.
        assert part["zeta"].min() <= -_z(0.8) and part["zeta"].max() >= _z(0.8)
        assert part["zeta"].abs().max() < 2.0


def test_which_keeps_the_order_given(sleep_fit) -> None:
    table = profile_grid(sleep_fit, which=["sigma", "Days"], points=1)
    assert list(dict.fromkeys(table["parameter"])) == ["sigma", "Days"]


def test_an_sd_estimated_at_zero_is_profiled_upwards_only() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer("Yield ~ 1 + (1 | Batch)", mm.datasets.load("Dyestuff2"))
    table = profile_grid(fit, which=["sd_(Intercept)|Batch"], points=3)
    assert table["value"].min() == 0.0
    assert (table["zeta"] >= 0).all()
    assert table["zeta"].max() >= _z(0.99)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"which": ["nope"]}, r"which: unknown parameter\(s\) \['nope'\].*'Days'"),
        ({"alphamax": 0.0}, "alphamax must be in"),
        ({"alphamax": 1.5}, "alphamax must be in"),
        ({"points": 0}, "points must be a positive integer"),
    ],
    ids=["which", "alphamax0", "alphamax1.5", "points"],
)
def test_bad_arguments_are_named(sleep_fit, arguments: dict, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        profile_grid(sleep_fit, **arguments)
