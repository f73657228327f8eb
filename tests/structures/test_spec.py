"""Bad input to the residual structures gets a clear error naming what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import (
    ArgumentError,
    ArgumentTypeError,
    ColumnTypeError,
    DataError,
    FormulaError,
    MissingDataError,
    StructureError,
)
from structures.residual_cases import load_data

SLEEP = "Reaction ~ Days + (1 | Subject)"


def _sleep() -> pd.DataFrame:
    return load_data("sleepstudy")


def test_ties_in_time_within_a_group_name_the_group():
    data = _sleep()
    data.loc[data.index[data["Subject"] == "309"][3], "Days"] = 2.0
    with pytest.raises(DataError, match=r"ties within group Subject='309'"):
        mm.lmer(SLEEP, data, correlation=mm.AR1(group="Subject", time="Days"))
    with pytest.raises(DataError, match=r"ties within group Subject='309'"):
        mm.lmer(SLEEP, data, correlation=mm.CAR1(time="Days", group="Subject"))
    with pytest.raises(DataError, match=r"ties within group Subject='309'"):
        mm.lmer(SLEEP, data, correlation=mm.AR1(group="Subject", order="Days"))


def test_non_numeric_times():
    data = _sleep()
    data["day_label"] = "d" + data["Days"].astype(int).astype(str)
    with pytest.raises(ColumnTypeError, match=r"numeric times: column 'day_label'"):
        mm.lmer(SLEEP, data, correlation=mm.CAR1(time="day_label", group="Subject"))


def test_non_integer_times_for_ar1():
    data = _sleep()
    data["half_days"] = data["Days"] / 2
    with pytest.raises(DataError, match=r"integer-valued times.*CAR1"):
        mm.lmer(SLEEP, data, correlation=mm.AR1(group="Subject", time="half_days"))


def test_missing_times():
    data = _sleep()
    data["t"] = data["Days"].astype(float)
    data.loc[5, "t"] = np.nan
    with pytest.raises(MissingDataError, match=r"'t' has missing values"):
        mm.lmer(SLEEP, data, correlation=mm.CAR1(time="t", group="Subject"))


def test_one_level_variance_groups():
    data = _sleep()
    data["batch"] = "a"
    with pytest.raises(DataError, match=r"VarIdent\(by='batch'\) needs at least two levels"):
        mm.lmer(SLEEP, data, variance=mm.VarIdent("batch"))
    with pytest.raises(ArgumentError, match=r"reference='z'\) is not a level"):
        data["batch"] = np.where(data["Days"] < 5, "a", "b")
        mm.lmer(SLEEP, data, variance=mm.VarIdent("batch", reference="z"))


def test_unknown_columns_and_wrong_types():
    data = _sleep()
    with pytest.raises(FormulaError, match=r"AR1\(group=...\): column 'Patient'"):
        mm.lmer(SLEEP, data, correlation=mm.AR1(group="Patient"))
    with pytest.raises(FormulaError, match=r"VarIdent\(by=...\): column 'Sex'"):
        mm.lmer(SLEEP, data, variance=mm.VarIdent("Sex"))
    with pytest.raises(ArgumentTypeError, match=r"correlation= must be"):
        mm.lmer(SLEEP, data, correlation="AR1")
    with pytest.raises(ArgumentTypeError, match=r"variance= must be"):
        mm.lmer(SLEEP, data, variance=mm.AR1())
    with pytest.raises(ArgumentTypeError, match=r"AR1\(group=...\) must be a column name"):
        mm.AR1(group=3)
    with pytest.raises(ArgumentError, match=r"not both"):
        mm.AR1(order="Days", time="Days")


def test_correlation_groups_must_be_nested_in_the_random_effects():
    data = _sleep()
    data["half"] = np.where(data["Days"] < 5, "early", "late")
    with pytest.raises(StructureError, match=r"nested in the random-effects grouping factor"):
        mm.lmer(SLEEP, data, correlation=mm.AR1(group="half"))


def test_default_group_needs_one_grouping_factor():
    data = _sleep()
    data["block"] = (data.index % 3).astype(str)
    with pytest.raises(ArgumentError, match=r"AR1\(group=...\) is needed"):
        mm.lmer("Reaction ~ Days + (1 | Subject) + (1 | block)", data, correlation=mm.AR1())


def test_data_is_not_modified_and_row_labels_are_kept():
    data = _sleep()
    data.index = np.repeat(np.arange(90), 2)  # repeated labels
    before = data.copy()
    fit = mm.lmer(SLEEP, data, correlation=mm.AR1(group="Subject", time="Days"))
    pd.testing.assert_frame_equal(data, before)
    assert fit.fittedvalues.index.equals(data.index)


def test_rows_dropped_for_missing_values_are_left_out_of_the_structure():
    data = _sleep()
    data.loc[3, "Reaction"] = np.nan
    fit = mm.lmer(SLEEP, data, correlation=mm.AR1(group="Subject", time="Days"))
    complete = mm.lmer(SLEEP, data.dropna(), correlation=mm.AR1(group="Subject", time="Days"))
    assert fit.nobs == 179 and fit.nobs_dropped == 1
    assert fit.llf == pytest.approx(complete.llf, rel=1e-12)
