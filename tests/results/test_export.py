"""``to_dict``/JSON, Markdown and LaTeX exports of a fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mixedmodels as mm


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


def test_to_dict_round_trips_through_json(fit) -> None:
    record = fit.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["formula"] == "Reaction ~ Days + (Days | Subject)"
    assert record["llf"] == fit.llf
    assert record["fixed_effects"] == fit.fe_params.to_dict()
    np.testing.assert_array_equal(record["theta"], fit.theta)
    np.testing.assert_array_equal(
        record["ranef"]["Subject"]["modes"], fit.ranef()["Subject"].to_numpy()
    )
    assert record["ngroups"] == {"Subject": 18}
    assert [row["term"] for row in record["coefficients"]] == ["(Intercept)", "Days"]
    assert record["varcorr"][-1]["grp"] == "Residual"
    assert "ranef" not in fit.to_dict(ranef=False)


def test_to_json_writes_a_file(fit, tmp_path) -> None:
    path = tmp_path / "fit.json"
    text = fit.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text) == fit.to_dict()


def test_to_dict_has_no_nan(fit) -> None:
    data = mm.datasets.load("sleepstudy").assign(Days2=lambda d: d["Days"] * 2.0)
    with pytest.warns(mm.errors.RankDeficiencyWarning):
        collinear = mm.lmer("Reaction ~ Days + Days2 + (1 | Subject)", data)
    record = collinear.to_dict()
    assert record["fixed_effects"]["Days2"] is None  # dropped column: NaN -> None
    json.dumps(record, allow_nan=False)


def test_markdown_has_the_summary_tables(fit) -> None:
    text = fit.summary().as_markdown()
    assert "| Groups | Name | Variance | Std.Dev. | Corr |" in text
    assert "| `Days` | 10.467 | 1.546 | 17.000 | 6.771 | 3.26e-06 | *** |" in text
    separators = [line for line in text.splitlines() if line and set(line) <= set("|:-")]
    assert len(separators) == 4  # scaled residuals, random effects, fixed effects, correlation


def test_latex_escapes_and_closes_every_tabular(fit) -> None:
    text = fit.summary().as_latex()
    assert text.count(r"\begin{tabular}") == text.count(r"\end{tabular}") == 4
    assert r"Pr(>|t|)" in text and r"Std. Error" in text
    assert "Days & 10.467 & 1.546 & 17.000 & 6.771 & 3.26e-06 & *** \\\\" in text
    assert "(Days | Subject)" in text
