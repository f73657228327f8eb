"""Shared fixtures: the lme4 reference fits bundled with the tests."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning

REFERENCE_DIR = Path(__file__).parent / "reference" / "fits"
CASE_NAMES = sorted(path.stem for path in REFERENCE_DIR.glob("*.json"))


def load_case(name: str) -> dict:
    """One reference fit (lme4 1.1-31, best of allFit)."""
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())


def fit_reference(name: str) -> tuple[dict, object]:
    """A reference case and a fresh ``mm.lmer`` fit of it (singular-fit warnings silenced)."""
    reference = load_case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = mm.lmer(
            reference["formula"], mm.datasets.load(reference["dataset"]), REML=reference["REML"]
        )
    return reference, fit


@pytest.fixture(params=CASE_NAMES, ids=CASE_NAMES)
def case(request: pytest.FixtureRequest) -> dict:
    return load_case(request.param)
