"""Tests of linear hypotheses ``L beta = rhs``: t and F tests, LS means (lmerTest).

:func:`contest` is lmerTest's ``contest`` (``contest1D`` row by row,
``contestMD`` jointly), with Satterthwaite's or Kenward-Roger's denominator
degrees of freedom; :func:`ls_means` is lmerTest's ``ls_means``.

Notation
--------
=============  ================================================================
symbol         meaning
=============  ================================================================
``L``          ``m x k`` hypothesis matrix (one row per contrast)
``V``          covariance of beta (lme4's ``vcov``)
``A``          ``2 H^{-1}``: asymptotic covariance of ``varphi = (theta, sigma)``
``J_j``        ``dV / d varphi_j`` (:mod:`~mixedmodels.results.jacobian`)
``nu``         Satterthwaite df of ``l' beta``: ``2 (l'Vl)^2 / (g' A g)``,
               ``g_j = l' J_j l``
=============  ================================================================

For ``m > 1`` rows, ``L V L' = P D P'`` is diagonalised; the F statistic is
``sum_i (p_i' L beta)^2 / d_i / q`` over the ``q`` positive eigenvalues, and its
denominator df combines the rows' ``nu_i`` as lmerTest's ``get_Fstat_ddf``:
``E = sum nu_i / (nu_i - 2)``, ``ddf = 2E / (E - q)`` (2 if any ``nu_i <= 2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from ..errors import ArgumentError, DataError

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = [
    "coefficient_table",
    "contest",
    "contrast_matrix",
    "ls_means",
    "satterthwaite_basis",
    "test_rows",
]

_DDF = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "kr": "Kenward-Roger"}


def normalise_ddf(ddf: str) -> str:
    """``"Satterthwaite"`` or ``"Kenward-Roger"`` (case-insensitive); errors otherwise."""
    key = str(ddf).lower().replace("_", "-").replace(" ", "-")
    if key not in _DDF:
        raise ArgumentError(f"ddf must be 'Satterthwaite' or 'Kenward-Roger', got {ddf!r}")
    return _DDF[key]


@dataclass(frozen=True)
class SatterthwaiteBasis:
    """``V``, ``A`` and the ``J_j``, computed once per fit."""

    vcov: np.ndarray
    vcov_varpar: np.ndarray
    jacobian: np.ndarray

    def df(self, l: np.ndarray) -> tuple[float, float]:
        """``(l' V l, nu)`` for one contrast row."""
        variance = float(l @ self.vcov @ l)
        gradient = np.einsum("i,jik,k->j", l, self.jacobian, l)
        denominator = float(gradient @ self.vcov_varpar @ gradient)
        df = 2 * variance**2 / denominator if denominator > 0 else np.inf
        return variance, df


def satterthwaite_basis(results: LmerResults) -> SatterthwaiteBasis:
    """The pieces of every Satterthwaite df of a fit (cached on the results)."""
    cached = results.__dict__.get("_satterthwaite_basis")
    if cached is not None:
        return cached
    from .jacobian import covariance_jacobian, varpar_covariance

    model = results.model
    # One BLAS thread, as the fit: multithreaded BLAS on the criterion's small dense
    # blocks was measured 10x slower or worse on a shared machine (InstEval: 4 s per
    # evaluation instead of 0.3 s at load 12).
    with threadpool_limits(limits=model.blas_threads, user_api="blas"):
        state = results.criterion_state()  # a private copy at the fit's theta
        jacobian = covariance_jacobian(state, model.cross, results.theta, results.sigma)
        vcov_varpar = varpar_covariance(state, results.theta, results.sigma, model.theta_scale)
    basis = SatterthwaiteBasis(results.cov_fe.to_numpy(), vcov_varpar, jacobian)
    results.__dict__["_satterthwaite_basis"] = basis
    return basis


def contrast_matrix(results: LmerResults, L: object, rhs: object = 0.0) -> tuple:
    """``L`` as an ``m x k`` float array (with row names) and ``rhs`` as a length-m vector.

    Raises
    ------
    ArgumentError
        ``L`` does not have one column per fixed effect, or ``rhs`` has the wrong length.
    """
    names = list(results.cov_fe.columns)
    k = len(names)
    row_names = None
    if isinstance(L, pd.DataFrame):
        row_names = [str(name) for name in L.index]
        if set(L.columns) == set(names):
            L = L[names]
        L = L.to_numpy(dtype=float)
    elif isinstance(L, pd.Series):
        if set(L.index) == set(names):
            L = L[names]
        L = L.to_numpy(dtype=float)
    try:
        matrix = np.atleast_2d(np.asarray(L, dtype=float))
    except (TypeError, ValueError) as error:
        raise ArgumentError(f"L must be a numeric matrix with {k} columns: {error}") from None
    if matrix.ndim != 2 or matrix.shape[1] != k:
        raise ArgumentError(
            f"L has shape {np.shape(L)}, but it needs {k} columns, one per fixed effect "
            f"({', '.join(names)})"
        )
    rhs_vector = (
        np.broadcast_to(np.asarray(rhs, dtype=float), (matrix.shape[0],)).copy()
        if (np.ndim(rhs) == 0 or np.size(rhs) == matrix.shape[0])
        else None
    )
    if rhs_vector is None:
        raise ArgumentError(f"rhs must be a number or have {matrix.shape[0]} values (rows of L)")
    if row_names is None:
        row_names = [str(i + 1) for i in range(matrix.shape[0])]
    return matrix, rhs_vector, row_names


def _one_row(
    results: LmerResults, l: np.ndarray, rhs: float, ddf: str
) -> tuple[float, float, float]:
    """``(estimate, standard error, df)`` of ``l' beta`` (lmerTest's ``contest1D``)."""
    estimate = float(l @ results._beta)
    if ddf == "Kenward-Roger":
        from .kenward_roger import kenward_roger

        adjustment = kenward_roger(results)
        variance = float(l @ adjustment.vcov_adjusted @ l)
        return estimate, np.sqrt(variance), adjustment.ddf(l)
    variance, df = satterthwaite_basis(results).df(l)
    return estimate, np.sqrt(variance), df


def test_rows(
    results: LmerResults, L: np.ndarray, rhs: np.ndarray, ddf: str, level: float = 0.95
) -> pd.DataFrame:
    """One t test per row of ``L``, with a ``level`` confidence interval."""
    rows = []
    for l, value in zip(L, rhs, strict=True):
        estimate, error, df = _one_row(results, l, value, ddf)
        t_value = (estimate - value) / error
        half = stats.t.ppf(0.5 + level / 2, df) * error
        p_value = 2 * stats.t.sf(abs(t_value), df)
        rows.append((estimate, error, df, t_value, estimate - half, estimate + half, p_value))
    return pd.DataFrame(
        rows, columns=["Estimate", "Std. Error", "df", "t value", "lower", "upper", "Pr(>|t|)"]
    )


def coefficient_table(results: LmerResults, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """lmerTest's ``summary(fit, ddf)$coefficients``: one t test per fixed effect."""
    method = normalise_ddf(ddf)
    names = list(results.cov_fe.index)
    table = test_rows(results, np.eye(len(names)), np.zeros(len(names)), method)
    table.index = names
    return table[["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]]


def _f_row(f_value: float, ndf: float, ddf: float, sigma: float, scale: float = 1.0) -> dict:
    mean_square = f_value * sigma**2
    f_scaled = f_value * scale
    return {
        "Sum Sq": mean_square * ndf,
        "Mean Sq": mean_square,
        "NumDF": ndf,
        "DenDF": ddf,
        "F value": f_scaled,
        "Pr(>F)": float(stats.f.sf(f_scaled, ndf, ddf)),
    }


def _combined_ddf(nu: np.ndarray) -> float:
    """lmerTest's ``get_Fstat_ddf``."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    expectation = float(np.sum(nu / (nu - 2)))
    return 2 * expectation / (expectation - len(nu))


def joint_test(results: LmerResults, L: np.ndarray, rhs: np.ndarray, ddf: str) -> dict:
    """The F test of ``L beta = rhs`` (lmerTest's ``contestMD``)."""
    sigma = results.sigma
    beta = results._beta
    if np.any(rhs != 0):
        beta = beta - np.linalg.pinv(L) @ rhs
    if ddf == "Kenward-Roger":
        from .kenward_roger import kenward_roger

        test = kenward_roger(results).f_test(L, beta)
        return _f_row(test["F_unscaled"], test["ndf"], test["ddf"], sigma, test["F_scaling"])
    if L.shape[0] == 1:
        estimate, error, df = _one_row(results, L[0], 0.0, ddf)
        estimate = float(L[0] @ beta)
        return _f_row((estimate / error) ** 2, 1, df, sigma)
    values, vectors = np.linalg.eigh(L @ results.cov_fe.to_numpy() @ L.T)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    positive = values > max(np.sqrt(np.finfo(float).eps) * values[0], 0)
    q = int(positive.sum())
    if q == 0:
        raise ArgumentError("L beta has zero variance: the hypothesis tests nothing")
    rotated = (vectors.T @ L)[:q]
    basis = satterthwaite_basis(results)
    if q == 1:
        variance, df = basis.df(rotated[0])
        return _f_row(float(rotated[0] @ beta) ** 2 / variance, 1, df, sigma)
    f_value = float(np.sum((rotated @ beta) ** 2 / values[:q])) / q
    nu = np.array([basis.df(row)[1] for row in rotated])
    return _f_row(f_value, q, _combined_ddf(nu), sigma)


def contest(
    results: LmerResults,
    L: object,
    ddf: str = "Satterthwaite",
    joint: bool = True,
    rhs: object = 0.0,
    level: float = 0.95,
) -> pd.DataFrame:
    """lmerTest's ``contest``: see :meth:`LmerResults.contest`."""
    method = normalise_ddf(ddf)
    matrix, rhs_vector, row_names = contrast_matrix(results, L, rhs)
    if joint:
        return pd.DataFrame([joint_test(results, matrix, rhs_vector, method)])
    table = test_rows(results, matrix, rhs_vector, method, level)
    table.index = row_names
    return table


def ls_means(
    results: LmerResults, term: str | None = None, ddf: str = "Satterthwaite", level: float = 0.95
) -> pd.DataFrame:
    """lmerTest's ``ls_means``: see :meth:`LmerResults.ls_means`."""
    from .fixed_terms import fixed_terms, term_dummies

    method = normalise_ddf(ddf)
    terms = fixed_terms(results)
    factor_terms = [t for t in terms.terms if not terms.is_numeric(t)]
    if term is None:
        chosen = factor_terms
    else:
        chosen = [terms.by_label(term)]
        if terms.is_numeric(chosen[0]):
            raise ArgumentError(f"ls_means needs a factor term; {term!r} involves a covariate")
    frame = results.model.design.fixed_frame()
    grid = _reference_grid(terms, frame)
    design = results.model.design
    grid_matrix = design.fixed.new_matrix(grid)
    tables = []
    for current in chosen:
        indicators = term_dummies(terms, current, grid)
        weights = indicators.to_numpy() / indicators.to_numpy().sum(axis=0)
        L = weights.T @ grid_matrix
        table = test_rows(results, L, np.zeros(len(L)), method, level)
        table.index = list(indicators.columns)
        tables.append(table)
    if not tables:
        raise DataError("the model has no factor terms to take LS means of")
    return pd.concat(tables)


def _reference_grid(terms, frame: pd.DataFrame) -> pd.DataFrame:
    """Every combination of factor levels, covariates at their means (``expand.grid``)."""
    factors = [name for name in frame.columns if name in terms.factor_levels]
    covariates = [name for name in frame.columns if name not in terms.factor_levels]
    if factors:
        # The data's own level values (formulaic matches them by value, not by label).
        levels = {}
        for name in factors:
            categories = pd.Index(frame[name].astype("category").cat.categories)
            by_label = {str(value): value for value in categories}
            levels[name] = [by_label[label] for label in terms.factor_levels[name]]
        index = pd.MultiIndex.from_product([levels[name] for name in factors], names=factors)
        grid = index.to_frame(index=False)
        for name in factors:
            grid[name] = pd.Categorical(grid[name], categories=levels[name])
    else:
        grid = pd.DataFrame(index=[0])
    for name in covariates:
        grid[name] = float(np.mean(np.asarray(frame[name], dtype=float)))
    return grid
