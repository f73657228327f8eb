"""Profile zeta on a grid of each parameter (lme4's ``profile(fit)`` table).

For each parameter ``p`` (lme4's ``sd_*``, ``cor_*``, ``sigma``, then the fixed
effects) the signed square root of the profiled ML deviance increase,

    zeta(p) = sign(p - p_hat) * sqrt(D(p) - D(p_hat)),

is evaluated at points on each side of the estimate, out to
``|zeta| = z(1 - alphamax/2)`` (lme4's default ``alphamax = 0.01``: 2.58) or
the parameter's bound.
A straight zeta line means a Wald interval would be fine; a bent one says the
profile interval is the one to use. The evaluations are those of
:mod:`mixedmodels.results.profile`.

Notation
--------
=============  =========================================================
symbol         meaning
=============  =========================================================
``D(p)``       ML deviance minimised over every parameter but ``p``
``p_hat``      the ML estimate of ``p``
``zeta``       signed root deviance; ``N(0, 1)`` under the usual theory
=============  =========================================================
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import ArgumentError
from ..progress import progress

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["profile_grid"]


def _side(
    zeta,
    estimate: float,
    step: float,
    bound: float,
    cutoff: float,
    points: int,
) -> list[tuple[float, float]]:
    """``(value, zeta)`` on one side of the estimate, out to ``|zeta| >= cutoff`` or the bound.

    A first step gives zeta's slope; the grid is laid out to reach ``cutoff`` if
    zeta were straight, then extended step by step (at most ``points`` more)
    while it falls short, as lme4's profile marches outwards.
    """

    def inside(value: float) -> float:
        if math.isfinite(bound) and (value - bound) * step >= 0:
            return estimate + 0.995 * (bound - estimate)  # sd >= 0, |cor| <= 1: stay inside
        return value

    trial = inside(estimate + step)
    first = zeta(trial)
    slope = abs(first) / abs(trial - estimate)
    end = estimate + math.copysign(cutoff / slope, step) if slope > 1e-12 else trial
    end = inside(end)
    out = [(trial, first)]
    spacing = (end - estimate) / points
    for k in range(1, points + 1):
        value = inside(estimate + k * spacing)
        if value != trial:
            out.append((value, zeta(value)))
    for _ in range(points):
        value = out[-1][0]
        if abs(out[-1][1]) >= cutoff or value == inside(value + spacing):
            break
        value = inside(value + spacing)
        out.append((value, zeta(value)))
    return out


def _profile_one(profiler, index: int, cutoff: float, points: int) -> list[tuple[float, float]]:
    """``(value, zeta)`` of parameter ``index``: the estimate, then each side outwards."""
    n_variance = profiler.n_theta + 1
    if index < n_variance:
        estimate = float(profiler.v_hat[index])
        lower, upper = profiler.v_bounds()
        bounds = (lower[index], upper[index])
        zeta = profiler.zeta_v(index)
        is_cor = index < profiler.n_theta and not profiler.is_sd[index]
        step = 0.2 if is_cor else 0.25 * max(estimate, 0.1 * profiler.sigma_hat)
    else:
        j = index - n_variance
        estimate = float(profiler.beta_hat[j])
        bounds = (-math.inf, math.inf)
        zeta = profiler.zeta_beta(j)
        step = profiler.sigma_hat * math.sqrt(profiler.cov_unscaled[j, j])
    out = [(estimate, 0.0)]
    # zeta (a ProfileTrace) warm-starts each point from its neighbour towards the
    # estimate, so the two sides are independent walks.
    for direction, bound in zip((-1.0, 1.0), bounds, strict=True):
        if math.isfinite(bound) and abs(bound - estimate) < 1e-10:
            continue  # an sd estimated at zero: nothing below it
        out += _side(zeta, estimate, direction * step, bound, cutoff, points)
    return out


def _select(which: str | list[str] | None, names: list[str], n_variance: int) -> list[int]:
    if which is None:
        return list(range(len(names)))
    if which == "variance":
        return list(range(n_variance))
    if which == "fixed":
        return list(range(n_variance, len(names)))
    wanted = [which] if isinstance(which, str) else list(which)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise ArgumentError(f"which: unknown parameter(s) {unknown}; the parameters are {names}")
    return [names.index(name) for name in wanted]


def _cutoff(alphamax: float, points: int) -> float:
    """``z(1 - alphamax / 2)``, once both arguments are checked."""
    if not 0 < alphamax < 1:
        raise ArgumentError(f"alphamax must be in (0, 1), got {alphamax!r}")
    if int(points) < 1:
        raise ArgumentError(f"points must be a positive integer, got {points!r}")
    return NormalDist().inv_cdf(1 - alphamax / 2)


def profile_grid(
    results: LmerResults,
    alphamax: float = 0.01,
    points: int = 6,
    which: str | list[str] | None = None,
    show_progress: bool | None = None,
) -> pd.DataFrame:
    """Zeta of every parameter on a grid, as lme4's ``as.data.frame(profile(fit))``.

    Parameters
    ----------
    results : LmerResults
    alphamax : float, default 0.01
        The grid reaches ``|zeta| = z(1 - alphamax / 2)`` (2.58) on each side.
    points : int, default 6
        Grid points on each side of the estimate.
    which : {"variance", "fixed"} or list of str, optional
        Parameters to profile: all (default, as lme4), the variance parameters
        (``sd_*``, ``cor_*``, ``sigma``), the fixed effects, or names. Each
        fixed-effect point is a full optimisation over theta, so they are the
        slow part.
    show_progress : bool, optional
        tqdm bar over the parameters (:func:`mixedmodels.progress.progress`).

    Returns
    -------
    DataFrame
        Long format: ``parameter``, ``value``, ``zeta``; ``attrs["estimates"]``
        maps each parameter to its ML estimate and ``attrs["alphamax"]``.

    Raises
    ------
    ArgumentError
        If ``alphamax`` is not in (0, 1), ``points`` is below 1, or ``which``
        names an unknown parameter (the message lists the parameters).
    """
    from .profile import _Profiler

    cutoff = _cutoff(alphamax, points)
    # One BLAS thread, as the fit and confint: tiny triangular solves with threads
    # spinning on a loaded machine were measured at 10 ms each (75 % of the time).
    with threadpool_limits(limits=results.model.blas_threads, user_api="blas"):
        profiler = _Profiler(results)
        names = [*profiler.names(), *results.model.fixed_names]
        selected = _select(which, names, profiler.n_theta + 1)
        rows = []
        for index in progress(selected, total=len(selected), desc="profile", show=show_progress):
            points_of = _profile_one(profiler, index, cutoff, points)
            rows += [(names[index], value, zeta) for value, zeta in points_of]
    estimates = np.append(profiler.v_hat, profiler.beta_hat)
    frame = pd.DataFrame(rows, columns=["parameter", "value", "zeta"])
    kept = [names[index] for index in selected]
    frame["parameter"] = pd.Categorical(frame["parameter"], categories=kept, ordered=True)
    frame = frame.sort_values(["parameter", "value"], ignore_index=True)
    frame["parameter"] = frame["parameter"].astype(str)
    frame.attrs["estimates"] = {names[index]: float(estimates[index]) for index in selected}
    frame.attrs["alphamax"] = alphamax
    return frame
