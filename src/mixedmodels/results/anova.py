"""F tests of the fixed-effect terms, types I, II and III (lmerTest's ``anova``).

Each term gets a hypothesis matrix ``L_t`` and the joint F test of
``L_t beta = 0`` (:func:`~mixedmodels.results.contrasts.joint_test`), with
Satterthwaite's or Kenward-Roger's denominator df. The matrices are
lmerTest's:

type 1 (sequential)
    Rows of ``L'`` from the Doolittle decomposition ``X'X = L U`` (lmerTest's
    ``get_contrasts_type1``), the term's columns.
type 2
    A term that no other term contains is tested by its own coefficients; the
    others by the Doolittle rows of ``X'X`` with the columns reordered so that
    the term and the terms containing it come last (``get_contrasts_type2``).
type 3
    With treatment contrasts: regress the fully dummy-coded design ``rdX``
    (every level of every factor, each term on its own) on ``X``, take the
    rows of ``X``'s columns, and orthogonalise each term's columns on those of
    the terms containing it, highest order first
    (``extract_contrasts_type3``).

With one term, or one column, types 2 and 3 are type 1 (as lmerTest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ArgumentError
from .contrasts import joint_test, normalise_ddf
from .fixed_terms import FixedTerms, fixed_terms, term_dummies

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["anova_table", "hypothesis_matrices"]

_TYPES = {"1": 1, "I": 1, "2": 2, "II": 2, "3": 3, "III": 3}


def _doolittle_lower(matrix: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """lmerTest's ``doolittle(x)$L``: unit lower factor of ``x = L U``, tiny entries zeroed."""
    n = matrix.shape[0]
    lower = np.eye(n)
    upper = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            upper[i, j] = matrix[i, j] - lower[i, :i] @ upper[:i, j]
        for j in range(i + 1, n):
            value = matrix[j, i] - lower[j, :i] @ upper[:i, i]
            lower[j, i] = 0.0 if abs(upper[i, i]) < eps else value / upper[i, i]
    lower[np.abs(lower) < eps] = 0.0
    return lower


def _type1(terms: FixedTerms, X: np.ndarray) -> dict[str, np.ndarray]:
    contrasts = _doolittle_lower(X.T @ X).T
    return {term.label: contrasts[list(term.columns)] for term in terms.terms}


def _type2(terms: FixedTerms, X: np.ndarray) -> dict[str, np.ndarray]:
    k = X.shape[1]
    out = {}
    for term in terms.terms:
        containing = terms.containing(term)
        if not containing:
            out[term.label] = np.eye(k)[list(term.columns)]
            continue
        last = list(term.columns) + [c for other in containing for c in other.columns]
        order = [c for c in range(k) if c not in last] + last
        reordered = X[:, order]
        contrasts = _doolittle_lower(reordered.T @ reordered).T
        rows = [order.index(c) for c in term.columns]
        matrix = np.zeros((len(rows), k))
        matrix[:, order] = contrasts[rows]
        out[term.label] = matrix
    return out


def _zapsmall(matrix: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round relative to the largest entry."""
    largest = np.max(np.abs(matrix)) if matrix.size else 0.0
    if largest == 0:
        return matrix
    places = max(0, digits - int(np.ceil(np.log10(largest))))
    return np.round(matrix, places)


def _type3(results: LmerResults, terms: FixedTerms, X: np.ndarray) -> dict[str, np.ndarray]:
    if not terms.treatment:
        raise ArgumentError(
            "type III tests are implemented for treatment contrasts (the default) only"
        )
    frame = results.model.design.fixed_frame()
    pieces = []
    if terms.intercept:
        pieces.append(pd.DataFrame({"(Intercept)": np.ones(len(frame))}, index=frame.index))
    pieces.extend(term_dummies(terms, term, frame) for term in terms.terms)
    dummies = pd.concat(pieces, axis=1)
    # L has one row per dummy column and one column per column of X.
    contrasts = _zapsmall(np.linalg.lstsq(X, dummies.to_numpy(), rcond=None)[0].T)
    row_of = {name: i for i, name in enumerate(dummies.columns)}
    for term in sorted(terms.terms, key=lambda t: len(t.variables), reverse=True):
        containing = terms.containing(term)
        if not containing:
            continue
        own = list(term.columns)
        others = [c for other in containing for c in other.columns]
        basis = contrasts[:, others]
        fitted = basis @ np.linalg.lstsq(basis, contrasts[:, own], rcond=None)[0]
        contrasts[:, own] = _zapsmall(contrasts[:, own] - fitted)
    missing = [name for name in terms.names if name not in row_of]
    if missing:
        raise ArgumentError(f"type III contrasts: no dummy column for {missing}")
    square = contrasts[[row_of[name] for name in terms.names]]
    out = {}
    for term in terms.terms:
        matrix = square[:, list(term.columns)].T
        out[term.label] = matrix[np.abs(matrix).sum(axis=1) > 1e-8]
    return out


def hypothesis_matrices(results: LmerResults, type: int | str = 3) -> dict[str, np.ndarray]:
    """lmerTest's ``L`` per term for a type I, II or III table."""
    kind = _TYPES.get(str(type).upper())
    if kind is None:
        raise ArgumentError(f"type must be 1, 2 or 3 (or 'I', 'II', 'III'), got {type!r}")
    terms = fixed_terms(results)
    rows = results.model.rows
    if rows is None:
        from ..errors import DataError

        raise DataError("anova needs the fixed-effects matrix, which this model did not keep")
    X = rows.X
    if X.shape[1] <= 1 or len(terms.terms) <= 1:
        kind = 1
    if kind == 1:
        return _type1(terms, X)
    if kind == 2:
        return _type2(terms, X)
    return _type3(results, terms, X)


def anova_table(
    results: LmerResults, type: int | str = 3, ddf: str = "Satterthwaite"
) -> pd.DataFrame:
    """lmerTest's ``anova(fit, type, ddf)``: see :meth:`LmerResults.anova`."""
    method = normalise_ddf(ddf)
    matrices = hypothesis_matrices(results, type)
    rows = {}
    for label, matrix in matrices.items():
        if matrix.shape[0] == 0:
            continue
        rows[label] = joint_test(results, matrix, np.zeros(matrix.shape[0]), method)
    columns = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).reindex(columns=columns)
