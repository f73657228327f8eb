"""statsmodels-compatible linear mixed models: ``MixedLM``, ``MixedLMParams``, ``MixedLMResults``.

``MixedLM`` takes statsmodels' arguments (``endog, exog, groups, exog_re,
exog_vc`` or a formula with ``re_formula``/``vc_formula``) and translates them
into the one engine, :class:`mixedmodels.model.LinearMixedModel` (see
:mod:`mixedmodels.regression._design` for the translation). Results carry
statsmodels' names and meanings.

Differences from statsmodels
----------------------------
* The optimiser is the engine's (BOBYQA over the relative covariance factor);
  ``method``, ``niter_sa`` and the scipy options are accepted and ignored.
  Fits reach lme4's optimum where statsmodels often stops early.
* ``missing='none'`` with missing values raises
  :class:`~mixedmodels.errors.MissingDataError` instead of fitting on
  misaligned data.
* ``subset`` in :meth:`MixedLM.from_formula` is applied (statsmodels ignores it).
* Standard errors of the variance parameters in ``bse_re`` and the summary are
  on the natural scale and include the uncertainty of ``scale``; see
  :attr:`MixedLMResults.bse_re`.
* ``free`` supports zero covariances that make ``cov_re`` block diagonal
  after a permutation (e.g. ``numpy.eye(k)``); other masks raise
  :class:`NotImplementedError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np
import pandas as pd
import scipy.sparse as sp
from formulaic import Formula, model_matrix

from ..design.fixed import FixedDesign, build_fixed, independent_columns
from ..errors import (
    ConvergenceWarning,
    DataError,
    FormulaError,
    MixedModelsTypeError,
    SingularFitWarning,
)
from ..formula.parse import parse_formula
from ..model import LinearMixedModel
from ..results.lmer import LmerResults
from ._design import (
    GroupStructure,
    ThetaLayout,
    VarianceComponent,
    as_matrix,
    as_response,
    build_groups,
    build_terms,
    group_values,
    make_components,
    missing_report,
    raise_missing,
    re_pattern_from_free,
    row_missing,
    split_vc,
    take_rows,
)
from ._params import MixedLMParams, VCSpec
from ._results import MixedLMResults

__all__ = ["MixedLM", "MixedLMParams", "MixedLMResults", "VCSpec"]

_IGNORED_FIT_OPTIONS = frozenset(
    {"gtol", "maxiter", "eps", "maxcor", "ftol", "tol", "disp", "maxls", "retall", "callback"}
)
_INIT_OPTIONS = frozenset({"missing_idx", "model_spec", "formula", "correlation", "variance"})


class MixedLM:
    """Linear mixed model with statsmodels' interface.

    Parameters
    ----------
    endog : array_like, shape (n,)
        Response.
    exog : array_like, shape (n, k_fe)
        Fixed-effects design (include a constant column for an intercept).
    groups : array_like, shape (n,)
        Group labels; observations in different groups are independent.
    exog_re : array_like, shape (n,) or (n, k_re), optional
        Design of the correlated random coefficients (unstructured
        covariance). Default: a random intercept, unless ``exog_vc`` is given.
    exog_vc : dict or VCSpec, optional
        Variance components: ``exog_vc[name][group]`` is the matrix, for that
        group's rows (in data order), of independent random coefficients with
        one common variance per name.
    use_sqrt : bool, default True
        Kept for compatibility (it selects the packed form of ``start_params``).
    missing : {'none', 'drop', 'raise'}, default 'none'
        'drop' drops incomplete rows; 'none' and 'raise' raise
        :class:`~mixedmodels.errors.MissingDataError` when values are missing.
    **kwargs
        ``missing_idx``, ``model_spec``, ``formula`` (accepted for compatibility);
        ``correlation`` and ``variance`` (an extension of statsmodels, see
        below).

    Notes
    -----
    **Extension of statsmodels: residual structures.** statsmodels' MixedLM
    has homoscedastic, independent residuals only. Here ``correlation=``
    (:class:`mixedmodels.AR1`, :class:`mixedmodels.CAR1`) and ``variance=``
    (:class:`mixedmodels.VarIdent`) give serially correlated residuals within
    groups and a residual SD per level, as nlme's ``lme``; a structure that
    names no column (``AR1()``) works within ``groups`` in row order, and
    columns (times, strata) are read from the ``data`` of :meth:`from_formula`.
    The estimates and ``llf`` are then nlme's; ``results.lmer`` is a
    :class:`~mixedmodels.results.structured.StructuredResults` with the
    structure parameters (``results.lmer.structure_params``), ``anova`` and
    nlme's residual types. Standard errors are conditional on the estimated
    structure, as nlme's.

    Attributes
    ----------
    endog, exog, exog_re : ndarray
    groups : ndarray
        Group label of each row.
    group_labels : list
        Distinct labels, sorted.
    n_groups, nobs, k_fe, k_re, k_re2, k_vc : int
    exog_names, exog_re_names, param_names : list of str
    endog_names : str
    exog_vc : VCSpec

    Examples
    --------
    >>> import mixedmodels.api as sm
    >>> data = sm.datasets.get_rdataset("dietox", "geepack").data
    >>> fit = sm.MixedLM.from_formula("Weight ~ Time", data, groups=data["Pig"]).fit()
    >>> round(fit.llf, 4)
    -2404.7753
    """

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
        unknown = sorted(set(kwargs) - _INIT_OPTIONS)
        if unknown:
            raise MixedModelsTypeError(f"MixedLM got unexpected argument(s) {unknown}")
        if missing not in ("none", "drop", "raise"):
            raise DataError(f"missing must be 'none', 'drop' or 'raise', got {missing!r}")
        self.use_sqrt = bool(use_sqrt)
        self.missing = missing
        self.formula: str | None = kwargs.get("formula")  # type: ignore[assignment]
        # Extension of statsmodels: residual structures (mixedmodels.structures).
        self.correlation = kwargs.get("correlation")
        self.variance = kwargs.get("variance")
        self._structure_frame: pd.DataFrame | None = None
        self._fixed: FixedDesign | None = None
        y, endog_name, index = as_response(endog)
        n = len(y)
        if n == 0:
            raise DataError("endog has no observations")
        X, exog_names = as_matrix(exog, "exog", None)
        if X.shape[0] != n:
            raise DataError(f"exog has {X.shape[0]} rows; endog has {n}")
        labels = group_values(groups, n)
        Z = re_names = None
        if exog_re is not None:
            Z, re_names = as_matrix(exog_re, "exog_re", "x_re")
            if Z.shape[0] != n:
                raise DataError(f"exog_re has {Z.shape[0]} rows; endog has {n}")
        group_missing = pd.isna(pd.Series(labels, dtype=object)).to_numpy()
        known = build_groups(labels[~group_missing], "Group")
        rows_known = np.flatnonzero(~group_missing)
        raw_vc = split_vc(exog_vc, known.labels, [len(rows) for rows in known.rows])
        parts = {"endog": np.isnan(y), "groups": group_missing}
        for j, name in enumerate(exog_names):
            parts[f"exog column {name!r}"] = np.isnan(X[:, j])
        if Z is not None:
            for j, name in enumerate(re_names):
                parts[f"exog_re column {name!r}"] = np.isnan(Z[:, j])
        for vc_name, _, mats in raw_vc:
            mask = np.zeros(n, dtype=bool)
            for rows, matrix in zip(known.rows, mats, strict=True):
                mask[rows_known[rows]] = row_missing(matrix)
            parts[f"exog_vc[{vc_name!r}]"] = mask
        bad, culprits = missing_report(parts)
        keep = ~bad
        if bad.any():
            if missing != "drop":
                raise_missing(culprits, missing)
            if not keep.any():
                raise DataError("no complete rows: every row has a missing value")
            raw_vc = _drop_vc_rows(raw_vc, known, keep[rows_known])
            y, X, labels, index = y[keep], X[keep], labels[keep], index[keep]
            if Z is not None:
                Z = Z[keep]
        for name, matrix in (("endog", y[:, None]), ("exog", X), ("exog_re", Z)):
            if matrix is not None and not np.all(np.isfinite(matrix)):
                raise DataError(f"{name} holds infinite values; remove or replace them")
        kept = independent_columns(X)
        if len(kept) < X.shape[1]:
            dropped = [exog_names[j] for j in range(X.shape[1]) if j not in set(kept.tolist())]
            raise DataError(
                f"exog is rank deficient: column(s) {dropped} are constant zero or collinear "
                "with earlier columns; remove them"
            )
        self._groups: GroupStructure = build_groups(labels, "Group")
        self._components: list[VarianceComponent] = make_components(raw_vc)
        self.endog = y
        self.exog = X
        self.groups = labels
        self.row_index = index
        self.nobs = self.n_totobs = len(y)
        self.endog_names = endog_name
        self.exog_names = list(exog_names)
        self.k_fe = X.shape[1]
        self.k_vc = len(self._components)
        default_re = Z is None and self.k_vc == 0
        if default_re:
            Z = np.ones((self.nobs, 1))
            re_names = ["Group"]
        self.exog_re = Z
        self.k_re = 0 if Z is None else Z.shape[1]
        self.k_re2 = self.k_re * (self.k_re + 1) // 2
        self.exog_vc = VCSpec(
            [c.name for c in self._components],
            [c.colnames for c in self._components],
            [c.mats for c in self._components],
        )
        self._set_re_names(list(re_names or []))
        if default_re:
            # statsmodels names the default random intercept "Group Var" in random_effects too.
            self.exog_re_names = ["Group Var"]
            self.data.exog_re_names = self.exog_re_names
        self._engines: dict[tuple, tuple[LinearMixedModel, ThetaLayout]] = {}
        self.reml = True

    # ------------------------------------------------------------------ names
    def _set_re_names(self, names: list[str]) -> None:
        self.exog_re_names = names
        cov_names = []
        for i in range(self.k_re):
            for j in range(i + 1):
                if i == j:
                    cov_names.append(f"{names[i]} Var")
                else:
                    cov_names.append(f"{names[j]} x {names[i]} Cov")
        self.exog_re_names_full = cov_names
        self.vc_names = [f"{name} Var" for name in self.exog_vc.names]
        self.param_names = self.exog_names + cov_names + self.vc_names
        self.data = SimpleNamespace(
            param_names=self.param_names,
            exog_re_names=self.exog_re_names,
            exog_re_names_full=cov_names,
            xnames=self.exog_names,
            ynames=self.endog_names,
            vcomp_names=list(self.exog_vc.names),
            frame=getattr(getattr(self, "data", None), "frame", None),
            row_labels=self.row_index,
        )

    @property
    def group_labels(self) -> list:
        """Distinct group labels, sorted."""
        return list(self._groups.labels)

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return self._groups.n_groups

    @property
    def row_indices(self) -> dict:
        """Row positions of each group."""
        return dict(zip(self._groups.labels, self._groups.rows, strict=True))

    @property
    def group_sizes(self) -> np.ndarray:
        """Number of observations in each group."""
        return np.array([len(rows) for rows in self._groups.rows])

    def __repr__(self) -> str:
        return (
            f"<MixedLM {self.endog_names} nobs={self.nobs} groups={self.n_groups} "
            f"k_fe={self.k_fe} k_re={self.k_re} k_vc={self.k_vc}>"
        )

    # ------------------------------------------------------------------ formula
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
        """Build a model from a formula and a DataFrame (statsmodels' ``mixedlm``).

        Parameters
        ----------
        formula : str
            Fixed part, e.g. ``"Weight ~ Time"`` (formulaic/patsy syntax).
        data : DataFrame or dict of columns
        re_formula : str, optional
            One-sided formula of the correlated random coefficients, e.g.
            ``"~Time"``, ``"1"`` or ``"0 + x"``. Default: a random intercept,
            or none when ``vc_formula`` is given.
        vc_formula : dict of str, optional
            ``{name: formula}`` of variance components, each evaluated within
            each group (use ``"0 + C(x)"`` for nested random intercepts).
        subset : array_like, optional
            Boolean mask, or index labels, of the rows of ``data`` to use
            (applied with ``data.loc``; statsmodels silently ignores it).
        use_sparse : bool
            Ignored: component matrices are always built sparse (the engine
            needs only their non-zeros).
        missing : {'none', 'drop', 'raise'}
        groups : str or array_like
            Required keyword: a column name or one label per row of ``data``.
        eval_env : object, optional
            Ignored.
        correlation : mixedmodels.AR1 or mixedmodels.CAR1, optional
            Extension of statsmodels: residual correlation within groups
            (default group: ``groups``); see :class:`MixedLM`.
        variance : mixedmodels.VarIdent, optional
            Extension of statsmodels: residual SD per level of a column.

        Returns
        -------
        MixedLM
        """
        if args:
            raise MixedModelsTypeError("from_formula takes no extra positional arguments")
        if "groups" not in kwargs or kwargs["groups"] is None:
            raise MixedModelsTypeError("groups is a required keyword argument of from_formula")
        groups = kwargs.pop("groups")
        kwargs.pop("eval_env", None)
        structures = {key: kwargs.pop(key, None) for key in ("correlation", "variance")}
        if kwargs:
            raise MixedModelsTypeError(f"from_formula got unexpected argument(s) {sorted(kwargs)}")
        if missing not in ("none", "drop", "raise"):
            raise DataError(f"missing must be 'none', 'drop' or 'raise', got {missing!r}")
        if isinstance(data, Mapping) and not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data)
        if not isinstance(data, pd.DataFrame):
            # polars, pyarrow, ...: the whole frame (statsmodels' formulas may use any column)
            from ..frames import to_pandas

            data = to_pandas(data, "data")
        group_name = "Group"
        if isinstance(groups, str):
            if groups not in data.columns:
                raise FormulaError(f"groups={groups!r} is not a column of the data")
            group_name = groups
            labels = np.asarray(data[groups], dtype=object)
        else:
            labels = group_values(groups, len(data))
        if subset is not None:
            positions = pd.Series(np.arange(len(data)), index=data.index).loc[subset]
            positions = np.asarray(positions, dtype=np.int64).ravel()
            data = data.iloc[positions]
            labels = labels[positions]
        parsed = parse_formula(formula)
        if parsed.bars:
            raise FormulaError(
                f"formula {formula!r} has lme4 random-effect terms; give them with re_formula/"
                "vc_formula, or use mixedmodels.lmer for lme4 formulas"
            )
        re_text = _one_sided(re_formula, "re_formula") if re_formula is not None else None
        vc_text = {}
        if vc_formula is not None:
            if not isinstance(vc_formula, Mapping):
                raise MixedModelsTypeError("vc_formula must be a dict of name -> formula")
            vc_text = {str(k): _one_sided(v, f"vc_formula[{k!r}]") for k, v in vc_formula.items()}
        used = _required(formula, "formula")
        if re_text is not None and re_text.strip() != "1":
            used |= _required(re_text, "re_formula")
        for name, text in vc_text.items():
            used |= _required(text, f"vc_formula[{name!r}]")
        absent = sorted(name for name in used if name not in data.columns)
        if absent:
            raise FormulaError(f"the formulas use {absent}, which are not columns of the data")
        ordered = [name for name in data.columns if name in used]
        parts = {f"column {name!r}": data[name].isna().to_numpy() for name in ordered}
        parts["groups"] = pd.isna(pd.Series(labels, dtype=object)).to_numpy()
        bad, culprits = missing_report(parts)
        if bad.any():
            if missing != "drop":
                raise_missing(culprits, missing)
            data = data.loc[~bad] if data.index.is_unique else data.iloc[np.flatnonzero(~bad)]
            labels = labels[~bad]
        if len(data) == 0:
            raise DataError("no rows left to fit")
        y = _response(parsed.response, data)
        fixed = build_fixed(parsed.fixed_rhs, data)
        exog = pd.DataFrame(fixed.matrix, columns=fixed.names, index=data.index)
        exog_re = None
        if re_text is not None:
            if re_text.strip() == "1":
                exog_re = pd.DataFrame({group_name: np.ones(len(data))}, index=data.index)
            else:
                frame = _matrix(re_text, data, "re_formula")
                names = [str(name).replace("Intercept", group_name) for name in frame.columns]
                exog_re = pd.DataFrame(np.asarray(frame, dtype=float), columns=names)
        exog_vc = None
        if vc_text:
            structure = build_groups(labels, group_name)
            names, colnames, mats = [], [], []
            for name in sorted(vc_text):
                names.append(name)
                per_group_names, per_group = [], []
                for rows in structure.rows:
                    frame = _matrix(
                        vc_text[name], data.iloc[rows], f"vc_formula[{name!r}]", sparse=True
                    )
                    per_group_names.append([str(c) for c in frame.model_spec.column_names])
                    per_group.append(sp.csr_matrix(frame, dtype=float))
                colnames.append(per_group_names)
                mats.append(per_group)
            exog_vc = VCSpec(names, colnames, mats)
        endog = pd.Series(y, index=data.index, name=parsed.response)
        model = cls(
            endog, exog, labels, exog_re=exog_re, exog_vc=exog_vc, formula=formula, **structures
        )
        model._structure_frame = data
        model._groups.name = group_name
        model._fixed = fixed
        if model.k_re and exog_re is None:
            model._set_re_names([group_name])
        model.data.frame = data
        model.re_formula = re_formula
        model.vc_formula = dict(vc_formula) if vc_formula is not None else None
        return model

    # ------------------------------------------------------------------ engine
    def _engine(
        self, reml: bool, pattern: np.ndarray | None, exog_re: np.ndarray | None = None
    ) -> tuple[LinearMixedModel, ThetaLayout]:
        """The engine model (cached per REML flag and covariance pattern)."""
        z = self.exog_re if exog_re is None else exog_re
        key = (bool(reml), None if pattern is None else pattern.tobytes(), exog_re is not None)
        if exog_re is None and key in self._engines:
            return self._engines[key]
        names = list(self.exog_re_names) if self.k_re else []
        terms = build_terms(
            self._groups, self.nobs, z if self.k_re else None, names, pattern, self._components
        )
        tied = any(component.tied for component in self._components)
        if tied and np.ptp(self.endog) == 0:
            raise DataError("endog is constant; there is no variation to model")
        engine = LinearMixedModel(
            self.endog, self.exog, terms, self.exog_names, reml=reml, check=not tied
        )
        layout = ThetaLayout.from_terms(
            engine.term_infos, engine.n_theta, pattern if self.k_re else None, self.k_vc
        )
        if exog_re is None:
            self._engines[key] = (engine, layout)
        return engine, layout

    def _free_pattern(self, free: MixedLMParams | None) -> np.ndarray | None:
        """Validate ``free`` and return the ``T`` pattern of the ``exog_re`` term."""
        if free is None:
            return re_pattern_from_free(None, self.k_re) if self.k_re else None
        if not isinstance(free, MixedLMParams):
            raise MixedModelsTypeError(
                f"free must be a MixedLMParams (see MixedLMParams.from_components), got "
                f"{type(free).__name__}"
            )
        fe = np.asarray(free.fe_params, dtype=float).ravel()
        if fe.size not in (0, self.k_fe):
            raise DataError(f"free.fe_params has {fe.size} entries; the model has {self.k_fe}")
        if np.any(fe == 0):
            raise NotImplementedError(
                "free.fe_params holds zeros (fixed effects held at their start values); "
                "fixing fixed effects is not supported. Use an offset-free reformulation, "
                "e.g. subtract the known term from endog."
            )
        vcomp = np.asarray(free.vcomp, dtype=float).ravel()
        if vcomp.size not in (0, self.k_vc):
            raise DataError(f"free.vcomp has {vcomp.size} entries; the model has {self.k_vc}")
        if np.any(vcomp == 0):
            raise NotImplementedError(
                "free.vcomp holds zeros (variance components held at their start values); "
                "this is not supported. Remove the component, or use profile_re(name, 'vc')."
            )
        if not self.k_re:
            return None
        cov = np.asarray(free.cov_re, dtype=float)
        if cov.size == 0:
            return re_pattern_from_free(None, self.k_re)
        return re_pattern_from_free(cov, self.k_re)

    def _start_params(self, start_params: object) -> MixedLMParams | None:
        if start_params is None:
            return None
        if isinstance(start_params, MixedLMParams):
            return start_params
        packed = np.asarray(start_params, dtype=float).ravel()
        if len(packed) == self.k_fe + self.k_re2 + self.k_vc:
            return MixedLMParams.from_packed(packed, self.k_fe, self.k_re, self.use_sqrt, True)
        if len(packed) == self.k_re2 + self.k_vc:
            return MixedLMParams.from_packed(packed, self.k_fe, self.k_re, self.use_sqrt, False)
        raise DataError(
            f"start_params has {len(packed)} entries; expected {self.k_fe + self.k_re2 + self.k_vc}"
            f" (with fixed effects) or {self.k_re2 + self.k_vc} (variance parameters only)"
        )

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
    ) -> MixedLMResults:
        """Fit by REML (default) or ML.

        Parameters
        ----------
        start_params : MixedLMParams or array_like, optional
            Starting values in the profile parameterisation; an array is
            packed as statsmodels packs it (Cholesky form when ``use_sqrt``).
            Default: the engine's moment-based start.
        reml : bool, default True
        niter_sa : int
            Ignored (statsmodels ignores it too).
        do_cg : bool, default True
            If False, no optimisation: results at the starting values.
        fe_pen, cov_pen : None
            Penalties are not supported (:class:`NotImplementedError`).
        free : MixedLMParams, optional
            Mask of free parameters: zeros in ``free.cov_re`` fix those
            covariances at zero (supported when ``cov_re`` becomes block
            diagonal after a permutation, e.g. ``numpy.eye(k_re)``).
        full_output : bool
            Keep every evaluation of the criterion in ``results.hist``.
        method : str or list, optional
            Ignored: the engine's optimiser (BOBYQA) is always used.
        **fit_kwargs
            scipy options (``maxiter``, ``gtol``, ...) are accepted and ignored.

        Returns
        -------
        MixedLMResults

        Warns
        -----
        ConvergenceWarning
            The optimiser stopped without converging.
        SingularFitWarning
            A variance is estimated on its boundary (zero).
        """
        unknown = sorted(set(fit_kwargs) - _IGNORED_FIT_OPTIONS)
        if unknown:
            raise MixedModelsTypeError(f"MixedLM.fit got unexpected argument(s) {unknown}")
        if fe_pen is not None:
            raise NotImplementedError(
                "fe_pen: penalised fixed effects are not supported by mixedmodels' MixedLM"
            )
        if cov_pen is not None:
            raise NotImplementedError(
                "cov_pen: penalised covariance estimation is not supported by mixedmodels' MixedLM"
            )
        pattern = self._free_pattern(free)
        engine, layout = self._engine(reml, pattern)
        start = self._start_params(start_params)
        theta0 = None
        if start is not None:
            theta0 = layout.theta_from_profile(start.cov_re, start.vcomp)
        if self.correlation is not None or self.variance is not None:
            if not do_cg:
                raise NotImplementedError("do_cg=False is not supported with a residual structure")
            from ..structures.model import StructuredModel

            groups = self._groups
            structured = StructuredModel.from_engine(
                engine,
                self.correlation,
                self.variance,
                self._structure_frame,
                (groups.name, np.asarray(groups.codes), pd.Index(groups.labels)),
            )
            lmer = structured.fit(start=theta0, warn=False)
            engine = lmer.model
        elif do_cg:
            lmer = engine.fit(start=theta0, keep_log=full_output, warn=False)
        else:
            theta0 = engine.initial_theta() if theta0 is None else theta0
            lmer = LmerResults(
                engine, engine.optimizer_result_at(theta0), engine.is_singular(theta0)
            )
        self.reml = bool(reml)
        if not lmer.converged:
            warnings.warn(
                f"MixedLM optimisation did not converge: {lmer.optimizer.message}",
                ConvergenceWarning,
                stacklevel=2,
            )
        if lmer.singular:
            warnings.warn(
                "boundary (singular) fit: a random-effects variance is estimated as zero",
                SingularFitWarning,
                stacklevel=2,
            )
        hist = lmer.optimizer.log if full_output else None
        return MixedLMResults(self, engine, layout, lmer, free=free, hist=hist)

    # ------------------------------------------------------------------ helpers
    def loglike(self, params: MixedLMParams | np.ndarray, profile_fe: bool = True) -> float:
        """Profile log-likelihood (REML or ML, as the last fit) at variance parameters.

        Parameters
        ----------
        params : MixedLMParams or array_like
            Profile-scale variance parameters (packed without fixed effects
            when an array). The fixed effects and the scale are profiled out.
        profile_fe : bool
            Must be True: the engine always profiles the fixed effects.
        """
        if not profile_fe:
            raise NotImplementedError("loglike with profile_fe=False is not supported")
        if not isinstance(params, MixedLMParams):
            params = MixedLMParams.from_packed(params, self.k_fe, self.k_re, self.use_sqrt, False)
        engine, layout = self._engine(self.reml, self._free_pattern(None))
        theta = layout.theta_from_profile(params.cov_re, params.vcomp)
        return -0.5 * float(engine.state.evaluate(theta))

    def predict(self, params: MixedLMParams | np.ndarray, exog: object = None) -> np.ndarray:
        """Fixed-effects prediction ``exog @ fe_params`` (statsmodels' ``MixedLM.predict``)."""
        fe = params.fe_params if isinstance(params, MixedLMParams) else np.asarray(params)
        fe = np.asarray(fe, dtype=float)[: self.k_fe]
        matrix = self.exog if exog is None else as_matrix(exog, "exog", None)[0]
        return matrix @ fe


def _drop_vc_rows(
    raw_vc: list[tuple[str, list[list[str]], list[np.ndarray]]],
    known: GroupStructure,
    keep_known: np.ndarray,
) -> list[tuple[str, list[list[str]], list[np.ndarray]]]:
    """Drop incomplete rows from the per-group matrices, and groups left empty."""
    present = [bool(keep_known[rows].any()) for rows in known.rows]
    out = []
    for vc_name, colnames, mats in raw_vc:
        new_names, new_mats = [], []
        for rows, names, matrix, alive in zip(known.rows, colnames, mats, present, strict=True):
            if alive:
                new_names.append(names)
                new_mats.append(take_rows(matrix, keep_known[rows]))
        out.append((vc_name, new_names, new_mats))
    return out


def _one_sided(text: str, argument: str) -> str:
    if not isinstance(text, str):
        raise MixedModelsTypeError(
            f"{argument} must be a string formula, got {type(text).__name__}"
        )
    stripped = text.strip()
    if stripped.startswith("~"):
        stripped = stripped[1:].strip()
    if "~" in stripped:
        raise FormulaError(f"{argument}={text!r} must be one-sided (no response)")
    if not stripped:
        raise FormulaError(f"{argument} is empty")
    return stripped


def _required(text: str, argument: str) -> set[str]:
    try:
        return {str(name) for name in Formula(text).required_variables}
    except Exception as error:  # formulaic raises many types
        raise FormulaError(f"cannot parse {argument} {text!r}: {error}") from error


def _matrix(text: str, data: pd.DataFrame, argument: str, sparse: bool = False) -> object:
    try:
        if sparse:
            return model_matrix(text, data, na_action="ignore", output="sparse")
        return model_matrix(text, data, na_action="ignore")
    except Exception as error:  # formulaic raises many types
        raise FormulaError(f"cannot evaluate {argument} {text!r}: {error}") from error


def _response(expression: str, data: pd.DataFrame) -> np.ndarray:
    if expression in data.columns:
        column = data[expression]
        if not pd.api.types.is_numeric_dtype(column) or column.dtype == bool:
            raise MixedModelsTypeError(
                f"response {expression!r} has dtype {column.dtype}; it must be numeric"
            )
        return column.to_numpy(dtype=float)
    frame = _matrix(f"{expression} ~ 0", data, "the response").lhs
    if frame.shape[1] != 1:
        raise MixedModelsTypeError(f"response {expression!r} must be one numeric column")
    return np.asarray(frame, dtype=float)[:, 0]
