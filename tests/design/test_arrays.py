"""The array front end (``design/arrays.py``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mixedmodels as mm
from mixedmodels.design.arrays import array_design, group_labels, used_rows
from mixedmodels.errors import ArgumentTypeError, DataError, MissingDataError, MixedModelsWarning


def _sleep() -> pd.DataFrame:
    return mm.datasets.load("sleepstudy")


def test_group_labels_checks_length() -> None:
    assert group_labels(pd.DataFrame({"g": [1, 2]}), 2).tolist() == [1, 2]
    with pytest.raises(DataError, match="one label per observation"):
        group_labels([1, 2, 3], 2)
    with pytest.raises(DataError, match="one column"):
        group_labels(pd.DataFrame({"g": [1, 2], "h": [1, 2]}), 2)


def test_used_rows_names_columns_and_counts() -> None:
    columns = {"endog": pd.Series([np.nan, 1.0, 2.0]), "groups": pd.Series(["a", "b", None])}
    with pytest.raises(MissingDataError, match=r"endog \(1 row\(s\)\), groups \(1 row"):
        used_rows(columns, "none")
    with pytest.raises(MissingDataError, match=r"missing='drop'"):
        used_rows(columns, "none")
    with pytest.raises(MissingDataError, match=r"missing='raise'"):
        used_rows(columns, "raise")
    assert used_rows(columns, "drop").tolist() == [False, True, False]
    with pytest.raises(DataError, match="exog column 0 holds 1 infinite"):
        used_rows({"exog column 0": pd.Series([1.0, np.inf])}, "drop")
    with pytest.raises(DataError, match="no complete rows"):
        used_rows({"endog": pd.Series([np.nan])}, "drop")




def test_array_design_codes_groups_and_names_columns() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    X = pd.DataFrame({"const": 1.0, "x": [0.5, 1.5, 0.1, 2.0, 1.0, 3.0]})
    design = array_design(y, X, np.array(["b", "a", "b", "a", "c", "c"]), X[["x"]])
    assert design.x_names == ["const", "x"] and design.z_names == ["x"]
    assert design.labels == ["a", "b", "c"] and design.groups.codes.tolist() == [1, 0, 1, 0, 2, 2]
    assert [rows.tolist() for rows in design.group_rows] == [[1, 3], [0, 2], [4, 5]]
    ((term,),) = [design.terms()]
    assert term.factor is design.groups and term.column_names == ("x",)
    plain = array_design(y, X.to_numpy(), np.repeat([1, 2, 3], 2), X.to_numpy())
    assert plain.x_names == ["x1", "x2"] and plain.z_names == ["x_re1", "x_re2"]
    assert plain.labels == [1, 2, 3] and type(plain.labels[0]) is int
    # Labels that cannot be compared are sorted by type name, then text (as statsmodels).
    mixed = array_design(y[:3], X.to_numpy()[:3], np.array([2, "a", 1], dtype=object))
    assert mixed.labels == [1, 2, "a"] and mixed.groups.codes.tolist() == [1, 2, 0]


def test_array_design_drops_incomplete_rows_and_their_groups() -> None:
    y = np.array([1.0, np.nan, 3.0, 4.0, 5.0, 6.0])
    X = np.column_stack([np.ones(6), [0.5, 1.5, 0.1, 2.0, 1.0, 3.0]])
    groups = np.array(["a", "b", "a", None, "c", "c"], dtype=object)
    with pytest.raises(MissingDataError, match=r"endog \(1 row\(s\)\), groups \(1 row"):
        array_design(y, X, groups)
    design = array_design(y, X, groups, missing="drop")
    assert design.used.tolist() == [True, False, True, False, True, True]
    assert design.labels == ["a", "c"] and design.group_values.tolist() == ["a", "a", "c", "c"]
    np.testing.assert_array_equal(design.y, [1.0, 3.0, 5.0, 6.0])


def test_array_design_errors_name_the_argument() -> None:
    y, X, groups = np.arange(4.0), np.ones((4, 1)), np.array([1, 1, 2, 2])
    with pytest.raises(DataError, match="exog has 3 rows; endog has 4"):
        array_design(y, X[:3], groups)
    with pytest.raises(DataError, match="endog must be one-dimensional"):
        array_design(np.ones((4, 2)), X, groups)
    with pytest.raises(DataError, match="endog has no observations"):
        array_design(np.zeros(0), np.ones((0, 1)), np.zeros(0))
    with pytest.raises(DataError, match="exog_re has 3 rows"):
        array_design(y, X, groups, np.ones((3, 1)))
    with pytest.raises(ArgumentTypeError, match="exog must be numeric"):
        array_design(y, np.array([["a"], ["b"], ["c"], ["d"]]), groups)
    with pytest.raises(DataError, match=r"rank deficient: column\(s\) \[1\]"):
        array_design(y, np.column_stack([X, 2 * X]), groups)
    with pytest.raises(DataError, match="exog column 0 holds 1 infinite"):
        array_design(y, np.array([[1.0], [np.inf], [1.0], [1.0]]), groups)


def test_components_are_stacked_on_the_groups_and_recoded() -> None:
    y = np.arange(5.0)
    X = np.ones((5, 1))
    groups = np.array(["g1", "g1", "g2", "g2", "g2"], dtype=object)

    def components(labels: list) -> list:
        assert labels == ["g1", "g2"]
        return [("c", [np.eye(2), np.array([[1.0], [np.nan], [1.0]])], None)]

    with pytest.raises(MissingDataError, match=r"exog_vc\['c'\] \(1 row"):
        array_design(y, X, groups, components=components)
    design = array_design(y, X, groups, components=components, missing="drop")
    (component,) = design.components
    assert component.matrix.shape == (4, 3) and component.column_group.tolist() == [0, 0, 1]
    assert [term.label for term in design.terms()] == ["c"]


def test_from_arrays_fits_as_lmer() -> None:
    """``(Days | Subject)`` from arrays: lme4's fit of sleepstudy."""
    sleep = _sleep()
    X = pd.DataFrame({"(Intercept)": 1.0, "Days": sleep["Days"]})
    model = mm.LinearMixedModel.from_arrays(sleep["Reaction"], X, sleep["Subject"], X)
    fit = model.fit()
    lmer = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    assert fit.llf == pytest.approx(lmer.llf, abs=1e-6)
    np.testing.assert_allclose(fit.fe_params, lmer.fe_params, rtol=1e-6)
    intercept = mm.LinearMixedModel.from_arrays(sleep["Reaction"], X, sleep["Subject"]).fit()
    assert intercept.llf == pytest.approx(
        mm.lmer("Reaction ~ Days + (1 | Subject)", sleep).llf, abs=1e-6
    )
    with pytest.raises(mm.errors.ArgumentError, match="missing must be"):
        mm.LinearMixedModel.from_arrays(sleep["Reaction"], X, sleep["Subject"], missing="none")


@settings(derandomize=True, database=None, max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_from_arrays_is_lmer_whatever_the_row_order_and_labels(seed: int, slope: bool) -> None:
    """Rows shuffled and groups relabelled (text labels): the fit of the same formula."""
    rng = np.random.default_rng(seed)
    n_groups, per_group = int(rng.integers(5, 11)), int(rng.integers(4, 9))
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size) * rng.uniform(0.5, 3.0)
    b0, b1 = rng.normal(size=(2, n_groups)) * [[rng.uniform(0.5, 2.0)], [rng.uniform(0.3, 1.0)]]
    y = 1.0 + 0.5 * x + b0[g] + (b1[g] * x if slope else 0.0) + rng.normal(size=g.size)
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    formula = "y ~ x + (x | g)" if slope else "y ~ x + (1 | g)"
    order = rng.permutation(len(data))
    labels = np.array([f"level {code}" for code in rng.permutation(1000)[:n_groups]])[g]
    X = np.column_stack([np.ones(len(y)), x])[order]
    model = mm.LinearMixedModel.from_arrays(y[order], X, labels[order], X if slope else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        ours, lmer = model.fit(), mm.lmer(formula, data)
    assert ours.llf == pytest.approx(lmer.llf, rel=1e-8)
    np.testing.assert_allclose(ours.fe_params, lmer.fe_params, atol=1e-4 * lmer.bse_fe.max())


def test_from_arrays_errors_name_its_own_arguments() -> None:
    y, groups = np.arange(4.0), np.array([1, 1, 2, 2])
    with pytest.raises(DataError, match="X has 3 rows; y has 4"):
        mm.LinearMixedModel.from_arrays(y, np.ones((3, 1)), groups)
    with pytest.raises(DataError, match=r"X is rank deficient: column\(s\) \[1\]"):
        mm.LinearMixedModel.from_arrays(y, np.ones((4, 2)), groups)
    with pytest.raises(MissingDataError, match=r"y \(1 row\(s\)\)"):
        mm.LinearMixedModel.from_arrays(np.array([1.0, np.nan, 2.0, 3.0]), np.ones((4, 1)), groups)


def test_no_group_label_at_all_is_a_clear_error_with_components_too() -> None:
    labels = np.array([None] * 4, dtype=object)
    with pytest.raises(DataError, match="no complete rows"):
        array_design(np.arange(4.0), np.ones((4, 1)), labels, missing="drop",
                     components=lambda names: [("c", [], None)])


def test_an_infinite_value_in_a_component_is_an_error() -> None:
    groups = np.repeat([1, 2, 3], 4)

    def components(labels: list) -> list:
        return [("a", [np.full((4, 1), np.inf), np.ones((4, 1)), np.ones((4, 1))], None)]

    with pytest.raises(DataError, match=r"exog_vc\['a'\] holds 4 infinite"):
        array_design(np.arange(12.0), np.ones((12, 1)), groups, components=components)
