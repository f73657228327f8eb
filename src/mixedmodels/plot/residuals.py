"""Residual plots: residuals against fitted values (lme4's ``plot(fit)``) and a QQ plot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._mpl import new_figure
from .ranef import draw_qq

if TYPE_CHECKING:
    from ..results.lmer import LmerResults

__all__ = ["qq_residuals", "residuals_vs_fitted"]


def _fitted_and_resid(results: LmerResults, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """From the fit, or recomputed from ``data`` for fits that keep no rows."""
    if data is None:
        return results.fittedvalues.to_numpy(), results.resid.to_numpy()
    from ..design.builder import build_design

    fitted = results.predict(data).to_numpy()
    formula = results.model.design.parsed.formula
    response = build_design(formula, data).y
    return fitted, response - fitted


def residuals_vs_fitted(
    results: LmerResults, ax: Any = None, scaled: bool = False, data: Any = None
) -> tuple[Any, Any]:
    """Conditional residuals against fitted values, with a line at zero.

    Parameters
    ----------
    results : LmerResults
    ax : Axes, optional
    scaled : bool, default False
        Divide the residuals by sigma (lme4's ``resid(fit, scaled = TRUE)``).
    data : DataFrame, optional
        The data, for fits that keep no rows (chunked and Dask fits).

    Returns
    -------
    (Figure, Axes)
    """
    fitted, residuals = _fitted_and_resid(results, data)
    if scaled:
        residuals = residuals / results.sigma
    figure, axis = new_figure(ax)
    axis.scatter(fitted, residuals, s=10, alpha=0.7, color="C0")
    axis.axhline(0.0, color="0.3", linewidth=0.8, linestyle="--")
    axis.set_xlabel("fitted values")
    axis.set_ylabel("scaled residuals" if scaled else "residuals")
    axis.set_title("Residuals vs fitted")
    return figure, axis


def qq_residuals(results: LmerResults, ax: Any = None, data: Any = None) -> tuple[Any, Any]:
    """Normal QQ plot of the scaled residuals (``resid / sigma``), with R's ``qqline``.

    Returns
    -------
    (Figure, Axes)
    """
    _, residuals = _fitted_and_resid(results, data)
    figure, axis = new_figure(ax)
    draw_qq(axis, residuals / results.sigma)
    axis.set_ylabel("scaled residuals")
    axis.set_title("Normal QQ plot of scaled residuals")
    return figure, axis
