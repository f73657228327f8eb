"""lme4 cross-checks beyond the shared references: nesting, interactions,
prior weights, offsets, a factor covariate in a random term.

The fits were made with lme4 1.1-31 (best of ``allFit``) by
``tools/make_extra_references.R``; the data sets (CSV + schema) are in ``reference/extra``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning

EXTRA = Path(__file__).parent / "reference" / "extra"
CASES = sorted(
    path.stem for path in EXTRA.glob("*.json") if not path.name.endswith(".schema.json")
)


def _data(name: str) -> pd.DataFrame:
    """The data set as R wrote it, with its schema (factor levels in R's order)."""
    return mm.datasets.read_csv_schema(EXTRA / f"{name}.csv", EXTRA / f"{name}.schema.json")


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_extra_reference(name: str) -> None:
    reference = json.loads((EXTRA / f"{name}.json").read_text())
    data = _data(reference["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer(
            reference["formula"],
            data,
            REML=reference["REML"],
            weights=reference.get("weights"),
            offset=reference.get("offset"),
        )
    want = reference["logLik"]
    assert fit.llf >= want - 1e-6 * max(1.0, abs(want))
    assert fit.llf <= want + 1e-4 * max(1.0, abs(want))
    for term, value in reference["fixef"].items():
        assert fit.fe_params[term] == pytest.approx(value, rel=1e-5, abs=1e-8), term
    for term, value in reference["se"].items():
        assert fit.bse_fe[term] == pytest.approx(value, rel=1e-3), term
    assert fit.scale == pytest.approx(reference["sigma2"], rel=1e-3)
    assert fit.singular == reference["singular"]
