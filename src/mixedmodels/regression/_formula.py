"""statsmodels' ``mixedlm(formula, data, re_formula, vc_formula, groups=...)`` to array inputs.

The fixed part goes through the same design code as :func:`mixedmodels.lmer`
(:func:`mixedmodels.design.fixed.build_fixed`: formulaic, collinear columns
dropped with a warning). ``re_formula`` and ``vc_formula`` are evaluated with
formulaic; a ``vc_formula`` with an intercept within each group, as statsmodels
evaluates it, one without once on all rows and split by group (deviation 11 of
``docs/statsmodels.md``).
Names that are not columns of the data are looked up in the caller's namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix
from statsmodels.regression.mixed_linear_model import VCSpec

from ..design.arrays import group_labels, used_rows
from ..design.components import split_by_group
from ..design.fixed import FixedDesign, build_fixed, evaluate_matrix
from ..design.grouping import level_rows, make_grouping_factor
from ..errors import DataError, FormulaError, MixedModelsTypeError
from ..formula.parse import parse_formula
from ..frames import to_pandas
from ._design import as_vcspec

__all__ = ["FormulaSpec", "translate"]


@dataclass
class FormulaSpec:
    """Array inputs of :class:`MixedLM` built from formulas (pandas, indexed like the data)."""

    endog: pd.Series
    exog: pd.DataFrame
    groups: np.ndarray
    exog_re: pd.DataFrame | None
    exog_vc: VCSpec | None
    group_name: str
    fixed: FixedDesign
    frame: pd.DataFrame


def translate(
    formula: str,
    data: object,
    re_formula: str | None,
    vc_formula: Mapping[str, str] | None,
    subset: object,
    missing: str,
    namespace: Mapping[str, object],
    kwargs: dict,
) -> FormulaSpec:
    """Evaluate the formulas on the complete rows of ``data`` (see the module notes)."""
    if kwargs.get("groups") is None:
        raise MixedModelsTypeError("groups is a required keyword argument of from_formula")
    groups = kwargs.pop("groups")
    if kwargs:
        raise MixedModelsTypeError(f"from_formula got unexpected argument(s) {sorted(kwargs)}")
    data, labels, group_name = _rows(data, groups, subset)
    parsed = parse_formula(formula)
    if parsed.bars:
        raise FormulaError(
            f"formula {formula!r} has lme4 random-effect terms; give them with re_formula/"
            "vc_formula, or use mixedmodels.lmer for lme4 formulas"
        )
    re_text, vc_text, used = _formula_variables(formula, re_formula, vc_formula)
    absent = sorted(name for name in used if name not in data.columns and name not in namespace)
    if absent:
        raise FormulaError(f"the formulas use {absent}, which are not columns of the data")
    columns = {f"column {c!r}": data[c] for c in data.columns if c in used}
    columns["groups"] = pd.Series(labels, dtype=object, index=data.index)
    keep = used_rows(columns, missing)  # the rows without a missing value, or an error
    if not keep.all():
        data, labels = data.iloc[np.flatnonzero(keep)], labels[keep]
    context = {key: value for key, value in namespace.items() if key in used}
    fixed = build_fixed(parsed.fixed_rhs, data, variables=context)
    endog = pd.Series(_response(parsed.response, data, context), index=data.index)
    endog.name = parsed.response
    exog = pd.DataFrame(fixed.matrix, columns=fixed.names, index=data.index)
    exog_re = None if re_text is None else _exog_re(re_text, data, group_name, context)
    exog_vc = _vc_spec(vc_text, data, labels, group_name, context) if vc_text else None
    return FormulaSpec(endog, exog, labels, exog_re, exog_vc, group_name, fixed, data)


def _rows(data: object, groups: object, subset: object) -> tuple[pd.DataFrame, np.ndarray, str]:
    """The data as pandas, the group labels and the grouping name, restricted to ``subset``."""
    data = to_pandas(dict(data) if isinstance(data, Mapping) else data, "data")
    group_name = "Group"
    if isinstance(groups, str):
        if groups not in data.columns:
            raise FormulaError(f"groups={groups!r} is not a column of the data")
        group_name = groups
        labels = np.asarray(data[groups], dtype=object)
    else:
        labels = group_labels(groups, len(data))
    if subset is not None:
        try:
            positions = pd.Series(np.arange(len(data)), index=data.index).loc[subset]
        except (KeyError, IndexError, TypeError) as error:
            raise DataError(f"subset does not select rows of the data: {error}") from error
        positions = np.asarray(positions, dtype=np.int64).ravel()
        data, labels = data.iloc[positions], labels[positions]
    return data, labels, group_name


def _formula_variables(
    formula: str, re_formula: str | None, vc_formula: Mapping[str, str] | None
) -> tuple[str | None, dict[str, str], set[str]]:
    """The one-sided ``re_formula`` and ``vc_formula`` texts and every variable used."""
    re_text = None if re_formula is None else _one_sided(re_formula, "re_formula")
    if vc_formula is not None and not isinstance(vc_formula, Mapping):
        raise MixedModelsTypeError("vc_formula must be a dict of name -> formula")
    vc_text = {str(k): _one_sided(v, f"vc_formula[{k!r}]") for k, v in (vc_formula or {}).items()}
    used = _required(formula, "formula")
    if re_text is not None and re_text != "1":
        used |= _required(re_text, "re_formula")
    for name, text in vc_text.items():
        used |= _required(text, f"vc_formula[{name!r}]")
    return re_text, vc_text, used


def _exog_re(
    re_text: str, data: pd.DataFrame, group_name: str, context: Mapping[str, object]
) -> pd.DataFrame:
    """``exog_re`` of ``re_formula``; its intercept is named after the groups, as statsmodels."""
    if re_text == "1":
        return pd.DataFrame({group_name: np.ones(len(data))}, index=data.index)
    names, matrix, _ = evaluate_matrix(re_text, data, "re_formula", context)
    names = [name.replace("Intercept", group_name) for name in names]
    return pd.DataFrame(matrix, columns=names, index=data.index)


def _vc_spec(
    vc_text: dict[str, str], data: pd.DataFrame, labels: np.ndarray, group_name: str,
    context: Mapping[str, object],
) -> VCSpec:
    """Each component's matrix per group, in statsmodels' layout (deviation 11 of
    ``docs/statsmodels.md``: without an intercept one evaluation on all rows, split by
    group, keeping each group's non-zero columns; with one, per group)."""
    factor = make_grouping_factor({group_name: pd.Series(labels, dtype=object)}, (group_name,))
    group_rows = level_rows(factor.codes, factor.n_levels)
    blocks = []
    for name in sorted(vc_text):
        text, argument = vc_text[name], f"vc_formula[{name!r}]"
        columns, whole, _ = evaluate_matrix(text, data, argument, context, sparse=True)
        if "Intercept" in columns:
            part = [evaluate_matrix(text, data.iloc[rows], argument, context, True)[:2]
                    for rows in group_rows]  # fmt: skip
        else:
            part = split_by_group(whole, columns, group_rows)
        blocks.append(part)
    return as_vcspec(sorted(vc_text), blocks)


def _one_sided(text: str, argument: str) -> str:
    if not isinstance(text, str):
        raise MixedModelsTypeError(
            f"{argument} must be a string formula, got {type(text).__name__}"
        )
    stripped = text.strip()
    if stripped.startswith("~"):
        stripped = stripped[1:].strip()
    if "~" in stripped:
        raise FormulaError(f"{argument}={text!r} must be one-sided (no response)")
    if not stripped:
        raise FormulaError(f"{argument} is empty")
    return stripped


def _required(text: str, argument: str) -> set[str]:
    try:
        return {str(name) for name in Formula(text).required_variables}
    except Exception as error:  # formulaic raises many types
        raise FormulaError(f"cannot parse {argument} {text!r}: {error}") from error


def _response(expression: str, data: pd.DataFrame, context: Mapping[str, object]) -> np.ndarray:
    if expression in data.columns:
        column = data[expression]
        if not pd.api.types.is_numeric_dtype(column) or column.dtype == bool:
            raise MixedModelsTypeError(
                f"response {expression!r} has dtype {column.dtype}; it must be numeric"
            )
        return column.to_numpy(dtype=float)
    try:
        frame = model_matrix(f"{expression} ~ 0", data, na_action="ignore", context=context).lhs
    except Exception as error:  # formulaic raises many types
        raise FormulaError(f"cannot evaluate the response {expression!r}: {error}") from error
    if frame.shape[1] != 1:
        raise MixedModelsTypeError(f"response {expression!r} must be one numeric column")
    return np.asarray(frame, dtype=float)[:, 0]
