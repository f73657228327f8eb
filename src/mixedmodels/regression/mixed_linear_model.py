"""statsmodels-compatible linear mixed models: ``MixedLM``, ``MixedLMParams``, ``MixedLMResults``.

``MixedLM`` takes statsmodels' arguments and translates them into the engine's
design inputs (:mod:`._design`, :mod:`._formula`); it is a statsmodels
``LikelihoodModel``, so ``model.data`` is statsmodels' data handler and
results come back numpy for numpy input, pandas for pandas input. The design
choice and the deliberate differences from statsmodels: ``docs/statsmodels.md``.
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

from ..design.components import GroupComponent, level_rows
from ..design.fixed import independent_columns
from ..design.frame import float_matrix
from ..design.grouping import GroupingFactor, make_grouping_factor
from ..design.terms import TermSpec
from ..errors import ConvergenceWarning, DataError, MixedModelsTypeError, SingularFitWarning
from ..model import LinearMixedModel
from ..results.lmer import LmerResults
from . import _formula
from ._design import (
    ThetaLayout,
    complete_rows,
    component_inputs,
    group_labels,
    re_pattern_from_free,
)
from ._likelihood import LikelihoodMixin
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


class MixedLM(LikelihoodMixin, LikelihoodModel):
    """statsmodels' ``MixedLM`` on the engine (same arguments, attributes and meanings).

    Differences are listed in ``docs/statsmodels.md``. Extensions: ``correlation``
    and ``variance`` take residual structures (:class:`mixedmodels.AR1`,
    :class:`mixedmodels.CAR1`, :class:`mixedmodels.VarIdent`), fitted as nlme's
    ``lme`` (``results.lmer`` is then a ``StructuredResults``); ``group_factor``
    (the groups as the engine's factor), ``components`` (the variance components'
    translation) and ``fixed_design`` (a formula model's fixed-effects design).
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
        y, X, labels, Z, re_names = _read_arrays(endog, exog, groups, exog_re)
        keep, components, known = _complete_rows(y, X, labels, Z, exog_vc, missing)
        y, X, labels = y[keep], X[keep], labels[keep]
        Z = None if Z is None else Z[keep]
        _check_rank(X)
        super().__init__(_subset(endog, keep), _subset(exog, keep), missing="none")
        self.formula = kwargs.get("formula")
        self.group_factor: GroupingFactor = _group_factor(labels, "Group")
        rows = level_rows(self.group_factor.codes, self.group_factor.n_levels)
        # statsmodels' names for the groups (sorted labels, each group's row positions):
        self.group_labels = [_scalar(label) for label in self.group_factor.levels]
        self.n_groups = len(self.group_labels)
        self.row_indices = dict(zip(self.group_labels, rows, strict=True))
        group_map = self.group_factor.levels.get_indexer(known)  # groups left without rows: -1
        self.components: list[GroupComponent] = [
            component.restricted(keep, group_map) for component in components
        ]
        self.endog, self.exog, self.groups = y, X, labels
        self.endog_li = self.group_list(y)
        self.nobs = self.n_totobs = len(y)
        self.k_fe, self.k_vc = X.shape[1], len(self.components)
        default_re = Z is None and self.k_vc == 0
        if default_re:
            Z, re_names = np.ones((self.nobs, 1)), ["Group"]
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
        names, colnames, mats = [], [], []
        for component in self.components:
            per_group = [component.group_columns(code) for code in range(self.n_groups)]
            names.append(component.name)
            colnames.append([[component.column_names[j] for j in cols] for cols in per_group])
            mats.append([
                component.matrix[rows][:, cols].toarray()
                for rows, cols in zip(self.row_indices.values(), per_group, strict=True)
            ])
        return VCSpec(names, colnames, mats)

    # ------------------------------------------------------------------ names
    def set_re_names(self, names: list[str]) -> None:
        """Name the ``exog_re`` columns and derive statsmodels' parameter names."""
        self.exog_re_names = names
        cov_names = []
        for i in range(self.k_re):
            for j in range(i + 1):
                cov_names.append(f"{names[i]} Var" if i == j else f"{names[j]} x {names[i]} Cov")
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
        self.group_factor = dataclasses.replace(self.group_factor, name=spec.group_name)
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
        z = self.exog_re if exog_re is None else exog_re
        names = list(self.exog_re_names) if self.k_re else []
        group = self.group_factor
        terms = [TermSpec(group, z, tuple(names), pattern, group.name)] if self.k_re else []
        taken = {self.group_factor.name}
        for component in self.components:
            name = f"{self.group_factor.name}:{component.name}"
            while name in taken:  # the scalar form's factor needs a name of its own
                name += "'"
            taken.add(name)
            terms.append(component.term(self.group_factor, name))
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
            lmer = _results_at(engine, theta0)
        self.reml = bool(reml)
        _warn_fit(lmer)
        hist = lmer.optimizer.log if full_output else None
        results = MixedLMResults(self, lmer, layout, free, hist)
        return MixedLMResultsWrapper(results)

    def _fit_structured(self, engine: LinearMixedModel, theta0: np.ndarray | None) -> LmerResults:
        """The fit with a residual structure (extension of statsmodels; nlme's ``lme``)."""
        from ..structures.model import StructuredModel

        groups = self.group_factor
        structured = StructuredModel.from_engine(
            engine, self.correlation, self.variance, self.structure_frame,
            (groups.name, np.asarray(groups.codes), groups.levels),
        )
        return structured.fit(start=theta0, warn=False)


def _new_design(fixed: object, data: object) -> tuple[None, np.ndarray]:
    """``design_info(new_data) -> (None, exog)``: the fixed-effects design of new data in
    the model's columns (lme4's written order; patsy would reorder them), which code
    that rebuilds the design (marginaleffects) uses when it is present."""
    return None, fixed.new_matrix(data if isinstance(data, pd.DataFrame) else data.to_pandas())


def _caller_namespace(depth: object) -> dict[str, object]:
    """Names visible to the caller of ``from_formula`` (``eval_env`` frames further up)."""
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
    if missing not in ("none", "drop", "raise"):
        raise DataError(f"missing must be 'none', 'drop' or 'raise', got {missing!r}")
    if isinstance(exog_vc, Mapping):
        warnings.warn(
            "Using deprecated variance components definition.  Please see documentation",
            FutureWarning,
            stacklevel=3,
        )


def _read_arrays(
    endog: object, exog: object, groups: object, exog_re: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, list[str] | None]:
    """``y``, ``X``, the group labels, ``Z`` and its names, checked for shape."""
    y, _ = float_matrix(endog, "endog")
    if y.shape[1] != 1:
        raise DataError(f"endog must be one-dimensional, got shape {y.shape}")
    y = y[:, 0]
    n = len(y)
    if n == 0:
        raise DataError("endog has no observations")
    X, _ = float_matrix(exog, "exog")
    if X.shape[0] != n:
        raise DataError(f"exog has {X.shape[0]} rows; endog has {n}")
    labels = group_labels(groups, n)
    Z = re_names = None
    if exog_re is not None:
        Z, re_names = float_matrix(exog_re, "exog_re")
        re_names = re_names or [f"x_re{j}" for j in range(1, Z.shape[1] + 1)]
        if Z.shape[0] != n:
            raise DataError(f"exog_re has {Z.shape[0]} rows; endog has {n}")
    return y, X, labels, Z, re_names


def _group_factor(labels: np.ndarray, name: str) -> GroupingFactor:
    """The groups as the engine's factor: statsmodels' sorted labels."""
    return make_grouping_factor({name: pd.Series(labels, dtype=object)}, (name,))


def _scalar(label: object) -> object:
    return label.item() if isinstance(label, np.generic) else label


def _complete_rows(
    y: np.ndarray, X: np.ndarray, labels: np.ndarray, Z: np.ndarray | None, exog_vc: object,
    missing: str,
) -> tuple[np.ndarray, list[GroupComponent], pd.Index]:
    """Rows without missing values (raising unless ``missing='drop'``), and the
    components stacked on the groups of the rows with a group (and those groups)."""
    group_missing = pd.isna(pd.Series(labels, dtype=object)).to_numpy()
    known = _group_factor(labels[~group_missing], "Group")
    positions = np.flatnonzero(~group_missing)
    rows = [positions[part] for part in level_rows(known.codes, known.n_levels)]
    names = [_scalar(label) for label in known.levels]
    components = [
        GroupComponent.stack(
            name, matrices, rows, len(y), [f"exog_vc[{name!r}][{label!r}]" for label in names],
            colnames,
        )
        for name, matrices, colnames in component_inputs(exog_vc, names)
    ]
    columns = {"endog": y, **{f"exog column {j}": X[:, j] for j in range(X.shape[1])}}
    if Z is not None:
        columns.update({f"exog_re column {j}": Z[:, j] for j in range(Z.shape[1])})
    columns = {name: pd.Series(values) for name, values in columns.items()}
    columns["groups"] = pd.Series(labels, dtype=object)
    for component in components:
        columns[f"exog_vc[{component.name!r}]"] = pd.Series(
            np.where(component.missing_rows(), np.nan, 0.0)
        )
    return complete_rows(columns, missing), components, known.levels


def _check_rank(X: np.ndarray) -> None:
    """An ``exog`` of full column rank (see ``docs/statsmodels.md``, 13)."""
    kept = set(independent_columns(X).tolist())
    if len(kept) < X.shape[1]:
        dropped = [j for j in range(X.shape[1]) if j not in kept]
        raise DataError(
            f"exog is rank deficient: column(s) {dropped} are constant zero or collinear "
            "with earlier columns; remove them"
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


def _results_at(engine: LinearMixedModel, theta: np.ndarray | None) -> LmerResults:
    """The engine's results at ``theta`` (default: its start) without optimising."""
    with engine.thread_policy():  # as in engine.fit: every BLAS call under the policy
        theta = engine.initial_theta() if theta is None else theta
        return LmerResults(engine, engine.optimizer_result_at(theta), engine.is_singular(theta))


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
