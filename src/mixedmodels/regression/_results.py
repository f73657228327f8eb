"""``MixedLMResults``: a fitted ``MixedLM``, a subclass of statsmodels' ``MixedLMResults``.

statsmodels' classes give its behaviour (``t_test``/``wald_test``/``f_test``,
``conf_int``, ``bse_fe``, ``resid``, ``remove_data``, ``save``/``load``,
array-in/array-out); every number is the engine's.
"""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from statsmodels.base.model import LikelihoodModelResults
from statsmodels.iolib import summary2
from statsmodels.regression import mixed_linear_model as sm_mixed
from threadpoolctl import threadpool_limits

from ..errors import DataError, MixedModelsError, MixedModelsWarning
from ..optim.profile import profile_minimum
from ..results.condcov import effect_offsets, joint_conditional_covariances
from ..results.inference import delta_covariance
from ..results.profile import ProfileTrace
from ._design import ThetaLayout, re_pattern_from_free

if TYPE_CHECKING:
    from ..results.lmer import LmerResults
    from .mixed_linear_model import MixedLM

__all__ = ["MixedLMResults", "variance_covariances"]


def variance_covariances(
    lmer: LmerResults, layout: ThetaLayout
) -> tuple[np.ndarray, np.ndarray] | None:
    """Covariances of statsmodels' variance parameters ``psi`` (profile scale:
    ``cov_re / scale``, ``vcomp / scale``) and of ``scale psi`` (natural scale), by the
    delta method from ``cov(theta, sigma)``
    (:func:`~mixedmodels.results.inference.delta_covariance`); None when that is not
    positive definite.

    The profile block is also the inverse Hessian of the criterion with ``scale``
    profiled out in ``psi``: statsmodels' ``cov_params()`` block for these parameters.
    """

    def profile_and_natural(theta: np.ndarray, sigma: float) -> np.ndarray:
        return np.concatenate([layout.packed(theta), sigma**2 * layout.packed(theta)])

    both = delta_covariance(lmer, profile_and_natural)
    if both is None:
        return None
    k = len(both) // 2
    return both[:k, :k], both[k:, k:]


class MixedLMResults(sm_mixed.MixedLMResults):
    """Results of :meth:`MixedLM.fit`, with statsmodels' attributes and meanings.

    Beyond statsmodels' attributes: ``lmer``, the engine's results (lme4's
    vocabulary; ``StructuredResults`` with a residual structure), its model
    ``engine``, ``theta`` and ``layout`` (a :class:`ThetaLayout`).
    """

    def __init__(
        self,
        model: MixedLM,
        lmer: LmerResults,
        layout: ThetaLayout,
        free: sm_mixed.MixedLMParams | None = None,
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
        # statsmodels' MixedLMResults.__init__ would add a rank computation of exog.
        LikelihoodModelResults.__init__(self, model, params, None, scale=lmer.scale)
        self.reml = self.engine.reml
        self.method = "REML" if self.reml else "ML"
        self.converged, self.singular = lmer.converged, lmer.singular
        self.freepat, self.hist, self.use_sqrt = free, hist, model.use_sqrt
        self.k_fe, self.k_re, self.k_re2 = model.k_fe, model.k_re, model.k_re2
        self.k_vc = model.k_vc
        self.nobs, self.df_resid, self.n_groups = model.nobs, model.nobs - self.k_fe, model.n_groups
        self.cov_re_unscaled, self.cov_re = cov_unscaled, self.scale * cov_unscaled
        self.vcomp = self.scale * vcomp_unscaled
        self.params_object = sm_mixed.MixedLMParams.from_components(
            self.fe_params, cov_re=cov_unscaled, vcomp=vcomp_unscaled
        )

    # ------------------------------------------------------------------ covariances
    @property
    def normalized_cov_params(self) -> np.ndarray:
        """``cov_params() / scale``: fixed block lme4's ``vcov``, variance block the inverse
        observed information of the profile parameters, cross block zero."""
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
        if self.singular:  # Wald standard errors of a variance on its boundary are meaningless
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
        """Log-likelihood (REML log-likelihood for REML fits)."""
        return self.lmer.llf

    @property
    def df_modelwc(self) -> int:
        """Number of estimated parameters, with the scale (and any residual structure)."""
        return self.lmer.df_modelwc

    @cached_property
    def bse_re(self) -> np.ndarray:
        """Standard errors of ``cov_re`` (lower triangle) and ``vcomp``, natural scale.

        Delta method from the observed information of ``(theta, scale)``;
        statsmodels reports ``sqrt(scale) * bse`` (see ``docs/statsmodels.md``).
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

    def t_test(self, r_matrix: object, use_t: bool | None = None) -> object:
        """statsmodels' ``MixedLMResults.t_test``; string constraints (``"Time = 0"``) too."""
        if isinstance(r_matrix, str | tuple):
            return LikelihoodModelResults.t_test(self, r_matrix, use_t=use_t)
        return super().t_test(np.atleast_2d(np.asarray(r_matrix, dtype=float)), use_t=use_t)

    # ------------------------------------------------------------------ random effects
    @cached_property
    def _effects(self) -> list[tuple[list[str], np.ndarray]]:
        """Per group: its effects' names and positions in the engine's ``b``
        (:func:`~mixedmodels.results.condcov.effect_offsets`; ``-1 - k``: a column of
        component ``k`` without data, which the engine has no level for)."""
        model, engine = self.model, self.engine
        offsets, has_re = effect_offsets(engine.blocks), int(self.k_re > 0)
        terms = [(info, None) for info in engine.term_infos[:has_re]]
        terms += list(zip(engine.term_infos[has_re:], model.components, strict=True))
        out = []
        for code in range(model.n_groups):
            names, where = [], []
            for k, (info, component) in enumerate(terms):
                start = offsets[info.block] + code * engine.blocks[info.block].n_columns
                if component is None:
                    names += list(model.exog_re_names)
                    where += [start + column for column in info.columns]
                    continue
                own = component.group_columns(code)
                names += [f"{component.name}[{component.column_names[j]}]" for j in own]
                if component.on_group(model.n_groups):
                    where += [start + column for column in info.columns[: len(own)]]
                    continue
                # The scalar form: one level per used column, in column order.
                level = np.searchsorted(component.used_columns, own)
                used = component.used_columns[np.minimum(level, len(component.used_columns) - 1)]
                unused = has_re - 1 - k  # -1 - (the component's index)
                where += np.where(used == own, offsets[info.block] + level, unused).tolist()
            out.append((names, np.array(where, dtype=np.int64)))
        return out

    @cached_property
    def _conditional(self) -> dict:
        """Per group: modes (at :attr:`fe_params`) and covariance of its random effects given
        the data (lme4's ``ranef``/``condVar``; across factors
        :mod:`mixedmodels.results.condcov`)."""
        modes = self.lmer.criterion_state().conditional_modes(self.fe_params)
        effects = np.concatenate([block_modes.ravel() for block_modes in modes])
        positions = [where[where >= 0] for _, where in self._effects]
        covariances = joint_conditional_covariances(self.lmer, positions)
        result = {}
        for label, (names, where), joint in zip(
            self.model.group_labels, self._effects, covariances, strict=True
        ):
            known = where >= 0
            values, covariance = np.zeros(len(where)), np.zeros((len(where), len(where)))
            values[known] = effects[where[known]]
            covariance[np.ix_(known, known)] = joint
            for position in np.flatnonzero(~known):  # no data: the prior variance
                covariance[position, position] = self.vcomp[-1 - where[position]]
            frame = pd.DataFrame(covariance, index=names, columns=names)
            result[label] = (pd.Series(values, index=names), frame)
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
        modes = self.lmer.criterion_state().conditional_modes(self.fe_params)
        fitted = self.model.exog @ self.fe_params
        for block, block_modes in zip(self.engine.blocks, modes, strict=True):
            fitted += np.einsum("ij,ij->i", block.z, block_modes[block.factor.codes])
        return fitted

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
        """statsmodels' ``profile_re``: ``(variance, profile log-likelihood)`` rows on its grid.

        Fixing the profile-scale variance ``v`` of random coefficient ``r``: the
        columns of ``exog_re`` are permuted so that ``r`` comes first; the first
        diagonal entry of ``T`` is then the only entry in its row, so
        ``(T T')_{00} = T_00^2`` and fixing ``T_00 = sqrt(v)`` fixes the variance
        while every other ``theta`` stays free (a variance component is one
        ``theta`` already). Each point is the profile step of lme4's profile
        intervals (:func:`~mixedmodels.optim.profile.profile_minimum`), warm-started
        from its neighbour towards the estimate
        (:class:`~mixedmodels.results.profile.ProfileTrace`), on a copy of the state.
        """
        engine, theta_start, fixed, estimate = _profile_target(self, re_ix, vtype)
        if estimate - dist_low <= 0:
            raise MixedModelsError(
                f"dist_low={dist_low!r} is too large: the variance estimate is {estimate:.6g}, "
                "so the grid would reach a negative variance. Use a smaller dist_low."
            )
        centre = estimate / self.scale
        grid = np.concatenate([
            np.linspace((estimate - dist_low) / self.scale, centre, int(num_low) + 1),
            np.linspace(centre, (estimate + dist_high) / self.scale, int(num_high) + 1)[1:],
        ])
        state, lower = engine.state.fork(), engine.lower_bounds

        def criterion(theta: np.ndarray) -> float:
            return np.inf if np.any(theta < lower) else state.evaluate(theta)

        def minimum(value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
            outcome = profile_minimum(
                criterion, start, lower, scale=engine.theta_scale, fixed=fixed, value=value**0.5
            )
            return outcome.objective, outcome.theta

        trace = ProfileTrace(minimum, float(centre), theta_start, state.evaluate(theta_start))
        rows = []
        with threadpool_limits(limits=engine.blas_threads, user_api="blas"):
            for value in sorted(grid, key=lambda value: abs(value - centre)):  # outwards
                trace(value)
            for value in grid:
                objective = state.evaluate(trace.points[float(value)][1])
                rows.append((value * state.sigma2(), -0.5 * objective))
        return np.array(rows)

    def summary(
        self, yname: str | None = None, xname_fe: list[str] | None = None,
        xname_re: list[str] | None = None, title: str | None = None, alpha: float = 0.05,
    ) -> summary2.Summary:
        """statsmodels' summary, with :attr:`bse_re` (natural scale) in the variance rows."""
        result = super().summary(yname, xname_fe, xname_re, title, alpha)
        errors = [f"{x:.3f}" if np.isfinite(x) else "" for x in self.bse_re]
        result.tables[1].iloc[self.k_fe :, 1] = errors
        return result

    def __repr__(self) -> str:
        return f"<MixedLMResults {self.method} llf={self.llf:.4f} nobs={self.nobs}>"


def _profile_target(results: MixedLMResults, re_ix: int | str, vtype: str) -> tuple:
    """For :meth:`MixedLMResults.profile_re`: the engine, start theta, index of the fixed
    theta entry and the variance's estimate."""
    model = results.model
    if vtype not in ("re", "vc"):
        raise DataError(f"vtype must be 're' or 'vc', got {vtype!r}")
    if vtype == "vc":
        names = [component.name for component in model.components]
        if re_ix not in names:
            raise DataError(f"re_ix must name a variance component for vtype='vc': one of {names}")
        k = names.index(re_ix)
        return results.engine, results.theta, results.layout.vc_indices[k], results.vcomp[k]
    if not isinstance(re_ix, int | np.integer) or not 0 <= int(re_ix) < results.k_re:
        raise DataError(
            f"re_ix must be an integer in [0, {results.k_re}) for vtype='re', got {re_ix!r}"
        )
    order = np.arange(results.k_re)
    order[0], order[int(re_ix)] = int(re_ix), 0
    free = model.free_pattern(results.freepat) >= 0
    pattern = re_pattern_from_free((free | free.T)[np.ix_(order, order)], results.k_re)
    engine, layout = model.engine(results.reml, pattern, exog_re=model.exog_re[:, order])
    cov = np.asarray(results.cov_re_unscaled)[np.ix_(order, order)]
    theta = layout.theta_from_profile(cov, results.vcomp / results.scale)
    return engine, theta, int(layout.re_index[0, 0]), np.asarray(results.cov_re)[re_ix, re_ix]
