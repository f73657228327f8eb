"""statsmodels' MixedLM inputs to engine terms (``regression/_design.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from statsmodels.regression.mixed_linear_model import VCSpec

from mixedmodels.design.terms import full_pattern
from mixedmodels.errors import DataError, MissingDataError, MixedModelsTypeError
from mixedmodels.model import LinearMixedModel
from mixedmodels.regression._design import (
    ThetaLayout,
    as_matrix,
    build_groups,
    build_terms,
    group_values,
    missing_report,
    raise_missing,
    re_pattern_from_free,
    stack_components,
)


def test_as_matrix_names_and_shapes() -> None:
    matrix, names = as_matrix(pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]}), "exog", "x")
    assert names == ["a", "b"] and matrix.dtype == float and matrix.shape == (2, 2)
    matrix, names = as_matrix(pd.Series([1.0, 2.0], name="z"), "exog_re", "x_re")
    assert names == ["z"] and matrix.shape == (2, 1)
    matrix, names = as_matrix(np.arange(3.0), "exog_re", "x_re")
    assert names == ["x_re1"] and matrix.shape == (3, 1)
    with pytest.raises(MixedModelsTypeError, match="exog must be numeric"):
        as_matrix(np.array(["a", "b"]), "exog", "x")
    with pytest.raises(DataError, match="1-D or 2-D"):
        as_matrix(np.zeros((2, 2, 2)), "exog", "x")


def test_group_values_checks_length() -> None:
    assert group_values(pd.DataFrame({"g": [1, 2]}), 2).tolist() == [1, 2]
    with pytest.raises(DataError, match="one label per observation"):
        group_values([1, 2, 3], 2)
    with pytest.raises(DataError, match="one column"):
        group_values(pd.DataFrame({"g": [1, 2], "h": [1, 2]}), 2)


def test_build_groups_sorts_labels_and_lists_rows() -> None:
    groups = build_groups(np.array(["b", "a", "b", "c", "a"], dtype=object), "G")
    assert groups.labels == ["a", "b", "c"] and groups.n_groups == 3
    assert groups.codes.tolist() == [1, 0, 1, 2, 0]
    assert [rows.tolist() for rows in groups.rows] == [[1, 4], [0, 2], [3]]
    factor = groups.factor()
    assert factor.name == "G" and factor.n_levels == 3
    # Labels that cannot be compared are sorted by type name, then text (as statsmodels).
    assert build_groups(np.array([2, "a", 1], dtype=object), "G").labels == [1, 2, "a"]


def _two_groups() -> tuple:
    labels = np.array(["g1", "g1", "g2", "g2", "g2"], dtype=object)
    return build_groups(labels, "Group"), np.arange(5)


def test_dict_and_vcspec_give_the_same_stacked_component() -> None:
    groups, positions = _two_groups()
    g1 = pd.DataFrame({"u": [1.0, 0.0], "v": [0.0, 1.0]})
    g2 = np.array([[1.0], [1.0], [0.0]])
    from_dict = stack_components({"c": {"g1": g1, "g2": g2}}, groups, positions, 5)[0]
    spec = VCSpec(["c"], [[["u", "v"], ["0"]]], [[g1.to_numpy(), sp.csr_matrix(g2)]])
    from_spec = stack_components(spec, groups, positions, 5)[0]
    for component in (from_dict, from_spec):
        assert component.name == "c"
        assert component.column_names == ["u", "v", "0"]
        assert component.column_labels.tolist() == ["g1", "g1", "g2"]
        np.testing.assert_array_equal(
            component.matrix.toarray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]]
        )
        assert not component.tied


def test_stacked_component_errors() -> None:
    groups, positions = _two_groups()
    with pytest.raises(DataError, match="no matrix for group 'g2'"):
        stack_components({"c": {"g1": np.ones((2, 1))}}, groups, positions, 5)
    with pytest.raises(DataError, match="has 3 rows; group 'g1' has 2"):
        too_long = {"g1": np.ones((3, 1)), "g2": np.ones((3, 1))}
        stack_components({"c": too_long}, groups, positions, 5)
    with pytest.raises(DataError, match="1 group matrices for 2 groups"):
        stack_components(VCSpec(["c"], [[["a"]]], [[np.ones((2, 1))]]), groups, positions, 5)
    with pytest.raises(MixedModelsTypeError, match="dict of dicts or a VCSpec"):
        stack_components([1, 2], groups, positions, 5)
    with pytest.raises(MixedModelsTypeError, match="mapping group labels"):
        stack_components({"c": [np.ones((2, 1))]}, groups, positions, 5)


def test_missing_rows_and_restriction_recode_groups() -> None:
    groups, positions = _two_groups()
    g1 = np.array([[np.nan, 1.0], [1.0, 1.0]])
    component = stack_components({"c": {"g1": g1, "g2": np.ones((3, 2))}}, groups, positions, 5)[0]
    assert component.tied  # rows with two non-zeros: a tied term on the group factor
    assert component.missing_rows().tolist() == [True, False, False, False, False]
    keep = np.array([False, False, True, True, True])
    only_g2 = build_groups(np.array(["g2"] * 3, dtype=object), "Group")
    restricted = component.restricted(keep, only_g2)
    assert restricted.matrix.shape == (3, 4)
    assert restricted.column_codes.tolist() == [-1, -1, 0, 0]  # g1 was dropped
    assert restricted.group_columns(0).tolist() == [2, 3]


def test_scalar_component_is_a_term_on_group_and_column() -> None:
    """At most one non-zero per row: ``(1 | group:column)`` with the row's value as z."""
    groups, positions = _two_groups()
    g1 = np.array([[2.0, 0.0], [0.0, 3.0]])
    g2 = np.array([[1.0], [0.0], [4.0]])
    component = stack_components({"c": {"g1": g1, "g2": g2}}, groups, positions, 5)[0]
    component = component.restricted(np.ones(5, dtype=bool), groups)
    term = component.term(groups, "Group:c")
    assert term.factor.name == "Group:c"
    assert term.factor.levels.tolist() == ["g1[0]", "g1[1]", "g2[0]"]
    assert term.factor.codes.tolist() == [0, 1, 2, 0, 2]
    assert term.z[:, 0].tolist() == [2.0, 3.0, 1.0, 0.0, 4.0]  # row 3 adds nothing
    np.testing.assert_array_equal(term.pattern, full_pattern(1))


def test_tied_component_is_a_diagonal_term_with_one_parameter() -> None:
    groups, positions = _two_groups()
    g1 = np.array([[1.0, 2.0], [3.0, 4.0]])
    g2 = np.array([[5.0], [6.0], [7.0]])
    component = stack_components({"c": {"g1": g1, "g2": g2}}, groups, positions, 5)[0]
    component = component.restricted(np.ones(5, dtype=bool), groups)
    term = component.term(groups, "unused")
    assert term.factor.name == "Group"
    np.testing.assert_array_equal(term.z, [[1, 2], [3, 4], [5, 0], [6, 0], [7, 0]])
    np.testing.assert_array_equal(term.pattern, [[0, -1], [-1, 0]])
    terms = build_terms(groups, np.ones((5, 1)), ["Group"], full_pattern(1), [component])
    assert [term.label for term in terms] == ["Group", "c"]


def test_free_pattern_numbers_blocks_column_by_column() -> None:
    np.testing.assert_array_equal(re_pattern_from_free(None, 2), full_pattern(2))
    np.testing.assert_array_equal(re_pattern_from_free(np.ones((2, 2)), 2), full_pattern(2))
    independent = np.where(np.eye(3), [0, 1, 2], -1)
    np.testing.assert_array_equal(re_pattern_from_free(np.eye(3), 3), independent)
    # Columns 0 and 2 correlated, column 1 alone: a block after a permutation.
    mask = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    pattern = re_pattern_from_free(mask, 3)
    np.testing.assert_array_equal(pattern, [[0, -1, -1], [-1, 2, -1], [1, -1, 3]])
    with pytest.raises(DataError, match="shape"):
        re_pattern_from_free(np.eye(2), 3)


def test_theta_layout_round_trip_on_an_engine() -> None:
    rng = np.random.default_rng(1)
    groups = build_groups(np.repeat(np.arange(8), 6).astype(object), "Group")
    z = np.column_stack([np.ones(48), rng.normal(size=48)])
    component = stack_components(
        {"c": {g: rng.normal(size=(6, 2)) for g in range(8)}}, groups, np.arange(48), 48
    )[0].restricted(np.ones(48, dtype=bool), groups)
    pattern = re_pattern_from_free(np.eye(2), 2)
    terms = build_terms(groups, z, ["a", "b"], pattern, [component])
    engine = LinearMixedModel(rng.normal(size=48), np.ones((48, 1)), terms, ["const"])
    layout = ThetaLayout.from_engine(engine, has_re=True, n_vc=1)
    assert layout.k_re == 2 and layout.n_theta == engine.n_theta == 3
    cov_re, vcomp = np.diag([0.5, 2.0]), np.array([0.25])
    theta = layout.theta_from_profile(cov_re, vcomp)
    profile_cov, profile_vcomp = layout.profile(theta)
    np.testing.assert_allclose(profile_cov, cov_re)
    np.testing.assert_allclose(profile_vcomp, vcomp)
    np.testing.assert_allclose(layout.packed(theta), [0.5, 0.0, 2.0, 0.25])
    with pytest.raises(NotImplementedError, match="fixes a covariance"):
        layout.theta_from_profile(np.array([[1.0, 0.3], [0.3, 1.0]]), vcomp)
    with pytest.raises(DataError, match="variance components"):
        layout.theta_from_profile(cov_re, np.array([1.0, 2.0]))


def test_missing_report_names_parts_and_counts() -> None:
    bad, culprits = missing_report(
        {"endog": np.array([True, False, False]), "groups": np.array([False, False, False])}
    )
    assert bad.tolist() == [True, False, False] and culprits == ["endog (1 row(s))"]
    with pytest.raises(MissingDataError, match="missing='drop'"):
        raise_missing(culprits, "none")
    with pytest.raises(MissingDataError, match=r"missing='raise'"):
        raise_missing(culprits, "raise")


def test_components_with_the_same_few_columns_per_group_stay_on_the_group_factor() -> None:
    """One block instead of two crossed factors, and the same fit as lme4's formulation."""
    import mixedmodels as mm
    import mixedmodels.formula.api as smf

    rng = np.random.default_rng(3)
    n_groups, size = 60, 8
    data = pd.DataFrame(
        {
            "g": np.repeat(np.arange(n_groups), size),
            "x": rng.normal(size=n_groups * size),
            "z": rng.normal(size=n_groups * size),
            "v0": np.tile([0, 1], n_groups * size // 2),
            "v1": np.tile([0, 0, 1, 1], n_groups * size // 4),
        }
    )
    effects = rng.normal(size=(n_groups, 5)) * [1.0, 0.7, 0.7, 0.5, 0.5]
    rows = data["g"].to_numpy()
    data["y"] = (
        data["x"]
        + effects[rows, 0] * data["z"]
        + effects[rows, 1 + data["v0"]]
        + effects[rows, 3 + data["v1"]]
        + rng.normal(size=len(data))
    )
    model = smf.mixedlm(
        "y ~ x",
        data,
        groups="g",
        re_formula="~0 + z",
        vc_formula={"v0": "0 + C(v0)", "v1": "0 + C(v1)"},
    )
    assert all(component.on_group(model.group_structure) for component in model.components)
    engine, _ = model.engine(True, model.free_pattern(None))
    assert len(engine.blocks) == 1
    fit = model.fit()
    lme4 = mm.lmer("y ~ x + (0 + z | g) + (1 | g:v0) + (1 | g:v1)", data)
    assert fit.llf == pytest.approx(lme4.llf, abs=1e-6)
    variances = lme4.varcorr().set_index("grp")["vcov"]
    np.testing.assert_allclose(fit.vcomp, variances[["g:v0", "g:v1"]], rtol=1e-3)
