"""Random-effect plots: caterpillar (lme4's ``dotplot(ranef(., condVar = TRUE))``) and QQ.

Notation
--------
==========  ==============================================================
symbol      meaning
==========  ==============================================================
``b_j``     conditional mode of level ``j`` for one term (``ranef``)
``s_j``     its conditional standard deviation (``ranef_condsd``)
``z``       normal quantile ``z(1/2 + level/2)``; the bars are ``b_j -+ z s_j``
==========  ==============================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from ..errors import ArgumentError
from ._mpl import subplots_grid

if TYPE_CHECKING:
    from ..results.lmer import LmerResults

__all__ = ["caterpillar", "qq_ranef"]

MAX_LABELLED_LEVELS = 60  # beyond this the level names are unreadable; ticks are dropped


def _groups(results: LmerResults, group: str | None) -> list[str]:
    names = list(results.ranef())
    if group is None:
        return names
    if group not in names:
        raise ArgumentError(f"group must be one of {names}, got {group!r}")
    return [group]


def caterpillar(
    results: LmerResults,
    group: str | None = None,
    level: float = 0.95,
    order: bool = True,
    ax: Any = None,
    panel_size: tuple[float, float] = (3.2, 4.0),
) -> tuple[Any, list[Any]]:
    """Conditional modes with intervals, one panel per term (lme4's ``dotplot``).

    Parameters
    ----------
    results : LmerResults
    group : str, optional
        One grouping factor (default: every factor, each term a panel).
    level : float, default 0.95
        Coverage of the bars ``b -+ z * condsd``.
    order : bool, default True
        Sort the levels by the first term's mode (the same order in every
        panel of a factor, as lme4).
    ax : Axes or list of Axes, optional
        Where to draw, one axes per panel.
    panel_size : (width, height)
        Size of each panel of a new figure, in inches.

    Returns
    -------
    (Figure, list of Axes)
    """
    if not 0 < level < 1:
        raise ArgumentError(f"level must be in (0, 1), got {level!r}")
    modes_by_group, sds = results.ranef(), results.ranef_condsd()
    quantile = float(stats.norm.ppf(0.5 + level / 2))
    panels = [(g, term) for g in _groups(results, group) for term in modes_by_group[g].columns]
    if ax is None:
        figure, axes = subplots_grid(len(panels), ncols=min(len(panels), 4), panel_size=panel_size)
    else:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(panels):
            raise ArgumentError(f"ax: {len(panels)} panels to draw, got {len(axes)} axes")
        figure = axes[0].figure
    for axis, (g, term) in zip(axes, panels, strict=True):
        _caterpillar_panel(axis, modes_by_group[g], sds[g], term, quantile, order)
        axis.set_title(f"{g}: {term}")
    axes[0].set_ylabel("level")
    return figure, axes


def _caterpillar_panel(axis, modes, sds, term: str, quantile: float, order: bool) -> None:
    """One term's modes with ``-+ quantile * condsd`` bars; levels ordered by the first term."""
    first = modes.iloc[:, 0].to_numpy()
    ranks = np.argsort(first, kind="stable") if order else np.arange(len(first))
    values = modes[term].to_numpy()[ranks]
    errors = quantile * sds[term].to_numpy()[ranks]
    positions = np.arange(len(values))
    axis.errorbar(values, positions, xerr=errors, fmt="none", ecolor="0.55", elinewidth=1, zorder=1)
    axis.scatter(values, positions, s=14, color="C0", zorder=2)
    axis.axvline(0.0, color="0.3", linewidth=0.8, linestyle="--", zorder=0)
    axis.set_xlabel("conditional mode")
    levels = np.asarray(modes.index)[ranks]
    if len(levels) <= MAX_LABELLED_LEVELS:
        axis.set_yticks(positions, [str(name) for name in levels], fontsize=7)
    else:
        axis.set_yticks([])
    axis.set_ylim(-1, len(values))


def qq_ranef(
    results: LmerResults, group: str | None = None, ax: Any = None
) -> tuple[Any, list[Any]]:
    """Normal QQ plot of the conditional modes, one panel per term.

    Returns
    -------
    (Figure, list of Axes)
        Each panel shows the sorted modes against normal quantiles at
        ``(i - 1/2) / n`` and the line through the quartiles (R's ``qqline``).
    """
    modes_by_group = results.ranef()
    panels = [(g, term) for g in _groups(results, group) for term in modes_by_group[g].columns]
    if ax is None:
        figure, axes = subplots_grid(len(panels), ncols=min(len(panels), 4))
    else:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(panels):
            raise ArgumentError(f"ax: {len(panels)} panels to draw, got {len(axes)} axes")
        figure = axes[0].figure
    for axis, (g, term) in zip(axes, panels, strict=True):
        draw_qq(axis, modes_by_group[g][term].to_numpy())
        axis.set_title(f"{g}: {term}")
        axis.set_ylabel("conditional mode")
    return figure, axes


def draw_qq(axis: Any, values: np.ndarray) -> None:
    """Sorted ``values`` against normal quantiles, with R's ``qqline`` (through the quartiles)."""
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    theoretical = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)
    axis.scatter(theoretical, values, s=10, color="C0")
    lower, upper = np.quantile(values, [0.25, 0.75])
    z_lower, z_upper = stats.norm.ppf([0.25, 0.75])
    slope = (upper - lower) / (z_upper - z_lower)
    intercept = lower - slope * z_lower
    ends = np.array([theoretical[0], theoretical[-1]])
    axis.plot(ends, intercept + slope * ends, color="C3", linewidth=1)
    axis.set_xlabel("standard normal quantile")
