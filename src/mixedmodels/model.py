"""The linear mixed model: design -> objective -> optimiser -> results.

This module mirrors lme4's pipeline ``lFormula -> mkLmerDevfun -> optimizeLmer
-> mkMerMod``: :func:`~mixedmodels.design.builder.build_design` builds the
design (or :mod:`mixedmodels.design.chunked` its cross-products, for large or
Dask data), :class:`LinearMixedModel` is made from rows (its constructor,
:meth:`~LinearMixedModel.from_formula`) or from cross-products alone
(:meth:`~LinearMixedModel.from_cross_products`) and exposes the profiled
criterion :meth:`LinearMixedModel.objective`, :meth:`fit` runs the
optimiser and returns an immutable :class:`~mixedmodels.results.lmer.LmerResults`.
"""

from __future__ import annotations

import dataclasses
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from .design.arrays import array_design
from .design.builder import Design, build_design
from .design.checks import check_flag, check_start, check_structure
from .design.crossprod import CrossProducts, row_cross_products
from .design.terms import RandomEffectsBlock, TermInfo, TermSpec, assemble_blocks
from .errors import ArgumentError, ConvergenceWarning, SingularFitWarning
from .objective.pls import KEEP_BEST_ORDER, PLSState
from .optim.driver import optimize_theta
from .optim.optimizer import OptimizerResult
from .optim.singular import singular_terms
from .optim.start import (
    PURE_ERROR_THETA,
    initial_steps,
    initial_theta,
    method_one_ratios,
    pure_error_dof,
)
from .progress import check_verbose

__all__ = ["LinearMixedModel", "lmer"]

_CONTROLLER: ThreadpoolController | None = None


def _blas_controller() -> ThreadpoolController:
    """One threadpoolctl controller per process: building one scans the loaded
    libraries (about 2 ms), which is a fifth of a small model's whole fit."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


#: Models with more random effects than this also apply the thread policy when
#: :meth:`LinearMixedModel.objective` is called outside :meth:`~LinearMixedModel.fit`
#: (profiles, Hessians, user calls): their dense blocks are where multithreaded
#: OpenBLAS was seen to crash. Below it the ~20 us of threadpoolctl per call would
#: be a large share of an evaluation.
GUARD_OBJECTIVE_ABOVE = 2_000

_CHUNK_ROWS = 1_000_000  # == design.chunked.CHUNK_ROWS, without importing it eagerly


def _is_dask_collection(data: object) -> bool:
    """True for a Dask DataFrame, without importing dask."""
    module = type(data).__module__ or ""
    return module.split(".")[0] in ("dask", "dask_expr") and hasattr(data, "to_delayed")


SINGULAR_TOLERANCE = 1e-4  # lme4's isSingular tolerance, applied to the internally scaled theta


@dataclass
class _RowData:
    """The row-level arrays kept for fitted values and residuals."""

    y: np.ndarray
    X: np.ndarray
    offset: np.ndarray | None
    weights: np.ndarray | None


class LinearMixedModel:
    """A linear mixed model ``y = X beta + Z b + e`` with ``b ~ N(0, sigma^2 Lambda Lambda')``.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Response.
    X : ndarray, shape (n, k)
        Fixed-effects matrix of full column rank.
    terms : list of TermSpec
        Random-effect terms.
    fixed_names : list of str
        Names of the columns of ``X``.
    reml : bool, default True
        Fit by REML (else ML).
    weights : ndarray, optional
        Prior weights: ``var(e_i) = sigma^2 / w_i``.
    offset : ndarray, optional
        Known component of the linear predictor.
    design : Design, optional
        The formula-level design, kept for ``predict`` and names.
    check : bool, default True
        Run lme4's structural checks (levels versus observations).

    Notes
    -----
    The cross-product blocks are formed here, in one pass over the rows
    (:func:`~mixedmodels.design.crossprod.row_cross_products`);
    :meth:`objective` never touches the rows again. A model without rows is
    made by :meth:`from_cross_products`.
    """

    def __init__(
        self,
        y: np.ndarray,
        X: np.ndarray,
        terms: list[TermSpec],
        fixed_names: list[str],
        reml: bool = True,
        weights: np.ndarray | None = None,
        offset: np.ndarray | None = None,
        design: Design | None = None,
        check: bool = True,
    ) -> None:
        reml = check_flag(reml, "REML")  # before any work on the rows
        blocks, term_infos, n_theta = assemble_blocks(terms)
        y = np.asarray(y, dtype=float)
        X = np.asarray(X, dtype=float)
        if check:
            check_structure(y, blocks)
        cross = row_cross_products(blocks, X, y, weights, offset)
        self._setup(cross, blocks, term_infos, n_theta, fixed_names, reml, design)
        self.rows = _RowData(y, X, offset, weights)

    def _setup(
        self,
        cross: CrossProducts,
        blocks: list[RandomEffectsBlock],
        term_infos: list[TermInfo],
        n_theta: int,
        fixed_names: list[str],
        reml: bool,
        design: Design | None,
    ) -> None:
        """Everything but the rows: shared by both constructors."""
        self.reml = check_flag(reml, "REML")
        self.design = design
        self.fixed_names = list(fixed_names)
        self.blocks: list[RandomEffectsBlock] = blocks
        self.term_infos: list[TermInfo] = term_infos
        self.n_theta = n_theta
        self.rows: _RowData | None = None
        self.cross = cross
        self.n_obs = cross.n_obs
        self.n_fixed = cross.xy_xy.shape[0] - 1
        self.state = PLSState(blocks, cross, self.reml)
        self.lower_bounds = self._lower_bounds()
        self.theta_scale = self._theta_scale()
        self._policy_depth = 0
        self._guard_objective = sum(block.n_random for block in blocks) > GUARD_OBJECTIVE_ABOVE

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        REML: bool = True,
        weights: object = None,
        offset: object = None,
        chunk_rows: int | None = None,
        contrasts: dict[str, object] | None = None,
    ) -> LinearMixedModel:
        """Build the model of an lme4 formula on a DataFrame.

        A pandas DataFrame of more than
        :data:`~mixedmodels.design.chunked.CHUNK_ROWS` rows (or any, when
        ``chunk_rows`` is given), and a Dask DataFrame, are read in chunks:
        only the cross-products are kept, so ``fittedvalues`` and ``resid``
        are recomputed from the data on request
        (:func:`mixedmodels.results.chunked.fitted_values`).
        """
        if _is_dask_collection(data):
            from .dask import design_from_dask

            _no_chunked_contrasts(contrasts)
            cross, terms, design = design_from_dask(formula, data, weights=weights, offset=offset)
            return cls.from_cross_products(cross, terms, design.fixed.lme4_names, REML, design)
        if isinstance(data, pd.DataFrame) and (chunk_rows is not None or len(data) > _CHUNK_ROWS):
            from .design.chunked import chunked_design

            _no_chunked_contrasts(contrasts)
            cross, terms, design = chunked_design(
                formula, data, weights=weights, offset=offset, chunk_rows=chunk_rows or _CHUNK_ROWS
            )
            return cls.from_cross_products(cross, terms, design.fixed.lme4_names, REML, design)
        design = build_design(formula, data, weights=weights, offset=offset, contrasts=contrasts)
        return cls(
            design.y,
            design.fixed.matrix,
            design.terms,
            design.fixed.lme4_names,
            reml=REML,
            weights=design.weights,
            offset=design.offset,
            design=design,
        )

    @classmethod
    def from_arrays(
        cls,
        y: object,
        X: object,
        groups: object,
        Z: object = None,
        REML: bool = True,
        missing: str = "raise",
    ) -> LinearMixedModel:
        """The model ``y = X beta + Z b_g + e`` of one grouping factor, from arrays.

        ``b_g ~ N(0, Sigma)`` with ``Sigma`` unstructured (lme4's ``(0 + Z | g)``); a
        random intercept when ``Z`` is None. The arrays get the checks of a formula's
        data (:mod:`mixedmodels.design.arrays`): a missing value is an error, or
        drops its row with ``missing="drop"``; ``X`` must have full column rank.
        Names are a DataFrame's columns, else ``x1``, ... and ``x_re1``, ....
        """
        if missing not in ("raise", "drop"):
            raise ArgumentError(f"missing must be 'raise' or 'drop', got {missing!r}")
        design = array_design(y, X, groups, Z, missing=missing, arguments=("y", "X", "Z"))
        if design.Z is None:
            intercept = np.ones((len(design.y), 1))
            design = dataclasses.replace(design, Z=intercept, z_names=["(Intercept)"])
        return cls(design.y, design.X, design.terms(), design.x_names, reml=REML)

    @classmethod
    def from_cross_products(
        cls,
        cross: CrossProducts,
        terms: list[TermSpec],
        fixed_names: list[str],
        REML: bool = True,
        design: Design | None = None,
    ) -> LinearMixedModel:
        """The model of given cross-products; it keeps no rows.

        For designs built without keeping the rows (chunks, Dask partitions):
        the criterion needs only the cross-products, so the fit is the same;
        fitted values and residuals are recomputed from the data on request
        (:func:`mixedmodels.results.chunked.fitted_values`).

        Parameters
        ----------
        cross : CrossProducts
            Of ``[Z X y]``, blocks in the order of ``assemble_blocks(terms)``
            (most levels first), ``X`` of full column rank, offset subtracted
            from ``y``.
        terms : list of TermSpec
            The random-effect terms; their ``z`` and codes need not hold rows
            (the chunked design gives one-row stand-ins).
        fixed_names : list of str
            lme4 names of the columns of ``X``.
        REML : bool, default True
        design : Design, optional
            The formula-level design, kept for ``predict`` and names.

        Returns
        -------
        LinearMixedModel
        """
        model = cls.__new__(cls)
        model._setup(cross, *assemble_blocks(terms), fixed_names, REML, design)
        return model

    def _lower_bounds(self) -> np.ndarray:
        lower = np.full(self.n_theta, -np.inf)
        for block in self.blocks:
            lower[block.diagonal_theta_indices()] = 0.0
        return lower

    def _theta_scale(self) -> np.ndarray:
        """Root-mean-square of the covariate each theta multiplies (1 when ambiguous).

        A theta entry shared by rows of different scale (a tied statsmodels
        variance component) keeps scale 1.
        """
        scale = np.ones(self.n_theta)
        seen = np.zeros(self.n_theta, dtype=bool)
        for block, gram in zip(self.blocks, self.cross.diagonal, strict=True):
            # From the cross-products, so a model built from partial sums (Dask) scales alike.
            rms = np.sqrt(np.diagonal(gram.sum(axis=0)) / max(self.n_obs, 1))
            rows, cols = np.nonzero(block.theta_index >= 0)
            for row, index in zip(rows, block.theta_index[rows, cols], strict=True):
                value = float(rms[row]) if rms[row] > 0 else 1.0
                if seen[index] and scale[index] != value:
                    scale[index] = 1.0
                else:
                    scale[index] = value
                seen[index] = True
        return scale

    # ------------------------------------------------------------------ criterion
    def initial_theta(self) -> np.ndarray:
        """Starting theta; see :func:`mixedmodels.optim.start.initial_theta`.

        With several grouping factors that are all scalar intercepts (crossed or
        nested), the start is Henderson's Method I, which needs no evaluation.
        Otherwise, one evaluation at a very large theta gives the pure-error sum
        of squares for the intercepts' moment start.
        """
        pure_error = ratios = None
        if len(self.blocks) > 1 and any(block.is_intercept_only for block in self.blocks):
            ratios = method_one_ratios(self.blocks, self.cross)
            if ratios is None:
                big = np.where(np.isfinite(self.lower_bounds), PURE_ERROR_THETA, 0.0)
                self.state.evaluate(big / self.theta_scale)
                pure_error = (self.state.pwrss, pure_error_dof(self.blocks, self.cross))
        theta, self._moment_started = initial_theta(
            self.blocks, self.cross, self.theta_scale, pure_error, ratios
        )
        return theta

    def _schur_order(self) -> int:
        """Order of the later blocks' Schur complement (the first block eliminated)."""
        return sum(block.n_random for block in self.blocks[1:])

    def initial_steps(self) -> np.ndarray:
        """BOBYQA's first trust-region radius per scaled coordinate."""
        if not hasattr(self, "_moment_started"):
            self.initial_theta()
        return initial_steps(self._moment_started)

    def objective(self, theta: np.ndarray) -> float:
        """Profiled REML criterion or ML deviance at ``theta`` (``-2 log L``).

        ``set_theta -> update_L -> objective``; comparable with lme4's
        ``devfun(theta)``.
        """
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_theta,):
            raise ValueError(f"theta must have {self.n_theta} elements, got shape {theta.shape}")
        if (theta < self.lower_bounds).any():  # the method: np.any's dispatch costs 2x
            return np.inf
        if self._guard_objective and not self._policy_depth:
            with self.thread_policy():
                return self.state.evaluate(theta)
        return self.state.evaluate(theta)

    @contextmanager
    def thread_policy(self):
        """Run the enclosed BLAS calls with :attr:`blas_threads` threads (threadpoolctl).

        :meth:`fit` holds it around everything it evaluates: the start
        (:meth:`initial_theta`), the optimiser, the final evaluation and the
        singular-fit check. One BLAS thread: the dense blocks here are small to
        medium, multithreaded OpenBLAS Cholesky on them was measured 10-40x slower
        on a shared 2-core machine, and scipy's bundled OpenBLAS 0.3.31 crashes
        (segfault) in a two-thread ``dpotrf`` of order 16,000.
        """
        if self._policy_depth:
            yield
            return
        with _blas_controller().limit(limits=self.blas_threads, user_api="blas"):
            self._policy_depth += 1
            try:
                yield
            finally:
                self._policy_depth -= 1

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        start: np.ndarray | None = None,
        keep_log: bool = False,
        initial_step: float | None = None,
        warn: bool = True,
        verbose: int = 0,
    ):
        """Fit the model and return :class:`~mixedmodels.results.lmer.LmerResults`.

        Parameters
        ----------
        start : ndarray, optional
            Starting theta (lme4's ``start=list(theta=...)``).
        keep_log : bool
            Keep every evaluation in ``results.optimizer.log``.
        initial_step : float, optional
            BOBYQA's initial trust-region radius in the scaled parameters
            (default: :meth:`initial_steps`).
        warn : bool
            Issue convergence and singular-fit warnings.
        verbose : int, default 0
            ``>= 1`` prints each criterion evaluation (count, criterion, theta), as
            lme4's ``verbose``.
        """
        # Every BLAS call of the fit, the start's evaluation included, runs
        # under the thread policy (see thread_policy).
        with self.thread_policy():
            theta0 = (
                self.initial_theta()
                if start is None
                else check_start(start, self.n_theta, self.lower_bounds)
            )
            return self._fit(theta0, keep_log, initial_step, warn, verbose)

    blas_threads: int = 1

    def _fit(
        self,
        theta0: np.ndarray,
        keep_log: bool,
        initial_step: float | None,
        warn: bool,
        verbose: int = 0,
    ):
        from .results.lmer import LmerResults

        criterion = self.objective
        if verbose:
            from .progress import EvaluationPrinter

            criterion = EvaluationPrinter(self.objective)
        # A costly criterion keeps its best evaluation's factor, not to factor it again.
        self.state.keep_best = self._schur_order() >= KEEP_BEST_ORDER
        try:
            result = optimize_theta(
                criterion,
                theta0,
                self.lower_bounds,
                self.theta_scale,
                keep_log=keep_log,
                initial_step=self.initial_steps() if initial_step is None else initial_step,
                blocks=self.blocks,
            )
            self.state.evaluate(result.theta)
        finally:
            self.state.forget_best()
        singular = self.is_singular(result.theta)
        if warn:
            if not result.converged:
                warnings.warn(
                    f"optimizer did not converge: {result.message}; see results.optsummary",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            if singular:
                terms = singular_terms(
                    self.blocks, result.theta, self.theta_scale, SINGULAR_TOLERANCE, self.objective
                )
                warnings.warn(
                    "boundary (singular) fit: the random-effects covariance is singular (a "
                    f"variance is zero or a correlation is +-1) at {', '.join(terms)}; consider "
                    "simplifying the random effects, see results.varcorr()",
                    SingularFitWarning,
                    stacklevel=3,
                )
        return LmerResults(self, result, singular)

    def is_singular(self, theta: np.ndarray) -> bool:
        """True when a diagonal entry of ``T`` is on its bound, relative to its covariate.

        Invariant to rescaling the response (theta is relative to sigma) and to
        rescaling a covariate (the entry is multiplied by the covariate's
        root-mean-square). An entry the optimiser left inside a flat boundary
        (zeroing it raises ``-2 log L`` by at most 1e-6) is on its bound too;
        see :func:`mixedmodels.optim.singular.singular_terms`. The criterion's
        state is left at ``theta``.
        """
        terms = singular_terms(
            self.blocks, theta, self.theta_scale, SINGULAR_TOLERANCE, self.objective
        )
        return bool(terms)

    def results_at(self, theta: np.ndarray | None = None):
        """The results at ``theta`` (default: the start) without optimising, as lme4's
        ``lmerControl(optimizer = NULL)``."""
        from .results.lmer import LmerResults

        with self.thread_policy():  # as in fit: every BLAS call under the policy
            start = self.initial_theta() if theta is None else theta
            theta = check_start(start, self.n_theta, self.lower_bounds)
            return LmerResults(self, self.optimizer_result_at(theta), self.is_singular(theta))

    def optimizer_result_at(self, theta: np.ndarray) -> OptimizerResult:
        """An :class:`OptimizerResult` for a given theta (no optimisation)."""
        value = self.objective(theta)
        return OptimizerResult(np.asarray(theta, float), value, 1, True, "theta given", 0, [])


def _no_chunked_contrasts(contrasts: object) -> None:
    if contrasts:
        raise ArgumentError(
            "contrasts= is not supported for large or Dask data yet: code the factor's "
            "contrast columns in the data, or fit in memory"
        )


def lmer(
    formula: str, data: pd.DataFrame, REML: bool = True, weights: object = None,
    offset: object = None, start: np.ndarray | None = None, verbose: int = 0,
    keep_data: bool = False, correlation: object = None, variance: object = None,
    contrasts: dict[str, object] | None = None,
):  # fmt: skip
    """Fit a linear mixed model from an lme4 formula, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : DataFrame, dict, polars DataFrame/LazyFrame, pyarrow Table or Dask DataFrame
        Any data frame narwhals reads (:mod:`mixedmodels.frames`). Dask data and pandas
        data over a million rows are reduced to cross-products chunk by chunk
        (:mod:`mixedmodels.dask`, :mod:`mixedmodels.design.chunked`); the fit is the same.
    REML : bool, default True
    weights, offset : array-like or column name, optional
        Column names only, for a Dask DataFrame.
    start : array-like, optional
        Starting theta.
    verbose : int, default 0
        ``>= 1`` prints each evaluation (count, criterion, theta), as lme4's ``verbose``.
    keep_data : bool, default False
        Keep ``data`` on the result (``results.data``) and its rows in a saved fit, as
        lme4 keeps its model frame (by default a saved fit holds no rows).
    correlation : mm.AR1 or mm.CAR1, optional
        Serial correlation of the residuals within groups (nlme's ``corAR1``/``corCAR1``).
    variance : mm.VarIdent, optional
        Residual SD per level of a factor (nlme's ``varIdent``). With either structure
        (:mod:`mixedmodels.structures`) the result is a ``StructuredResults``.
    contrasts : dict, optional
        Contrasts of fixed-effect factors, as R's ``contrasts=``: ``{"Diet":
        "contr.sum"}``; ``contr.treatment`` by default, ``contr.poly`` if ordered.

    Returns
    -------
    LmerResults
        Without ``fittedvalues`` and ``resid`` for chunked and Dask data
        (:func:`mixedmodels.results.chunked.fitted_values` recomputes them).

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> round(fit.llf, 4)
    -871.8141
    """
    keep_data = check_flag(keep_data, "keep_data")
    verbose = check_verbose(verbose)
    if correlation is not None or variance is not None:
        structure = (correlation, variance, contrasts, verbose)
        results = _structured_fit(formula, data, REML, weights, offset, start, *structure)
    else:
        model = LinearMixedModel.from_formula(
            formula, data, REML=REML, weights=weights, offset=offset, contrasts=contrasts
        )
        results = model.fit(start=start, verbose=verbose)
    if keep_data:  # as lme4 keeps its frame; LmerResults defaults to neither
        results.keep_data, results.data = True, data
    return results


def _structured_fit(
    formula, data, REML, weights, offset, start, correlation, variance, contrasts, verbose
):
    """:func:`lmer` with a residual structure (:mod:`mixedmodels.structures`)."""
    from .structures.model import StructuredModel

    if contrasts:
        raise ArgumentError("contrasts= is not available with a residual structure yet")
    if verbose:
        raise ArgumentError("verbose is not available with a residual structure")

    structured = StructuredModel.from_formula(
        formula, data, correlation, variance, REML=REML, weights=weights, offset=offset
    )
    return structured.fit(start=start)
