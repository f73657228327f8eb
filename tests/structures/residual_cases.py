"""The nlme residual-structure references and the data they were fit on."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning

RESIDUAL_DIR = Path(__file__).parent.parent / "reference" / "residual"
RESIDUAL_CASES = sorted(path.stem for path in RESIDUAL_DIR.glob("*.json"))


@cache
def _load(name: str) -> pd.DataFrame:
    data = RESIDUAL_DIR / "data"
    return mm.datasets.read_csv_schema(data / f"{name}.csv", data / f"{name}.schema.json")


def load_data(name: str) -> pd.DataFrame:
    """A reference data set (a fresh copy). Ovary gets the harmonic columns of its
    formula, computed here until R's sin/cos/pi are available in formulas."""
    frame = _load(name).copy()
    if name == "Ovary":
        frame["sin_2piTime"] = np.sin(2 * np.pi * frame["Time"])
        frame["cos_2piTime"] = np.cos(2 * np.pi * frame["Time"])
    return frame


# The Python spelling of each case: (formula, correlation, variance).
SPECS = {
    "ovary_ar1": (
        "follicles ~ sin_2piTime + cos_2piTime + (1 | Mare)",
        mm.AR1(group="Mare"),
        None,
    ),
    "sleepstudy_ar1": (
        "Reaction ~ Days + (1 | Subject)",
        mm.AR1(group="Subject", time="Days"),
        None,
    ),
    "bodyweight_car1": (
        "weight ~ Time * Diet + (Time | Rat)",
        mm.CAR1(time="Time", group="Rat"),
        None,
    ),
    "dialyzer_varident": (
        "rate ~ pressure * QB + (pressure | Subject)",
        None,
        mm.VarIdent("QB"),
    ),
    "dialyzer_quad_varident": (
        "rate ~ (pressure + I(pressure**2)) * QB + (pressure | Subject)",
        None,
        mm.VarIdent("QB"),
    ),
    "bodyweight_varident": (
        "weight ~ Time * Diet + (Time | Rat)",
        None,
        mm.VarIdent("Diet"),
    ),
    "sleepstudy_plain_lme": ("Reaction ~ Days + (Days | Subject)", None, None),
}


def load_residual_case(name: str) -> dict:
    return json.loads((RESIDUAL_DIR / f"{name}.json").read_text())


@cache
def fit_residual_case(name: str, reml: bool):
    """The case's fit (cached: several tests read one fit; results are not modified)."""
    reference = load_residual_case(name)
    formula, correlation, variance = SPECS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer(
            formula,
            load_data(reference["dataset"]),
            REML=reml,
            correlation=correlation,
            variance=variance,
        )
    return reference, fit
