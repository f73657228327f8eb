"""``MixedLMResults``: a fitted ``MixedLM`` on statsmodels' ``LikelihoodModelResults``.

The base class and statsmodels' results wrapper give statsmodels' behaviour
for ``t_test``/``wald_test``/``f_test`` (string constraints too),
``conf_int``, ``tvalues``, ``pvalues``, ``remove_data``, ``save``/``load`` and
array-in/array-out. The numbers are the engine's.
"""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats
from statsmodels.base.model import LikelihoodModelResults
from statsmodels.iolib import summary2
from statsmodels.regression.mixed_linear_model import MixedLMParams

from ..errors import DataError, MixedModelsWarning
from ._design import ThetaLayout
from ._inference import variance_covariances

if TYPE_CHECKING:
    from ..results.lmer import LmerResults
    from .mixed_linear_model import MixedLM

__all__ = ["MixedLMResults"]


class MixedLMResults(LikelihoodModelResults):
    """Results of :meth:`MixedLM.fit` (statsmodels' names, meanings and types).

    Attributes
    ----------
    params : ndarray
        Fixed effects, then the lower triangle of ``cov_re / scale`` and
        ``vcomp / scale`` (statsmodels' profile parameterisation).
    fe_params, bse_fe : ndarray
    cov_re, cov_re_unscaled : ndarray
        Random-effects covariance, natural scale and divided by ``scale``.
    vcomp : ndarray
        Variance components (natural scale), in sorted name order.
    scale, llf : float
        Residual variance; log-likelihood (REML log-likelihood for REML fits).
    method : {'REML', 'ML'}
    converged, singular : bool
    params_object : MixedLMParams
    theta : ndarray
        The engine's relative covariance factor at the estimate.
    engine : LinearMixedModel
    lmer : LmerResults
        The engine's results (lme4 vocabulary; ``StructuredResults`` with a
        residual structure).
    layout : ThetaLayout
        Where statsmodels' variance parameters sit in ``theta``.
    """

    def __init__(
        self,
        model: MixedLM,
        lmer: LmerResults,
        layout: ThetaLayout,
        free: MixedLMParams | None = None,
        hist: list | None = None,
        fixed_effects: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.lmer, self.engine, self.layout = lmer, lmer.model, layout
        if fixed_effects is None:  # else the penalised estimate of fit_regularized
            fixed_effects = (lmer.fe_params.to_numpy(), lmer.cov_fe.to_numpy())
        self.fe_params, self.cov_fe = fixed_effects
        self.theta = lmer.theta.copy()
        cov_unscaled, vcomp_unscaled = layout.profile(self.theta)
        params = np.concatenate([self.fe_params, layout.packed(self.theta)])
        super().__init__(model, params, normalized_cov_params=None, scale=lmer.scale)
        self.reml = self.engine.reml
        self.method = "REML" if self.reml else "ML"
        self.converged, self.singular = lmer.converged, lmer.singular
        self.freepat, self.hist = free, hist
        self.use_sqrt = model.use_sqrt
        self.k_fe, self.k_re, self.k_re2 = model.k_fe, model.k_re, model.k_re2
        self.k_vc = model.k_vc
        self.nobs = model.nobs
        self.df_resid = self.nobs - self.k_fe
        self.n_groups = model.n_groups
        self.group_sizes = np.array([len(rows) for rows in model.group_structure.rows])
        self.cov_re_unscaled = cov_unscaled
        self.cov_re = self.scale * cov_unscaled
        self.vcomp = self.scale * vcomp_unscaled
        self.params_object = MixedLMParams.from_components(
            self.fe_params, cov_re=cov_unscaled, vcomp=vcomp_unscaled
        )

    # ------------------------------------------------------------------ covariances
    @property
    def normalized_cov_params(self) -> np.ndarray:
        """``cov_params() / scale``: fixed-effects block (lme4's ``vcov``), variance block
        the inverse observed information of the profile parameters; cross block zero."""
        k = len(self.params)
        matrix = np.zeros((k, k))
        matrix[: self.k_fe, : self.k_fe] = self.cov_fe
        matrix[self.k_fe :, self.k_fe :] = self._variance_covariances[0]
        return matrix / self.scale

    @normalized_cov_params.setter
    def normalized_cov_params(self, value: object) -> None:
        if value is not None:
            raise AttributeError("normalized_cov_params is computed from the fit")

    @cached_property
    def _variance_covariances(self) -> tuple[np.ndarray, np.ndarray]:
        """Covariances of the profile and natural variance parameters (``_inference``)."""
        k = len(self.params) - self.k_fe
        nan = np.full((k, k), np.nan)
        if self.singular:
            # Wald standard errors of a variance estimated on its boundary are meaningless.
            return nan, nan
        covariances = variance_covariances(self.lmer, self.layout)
        if covariances is None:
            warnings.warn(
                "the Hessian of the log-likelihood is not positive definite at the estimate; "
                "standard errors of the variance parameters are NaN",
                MixedModelsWarning,
                stacklevel=3,
            )
            return nan, nan
        return covariances

    @property
    def llf(self) -> float:
        """Log-likelihood at the estimate (the REML log-likelihood for REML fits)."""
        return self.lmer.llf

    @property
    def df_modelwc(self) -> int:
        """Number of estimated parameters, including the scale (and any residual structure)."""
        return self.lmer.df_modelwc

    @property
    def bse_fe(self) -> np.ndarray:
        """Standard errors of the fixed effects."""
        return np.sqrt(np.diag(self.cov_fe))

    @cached_property
    def bse_re(self) -> np.ndarray:
        """Standard errors of ``cov_re`` (lower triangle) and ``vcomp`` on the natural scale.

        Delta-method standard errors from the observed information of
        ``(theta, scale)``: the standard errors of the numbers in the summary,
        including the uncertainty of ``scale``. statsmodels reports
        ``sqrt(scale) * bse`` here, which has the units of a standard deviation
        (see ``docs/statsmodels.md``). NaN for singular fits.
        """
        return np.sqrt(np.clip(np.diag(self._variance_covariances[1]), 0.0, None))

    @property
    def aic(self) -> float:
        """Akaike information criterion; NaN for REML fits, as in statsmodels."""
        return np.nan if self.reml else -2.0 * self.llf + 2.0 * self.df_modelwc

    @property
    def bic(self) -> float:
        """Bayesian information criterion; NaN for REML fits, as in statsmodels."""
        return np.nan if self.reml else -2.0 * self.llf + np.log(self.nobs) * self.df_modelwc

    def t_test(self, r_matrix: object, use_t: bool | None = None, **kwargs: object) -> object:
        """t tests of linear hypotheses on the fixed effects (or all parameters).

        ``r_matrix`` with ``k_fe`` columns is padded with zeros for the
        variance parameters, as statsmodels does; strings such as
        ``"Time = 0"`` are statsmodels' constraint syntax.
        """
        if not isinstance(r_matrix, str | tuple):
            r_matrix = np.atleast_2d(np.asarray(r_matrix, dtype=float))
            if r_matrix.shape[1] != self.k_fe:
                raise ValueError(f"r_matrix for t-test should have {self.k_fe:d} columns")
            padding = np.zeros((r_matrix.shape[0], len(self.params) - self.k_fe))
            r_matrix = np.concatenate((r_matrix, padding), axis=1)
        return super().t_test(r_matrix, use_t=use_t, **kwargs)

    # ------------------------------------------------------------------ random effects
    def _group_design(self, code: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``Z_g``, ``Lambda_g`` and the names of group ``code``'s random effects."""
        model = self.model
        rows = model.group_structure.rows[code]
        blocks_z, blocks_lambda = [], []
        names = list(model.exog_re_names) if self.k_re else []
        if self.k_re:
            blocks_z.append(model.exog_re[rows])
            blocks_lambda.append(self.layout.re_factor(self.theta))
        for component, index in zip(model.components, self.layout.vc_indices, strict=True):
            columns = component.group_columns(code)
            blocks_z.append(component.matrix[rows][:, columns].toarray())
            blocks_lambda.append(self.theta[index] * np.eye(len(columns)))
            names.extend(f"{component.name}[{component.column_names[j]}]" for j in columns)
        z = np.column_stack(blocks_z) if blocks_z else np.zeros((len(rows), 0))
        return z, scipy.linalg.block_diag(*blocks_lambda), names

    @cached_property
    def _conditional(self) -> dict:
        """Per group: conditional modes and covariance of the random effects given the data.

        ``b_g = Lambda (Lambda'Z'Z Lambda + I)^{-1} Lambda'Z'(y_g - X_g beta)`` and
        ``scale Lambda (Lambda'Z'Z Lambda + I)^{-1} Lambda'`` (lme4's ``ranef``/``condVar``).
        """
        model = self.model
        resid = model.endog - model.exog @ self.fe_params
        result = {}
        for code, label in enumerate(model.group_structure.labels):
            z, factor, names = self._group_design(code)
            scaled = z @ factor
            system = scaled.T @ scaled + np.eye(scaled.shape[1])
            rows = model.group_structure.rows[code]
            modes = factor @ np.linalg.solve(system, scaled.T @ resid[rows])
            covariance = self.scale * factor @ np.linalg.solve(system, factor.T)
            covariance = pd.DataFrame(0.5 * (covariance + covariance.T), index=names, columns=names)
            result[label] = (pd.Series(modes, index=names), covariance, z)
        return result

    @property
    def random_effects(self) -> dict:
        """Conditional modes of each group's random effects: label -> Series."""
        return {label: item[0] for label, item in self._conditional.items()}

    @property
    def random_effects_cov(self) -> dict:
        """Conditional covariance of each group's random effects: label -> DataFrame."""
        return {label: item[1] for label, item in self._conditional.items()}

    @cached_property
    def fittedvalues(self) -> np.ndarray:
        """``exog @ fe_params`` plus the predicted random effects."""
        fitted = self.model.exog @ self.fe_params
        for rows, (modes, _, z) in zip(
            self.model.group_structure.rows, self._conditional.values(), strict=True
        ):
            fitted[rows] += z @ modes.to_numpy()
        return fitted

    @cached_property
    def resid(self) -> np.ndarray:
        """``endog - fittedvalues``."""
        return self.model.endog - self.fittedvalues

    def predict(self, exog: object = None, transform: bool = True, **kwargs: object) -> object:
        """Fixed-effects predictions (statsmodels' ``results.predict``).

        A DataFrame goes through the formula of a formula model and gives a
        Series; an array, or no ``exog`` (the fitted rows), gives an ndarray.
        """
        model = self.model
        fixed = model.fixed_design
        if exog is None:
            return model.exog @ self.fe_params
        elif transform and fixed is not None and isinstance(exog, pd.DataFrame | dict):
            frame = pd.DataFrame(exog)
            values, index = fixed.new_matrix(frame) @ self.fe_params, frame.index
        else:
            values = model.predict(self.fe_params, exog)
            index = exog.index if isinstance(exog, pd.DataFrame | pd.Series) else None
        return values if index is None else pd.Series(values, index=index)

    # ------------------------------------------------------------------ profile, summary
    def profile_re(
        self, re_ix: int | str, vtype: str, num_low: int = 5, dist_low: float = 1.0,
        num_high: int = 5, dist_high: float = 1.0, **fit_kwargs: object,
    ) -> np.ndarray:
        """Profile log-likelihood of one variance parameter (statsmodels' ``profile_re``).

        Returns
        -------
        ndarray, shape (num_low + 1 + num_high, 2)
            ``(variance, profile log-likelihood)`` on statsmodels' grid.
        """
        from ._profile import profile_variance

        return profile_variance(self, re_ix, vtype, num_low, dist_low, num_high, dist_high)

    def summary(
        self, yname: str | None = None, xname_fe: list[str] | None = None,
        xname_re: list[str] | None = None, title: str | None = None, alpha: float = 0.05,
    ) -> summary2.Summary:
        """statsmodels' "Mixed Linear Model Regression Results" (a ``summary2.Summary``).

        Variance rows show the natural-scale estimate and :attr:`bse_re`.
        """
        names = list(self.model.data.param_names)
        for given, part, label in ((xname_fe, slice(0, self.k_fe), "xname_fe"),
                                   (xname_re, slice(self.k_fe, None), "xname_re")):
            if given is not None:
                if len(given) != len(names[part]):
                    raise DataError(f"{label} should be a list of length {len(names[part])}")
                names[part] = list(given)
        sizes = self.group_sizes
        info = {
            "Model:": "MixedLM", "No. Observations:": str(self.nobs),
            "No. Groups:": str(self.n_groups), "Min. group size:": f"{sizes.min():.0f}",
            "Max. group size:": f"{sizes.max():.0f}", "Mean group size:": f"{sizes.mean():.1f}",
            "Dependent Variable:": yname or self.model.endog_names, "Method:": self.method,
            "Scale:": self.scale, "Log-Likelihood:": self.llf,
            "Converged:": "Yes" if self.converged else "No",
        }
        table = np.full((len(names), 6), np.nan)
        bse_fe = self.bse_fe
        quantile = stats.norm.ppf(1 - alpha / 2)
        table[: self.k_fe, 0], table[: self.k_fe, 1] = self.fe_params, bse_fe
        table[: self.k_fe, 2] = self.fe_params / bse_fe
        table[: self.k_fe, 3] = 2 * stats.norm.sf(np.abs(table[: self.k_fe, 2]))
        table[: self.k_fe, 4] = self.fe_params - quantile * bse_fe
        table[: self.k_fe, 5] = self.fe_params + quantile * bse_fe
        table[self.k_fe :, 0] = np.concatenate(
            [self.cov_re[np.tril_indices(self.k_re)], self.vcomp]
        )
        table[self.k_fe :, 1] = self.bse_re
        columns = ["Coef.", "Std.Err.", "z", "P>|z|", f"[{alpha / 2}", f"{1 - alpha / 2}]"]
        frame = pd.DataFrame(
            [[f"{x:.3f}" if np.isfinite(x) else "" for x in row] for row in table],
            index=names, columns=columns,
        )
        result = summary2.Summary()
        result.add_dict(info)
        result.add_title(title or "Mixed Linear Model Regression Results")
        result.add_df(frame, align="r")
        return result

    def __repr__(self) -> str:
        return f"<MixedLMResults {self.method} llf={self.llf:.4f} nobs={self.nobs}>"
