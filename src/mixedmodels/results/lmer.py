"""Fitted linear mixed model in lme4's vocabulary (``merMod``).

Notation
--------
============  ==============================================================
symbol        meaning
============  ==============================================================
``theta``     relative covariance parameters at the optimum
``sigma2``    residual variance, ``pwrss / (n - k)`` (REML) or ``pwrss / n``
``T_t``       part of a block's ``T`` for term ``t``
``Sigma_t``   ``sigma2 T_t T_t'``, the covariance of term ``t``'s effects
``beta``      fixed effects, ``cov(beta) = sigma2 (L_X L_X')^{-1}``
``b``         conditional modes ``Lambda u``
============  ==============================================================
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..design.fixed import lme4_name
from ..errors import DataError
from .summary import lmer_summary

if TYPE_CHECKING:
    from ..model import LinearMixedModel
    from ..objective.pls import PLSState
    from ..optim.optimizer import OptimizerResult
    from ..optim.optsummary import OptSummary


#: The dtype pandas infers for a list of strings (``str`` in pandas 3, object before).
_STRING_DTYPE = pd.Index([""]).dtype

__all__ = ["LmerResults"]


class LmerResults:
    """Results of :func:`mixedmodels.lmer`.

    Attributes
    ----------
    model : LinearMixedModel
    theta : ndarray
    fe_params : Series
        Fixed effects with lme4 names; NaN for columns dropped as collinear.
    bse_fe : Series
        Standard errors of the fixed effects.
    cov_fe : DataFrame
        Covariance matrix of the fixed effects (lme4's ``vcov``).
    scale : float
        Residual variance ``sigma^2``.
    llf : float
        Log-likelihood; the REML log-likelihood for REML fits (lme4's ``logLik``).
    objective : float
        REML criterion or deviance, ``-2 llf``.
    aic, bic : float
    nobs : int
    nobs_dropped : int
        Rows dropped for missing values (or zero weight).
    converged : bool
    singular : bool
    optimizer : OptimizerResult
    keep_data : bool
        Whether ``data`` is kept and a saved fit keeps its rows (``lmer(keep_data=)``).
    data : DataFrame or None
        The data, when ``keep_data`` was set.
    """

    keep_data: bool = False
    data = None

    def __init__(self, model: LinearMixedModel, optimizer: OptimizerResult, singular: bool) -> None:
        # The snapshot (lme4's mkMerMod): a private copy of the factor at theta, which
        # nothing else evaluates, so later fits, profiles or tests cannot move it (and
        # the model's own state is not touched; at the fit's theta this costs nothing).
        self._state = state = model.state.fork()
        objective = state.evaluate(optimizer.theta)
        self.model = model
        self.optimizer = optimizer
        self.theta = optimizer.theta.copy()
        self.reml = model.reml
        self.method = "REML" if model.reml else "ML"
        self.objective = objective
        self.llf = -0.5 * self.objective
        self.scale = state.sigma2()
        self.nobs = model.n_obs
        design = model.design
        self.nobs_dropped = design.nobs_dropped if design is not None else 0
        self.converged = bool(optimizer.converged)
        self.singular = bool(singular)
        n_parameters = model.n_theta + model.n_fixed + 1
        self.df_modelwc = n_parameters
        self.aic = self.objective + 2.0 * n_parameters
        self.bic = self.objective + math.log(self.nobs) * n_parameters
        beta = state.beta()
        self._unscaled_cov_fe = state.fixed_covariance_unscaled()
        self._covariance = covariance = self.scale * self._unscaled_cov_fe
        estimates, errors = beta, np.sqrt(covariance.diagonal())
        all_names = model.fixed_names
        if design is not None and design.fixed.dropped:
            # Columns dropped as collinear are reported as NaN, in their formula position
            # (by position, so that two columns with the same lme4 name cannot collide).
            all_names = [lme4_name(name) for name in design.fixed.all_names]
            kept = [design.fixed.all_names.index(name) for name in design.fixed.names]
            estimates = np.full(len(all_names), np.nan)
            errors = np.full(len(all_names), np.nan)
            estimates[kept] = beta
            errors[kept] = np.sqrt(np.diag(covariance))
        # The Series are built on first use (below): three pandas objects were 0.1-0.3 ms,
        # several per cent of a small model's fit.
        self._fe_table = (list(all_names), estimates, errors)
        self._beta = beta

    # ------------------------------------------------------------------ lazy parts
    # Built on first use, from the private snapshot ``_state`` (always at ``theta``):
    # a small model's whole fit takes a few milliseconds, and the DataFrame, the modes
    # and the factors were a fifth of it for callers that only read the estimates.
    @cached_property
    def _fe_index(self) -> pd.Index:
        # One Index for both Series, of the dtype pandas infers for strings but given:
        # inferring it (pyarrow strings in pandas 3) took 0.1-0.2 ms.
        return pd.Index(self._fe_table[0], dtype=_STRING_DTYPE)

    @cached_property
    def fe_params(self) -> pd.Series:
        """Fixed-effects estimates by lme4 name (NaN for a column dropped as collinear)."""
        return pd.Series(self._fe_table[1], index=self._fe_index, name="fe_params")

    @cached_property
    def bse_fe(self) -> pd.Series:
        """Standard errors of :attr:`fe_params`."""
        return pd.Series(self._fe_table[2], index=self._fe_index, name="bse_fe")

    @cached_property
    def cov_fe(self) -> pd.DataFrame:
        """Covariance matrix of the fixed effects (lme4's ``vcov``)."""
        names = self.model.fixed_names
        return pd.DataFrame(self._covariance, index=names, columns=names)

    @cached_property
    def _modes(self) -> list[np.ndarray]:
        """Conditional modes ``b`` per block, shaped ``(levels, columns)``."""
        return self._state.conditional_modes()

    @cached_property
    def _factors(self) -> list[np.ndarray]:
        """Each block's relative covariance factor ``T`` at ``theta``."""
        return [factor.copy() for factor in self._state.factors]

    def criterion_state(self, reml: bool | None = None) -> PLSState:
        """A private copy of the fitted factor, for evaluating the criterion elsewhere.

        Profiles, Hessians, bootstrap and other tests evaluate the criterion at
        other ``theta`` (and ``sigma``) on this copy; neither these results nor
        the model move. ``reml`` picks the copy's criterion (default: the fit's).
        """
        return self._state.fork(reml=reml)

    # ------------------------------------------------------------------ components
    @property
    def fixef(self) -> pd.Series:
        """Alias of :attr:`fe_params` (lme4's ``fixef``)."""
        return self.fe_params

    @property
    def sigma(self) -> float:
        """Residual standard deviation."""
        return float(np.sqrt(self.scale))

    def term_covariances(self) -> list[tuple[str, str, tuple[str, ...], np.ndarray]]:
        """``(grp label, group factor, column names, Sigma_t)`` per term in lme4 order."""
        infos = sorted(
            self.model.term_infos,
            key=lambda info: info.theta_indices[0] if info.theta_indices else 10**9,
        )
        seen: dict[str, int] = {}
        out = []
        for info in infos:
            factor = self._factors[info.block]
            columns = list(info.columns)
            part = factor[np.ix_(columns, columns)]
            count = seen.get(info.group_name, 0)
            seen[info.group_name] = count + 1
            label = info.group_name if count == 0 else f"{info.group_name}.{count}"
            out.append((label, info.group_name, info.column_names, self.scale * part @ part.T))
        return out

    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))``.

        Columns ``grp, var1, var2, vcov, sdcor``; ``var2`` is missing on variance
        rows; covariance rows give the correlation in ``sdcor``.
        """
        rows = []
        for label, _, names, covariance in self.term_covariances():
            sd = np.sqrt(np.clip(np.diag(covariance), 0, None))
            for index, name in enumerate(names):
                rows.append((label, name, None, covariance[index, index], sd[index]))
            for col in range(len(names)):
                for row in range(col + 1, len(names)):
                    denominator = sd[row] * sd[col]
                    correlation = covariance[row, col] / denominator if denominator > 0 else np.nan
                    rows.append((label, names[col], names[row], covariance[row, col], correlation))
        rows.append(("Residual", None, None, self.scale, np.sqrt(self.scale)))
        frame = pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
        return frame.astype({"grp": object, "var1": object, "var2": object})

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes of the random effects, one DataFrame per grouping factor."""
        result = {}
        for block, modes in zip(self.model.blocks, self._modes, strict=True):
            result[block.factor.name] = pd.DataFrame(
                modes, index=block.factor.levels.astype(str), columns=list(block.column_names)
            )
        return result

    @cached_property
    def _conditional_variances(self) -> list[np.ndarray]:
        """Per block, ``(l, p, p)`` conditional covariances ``sigma2 T (L L')^{-1}_ll T'``."""
        state = self._state
        blocks = self.model.blocks
        result = []
        if len(blocks) == 1:
            inverse = state.L_diag[0].inverse
            result.append(np.einsum("lji,ljk->lik", inverse, inverse))
        else:
            result = _blocked_inverse_diagonal(state)
        out = []
        for factor, covariance in zip(self._factors, result, strict=True):
            out.append(self.scale * np.einsum("ij,ljk,mk->lim", factor, covariance, factor))
        return out

    def ranef_condsd(self) -> dict[str, pd.DataFrame]:
        """Conditional standard deviations of the random effects (lme4's ``condVar``)."""
        result = {}
        for block, covariance in zip(self.model.blocks, self._conditional_variances, strict=True):
            sd = np.sqrt(np.clip(np.diagonal(covariance, axis1=1, axis2=2), 0, None))
            result[block.factor.name] = pd.DataFrame(
                sd, index=block.factor.levels.astype(str), columns=list(block.column_names)
            )
        return result

    def ranef_condcov(self) -> dict[str, np.ndarray]:
        """Conditional covariance matrices ``(l, p, p)`` of each factor's random effects."""
        return {
            block.factor.name: covariance
            for block, covariance in zip(
                self.model.blocks, self._conditional_variances, strict=True
            )
        }

    # ------------------------------------------------------------------ fitted values
    def _random_part(self) -> np.ndarray:
        total = np.zeros(self.nobs)
        for block, modes in zip(self.model.blocks, self._modes, strict=True):
            total += np.einsum("ij,ij->i", block.z, modes[block.factor.codes])
        return total

    @cached_property
    def fittedvalues(self) -> pd.Series:
        """Conditional fitted values ``X beta + Z b (+ offset)``."""
        rows = self.model.rows
        if rows is None:
            raise DataError("fitted values need the row data, which this model did not keep")
        fitted = rows.X @ self._beta + self._random_part()
        if rows.offset is not None:
            fitted = fitted + rows.offset
        index = self.model.design.row_index if self.model.design is not None else None
        return pd.Series(fitted, index=index, name="fittedvalues")

    @cached_property
    def resid(self) -> pd.Series:
        """Conditional residuals ``y - fitted``."""
        fitted = self.fittedvalues  # raises DataError first when no rows were kept
        return pd.Series(self.model.rows.y - fitted.to_numpy(), index=fitted.index, name="resid")

    def predict(
        self,
        newdata: object = None,
        re_form: object = None,
        allow_new_levels: bool = False,
        include_random: bool = True,
    ) -> pd.Series:
        """Predictions, as lme4's ``predict(fit, newdata, re.form, allow.new.levels)``.

        See :func:`mixedmodels.results.predict.predict`. ``include_random=False``
        is ``re_form=NA`` (the population prediction).
        """
        from .predict import predict

        return predict(self, newdata, re_form if include_random else np.nan, allow_new_levels)

    # ------------------------------------------------------------------ inference
    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """Fixed-effects table with Satterthwaite df and p values (as lmerTest)."""
        return self.coefficients("Satterthwaite")

    def coefficients(self, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """lmerTest's ``summary(fit, ddf = ddf)$coefficients``.

        Parameters
        ----------
        ddf : {"Satterthwaite", "Kenward-Roger"}
            Kenward-Roger (REML fits only) also uses the adjusted covariance
            :attr:`vcov_kenward_roger` for the standard errors.
        """
        from .contrasts import coefficient_table

        return coefficient_table(self, ddf)

    @property
    def vcov_kenward_roger(self) -> pd.DataFrame:
        """Kenward-Roger adjusted covariance of the fixed effects (pbkrtest's ``vcovAdj``)."""
        from .kenward_roger import kenward_roger

        names = self.model.fixed_names
        return pd.DataFrame(kenward_roger(self).vcov_adjusted, index=names, columns=names)

    def anova(self, type: int | str = 3, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """F tests of the fixed-effect terms, as lmerTest's ``anova(fit, type, ddf)``.

        Parameters
        ----------
        type : {1, 2, 3} or {"I", "II", "III"}
            Sequential (1), type II (2) or type III (3) hypotheses; see
            :mod:`mixedmodels.results.anova`.
        ddf : {"Satterthwaite", "Kenward-Roger"}

        Returns
        -------
        DataFrame
            One row per term: ``Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F)``.
            Empty for an intercept-only model. Compare models with
            :func:`mixedmodels.anova`.
        """
        from .anova import anova_table

        return anova_table(self, type=type, ddf=ddf)

    def contest(
        self,
        L: object,
        ddf: str = "Satterthwaite",
        joint: bool = True,
        rhs: object = 0.0,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Tests of ``L beta = rhs``, as lmerTest's ``contest``.

        Parameters
        ----------
        L : array-like or DataFrame, shape (m, k) or (k,)
            One row per contrast, one column per fixed effect (a DataFrame's
            columns are matched by name).
        ddf : {"Satterthwaite", "Kenward-Roger"}
        joint : bool, default True
            One F test of all rows (``Sum Sq, Mean Sq, NumDF, DenDF, F value,
            Pr(>F)``); False gives a t test per row (``Estimate, Std. Error,
            df, t value, lower, upper, Pr(>|t|)``).
        rhs : float or array-like
        level : float
            Confidence level of the per-row intervals.

        Raises
        ------
        ArgumentError
            ``L`` does not have one column per fixed effect (the message gives
            the expected width).
        """
        from .contrasts import contest

        return contest(self, L, ddf=ddf, joint=joint, rhs=rhs, level=level)

    def ls_means(
        self, term: str | None = None, ddf: str = "Satterthwaite", level: float = 0.95
    ) -> pd.DataFrame:
        """Least-squares means of a factor term, as lmerTest's ``ls_means``.

        Covariates are held at their means and the other factors are averaged
        with equal weights. ``term=None`` gives every factor term.
        """
        from .contrasts import ls_means

        return ls_means(self, term=term, ddf=ddf, level=level)

    def simulate(self, n: int = 1, seed: object = None) -> pd.DataFrame:
        """Responses simulated from the fit, as lme4's ``simulate`` (``use.u = FALSE``).

        New random effects and residuals are drawn for each of the ``n``
        columns ``sim_1 ... sim_n``; ``seed`` is anything
        :func:`numpy.random.default_rng` accepts.
        """
        from .bootstrap import simulate

        return simulate(self, n=n, seed=seed)

    def bootstrap(self, n: int = 1000, seed: object = None, progress: bool | None = None):
        """Parametric bootstrap, as MixedModels.jl's ``parametricbootstrap`` / lme4's ``bootMer``.

        Each replicate refits the model, already built, to a response from
        :meth:`simulate`; only the response's cross-products change.

        Parameters
        ----------
        n : int
            Number of replicates.
        seed : optional
            Seed of :func:`numpy.random.default_rng`; the same seed gives the
            same replicates (and the first ``m`` replicates of a longer run).
        progress : bool, optional
            Show a tqdm progress bar (``pip install mixedmodels[progress]``);
            default: for 100 replicates or more, in interactive use (see
            :mod:`mixedmodels.progress`, ``MIXEDMODELS_PROGRESS``).

        Returns
        -------
        ParametricBootstrap
            ``.table`` of replicate estimates; ``.confint()`` percentile intervals
            (``.confint(method="studentized")``, bootstrap-t for the fixed
            effects); ``.convergence``, each replicate's refit path and checks.
        """
        from .bootstrap import bootstrap

        return bootstrap(self, n=n, seed=seed, progress=progress)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals for the fixed effects (lme4's ``confint(method="Wald")``)."""
        from .inference import wald_intervals

        return wald_intervals(self, level=1 - alpha)

    def confint(
        self,
        method: str = "profile",
        level: float = 0.95,
        nsim: int = 500,
        seed: object = None,
    ) -> pd.DataFrame:
        """Confidence intervals as lme4's ``confint`` (``oldNames=FALSE`` row names).

        ``method="profile"`` gives profile-likelihood intervals for the
        ``sd_*``, ``cor_*``, ``sigma`` and fixed-effect parameters
        (:func:`~mixedmodels.results.profile.profile_intervals`);
        ``method="Wald"`` gives Wald intervals for the fixed effects only;
        ``method="boot"`` gives percentile intervals from a parametric
        bootstrap of ``nsim`` replicates (:meth:`bootstrap`, ``seed``).
        """
        if method == "boot":
            return self.bootstrap(n=nsim, seed=seed).confint(level=level)
        if method == "profile":
            from .profile import profile_intervals

            return profile_intervals(self, level=level)
        if method == "Wald":
            from .inference import wald_intervals

            return wald_intervals(self, level=level)
        raise ValueError(f"method must be 'profile', 'Wald' or 'boot', got {method!r}")

    # ------------------------------------------------------------------ summary
    @property
    def optsummary(self) -> OptSummary | None:
        """The fit log (MixedModels.jl's ``optsum``): optimiser runs, evaluations, the
        convergence checks and the time of each stage; ``None`` for a fit not made
        by :meth:`~mixedmodels.LinearMixedModel.fit`."""
        return self.optimizer.optsummary

    def summary(
        self,
        ddf: str | None = "Satterthwaite",
        correlation: bool | None = None,
        signif_stars: bool = True,
        data_name: str | None = None,
    ):
        """lme4-style summary (printable; ``as_markdown()``, ``as_latex()``, HTML in notebooks).

        Parameters
        ----------
        ddf : {"Satterthwaite", "Kenward-Roger", None}
            The fixed-effects table has lmerTest's df and p-value columns
            (Kenward-Roger: REML fits only); ``None`` prints lme4's plain table.
        correlation : bool, optional
            Print the correlation of the fixed effects (default: when there
            are at most 12 fixed effects, as lme4).
        signif_stars : bool, default True
            Significance stars after the p values.
        data_name : str, optional
            Shown on the ``Data:`` line.
        """
        return lmer_summary(
            self, ddf=ddf, correlation=correlation, signif_stars=signif_stars, data_name=data_name
        )

    # ------------------------------------------------------------------ look and export
    # Thin hooks: the work is in plot/, results/tidy.py, results/export.py, results/html.py.
    @property
    def plot(self):
        """Plots of this fit: ``fit.plot.caterpillar()``, ``.profile()``, ``.residuals()``, ..."""
        from ..plot import ResultsPlots

        return ResultsPlots(self)

    def profile(self, **kwargs):
        """Zeta of each parameter on a grid, as lme4's ``profile`` (see :mod:`.profile_grid`)."""
        from .profile_grid import profile_grid

        return profile_grid(self, **kwargs)

    def tidy(self, effects=("fixed", "ran_pars"), conf_int=False, **kwargs) -> pd.DataFrame:
        """Long table of estimates as broom.mixed's ``tidy`` (see :func:`.tidy.tidy`)."""
        from .tidy import tidy

        return tidy(self, effects=effects, conf_int=conf_int, **kwargs)

    def to_dict(self, **kwargs) -> dict:
        """The fit as a JSON-safe dict (see :func:`.export.to_dict`)."""
        from .export import to_dict

        return to_dict(self, **kwargs)

    def to_json(self, path=None, **kwargs) -> str:
        """The fit as JSON text, written to ``path`` when given."""
        from .export import to_json

        return to_json(self, path, **kwargs)

    def _repr_html_(self) -> str:
        from .html import results_html

        return results_html(self)

    # Saving: compact (no rows) unless keep_data=True; see results/persist.py.
    def save(self, path) -> None:
        """Write this fit to ``path``; read it back with ``mm.load(path)``."""
        from .persist import save

        save(self, path)

    def __getstate__(self) -> dict:
        from .persist import results_state

        return results_state(self)

    def __setstate__(self, state: dict) -> None:
        from .persist import restore_results

        restore_results(self, state)

    def __repr__(self) -> str:
        return f"<LmerResults {self.method} llf={self.llf:.4f} nobs={self.nobs}>"


def _blocked_inverse_diagonal(state: PLSState) -> list[np.ndarray]:
    """Per-level diagonal blocks of ``(L_Z L_Z')^{-1}``, block column by block column.

    With ``S = L_Z^{-1}`` (block lower triangular), ``S_jj = L_jj^{-1}`` and
    ``S_ij = -L_ii^{-1} sum_{j <= m < i} L_im S_mj``; the wanted blocks are the
    per-level diagonal blocks of ``sum_{i >= j} S_ij' S_ij``. Only one block
    column of ``S`` is held at a time, so InstEval needs seconds, not the
    ``O(q^3)`` of a dense inverse.
    """
    from ..linalg.blocks import as_dense

    blocks = state.blocks
    n_blocks = len(blocks)

    def solve_lower(i: int, rhs: np.ndarray) -> np.ndarray:
        return state.L_diag[i].solve(rhs)

    result = []
    for j in range(n_blocks):
        size_j = blocks[j].n_random
        column = {j: solve_lower(j, np.eye(size_j))}
        for i in range(j + 1, n_blocks):
            accumulated = np.zeros((blocks[i].n_random, size_j))
            for m in range(j, i):
                off = state.L_off.get((i, m))
                if off is not None:
                    accumulated += as_dense(off @ column[m])
            column[i] = -solve_lower(i, accumulated)
        levels, p = blocks[j].n_levels, blocks[j].n_columns
        total = np.zeros((levels, p, p))
        for piece in column.values():
            reshaped = piece.reshape(piece.shape[0], levels, p)
            total += np.einsum("rli,rlj->lij", reshaped, reshaped)
        result.append(total)
    return result
