"""The linear mixed model: design -> objective -> optimiser -> results.

This module mirrors lme4's pipeline ``lFormula -> mkLmerDevfun -> optimizeLmer
-> mkMerMod``: :func:`~mixedmodels.design.builder.build_design` builds the
design, :class:`LinearMixedModel` forms the cross-products once and exposes
the profiled criterion :meth:`LinearMixedModel.objective`, :meth:`fit` runs the
optimiser and returns an immutable :class:`~mixedmodels.results.lmer.LmerResults`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .design.builder import Design, build_design
from .design.checks import check_structure
from .design.terms import RandomEffectsBlock, TermInfo, TermSpec, assemble_blocks
from .errors import ConvergenceWarning, SingularFitWarning
from .objective.crossprod import BlockData, CrossProducts, cross_products
from .objective.pls import PLSState
from .optim.optimizer import OptimizerResult, minimize_theta
from .optim.start import initial_steps, initial_theta

__all__ = ["LinearMixedModel", "lmer"]

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
    The cross-product blocks are formed here, in one pass over the rows;
    :meth:`objective` never touches the rows again.
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
        cross: CrossProducts | None = None,
    ) -> None:
        self.reml = bool(reml)
        self.design = design
        self.fixed_names = list(fixed_names)
        blocks, term_infos, n_theta = assemble_blocks(terms)
        self.blocks: list[RandomEffectsBlock] = blocks
        self.term_infos: list[TermInfo] = term_infos
        self.n_theta = n_theta
        if cross is None:
            y = np.asarray(y, dtype=float)
            X = np.asarray(X, dtype=float)
            if check:
                check_structure(y, blocks)
            response = y if offset is None else y - offset
            cross = cross_products(
                [BlockData(block.factor.codes, block.z, block.n_levels) for block in blocks],
                np.column_stack([X, response]),
                weights,
            )
            self.rows: _RowData | None = _RowData(y, X, offset, weights)
        else:
            self.rows = None
        self.cross = cross
        self.n_obs = cross.n_obs
        self.n_fixed = cross.xy_xy.shape[0] - 1
        self.state = PLSState(blocks, cross, self.reml)
        self.lower_bounds = self._lower_bounds()
        self.theta_scale = self._theta_scale()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        REML: bool = True,
        weights: object = None,
        offset: object = None,
    ) -> LinearMixedModel:
        """Build the model of an lme4 formula on a DataFrame."""
        design = build_design(formula, data, weights=weights, offset=offset)
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
        """Starting theta; see :func:`mixedmodels.optim.start.initial_theta`."""
        theta, self._moment_started = initial_theta(self.blocks, self.cross, self.theta_scale)
        return theta

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
        if np.any(theta < self.lower_bounds):
            return np.inf
        return self.state.evaluate(theta)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        start: np.ndarray | None = None,
        keep_log: bool = False,
        initial_step: float | None = None,
        warn: bool = True,
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
        """
        theta0 = self.initial_theta() if start is None else np.asarray(start, dtype=float)
        # One BLAS thread: the dense blocks here are small to medium, and
        # multithreaded OpenBLAS Cholesky on them was measured 10-40x slower
        # on a shared 2-core machine than single-threaded.
        with threadpool_limits(limits=self.blas_threads, user_api="blas"):
            return self._fit(theta0, keep_log, initial_step, warn)

    blas_threads: int = 1

    def _fit(
        self,
        theta0: np.ndarray,
        keep_log: bool,
        initial_step: float | None,
        warn: bool,
    ):
        from .results.lmer import LmerResults

        result = minimize_theta(
            self.objective,
            theta0,
            self.lower_bounds,
            self.theta_scale,
            keep_log=keep_log,
            initial_step=self.initial_steps() if initial_step is None else initial_step,
        )
        self.state.evaluate(result.theta)
        singular = self.is_singular(result.theta)
        if warn:
            if not result.converged:
                warnings.warn(
                    f"optimizer did not converge: {result.message}",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            if singular:
                warnings.warn(
                    "boundary (singular) fit: a random-effects covariance matrix is singular; "
                    "see results.varcorr()",
                    SingularFitWarning,
                    stacklevel=3,
                )
        return LmerResults(self, result, singular)

    def is_singular(self, theta: np.ndarray) -> bool:
        """True when a diagonal entry of ``T`` is on its bound, relative to its covariate."""
        scaled = np.asarray(theta) * self.theta_scale
        bounded = np.isfinite(self.lower_bounds)
        return bool(np.any(scaled[bounded] < SINGULAR_TOLERANCE))

    def optimizer_result_at(self, theta: np.ndarray) -> OptimizerResult:
        """An :class:`OptimizerResult` for a given theta (no optimisation)."""
        value = self.objective(theta)
        return OptimizerResult(np.asarray(theta, float), value, 1, True, "theta given", 0, [])


def lmer(
    formula: str,
    data: pd.DataFrame,
    REML: bool = True,
    weights: object = None,
    offset: object = None,
    start: np.ndarray | None = None,
):
    """Fit a linear mixed model from an lme4 formula, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : DataFrame
    REML : bool, default True
    weights, offset : array-like or column name, optional
    start : array-like, optional
        Starting theta.

    Returns
    -------
    LmerResults

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> round(fit.llf, 4)
    -871.8141
    """
    model = LinearMixedModel.from_formula(formula, data, REML=REML, weights=weights, offset=offset)
    return model.fit(start=start)
