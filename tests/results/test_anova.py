"""Type I, II and III F tables against lmerTest's anova (tests/reference/inference)."""

from __future__ import annotations

import pytest
from conftest import INFERENCE_CASES, fit_inference

from mixedmodels.errors import ArgumentError

from .tolerances import DF, f_p_within, relative_error

TABLES = [
    ("anova_type3_satterthwaite", 3, "satterthwaite"),
    ("anova_type3_kenward_roger", 3, "kenward_roger"),
    ("anova_type1_satterthwaite", 1, "satterthwaite"),
    ("anova_type2_satterthwaite", 2, "satterthwaite"),
]


@pytest.mark.parametrize(("field", "kind", "key"), TABLES, ids=[t[0] for t in TABLES])
@pytest.mark.parametrize("name", INFERENCE_CASES, ids=INFERENCE_CASES)
def test_anova_table_matches_lmertest(name: str, field: str, kind: int, key: str) -> None:
    reference, fit = fit_inference(name)
    ddf = "Satterthwaite" if key == "satterthwaite" else "Kenward-Roger"
    table = fit.anova(type=kind, ddf=ddf)
    expected = reference[field]
    assert list(table.index) == [row["term"] for row in expected]
    if not expected:  # intercept-only model: lmerTest's table has no rows
        return
    tol = DF[key]
    # Sums of squares and mean squares are F times sigma^2 (times NumDF): F's tolerance.
    for column, name_ in [("Sum Sq", "SumSq"), ("Mean Sq", "MeanSq"), ("F value", "F")]:
        assert relative_error(table[column], [row[name_] for row in expected]) < tol, column
    assert list(table["NumDF"]) == [row["NumDF"] for row in expected]
    assert relative_error(table["DenDF"], [row["DenDF"] for row in expected]) < tol
    for (_, row), ref in zip(table.iterrows(), expected, strict=True):
        assert f_p_within(row["Pr(>F)"], ref["F"], ref["NumDF"], ref["DenDF"], tol), ref


def test_anova_type_names_and_bad_type() -> None:
    _, fit = fit_inference("bodyweight_diet")
    assert fit.anova("III").equals(fit.anova(3))
    assert fit.anova("I").equals(fit.anova(1))
    with pytest.raises(ArgumentError, match="type"):
        fit.anova(4)


def test_type1_sums_of_squares_add_up_for_a_balanced_design() -> None:
    # Alfalfa is balanced: sequential and type III tables agree.
    _, fit = fit_inference("alfalfa_splitplot")
    assert fit.anova(1)["F value"].to_numpy() == pytest.approx(fit.anova(3)["F value"].to_numpy())
