"""Exact Jacobian of the fixed-effects covariance with respect to the variance parameters.

lmerTest differentiates ``V(varphi) = sigma^2 (X' Sigma_theta^{-1} X)^{-1}`` by
finite differences, which re-evaluates the criterion (and, for a large model,
re-factors the whole system) a dozen times. The derivative has a closed form
that needs only the blocked factor already computed at the optimum:

.. math::

    \\frac{\\partial (X' \\Sigma^{-1} X)}{\\partial \\theta_j}
        = -W' \\frac{\\partial \\Lambda \\Lambda'}{\\partial \\theta_j} W,
    \\qquad W = Z' \\Sigma^{-1} X = Z'X - Z'Z \\Lambda M^{-1} \\Lambda' Z' X,

with ``M = Lambda' Z' Z Lambda + I = L_Z L_Z'`` (weights included in every
cross-product). ``M^{-1} Lambda' Z' X = L_Z^{-T} R_X``, where ``R_X`` is the
``X`` rows of the factor (``L_xy``), so ``W`` costs one block back-substitution
and one product with ``Z'Z``. ``d(Lambda Lambda')/d theta_j`` is block diagonal
with the same ``p x p`` block ``D_j = E_j T' + T E_j'`` at every level of its
grouping factor, so each derivative is a sum of ``k x k`` products over levels.

Notation
--------
===========  ================================================================
symbol       meaning
===========  ================================================================
``Sigma``    ``W^{-1} + Z Lambda Lambda' Z'``, the marginal covariance / sigma^2
``P``        ``X' Sigma^{-1} X = L_X L_X'``
``V``        ``sigma^2 P^{-1}``, the covariance of beta
``E_j``      the ``p x p`` indicator of theta entry ``j`` in its block's ``T``
``varphi``   ``(theta, sigma)``
===========  ================================================================

Then ``dV/d theta_j = sigma^2 P^{-1} (W' D_j W) P^{-1}`` and
``dV/d sigma = 2 sigma P^{-1}``. The tests compare this with central
differences of ``V``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from ..linalg.blocks import BlockDiagonalLower, as_dense

if TYPE_CHECKING:
    from ..design.crossprod import CrossProducts
    from ..design.terms import RandomEffectsBlock
    from ..objective.pls import PLSState

__all__ = ["covariance_jacobian", "marginal_cross", "varpar_covariance"]


def _solve_upper(state: PLSState, rhs: list[np.ndarray]) -> list[np.ndarray]:
    """``L_Z^{-T} rhs`` by block back-substitution; ``rhs[j]`` is ``(q_j, c)``."""
    n_blocks = len(state.blocks)
    out: list[np.ndarray | None] = [None] * n_blocks
    for j in reversed(range(n_blocks)):
        current = rhs[j].copy()
        for i in range(j + 1, n_blocks):
            off = state.L_off.get((i, j))
            if off is not None:
                current -= as_dense(off.T @ out[i])
        diagonal = state.L_diag[j]
        if isinstance(diagonal, BlockDiagonalLower):
            levels, p, _ = diagonal.shape
            solved = np.einsum("lji,ljc->lic", diagonal.inverse, current.reshape(levels, p, -1))
            out[j] = solved.reshape(current.shape)
        else:
            out[j] = scipy.linalg.solve_triangular(
                diagonal.to_dense(), current, lower=True, trans="T", check_finite=False
            )
    return out  # type: ignore[return-value]


def marginal_cross(state: PLSState, cross: CrossProducts) -> list[np.ndarray]:
    """``W_b = Z_b' Sigma^{-1} X`` per block, each ``(q_b, k)``, at the installed theta."""
    k = state.n_fixed
    blocks = state.blocks
    rx = [piece[:k, :].T for piece in state.L_xy]
    solved = _solve_upper(state, rx)
    # Lambda (M^{-1} Lambda' Z' X), level by level with each block's T.
    scaled = []
    for block, factor, piece in zip(blocks, state.factors, solved, strict=True):
        levels, p = block.n_levels, block.n_columns
        scaled.append(np.einsum("ab,lbc->lac", factor, piece.reshape(levels, p, k)).reshape(-1, k))
    result = []
    for j, block in enumerate(blocks):
        levels, p = block.n_levels, block.n_columns
        piece = cross.xy_z[j][:k, :].T.copy()
        piece -= np.einsum(
            "lab,lbc->lac", cross.diagonal[j], scaled[j].reshape(levels, p, k)
        ).reshape(-1, k)
        result.append(piece)
    for (i, j), product in cross.off_diagonal.items():
        result[i] -= as_dense(product @ scaled[j])
        result[j] -= as_dense(product.T @ scaled[i])
    return result


def _theta_positions(blocks: list[RandomEffectsBlock], n_theta: int) -> list[tuple[int, int, int]]:
    position = [(-1, -1, -1)] * n_theta
    for b, block in enumerate(blocks):
        rows, cols = np.nonzero(block.theta_index >= 0)
        for row, col in zip(rows, cols, strict=True):
            position[int(block.theta_index[row, col])] = (b, int(row), int(col))
    return position


def covariance_jacobian(
    state: PLSState, cross: CrossProducts, theta: np.ndarray, sigma: float
) -> np.ndarray:
    """``dV / d varphi`` at ``(theta, sigma)``, shape ``(n_theta + 1, k, k)``.

    The state is evaluated at ``theta`` (a no-op when it is already there).
    """
    state.evaluate(theta)
    k = state.n_fixed
    n_theta = len(theta)
    unscaled = state.fixed_covariance_unscaled()  # P^{-1}
    jacobian = np.empty((n_theta + 1, k, k))
    if k == 0:
        return jacobian
    marginal = marginal_cross(state, cross)
    for index, (b, row, col) in enumerate(_theta_positions(state.blocks, n_theta)):
        block = state.blocks[b]
        factor = state.factors[b]
        levels, p = block.n_levels, block.n_columns
        # D = E T' + T E' with E the indicator of (row, col): row `row` of D is T[:, col]'.
        derivative = np.zeros((p, p))
        derivative[row, :] += factor[:, col]
        derivative[:, row] += factor[:, col]
        per_level = marginal[b].reshape(levels, p, k)
        gram = np.einsum("lak,ab,lbm->km", per_level, derivative, per_level)
        jacobian[index] = sigma**2 * unscaled @ gram @ unscaled
    jacobian[n_theta] = 2.0 * sigma * unscaled
    return jacobian


#: Relative finite-difference step of the Hessian in theta (in the optimiser's units, with a
#: floor for small entries), extrapolated from steps h and h/2. Measured against lmerTest
#: (numDeriv) on the reference fits: largest df error 1e-5 relative with these settings
#: (sleepstudy Days 16.99999, lmerTest 17.0000); 3e-3 without extrapolation gave 8e-5
#: (17.0006), and steps of 1e-3 or less lose accuracy to round-off (dietox's type I
#: Evit df 68.20 at 1e-3, 67.94 at 3e-4, against lmerTest's 68.22).
HESSIAN_STEP = 1e-2
HESSIAN_RICHARDSON = True


def varpar_covariance(
    state: PLSState, theta: np.ndarray, sigma: float, scale: np.ndarray | None = None
) -> np.ndarray:
    """``A = 2 H^{-1}``: the asymptotic covariance of ``varphi = (theta, sigma)``.

    ``H`` is the Hessian of the criterion with ``sigma`` fixed (lmerTest's
    ``devfun_vp``), ``D = d(theta) + m log(2 pi sigma^2) + r^2(theta) / sigma^2``.
    Only the ``theta`` block needs finite differences (the one Hessian module,
    :func:`mixedmodels.optim.hessian.hessian`, at ``sigma`` fixed); the ``sigma``
    row is exact from the same evaluations:
    ``d2D/dsigma2 = -2m / sigma^2 + 6 r^2 / sigma^4`` and
    ``d2D/dsigma dtheta_i = -2 / sigma^3 dr^2/dtheta_i``, with ``dr^2/dtheta_i``
    the central difference of the ``r^2`` recorded at ``theta +- 2 h_i e_i``.
    For ``n_theta = 3`` that is 38 evaluations (19 per step size) instead of
    the 66 of a Richardson-extrapolated Hessian in all four parameters. ``state`` must be
    private (it is moved). ``scale`` is the model's ``theta_scale`` (the
    optimiser's units): the steps are relative in those units, so that a slope
    on a covariate that runs to 250 gets a step as small as its theta.
    """
    from ..optim.hessian import hessian

    theta = np.asarray(theta, dtype=float)
    n_theta = len(theta)
    recorded: dict[bytes, float] = {}

    def criterion(point: np.ndarray) -> float:
        value = state.evaluate(point, sigma=sigma)
        recorded[np.asarray(point, dtype=float).tobytes()] = state.pwrss
        return value

    scale = np.ones(n_theta) if scale is None else np.asarray(scale, dtype=float)
    steps = HESSIAN_STEP * np.maximum(np.abs(theta * scale), 0.1) / scale
    full = np.empty((n_theta + 1, n_theta + 1))
    full[:n_theta, :n_theta] = hessian(criterion, theta, steps, richardson=HESSIAN_RICHARDSON)
    pwrss = recorded[theta.tobytes()]

    def slope(i: int, step: float) -> float:
        # The diagonal second differences evaluated the criterion at theta +- 2 step e_i.
        shift = np.zeros(n_theta)
        shift[i] = 2 * step
        upper, lower = recorded[(theta + shift).tobytes()], recorded[(theta - shift).tobytes()]
        return (upper - lower) / (4 * step)

    for i in range(n_theta):
        derivative = slope(i, steps[i])
        if HESSIAN_RICHARDSON:
            derivative = (4 * slope(i, steps[i] / 2) - derivative) / 3
        full[i, n_theta] = full[n_theta, i] = -2 * derivative / sigma**3
    dof = state.n_obs - state.n_fixed if state.reml else state.n_obs
    full[n_theta, n_theta] = -2 * dof / sigma**2 + 6 * pwrss / sigma**4
    state.evaluate(theta)
    # lmerTest's tolerance is absolute, but the sigma row scales as 1 / sigma^2: for a
    # response in large units it would be dropped. With sigma measured in units of its
    # estimate the Hessian is unit-free; where it is invertible the result is the same.
    units = np.append(np.ones(n_theta), sigma)
    unit_free = units[:, None] * full * units[None, :]
    return 2 * units[:, None] * _positive_pinv(unit_free) * units[None, :]


def _positive_pinv(hessian: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """lmerTest's inverse: over the eigenvalues above ``tol`` only."""
    values, vectors = np.linalg.eigh((hessian + hessian.T) / 2)
    keep = values > tol
    return (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
