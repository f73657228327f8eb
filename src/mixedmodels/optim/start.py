"""Starting values for theta and BOBYQA's first trust-region radius.

The start is lme4's (identity ``T``) in the internally scaled parameters,
except for scalar random intercepts, which start at the one-way ANOVA moment
estimate of ``sigma_b / sigma``. That estimate comes from the cross-products
alone, costs nothing next to one evaluation, is exact for balanced one-factor
designs and close on crossed ones, and so cuts the number of evaluations.
"""

from __future__ import annotations

import numpy as np

from ..design.terms import RandomEffectsBlock
from ..objective.crossprod import CrossProducts

__all__ = ["anova_ratios", "initial_steps", "initial_theta"]


def initial_theta(
    blocks: list[RandomEffectsBlock], cross: CrossProducts, theta_scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Starting theta and a mask of the entries started from a moment estimate."""
    n_theta = len(theta_scale)
    theta = np.zeros(n_theta)
    for block in blocks:
        theta[block.diagonal_theta_indices()] = 1.0
    theta = theta / theta_scale
    moment_started = np.zeros(n_theta, dtype=bool)
    for block, ratio in zip(blocks, anova_ratios(blocks, cross), strict=True):
        if ratio is not None:
            index = block.theta_index[0, 0]
            theta[index] = np.sqrt(np.clip(ratio, 0.01, 100.0))
            moment_started[index] = True
    return theta, moment_started


def initial_steps(moment_started: np.ndarray) -> np.ndarray:
    """First trust-region radius: smaller where the start is a moment estimate."""
    return np.where(moment_started, 0.25, 0.5)


def anova_ratios(blocks: list[RandomEffectsBlock], cross: CrossProducts) -> list[float | None]:
    """Moment estimates ``(MSB - MSW) / (n0 MSW)`` of ``sigma_b^2 / sigma^2``.

    One value per block; ``None`` for blocks that are not scalar intercepts
    or where the estimate is undefined.
    """
    k = cross.xy_xy.shape[0] - 1
    gram = cross.xy_xy
    try:
        beta = np.linalg.solve(gram[:k, :k], gram[:k, k]) if k else np.zeros(0)
    except np.linalg.LinAlgError:
        return [None] * len(blocks)
    residual_ss = gram[k, k] - gram[:k, k] @ beta
    ratios: list[float | None] = []
    for block, diagonal, xy_z in zip(blocks, cross.diagonal, cross.xy_z, strict=True):
        counts = diagonal[:, 0, 0]
        n_levels = block.n_levels
        if not block.is_intercept_only or n_levels < 2 or np.any(counts <= 0):
            ratios.append(None)
            continue
        sums = xy_z[k] - beta @ xy_z[:k]
        between = float(np.sum(sums * sums / counts))
        within = residual_ss - between
        n_total = float(counts.sum())
        dof_within = n_total - n_levels - max(k - 1, 0)
        if dof_within <= 0 or within <= 0:
            ratios.append(None)
            continue
        mean_within = within / dof_within
        mean_between = between / (n_levels - 1)
        n0 = (n_total - float(np.sum(counts**2)) / n_total) / (n_levels - 1)
        ratios.append((mean_between - mean_within) / (n0 * mean_within))
    return ratios
