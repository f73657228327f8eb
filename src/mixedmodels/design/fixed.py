"""Fixed-effects design: model matrix with formulaic, lme4 names and rank checks."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from formulaic import ModelSpec, model_matrix
from scipy.linalg import lapack

from ..errors import (
    ColumnTypeError,
    DataError,
    FormulaError,
    RankDeficiencyWarning,
    StructureError,
    warn_user,
)
from ..formula.rmatrix import SpecTerm, SpecTerms

__all__ = [
    "FixedDesign",
    "build_fixed",
    "check_fixed_count",
    "drop_collinear",
    "empty_terms",
    "evaluate_matrix",
    "independent_columns",
    "lme4_name",
    "simple_spec",
    "warn_dropped",
    "warn_empty",
]

_TREATMENT = re.compile(r"\[T\.([^\]]*)\]")


def lme4_name(name: str) -> str:
    """Translate formulaic's column names to R's: ``Intercept -> (Intercept)``, ``f[T.b] -> fb``."""
    if name == "Intercept":
        return "(Intercept)"
    return _TREATMENT.sub(r"\1", name)


@dataclass
class FixedDesign:
    """Fixed-effects matrix with the spec needed to rebuild it for new data.

    Attributes
    ----------
    matrix : ndarray, shape (n, k)
        Columns kept after the rank check.
    names : list of str
        Names of the kept columns: R's (lme4's) on the lme4 path
        (:mod:`mixedmodels.formula.rmatrix`), formulaic's on the mixedlm path.
    all_names : list of str
        Names of every column before the rank check.
    dropped : list of str
        Columns dropped as constant or collinear.
    model_spec : RModelSpec, formulaic ModelSpec or None
        Rebuilds the matrix for new data.
    """

    matrix: np.ndarray
    names: list[str]
    all_names: list[str]
    dropped: list[str]
    model_spec: object | None

    @property
    def lme4_names(self) -> list[str]:
        """Kept column names in R's spelling."""
        return [lme4_name(name) for name in self.names]

    def term_table(self) -> SpecTerms:
        """The terms of the fixed part, one interface for every kind of spec.

        Raises
        ------
        DataError
            If the matrix was not built from a formula.
        """
        if self.model_spec is None:
            raise DataError("this needs a model built from a formula (its fixed-effect terms)")
        if isinstance(self.model_spec, ModelSpec):  # formulaic's class: adapted here, once
            return _formulaic_term_table(self.model_spec)
        return self.model_spec.term_table()  # type: ignore[attr-defined]

    def new_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Model matrix of the kept columns for new data."""
        if self.model_spec is None:
            raise FormulaError("this model was not built from a formula; pass exog explicitly")
        frame = self.model_spec.get_model_matrix(data, na_action="ignore")
        return np.asarray(frame[self.names], dtype=float)


def _formulaic_term_table(spec: ModelSpec) -> SpecTerms:
    """:class:`SpecTerms` of a formulaic model spec (the ``mixedlm`` path)."""
    factor_levels: dict[str, list[str]] = {}
    treatment = True
    for factor, state in spec.factor_contrasts.items():
        factor_levels[str(factor)] = [str(level) for level in state.levels]
        kind = type(state.contrasts).__name__ if state.contrasts is not None else ""
        treatment &= kind in ("TreatmentContrasts", "")
    intercept = False
    terms = []
    for term, indices in spec.term_indices.items():
        if str(term) == "1":
            intercept = True
            continue
        columns = slice(indices[0], indices[-1] + 1) if indices else slice(0, 0)
        terms.append(SpecTerm(str(term), tuple(str(f) for f in term.factors), columns))
    names = tuple(sorted(str(name) for name in spec.required_variables))
    return SpecTerms(tuple(terms), intercept, factor_levels, treatment, names)


def independent_columns(matrix: np.ndarray, tolerance: float = 1e-7) -> np.ndarray:
    """Indices of columns to keep: each kept column is not in the span of earlier kept ones.

    This is lme4's choice (R's ``qr`` with its limited pivoting moves only
    deficient columns to the end), so earlier columns win, the intercept first.
    A clearly full-rank matrix (:func:`_clearly_full_rank`) keeps every column
    without the column-by-column loop.
    """
    if matrix.shape[1] == 0:
        return np.zeros(0, dtype=int)
    if _clearly_full_rank(matrix):
        return np.arange(matrix.shape[1])
    norms = np.sqrt(np.sum(matrix * matrix, axis=0))
    scale = np.where(norms > 0, norms, 1.0)
    normalised = matrix / scale
    keep: list[int] = []
    basis = np.zeros((matrix.shape[0], 0))
    for column in range(matrix.shape[1]):
        if norms[column] == 0:
            continue
        vector = normalised[:, column]
        if basis.shape[1]:
            vector = vector - basis @ (basis.T @ vector)
            vector = vector - basis @ (basis.T @ vector)
        residual = np.linalg.norm(vector)
        if residual > tolerance:
            keep.append(column)
            basis = np.column_stack([basis, vector / residual])
    return np.array(keep, dtype=int)


#: Smallest pivot of the scaled Gram matrix for which every column is kept without the
#: loop of :func:`independent_columns`; far above its tolerance, see
#: :func:`_clearly_full_rank`.
CLEAR_PIVOT = 1e-2
_TINY = 1e-250
_HUGE = 1e250


def _clearly_full_rank(matrix: np.ndarray) -> bool:
    """True when every column is far from the span of the earlier ones.

    The Cholesky factor of the Gram matrix of the unit-norm columns has
    ``L_jj`` = distance of column ``j`` from the span of columns ``0 .. j-1``
    (the ``R_jj`` of their QR factorisation), which is what
    :func:`independent_columns` compares with its tolerance. Rounding moves a
    pivot ``L_jj^2`` by about ``k^2 eps / CLEAR_PIVOT^2`` while all pivots are at
    least :data:`CLEAR_PIVOT`, so above it the loop would keep every column too.
    Anything closer (or a zero or non-finite column) is left to the loop. One
    pass over the rows and a ``k x k`` factorisation, against the loop's ``k``
    passes and its Python overhead (0.2 ms for a 12-column factor design).
    """
    gram = matrix.T @ matrix
    squares = gram.diagonal()
    # Zero, non-finite or over/underflowing columns are left to the loop.
    if not (squares.min() > _TINY and squares.max() < _HUGE):
        return False
    norms = np.sqrt(squares)
    scaled = gram / norms
    scaled /= norms[:, None]
    factor, info = lapack.dpotrf(scaled, lower=1, overwrite_a=1)
    return info == 0 and bool(factor.diagonal().min() > CLEAR_PIVOT)


class SimpleSpec:
    """Model spec of a right-hand side made of an intercept and numeric columns only.

    formulaic's parse and materialisation cost 2-4 ms per formula, which is
    most of the fit of a small model; a formula such as ``1 + Days`` needs none
    of it. This spec builds the same matrix, with formulaic's column names and
    order (intercept first, repeated terms once), and rebuilds it for new data.
    """

    def __init__(self, intercept: bool, columns: list[str]) -> None:
        self.intercept = intercept
        self.columns = columns
        self.column_names = (["Intercept"] if intercept else []) + columns

    def get_model_matrix(self, data: pd.DataFrame, na_action: str = "ignore") -> pd.DataFrame:
        """The model matrix for ``data``, as a DataFrame (formulaic's interface)."""
        del na_action
        matrix = self.matrix(data)
        return pd.DataFrame(matrix, columns=self.column_names, index=data.index)

    @property
    def data_names(self) -> tuple[str, ...]:
        """The columns read, sorted."""
        return tuple(sorted(self.columns))

    def term_table(self) -> SpecTerms:
        """One term per numeric column (see :class:`~mixedmodels.formula.rmatrix.SpecTerms`)."""
        start = int(self.intercept)
        terms = tuple(
            SpecTerm(name, (name,), slice(start + index, start + index + 1))
            for index, name in enumerate(self.columns)
        )
        return SpecTerms(terms, self.intercept, {}, True, self.data_names)

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The model matrix for ``data``."""
        return self.matrix_of(
            lambda name: data[name].to_numpy(dtype=float, na_value=np.nan), len(data)
        )

    def matrix_of(self, values: Callable[[str], np.ndarray], n_rows: int) -> np.ndarray:
        """The model matrix from ``values(name)``, the float values of each column."""
        matrix = np.empty((n_rows, len(self.column_names)))
        start = 0
        if self.intercept:
            matrix[:, 0] = 1.0
            start = 1
        for position, name in enumerate(self.columns, start=start):
            matrix[:, position] = values(name)
        return matrix


def _simple_spec(rhs: str, data: pd.DataFrame) -> SimpleSpec | None:
    """A :class:`SimpleSpec` when ``rhs`` is only ``1``/``0``/``-1`` and numeric columns."""
    if data.columns.duplicated().any():
        return None
    return simple_spec(rhs, data)


def simple_spec(rhs: str, data: Mapping[str, pd.Series] | pd.DataFrame) -> SimpleSpec | None:
    """A :class:`SimpleSpec` when ``rhs`` is only ``1``/``0``/``-1`` and numeric columns.

    Parameters
    ----------
    rhs : str
        Right-hand side of a formula part.
    data : mapping of column name to Series, or DataFrame with unique column names
        Only the dtypes of the columns are looked at.

    Returns
    -------
    SimpleSpec or None
        None when formulaic is needed.
    """
    intercept = True
    columns: list[str] = []
    for raw in rhs.replace("-", "+-").split("+"):
        term = raw.strip()
        if term in ("", "1"):
            continue
        if term in ("0", "-1", "- 1"):
            intercept = False
            continue
        if term not in data:
            return None
        column = data[term]
        if (
            isinstance(column, pd.DataFrame)
            or not pd.api.types.is_numeric_dtype(column)
            or pd.api.types.is_bool_dtype(column)
            or pd.api.types.is_complex_dtype(column)
        ):
            return None
        if term not in columns:
            columns.append(term)
    return SimpleSpec(intercept, columns)


def evaluate_matrix(
    rhs: str, data: pd.DataFrame, context: str, variables: Mapping[str, object] | None = None,
    sparse: bool = False,
) -> tuple[list[str], np.ndarray | sp.csr_matrix, object]:
    """Evaluate a right-hand side with formulaic: column names, matrix and model spec.

    Right-hand sides made only of an intercept and numeric columns take a
    direct path (:class:`SimpleSpec`) with the same result. With ``sparse``
    the matrix is a CSR matrix with its explicit zeros removed.

    Numpy's floating-point warnings (``log`` of a negative number) are
    silenced: the caller checks the matrix for NaN and Inf and reports them by
    column. Any formulaic error becomes a :class:`FormulaError` naming ``context``.
    ``variables`` are extra names (e.g. the caller's functions) the formula may use.
    """
    simple = None if sparse else _simple_spec(rhs, data)
    if simple is not None:
        return list(simple.column_names), simple.matrix(data), simple
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = model_matrix(
                rhs, data, na_action="ignore", context=dict(variables or {}),
                output="sparse" if sparse else "pandas",
            )
    except Exception as error:  # formulaic raises many types; re-raise as one clear error
        raise FormulaError(
            f"cannot build the {context} from {rhs!r}: {type(error).__name__}: {error}; check "
            "the spelling of the terms and the types of their columns"
        ) from error
    if sparse:
        matrix = sp.csr_matrix(frame, dtype=float)
        matrix.eliminate_zeros()
        return [str(name) for name in frame.model_spec.column_names], matrix, frame.model_spec
    names = [str(name) for name in frame.columns]
    try:
        matrix = np.asarray(frame, dtype=float)
    except (TypeError, ValueError) as error:
        raise ColumnTypeError(
            f"the {context} {rhs!r} produced non-numeric columns {names}: {error}; convert the "
            "columns to numbers or categories first"
        ) from error
    return names, matrix, frame.model_spec


def empty_terms(model_spec: object | None) -> list[str]:
    """Terms of a formulaic model spec that produced no column (a one-level factor)."""
    try:
        slices = model_spec.term_slices  # type: ignore[union-attr]
    except AttributeError:
        return []
    return [str(term) for term, piece in slices.items() if piece.stop == piece.start]


def warn_empty(context: str, empty: list[str]) -> None:
    """Warn that the terms ``empty`` (see :func:`empty_terms`) of ``context`` were dropped.

    Parameters
    ----------
    context : str
        What the matrix is, e.g. ``"fixed effects"``.
    empty : list of str
        Terms without a column; nothing is issued when empty.
    """
    if empty:
        warn_user(
            f"{context}: term(s) {empty} produce no column (a factor with a single level in "
            "the rows used is constant); they were dropped",
            RankDeficiencyWarning,
        )


def warn_dropped(context: str, dropped: list[str]) -> None:
    """Warn that the collinear columns ``dropped`` (formulaic names) were removed.

    Parameters
    ----------
    context : str
        What the matrix is, e.g. ``"fixed effects"``.
    dropped : list of str
        formulaic names of the dropped columns; nothing is issued when empty.
    """
    if dropped:
        warn_user(
            f"{context}: the model matrix is rank deficient, so {len(dropped)} column(s) that "
            "are constant or collinear with earlier columns were dropped: "
            f"{', '.join(repr(lme4_name(name)) for name in dropped)}; their coefficients are "
            "reported as NaN (reorder the formula's terms to choose which column is kept)",
            RankDeficiencyWarning,
        )


def check_fixed_count(n_columns: int, n_obs: int) -> None:
    """Raise when the independent fixed-effect columns leave no residual degree of freedom.

    Raises
    ------
    StructureError
        ``n_columns >= n_obs``.
    """
    if n_columns >= n_obs:
        raise StructureError(
            f"the fixed effects have {n_columns} independent columns for "
            f"{n_obs} observations; the residual variance cannot be estimated: simplify "
            "the fixed part"
        )


def drop_collinear(
    names: list[str],
    matrix: np.ndarray,
    model_spec: object | None,
    context: str = "fixed effects",
) -> FixedDesign:
    """Keep a full-rank subset of the columns (lme4's choice) and warn about the others.

    Parameters
    ----------
    names : list of str
        formulaic names of the columns of ``matrix``.
    matrix : ndarray, shape (n, k)
        Finite model matrix.
    model_spec : formulaic ModelSpec or None
    context : str
        What the matrix is, for the warning.

    Returns
    -------
    FixedDesign

    Warns
    -----
    RankDeficiencyWarning
        Naming the dropped columns (lme4 spelling); their coefficients are
        reported as NaN.
    """
    warn_empty(context, empty_terms(model_spec))
    keep = independent_columns(matrix)
    kept = set(keep.tolist())
    dropped = [names[index] for index in range(len(names)) if index not in kept]
    warn_dropped(context, dropped)
    return FixedDesign(
        matrix[:, keep], [names[index] for index in keep], list(names), dropped, model_spec
    )


def build_fixed(
    rhs: str,
    data: pd.DataFrame,
    context: str = "fixed effects",
    variables: Mapping[str, object] | None = None,
) -> FixedDesign:
    """Model matrix of ``rhs`` on ``data`` with collinear columns dropped (and a warning).

    Parameters
    ----------
    rhs : str
        Right-hand side in formulaic syntax, e.g. ``"1 + x + f"``.
    data : DataFrame
        Complete rows only.
    context : str
        What the matrix is, for messages.
    variables : mapping, optional
        Names other than columns the formula may use (statsmodels' ``eval_env``).

    Returns
    -------
    FixedDesign

    Raises
    ------
    FormulaError
        If formulaic cannot build the matrix.
    DataError
        If a column of the matrix holds NaN or Inf.
    """
    names, matrix, spec = evaluate_matrix(rhs, data, context, variables)
    bad = [name for name, ok in zip(names, np.isfinite(matrix).all(axis=0), strict=True) if not ok]
    if bad:
        raise DataError(
            f"the {context} column(s) {[lme4_name(name) for name in bad]} hold NaN or infinite "
            "values; remove those rows or change the transformation"
        )
    return drop_collinear(names, matrix, spec, context)
