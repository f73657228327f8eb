"""statsmodels-compatible linear mixed models: ``MixedLM``, ``MixedLMParams``, ``MixedLMResults``.

``MixedLM`` takes statsmodels' arguments and translates them into the engine's
design inputs: arrays through :mod:`mixedmodels.design.arrays` (the row rules,
groups and variance components of every design build), formulas through
:mod:`._formula`, ``exog_vc`` forms and ``free`` masks through :mod:`._design`.
It is a statsmodels ``LikelihoodModel``, so ``model.data`` is statsmodels' data
handler and results come back numpy for numpy input, pandas for pandas input.
The design choice and the deliberate differences from statsmodels:
``docs/statsmodels.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd
from statsmodels.base.model import LikelihoodModel
from statsmodels.regression import mixed_linear_model as sm_mixed
from statsmodels.regression.mixed_linear_model import (
    MixedLMParams,
    MixedLMResultsWrapper,
    VCSpec,
)
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from ..design.arrays import array_design
from ..errors import ConvergenceWarning, DataError, MixedModelsTypeError, SingularFitWarning
from ..model import LinearMixedModel
from ..optim.hessian import hessian, jacobian
from ..optim.penalized import penalized_estimate
from ..results.lmer import LmerResults
from . import _formula
from ._design import ThetaLayout, as_vcspec, component_inputs, re_pattern_from_free
from ._results import MixedLMResults

__all__ = ["MixedLM", "MixedLMParams", "MixedLMResults", "SingularCovarianceWarning", "VCSpec"]

_INIT_OPTIONS = frozenset(
    {"missing_idx", "model_spec", "formula", "hasconst", "correlation", "variance"}
)
_SCIPY_FIT_OPTIONS = frozenset({"gtol", "maxiter", "eps", "maxcor", "ftol", "tol", "disp", "maxls"})
# Keywords of statsmodels' generic fit that MixedLM.fit ignores with a FutureWarning;
# any other keyword is a typo and raises.
_GENERIC_FIT_OPTIONS = frozenset(
    {"cov_type", "cov_kwds", "use_t", "callback", "retall", "skip_hessian", "full_output"}
)


class SingularCovarianceWarning(SingularFitWarning, SingularMatrixWarning):
    """A boundary (singular) fit: both mixedmodels' and statsmodels' warning class."""


class MixedLM(LikelihoodModel):
    """statsmodels' ``MixedLM`` on the engine (same arguments, attributes and meanings).

    Differences are listed in ``docs/statsmodels.md``. Extensions: ``correlation``
    and ``variance`` take residual structures (:class:`mixedmodels.AR1`,
    :class:`mixedmodels.CAR1`, :class:`mixedmodels.VarIdent`), fitted as nlme's
    ``lme`` (``results.lmer`` is then a ``StructuredResults``); ``array_design``
    (:class:`~mixedmodels.design.arrays.ArrayDesign`: the checked arrays, the groups as
    the engine's factor), ``components`` (the variance components' translation) and
    ``fixed_design`` (a formula model's fixed-effects design).
    """

    # statsmodels' own implementations: they read only public attributes of the model.
    predict = sm_mixed.MixedLM.predict
    group_list = sm_mixed.MixedLM.group_list

    def get_distribution(self, params: np.ndarray, scale: float, exog: object = None) -> object:
        """statsmodels' ``MixedLM.get_distribution`` (``exog`` optional)."""
        return sm_mixed.MixedLM.get_distribution(self, params, scale, exog)

    def __init__(
        self,
        endog: object,
        exog: object,
        groups: object,
        exog_re: object = None,
        exog_vc: object = None,
        use_sqrt: bool = True,
        missing: str = "none",
        **kwargs: object,
    ) -> None:
        _check_options(kwargs, missing, exog_vc)
        self.use_sqrt = bool(use_sqrt)
        # Extension of statsmodels: residual structures (mixedmodels.structures).
        self.correlation = kwargs.get("correlation")
        self.variance = kwargs.get("variance")
        self.structure_frame: pd.DataFrame | None = None
        self.fixed_design = None
        self.reml = True
        inputs = None if exog_vc is None else functools.partial(component_inputs, exog_vc)
        design = array_design(endog, exog, groups, exog_re, inputs, missing)
        super().__init__(_subset(endog, design.used), _subset(exog, design.used), missing="none")
        self.formula = kwargs.get("formula")
        self.array_design = design
        # statsmodels' names for the groups (sorted labels, each group's row positions):
        self.group_labels, self.n_groups = design.labels, design.groups.n_levels
        self.row_indices = dict(zip(self.group_labels, design.group_rows, strict=True))
        self.components = design.components
        self.endog, self.exog = design.y, design.X
        self.groups = design.group_values
        self.endog_li = self.group_list(self.endog)
        self.nobs = self.n_totobs = len(self.endog)
        self.k_fe, self.k_vc = self.exog.shape[1], len(self.components)
        default_re = design.Z is None and self.k_vc == 0
        if default_re:
            self.array_design = design = dataclasses.replace(
                design, Z=np.ones((self.nobs, 1)), z_names=["Group"]
            )
        Z, re_names = design.Z, design.z_names
        # Without exog_re, no columns rather than None: statsmodels' simulator multiplies it.
        self.exog_re = np.zeros((self.nobs, 0)) if Z is None else Z
        self.k_re = self.exog_re.shape[1]
        self.k_re2 = self.k_re * (self.k_re + 1) // 2
        self.set_re_names(list(re_names or []))
        if default_re:
            # statsmodels names the default random intercept "Group Var" in random_effects too.
            self.exog_re_names = self.data.exog_re_names = ["Group Var"]
        self._engines: dict[tuple, tuple[LinearMixedModel, ThetaLayout]] = {}

    @cached_property
    def exog_vc(self) -> VCSpec:
        """The variance components in statsmodels' layout (per group, dense)."""
        rows = list(self.row_indices.values())
        blocks = [component.group_blocks(rows) for component in self.components]
        dense = [[(names, matrix.toarray()) for names, matrix in part] for part in blocks]
        return as_vcspec([component.name for component in self.components], dense)

    # ------------------------------------------------------------------ names
    def set_re_names(self, names: list[str]) -> None:
        """Name the ``exog_re`` columns and derive statsmodels' parameter names."""
        self.exog_re_names = names
        cov_names = [
            f"{names[i]} Var" if i == j else f"{names[j]} x {names[i]} Cov"
            for i in range(self.k_re) for j in range(i + 1)
        ]
        self.vc_names = [f"{component.name} Var" for component in self.components]
        self.param_names = list(self.data.xnames) + cov_names + self.vc_names
        self.data.param_names = self.param_names
        self.data.exog_re_names = names
        self.data.exog_re_names_full = cov_names
        self.data.vcomp_names = [component.name for component in self.components]

    def __repr__(self) -> str:
        return (
            f"<MixedLM {self.endog_names} nobs={self.nobs} groups={self.n_groups} "
            f"k_fe={self.k_fe} k_re={self.k_re} k_vc={self.k_vc}>"
        )

    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        re_formula: str | None = None,
        vc_formula: Mapping[str, str] | None = None,
        subset: object = None,
        use_sparse: bool = False,
        missing: str = "none",
        *args: object,
        **kwargs: object,
    ) -> MixedLM:
        """statsmodels' ``MixedLM.from_formula`` (``groups`` a required keyword; names that
        are not columns come from the caller's namespace; ``use_sparse`` is ignored)."""
        if args:
            raise MixedModelsTypeError("from_formula takes no extra positional arguments")
        namespace = _caller_namespace(kwargs.pop("eval_env", 0))
        structures = {key: kwargs.pop(key, None) for key in ("correlation", "variance")}
        spec = _formula.translate(
            formula, data, re_formula, vc_formula, subset, missing, namespace, kwargs
        )
        model = cls(
            spec.endog, spec.exog, spec.groups, exog_re=spec.exog_re, exog_vc=spec.exog_vc,
            formula=formula, **structures,
        )
        model._attach_formulas(spec, re_formula, vc_formula)
        return model

    def _attach_formulas(
        self, spec: _formula.FormulaSpec, re_formula: str | None, vc_formula: Mapping | None
    ) -> None:
        """Names, frame and design builder of a model made by :meth:`from_formula`."""
        self.structure_frame = self.data.frame = spec.frame
        groups = dataclasses.replace(self.array_design.groups, name=spec.group_name)
        self.array_design = dataclasses.replace(self.array_design, groups=groups)
        self.fixed_design = spec.fixed
        if self.k_re and spec.exog_re is None:
            self.set_re_names([spec.group_name])
        # Code that rebuilds the design from new data (marginaleffects) calls this.
        self.data.design_info = functools.partial(_new_design, spec.fixed)
        self.re_formula = re_formula
        self.vc_formula = dict(vc_formula) if vc_formula is not None else None

    # ------------------------------------------------------------------ engine
    def engine(
        self, reml: bool, pattern: np.ndarray | None, exog_re: np.ndarray | None = None
    ) -> tuple[LinearMixedModel, ThetaLayout]:
        """The engine model and theta layout for a ``T`` pattern of the ``exog_re`` term
        (cached; not for a replacement ``exog_re``, e.g. with permuted columns)."""
        key = (bool(reml), None if pattern is None else pattern.tobytes())
        if exog_re is None and key in self._engines:
            return self._engines[key]
        terms = self.array_design.terms(pattern, exog_re)
        engine = LinearMixedModel(self.endog, self.exog, terms, list(self.exog_names), reml=reml)
        layout = ThetaLayout.from_engine(engine, bool(self.k_re), self.k_vc)
        if exog_re is None:
            self._engines[key] = (engine, layout)
        return engine, layout

    def free_pattern(self, free: MixedLMParams | None) -> np.ndarray | None:
        """Validate a ``free`` mask and return the ``T`` pattern of the ``exog_re`` term."""
        if free is None:
            return re_pattern_from_free(None, self.k_re) if self.k_re else None
        if not isinstance(free, MixedLMParams):
            raise MixedModelsTypeError(
                f"free must be a MixedLMParams, got {type(free).__name__}"
            )
        for part, size in (("fe_params", self.k_fe), ("vcomp", self.k_vc)):
            values = np.asarray(getattr(free, part), dtype=float).ravel()
            if values.size not in (0, size):
                raise DataError(f"free.{part} has {values.size} entries; the model has {size}")
            if np.any(values == 0):
                raise NotImplementedError(
                    f"free.{part} holds zeros (parameters held at their start values); only "
                    "zero covariances in free.cov_re can be fixed"
                )
        if not self.k_re:
            return None
        cov = np.asarray(free.cov_re, dtype=float)
        return re_pattern_from_free(cov if cov.size else None, self.k_re)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        start_params: object = None,
        reml: bool = True,
        niter_sa: int = 0,
        do_cg: bool = True,
        fe_pen: object = None,
        cov_pen: object = None,
        free: MixedLMParams | None = None,
        full_output: bool = False,
        method: object = None,
        **fit_kwargs: object,
    ) -> MixedLMResultsWrapper:
        """statsmodels' ``MixedLM.fit``, by the engine (BOBYQA over ``theta``).

        ``niter_sa``, ``method`` and scipy options are ignored; ``do_cg=False`` gives
        results at the start; ``full_output`` keeps every evaluation in
        ``results.hist``; for ``free``, ``fe_pen``/``cov_pen`` and statsmodels' generic
        options see deviations 6 and 7 in ``docs/statsmodels.md``.
        """
        _check_fit_options(fit_kwargs, fe_pen, cov_pen)
        pattern = self.free_pattern(free)
        engine, layout = self.engine(reml, pattern)
        start = None if start_params is None else self._as_params(start_params)
        theta0 = None if start is None else layout.theta_from_profile(start.cov_re, start.vcomp)
        if self.correlation is not None or self.variance is not None:
            if not do_cg:
                raise NotImplementedError("do_cg=False is not supported with a residual structure")
            lmer = self._fit_structured(engine, theta0)
        elif do_cg:
            lmer = engine.fit(start=theta0, keep_log=full_output, warn=False)
        else:
            lmer = engine.results_at(theta0)
        self.reml = bool(reml)
        _warn_fit(lmer)
        hist = lmer.optimizer.log if full_output else None
        results = MixedLMResults(self, lmer, layout, free, hist)
        return MixedLMResultsWrapper(results)

    def _fit_structured(self, engine: LinearMixedModel, theta0: np.ndarray | None) -> LmerResults:
        """The fit with a residual structure (extension of statsmodels; nlme's ``lme``)."""
        from ..structures.model import StructuredModel

        groups = self.array_design.groups
        structured = StructuredModel.from_engine(
            engine, self.correlation, self.variance, self.structure_frame,
            (groups.name, np.asarray(groups.codes), groups.levels),
        )
        return structured.fit(start=theta0, warn=False)

    def _as_params(self, params: object, has_fe: bool | None = None) -> MixedLMParams:
        """``params`` as ``MixedLMParams`` (an array packed as statsmodels packs it;
        ``has_fe=None``: with the fixed effects when its length says so)."""
        if isinstance(params, MixedLMParams):
            return params
        packed = np.asarray(params, dtype=float).ravel()
        n_variance = self.k_re2 + self.k_vc
        if has_fe is None:
            has_fe = len(packed) == self.k_fe + n_variance
        if len(packed) != n_variance + (self.k_fe if has_fe else 0):
            raise DataError(
                f"params has {len(packed)} entries; expected {self.k_fe + n_variance} (with "
                f"fixed effects) or {n_variance} (variance parameters only)"
            )
        return MixedLMParams.from_packed(packed, self.k_fe, self.k_re, self.use_sqrt, has_fe)

    # ------------------------------------------------------------------ likelihood
    def loglike(self, params: MixedLMParams | np.ndarray, profile_fe: bool = True) -> float:
        """statsmodels' ``MixedLM.loglike`` (REML or ML as the last fit), ``scale`` profiled out.

        The engine's criterion at the ``theta`` of ``params``. With ``beta`` given
        (``profile_fe=False``) the penalised residual sum of squares is ``P +
        |R_X'(beta - beta_hat)|^2``, where ``P`` is its value at ``beta_hat`` and
        ``X'V^{-1}X = R_X R_X' / scale``. ``score`` and ``hessian`` are central
        differences (:mod:`mixedmodels.optim.hessian`) in statsmodels' packed
        parameterisations, tested against statsmodels' analytic ones.
        """
        params = self._as_params(params, has_fe=not profile_fe)
        engine, layout = self.engine(self.reml, self.free_pattern(None))
        state = engine.state.fork()
        state.evaluate(layout.theta_from_profile(params.cov_re, params.vcomp))
        if profile_fe:
            return -0.5 * float(state.objective())
        shift = state.L_X.T @ (np.asarray(params.fe_params, dtype=float) - state.beta())
        return -0.5 * float(state.objective(pwrss=state.pwrss + float(shift @ shift)))

    def score(self, params: MixedLMParams | np.ndarray, profile_fe: bool = True) -> np.ndarray:
        """Gradient of :meth:`loglike` in the packed parameterisation (``use_sqrt``)."""
        packed = self._as_params(params, not profile_fe).get_packed(
            use_sqrt=self.use_sqrt, has_fe=not profile_fe
        )
        parts = jacobian(
            lambda x: self.loglike(x, profile_fe=profile_fe), packed, _steps(packed), True
        )
        return np.array(parts, dtype=float)

    def hessian(self, params: MixedLMParams | np.ndarray) -> tuple[np.ndarray, bool]:
        """statsmodels' ``MixedLM.hessian``: ``(hess, singular)`` of :meth:`loglike`
        (``profile_fe=False``) in ``[fe_params, cov_re lower triangle, vcomp]``."""
        packed = self._as_params(params, True).get_packed(use_sqrt=False, has_fe=True)

        def natural(x: np.ndarray) -> float:
            point = MixedLMParams.from_packed(x, self.k_fe, self.k_re, False, True)
            return self.loglike(point, profile_fe=False)

        # statsmodels' numdiff step (EPS ** (1/4), relative): the log-likelihood's rounding
        # noise, not the truncation error, limits the off-diagonal entries.
        steps = np.finfo(float).eps ** 0.25 * np.maximum(np.abs(packed), 0.1)
        hess = hessian(natural, packed, steps)
        return hess, bool(np.linalg.matrix_rank(hess) < hess.shape[0])

    def fit_regularized(
        self,
        start_params: object = None,
        method: object = "l1",
        alpha: float | np.ndarray = 0,
        ceps: float = 1e-4,
        ptol: float = 1e-6,
        maxit: int = 200,
        **fit_kwargs: object,
    ) -> MixedLMResultsWrapper:
        """statsmodels' ``MixedLM.fit_regularized``: penalised fixed effects
        (:mod:`mixedmodels.optim.penalized`), the variance parameters held at the
        unpenalised fit (for a ``Penalty`` too: deviation 8 in ``docs/statsmodels.md``)."""
        base: MixedLMResults = self.fit(start_params=start_params, **fit_kwargs)
        covariance = np.asarray(base.cov_params())[: self.k_fe, : self.k_fe]
        estimate = penalized_estimate(
            np.asarray(base.fe_params, dtype=float), covariance, method, alpha, ceps, ptol, maxit
        )
        results = MixedLMResults(self, base.lmer, base.layout, base.freepat, fixed_effects=estimate)
        return MixedLMResultsWrapper(results)


def _new_design(fixed: object, data: object) -> tuple[None, np.ndarray]:
    """``design_info(new_data) -> (None, exog)``: the fixed-effects design of new data in
    the model's columns (lme4's written order; patsy would reorder them), which code
    that rebuilds the design (marginaleffects) uses when it is present."""
    return None, fixed.new_matrix(data if isinstance(data, pd.DataFrame) else data.to_pandas())


def _caller_namespace(depth: object) -> dict[str, object]:
    """Names visible to the caller of ``from_formula`` (``eval_env`` frames further up;
    ``-1``: none, statsmodels' clean environment)."""
    if depth == -1:
        return {}
    frame = inspect.currentframe().f_back.f_back
    for _ in range(depth if isinstance(depth, int) else 0):
        frame = frame.f_back
    return {**frame.f_globals, **frame.f_locals}


def _subset(values: object, keep: np.ndarray) -> object:
    """The kept rows of an input, keeping its type (pandas stays pandas)."""
    if isinstance(values, pd.DataFrame | pd.Series):
        return values.iloc[np.flatnonzero(keep)].astype(float)
    array = np.asarray(values, dtype=float)
    return array[keep]


def _check_options(kwargs: dict, missing: str, exog_vc: object) -> None:
    """statsmodels' checks of ``MixedLM``'s options (and its warning for the dict form)."""
    unknown = sorted(set(kwargs) - _INIT_OPTIONS)
    if unknown:
        raise MixedModelsTypeError(f"MixedLM got unexpected argument(s) {unknown}")
    if isinstance(exog_vc, Mapping):
        warnings.warn(
            "Using deprecated variance components definition.  Please see documentation",
            FutureWarning,
            stacklevel=3,
        )


def _check_fit_options(fit_kwargs: dict, fe_pen: object, cov_pen: object) -> None:
    """statsmodels' handling of ``fit`` options (see ``docs/statsmodels.md``, 6 and 7)."""
    unknown = sorted(set(fit_kwargs) - _SCIPY_FIT_OPTIONS - _GENERIC_FIT_OPTIONS)
    if unknown:
        raise MixedModelsTypeError(f"MixedLM.fit got unexpected argument(s) {unknown}")
    disallowed = sorted(set(fit_kwargs) - _SCIPY_FIT_OPTIONS)
    if disallowed:
        ending = "s" if len(disallowed) > 1 else ""
        warnings.warn(
            f"Argument{ending} {', '.join(disallowed)} not used by MixedLM.fit. Future "
            "versions will raise on these arguments.",
            FutureWarning,
            stacklevel=3,
        )
    if fe_pen is not None or cov_pen is not None:
        raise NotImplementedError(
            "fe_pen/cov_pen: penalised fits go through fit_regularized (fixed effects only)"
        )


def _warn_fit(lmer: LmerResults) -> None:
    """statsmodels' warnings: no convergence, and a boundary (singular) fit."""
    if not lmer.converged:
        warnings.warn(
            f"MixedLM optimisation did not converge: {lmer.optimizer.message}",
            ConvergenceWarning,
            stacklevel=3,
        )
    if lmer.singular:
        warnings.warn(
            "boundary (singular) fit: the random effects covariance matrix is singular "
            "(a variance is estimated as zero)",
            SingularCovarianceWarning,
            stacklevel=3,
        )


def _steps(point: np.ndarray) -> np.ndarray:
    """Central-difference steps: relative to each coordinate, absolute near zero."""
    return 1e-3 * np.maximum(np.abs(point), 0.1)
