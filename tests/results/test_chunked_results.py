"""Results of a fit from chunks keep no rows: clear errors, and a summary without residuals."""

from __future__ import annotations

import pytest

import mixedmodels as mm
from mixedmodels.errors import DataError


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
