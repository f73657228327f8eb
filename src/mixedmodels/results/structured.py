"""Results of a fit with a residual correlation or variance structure (nlme's ``lme``).

The estimates are those of the whitened plain LMM at the fitted structure
parameters (see :mod:`mixedmodels.structures.whiten`), so every lme4-style
quantity of :class:`~mixedmodels.results.lmer.LmerResults` (``fe_params``,
``bse_fe``, ``varcorr``, ``ranef``, ``fittedvalues``, ``predict``) carries
over; the log-likelihood adds the log-Jacobian, and the structure parameters
are reported with nlme's names.

Notation
--------
==============  ==============================================================
symbol          meaning
==============  ==============================================================
``sigma``       residual SD of the reference stratum (nlme's ``sigma``)
``s_t``         ``ratio[stratum_t] / sqrt(w_t)``: row t's SD is ``sigma s_t``
``C^{-1}``      the whitening (per group, bidiagonal for AR1/CAR1)
==============  ==============================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ArgumentError
from .lmer import LmerResults
from .rformat import format_vector, zapsmall
from .summary import DIGITS, LmerSummary, SummaryTable, lmer_summary

if TYPE_CHECKING:
    from ..model import LinearMixedModel
    from ..optim.optimizer import OptimizerResult
    from ..structures.whiten import ResidualLayout

__all__ = ["StructuredResults"]

_RESIDUAL_TYPES = ("response", "pearson", "normalized")


class StructuredResults(LmerResults):
    """Results of :func:`mixedmodels.lmer` with ``correlation=`` and/or ``variance=``.

    Attributes
    ----------
    structure_params : Series
        Estimated structure parameters: ``Phi`` and, for ``VarIdent(by)``,
        ``"by=level"`` ratios of the non-reference levels.
    correlation_params : Series
        ``Phi`` (empty without a correlation structure).
    variance_ratios : Series
        Residual SD ratio of every level (reference = 1), as nlme's
        ``coef(varStruct, allCoef = TRUE)`` (empty without ``VarIdent``).
    without_structure : LmerResults
        The same model fitted without the structure (equals lme4's fit).
    llf, objective, aic, bic, df_modelwc
        Include the log-Jacobian and count the structure parameters
        (nlme's ``attr(logLik, "df")``); ``bic`` uses ``log(nobs)`` as lme4.

    Notes
    -----
    Standard errors are conditional on the estimated structure, as nlme's
    ``vcov``. Satterthwaite df and profile intervals, which would need the
    structure parameters in their Hessian and profiles, are not provided:
    ``coef_table`` is the Wald t table, ``confint`` Wald only.
    """

    def __init__(
        self,
        model: LinearMixedModel,
        optimizer: OptimizerResult,
        singular: bool,
        *,
        layout: ResidualLayout,
        eta: np.ndarray,
        without: LmerResults | Callable[[], LmerResults],
    ) -> None:
        super().__init__(model, optimizer, singular)
        self.layout = layout
        self.eta = np.asarray(eta, dtype=float)
        self._without = without
        # The criterion already holds the log-Jacobian (the whitened cross-products
        # carry it as their sum of log weights): only the parameter count changes.
        self.log_det = layout.log_det(self.eta)
        n_parameters = model.n_theta + model.n_fixed + 1 + layout.n_params
        self.df_modelwc = n_parameters
        self.aic = self.objective + 2.0 * n_parameters
        self.bic = self.objective + np.log(self.nobs) * n_parameters
        phi, ratios = layout.split(self.eta)
        self.correlation_params = pd.Series(
            {} if phi is None else {"Phi": phi}, dtype=float, name="correlation"
        )
        by = layout.variance.by if layout.variance is not None else None
        self.variance_ratios = pd.Series(
            ratios if by is not None else [],
            index=[str(level) for level in layout.levels],
            dtype=float,
            name=by,
        )
        natural = [] if phi is None else [phi]
        natural += [r for i, r in enumerate(ratios) if by is not None and i != layout.reference]
        self.structure_params = pd.Series(
            natural, index=layout.parameter_names, dtype=float, name="structure"
        )

    @cached_property
    def without_structure(self) -> LmerResults:
        """The model without the structure, fitted (lme4's fit; made on first use)."""
        return self._without if isinstance(self._without, LmerResults) else self._without()

    # ------------------------------------------------------------------ residuals
    def _row_scale(self) -> np.ndarray:
        scale = self.layout.row_scale(self.layout.split(self.eta)[1])
        return np.ones(self.nobs) if scale is None else scale

    def residuals(self, type: str = "response") -> pd.Series:
        """Residuals as nlme's ``residuals.lme(type=)`` (innermost level).

        Parameters
        ----------
        type : {"response", "pearson", "normalized"}
            ``response``: ``y - fitted``; ``pearson``: divided by the
            residual SD of the row, ``sigma s_t``; ``normalized``: the
            whitened Pearson residuals ``C^{-1} (y - fitted) / sigma``, which
            are uncorrelated with unit variance under the model.
        """
        if type not in _RESIDUAL_TYPES:
            raise ArgumentError(f"type must be one of {', '.join(_RESIDUAL_TYPES)}; got {type!r}")
        response = self.resid
        if type == "response":
            return response
        if type == "pearson":
            values = response.to_numpy() / (self.sigma * self._row_scale())
        else:
            values = self.layout.whiten(response.to_numpy(), self.eta) / self.sigma
        return pd.Series(values, index=response.index, name=f"resid_{type}")

    # ------------------------------------------------------------------ tests
    def anova(self, other: LmerResults | None = None) -> pd.DataFrame:
        """Likelihood-ratio test against the model without the structure (nlme's ``anova``).

        Parameters
        ----------
        other : LmerResults, optional
            The smaller model (default: :attr:`without_structure`). Both must
            be fitted by the same method; REML fits must share the fixed part.
        """
        other = self.without_structure if other is None else other
        if other.reml != self.reml:
            raise ArgumentError("anova: both fits must use the same method (REML or ML)")
        if self.reml and list(other.fe_params.index) != list(self.fe_params.index):
            raise ArgumentError("anova: REML fits with different fixed effects are not comparable")
        fits = sorted(
            [("without_structure", other), ("with_structure", self)],
            key=lambda item: item[1].df_modelwc,
        )
        rows = []
        for position, (name, fit) in enumerate(fits):
            row = {
                "model": name,
                "df": fit.df_modelwc,
                "AIC": fit.aic,
                "BIC": fit.bic,
                "logLik": fit.llf,
                "L.Ratio": np.nan,
                "p-value": np.nan,
            }
            if position == 1:
                ratio = 2.0 * (fit.llf - fits[0][1].llf)
                dof = fit.df_modelwc - fits[0][1].df_modelwc
                row["L.Ratio"] = ratio
                row["p-value"] = float(stats.chi2.sf(max(ratio, 0.0), dof)) if dof > 0 else np.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("model")

    @cached_property
    def coef_table(self) -> pd.DataFrame:  # type: ignore[override]
        """The Wald table (estimate, SE, t value): no Satterthwaite df with a structure.

        Satterthwaite df would need the structure parameters in the Hessian of
        the criterion; this is the table of lme4's plain ``summary``.
        """
        return pd.DataFrame(
            {
                "Estimate": self.fe_params,
                "Std. Error": self.bse_fe,
                "t value": self.fe_params / self.bse_fe,
            }
        )

    def tidy(self, effects=("fixed", "ran_pars"), conf_int=False, **kwargs) -> pd.DataFrame:
        """broom.mixed's ``tidy`` with normal-quantile intervals (``ddf=None``) only."""
        if kwargs.get("ddf") is not None:
            raise ArgumentError("with a residual structure, tidy() has ddf=None only")
        kwargs["ddf"] = None
        return super().tidy(effects=effects, conf_int=conf_int, **kwargs)

    def confint(self, method: str = "profile", level: float = 0.95) -> pd.DataFrame:
        """Wald intervals for the fixed effects (profile intervals are not available here)."""
        if method != "Wald":
            raise ArgumentError(
                "only method='Wald' is available with a residual structure (profiles would "
                "have to re-optimise the structure parameters)"
            )
        return super().confint(method="Wald", level=level)

    # ------------------------------------------------------------------ summary
    def summary(
        self,
        ddf: str | None = None,
        correlation: bool | None = None,
        signif_stars: bool = True,
        data_name: str | None = None,
    ) -> LmerSummary:
        """lme4-style summary with the structure's tables; residuals are the normalized ones.

        ``ddf`` must be None (no Satterthwaite df with a structure); the other
        arguments are :meth:`LmerResults.summary`'s.
        """
        if ddf is not None:
            raise ArgumentError("with a residual structure, summary() has ddf=None only")
        base = lmer_summary(
            self,
            ddf=None,
            correlation=correlation,
            signif_stars=signif_stars,
            data_name=data_name,
        )
        lines = base.text.split("\n")
        normalized = self._normalized_table()
        tables = list(base.tables)
        if "Scaled residuals: " in lines:
            start = lines.index("Scaled residuals: ")
            lines[start : start + 3] = [normalized.title, *normalized.text_lines()]
            tables = [normalized if t.title == "Scaled residuals:" else t for t in tables]
        structure = self._structure_tables()
        at = lines.index("Fixed effects:")
        lines[at:at] = [line for t in structure for line in (t.title, *t.text_lines(), "")]
        return dataclasses.replace(
            base, tables=tuple(tables) + tuple(structure), text="\n".join(lines)
        )

    def _normalized_table(self) -> SummaryTable:
        values = self.residuals("normalized").to_numpy()
        quantiles = zapsmall(np.quantile(values, [0, 0.25, 0.5, 0.75, 1]), DIGITS + 1)
        cells = tuple(format_vector(quantiles, DIGITS))
        names = ("Min", "1Q", "Median", "3Q", "Max")
        return SummaryTable("Normalized residuals:", names, ("",), (cells,), named=True)

    def _structure_tables(self) -> list[SummaryTable]:
        layout = self.layout
        tables = []
        if layout.correlation is not None:
            description = layout.correlation.describe().replace(
                "within group", f"within {layout.group_name}"
            )
            cells = (tuple(format_vector([self.correlation_params["Phi"]], DIGITS + 2)),)
            tables.append(
                SummaryTable(
                    f"Correlation structure: {description}", ("Phi",), ("",), cells, named=True
                )
            )
        if layout.variance is not None:
            title = (
                f"Variance function: VarIdent by {layout.variance.by} (residual SD = sigma * "
                f"ratio; reference level {layout.levels[layout.reference]})"
            )
            cells = (tuple(format_vector(self.variance_ratios.to_numpy(), DIGITS + 2)),)
            names = tuple(self.variance_ratios.index)
            tables.append(SummaryTable(title, names, ("",), cells, named=True))
        return tables

    def __getstate__(self) -> dict:
        """Compact pickling (see :mod:`.persist`): the fit without the structure is
        kept (``anova`` after loading), not the model and rows it would be refitted from."""
        _ = self.without_structure
        state = super().__getstate__()
        if not state.get("keep_data"):
            state.pop("_without", None)
        return state

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.structure_params.items())
        return f"<StructuredResults {self.method} llf={self.llf:.4f} nobs={self.nobs} {params}>"
