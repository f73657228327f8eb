"""statsmodels' formulas to MixedLM's array inputs (``regression/_formula.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from formulaic import model_matrix

from mixedmodels.errors import DataError, FormulaError, MissingDataError, MixedModelsTypeError
from mixedmodels.regression._formula import translate


def _data(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 40
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "f": rng.choice(["a", "b", "c"], size=n),
            "g": np.repeat(["g1", "g2", "g3", "g4"], n // 4),
        }
    )


def _translate(data, formula="y ~ x", re_formula=None, vc_formula=None, subset=None,
               missing="none", namespace=None, **kwargs):
    kwargs.setdefault("groups", "g")
    return translate(
        formula, data, re_formula, vc_formula, subset, missing, namespace or {}, kwargs
    )


def test_fixed_part_response_and_groups() -> None:
    data = _data()
    spec = _translate(data, "y ~ x + f")
    assert spec.exog.columns.tolist() == ["Intercept", "x", "f[T.b]", "f[T.c]"]
    assert spec.endog.name == "y"
    np.testing.assert_array_equal(spec.endog.to_numpy(), data["y"].to_numpy())
    assert spec.group_name == "g" and spec.groups.tolist() == data["g"].tolist()
    assert spec.exog_re is None and spec.exog_vc is None
    labels = np.asarray(data["g"])
    assert _translate(data, groups=labels).group_name == "Group"


def test_re_formula_names_its_intercept_after_the_groups() -> None:
    data = _data()
    spec = _translate(data, re_formula="~ 1 + x")
    assert spec.exog_re.columns.tolist() == ["g", "x"]
    np.testing.assert_array_equal(spec.exog_re["x"], data["x"])
    assert _translate(data, re_formula="1").exog_re.columns.tolist() == ["g"]


def test_vc_formula_without_intercept_equals_per_group_evaluation() -> None:
    """One evaluation split by group gives statsmodels' per-group matrices (present levels)."""
    data = _data()
    data.loc[data["g"] == "g1", "f"] = "a"  # g1 has one level only
    spec = _translate(data, vc_formula={"f": "0 + C(f)"})
    assert spec.exog_vc.names == ["f"]
    for index, (label, rows) in enumerate(data.groupby("g").groups.items()):
        part = data.loc[rows]
        want = model_matrix("0 + C(f)", part)
        got = spec.exog_vc.mats[0][index]
        assert spec.exog_vc.colnames[0][index] == [str(c) for c in want.columns], label
        np.testing.assert_array_equal(got.toarray(), np.asarray(want))


def test_vc_formula_with_intercept_is_evaluated_per_group() -> None:
    data = _data()
    spec = _translate(data, vc_formula={"s": "1 + x"})
    rows = np.flatnonzero(data["g"] == "g2")
    np.testing.assert_array_equal(
        spec.exog_vc.mats[0][1].toarray(), np.column_stack([np.ones(10), data["x"].iloc[rows]])
    )


def test_missing_values_raise_or_drop() -> None:
    data = _data()
    data.loc[3, "x"] = np.nan
    data.loc[5, "g"] = None
    with pytest.raises(MissingDataError, match=r"column 'x' \(1 row\(s\)\).*groups"):
        _translate(data)
    with pytest.raises(MissingDataError, match="missing='raise'"):
        _translate(data, missing="raise")
    spec = _translate(data, missing="drop")
    assert len(spec.endog) == 38 and 3 not in spec.endog.index and 5 not in spec.endog.index
    # A column no formula uses does not count.
    data = _data()
    data["unused"] = np.nan
    assert len(_translate(data).endog) == 40


def test_subset_namespace_and_response_expressions() -> None:
    data = _data()
    spec = _translate(data, subset=data["x"] > 0)
    assert len(spec.endog) == int((data["x"] > 0).sum())
    spec = _translate(data, "y ~ double(x)", namespace={"double": lambda v: 2 * v})
    np.testing.assert_allclose(spec.exog.iloc[:, 1], 2 * data["x"])
    data["w"] = data["y"].abs() + 1
    spec = _translate(data, "np.log(w) ~ x", namespace={"np": np})
    np.testing.assert_allclose(spec.endog, np.log(data["w"]))


def test_clear_errors() -> None:
    data = _data()
    with pytest.raises(DataError, match="subset does not select rows"):
        _translate(data, subset=[10**9])
    with pytest.raises(MixedModelsTypeError, match="groups"):
        translate("y ~ x", data, None, None, None, "none", {}, {})
    with pytest.raises(MixedModelsTypeError, match="unexpected"):
        _translate(data, bogus=1)
    with pytest.raises(DataError, match="missing must be"):
        _translate(data, missing="omit")
    with pytest.raises(FormulaError, match="not a column"):
        _translate(data, groups="nope")
    with pytest.raises(FormulaError, match="lmer"):
        _translate(data, "y ~ x + (1 | g)")
    with pytest.raises(FormulaError, match="one-sided"):
        _translate(data, re_formula="y ~ x")
    with pytest.raises(FormulaError, match="is empty"):
        _translate(data, re_formula="~ ")
    with pytest.raises(MixedModelsTypeError, match="dict"):
        _translate(data, vc_formula=["0 + C(f)"])
    with pytest.raises(FormulaError, match=r"\['nothing'\]"):
        _translate(data, "y ~ nothing")
    data["text"] = "a"
    with pytest.raises(MixedModelsTypeError, match="numeric"):
        _translate(data, "text ~ x")
