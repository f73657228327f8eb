"""Central finite differences of the criterion: the one Hessian (and Jacobian) module.

The observed information of the variance parameters is half the Hessian of
``-2 log L`` in ``(theta, sigma)`` (lmerTest's Satterthwaite df; statsmodels'
standard errors are its delta-method translation), taken here, of the
criterion with ``sigma`` fixed (:meth:`~mixedmodels.objective.pls.PLSState.evaluate`
with ``sigma=``), evaluated on a private fork of the model's state.

Notation
--------
==========  ================================================================
symbol      meaning
==========  ================================================================
``f``       a scalar function of ``x`` (here: the criterion)
``h_i``     step in coordinate ``i``; ``e_i`` the unit vector
``H_ij``    ``[f(x+h_i e_i+h_j e_j) - f(x+h_i e_i-h_j e_j) - f(x-h_i e_i+h_j e_j)
            + f(x-h_i e_i-h_j e_j)] / (4 h_i h_j)`` (for ``i = j`` this is the
            second difference with step ``2 h_i``)
``R(a, b)`` Richardson extrapolation ``(4 b - a) / 3`` of a result ``a`` at
            steps ``h`` and ``b`` at ``h / 2``: error ``O(h^4)`` from ``O(h^2)``
==========  ================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["hessian", "jacobian"]


def _hessian_at(function: Callable[[np.ndarray], float], point: np.ndarray, steps: np.ndarray):
    size = len(point)
    shifts = np.diag(steps)
    center = function(point)
    result = np.empty((size, size))
    for i in range(size):
        result[i, i] = (
            function(point + 2 * shifts[i]) - 2 * center + function(point - 2 * shifts[i])
        ) / (4 * steps[i] ** 2)
        for j in range(i):
            value = (
                function(point + shifts[i] + shifts[j])
                - function(point + shifts[i] - shifts[j])
                - function(point - shifts[i] + shifts[j])
                + function(point - shifts[i] - shifts[j])
            ) / (4 * steps[i] * steps[j])
            result[i, j] = result[j, i] = value
    return result


def hessian(
    function: Callable[[np.ndarray], float],
    point: np.ndarray,
    steps: np.ndarray,
    richardson: bool = False,
) -> np.ndarray:
    """Central-difference Hessian of ``function`` at ``point`` (see the module notes).

    Parameters
    ----------
    function : callable
        Scalar function of a 1-D array.
    point : ndarray
    steps : ndarray
        ``h_i`` per coordinate.
    richardson : bool
        Extrapolate from steps ``h`` and ``h / 2``.
    """
    point = np.asarray(point, dtype=float)
    steps = np.asarray(steps, dtype=float)
    coarse = _hessian_at(function, point, steps)
    if not richardson:
        return coarse
    fine = _hessian_at(function, point, steps / 2)
    return (4 * fine - coarse) / 3


def jacobian(
    function: Callable[[np.ndarray], np.ndarray],
    point: np.ndarray,
    steps: np.ndarray,
    richardson: bool = False,
) -> list[np.ndarray]:
    """Central-difference partial derivatives ``d function / d x_i``, one array per ``i``.

    ``function`` may return an array of any shape; entry ``i`` of the result has
    that shape. With ``richardson``, steps ``h`` and ``h / 2`` are extrapolated.
    """
    point = np.asarray(point, dtype=float)
    out = []
    for index, step in enumerate(np.asarray(steps, dtype=float)):
        unit = np.zeros(len(point))
        unit[index] = 1.0

        def difference(h: float, unit: np.ndarray = unit) -> np.ndarray:
            upper = np.asarray(function(point + h * unit))
            lower = np.asarray(function(point - h * unit))
            return (upper - lower) / (2 * h)

        coarse = difference(step)
        out.append((4 * difference(step / 2) - coarse) / 3 if richardson else coarse)
    return out
