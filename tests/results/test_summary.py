"""lme4-style summaries of LmerResults."""

from __future__ import annotations

import warnings
from functools import cache

from conftest import fit_reference as _fit
from conftest import load_case

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning


@cache
def fitted(name: str):
    reference = load_case(name)
    data = mm.datasets.load(reference["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        return mm.lmer(reference["formula"], data, REML=reference["REML"])


def test_summary_mentions_the_parts() -> None:
    text = str(fitted("sleepstudy_rs_reml").summary())
    for phrase in (
        "REML criterion",
        "Random effects:",
        "Subject",
        "Residual",
        "Fixed effects",
        "Days",
        "Number of obs: 180",
    ):
        assert phrase in text


def test_summary_has_satterthwaite_columns() -> None:
    _, fit = _fit("sleepstudy_rs_reml")
    text = str(fit.summary())
    assert "Pr(>|t|)" in text and "df" in text
    assert "Pr(>|t|)" not in str(fit.summary(ddf=None))
