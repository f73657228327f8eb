"""Profile plots: zeta against each parameter and the profile densities.

lme4's ``xyplot(profile(fit))`` draws ``zeta`` (the signed root of the
deviance increase) against each parameter, with the straight line a Wald
(quadratic) profile would give; ``densityplot(profile(fit))`` draws the
implied densities ``phi(zeta(p)) * dzeta/dp``.

Notation
--------
==============  ========================================================
symbol          meaning
==============  ========================================================
``zeta(p)``     ``sign(p - p_hat) sqrt(D(p) - D(p_hat))``
``phi``         standard normal density
``z_level``     ``z(1/2 + level/2)``: the interval limits at ``zeta = -+z``
==============  ========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import interpolate, stats

from ..errors import ArgumentError
from ._mpl import subplots_grid

if TYPE_CHECKING:
    from ..results.lmer import LmerResults

__all__ = ["profile_density", "profile_zeta"]

LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)  # lme4's xyplot(profile) reference levels


def _table(source: Any, **kwargs: Any) -> pd.DataFrame:
    """A profile table (:func:`~mixedmodels.results.profile_grid.profile_grid`) of ``source``."""
    if isinstance(source, pd.DataFrame):
        missing = {"parameter", "value", "zeta"} - set(source.columns)
        if missing:
            raise ArgumentError(f"profile table lacks column(s) {sorted(missing)}")
        return source
    from ..results.profile_grid import profile_grid

    return profile_grid(source, **kwargs)


def _spline(values: np.ndarray, zetas: np.ndarray) -> interpolate.PchipInterpolator:
    """Monotone interpolation of zeta in the parameter (zeta increases with it)."""
    order = np.argsort(values)
    values, zetas = values[order], zetas[order]
    keep = np.concatenate([[True], np.diff(values) > 0])
    return interpolate.PchipInterpolator(values[keep], zetas[keep])


def profile_zeta(
    profile: LmerResults | pd.DataFrame,
    levels: tuple[float, ...] = LEVELS,
    ax: Any = None,
    **profile_kwargs: Any,
) -> tuple[Any, list[Any]]:
    """Zeta against each parameter, one panel per parameter (lme4's ``xyplot(profile(fit))``).

    Parameters
    ----------
    profile : LmerResults or DataFrame
        A fit (profiled here with ``profile_kwargs``) or a table from
        :func:`~mixedmodels.results.profile_grid.profile_grid` / ``fit.profile()``.
    levels : tuple of float
        Horizontal reference lines at ``zeta = -+z_level``.
    ax : list of Axes, optional
        One per parameter.

    Returns
    -------
    (Figure, list of Axes)
        Each panel: the profiled points, the interpolating curve, and the
        dashed straight line of a quadratic (Wald) profile through the estimate.
    """
    table = _table(profile, **profile_kwargs)
    names = list(dict.fromkeys(table["parameter"]))
    figure, axes = _panels(names, ax)
    estimates = table.attrs.get("estimates", {})
    for axis, name in zip(axes, names, strict=True):
        part = table[table["parameter"] == name]
        values, zetas = part["value"].to_numpy(), part["zeta"].to_numpy()
        axis.scatter(values, zetas, s=12, color="C0", zorder=3)
        grid = np.linspace(values.min(), values.max(), 200)
        axis.plot(grid, _spline(values, zetas)(grid), color="C0", linewidth=1.2)
        estimate = estimates.get(name, values[np.argmin(np.abs(zetas))])
        _wald_line(axis, values, zetas, estimate)
        for level in levels:
            z = stats.norm.ppf(0.5 + level / 2)
            axis.axhline(z, color="0.8", linewidth=0.7, zorder=0)
            axis.axhline(-z, color="0.8", linewidth=0.7, zorder=0)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("value")
    for axis in axes:
        axis.set_ylabel("zeta")
    return figure, axes


def _wald_line(axis: Any, values: np.ndarray, zetas: np.ndarray, estimate: float) -> None:
    """Dashed line of slope ``zeta'(estimate)``: what a quadratic profile would look like."""
    spline = _spline(values, zetas)
    slope = float(spline.derivative()(estimate))
    ends = np.array([values.min(), values.max()])
    axis.plot(ends, slope * (ends - estimate), color="0.4", linestyle="--", linewidth=0.8)


def profile_density(
    profile: LmerResults | pd.DataFrame, ax: Any = None, **profile_kwargs: Any
) -> tuple[Any, list[Any]]:
    """Profile densities ``phi(zeta(p)) zeta'(p)``, one panel per parameter.

    lme4's ``densityplot(profile(fit))``: the distribution each parameter
    would have if zeta were exactly standard normal.

    Returns
    -------
    (Figure, list of Axes)
    """
    table = _table(profile, **profile_kwargs)
    names = list(dict.fromkeys(table["parameter"]))
    figure, axes = _panels(names, ax)
    for axis, name in zip(axes, names, strict=True):
        part = table[table["parameter"] == name]
        spline = _spline(part["value"].to_numpy(), part["zeta"].to_numpy())
        grid = np.linspace(part["value"].min(), part["value"].max(), 300)
        density = stats.norm.pdf(spline(grid)) * np.clip(spline.derivative()(grid), 0, None)
        axis.plot(grid, density, color="C0")
        axis.fill_between(grid, density, color="C0", alpha=0.15)
        axis.set_ylim(bottom=0)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("value")
        axis.set_ylabel("density")
    return figure, axes


def _panels(names: list[str], ax: Any) -> tuple[Any, list[Any]]:
    if ax is None:
        return subplots_grid(len(names), ncols=min(len(names), 3), panel_size=(3.0, 2.6))
    axes = list(np.atleast_1d(ax))
    if len(axes) != len(names):
        raise ArgumentError(f"ax: {len(names)} parameters to draw, got {len(axes)} axes")
    return axes[0].figure, axes
