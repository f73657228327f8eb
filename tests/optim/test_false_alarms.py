"""No ConvergenceWarning where nothing is wrong (issue 8): every lme4 reference fit and
every model of the inference references, each at lme4's optimum."""

from __future__ import annotations

import json
import warnings

import pytest
from conftest import CASE_NAMES, load_case

import mixedmodels as mm
from mixedmodels.errors import ConvergenceWarning

from ._cases import CONVERGENCE_DIR, load_convergence_data

INFERENCE_MODELS = json.loads((CONVERGENCE_DIR / "inference_models.json").read_text())["models"]
MODELS = [
    (
        name,
        load_case(name)["dataset"],
        load_case(name)["formula"],
        load_case(name)["REML"],
        load_case(name)["logLik"],
    )
    for name in CASE_NAMES
] + [
    (model["id"], model["dataset"], model["formula"], model["REML"], model["logLik"])
    for model in INFERENCE_MODELS
]


@pytest.mark.parametrize(
    ("name", "dataset", "formula", "reml", "loglik"), MODELS, ids=[model[0] for model in MODELS]
)
def test_no_convergence_warning_at_the_optimum(name, dataset, formula, reml, loglik) -> None:
    data = load_convergence_data(dataset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mm.lmer(formula, data, REML=reml)
    assert not [item for item in caught if issubclass(item.category, ConvergenceWarning)]
    assert fit.optsummary.converged
    assert fit.llf >= loglik - 1e-6 * abs(loglik)
