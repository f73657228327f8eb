"""The checks of the formula and the data that need no values: names and dtypes.

The first step of every design build (:func:`check_frame`), in memory
(:mod:`.builder`) and in chunks (:mod:`.chunked`, :mod:`mixedmodels.dask`, on
a Dask DataFrame's empty ``_meta``): the formula is parsed here, once per
fit, and the parsed formula is passed on. An unknown name gets a "did you
mean" hint on every path (:func:`require_columns`).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import (
    ArgumentError,
    ArgumentTypeError,
    ColumnTypeError,
    DataError,
    FormulaError,
    StructureError,
)
from ..formula.parse import ParsedFormula, parse_formula
from ..frames import to_pandas
from .rformula import R_CONSTANTS, evaluate_group, expression_names, is_plain_name

__all__ = [
    "as_vector",
    "check_frame",
    "float_matrix",
    "group_expression_columns",
    "is_real",
    "model_variables",
    "numpy_kind",
    "parse",
    "require_columns",
    "required_variables",
]


@functools.lru_cache(maxsize=256)
def required_variables(expression: str) -> frozenset[str]:
    """Names a formula part reads (R's parse: every name, also inside ``poly()``, ``scale()``)."""
    return frozenset(expression_names(expression))


@functools.lru_cache(maxsize=256)
def _parse_cached(formula: str) -> ParsedFormula:
    """:func:`parse_formula` of a string (cached: the result is immutable, about 30 us)."""
    return parse_formula(formula)


def parse(formula: object) -> ParsedFormula:
    """The parsed lme4 formula (strings are cached)."""
    # Only strings are cached: anything else goes to parse_formula for its type error.
    return _parse_cached(formula) if isinstance(formula, str) else parse_formula(formula)


def model_variables(parsed: ParsedFormula) -> list[str]:
    """Names of the data columns the model uses, in a stable order."""
    names: list[str] = []
    for expression in [parsed.response, parsed.fixed_rhs, *(bar.lhs for bar in parsed.bars)]:
        for name in sorted(expression_names(expression)):
            if name not in names:
                names.append(name)
    for bar in parsed.bars:
        for group in bar.group:
            for name in (group,) if is_plain_name(group) else expression_names(group):
                if name not in names:
                    names.append(name)
    return names


def _unknown_names_message(formula: str, missing: list[str], columns: pd.Index) -> str:
    available = [str(name) for name in columns]
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, available, n=1)
        if close:
            hints.append(f"{name!r} -> did you mean {close[0]!r}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    shown = available if len(available) <= 12 else [*available[:12], "..."]
    return (
        f"formula {formula!r} uses {missing}, which {'is' if len(missing) == 1 else 'are'} "
        f"not a column of the data nor a known function{hint}; the columns are {shown}"
    )


def require_columns(formula: object, names: list[str], columns: pd.Index) -> None:
    """Raise a :class:`~mixedmodels.errors.FormulaError` for names that are not columns.

    The message names the missing variables, with a "did you mean" hint for
    each close column name, and lists the columns.
    """
    missing = [name for name in names if name not in columns]
    if missing:
        raise FormulaError(_unknown_names_message(str(formula), missing, columns))


def as_vector(value: object, name: str, data: pd.DataFrame) -> np.ndarray | None:
    """``weights`` or ``offset`` as a float array with one value per row (positional)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise FormulaError(
                f"{name}={value!r} is not a column of the data; pass a column name or an "
                "array with one value per row"
            )
        value = data[value]
    if isinstance(value, dict | set) or np.isscalar(value):
        raise ArgumentTypeError(
            f"{name} must be a column name or an array with one value per row, got "
            f"{type(value).__name__}"
        )
    if isinstance(value, pd.Series):
        array = value.to_numpy(dtype=float, na_value=np.nan) if is_real(value) else value.values
    else:
        array = np.asarray(value)
    if array.dtype == object:
        try:
            array = array.astype(float)
        except (TypeError, ValueError) as error:
            raise ArgumentTypeError(
                f"{name} must hold numbers; convert it with pandas.to_numeric first"
            ) from error
    if array.ndim != 1 or array.shape[0] != len(data):
        raise ArgumentError(
            f"{name} must be a 1-D array with one value per row of the data ({len(data)}), "
            f"got shape {array.shape}"
        )
    if array.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"{name} must be numeric, got dtype {array.dtype}")
    return array.astype(float)


def float_matrix(values: object, argument: str) -> tuple[np.ndarray, list[str] | None]:
    """An array argument as a 2-D float matrix (1-D is one column) and its column names.

    The names are a DataFrame's columns or a named Series' name, else None.
    Missing values become NaN; anything that is not numeric is an error naming
    ``argument``.
    """
    names = None
    if isinstance(values, pd.DataFrame):
        names = [str(name) for name in values.columns]
    elif isinstance(values, pd.Series) and values.name is not None:
        names = [str(values.name)]
    try:
        if isinstance(values, pd.DataFrame | pd.Series):
            matrix = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            matrix = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ArgumentTypeError(
            f"{argument} must be numeric; it could not be converted to float ({error})"
        ) from error
    matrix = matrix[:, None] if matrix.ndim == 1 else matrix
    if matrix.ndim != 2:
        raise DataError(f"{argument} must be 1-D or 2-D, got shape {matrix.shape}")
    return matrix, names


def is_real(column: pd.Series) -> bool:
    """True for real numeric columns (not bool, complex, categorical or text)."""
    return bool(
        pd.api.types.is_numeric_dtype(column)
        and not pd.api.types.is_bool_dtype(column)
        and not pd.api.types.is_complex_dtype(column)
    )


def numpy_kind(column: pd.Series) -> str:
    """The numpy kind of a column's dtype (``"f"``, ``"i"``...), ``""`` for pandas dtypes.

    Reading the dtype's kind is about 1 us; the ``pandas.api.types`` tests cost
    10-100 us each on categorical or Arrow-backed columns.
    """
    dtype = column.dtype
    return dtype.kind if isinstance(dtype, np.dtype) else ""


def _check_response_type(
    data: pd.DataFrame, columns: Mapping[str, pd.Series], response: str
) -> None:
    if response in columns:
        column = columns[response]
    elif response in data.columns:
        column = data[response]  # a column named like an expression, e.g. "log(y)"
    else:
        return
    if numpy_kind(column) in ("i", "u", "f"):
        return
    if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(column):
        raise ColumnTypeError(
            f"response {response!r} is {column.dtype}; a linear mixed model needs a numeric "
            "response: use a GLMM for binary or categorical outcomes, or convert it to "
            "numbers if it is a measurement"
        )
    if pd.api.types.is_complex_dtype(column):
        raise ColumnTypeError(f"response {response!r} is complex; a real response is needed")
    if not pd.api.types.is_numeric_dtype(column):
        raise ColumnTypeError(
            f"response {response!r} has non-numeric dtype {column.dtype}; convert it to a "
            "number first (e.g. pandas.to_numeric)"
        )


def _check_column_types(columns: Mapping[str, pd.Series], covariates: list[str]) -> None:
    """Complex anywhere, and dates among covariates, are type errors naming the column."""
    for name in covariates:
        column = columns[name]
        if numpy_kind(column) in ("b", "i", "u", "f"):
            continue
        if pd.api.types.is_complex_dtype(column):
            raise ColumnTypeError(
                f"column {name!r} is complex; use its real part or modulus explicitly"
            )
        if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(
            column
        ):
            raise ColumnTypeError(
                f"column {name!r} is {column.dtype}; convert it to a number (e.g. days since "
                "the first date) before using it as a covariate"
            )


def _as_dataframe(data: object, formula: object, weights: object, offset: object) -> pd.DataFrame:
    """Any data frame as pandas (:func:`mixedmodels.frames.to_pandas`), used columns only."""
    if isinstance(data, pd.DataFrame):
        return data
    columns = None
    if not isinstance(data, dict) and isinstance(formula, str):
        try:
            columns = [*model_variables(parse(formula))]
        except FormulaError:
            columns = None  # the formula's own error is raised next, by check_frame
        if columns is not None:
            columns += [value for value in (weights, offset) if isinstance(value, str)]
    return to_pandas(data, "data", columns)


def _check_names(
    parsed: ParsedFormula, columns: pd.Index, variables: list[str], weights: object, offset: object
) -> None:
    """Duplicated column names the model uses; a variable on both sides of ``|``."""
    named = [*variables, *(value for value in (weights, offset) if isinstance(value, str))]
    repeated = columns.duplicated()
    # Indexing an Arrow-backed column Index costs about 0.1 ms: only when a name repeats.
    duplicated = sorted({str(name) for name in columns[repeated]}) if repeated.any() else []
    ambiguous = [name for name in duplicated if name in named]
    if ambiguous:
        raise DataError(
            f"data has duplicate column name(s) {ambiguous} used by the model; rename them so "
            "that each name refers to one column"
        )
    for bar in parsed.bars:
        overlap = required_variables(bar.lhs) & set(bar.group)
        if overlap:
            raise FormulaError(
                f"random-effect term {bar.source!r} uses {sorted(overlap)} on both sides of "
                "'|'; a variable cannot vary within the groups it defines: remove it from "
                "one side"
            )


def check_frame(
    formula: object, data: object, weights: object, offset: object, rows: bool = True
) -> tuple[pd.DataFrame, ParsedFormula, list[str], dict[str, pd.Series]]:
    """The checks of the formula and the data that need no values, only names and dtypes.

    Shared by :func:`~.builder.build_design` and the chunked design
    (:mod:`mixedmodels.design.chunked`), which runs them once on the whole
    frame (or a Dask DataFrame's empty ``_meta``) before its pass over the rows.

    Parameters
    ----------
    formula : str
    data : DataFrame or dict
    weights, offset : object
        Only their column names are checked here.
    rows : bool
        Whether an empty ``data`` is an error (False for a Dask ``_meta``).

    Returns
    -------
    data : DataFrame
    parsed : ParsedFormula
    variables : list of str
        Columns the model uses.
    columns : dict of str to Series
        ``data[name]`` for each of ``variables``.

    Raises
    ------
    MixedModelsError
        No random-effect term, no rows, unknown or duplicated columns, a
        variable on both sides of ``|``, a column of the wrong type.
    """
    data = _as_dataframe(data, formula, weights, offset)
    parsed = parse(formula)
    if not parsed.bars:
        raise StructureError(
            f"formula {formula!r} has no random-effect term such as (1 | g); use an ordinary "
            "linear model for fixed effects only"
        )
    if rows and len(data) == 0:
        raise DataError("data has no rows; pass a DataFrame with observations")
    variables = [
        name for name in model_variables(parsed) if name not in R_CONSTANTS or name in data.columns
    ]
    require_columns(formula, variables, data.columns)
    _check_names(parsed, data.columns, variables, weights, offset)
    group_variables = {
        name
        for bar in parsed.bars
        for group in bar.group
        for name in ((group,) if is_plain_name(group) else expression_names(group))
    }
    # Each used column is read once; the checks below work on these Series' arrays.
    columns = {name: data[name] for name in variables}
    _check_response_type(data, columns, parsed.response)
    _check_column_types(columns, [name for name in variables if name not in group_variables])
    return data, parsed, variables, columns


def group_expression_columns(
    parsed: ParsedFormula, columns: Mapping[str, pd.Series], n_rows: int
) -> dict[str, pd.Series]:
    """Grouping factors written as expressions (``interaction(a, b)``), as categoricals.

    Evaluated on all rows of the data, like the columns, so that they can be
    subset with the same row positions.
    """
    result: dict[str, pd.Series] = {}
    for bar in parsed.bars:
        for group in bar.group:
            if not is_plain_name(group) and group not in result:
                result[group] = evaluate_group(group, columns.__getitem__, n_rows)
    return result
