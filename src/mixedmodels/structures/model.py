"""The linear mixed model with a residual structure, and its joint criterion.

For structure parameters ``eta`` (see :mod:`.spec`) and relative covariance
parameters ``theta``, the criterion is

.. math::

    d(\\theta, \\eta) = d_{\\text{LMM}}(\\theta \\mid C_\\eta^{-1} [Z X y])
                       + \\log |\\Lambda_\\eta| ,

the one profiled criterion (REML criterion or ML deviance, profiled over
``beta`` and ``sigma``; :class:`~mixedmodels.objective.pls.PLSState`) on the
whitened cross-products, plus the log-Jacobian of the whitening, which the
cross-products carry in the prior weights' slot (``sum_log_weights =
-log|Lambda|``), so the criterion itself adds it. REML needs no
other change: ``X' V^{-1} X`` is the whitened ``X' X``. ``theta`` and ``eta``
are optimised jointly (BOBYQA, as for ``theta`` alone), starting from the fit
without the structure, which is kept for the likelihood-ratio test.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np
import pandas as pd
import scipy.linalg

from ..design.builder import Design, build_design
from ..design.checks import check_flag
from ..design.crossprod import BlockData
from ..errors import ArgumentError, ArgumentTypeError, ConvergenceWarning, FormulaError
from ..model import LinearMixedModel, _blas_controller, _is_dask_collection
from ..objective.pls import PLSState
from ..optim.hessian import hessian, jacobian
from ..optim.optimizer import OptimizerResult, minimize_theta
from .spec import AR1, CAR1, CorrelationStructure, VarIdent
from .whiten import ResidualLayout, Whitener, build_layout

__all__ = ["StructuredModel", "check_structures"]


def check_structures(correlation: object, variance: object) -> None:
    """Type checks of the ``correlation=`` and ``variance=`` arguments."""
    if correlation is not None and not isinstance(correlation, (AR1, CAR1)):
        raise ArgumentTypeError(
            f"correlation= must be mm.AR1(...) or mm.CAR1(...), got {type(correlation).__name__}"
        )
    if variance is not None and not isinstance(variance, VarIdent):
        raise ArgumentTypeError(
            f"variance= must be mm.VarIdent(...), got {type(variance).__name__}"
        )


def _structure_columns(correlation: CorrelationStructure | None, variance: VarIdent | None) -> dict:
    columns = {}
    if correlation is not None:
        for role in ("group", "order", "time"):
            name = getattr(correlation, role, None)
            if name:
                columns[name] = f"{correlation.kind}({role}=...)"
    if variance is not None:
        columns[variance.by] = "VarIdent(by=...)"
    return columns


class StructuredModel:
    """A :class:`~mixedmodels.model.LinearMixedModel` with residual correlation/variance.

    Parameters
    ----------
    base : LinearMixedModel
        The model without the structure (its rows are whitened here).
    layout : ResidualLayout
    whitener_path : str, optional
        Force how cross-products are recomputed (:class:`.whiten.Whitener`).
    """

    def __init__(
        self, base: LinearMixedModel, layout: ResidualLayout, whitener_path: str | None = None
    ) -> None:
        if base.rows is None:
            raise ArgumentError("residual structures need the rows (not a chunked model)")
        self.base = base
        self.reml = base.reml
        self.layout = layout
        rows = base.rows
        response = rows.y if rows.offset is None else rows.y - rows.offset
        self.whitener = Whitener(
            layout,
            [BlockData(block.factor.codes, block.z, block.n_levels) for block in base.blocks],
            np.column_stack([rows.X, response]),
            path=whitener_path,
        )
        self.n_theta = base.n_theta
        self.n_params = base.n_theta + layout.n_params
        self.lower_bounds = np.concatenate([base.lower_bounds, np.full(layout.n_params, -np.inf)])
        self._key: bytes | None = None
        self._state: PLSState | None = None
        self._log_det = 0.0
        self.n_cross_products = 0  # recomputations, for measurements
        # |Phi| < 1 - 1e-12 (tanh and the logistic function reach 1 in floating point)
        self._eta_limit = 13.0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_formula(
        cls,
        formula: str,
        data: pd.DataFrame,
        correlation: CorrelationStructure | None = None,
        variance: VarIdent | None = None,
        REML: bool = True,
        weights: object = None,
        offset: object = None,
    ) -> StructuredModel:
        """Build the design, then the layout of the structure on the rows used.

        Prior ``weights`` combine with the structure as nlme's ``varFixed``
        does: ``var(e_t) = sigma^2 ratio_t^2 / w_t`` with the correlation
        applied to the standardised errors.
        """
        check_structures(correlation, variance)
        if _is_dask_collection(data):
            raise ArgumentError("residual structures need a pandas DataFrame, not a Dask one")
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        columns = _structure_columns(correlation, variance)
        for name, role in columns.items():
            if name not in frame.columns:
                raise FormulaError(f"{role}: column {name!r} is not in the data")
        # Positions, not labels, identify the rows used (labels may repeat).
        work = frame.reset_index(drop=True)
        design = build_design(formula, work, weights=weights, offset=offset)
        positions = design.row_index.to_numpy()
        design = dataclasses.replace(design, row_index=frame.index[positions])
        base = LinearMixedModel(
            design.y,
            design.fixed.matrix,
            design.terms,
            design.fixed.lme4_names,
            reml=check_flag(REML, "REML"),
            weights=design.weights,
            offset=design.offset,
            design=design,
        )
        structure_frame = work[list(columns)]
        if len(positions) < len(work):
            structure_frame = structure_frame.iloc[positions].reset_index(drop=True)
        layout = build_layout(
            correlation,
            variance,
            structure_frame,
            [(block.factor.name, block.factor.codes, block.factor.levels) for block in base.blocks],
            design.weights,
        )
        return cls(base, layout)

    @classmethod
    def from_engine(
        cls,
        engine: LinearMixedModel,
        correlation: CorrelationStructure | None,
        variance: VarIdent | None,
        frame: pd.DataFrame | None,
        default_group: tuple[str, np.ndarray, pd.Index] | None = None,
    ) -> StructuredModel:
        """Add a structure to a model built from matrices (the statsmodels layer).

        ``frame`` holds the structure's columns, one row per row of the model
        (in the model's row order); it may be None when the structure names no
        column (``AR1()`` in row order within ``default_group``).
        """
        check_structures(correlation, variance)
        columns = _structure_columns(correlation, variance)
        if columns and frame is None:
            raise ArgumentError(
                f"the structure uses column(s) {sorted(columns)}: build the model with "
                "from_formula/mixedlm and a DataFrame that has them"
            )
        for name, role in columns.items():
            if name not in frame.columns:
                raise FormulaError(f"{role}: column {name!r} is not in the data")
        if frame is not None and len(frame) != engine.n_obs:
            raise ArgumentError(
                f"the structure data has {len(frame)} rows; the model has {engine.n_obs}"
            )
        layout = build_layout(
            correlation,
            variance,
            pd.DataFrame(index=range(engine.n_obs))
            if frame is None
            else frame[list(columns)].reset_index(drop=True),
            [
                (block.factor.name, block.factor.codes, block.factor.levels)
                for block in engine.blocks
            ],
            None if engine.rows is None else engine.rows.weights,
            default_group,
        )
        return cls(engine, layout)

    @property
    def design(self) -> Design | None:
        return self.base.design

    # ------------------------------------------------------------------ criterion
    def state_at(self, eta: np.ndarray) -> tuple[PLSState, float]:
        """The criterion's state on the whitened cross-products at ``eta``, and ``log|Lambda|``."""
        eta = np.asarray(eta, dtype=float)
        key = eta.tobytes()
        if key != self._key or self._state is None:
            phi, ratios = self.layout.split(eta)
            if self.whitener.path == "classes":
                cross = self.whitener.cross_products_at(phi, ratios)
            else:
                cross = self.whitener.cross_products(eta)
            self.n_cross_products += 1
            self._state = PLSState(self.base.blocks, cross, self.reml)
            self._log_det = -cross.sum_log_weights  # the Jacobian, inside the criterion
            self._key = key
        return self._state, self._log_det

    def objective(self, params: np.ndarray) -> float:
        """``-2 log L`` (REML or ML) at ``params = [theta, eta]``."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ArgumentError(f"params must have {self.n_params} elements, got {params.shape}")
        theta, eta = params[: self.n_theta], params[self.n_theta :]
        if (theta < self.base.lower_bounds).any() or not np.isfinite(eta).all():
            return np.inf
        if self.layout.correlation is not None and abs(eta[0]) > self._eta_limit:
            return np.inf  # tanh/logistic rounds to 1: a singular correlation
        state, _ = self.state_at(eta)
        value = state.evaluate(theta)
        return float(value) if np.isfinite(value) else np.inf

    # ------------------------------------------------------------------ fit
    def _newton_polish(
        self, params: np.ndarray, scale: np.ndarray, step: float = 1e-4, iterations: int = 6
    ) -> tuple[np.ndarray, float, int]:
        """Newton steps on central differences, over the parameters off their bounds.

        BOBYQA stops when one step gains less than its tolerance, and the REML
        criterion of a model with few groups is flat along the intercept's
        ``theta`` (bodyweight_varident: curvature 0.5, gradient 1e-4 at the
        BOBYQA point, 7e-9 short of the optimum, SEs 2e-5 off). The criterion's
        rounding noise is about 1e-9 here, so differences use ``step = 1e-4`` (in
        the scaled coordinates), where they are accurate to about 1e-5. The
        Hessian is formed once (chord Newton): later steps need the gradient
        only, ``2 m`` evaluations instead of ``2 m^2 + 1``. Both come from the
        one finite-difference module, :mod:`mixedmodels.optim.hessian`.
        """
        x = np.asarray(params, dtype=float) * scale
        lower = self.lower_bounds * scale
        free = np.flatnonzero(~(np.isfinite(lower) & (x - lower < 10 * step)))

        def f(point: np.ndarray) -> float:
            return self.objective(point / scale)

        def f_free(values: np.ndarray, at: np.ndarray) -> float:
            point = at.copy()
            point[free] = values
            return f(point)

        def gradient_at(at: np.ndarray) -> np.ndarray:
            parts = jacobian(lambda values: f_free(values, at), at[free], steps)
            return np.array([float(part) for part in parts])

        value = f(x)
        used = 1
        if not free.size:
            return x / scale, value, used
        steps = np.full(free.size, step)
        curvature = hessian(lambda values: f_free(values, x), x[free], steps)
        gradient = gradient_at(x)
        used += 2 * free.size**2 + 1 + 2 * free.size
        try:
            factor = scipy.linalg.cho_factor(curvature)
        except np.linalg.LinAlgError:
            return x / scale, value, used
        for iteration in range(iterations):
            if iteration:
                gradient = gradient_at(x)
                used += 2 * free.size
            trial = x.copy()
            trial[free] -= scipy.linalg.cho_solve(factor, gradient)
            if np.any(trial < lower):
                break
            trial_value = f(trial)
            used += 1
            if not trial_value < value:
                break
            gain = value - trial_value
            x, value = trial, trial_value
            if gain < 1e-11:
                break
        return x / scale, value, used

    # BOBYQA gets close, Newton steps finish (see _newton_polish): BOBYQA's own
    # tight stop took 400 evaluations on bodyweight_varident and still ended 1e-6 short.
    bobyqa_ftol_rel = 1e-9
    # Start at lme4's starting theta rather than at the fit without the structure:
    # 10% more joint evaluations but no plain fit, 16% less time over the reference
    # cases (measured under load); the plain fit is then made only if asked for.
    start_from_plain_fit = False
    theta_step = 0.1  # theta starts at the fit without the structure: near
    eta_step = 0.1  # moment starts (start_eta)
    bobyqa_xtol_abs = 1e-4

    def _fit_without(self):
        """The fit without the structure (lme4's), for ``anova``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a reference: its warnings are lme4's, not ours
            return self.base.fit(warn=False)

    def start_eta(self, without) -> np.ndarray:
        """Moment starts from the model without the structure (at its start or its fit).

        ``Phi``: the correlation of consecutive conditional residuals, per unit
        lag; ratios: the residual SD per stratum over the reference's. They
        halve the evaluations of BOBYQA compared with ``Phi = 0`` and ratio 1.
        """
        layout = self.layout
        start = layout.start()
        if without.model.rows is None:
            return start
        resid = without.resid.to_numpy()
        if layout.correlation is not None and len(layout.rows) > 2:
            pairs = np.corrcoef(resid[layout.rows], resid[layout.prev])[0, 1]
            lag = float(np.median(layout.lag_values[layout.lag_index]))
            low = 0.05 if layout.correlation.kind == "CAR1" else -0.9
            phi = float(np.clip(np.sign(pairs) * abs(pairs) ** (1.0 / lag), low, 0.9))
            if np.isfinite(phi):
                start[0] = layout.correlation.eta(phi)
        if layout.variance is not None:
            sd = np.array(
                [resid[layout.strata == level].std() for level in range(len(layout.levels))]
            )
            if np.all(sd > 0):
                ratios = sd / sd[layout.reference]
                free = np.arange(len(ratios)) != layout.reference
                start[-int(free.sum()) :] = np.log(ratios[free])
        return start

    def _start(self, start: np.ndarray | None) -> tuple[np.ndarray, object]:
        """The joint start ``[theta, eta]`` and the fit without the structure (or its maker).

        The second is a result when ``start_from_plain_fit`` (the plain fit is made
        for the start anyway), otherwise the callable that makes it on request.
        """
        if self.start_from_plain_fit:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # only a start and a reference
                without = self.base.fit(warn=False)
            theta0 = without.theta if start is None else np.asarray(start, dtype=float)
            return np.concatenate([theta0, self.start_eta(without)]), without
        from ..results.lmer import LmerResults

        theta0 = self.base.initial_theta() if start is None else np.asarray(start, float)
        at_start = LmerResults(self.base, self.base.optimizer_result_at(theta0), False)
        return np.concatenate([theta0, self.start_eta(at_start)]), self._fit_without

    def _minimize(self, x0: np.ndarray):
        """BOBYQA from ``x0``, then Newton steps (``_newton_polish``); the optimiser's result."""
        scale = np.concatenate([self.base.theta_scale, np.ones(self.layout.n_params)])
        steps = np.concatenate(
            [np.full(self.n_theta, self.theta_step), np.full(self.layout.n_params, self.eta_step)]
        )
        result = minimize_theta(
            self.objective,
            x0,
            self.lower_bounds,
            scale,
            initial_step=steps,
            ftol_rel=self.bobyqa_ftol_rel,
            xtol_abs=self.bobyqa_xtol_abs,
        )
        theta_eta, value, used = self._newton_polish(result.theta, scale)
        return dataclasses.replace(
            result,
            theta=theta_eta if value < result.objective else result.theta,
            objective=min(value, result.objective),
            n_evaluations=result.n_evaluations + used,
        )

    def _snapshot(self, result, without):
        """The ``StructuredResults`` of an optimiser result (a snapshot of the state at eta)."""
        from ..results.structured import StructuredResults

        theta, eta = result.theta[: self.n_theta], result.theta[self.n_theta :]
        state, _ = self.state_at(eta)
        # A snapshot: the base model's blocks and rows, the whitened cross-products at eta.
        fitted = copy.copy(self.base)
        fitted.cross = state.cross
        fitted.state = PLSState(self.base.blocks, state.cross, self.reml)
        singular = fitted.is_singular(theta)
        optimizer = OptimizerResult(
            theta.copy(),
            result.objective,
            result.n_evaluations,
            result.converged,
            result.message,
            result.restarts,
        )
        return StructuredResults(
            fitted, optimizer, singular, layout=self.layout, eta=eta.copy(), without=without
        )

    def fit(self, start: np.ndarray | None = None, warn: bool = True):
        """Fit ``theta`` and the structure jointly; returns ``StructuredResults``.

        Parameters
        ----------
        start : numpy.ndarray, optional
            Starting ``theta`` (the structure's parameters start at moment estimates).
        warn : bool, optional
            Issue a ``ConvergenceWarning`` when the optimiser did not converge.

        Returns
        -------
        StructuredResults
        """
        # The results are made inside the one-thread limit too: a multithreaded 3 x 3
        # triangular solve was measured at 5 ms on the loaded 2-core machine.
        with _blas_controller().limit(limits=1, user_api="blas"):
            x0, without = self._start(start)
            result = self._minimize(x0)
            results = self._snapshot(result, without)
        if warn and not result.converged:
            warnings.warn(
                f"optimizer did not converge: {result.message}", ConvergenceWarning, stacklevel=2
            )
        return results
