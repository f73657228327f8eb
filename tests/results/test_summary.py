"""``summary()`` against lme4's and lmerTest's printed summaries, line by line.

The reference text (``tests/reference/look``, made by ``tools/make_look_references.R``)
is R's ``print(summary(fit))`` at the optimum of lme4's criterion. Every line must
have the same layout (the same characters with digits masked) and every number the
same value to lme4's printed digits: within one unit of the last printed digit, since
a true value that sits on a rounding boundary (dietox's variance 19.49345) may round
either way. Satterthwaite df come from a numerical Hessian in lmerTest and are held
to the ``rel=2e-4`` of ``tests/results/test_inference.py``.
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path

import pytest
from conftest import fit_reference, load_case

import mixedmodels as mm
from mixedmodels.errors import SingularFitWarning

REFERENCE = Path(__file__).parents[1] / "reference" / "look"
CASES = {
    "sleepstudy": ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
    "penicillin": ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin"),
    "dietox": ("Weight ~ Time + (Time | Pig)", "dietox"),
}
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]\d+)?|-?\d+(?:e[-+]\d+)?")


def _body(text: str) -> list[str]:
    """Lines from ``Formula:`` on, without lme4's ``Control:`` line (ours has no control)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Formula:"))
    body = [line for line in lines[start:] if not line.startswith("Control:")]
    while body and not body[-1].strip():
        body.pop()  # R's print ends with the empty warning section of a fit without optimizer
    return body


def _unit(token: str) -> float:
    mantissa = token.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(token.split("e")[1]) if "e" in token else 0
    return 10.0 ** (exponent - decimals)


def _compare(
    ours: list[str], theirs: list[str], df_columns: set[int], rel: float | None = None
) -> None:
    assert len(ours) == len(theirs), "\n".join(ours)
    in_fixed = False
    for mine, reference in zip(ours, theirs, strict=True):
        in_fixed = in_fixed or reference.startswith("Fixed effects:")
        if reference.startswith("Signif") or reference.startswith("Correlation"):
            in_fixed = False
        assert re.sub(r"\d", "9", mine) == re.sub(r"\d", "9", reference), (mine, reference)
        mine_numbers = NUMBER.findall(mine)
        reference_numbers = NUMBER.findall(reference)
        assert len(mine_numbers) == len(reference_numbers), (mine, reference)
        for position, (a, b) in enumerate(zip(mine_numbers, reference_numbers, strict=True)):
            if rel is not None:
                limit = rel * abs(float(b)) + _unit(b) * 1.0001
                assert abs(float(a) - float(b)) <= limit, (mine, reference)
            elif in_fixed and position in df_columns:
                assert float(a) == pytest.approx(float(b), rel=2e-4), (mine, reference)
            else:
                assert abs(float(a) - float(b)) <= _unit(b) * 1.0001, (mine, reference)


def _fit(case: str):
    formula, dataset = CASES[case]
    return mm.lmer(formula, mm.datasets.load(dataset))


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_summary_matches_lme4_line_by_line(case: str) -> None:
    reference = (REFERENCE / f"{case}_summary_lme4_optimum.txt").read_text()
    ours = str(_fit(case).summary(ddf=None, data_name="d"))
    _compare(_body(ours), _body(reference), df_columns=set())


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_satterthwaite_summary_matches_lmertest_line_by_line(case: str) -> None:
    reference = (REFERENCE / f"{case}_summary_lmertest_optimum.txt").read_text()
    ours = str(_fit(case).summary(data_name="d"))
    # The numbers of a coefficient row: estimate, SE, df, t, p ("(Intercept)" has none).
    _compare(_body(ours), _body(reference), df_columns={2})


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_summary_has_the_layout_of_lme4s_default_fit(case: str) -> None:
    """lme4's default stopping rule ends short of the optimum (Penicillin's sample variance
    3.7311 against 3.7309 at the optimum, dietox's 19.4929 against 19.4934): the same
    layout, and numbers within 4e-5 relative plus one
    unit of the last printed digit."""
    reference = (REFERENCE / f"{case}_summary_lme4.txt").read_text()
    ours = str(_fit(case).summary(ddf=None, data_name="d"))
    _compare(_body(ours), _body(reference), df_columns=set(), rel=4e-5)


def test_corr_header_only_with_correlations() -> None:
    text = str(_fit("penicillin").summary())
    assert "Corr" not in text.split("Fixed effects:")[0]
    assert "Corr" in str(_fit("sleepstudy").summary()).split("Fixed effects:")[0]


def test_correlation_and_stars_can_be_turned_off() -> None:
    fit = _fit("sleepstudy")
    plain = str(fit.summary(correlation=False, signif_stars=False))
    assert "Correlation of Fixed Effects" not in plain
    assert "***" not in plain and "Signif. codes" not in plain
    assert "Correlation of Fixed Effects" in str(fit.summary(correlation=True))


def test_summary_tables_are_strings_of_the_printed_cells() -> None:
    summary = _fit("sleepstudy").summary(ddf=None)
    titles = [table.title for table in summary.tables]
    assert titles == [
        "Scaled residuals:",
        "Random effects:",
        "Fixed effects:",
        "Correlation of Fixed Effects:",
    ]
    fixed = summary.tables[2].frame()
    assert fixed.loc["Days", "Estimate"] == "10.467"
    assert list(summary.coefficients.columns) == ["Estimate", "Std. Error", "t value"]


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
    _, fit = fit_reference("sleepstudy_rs_reml")
    text = str(fit.summary())
    assert "Pr(>|t|)" in text and "df" in text
    assert "Pr(>|t|)" not in str(fit.summary(ddf=None))


def test_formula_is_printed_as_r_deparses_it() -> None:
    from mixedmodels.results.summary import deparse_formula

    assert deparse_formula("Yield ~ 1 + (1|Batch)") == "Yield ~ 1 + (1 | Batch)"
    assert deparse_formula("y~x+(x||g)+(1|a:b)") == "y ~ x + (x || g) + (1 | a:b)"
    assert deparse_formula("log(y)~I(x+1)+(1|g)") == "log(y) ~ I(x + 1) + (1 | g)"
    assert deparse_formula("y ~ Q('a|b') + (1|g)") == "y ~ Q('a|b') + (1|g)"  # quoted: as written
