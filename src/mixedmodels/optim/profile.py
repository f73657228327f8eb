"""The profile step: a criterion minimised with one parameter held fixed.

Both profile APIs are walks over values of one parameter ``p`` whose every
point is :func:`profile_minimum`: lme4's ``confint(method="profile")``
(:mod:`mixedmodels.results.profile`, root-finding on the signed root of the
deviance) and statsmodels' ``profile_re`` (:mod:`mixedmodels.regression._profile`,
a grid walked outwards from the estimate). Each point is warm-started from the
previous one and minimised by :func:`~mixedmodels.optim.optimizer.minimize_bounded`.

Notation
--------
===========  ================================================================
symbol       meaning
===========  ================================================================
``u``        all parameters of the criterion (e.g. ``theta``, or ``(v, sigma)``)
``p``        the fixed coordinate ``u_j`` (or none: the criterion itself
             depends on the fixed value, as a fixed effect's profile does)
``D_p(u)``   the criterion with ``u_j = p``
``D(p)``     ``min_u D_p(u)``: the profiled criterion
===========  ================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .optimizer import OptimizerResult, minimize_bounded

__all__ = ["profile_minimum"]


def profile_minimum(
    function: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    fixed: int | None = None,
    value: float | None = None,
) -> OptimizerResult:
    """``min D_p(u)`` over the free coordinates, from ``start`` (see the module notes).

    Parameters
    ----------
    function : callable
        The criterion of the full parameter vector ``u``.
    start : ndarray
        Warm start (full vector); entry ``fixed`` is replaced by ``value``.
    lower, upper : ndarray
        Bounds of ``u`` (``upper`` defaults to ``+inf``).
    scale : ndarray, optional
        Internal scaling of ``u`` (the optimiser sees ``u * scale``).
    fixed : int, optional
        Index of the coordinate held at ``value``; ``None`` minimises over all.
    value : float, optional
        The fixed coordinate's value.

    Returns
    -------
    OptimizerResult
        ``theta`` is the full minimising vector (with ``u_j = value``) and
        ``objective`` the profiled criterion ``D(p)``.
    """
    point = np.array(start, dtype=float)
    size = len(point)
    lower = np.asarray(lower, dtype=float)
    upper = np.full(size, np.inf) if upper is None else np.asarray(upper, dtype=float)
    scale = np.ones(size) if scale is None else np.asarray(scale, dtype=float)
    free = np.ones(size, dtype=bool)
    if fixed is not None:
        point[fixed] = value
        free[fixed] = False

    def criterion(sub: np.ndarray) -> float:
        full = point.copy()
        full[free] = sub
        return function(full)

    result = minimize_bounded(criterion, point[free], lower[free], upper[free], scale[free])
    point[free] = result.theta
    result.theta = point
    return result
