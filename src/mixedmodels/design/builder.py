"""From an lme4 formula and a DataFrame to the engine's design: ``y``, ``X`` and terms.

This is lme4's ``lFormula`` step: parse, drop incomplete rows, build the fixed
and random-effect model matrices, and check that the structure can be
estimated. It is also the API boundary for bad input: every problem with the
formula, the data or the ``weights``/``offset`` arguments leaves here as a
:class:`~mixedmodels.errors.MixedModelsError` whose message names the column,
term or argument at fault, never as a raw numpy, pandas or formulaic exception.

Rows
----
A row is used when every column the model uses (response, covariates,
grouping factors, and ``weights``/``offset``) holds a value, as lme4's default
``na.action = na.omit`` does. In addition, and unlike lme4:

* Inf in a used column is an error naming the column (lme4: an error without
  the column's name from the C code);
* a row whose weight is zero is dropped with a
  :class:`~mixedmodels.errors.DataWarning` (lme4 keeps it and returns a
  log-likelihood of ``-Inf``, lme4 issue 880);
* a row on which a transformation is undefined (``log(x)`` for ``x < 0``) is
  dropped, with a ``DataWarning`` naming the term (lme4 drops it after R's
  "NaNs produced" warning).

All dropped rows are counted in ``Design.nobs_dropped``. The caller's
DataFrame is never modified.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from ..errors import (
    ArgumentError,
    ArgumentTypeError,
    ColumnTypeError,
    DataError,
    DataWarning,
    FormulaError,
    MixedModelsError,
    StructureError,
    warn_user,
)
from ..formula.parse import BarTerm, ParsedFormula, parse_formula
from .fixed import (
    FixedDesign,
    check_fixed_count,
    drop_collinear,
    empty_terms,
    evaluate_matrix,
    lme4_name,
    simple_spec,
    warn_empty,
)
from .grouping import make_grouping_factor
from .terms import TermSpec, full_pattern

__all__ = [
    "Design",
    "as_vector",
    "build_design",
    "check_frame",
    "infinite_error",
    "infinite_rows",
    "missing_rows",
    "model_variables",
    "negative_weights_error",
    "no_complete_rows_error",
    "no_rows_left_error",
    "random_term_matrix",
    "warn_undefined",
    "warn_zero_weights",
]


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
        Rows dropped: missing values, zero weights, undefined transformations.
    re_model_specs : list
        formulaic model specs of the random-effect terms, for ``predict``.
    parsed : ParsedFormula or None
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


@functools.lru_cache(maxsize=256)
def _required(expression: str) -> frozenset[str]:
    """Variables a formula part uses (cached: formulaic's parse costs about 1 ms)."""
    try:
        return frozenset(str(name) for name in Formula(expression).required_variables)
    except Exception as error:  # formulaic's parse errors have many types
        raise FormulaError(
            f"cannot parse formula part {expression!r}: {error}; check its operators and "
            "parentheses"
        ) from error


@functools.lru_cache(maxsize=256)
def _parse_cached(formula: str) -> ParsedFormula:
    """:func:`parse_formula` of a string (cached: the result is immutable, about 30 us)."""
    return parse_formula(formula)


def _parse(formula: object) -> ParsedFormula:
    # Only strings are cached: anything else goes to parse_formula for its type error.
    return _parse_cached(formula) if isinstance(formula, str) else parse_formula(formula)


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
        array = value.to_numpy(dtype=float, na_value=np.nan) if _is_real(value) else value.values
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


def _is_real(column: pd.Series) -> bool:
    """True for real numeric columns (not bool, complex, categorical or text)."""
    return bool(
        pd.api.types.is_numeric_dtype(column)
        and not pd.api.types.is_bool_dtype(column)
        and not pd.api.types.is_complex_dtype(column)
    )


def _numpy_kind(column: pd.Series) -> str:
    """The numpy kind of a column's dtype (``"f"``, ``"i"``...), ``""`` for pandas dtypes.

    Reading the dtype's kind is about 1 us; the ``pandas.api.types`` tests cost
    10-100 us each on categorical or Arrow-backed columns.
    """
    dtype = column.dtype
    return dtype.kind if isinstance(dtype, np.dtype) else ""


def _check_response_type(data: pd.DataFrame, columns: dict[str, pd.Series], response: str) -> None:
    if response in columns:
        column = columns[response]
    elif response in data.columns:
        column = data[response]  # a column named like an expression, e.g. "log(y)"
    else:
        return
    if _numpy_kind(column) in ("i", "u", "f"):
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


def _check_column_types(columns: dict[str, pd.Series], covariates: list[str]) -> None:
    """Complex anywhere, and dates among covariates, are type errors naming the column."""
    for name in covariates:
        column = columns[name]
        if _numpy_kind(column) in ("b", "i", "u", "f"):
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


def infinite_rows(column: pd.Series) -> np.ndarray | None:
    """Rows where ``column`` is infinite, or None when it cannot hold Inf.

    Parameters
    ----------
    column : Series

    Returns
    -------
    ndarray of bool or None
    """
    kind = _numpy_kind(column)
    if kind in ("b", "i", "u"):
        return None  # cannot hold Inf
    if kind == "f":
        return np.isinf(column.to_numpy())
    if _is_real(column):
        return np.isinf(column.to_numpy(dtype=float, na_value=np.nan))
    return None


def infinite_error(name: str, count: int, column: bool = True) -> DataError:
    """The error for ``count`` infinite values in a used column (or ``weights``/``offset``).

    Parameters
    ----------
    name : str
        Column name, or ``"weights"``/``"offset"`` when ``column`` is False.
    count : int
    column : bool
        Whether ``name`` is a data column used by the formula.

    Returns
    -------
    DataError
    """
    if column:
        return DataError(
            f"column {name!r} holds {count} infinite value(s); remove or replace them "
            "before fitting"
        )
    return DataError(f"{name} holds {count} infinite value(s); give finite values")


def negative_weights_error(count: int, first: int) -> DataError:
    """The error for ``count`` negative weights, the first at row position ``first``."""
    return DataError(
        f"weights must be non-negative; found {count} negative weight(s) (first at row {first})"
    )


def warn_zero_weights(count: int) -> None:
    """Warn that ``count`` rows with zero weight were dropped (nothing when zero)."""
    if count:
        warn_user(
            f"dropped {count} row(s) with zero weight; they carry no information "
            "and are not counted as observations",
            DataWarning,
        )


def no_complete_rows_error(missing: pd.Series) -> DataError:
    """The error for data without complete rows, from the missing counts per used column."""
    worst = missing[missing > 0].sort_values(ascending=False).head(3).to_dict()
    return DataError(
        "no complete rows: every row has a missing value in a column the model uses "
        f"(missing counts: {worst}); fill or drop those values"
    )


def warn_undefined(formula: str, count: int) -> None:
    """Warn that ``count`` rows on which a term is undefined (NaN) were dropped."""
    if count:
        warn_user(
            f"dropped {count} row(s) on which a term of {formula!r} is undefined "
            "(NaN, e.g. log of a negative number)",
            DataWarning,
        )


def no_rows_left_error(formula: str) -> DataError:
    """The error for a transformation that is undefined on every complete row."""
    return DataError(f"no rows left: a term of {formula!r} is undefined on every row")


def _check_finite(columns: dict[str, pd.Series]) -> None:
    for name, column in columns.items():
        infinite = infinite_rows(column)
        if infinite is not None:
            count = int(infinite.sum())
            if count:
                raise infinite_error(name, count)


def missing_rows(column: pd.Series) -> np.ndarray | None:
    """Rows where ``column`` is missing (as ``isna``), or None when it cannot be.

    From the column's arrays: ``DataFrame.notna`` on the used columns costs
    about 0.5 ms even for a few hundred rows.
    """
    kind = _numpy_kind(column)
    if kind in ("b", "i", "u"):
        return None
    if kind == "f":
        return np.isnan(column.to_numpy())
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.array.codes) < 0
    return np.asarray(column.isna().to_numpy(), dtype=bool)


class _Rows:
    """The columns the model uses, on the rows kept, read from the data once.

    Each pandas operation on a DataFrame costs 0.1-0.5 ms (more with
    Arrow-backed string categories), which made the design of a small model
    cost several milliseconds. Numeric columns are read as arrays and
    categorical codes are taken directly (:mod:`.grouping`); the DataFrame of
    the used columns (with unused categories dropped) is built only when
    formulaic has to evaluate a term.

    Parameters
    ----------
    data : DataFrame
        The caller's data; never modified.
    variables : list of str
        Columns the model uses.
    columns : dict of str to Series
        ``data[name]`` for each of ``variables``.
    keep : ndarray of int or None
        Positions of the rows used; None when every row is used.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        variables: list[str],
        columns: dict[str, pd.Series],
        keep: np.ndarray | None,
    ) -> None:
        self.data = data
        self.variables = variables
        self.columns = columns
        self.keep = keep
        self.n = len(data) if keep is None else len(keep)
        self._frame: pd.DataFrame | None = None
        self._floats: dict[str, np.ndarray] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, name: str) -> pd.Series:
        """The column on all rows of the data (for its dtype)."""
        return self.columns[name]

    @property
    def index(self) -> pd.Index:
        """Labels of the rows used."""
        return self.data.index if self.keep is None else self.data.index[self.keep]

    def floats(self, name: str) -> np.ndarray:
        """A numeric column as floats (NaN for missing) on the rows used."""
        values = self._floats.get(name)
        if values is None:
            column = self.columns[name]
            if _numpy_kind(column) in ("i", "u", "f"):
                # Same values; ``to_numpy(na_value=...)`` scans for missing values first.
                values = column.to_numpy().astype(float, copy=False)
            else:
                values = column.to_numpy(dtype=float, na_value=np.nan)
            if self.keep is not None:
                values = values[self.keep]
            self._floats[name] = values
        return values

    @property
    def frame(self) -> pd.DataFrame:
        """The used columns on the rows used, unused categories dropped (for formulaic)."""
        if self._frame is None:
            frame = self.data.loc[:, self.variables]
            if self.keep is not None:
                frame = frame.iloc[self.keep]
            self._frame = _drop_unused_categories(frame)
        return self._frame


def _evaluate_response(data: pd.DataFrame | _Rows, response: str) -> np.ndarray:
    if isinstance(data, _Rows):
        if response in data:
            return data.floats(response)
        data = data.frame
    if response in data.columns:
        return data[response].to_numpy(dtype=float, na_value=np.nan)
    try:
        with np.errstate(all="ignore"):
            frame = model_matrix(f"{response} ~ 0", data, na_action="ignore").lhs
    except Exception as error:
        raise FormulaError(
            f"cannot evaluate the response {response!r}: {error}; check its spelling"
        ) from error
    if frame.shape[1] != 1:
        raise ColumnTypeError(
            f"response {response!r} must evaluate to a single numeric column, got "
            f"{frame.shape[1]} columns"
        )
    try:
        return np.asarray(frame, dtype=float)[:, 0]
    except (TypeError, ValueError) as error:
        raise ColumnTypeError(f"response {response!r} is not numeric: {error}") from error


def random_term_matrix(bar: BarTerm, data: pd.DataFrame) -> tuple[np.ndarray, list[str], object]:
    """Model matrix, lme4 column names and formulaic spec of one term's left side."""
    names, matrix, spec = evaluate_matrix(bar.lhs, data, f"random-effect term {bar.source!r}")
    return _random_term(bar, names, matrix, spec)


def _random_term(
    bar: BarTerm, names: list[str], matrix: np.ndarray, spec: object
) -> tuple[np.ndarray, list[str], object]:
    if not names:
        raise FormulaError(
            f"random-effect term {bar.source!r} has no columns; write (1 | g) for a random "
            "intercept"
        )
    warn_empty(f"random-effect term {bar.source!r}", empty_terms(spec))
    return matrix, [lme4_name(name) for name in names], spec


@dataclass
class DesignMatrices:
    """The evaluated (not yet reduced) matrices on a set of rows."""

    y: np.ndarray
    fixed_names: list[str]
    fixed: np.ndarray
    fixed_spec: object
    random: list[tuple[np.ndarray, list[str], object]]

    def undefined_rows(self, response: str, bars: tuple[BarTerm, ...]) -> np.ndarray:
        """Rows where a transformation gave NaN; raises on Inf, naming the column."""
        pieces = [(f"response {response!r}", self.y[:, None], [response])]
        pieces.append(("fixed effects", self.fixed, [lme4_name(n) for n in self.fixed_names]))
        pieces.extend(
            (f"random-effect term {bar.source!r}", z, names)
            for bar, (z, names, _) in zip(bars, self.random, strict=True)
        )
        undefined = np.zeros(len(self.y), dtype=bool)
        for where, matrix, names in pieces:
            if np.isfinite(matrix).all():
                continue  # the common case: one pass instead of two
            infinite = np.isinf(matrix).any(axis=0)
            if infinite.any():
                columns = [name for name, bad in zip(names, infinite, strict=True) if bad]
                raise DataError(
                    f"{where}: column(s) {columns} evaluate to infinite values (e.g. log(0)); "
                    "remove those rows or change the transformation"
                )
            undefined |= np.isnan(matrix).any(axis=1)
        return undefined


def _rows_matrix(rhs: str, rows: _Rows, context: str) -> tuple[list[str], np.ndarray, object]:
    """:func:`~.fixed.evaluate_matrix` on ``rows``, without a DataFrame for simple terms."""
    simple = simple_spec(rhs, rows)
    if simple is not None:
        return list(simple.column_names), simple.matrix_of(rows.floats, rows.n), simple
    return evaluate_matrix(rhs, rows.frame, context)


def _evaluate(parsed: ParsedFormula, rows: _Rows) -> DesignMatrices:
    y = _evaluate_response(rows, parsed.response)
    names, matrix, spec = _rows_matrix(parsed.fixed_rhs, rows, "fixed effects")
    random = [
        _random_term(bar, *_rows_matrix(bar.lhs, rows, f"random-effect term {bar.source!r}"))
        for bar in parsed.bars
    ]
    return DesignMatrices(y, names, matrix, spec, random)


def _drop_unused_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """lme4's ``drop.unused.levels = TRUE``: categories absent from the rows are removed."""
    categorical = [
        name for name in frame.columns if isinstance(frame[name].dtype, pd.CategoricalDtype)
    ]
    if not categorical:
        return frame
    frame = frame.copy()
    for name in categorical:
        frame[name] = frame[name].cat.remove_unused_categories()
    return frame


def _as_dataframe(data: object) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except (TypeError, ValueError) as error:
            raise ArgumentTypeError(
                f"data is a dict that pandas cannot turn into a DataFrame: {error}; pass a "
                "pandas DataFrame"
            ) from error
    raise ArgumentTypeError(
        f"data must be a pandas DataFrame (or a dict of columns), got {type(data).__name__}"
    )


def build_design(
    formula: str,
    data: pd.DataFrame,
    weights: object = None,
    offset: object = None,
) -> Design:
    """Build the design of an lme4 formula (lme4's ``lFormula``).

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"y ~ x + (1 | g)"``.
    data : DataFrame
        Not modified.
    weights, offset : str or array-like, optional
        A column name, or one value per row of ``data`` (by position).

    Returns
    -------
    Design

    Raises
    ------
    MixedModelsError
        Every problem with the inputs; see :mod:`mixedmodels.errors`.

    Warns
    -----
    RankDeficiencyWarning
        Columns of the fixed-effects matrix were dropped.
    DataWarning
        Rows with zero weight, or on which a transformation is undefined, were dropped.
    """
    try:
        return _build_design(formula, data, weights, offset)
    except MixedModelsError:
        raise
    except MemoryError:
        raise
    except Exception as error:  # last resort at the API boundary: never a raw exception
        raise DataError(
            f"cannot build the model {formula!r} from the data ({type(error).__name__}: "
            f"{error}); check the types of the columns the formula uses"
        ) from error


def check_frame(
    formula: object, data: object, weights: object, offset: object, rows: bool = True
) -> tuple[pd.DataFrame, ParsedFormula, list[str], dict[str, pd.Series]]:
    """The checks of the formula and the data that need no values, only names and dtypes.

    Shared by :func:`build_design` and the chunked design
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
    data = _as_dataframe(data)
    parsed = _parse(formula)
    if not parsed.bars:
        raise StructureError(
            f"formula {formula!r} has no random-effect term such as (1 | g); use an ordinary "
            "linear model for fixed effects only"
        )
    if rows and len(data) == 0:
        raise DataError("data has no rows; pass a DataFrame with observations")
    variables = model_variables(parsed)
    missing_columns = [name for name in variables if name not in data.columns]
    if missing_columns:
        raise FormulaError(_unknown_names_message(formula, missing_columns, data.columns))
    named = [*variables, *(value for value in (weights, offset) if isinstance(value, str))]
    repeated = data.columns.duplicated()
    # Indexing an Arrow-backed column Index costs about 0.1 ms: only when a name repeats.
    duplicated = sorted({str(name) for name in data.columns[repeated]}) if repeated.any() else []
    ambiguous = [name for name in duplicated if name in named]
    if ambiguous:
        raise DataError(
            f"data has duplicate column name(s) {ambiguous} used by the model; rename them so "
            "that each name refers to one column"
        )
    for bar in parsed.bars:
        overlap = _required(bar.lhs) & set(bar.group)
        if overlap:
            raise FormulaError(
                f"random-effect term {bar.source!r} uses {sorted(overlap)} on both sides of "
                "'|'; a variable cannot vary within the groups it defines: remove it from "
                "one side"
            )
    group_variables = {name for bar in parsed.bars for name in bar.group}
    # Each used column is read once; the checks below work on these Series' arrays.
    columns = {name: data[name] for name in variables}
    _check_response_type(data, columns, parsed.response)
    _check_column_types(columns, [name for name in variables if name not in group_variables])
    return data, parsed, variables, columns


def _build_design(formula: str, data: object, weights: object, offset: object) -> Design:
    data, parsed, variables, columns = check_frame(formula, data, weights, offset)
    weights_array = as_vector(weights, "weights", data)
    offset_array = as_vector(offset, "offset", data)
    _check_finite(columns)
    complete = np.ones(len(data), dtype=bool)
    for column in columns.values():
        missing = missing_rows(column)
        if missing is not None:
            complete &= ~missing
    for name, array in (("weights", weights_array), ("offset", offset_array)):
        if array is not None:
            if np.isinf(array).any():
                raise infinite_error(name, int(np.isinf(array).sum()), column=False)
            complete &= ~np.isnan(array)
    if weights_array is not None:
        negative = complete & (weights_array < 0)
        if negative.any():
            raise negative_weights_error(int(negative.sum()), int(np.flatnonzero(negative)[0]))
        zero = complete & (weights_array == 0)
        if zero.any():
            warn_zero_weights(int(zero.sum()))
            complete &= ~zero
    if not complete.any():
        raise no_complete_rows_error(data[variables].isna().sum())
    rows = _Rows(data, variables, columns, None if complete.all() else np.flatnonzero(complete))
    matrices = _evaluate(parsed, rows)
    undefined = matrices.undefined_rows(parsed.response, parsed.bars)
    if undefined.any():
        warn_undefined(formula, int(undefined.sum()))
        positions = np.flatnonzero(complete)
        complete[positions[undefined]] = False
        if not complete.any():
            raise no_rows_left_error(formula)
        rows = _Rows(data, variables, columns, np.flatnonzero(complete))
        matrices = _evaluate(parsed, rows)
        if matrices.undefined_rows(parsed.response, parsed.bars).any():
            raise DataError(
                f"a term of {formula!r} is undefined (NaN) on some rows even after dropping "
                "them; check data-dependent transformations"
            )
    nobs_dropped = int((~complete).sum())
    fixed = drop_collinear(matrices.fixed_names, matrices.fixed, matrices.fixed_spec)
    check_fixed_count(fixed.matrix.shape[1], rows.n)
    terms: list[TermSpec] = []
    specs: list[object] = []
    for bar, (z, names, spec) in zip(parsed.bars, matrices.random, strict=True):
        factor = make_grouping_factor(rows.columns, bar.group, rows.keep)
        terms.append(TermSpec(factor, z, tuple(names), full_pattern(z.shape[1]), bar.group_name))
        specs.append(spec)
    return Design(
        y=matrices.y,
        fixed=fixed,
        terms=terms,
        bars=parsed.bars,
        response_name=parsed.response,
        weights=None if weights_array is None else weights_array[complete],
        offset=None if offset_array is None else offset_array[complete],
        row_index=rows.index,
        nobs_dropped=nobs_dropped,
        re_model_specs=specs,
        parsed=parsed,
    )
