"""Lazy matplotlib import with a clear message when the ``plot`` extra is missing."""

from __future__ import annotations

from typing import Any

from ..errors import OptionalDependencyError

__all__ = ["new_figure", "pyplot", "subplots_grid"]


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an :class:`OptionalDependencyError` saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise OptionalDependencyError(
            'mixedmodels.plot needs matplotlib: pip install "mixedmodels[plot]"'
        ) from error
    return plt


def new_figure(ax: Any = None, figsize: tuple[float, float] = (5.0, 4.0)) -> tuple[Any, Any]:
    """``(figure, axes)``: the given axes and its figure, or a new one-panel figure."""
    if ax is not None:
        return ax.figure, ax
    figure, axes = pyplot().subplots(figsize=figsize, layout="constrained")
    return figure, axes


def subplots_grid(n_panels: int, ncols: int | None = None, panel_size=(3.2, 3.0), **kwargs):
    """A figure with ``n_panels`` axes in a grid (unused cells removed); ``(figure, axes list)``."""
    plt = pyplot()
    ncols = ncols or min(n_panels, 3)
    nrows = -(-n_panels // ncols)
    figure, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        squeeze=False,
        layout="constrained",
        **kwargs,
    )
    axes = list(grid.ravel())
    for extra in axes[n_panels:]:
        extra.remove()
    return figure, axes[:n_panels]
