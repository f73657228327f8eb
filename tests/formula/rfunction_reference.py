"""R's values of the formula functions (``tools/make_rfunction_references.R``)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).parents[1] / "reference" / "rfunctions" / "rfunctions.json"


@functools.cache
def _load() -> dict:
    return json.loads(REFERENCE.read_text())


def r_reference() -> dict:
    """The reference JSON (R 4.2, lme4 1.1-31); values are R's, to 15 significant digits."""
    return _load()


def r_matrix(rows: list, n_columns: int) -> np.ndarray:
    """An R matrix written row by row (a one-column one is written as a vector)."""
    return np.asarray(rows, dtype=float).reshape(-1, n_columns)


def r_vector(values: list) -> np.ndarray:
    """An R numeric vector from JSON, where jsonlite writes ``NA`` as the string ``"NA"``."""
    return np.array([np.nan if value == "NA" else value for value in values], dtype=float)
