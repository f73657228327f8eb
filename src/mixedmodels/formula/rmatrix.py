"""R's ``model.matrix``: columns, their order, codings and names, and the spec for new data.

Notation
--------
============  ================================================================
code 1        a factor in a term is coded by its contrasts (``L - 1`` columns)
code 2        a factor is coded by indicators of all ``L`` levels
============  ================================================================

A factor ``f`` in a term ``T`` gets code 1 when ``T`` without ``f`` is empty
or is contained in an earlier term, else code 2 (R's ``TermCode``). Without an
intercept, the first factor of the first term holding a factor gets code 2.
A term's columns are the products of its variables' columns, the first
variable varying fastest; names join the variables' column names with ``:``.
Column names are R's (``(Intercept)``, ``TypeT1``, ``poly(x, 2)1``,
``temperature.L``), which are lme4's coefficient names.

The spec keeps what the training data taught (factor levels, ``poly`` and
``scale`` coefficients, codings), so new data get the same columns, and a
label unseen in training is a :class:`~mixedmodels.errors.DataError` naming the
factor and the label.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArgumentError, ColumnTypeError, DataError, FormulaError
from .rfuncs import Evaluator
from .rlang import Terms, expand_terms, names_in, parse_expression
from .rpoly import contrast_matrix
from .rvalues import Factor, RMatrix

__all__ = ["RModelSpec", "SpecTerm", "SpecTerms", "evaluate_expression", "model_matrix_spec"]

INTERCEPT = "(Intercept)"
_FACTOR_MAKERS = ("factor", "as.factor", "ordered", "as.ordered", "interaction", "dummy")


@functools.lru_cache(maxsize=512)
def cached_terms(rhs: str) -> Terms:
    """:func:`~.rlang.expand_terms` of a string (cached: the result is not modified)."""
    return expand_terms(rhs)


def _column_lookup(data: Mapping[str, Any] | pd.DataFrame) -> Callable[[str], Any]:
    def column(name: str) -> Any:
        if isinstance(data, pd.DataFrame):
            if name not in data.columns:
                raise KeyError(name)
            return data[name]
        return data[name]

    return column


@dataclass(frozen=True)
class SpecTerm:
    """One term of a model spec.

    Attributes
    ----------
    label : str
        R's term label (``Time:Diet``).
    variables : tuple of str
        Labels of the term's variables, in R's order (``poly(x, 2)``, ``f``).
    columns : slice
        The term's columns among all the spec's columns (before any rank check).
    """

    label: str
    variables: tuple[str, ...]
    columns: slice


@dataclass(frozen=True)
class SpecTerms:
    """The terms interface every model spec gives (the part of R's ``terms`` lmerTest reads).

    Attributes
    ----------
    terms : tuple of SpecTerm
        The terms without the intercept, in R's order.
    intercept : bool
    factor_levels : dict of str to list of str
        Levels of each factor variable (by variable label), in order.
    treatment : bool
        Whether every factor is coded by treatment contrasts.
    data_names : tuple of str
        Names the expressions read (data columns, or ``pi``...), sorted.
    """

    terms: tuple[SpecTerm, ...]
    intercept: bool
    factor_levels: dict[str, list[str]]
    treatment: bool
    data_names: tuple[str, ...]


def _is_treatment(kind: object) -> bool:
    return isinstance(kind, str) and kind in ("contr.treatment", "treatment")


class RModelSpec:
    """The model matrix of one right-hand side as R builds it, and its rebuild for new data.

    Parameters
    ----------
    rhs : str
        Right-hand side, e.g. ``"Time * Diet"``.
    contrasts : mapping of str to str or matrix, optional
        Contrasts per factor variable label, as R's ``contrasts=`` argument.
    context : str
        What the matrix is, for messages.
    drop_unused : bool
        Drop factor levels no training row takes (lme4's ``drop.unused.levels``);
        False when the levels were fixed beforehand for all chunks of the data.
    """

    def __init__(
        self,
        rhs: str,
        contrasts: Mapping[str, object] | None = None,
        context: str = "fixed effects",
        drop_unused: bool = True,
    ) -> None:
        self.rhs = rhs
        self.drop_unused = drop_unused
        self.terms = cached_terms(rhs)
        self.contrasts = dict(contrasts or {})
        self.context = context
        self.state: dict[str, Any] = {}
        self.levels: dict[int, tuple[str, ...]] = {}
        self.ordered: dict[int, bool] = {}
        self.coding: dict[tuple[int, int], int] = {}
        self.column_names: list[str] = []
        self.term_slices: dict[str, slice] = {}
        self.fitted = False

    @property
    def data_dependent(self) -> list[str]:
        """Labels of the transformations that learn from the data.

        ``poly`` and ``scale`` (centres and spreads) and the factor makers
        (``factor``, ``as.factor``, ``ordered``, ``interaction``, ``dummy``:
        their levels).
        """
        from .rlang import Call, deparse

        found: list[str] = []

        def visit(node: object) -> None:
            if isinstance(node, Call):
                raw = any(name == "raw" for name, _ in node.args) and node.func == "poly"
                learns = node.func in ("poly", "scale", *_FACTOR_MAKERS)
                if learns and not raw:
                    found.append(deparse(node))
                for _, argument in node.args:
                    visit(argument)
            for attribute in ("left", "right", "operand", "inner"):
                if hasattr(node, attribute):
                    visit(getattr(node, attribute))

        for variable in [*self.terms.variables, *self.terms.offsets]:
            visit(variable)
        return found

    @property
    def data_names(self) -> tuple[str, ...]:
        """Names the variables and ``offset()`` terms read (data columns, or ``pi``), sorted."""
        return tuple(sorted(names_in([*self.terms.variables, *self.terms.offsets])))

    def term_table(self) -> SpecTerms:
        """The terms, their variables and columns, and the factors' levels (after the fit)."""
        if not self.fitted:
            raise FormulaError("the model matrix spec was never fitted to training data")
        labels = self.terms.labels
        treatment = all(
            _is_treatment(
                self.contrasts.get(
                    labels[index], "contr.poly" if self.ordered[index] else "contr.treatment"
                )
            )
            for index in self.levels
        )
        terms = tuple(
            SpecTerm(
                self.terms.term_label(term),
                tuple(labels[index] for index in term),
                self.term_slices[self.terms.term_label(term)],
            )
            for term in self.terms.terms
        )
        return SpecTerms(
            terms,
            bool(self.terms.intercept),
            {labels[index]: list(levels) for index, levels in self.levels.items()},
            treatment,
            self.data_names,
        )

    # ------------------------------------------------------------------ variables
    def _variable(self, evaluator: Evaluator, index: int, training: bool) -> Any:
        node = self.terms.variables[index]
        label = self.terms.labels[index]
        value = evaluator(node)
        if not training and index in self.levels and isinstance(value, np.ndarray):
            value = evaluator.as_factor(value, label)  # labels match by value: 1 == 1.0 == "1"
        logical = isinstance(value, np.ndarray) and value.dtype == bool
        if logical:
            # R codes a logical variable as a factor with both levels, always.
            value = Factor(value.astype(np.int64), ("FALSE", "TRUE"))
        elif isinstance(value, str):
            raise FormulaError(f"{self.context}: the string {label} is not a variable")
        if isinstance(value, Factor):
            if training:
                if self.drop_unused and not logical:
                    value = value.drop_unused()
                self.levels[index] = value.levels
                self.ordered[index] = value.ordered
            else:
                value, unknown = value.relabel(self.levels[index])
                if unknown:
                    raise DataError(
                        f"factor {label!r} has new level(s) {unknown[:5]} not seen when fitting "
                        f"(levels: {list(self.levels[index])[:10]}); a fixed-effect factor "
                        "cannot be predicted at a new level"
                    )
            return value
        if not training and index in self.levels:
            raise ColumnTypeError(f"{label!r} was a factor when fitting; it is numeric here")
        if isinstance(value, RMatrix):
            return value
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            array = np.full(evaluator.n_rows, float(array))
        return array

    def _code_factors(self, is_factor: list[bool]) -> None:
        """R's factor codings per (term, variable); see the module notes."""
        terms = self.terms.terms
        for position, term in enumerate(terms):
            for variable in term:
                if not is_factor[variable]:
                    continue
                rest = set(term) - {variable}
                earlier = any(rest <= set(other) for other in terms[:position])
                self.coding[(position, variable)] = 1 if (not rest or earlier) else 2
        if not self.terms.intercept:
            for position, term in enumerate(terms):
                factors = [variable for variable in term if is_factor[variable]]
                if factors:
                    self.coding[(position, factors[0])] = 2
                    break

    def _contrast(self, variable: int) -> tuple[np.ndarray, list[str]]:
        label = self.terms.labels[variable]
        default = "contr.poly" if self.ordered[variable] else "contr.treatment"
        kind = self.contrasts.get(label, default)
        return contrast_matrix(kind, self.levels[variable], label)

    def _block(self, position: int, variable: int, value: Any) -> tuple[np.ndarray, list[str]]:
        label = self.terms.labels[variable]
        if isinstance(value, Factor):
            n_levels = len(self.levels[variable])
            if self.coding[(position, variable)] == 2:
                matrix, suffixes = np.eye(n_levels), list(self.levels[variable])
            else:
                matrix, suffixes = self._contrast(variable)
            rows = np.vstack([matrix, np.full((1, matrix.shape[1]), np.nan)])
            return rows[value.codes], [label + suffix for suffix in suffixes]
        if isinstance(value, RMatrix):
            width = value.values.shape[1]
            if width == 1:
                return value.values, [label]
            suffixes = value.colnames or tuple(str(j) for j in range(1, width + 1))
            return value.values, [label + suffix for suffix in suffixes]
        return value[:, None], [label]

    # ------------------------------------------------------------------ matrices
    def _build(
        self, data: Mapping[str, Any] | pd.DataFrame, n_rows: int, training: bool
    ) -> np.ndarray:
        evaluator = Evaluator(_column_lookup(data), n_rows, self.state, training)
        values = [
            self._variable(evaluator, index, training) for index in range(len(self.terms.variables))
        ]
        if training:
            self._check_contrasts()
            self._code_factors([isinstance(value, Factor) for value in values])
        columns: list[np.ndarray] = []
        names: list[str] = []
        slices: dict[str, slice] = {}
        if self.terms.intercept:
            columns.append(np.ones((n_rows, 1)))
            names.append(INTERCEPT)
        for position, term in enumerate(self.terms.terms):
            if term:
                matrix, term_names = self._block(position, term[0], values[term[0]])
            else:
                matrix, term_names = np.ones((n_rows, 1)), [""]
            for variable in term[1:]:
                # Interaction: every column of the block times every column so far,
                # the earlier variable varying fastest (R's column order).
                block, block_names = self._block(position, variable, values[variable])
                matrix = np.einsum("na,nb->nba", matrix, block).reshape(n_rows, -1)
                term_names = [f"{prefix}:{name}" for name in block_names for prefix in term_names]
            slices[self.terms.term_label(term)] = slice(len(names), len(names) + len(term_names))
            columns.append(matrix)
            names.extend(term_names)
        if training:
            self.column_names = names
            self.term_slices = slices
            self.fitted = True
        return np.hstack(columns) if columns else np.zeros((n_rows, 0))

    def _check_contrasts(self) -> None:
        for label in self.contrasts:
            if label not in self.terms.labels:
                raise ArgumentError(
                    f"contrasts: {label!r} is not a variable of the {self.context} "
                    f"{self.rhs!r} (its variables: {self.terms.labels})"
                )

    def fit_matrix(self, data: Mapping[str, Any] | pd.DataFrame, n_rows: int) -> np.ndarray:
        """The training matrix; learns levels, codings and transformation coefficients."""
        return self._build(data, n_rows, training=True)

    def matrix_of(self, data: Mapping[str, Any] | pd.DataFrame, n_rows: int) -> np.ndarray:
        """The matrix for new data with the training levels, codings and coefficients."""
        if not self.fitted:
            raise FormulaError("the model matrix spec was never fitted to training data")
        with np.errstate(all="ignore"):
            return self._build(data, n_rows, training=False)

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """:meth:`matrix_of` a DataFrame."""
        return self.matrix_of(data, len(data))

    def get_model_matrix(self, data: pd.DataFrame, na_action: str = "ignore") -> pd.DataFrame:
        """The matrix for new data as a DataFrame with R's column names (formulaic's interface)."""
        del na_action
        return pd.DataFrame(self.matrix(data), columns=self.column_names, index=data.index)

    def offset_of(self, data: Mapping[str, Any] | pd.DataFrame, n_rows: int) -> np.ndarray | None:
        """The sum of the formula's ``offset()`` terms, or None when it has none."""
        if not self.terms.offsets:
            return None
        evaluator = Evaluator(_column_lookup(data), n_rows, self.state, False)
        total = np.zeros(n_rows)
        for node in self.terms.offsets:
            value = evaluator.numeric(node, "offset()")
            total = total + np.asarray(value, dtype=float)
        return total


def model_matrix_spec(
    rhs: str,
    data: Mapping[str, Any] | pd.DataFrame,
    n_rows: int,
    contrasts: Mapping[str, object] | None = None,
    context: str = "fixed effects",
    drop_unused: bool = True,
) -> tuple[list[str], np.ndarray, RModelSpec]:
    """R's model matrix of ``rhs`` on ``data``: column names, matrix and spec.

    Parameters
    ----------
    rhs : str
    data : DataFrame or mapping of column name to Series/array
    n_rows : int
    contrasts : mapping, optional
        Per factor variable (R's ``contrasts=``).
    context : str
    drop_unused : bool
        See :class:`RModelSpec`.

    Returns
    -------
    names : list of str
        R's (lme4's) column names.
    matrix : ndarray, shape (n_rows, k)
    spec : RModelSpec
    """
    spec = RModelSpec(rhs, contrasts, context, drop_unused)
    with np.errstate(all="ignore"):
        matrix = spec.fit_matrix(data, n_rows)
    return list(spec.column_names), matrix, spec


def evaluate_expression(
    text: str, data: Mapping[str, Any] | pd.DataFrame, n_rows: int, what: str = "response"
) -> np.ndarray:
    """A numeric vector expression (the response ``log(y)``) evaluated as R does."""
    evaluator = Evaluator(_column_lookup(data), n_rows, {}, True)
    with np.errstate(all="ignore"):
        value = evaluator(parse_expression(text))
    if isinstance(value, Factor):
        raise ColumnTypeError(f"{what} {text!r} is categorical; a numeric {what} is needed")
    if isinstance(value, RMatrix):
        if value.values.shape[1] != 1:
            raise ColumnTypeError(f"{what} {text!r} must be a single numeric column")
        return value.values[:, 0]
    array = np.asarray(value, dtype=float)
    return np.full(n_rows, float(array)) if array.ndim == 0 else array
