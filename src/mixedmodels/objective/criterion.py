"""The profiled REML/ML criterion: the one place it is written.

Every consumer (the fit, profiles, Hessians, Satterthwaite, the statsmodels
layer) reaches it through :meth:`mixedmodels.objective.pls.PLSState.objective`,
which passes the parts of the factor at the installed ``theta`` to
:func:`criterion`.

Notation
--------
==============  ============================================================
symbol          meaning
==============  ============================================================
``log|L|^2``    ``log|L_Z|^2`` (ML) or ``log|L_Z|^2 + log|L_X|^2`` (REML)
``r^2``         penalised weighted residual sum of squares (``pwrss``)
``d``           ``n - k`` (REML) or ``n`` (ML)
``sigma``       residual standard deviation, profiled out unless given
``w``           prior weights (``sum log w`` is the Jacobian of the weights)
==============  ============================================================

With ``sigma`` profiled out (``sigma^2 = r^2 / d``), as lme4's ``devfun``:

    ``D = log|L|^2 + d (1 + log(2 pi r^2 / d)) - sum log w``

With ``sigma`` fixed, as MixedModels.jl's ``objective`` with ``optsum.sigma``
set (profiles over sigma, Hessians in ``(theta, sigma)``):

    ``D(sigma) = log|L|^2 + d log(2 pi sigma^2) + r^2 / sigma^2 - sum log w``

Both are ``-2 log L`` (REML: the restricted likelihood); the second is
minimised over ``sigma`` by the first's ``sigma^2 = r^2 / d``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["criterion", "criterion_array"]

_LOG_2PI = math.log(2.0 * math.pi)


def criterion(
    logdet: float,
    pwrss: float,
    dof: int,
    sum_log_weights: float = 0.0,
    sigma: float | None = None,
) -> float:
    """``-2 log L`` from the parts of the factor (see the module notes).

    Parameters
    ----------
    logdet : float
        ``log|L_Z|^2``, plus ``log|L_X|^2`` for REML.
    pwrss : float
        Penalised weighted residual sum of squares ``r^2``.
    dof : int
        ``n - k`` for REML, ``n`` for ML.
    sum_log_weights : float
        ``sum log w`` of the prior weights (0 without weights).
    sigma : float, optional
        Fixed residual standard deviation; profiled out when omitted.

    Returns
    -------
    float
        ``inf`` for a non-positive ``sigma``; ``-inf`` for ``r^2 = 0`` with
        ``sigma`` profiled (an exact fit), NaN for a negative ``r^2``.
    """
    if sigma is None:
        if pwrss > 0.0:
            log_term = math.log(pwrss / dof)
        else:
            log_term = -math.inf if pwrss == 0.0 else math.nan
        return float(logdet + dof * (1.0 + _LOG_2PI + log_term) - sum_log_weights)
    if not sigma > 0.0:
        return math.inf
    variance = sigma * sigma
    return float(
        logdet + dof * (_LOG_2PI + math.log(variance)) + pwrss / variance - sum_log_weights
    )


def criterion_array(
    logdet: np.ndarray, pwrss: np.ndarray, dof: int, sum_log_weights: float = 0.0
) -> np.ndarray:
    """:func:`criterion` with ``sigma`` profiled, elementwise over arrays of
    ``logdet`` and ``pwrss`` (the batched bootstrap criterion,
    :mod:`mixedmodels.objective.batched`). The same expression; the scalar form
    stays in plain floats because one fit calls it hundreds of times."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.log(np.asarray(pwrss, dtype=float) / dof)
    return logdet + dof * (1.0 + _LOG_2PI + log_term) - sum_log_weights
