"""Plots of fitted mixed models (matplotlib, the optional extra ``plot``).

======================  ====================================================
function                lme4 counterpart
======================  ====================================================
:func:`caterpillar`     ``dotplot(ranef(fit, condVar = TRUE))``
:func:`profile_zeta`    ``xyplot(profile(fit))``
:func:`profile_density` ``densityplot(profile(fit))``
:func:`residuals_vs_fitted`  ``plot(fit)``
:func:`qq_residuals`    ``qqnorm(resid(fit, scaled = TRUE))``
:func:`qq_ranef`        ``qqmath(ranef(fit))``
======================  ====================================================

Every function returns matplotlib objects (a ``Figure`` and its axes, or the
``Axes`` drawn on) and takes ``ax=`` where one panel is drawn. The same plots
are methods of a fit: ``fit.plot.caterpillar()``, ``fit.plot.profile()``, ...
matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .profile import profile_density, profile_zeta
from .ranef import caterpillar, qq_ranef
from .residuals import qq_residuals, residuals_vs_fitted

if TYPE_CHECKING:
    from ..results.lmer import LmerResults

__all__ = [
    "ResultsPlots",
    "caterpillar",
    "profile_density",
    "profile_zeta",
    "qq_ranef",
    "qq_residuals",
    "residuals_vs_fitted",
]


class ResultsPlots:
    """The plots of one fit, as ``fit.plot.<name>(...)``.

    Calling the accessor itself (``fit.plot()``) draws the caterpillar plot.
    """

    def __init__(self, results: LmerResults) -> None:
        self._results = results

    def __call__(self, **kwargs: Any):
        return caterpillar(self._results, **kwargs)

    def caterpillar(self, **kwargs: Any):
        """See :func:`mixedmodels.plot.caterpillar`."""
        return caterpillar(self._results, **kwargs)

    def profile(self, profile=None, **kwargs: Any):
        """Zeta plots; see :func:`mixedmodels.plot.profile_zeta`."""
        return profile_zeta(self._results if profile is None else profile, **kwargs)

    def profile_density(self, profile=None, **kwargs: Any):
        """Profile densities; see :func:`mixedmodels.plot.profile_density`."""
        return profile_density(self._results if profile is None else profile, **kwargs)

    def residuals(self, **kwargs: Any):
        """See :func:`mixedmodels.plot.residuals_vs_fitted`."""
        return residuals_vs_fitted(self._results, **kwargs)

    def qq(self, **kwargs: Any):
        """See :func:`mixedmodels.plot.qq_residuals`."""
        return qq_residuals(self._results, **kwargs)

    def qq_ranef(self, **kwargs: Any):
        """See :func:`mixedmodels.plot.qq_ranef`."""
        return qq_ranef(self._results, **kwargs)
