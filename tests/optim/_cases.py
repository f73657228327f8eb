"""Loaders for the optimiser's reference cases (hard cases and false-alarm models)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).parent.parent / "reference"
HARD_DIR = REFERENCE / "hard"
CONVERGENCE_DIR = REFERENCE / "convergence"
HARD_CASES = sorted(path.stem for path in HARD_DIR.glob("*.json"))


def load_levels_csv(csv: Path, levels: dict[str, list[str]]) -> pd.DataFrame:
    """A CSV whose factor columns are read as strings, then as categoricals in R's order."""
    # R writes missing values as NA; a level may be called "None" (Alfalfa's Date).
    data = pd.read_csv(
        csv, dtype={name: str for name in levels}, keep_default_na=False, na_values=["NA"]
    )
    for name, order in levels.items():
        data[name] = pd.Categorical(data[name], categories=order)
    return data


def load_hard_case(name: str) -> tuple[dict, pd.DataFrame]:
    """A hard case (lme4's best optimum) and its data."""
    case = json.loads((HARD_DIR / f"{name}.json").read_text())
    levels = json.loads((HARD_DIR / "data" / f"{case['dataset']}.levels.json").read_text())
    data = load_levels_csv(HARD_DIR / "data" / f"{case['dataset']}.csv", levels["factors"])
    return case, data


def python_formula(formula: str) -> str:
    """R's ``I(x^2)`` written with Python's power operator (``^`` is issue 13's)."""
    return formula.replace("I(voltage^2)", "I(voltage**2)")


def load_convergence_data(dataset: str) -> pd.DataFrame:
    """A data set of the false-alarm models: bundled, or copied with its schema."""
    path = CONVERGENCE_DIR / "data" / f"{dataset}.csv"
    if not path.exists():
        import mixedmodels as mm

        return mm.datasets.load(dataset)
    schema = json.loads((CONVERGENCE_DIR / "data" / f"{dataset}.schema.json").read_text())
    return load_levels_csv(path, schema["levels"])
