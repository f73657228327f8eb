"""Loading of the formula reference table (``tests/reference/formula``).

The data sets are CSV files with a schema giving each column's R type and a
factor's levels in R's order; ``tools/make_formula_references.R`` fitted lme4
on exactly these values.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd

from mixedmodels.datasets import read_csv_schema

FORMULA_REFERENCE = Path(__file__).parent.parent / "reference" / "formula"
CASES = sorted(path.stem for path in FORMULA_REFERENCE.glob("*.json"))


def reference(case: str) -> dict:
    """The JSON of one reference case."""
    return json.loads((FORMULA_REFERENCE / f"{case}.json").read_text())


@functools.cache
def _dataset(name: str) -> pd.DataFrame:
    data = FORMULA_REFERENCE / "data"
    return read_csv_schema(data / f"{name}.csv", data / f"{name}.schema.json")


def dataset(name: str) -> pd.DataFrame:
    """A reference data set as a pandas DataFrame (a fresh copy)."""
    return _dataset(name).copy()


def newdata(case: dict) -> pd.DataFrame:
    """The ``predict`` block's new data, typed like the case's data set."""
    template = _dataset(case["dataset"])
    frame = pd.DataFrame(case["predict"]["newdata"])
    for column in frame.columns:
        dtype = template[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            frame[column] = pd.Categorical(frame[column].astype(str), dtype=dtype)
        else:
            frame[column] = frame[column].astype(float if dtype.kind == "f" else dtype)
    return frame
