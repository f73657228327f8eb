"""From an lme4 formula and a DataFrame to the engine's design: ``y``, ``X`` and terms.

This is lme4's ``lFormula`` step: parse, drop incomplete rows, build the fixed
and random-effect model matrices, and check that the structure can be
estimated. It is the one-chunk case of the chunked build (:mod:`.chunked`):
the same checks without values (:func:`~.frame.check_frame`), the same row
mask and row errors (:mod:`.rows`) and the same response evaluation; it keeps
the matrices (for fitted values and residuals) where the chunked build keeps
only their cross-products. It is also the API boundary for bad input: every problem with the
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

All dropped rows are counted in ``Design.nobs_dropped`` (the rules live in
:func:`~mixedmodels.design.rows.complete_mask`). The caller's
DataFrame is never modified.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, FormulaError, MixedModelsError
from ..formula.parse import BarTerm, ParsedFormula
from ..formula.rvalues import categorical_factor
from .fixed import (
    FixedDesign,
    check_fixed_count,
    drop_collinear,
    empty_terms,
    lme4_name,
    warn_empty,
)
from .frame import as_vector, check_frame, group_expression_columns, numpy_kind
from .grouping import make_grouping_factor
from .rformula import r_matrix, r_response
from .rows import ChunkStats, complete_mask, raise_row_errors, raise_undefined
from .terms import TermSpec, full_pattern

__all__ = ["Design", "DesignMatrices", "build_design", "evaluate_response", "random_term_matrix"]


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
        R model specs (:class:`~mixedmodels.formula.rmatrix.RModelSpec`) of the
        random-effect terms, for ``predict``.
    parsed : ParsedFormula or None
    fixed_values : dict of str to array, optional
        Copies of the fixed part's variables on the rows used (lme4's model
        frame), for LS means and type III hypotheses.
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
    fixed_values: dict[str, object] | None = None

    def fixed_frame(self) -> pd.DataFrame:
        """The fixed part's variables on the rows used, as a DataFrame."""
        if self.fixed_values is None:
            raise DataError("this model did not keep its fixed-effect variables")
        return pd.DataFrame(dict(self.fixed_values))


def fixed_variable_names(model_spec: object) -> list[str]:
    """Names the fixed-effects part reads (the spec's ``data_names``, as in its ``term_table``)."""
    if model_spec is None:
        return []
    return list(model_spec.data_names)  # type: ignore[attr-defined]


def _fixed_values(model_spec: object, rows: _Rows) -> dict[str, object]:
    # Copies (not views of the caller's data), so results stay a snapshot.
    values = {}
    for name in fixed_variable_names(model_spec):
        if name in rows.columns:
            array = rows.columns[name].array
            values[name] = array.copy() if rows.keep is None else array[rows.keep]
    return values


class _Rows:
    """The columns the model uses, on the rows kept, read from the data once.

    Each pandas operation on a DataFrame costs 0.1-0.5 ms (more with
    Arrow-backed string categories), which made the design of a small model
    cost several milliseconds. Numeric columns are read as arrays and
    categorical codes are taken directly (:mod:`.grouping`,
    :meth:`r_column`); no DataFrame of the used columns is built.

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
            if numpy_kind(column) in ("i", "u", "f"):
                # Same values; ``to_numpy(na_value=...)`` scans for missing values first.
                values = column.to_numpy().astype(float, copy=False)
            else:
                values = column.to_numpy(dtype=float, na_value=np.nan)
            if self.keep is not None:
                values = values[self.keep]
            self._floats[name] = values
        return values

    def r_column(self, name: str) -> object:
        """A used column on the rows used, ready for R's evaluation (``KeyError`` if absent).

        Numeric columns as float arrays and categoricals as factors straight
        from their codes: no DataFrame or Series is built.
        """
        column = self.columns[name]
        if numpy_kind(column) in ("i", "u", "f"):
            return self.floats(name)
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = np.asarray(column.array.codes, dtype=np.int64)
            if self.keep is not None:
                codes = codes[self.keep]
            rows = column if self.keep is None else column.iloc[self.keep]
            return categorical_factor(codes, column.dtype, lambda: np.asarray(rows.astype(object)))
        return column if self.keep is None else column.iloc[self.keep]


def evaluate_response(data: pd.DataFrame | _Rows, response: str) -> np.ndarray:
    """The response on the rows of ``data``: a column, or an expression such as ``log(y)``."""
    if isinstance(data, _Rows):
        if response in data:
            return data.floats(response)
        return r_response(response, _Lookup(data.r_column), data.n)
    if response in data.columns:
        column = data[response]
        if numpy_kind(column) in ("i", "u", "f"):
            return column.to_numpy().astype(float, copy=False)  # no scan for missing values
        return column.to_numpy(dtype=float, na_value=np.nan)
    return r_response(response, data, len(data))


class _Lookup:
    """A mapping view of a column function (what R's evaluation reads)."""

    def __init__(self, column) -> None:
        self.column = column

    def __getitem__(self, name: str) -> object:
        return self.column(name)


def random_term_matrix(
    bar: BarTerm, data: pd.DataFrame, drop_unused: bool = True
) -> tuple[np.ndarray, list[str], object]:
    """Model matrix, lme4 column names and R model spec of one term's left side."""
    names, matrix, spec = r_matrix(
        bar.lhs, data, len(data), f"random-effect term {bar.source!r}", drop_unused=drop_unused
    )
    return _random_term(bar, names, matrix, spec)


def _random_term(
    bar: BarTerm, names: list[str], matrix: np.ndarray, spec: object
) -> tuple[np.ndarray, list[str], object]:
    if getattr(getattr(spec, "terms", None), "offsets", None):
        raise FormulaError(
            f"offset() inside the random-effect term {bar.source!r} is not supported; put "
            "offset() at the top level of the formula"
        )
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


def _evaluate(
    parsed: ParsedFormula, rows: _Rows, contrasts: dict[str, object] | None = None
) -> DesignMatrices:
    y = evaluate_response(rows, parsed.response)
    lookup = _Lookup(rows.r_column)
    names, matrix, spec = r_matrix(parsed.fixed_rhs, lookup, rows.n, "fixed effects", contrasts)
    random = [
        _random_term(bar, *r_matrix(bar.lhs, lookup, rows.n, f"random-effect term {bar.source!r}"))
        for bar in parsed.bars
    ]
    return DesignMatrices(y, names, matrix, spec, random)


def build_design(
    formula: str,
    data: pd.DataFrame,
    weights: object = None,
    offset: object = None,
    contrasts: dict[str, object] | None = None,
) -> Design:
    """Build the design of an lme4 formula (lme4's ``lFormula``).

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"y ~ x + (1 | g)"``.
    data : DataFrame
        Not modified.
    weights, offset : str or array-like, optional
        A column name, or one value per row of ``data`` (by position). An
        ``offset()`` in the formula is added to ``offset``, as in R.
    contrasts : dict, optional
        Contrasts of fixed-effect factors by variable, as R's ``contrasts=``:
        ``{"Diet": "contr.sum"}`` (``contr.treatment`` is the default,
        ``contr.poly`` for ordered categoricals).

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
        return _build_design(formula, data, weights, offset, contrasts)
    except MixedModelsError:
        raise
    except MemoryError:
        raise
    except Exception as error:  # last resort at the API boundary: never a raw exception
        raise DataError(
            f"cannot build the model {formula!r} from the data ({type(error).__name__}: "
            f"{error}); check the types of the columns the formula uses"
        ) from error


def _build_design(
    formula: str, data: object, weights: object, offset: object, contrasts: dict | None
) -> Design:
    data, parsed, variables, columns = check_frame(formula, data, weights, offset)
    columns = {**columns, **group_expression_columns(parsed, columns, len(data))}
    weights_array = as_vector(weights, "weights", data)
    offset_array = as_vector(offset, "offset", data)
    stats = ChunkStats(n_rows=len(data))
    complete = complete_mask(columns, len(data), weights_array, offset_array, stats)
    raise_row_errors(variables, stats, np.count_nonzero(complete))
    rows, matrices = _evaluate_complete(parsed, data, variables, columns, complete, contrasts)
    fixed = drop_collinear(matrices.fixed_names, matrices.fixed, matrices.fixed_spec)
    check_fixed_count(fixed.matrix.shape[1], rows.n)
    terms: list[TermSpec] = []
    specs: list[object] = []
    for bar, (z, names, spec) in zip(parsed.bars, matrices.random, strict=True):
        factor = make_grouping_factor(rows.columns, bar.group, rows.keep)
        if factor.name != bar.group_name:  # lme4's name of a nested factor: b:a for a/b
            factor = dataclasses.replace(factor, name=bar.group_name)
        terms.append(TermSpec(factor, z, tuple(names), full_pattern(z.shape[1]), bar.group_name))
        specs.append(spec)
    offset_rows = None if offset_array is None else offset_array[complete]
    formula_offset = matrices.fixed_spec.offset_of(_Lookup(rows.r_column), rows.n)
    if formula_offset is not None:
        offset_rows = formula_offset if offset_rows is None else offset_rows + formula_offset
    return Design(
        y=matrices.y,
        fixed=fixed,
        terms=terms,
        bars=parsed.bars,
        response_name=parsed.response,
        weights=None if weights_array is None else weights_array[complete],
        offset=offset_rows,
        row_index=rows.index,
        nobs_dropped=len(data) - rows.n,
        re_model_specs=specs,
        parsed=parsed,
        fixed_values=_fixed_values(matrices.fixed_spec, rows),
    )


def _evaluate_complete(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    variables: list[str],
    columns: dict[str, pd.Series],
    complete: np.ndarray,
    contrasts: dict[str, object] | None = None,
) -> tuple[_Rows, DesignMatrices]:
    """The matrices on the complete rows, less those where a term is undefined.

    ``complete`` is updated in place when undefined rows are dropped. The
    matrices are evaluated again on the rows left, so that data-dependent
    transformations see exactly the rows used.
    """
    formula = parsed.formula
    rows = _Rows(data, variables, columns, None if complete.all() else np.flatnonzero(complete))
    matrices = _evaluate(parsed, rows, contrasts)
    undefined = matrices.undefined_rows(parsed.response, parsed.bars)
    if not undefined.any():
        return rows, matrices
    positions = np.flatnonzero(complete)
    complete[positions[undefined]] = False
    stats = ChunkStats(dropped_undefined=np.count_nonzero(undefined))
    raise_undefined(formula, stats, np.count_nonzero(complete))
    rows = _Rows(data, variables, columns, np.flatnonzero(complete))
    matrices = _evaluate(parsed, rows, contrasts)
    if matrices.undefined_rows(parsed.response, parsed.bars).any():
        raise DataError(
            f"a term of {formula!r} is undefined (NaN) on some rows even after dropping "
            "them; check data-dependent transformations"
        )
    return rows, matrices
