"""The design's use of R's formula language (:mod:`mixedmodels.formula.rmatrix`).

The fixed-effects and random-effect model matrices, the response, the
``offset()`` terms and grouping-factor expressions (``interaction(a, b)``) of
an lme4 formula are evaluated here with R's semantics and lme4's column
names; formulaic is no longer used on the lme4 path (it stays behind the
statsmodels-compatible ``mixedlm`` names).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArgumentTypeError, FormulaError, MixedModelsError
from ..formula.rfuncs import Evaluator
from ..formula.rlang import Name, names_in, parse_expression
from ..formula.rmatrix import RModelSpec, evaluate_expression, model_matrix_spec
from ..formula.rvalues import Factor

__all__ = [
    "R_CONSTANTS",
    "evaluate_group",
    "expression_names",
    "is_plain_name",
    "r_matrix",
    "r_response",
]

#: Names R resolves without the data when no column has them.
R_CONSTANTS = frozenset({"pi", "T", "F", "TRUE", "FALSE"})


@functools.lru_cache(maxsize=512)
def expression_names(expression: str) -> tuple[str, ...]:
    """Names an R expression or formula part reads, in order (functions excluded)."""
    return tuple(names_in([parse_expression(expression)]))


@functools.lru_cache(maxsize=512)
def is_plain_name(expression: str) -> bool:
    """Whether a grouping factor is a column name (``g``) rather than an expression."""
    try:
        return isinstance(parse_expression(expression), Name)
    except FormulaError:
        return False


def r_matrix(
    rhs: str,
    data: Mapping[str, Any] | pd.DataFrame,
    n_rows: int,
    context: str,
    contrasts: Mapping[str, object] | None = None,
    drop_unused: bool = True,
) -> tuple[list[str], np.ndarray, RModelSpec]:
    """R's model matrix of ``rhs``; a failure is a :class:`MixedModelsError` naming ``context``."""
    if contrasts is not None and not isinstance(contrasts, Mapping):
        raise ArgumentTypeError(
            "contrasts must be a dict such as {'Diet': 'contr.sum'}, got "
            f"{type(contrasts).__name__}"
        )
    try:
        return model_matrix_spec(rhs, data, n_rows, contrasts, context, drop_unused)
    except MixedModelsError as error:
        if context in str(error):
            raise
        raise type(error)(f"{context} {rhs!r}: {error}") from error


def r_response(response: str, data: Mapping[str, Any] | pd.DataFrame, n_rows: int) -> np.ndarray:
    """The response expression (``Reaction``, ``log(y)``) as R evaluates it."""
    return evaluate_expression(response, data, n_rows, "response")


def evaluate_group(expression: str, column: Callable[[str], Any], n_rows: int) -> pd.Series:
    """A grouping-factor expression (``interaction(a, b)``, ``factor(x)``) as a categorical.

    Parameters
    ----------
    expression : str
    column : callable
        ``column(name)`` gives a data column, ``KeyError`` when absent.
    n_rows : int

    Returns
    -------
    Series of categorical dtype, missing where a part is missing.
    """
    evaluator = Evaluator(column, n_rows, {}, True)
    value = evaluator(parse_expression(expression))
    factor = value if isinstance(value, Factor) else evaluator.as_factor(value, expression)
    categorical = pd.Categorical.from_codes(
        np.asarray(factor.codes, dtype=np.int64), categories=list(factor.levels)
    )
    return pd.Series(categorical, name=expression)
