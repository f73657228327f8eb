"""Loaders for the optimiser's reference cases (hard cases and false-alarm models)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mixedmodels.datasets import load, read_csv_schema

REFERENCE = Path(__file__).parent.parent / "reference"
HARD_DIR = REFERENCE / "hard"
CONVERGENCE_DIR = REFERENCE / "convergence"
HARD_CASES = sorted(path.stem for path in HARD_DIR.glob("*.json"))


def load_hard_case(name: str) -> tuple[dict, pd.DataFrame]:
    """A hard case (lme4's best optimum) and its data."""
    case = json.loads((HARD_DIR / f"{name}.json").read_text())
    data = HARD_DIR / "data" / case["dataset"]
    # The levels file names the factors only: the schema's levels-only layout.
    return case, read_csv_schema(data.with_suffix(".csv"), data.with_suffix(".levels.json"))


def python_formula(formula: str) -> str:
    """R's ``I(x^2)`` written with Python's power operator (``^`` is issue 13's)."""
    return formula.replace("I(voltage^2)", "I(voltage**2)")


def load_convergence_data(dataset: str) -> pd.DataFrame:
    """A data set of the false-alarm models: bundled, or copied with its schema."""
    path = CONVERGENCE_DIR / "data" / f"{dataset}.csv"
    if not path.exists():
        return load(dataset)
    return read_csv_schema(path, path.with_suffix(".schema.json"))
