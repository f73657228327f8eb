"""Results of a fit from chunks keep no rows: clear errors, a summary without residuals,
and fitted values recomputed from the data on request (results/chunked.py)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.errors import DataError
from mixedmodels.results.chunked import fitted_values


def test_chunked_fit_has_no_rows_but_a_summary() -> None:
    data = mm.datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    chunked = mm.LinearMixedModel.from_formula(formula, data, chunk_rows=50).fit()
    in_memory = mm.lmer(formula, data)
    assert chunked.llf == pytest.approx(in_memory.llf, rel=1e-10)
    with pytest.raises(DataError, match="row data"):
        _ = chunked.fittedvalues
    with pytest.raises(DataError, match="row data"):
        _ = chunked.resid
    text = str(chunked.summary())
    assert "Scaled residuals: not kept" in text
    assert "Random effects:" in text
    assert chunked.predict(data).to_numpy() == pytest.approx(in_memory.fittedvalues.to_numpy())


def test_fitted_values_are_recomputed_on_request() -> None:
    data = mm.datasets.load("sleepstudy")
    memory = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    chunked = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", data, chunk_rows=50
    ).fit()
    with pytest.raises(DataError):
        _ = chunked.fittedvalues
    np.testing.assert_allclose(
        fitted_values(chunked, data, chunk_rows=33).to_numpy(),
        memory.fittedvalues.to_numpy(),
        rtol=1e-7,
    )
