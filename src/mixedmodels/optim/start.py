"""Starting values for theta and BOBYQA's first trust-region radius.

The default start is lme4's (identity ``T``) in the internally scaled
parameters. Two moment estimates, computed from the cross-products alone, replace
it where they apply; they cost at most one evaluation of the criterion and cut
the number of evaluations (a start near the optimum also lets the first
trust-region radius be smaller):

* **Several grouping factors, all scalar intercepts** (crossed or nested)
  start at Henderson's Method I (:func:`method_one_ratios`): it needs the
  level counts and sums only, no evaluation, and counts every factor's
  variance in each factor's between sum of squares, which a one-way estimate
  does not (a nested factor's between mean square also holds its outer
  factor's variance). Over the 14 such reference fits it took 434 evaluations
  where the one-way start below took 523 (Alfalfa's split plot 38 -> 22,
  Oats 29 -> 17, Wafer 32 -> 18), with the same optima, and it skips that
  start's evaluation at a very large ``theta`` (0.7 s of 15 s on MovieLens-1M,
  16 s on ML-10M).
* **Other scalar random intercepts** start at the one-way ANOVA estimate of
  ``sigma_b / sigma``: ``(MSB - MSW) / (n0 MSW)``. With several grouping
  factors (some with slopes) the within mean square ``MSW`` is the pure-error
  mean square of the fit with every factor as fixed (the criterion at a very
  large ``theta``), since the one-way within mean square of a crossed design
  also holds the other factors' variance.
* **One grouping factor with ``p >= 2`` columns** (random slopes) starts at the
  per-level least-squares estimate: with ``b_l`` the regression of the OLS
  residuals on ``Z_l`` within level ``l``,
  ``Sigma_b = cov_l(b_l) - s^2 mean_l (Z_l' Z_l)^{-1}``, ``T T' = Sigma_b / s^2``
  (Swamy's estimator; Sigma_b is clipped to be positive definite).

Notation
--------
===========  ==============================================================
symbol       meaning
===========  ==============================================================
``k``        fixed-effect columns
``l``, ``p``  levels and columns of a block
``A_l``      ``Z_l' Z_l``
``n0``       ``(n - sum n_l^2 / n) / (l - 1)``, the ANOVA size coefficient
``s^2``      within-level residual variance
``n_lm``     rows at level ``l`` of one factor and ``m`` of another
``T_j``      ``sum_l r_l.^2 / n_l``: level sums of the OLS residuals ``r``
===========  ==============================================================
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from ..design.crossprod import CrossProducts
from ..design.terms import RandomEffectsBlock

__all__ = [
    "anova_ratios",
    "initial_steps",
    "initial_theta",
    "method_one_ratios",
    "slope_start",
]

#: Theta (times its scale) at which the criterion's ``r^2`` is the pure-error sum of squares.
PURE_ERROR_THETA = 1e4


def initial_theta(
    blocks: list[RandomEffectsBlock],
    cross: CrossProducts,
    theta_scale: np.ndarray,
    pure_error: tuple[float, float] | None = None,
    ratios: list[float | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Starting theta and a mask of the entries started from a moment estimate.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
    cross : CrossProducts
    theta_scale : ndarray
        Internal scaling of each theta entry.
    pure_error : (float, float), optional
        Residual sum of squares and degrees of freedom with every factor fixed
        (see :func:`pure_error_dof`); used for ``MSW`` with several blocks.
    ratios : list, optional
        Moment estimates of ``sigma_b^2 / sigma^2`` per block (as
        :func:`method_one_ratios`); default :func:`anova_ratios`.
    """
    n_theta = len(theta_scale)
    theta = np.zeros(n_theta)
    for block in blocks:
        theta[block.diagonal_theta_indices()] = 1.0
    theta = theta / theta_scale
    moment_started = np.zeros(n_theta, dtype=bool)
    if ratios is None:
        ratios = anova_ratios(blocks, cross, pure_error)
    for block, ratio in zip(blocks, ratios, strict=True):
        if ratio is not None:
            index = block.theta_index[0, 0]
            theta[index] = np.sqrt(np.clip(ratio, 0.01, 100.0))
            moment_started[index] = True
    if len(blocks) == 1 and blocks[0].n_columns >= 2:
        start = slope_start(blocks[0], cross)
        if start is not None:
            rows, cols = np.nonzero(blocks[0].theta_index >= 0)
            indices = blocks[0].theta_index[rows, cols]
            theta[indices] = start[rows, cols]
            moment_started[indices] = True
    return theta, moment_started


def initial_steps(moment_started: np.ndarray) -> np.ndarray:
    """First trust-region radius: smaller where the start is a moment estimate."""
    return np.where(moment_started, 0.05, 0.5)


def pure_error_dof(blocks: list[RandomEffectsBlock], cross: CrossProducts) -> float:
    """Residual degrees of freedom with every factor fixed (connected design assumed)."""
    k = cross.xy_xy.shape[0] - 1
    return float(cross.n_obs - k - sum(block.n_random - block.n_columns for block in blocks))


def _fixed_residual(cross: CrossProducts) -> tuple[np.ndarray, float] | None:
    k = cross.xy_xy.shape[0] - 1
    gram = cross.xy_xy
    if k:
        # LAPACK's gesv directly, as numpy.linalg.solve calls it, without its overhead.
        _, _, beta, info = lapack.dgesv(gram[:k, :k], gram[:k, k])
        if info != 0:
            return None
    else:
        beta = np.zeros(0)
    return beta, float(gram[k, k] - gram[:k, k] @ beta)


def anova_ratios(
    blocks: list[RandomEffectsBlock],
    cross: CrossProducts,
    pure_error: tuple[float, float] | None = None,
) -> list[float | None]:
    """Moment estimates ``(MSB - MSW) / (n0 MSW)`` of ``sigma_b^2 / sigma^2``.

    One value per block; ``None`` for blocks that are not scalar intercepts
    or where the estimate is undefined.
    """
    k = cross.xy_xy.shape[0] - 1
    fixed = _fixed_residual(cross)
    if fixed is None:
        return [None] * len(blocks)
    beta, residual_ss = fixed
    ratios: list[float | None] = []
    for block, diagonal, xy_z in zip(blocks, cross.diagonal, cross.xy_z, strict=True):
        counts = diagonal[:, 0, 0]
        n_levels = block.n_levels
        if not block.is_intercept_only or n_levels < 2 or np.any(counts <= 0):
            ratios.append(None)
            continue
        sums = xy_z[k] - beta @ xy_z[:k]
        between = float(np.sum(sums * sums / counts))
        n_total = float(counts.sum())
        if pure_error is not None and pure_error[1] > 0 and pure_error[0] > 0:
            mean_within = pure_error[0] / pure_error[1]
        else:
            within = residual_ss - between
            dof_within = n_total - n_levels - max(k - 1, 0)
            if dof_within <= 0 or within <= 0:
                ratios.append(None)
                continue
            mean_within = within / dof_within
        mean_between = between / (n_levels - 1)
        n0 = (n_total - float(np.sum(counts**2)) / n_total) / (n_levels - 1)
        ratios.append((mean_between - mean_within) / (n0 * mean_within))
    return ratios


def method_one_ratios(
    blocks: list[RandomEffectsBlock], cross: CrossProducts
) -> list[float | None] | None:
    """Henderson's Method I estimates of ``sigma_j^2 / sigma^2`` for scalar intercepts.

    The quadratic forms ``T_j`` of the OLS residuals' level sums and ``r'r``
    have expectations linear in the variances (``K`` factors, ``N`` rows,
    ``L_j`` levels, ``s_k = sum_m n_m^2 / N``, ``k_jk = sum_l sum_m n_lm^2 /
    n_l``, ``k_jj = N``)::

        E[T_j] = sum_k (k_jk - s_k) sigma_k^2 + (L_j - 1) sigma^2
        E[r'r] = sum_k (N - s_k) sigma_k^2 + (N - 1) sigma^2

    and the ``K + 1`` equations are solved for the variances. With an
    intercept as the only fixed effect this is Method I exactly (``T_j`` is
    then ``sum_l y_l.^2 / n_l - y..^2 / N``); with covariates it is an
    approximation, good enough for a start. It needs no evaluation of the
    criterion: counts and sums only.

    Returns
    -------
    list or None
        One ratio per block; None when a block is not a scalar intercept, the
        cross-products are weighted, or the estimate is undefined.
    """
    if len(blocks) < 2 or cross.sum_log_weights != 0.0:
        return None
    if not all(block.is_intercept_only and block.n_levels >= 2 for block in blocks):
        return None
    fixed = _fixed_residual(cross)
    if fixed is None:
        return None
    beta, residual_ss = fixed
    k = cross.xy_xy.shape[0] - 1
    counts = [diagonal[:, 0, 0] for diagonal in cross.diagonal]
    if min(float(count.min()) for count in counts) <= 0:
        return None
    # Plain floats and one LAPACK solve: a small model's whole start costs about as much
    # as one evaluation of its criterion, which the pure-error start would spend.
    n_obs = float(counts[0].sum())
    squares = [float(count @ count) / n_obs for count in counts]
    n_blocks = len(blocks)
    system = np.empty((n_blocks + 1, n_blocks + 1))
    totals = np.empty(n_blocks + 1)
    for j in range(n_blocks):
        sums = cross.xy_z[j][k] - beta @ cross.xy_z[j][:k]
        totals[j] = float((sums * sums) @ (1.0 / counts[j]))
        system[j, j] = n_obs - squares[j]
        system[j, n_blocks] = blocks[j].n_levels - 1.0
        for m in range(j):
            k_jm, k_mj = _pair_coefficients(cross.off_diagonal.get((j, m)), counts[j], counts[m])
            system[j, m] = k_jm - squares[m]
            system[m, j] = k_mj - squares[j]
    system[n_blocks, :n_blocks] = [n_obs - value for value in squares]
    system[n_blocks, n_blocks] = n_obs - 1.0
    totals[n_blocks] = residual_ss
    _, _, variances, info = lapack.dgesv(system, totals)
    if info != 0:
        return None
    residual = float(variances[n_blocks])
    if not all(math.isfinite(value) for value in variances.tolist()) or residual <= 0:
        return None
    return [float(value) / residual for value in variances[:n_blocks].tolist()]


def _pair_coefficients(
    matrix: object, counts_j: np.ndarray, counts_m: np.ndarray
) -> tuple[float, float]:
    """``k_jm = sum_l sum_m n_lm^2 / n_l`` over the levels ``l`` of factor ``j``, and
    ``k_mj`` the same over the levels of ``m``, from ``A_jm = Z_j' Z_m`` (``j > m``)."""
    if matrix is None:
        return 0.0, 0.0
    if sp.issparse(matrix):
        # From the CSR arrays: scipy's elementwise product and sums cost ~0.2 ms of set-up
        # per call, more than an evaluation of a small model's criterion.
        csr = matrix if matrix.format == "csr" else sp.csr_matrix(matrix)
        squares = csr.data * csr.data
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        per_j = np.bincount(rows, weights=squares, minlength=csr.shape[0])
        per_m = np.bincount(csr.indices, weights=squares, minlength=csr.shape[1])
    else:
        squared = np.asarray(matrix) ** 2
        per_j, per_m = squared.sum(axis=1), squared.sum(axis=0)
    return float(per_j @ (1.0 / counts_j)), float(per_m @ (1.0 / counts_m))


def slope_start(block: RandomEffectsBlock, cross: CrossProducts) -> np.ndarray | None:
    """Per-level least-squares moment estimate of ``T`` for one block (``None`` if undefined).

    Returns
    -------
    ndarray, shape (p, p) or None
        Lower-triangular ``T`` with ``T T' = Sigma_b / s^2``, restricted to the
        block's pattern (off-pattern entries zero; a diagonal pattern keeps the
        square roots of the variances).
    """
    k = cross.xy_xy.shape[0] - 1
    fixed = _fixed_residual(cross)
    if fixed is None:
        return None
    beta, residual_ss = fixed
    gram = cross.diagonal[0]
    levels, p, _ = gram.shape
    xy_z = cross.xy_z[0].reshape(k + 1, levels, p)
    # Z_l' r_l with r = y - X beta
    zr = xy_z[k] - np.einsum("j,jlc->lc", beta, xy_z[:k])
    det = np.linalg.det(gram)
    scale = np.prod(np.diagonal(gram, axis1=1, axis2=2), axis=1)
    usable = det > 1e-8 * np.maximum(scale, 1e-300)
    if usable.sum() <= p + 1:
        return None
    a, zr = gram[usable], zr[usable]
    inverse = np.linalg.inv(a)
    coef = np.einsum("lij,lj->li", inverse, zr)
    within = residual_ss - float(np.einsum("li,li->", coef, zr))
    dof = cross.n_obs - k - p * int(usable.sum())
    if dof <= 0 or within <= 0:
        return None
    s2 = within / dof
    centred = coef - coef.mean(axis=0)
    sigma_b = centred.T @ centred / (len(coef) - 1) - s2 * inverse.mean(axis=0)
    relative = (sigma_b + sigma_b.T) / (2.0 * s2)
    # Positive definite, scale-free: variances floored at 1 % of the sampling
    # variance, correlations' eigenvalues at 0.01 (covariates differ in scale).
    variances = np.maximum(np.diag(relative), 1e-2 * np.diag(inverse.mean(axis=0)))
    sd = np.sqrt(variances)
    correlation = relative / np.outer(sd, sd)
    np.fill_diagonal(correlation, 1.0)
    values, vectors, info = lapack.dsyevd(correlation, compute_v=1, lower=1)
    if info != 0:
        return None
    correlation = (vectors * np.maximum(values, 1e-2)) @ vectors.T
    correlation /= np.sqrt(np.outer(np.diag(correlation), np.diag(correlation)))
    relative = correlation * np.outer(sd, sd)
    pattern = block.theta_index >= 0
    if np.any(pattern[~np.eye(p, dtype=bool)]):
        factor, info = lapack.dpotrf(relative, lower=1)
        if info != 0:
            return None
    else:
        factor = np.diag(np.sqrt(np.diag(relative)))
    return np.where(pattern, factor, 0.0)
