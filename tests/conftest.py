"""Shared fixtures: the lme4 reference fits bundled with the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).parent / "reference" / "fits"
CASE_NAMES = sorted(path.stem for path in REFERENCE_DIR.glob("*.json"))


def load_case(name: str) -> dict:
    """One reference fit (lme4 1.1-31, best of allFit)."""
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())


@pytest.fixture(params=CASE_NAMES, ids=CASE_NAMES)
def case(request: pytest.FixtureRequest) -> dict:
    return load_case(request.param)
