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


# ---------------------------------------------------------------- inference references
INFERENCE_DIR = Path(__file__).parent / "reference" / "inference"
INFERENCE_CASES = sorted(path.stem for path in INFERENCE_DIR.glob("*.json"))


def load_inference_case(name: str) -> dict:
    """One lme4 + lmerTest + pbkrtest reference case (tools/make_inference_refs.R)."""
    return json.loads((INFERENCE_DIR / f"{name}.json").read_text())


def load_reference_data(name: str):
    """A data set as the R script read it: a bundled one, or a CSV + schema copied here."""
    path = INFERENCE_DIR / "data" / f"{name}.csv"
    if not path.exists():
        return mm.datasets.load(name)
    return mm.datasets.read_csv_schema(path, INFERENCE_DIR / "data" / f"{name}.schema.json")


_INFERENCE_FITS: dict[tuple[str, str, bool], object] = {}


def fit_formula(dataset: str, formula: str, reml: bool = True):
    """A fit of ``formula`` on a reference data set, cached for the session."""
    key = (dataset, formula, reml)
    if key not in _INFERENCE_FITS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularFitWarning)
            _INFERENCE_FITS[key] = mm.lmer(formula, load_reference_data(dataset), REML=reml)
    return _INFERENCE_FITS[key]


def fit_inference(name: str) -> tuple[dict, object]:
    """An inference reference case and the (cached) fit of its main model."""
    reference = load_inference_case(name)
    return reference, fit_formula(reference["dataset"], reference["formula"], reference["REML"])
