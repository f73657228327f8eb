"""From an lme4 formula and a DataFrame to the engine's design: ``y``, ``X`` and terms.

This is lme4's ``lFormula`` step: parse, drop incomplete rows, build the fixed
and random-effect model matrices, and check that the structure can be
estimated.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from ..errors import (
    DataError,
    FormulaError,
    MixedModelsTypeError,
    MixedModelsWarning,
    StructureError,
)
from ..formula.parse import BarTerm, ParsedFormula, parse_formula
from .fixed import FixedDesign, build_fixed, lme4_name
from .grouping import make_grouping_factor
from .terms import TermSpec, full_pattern

__all__ = ["Design", "build_design", "model_variables", "random_term_matrix"]


@dataclass
class Design:
    """Everything the engine needs, on the complete rows of the data.

    Attributes
    ----------
    y : ndarray, shape (n,)
    fixed : FixedDesign
    terms : list of TermSpec
        One per expanded bar term, in formula order.
    bars : tuple of BarTerm
    response_name : str
    weights, offset : ndarray or None
    row_index : pandas.Index
        Labels of the rows used (after dropping incomplete ones).
    nobs_dropped : int
    term_specs_for_predict : list
        ``(bar, model_spec)`` pairs used to rebuild random-effect matrices.
    """

    y: np.ndarray
    fixed: FixedDesign
    terms: list[TermSpec]
    bars: tuple[BarTerm, ...]
    response_name: str
    weights: np.ndarray | None
    offset: np.ndarray | None
    row_index: pd.Index
    nobs_dropped: int
    re_model_specs: list[object]
    parsed: ParsedFormula | None = None


def _required(expression: str) -> set[str]:
    try:
        return {str(name) for name in Formula(expression).required_variables}
    except Exception as error:  # formulaic's parse errors have many types
        raise FormulaError(f"cannot parse formula part {expression!r}: {error}") from error


def model_variables(parsed: ParsedFormula) -> list[str]:
    """Names of the data columns the model uses, in a stable order."""
    names: list[str] = []
    for expression in [parsed.response, parsed.fixed_rhs, *(bar.lhs for bar in parsed.bars)]:
        for name in sorted(_required(expression)):
            if name not in names:
                names.append(name)
    for bar in parsed.bars:
        for name in bar.group:
            if name not in names:
                names.append(name)
    return names


def _as_vector(value: object, name: str, data: pd.DataFrame) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise FormulaError(f"{name}={value!r} is not a column of the data")
        value = data[value]
    array = np.asarray(value)
    if array.ndim != 1 or array.shape[0] != len(data):
        raise DataError(f"{name} must be a 1-D array with one value per row ({len(data)})")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise MixedModelsTypeError(f"{name} must be numeric, got dtype {array.dtype}")
    return array.astype(float)


def _response(data: pd.DataFrame, response: str) -> np.ndarray:
    if response in data.columns:
        column = data[response]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == bool:
            raise MixedModelsTypeError(
                f"response {response!r} is {column.dtype}; a linear mixed model needs a "
                "numeric response (use a GLMM for binary or categorical outcomes)"
            )
        if not pd.api.types.is_numeric_dtype(column):
            raise MixedModelsTypeError(
                f"response {response!r} has non-numeric dtype {column.dtype}; convert it to a "
                "number first"
            )
        return column.to_numpy(dtype=float)
    try:
        frame = model_matrix(f"{response} ~ 0", data, na_action="ignore").lhs
    except Exception as error:
        raise FormulaError(f"cannot evaluate the response {response!r}: {error}") from error
    if frame.shape[1] != 1:
        raise MixedModelsTypeError(f"response {response!r} must be a single numeric column")
    return np.asarray(frame, dtype=float)[:, 0]


def random_term_matrix(bar: BarTerm, data: pd.DataFrame) -> tuple[np.ndarray, list[str], object]:
    """Model matrix, lme4 column names and formulaic spec of one term's left side."""
    try:
        frame = model_matrix(bar.lhs, data, na_action="ignore")
    except Exception as error:
        raise FormulaError(
            f"cannot build the model matrix of random-effect term {bar.source!r}: {error}"
        ) from error
    names = [lme4_name(str(name)) for name in frame.columns]
    if not names:
        raise FormulaError(f"random-effect term {bar.source!r} has no columns")
    return np.asarray(frame, dtype=float), names, frame.model_spec


def _check_finite(data: pd.DataFrame, columns: list[str]) -> None:
    for name in columns:
        column = data[name]
        if pd.api.types.is_numeric_dtype(column) and column.dtype != bool:
            values = column.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(values).any():
                raise DataError(
                    f"column {name!r} holds {int(np.isinf(values).sum())} infinite value(s); "
                    "remove or replace them before fitting"
                )


def build_design(
    formula: str,
    data: pd.DataFrame,
    weights: object = None,
    offset: object = None,
) -> Design:
    """Build the design of an lme4 formula (lme4's ``lFormula``).

    Rows with a missing value in any column the model uses are dropped, as
    lme4's default ``na.omit`` does; the count is kept in ``nobs_dropped``.
    """
    if not isinstance(data, pd.DataFrame):
        if isinstance(data, dict):
            data = pd.DataFrame(data)
        else:
            raise MixedModelsTypeError(
                f"data must be a pandas DataFrame (or a dict of columns), got {type(data).__name__}"
            )
    if data.columns.duplicated().any():
        duplicated = sorted({str(name) for name in data.columns[data.columns.duplicated()]})
        raise DataError(f"data has duplicate column name(s) {duplicated}; rename them")
    parsed = parse_formula(formula)
    if not parsed.bars:
        raise StructureError(
            f"formula {formula!r} has no random-effect term such as (1 | g); use an ordinary "
            "linear model for fixed effects only"
        )
    if len(data) == 0:
        raise DataError("data has no rows")
    variables = model_variables(parsed)
    missing_columns = [name for name in variables if name not in data.columns]
    if missing_columns:
        raise FormulaError(
            f"formula {formula!r} uses {missing_columns} which are not columns of the data"
        )
    for bar in parsed.bars:
        overlap = _required(bar.lhs) & set(bar.group)
        if overlap:
            raise FormulaError(
                f"random-effect term {bar.source!r} uses {sorted(overlap)} on both sides of '|'"
            )
    weights_array = _as_vector(weights, "weights", data)
    offset_array = _as_vector(offset, "offset", data)
    _check_finite(data, variables)
    complete = data[variables].notna().all(axis=1).to_numpy().copy()
    for name, array in (("weights", weights_array), ("offset", offset_array)):
        if array is not None:
            if np.isinf(array).any():
                raise DataError(f"{name} holds infinite values")
            complete &= ~np.isnan(array)
    if weights_array is not None:
        if (weights_array[complete] < 0).any():
            raise DataError("weights must be non-negative; found negative weights")
        zero = complete & (weights_array == 0)
        if zero.any():
            warnings.warn(
                f"dropped {int(zero.sum())} row(s) with zero weight; they carry no information",
                MixedModelsWarning,
                stacklevel=3,
            )
            complete &= ~zero
    nobs_dropped = int((~complete).sum())
    used = data.loc[complete] if nobs_dropped else data
    if len(used) == 0:
        raise DataError("no complete rows: every row has a missing value in a model column")
    y = _response(used, parsed.response)
    if offset_array is not None:
        offset_array = offset_array[complete]
    if weights_array is not None:
        weights_array = weights_array[complete]
    fixed = build_fixed(parsed.fixed_rhs, used)
    terms: list[TermSpec] = []
    specs: list[object] = []
    for bar in parsed.bars:
        factor = make_grouping_factor(used, bar.group)
        z, names, spec = random_term_matrix(bar, used)
        terms.append(TermSpec(factor, z, tuple(names), full_pattern(z.shape[1]), bar.group_name))
        specs.append(spec)
    return Design(
        y=y,
        fixed=fixed,
        terms=terms,
        bars=parsed.bars,
        response_name=parsed.response,
        weights=weights_array,
        offset=offset_array,
        row_index=used.index,
        nobs_dropped=nobs_dropped,
        re_model_specs=specs,
        parsed=parsed,
    )
