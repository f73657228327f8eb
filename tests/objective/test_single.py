"""The closed-form single-block factorisation against the general blocked factor."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import load_case

import mixedmodels as mm

from ._paths import compare as _compare
from ._paths import make_crossed_data
from ._paths import model_of as _model


@pytest.fixture(scope="module")
def crossed_data() -> pd.DataFrame:
    return make_crossed_data()


@pytest.mark.parametrize(
    "name",
    ["sleepstudy_rs_reml", "sleepstudy_indep_reml", "dyestuff_reml", "sitka_rs_reml"],
)
def test_single_block_matches_blocked(name: str) -> None:
    reference = load_case(name)
    model = _model(reference["formula"], mm.datasets.load(reference["dataset"]))
    assert model.state.engine.kind == "single"
    _compare(model, ("single", "blocked"))


def test_single_general_p_matches_blocked(crossed_data) -> None:
    model = _model("y ~ x + (x + z | g1)", crossed_data)
    _compare(model, ("single", "blocked"))


def test_weighted_single_path_agrees(crossed_data) -> None:
    _compare(_model("y ~ x + (x | g1)", crossed_data, weights="w"), ("single", "blocked"))
