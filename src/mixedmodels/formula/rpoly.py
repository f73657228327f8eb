"""R's orthogonal polynomials (``poly``) and contrast matrices (``contr.*``).

Notation
--------
==========  ==============================================================
``x``       the values of the variable on the training rows
``alpha``   recurrence centres, ``alpha_j = sum(x p_j^2) / sum(p_j^2)``
``norm2``   ``(1, n, sum(p_1^2), ..., sum(p_k^2))``, R's ``coefs$norm2``
``p_j``     the monic polynomial of degree ``j`` orthogonal on ``x``
==========  ==============================================================

``poly(x, k)`` is ``p_1 .. p_k`` scaled to unit length. The training basis
comes from a QR decomposition of the centred powers (R's algorithm); new data
use R's three-term recurrence with the training ``alpha`` and ``norm2``, so
``predict`` evaluates the same polynomials (R's ``predict.poly``).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, FormulaError

__all__ = ["contrast_matrix", "poly_apply", "poly_fit"]


def poly_fit(x: np.ndarray, degree: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    """R's ``attr(poly(x, degree), "coefs")``: ``alpha`` and ``norm2``.

    Raises
    ------
    DataError
        Missing values, or ``degree`` not below the number of distinct values.
    """
    if np.isnan(x).any():
        raise DataError(f"{label}: missing values are not allowed in poly()")
    if degree >= len(np.unique(x)):
        raise FormulaError(
            f"{label}: 'degree' must be less than the number of distinct values of x "
            f"({len(np.unique(x))})"
        )
    mean = float(np.mean(x))
    centred = x - mean
    powers = np.column_stack([centred**power for power in range(degree + 1)])
    q, r = np.linalg.qr(powers)
    basis = q * np.diag(r)  # Q diag(R): x^j minus its projection on the lower powers
    norm2 = np.sum(basis**2, axis=0)
    alpha = (np.sum(centred[:, None] * basis**2, axis=0) / norm2 + mean)[:degree]
    return alpha, np.concatenate([[1.0], norm2])


def poly_apply(x: np.ndarray, alpha: np.ndarray, norm2: np.ndarray) -> np.ndarray:
    """The orthogonal polynomial columns of ``x`` from the training coefficients."""
    degree = len(alpha)
    columns = np.ones((len(x), degree + 1))
    columns[:, 1] = x - alpha[0]
    for j in range(1, degree):
        columns[:, j + 1] = (x - alpha[j]) * columns[:, j] - (norm2[j + 1] / norm2[j]) * columns[
            :, j - 1
        ]
    return columns[:, 1:] / np.sqrt(norm2[2:])


def _contr_poly(n_levels: int) -> tuple[np.ndarray, list[str]]:
    scores = np.arange(1.0, n_levels + 1)
    alpha, norm2 = poly_fit(scores, n_levels - 1, "contr.poly")
    matrix = poly_apply(scores, alpha, norm2)
    names = [".L", ".Q", ".C", *(f"^{power}" for power in range(4, n_levels))][: n_levels - 1]
    return matrix, names


def contrast_matrix(
    kind: object, levels: tuple[str, ...], variable: str
) -> tuple[np.ndarray, list[str]]:
    """R's contrast matrix for a factor and the suffixes of its columns.

    Parameters
    ----------
    kind : str or array-like
        ``"contr.treatment"``, ``"contr.sum"``, ``"contr.helmert"``,
        ``"contr.poly"``, ``"contr.SAS"``, or a matrix with one row per level.
    levels : tuple of str
    variable : str
        Label of the factor, for messages.

    Returns
    -------
    matrix : ndarray, shape (n_levels, n_levels - 1)
    suffixes : list of str
        Appended to the variable's label to name each column.
    """
    n_levels = len(levels)
    if n_levels < 2:
        return np.zeros((n_levels, 0)), []
    if isinstance(kind, str):
        name = kind if kind.startswith("contr.") else f"contr.{kind}"
        if name == "contr.treatment":
            return np.eye(n_levels)[:, 1:], list(levels[1:])
        if name == "contr.SAS":
            return np.eye(n_levels)[:, :-1], list(levels[:-1])
        numbers = [str(index) for index in range(1, n_levels)]
        if name == "contr.sum":
            return np.vstack([np.eye(n_levels - 1), -np.ones(n_levels - 1)]), numbers
        if name == "contr.helmert":
            matrix = np.zeros((n_levels, n_levels - 1))
            for column in range(n_levels - 1):
                matrix[: column + 1, column] = -1.0
                matrix[column + 1, column] = column + 1.0
            return matrix, numbers
        if name == "contr.poly":
            return _contr_poly(n_levels)
        raise FormulaError(
            f"contrasts for {variable!r}: unknown contrast {kind!r}; use contr.treatment, "
            "contr.sum, contr.helmert, contr.poly, contr.SAS or a matrix"
        )
    matrix = np.asarray(kind, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != n_levels:
        raise FormulaError(
            f"contrasts for {variable!r}: a contrast matrix needs {n_levels} rows (one per "
            f"level), got shape {matrix.shape}"
        )
    return matrix, [str(index) for index in range(1, matrix.shape[1] + 1)]
