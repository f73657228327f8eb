"""statsmodels' random-effects arguments in the engine's terms (``regression/_design.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from statsmodels.regression.mixed_linear_model import VCSpec

from mixedmodels.design.components import GroupComponent
from mixedmodels.design.grouping import GroupingFactor, level_rows
from mixedmodels.design.terms import TermSpec, full_pattern
from mixedmodels.errors import DataError, MixedModelsTypeError
from mixedmodels.model import LinearMixedModel
from mixedmodels.regression._design import (
    ThetaLayout,
    component_inputs,
    re_pattern_from_free,
)


def test_dict_and_vcspec_give_the_same_component_inputs() -> None:
    g1 = pd.DataFrame({"u": [1.0, 0.0], "v": [0.0, 1.0]})
    g2 = np.array([[1.0], [1.0], [0.0]])
    ((name, matrices, names),) = component_inputs({"c": {"g2": g2, "g1": g1}}, ["g1", "g2"])
    assert name == "c" and matrices[0] is g1 and matrices[1] is g2 and names is None
    spec = VCSpec(["c"], [[["u", "v"], ["0"]]], [[g1.to_numpy(), sp.csr_matrix(g2)]])
    ((name, matrices, names),) = component_inputs(spec, ["g1", "g2"])
    assert name == "c" and names == [["u", "v"], ["0"]] and len(matrices) == 2
    both = component_inputs({"b": {"g1": g1, "g2": g2}, "a": {"g1": g1, "g2": g2}}, ["g1", "g2"])
    assert [item[0] for item in both] == ["a", "b"]  # sorted by name, as statsmodels


def test_component_input_errors() -> None:
    with pytest.raises(DataError, match="no matrix for group 'g2'"):
        component_inputs({"c": {"g1": np.ones((2, 1))}}, ["g1", "g2"])
    with pytest.raises(DataError, match="1 group matrices for 2 groups"):
        component_inputs(VCSpec(["c"], [[["a"]]], [[np.ones((2, 1))]]), ["g1", "g2"])
    with pytest.raises(MixedModelsTypeError, match="dict of dicts or a VCSpec"):
        component_inputs([1, 2], ["g1", "g2"])
    with pytest.raises(MixedModelsTypeError, match="mapping group labels"):
        component_inputs({"c": [np.ones((2, 1))]}, ["g1", "g2"])


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
    codes = np.repeat(np.arange(8), 6).astype(np.int32)
    groups = GroupingFactor("Group", codes, pd.Index(range(8), dtype=object))
    z = np.column_stack([np.ones(48), rng.normal(size=48)])
    matrices = [rng.normal(size=(6, 2)) for _ in range(8)]
    component = GroupComponent.stack("c", matrices, level_rows(codes, 8), 48, ["c"] * 8)
    pattern = re_pattern_from_free(np.eye(2), 2)
    terms = [TermSpec(groups, z, ("a", "b"), pattern, "Group"), component.term(groups, "G:c")]
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
    assert all(component.on_group(model.n_groups) for component in model.components)
    engine, _ = model.engine(True, model.free_pattern(None))
    assert len(engine.blocks) == 1
    fit = model.fit()
    lme4 = mm.lmer("y ~ x + (0 + z | g) + (1 | g:v0) + (1 | g:v1)", data)
    assert fit.llf == pytest.approx(lme4.llf, abs=1e-6)
    variances = lme4.varcorr().set_index("grp")["vcov"]
    np.testing.assert_allclose(fit.vcomp, variances[["g:v0", "g:v1"]], rtol=1e-3)
