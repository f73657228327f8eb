"""Coefficient tables, contest and ls_means against lmerTest (tests/reference/inference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import INFERENCE_CASES, fit_inference, load_inference_case

from mixedmodels.errors import ArgumentError, MixedModelsError

from .tolerances import DF, ESTIMATE, bound_within, f_p_within, relative_error, t_p_within

DDF = {"satterthwaite": "Satterthwaite", "kenward_roger": "Kenward-Roger"}
CONTEST_CASES = [name for name in INFERENCE_CASES if "contest" in load_inference_case(name)]
LS_CASES = [name for name in INFERENCE_CASES if "ls_means" in load_inference_case(name)]


def _check_t_rows(table: pd.DataFrame, reference: list[dict], key: str, bounds: bool) -> None:
    tol = DF[key]
    assert relative_error(table["Estimate"], [r["Estimate"] for r in reference]) < ESTIMATE
    assert relative_error(table["Std. Error"], [r["SE"] for r in reference]) < ESTIMATE
    assert relative_error(table["t value"], [r["t"] for r in reference]) < ESTIMATE
    assert relative_error(table["df"], [r["df"] for r in reference]) < tol
    for (_, row), ref in zip(table.iterrows(), reference, strict=True):
        assert t_p_within(row["Pr(>|t|)"], ref["t"], ref["df"], tol), (row, ref)
        if bounds:
            for side in ("lower", "upper"):
                assert bound_within(
                    row[side], ref["Estimate"], ref["SE"], ref["df"], tol, side == "upper"
                ), (side, row, ref)


@pytest.mark.parametrize("key", list(DDF))
@pytest.mark.parametrize("name", INFERENCE_CASES, ids=INFERENCE_CASES)
def test_coefficient_table_matches_lmertest(name: str, key: str) -> None:
    reference, fit = fit_inference(name)
    table = fit.coefficients(DDF[key])
    rows = reference[f"coef_{key}"]
    assert list(table.index) == [row["term"] for row in rows]
    _check_t_rows(table, rows, key, bounds=False)


@pytest.mark.parametrize("key", list(DDF))
@pytest.mark.parametrize("name", CONTEST_CASES, ids=CONTEST_CASES)
def test_contest_matches_lmertest(name: str, key: str) -> None:
    reference, fit = fit_inference(name)
    spec = reference["contest"]
    L = pd.DataFrame(
        spec["L"]["values"], index=spec["L"]["rownames"], columns=spec["L"]["colnames"]
    )
    joint = fit.contest(L, ddf=DDF[key]).iloc[0]
    expected = spec[key]["joint"]
    tol = DF[key]
    assert joint["NumDF"] == expected["NumDF"]
    for column, field in [("Sum Sq", "SumSq"), ("Mean Sq", "MeanSq"), ("F value", "F")]:
        assert joint[column] == pytest.approx(expected[field], rel=tol), column
    assert joint["DenDF"] == pytest.approx(expected["DenDF"], rel=tol)
    assert f_p_within(joint["Pr(>F)"], expected["F"], expected["NumDF"], expected["DenDF"], tol)
    rows = fit.contest(L, ddf=DDF[key], joint=False)
    assert list(rows.index) == [row["row"] for row in spec[key]["rows"]]
    _check_t_rows(rows, spec[key]["rows"], key, bounds=True)


@pytest.mark.parametrize("key", list(DDF))
@pytest.mark.parametrize("name", LS_CASES, ids=LS_CASES)
def test_ls_means_match_lmertest(name: str, key: str) -> None:
    reference, fit = fit_inference(name)
    spec = reference["ls_means"]
    table = fit.ls_means(spec["term"], ddf=DDF[key])
    assert list(table.index) == [row["level"] for row in spec[key]]
    _check_t_rows(table, spec[key], key, bounds=True)


def test_contest_rejects_a_matrix_of_the_wrong_width() -> None:
    _, fit = fit_inference("bodyweight_diet")
    with pytest.raises(ArgumentError, match="needs 6 columns"):
        fit.contest(np.ones((2, 5)))
    with pytest.raises(MixedModelsError, match="6 columns"):
        fit.contest([1.0, 0.0])
    with pytest.raises(ArgumentError, match="ddf"):
        fit.contest(np.eye(6)[:1], ddf="Wald")


def test_contest_with_rhs_equals_a_shifted_estimate() -> None:
    _, fit = fit_inference("sleepstudy_lrt")
    plain = fit.contest([0.0, 1.0], joint=False).iloc[0]
    shifted = fit.contest([0.0, 1.0], joint=False, rhs=10.0).iloc[0]
    assert shifted["t value"] == pytest.approx((plain["Estimate"] - 10) / plain["Std. Error"])
    joint = fit.contest([0.0, 1.0], rhs=10.0).iloc[0]
    assert joint["F value"] == pytest.approx(shifted["t value"] ** 2)


def test_one_row_joint_test_is_the_squared_t_test() -> None:
    _, fit = fit_inference("dietox_factors")
    row = fit.contest(np.eye(8)[1], joint=False).iloc[0]
    joint = fit.contest(np.eye(8)[1]).iloc[0]
    assert joint["F value"] == pytest.approx(row["t value"] ** 2)
    assert joint["DenDF"] == pytest.approx(row["df"])
    assert fit.coef_table.loc["Time", "df"] == pytest.approx(row["df"])


def test_kenward_roger_needs_reml() -> None:
    from conftest import fit_formula

    fit = fit_formula("sleepstudy", "Reaction ~ Days + (Days | Subject)", reml=False)
    with pytest.raises(ArgumentError, match="REML"):
        fit.coefficients("Kenward-Roger")
    text = str(fit_inference("sleepstudy_lrt")[1].summary("Kenward-Roger"))
    assert "t-tests use Kenward-Roger's method" in text
