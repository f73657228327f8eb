"""The fit's optimisation: BOBYQA, the convergence checks, and what is done about them.

:func:`optimize_theta` is what :meth:`mixedmodels.LinearMixedModel.fit` calls:

1. **Optimise** from the moment start with
   :func:`~mixedmodels.optim.optimizer.minimize_theta` (BOBYQA with scaling,
   boundary restart and snapping). A start whose criterion is not finite
   (moment estimates on odd data) is replaced by the identity start.
2. **Check** the stopping point (:mod:`mixedmodels.optim.checks`): stationarity
   and curvature on the free directions, and that no step off a bound (plain or
   mirrored) lowers the criterion.
3. **Act** when a check fails: restart BOBYQA from the improving step off the
   bound (lme4's ``restart_edge``), or from the stopping point with a fresh
   trust region and a Nelder-Mead polish; if that does not settle it, from
   the identity start and from a perturbed start. The best point over all
   runs is kept and checked again; at most :data:`MAX_ROUNDS` rounds.

Everything is recorded in an :class:`~mixedmodels.optim.optsummary.OptSummary`
on the returned result; the model warns from its failed checks.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence

import nlopt
import numpy as np

from ..design.terms import RandomEffectsBlock
from . import checks as conv
from .optimizer import OptimizerResult, _Counter, minimize_theta
from .optsummary import Check, OptSummary, StartRecord

__all__ = ["MAX_ROUNDS", "optimize_theta"]

#: Rounds of restarts after a failed check (each escape from a bound is one).
MAX_ROUNDS = 6
_OPTIMIZER = "NLopt BOBYQA"


class _Fit:
    """The state of one checked optimisation: best point, runs, every evaluation."""

    def __init__(self, function: Callable[[np.ndarray], float], lower, scale) -> None:
        self.function = function
        self.lower = lower
        self.scale = scale
        self.lower_x = lower * scale
        self.bounded = np.isfinite(self.lower_x)
        self.thetas: list[np.ndarray] = []
        self.values: list[float] = []
        self.runs: list[StartRecord] = []
        self.evaluations = 0
        self.best: OptimizerResult | None = None
        self.optimizers = {_OPTIMIZER}
        self.explore_seconds = 0.0

    def criterion_x(self, x: np.ndarray) -> float:
        """The criterion at ``x`` (scaled coordinates), counted and remembered."""
        theta = np.asarray(x, dtype=float) / self.scale
        value = float(self.function(theta))
        value = value if math.isfinite(value) else math.inf
        self.evaluations += 1
        self.thetas.append(theta)
        self.values.append(value)
        return value

    def lookup_x(self, x: np.ndarray) -> float:
        """As :meth:`criterion_x`, without evaluating a point a run already evaluated
        (the boundary restart's step off a bound)."""
        if self.thetas:
            theta = np.asarray(x, dtype=float) / self.scale
            same = np.flatnonzero(np.all(np.array(self.thetas) == theta, axis=1))
            if same.size:
                return self.values[int(same[0])]
        return self.criterion_x(x)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Every evaluated ``x`` and its criterion value."""
        return np.array(self.thetas) * self.scale, np.array(self.values)

    def consider(self, label: str, theta0: np.ndarray, result: OptimizerResult) -> None:
        self.evaluations += result.n_evaluations
        if result.log:
            thetas, values = zip(*result.log, strict=True)
            self.thetas.extend(thetas)
            self.values.extend(values)
        record = StartRecord(label, np.array(theta0), result.objective, result.n_evaluations)
        self.runs.append(record)
        if self.best is None or result.objective < self.best.objective:
            self.best = result

    def run_bobyqa(self, label: str, theta0: np.ndarray, initial_step) -> None:
        result = minimize_theta(
            self.function,
            theta0,
            self.lower,
            self.scale,
            initial_step=initial_step,
            keep_log=True,
            leave_state=False,
        )
        self.consider(label, theta0, result)

    def run_nelder_mead(self, label: str, theta0: np.ndarray) -> None:
        """Polish with a second, derivative-free optimiser of a different kind."""
        counter = _Counter(self.function, self.scale, keep_log=True)
        x0 = np.maximum(theta0 * self.scale, self.lower_x)
        opt = nlopt.opt(nlopt.LN_NELDERMEAD, len(x0))
        opt.set_lower_bounds(self.lower_x.tolist())
        opt.set_min_objective(counter)
        opt.set_xtol_abs(1e-7)
        opt.set_ftol_rel(1e-13)
        opt.set_maxeval(500 + 100 * len(x0))
        opt.set_initial_step(0.02)
        try:
            opt.optimize(x0.tolist())
        except (nlopt.RoundoffLimited, RuntimeError, ValueError):
            pass  # the best point seen is kept either way
        if counter.best_x is None:
            return
        theta = counter.best_x / self.scale
        result = OptimizerResult(
            theta, counter.best_value, counter.count, True, "Nelder-Mead polish", 0, counter.log
        )
        self.optimizers.add("NLopt Nelder-Mead")
        self.consider(label, theta0, result)


def _first_run(fit: _Fit, theta0: np.ndarray, initial_step) -> tuple[np.ndarray, str]:
    """BOBYQA from ``theta0``; from the identity start if that gave nothing finite.

    A moment start can hold NaN or Inf on odd data (an empty within-group
    sum of squares, a covariate with no spread); no evaluation is spent
    checking a start that works.
    """
    theta0 = np.asarray(theta0, dtype=float)
    if np.isfinite(theta0).all():
        fit.run_bobyqa("start", theta0, initial_step)
        if math.isfinite(fit.best.objective):
            return theta0, "start"
    identity = _identity_start(fit)
    fit.run_bobyqa("identity start (the start was not finite)", identity, 0.5)
    if math.isfinite(fit.best.objective):
        return identity, "identity start"
    safe = np.where(np.isfinite(fit.lower), 0.1, 0.0) / fit.scale
    fit.run_bobyqa("safe start (T = 0.1 I)", safe, 0.05)
    return safe, "safe start"


def _identity_start(fit: _Fit) -> np.ndarray:
    """lme4's default start in the scaled coordinates: ``T = I``."""
    return np.where(np.isfinite(fit.lower), 1.0, 0.0) / fit.scale


def _run_checks(
    fit: _Fit, labels: Sequence[str], partners: Callable[[], dict]
) -> tuple[list[Check], dict]:
    """The checks at the current best; the extras say what to restart from."""
    x = fit.best.theta * fit.scale
    value = fit.best.objective
    on_bound = fit.bounded & (x - fit.lower_x <= conv.BOUND_GAP)
    # Array methods: numpy's function dispatch costs more than these tiny arrays.
    bound_index = on_bound.nonzero()[0]
    free_index = (~on_bound).nonzero()[0]
    gradient = np.empty(len(x))
    gradient.fill(np.nan)
    extras: dict = {"source": "none", "gradient": gradient, "escape": None}
    found: list[Check] = []
    if free_index.size and math.isfinite(value):
        found.extend(_derivative_checks(fit, x, value, free_index, labels, extras))
    if bound_index.size:
        boundary, escape = _boundary_check(fit, x, value, bound_index, labels, partners())
        found.append(boundary)
        extras["escape"] = escape
    extras["gradient"] = gradient * fit.scale  # d f / d theta = d f / d x * scale
    return found, extras


def _restricted_model(fit: _Fit, x: np.ndarray, value: float, free_index: np.ndarray):
    if x.size == 1:
        # One parameter (most small models): floats, no array of the points.
        scale = float(fit.scale[0])
        points = [float(theta[0]) * scale for theta in fit.thetas]
        return conv.parabola(points, fit.values, float(x[0]), value)
    model = conv.quadratic_model(*fit.points(), x, value)
    if model is None or free_index.size == x.size:
        return model
    return model[0][free_index], model[1][np.ix_(free_index, free_index)]


def _derivative_checks(fit, x, value, free_index, labels, extras) -> list[Check]:
    """Gradient and Hessian checks: first from the optimiser's own evaluations
    (free), confirmed by finite differences only when those do not pass."""
    model = _restricted_model(fit, x, value, free_index)
    if model is not None:
        found = conv.derivative_checks(*model, value, free_index, labels)
        extras["source"] = "quadratic model of the optimiser's evaluations"
        if found[0].passed and found[1].passed:
            extras["gradient"][free_index] = model[0]
            return found
    # The free screen did not settle it: derivatives from new evaluations.
    free = np.zeros(len(x), dtype=bool)
    free[free_index] = True
    gradient = conv.forward_gradient(fit.criterion_x, x, value, free)
    # The gradient's points sit next to x on each axis, which is what pins
    # the model's curvature down when the optimiser's points did not.
    model = _restricted_model(fit, x, value, free_index)
    curvature = None if model is None else model[1]
    extras["source"] = "forward differences; Hessian from the quadratic model"
    if curvature is None or not conv.is_positive_definite(curvature):
        curvature = conv.central_hessian(fit.criterion_x, x, free, fit.lower_x)
        extras["source"] = "forward differences; Hessian by central differences"
    extras["gradient"][free_index] = gradient
    extras["newton"] = (free_index, gradient, curvature)
    return conv.derivative_checks(gradient, curvature, value, free_index, labels)


def _newton_step(fit: _Fit, extras: dict) -> None:
    """One Newton step from the derivatives the checks computed by differences.

    Those are computed only where the optimiser's own points did not show a
    stationary point: a slow valley, where BOBYQA's stopping rule can leave a
    few 1e-6 of the criterion (cake's ``(recipe || replicate)``, whose intercept
    variance lies on a ridge: 4.5e-6 above lme4's optimum before the step,
    4e-8 after). The step costs one evaluation and is kept only if it is lower.
    """
    free_index, gradient, curvature = extras.pop("newton")
    try:
        step = -np.linalg.solve(curvature, gradient)
    except np.linalg.LinAlgError:
        return
    x = fit.best.theta * fit.scale
    trial = x.copy()
    trial[free_index] += step
    trial = np.maximum(trial, fit.lower_x)
    value = fit.criterion_x(trial)
    fit.runs.append(StartRecord("Newton step (checks' derivatives)", fit.best.theta, value, 1))
    if value < fit.best.objective:
        fit.best = dataclasses.replace(fit.best, theta=trial / fit.scale, objective=value)


def _boundary_check(fit, x, value, bound_index, labels, partners):
    """The boundary check; the best improving trial (in theta) to restart from, if any."""
    decreases = []
    best_trial = None
    for index, kind, point in conv.boundary_trials(x, fit.lower_x, bound_index, partners):
        decrease = value - fit.lookup_x(point)
        decreases.append((index, kind, decrease))
        if best_trial is None or decrease > best_trial[0]:
            best_trial = (decrease, point)
    boundary = conv.boundary_check(decreases, value, labels)
    escape = None if boundary.passed else best_trial[1] / fit.scale
    return boundary, escape


def _restart(fit: _Fit, failed: list[Check], extras: dict, theta0: np.ndarray, heavy: bool) -> None:
    """Runs from the starts a failed check suggests; ``fit.best`` keeps the best.

    A light round restarts from the improving step off the bound (lme4's
    ``restart_edge``), or, after a failed derivative check, from the stopping
    point with a fresh trust region and a Nelder-Mead polish. A heavy round
    (when a light one did not settle it) adds the identity start and a
    perturbed start.
    """
    stop = fit.best.theta.copy()
    if extras["escape"] is not None and not heavy:
        fit.run_bobyqa("the step off the bound", extras["escape"], 0.05)
        return
    if heavy:
        identity = _identity_start(fit)
        if not np.allclose(identity, theta0):
            fit.run_bobyqa("the identity start", identity, 0.5)
        rng = np.random.default_rng(len(fit.runs))
        x = stop * fit.scale
        perturbed = x + 0.3 * rng.standard_normal(len(x)) * np.maximum(np.abs(x), 0.3)
        perturbed = np.maximum(perturbed, np.where(np.isfinite(fit.lower_x), 0.05, -np.inf))
        fit.run_bobyqa("a perturbed start", perturbed / fit.scale, 0.2)
    else:
        fit.run_bobyqa("the stopping point, fresh trust region", stop, 0.1)
    fit.run_nelder_mead("Nelder-Mead polish of the best", fit.best.theta)
    # Back to BOBYQA's tight stopping rule around the best point found.
    fit.run_bobyqa("the best point, polished", fit.best.theta, 0.01)


def _explore_faces(fit: _Fit, theta0: np.ndarray) -> bool:
    """At a singular optimum, look for a better one on another face of the bounds.

    A boundary optimum that passes every local check can still be a local one:
    with several variance components, the criterion often has a minimum on
    each face where a different subset of them is zero, and no step near the
    point found leads to the others. Two more BOBYQA runs cover the usual
    escapes: from the identity start (lme4's) and from the optimum with every
    zero diagonal entry put back to 1 (a long ``restart_edge``). One-parameter
    models are skipped: their single face is the point 0, which the boundary
    check already compares. Returns True when a better optimum was found.
    """
    if fit.scale.size < 2:
        return False
    x = fit.best.theta * fit.scale
    at_bound = fit.bounded & (x - fit.lower_x <= conv.BOUND_GAP)
    if not at_bound.any():
        return False
    before = fit.best.objective
    started = time.perf_counter()
    identity = _identity_start(fit)
    if not np.allclose(identity, theta0):
        fit.run_bobyqa("the identity start (singular fit)", identity, 0.5)
    edge = x.copy()
    edge[at_bound] = 1.0
    fit.run_bobyqa(
        "the optimum with its zero variances put back (singular fit)", edge / fit.scale, 0.5
    )
    fit.explore_seconds = time.perf_counter() - started
    return fit.best.objective < before - conv.criterion_tolerance(before)


def _act_on_checks(
    fit: _Fit, found: list[Check], extras: dict, start: np.ndarray, stages: dict, context
) -> tuple[list[Check], dict]:
    """Restart while a check fails and the restarts help; then look at other faces."""
    heavy = False
    for _ in range(MAX_ROUNDS):
        failed = [check for check in found if not check.passed]
        if not failed:
            break
        before = fit.best.objective
        tick = time.perf_counter()
        _restart(fit, failed, extras, start, heavy)
        stages["restart"] = stages.get("restart", 0.0) + time.perf_counter() - tick
        tick = time.perf_counter()
        found, extras = _run_checks(fit, *context)
        stages["recheck"] = stages.get("recheck", 0.0) + time.perf_counter() - tick
        if fit.best.objective >= before - conv.criterion_tolerance(before):
            if heavy:
                break
            heavy = True
    if all(check.passed for check in found) and _explore_faces(fit, start):
        tick = time.perf_counter()
        found, extras = _run_checks(fit, *context)
        stages["recheck"] = stages.get("recheck", 0.0) + time.perf_counter() - tick
    if fit.explore_seconds:
        stages["other faces"] = fit.explore_seconds
    return found, extras


def optimize_theta(
    function: Callable[[np.ndarray], float],
    theta0: np.ndarray,
    lower: np.ndarray,
    scale: np.ndarray,
    *,
    initial_step: float | np.ndarray = 0.5,
    blocks: Sequence[RandomEffectsBlock] = (),
    keep_log: bool = False,
) -> OptimizerResult:
    """Minimise the criterion, check the optimum, restart if a check fails.

    Parameters
    ----------
    function : callable
        The profiled criterion at ``theta``.
    theta0, lower, scale : ndarray
        Start, lower bounds and internal scaling (as
        :func:`~mixedmodels.optim.optimizer.minimize_theta`).
    initial_step : float or ndarray
        BOBYQA's first trust-region radius from ``theta0``.
    blocks : sequence of RandomEffectsBlock
        The model's blocks: names of the theta entries and the mirrored
        boundary steps.
    keep_log : bool
        Keep every evaluation in ``result.log``.

    Returns
    -------
    OptimizerResult
        The best point over all runs, with ``optsummary`` set; ``converged``
        is False when a check still fails.
    """
    lower = np.asarray(lower, dtype=float)
    scale = np.asarray(scale, dtype=float)
    n_theta = len(lower)
    labels = conv.LazyThetaLabels(blocks, n_theta)
    partners = functools.cache(lambda: conv.column_partners(blocks))
    fit = _Fit(function, lower, scale)
    clock = time.perf_counter()
    stages: dict[str, float] = {}
    start, _ = _first_run(fit, theta0, initial_step)
    stages["optimize"] = time.perf_counter() - clock
    found, extras = _run_checks(fit, labels, partners)
    stages["check"] = time.perf_counter() - clock - stages["optimize"]
    found, extras = _act_on_checks(fit, found, extras, start, stages, (labels, partners))
    if "newton" in extras and all(check.passed for check in found):
        _newton_step(fit, extras)
    result = _checked_result(fit, start, found, extras, stages, keep_log)
    # Leave a stateful criterion (the model's factor) at the result.
    function(result.theta)
    return result


def _checked_result(
    fit: _Fit, start: np.ndarray, found: list[Check], extras: dict, stages: dict, keep_log: bool
) -> OptimizerResult:
    """The best point over all runs, with its fit log; not converged when a check fails."""
    best = fit.best
    failed = [check for check in found if not check.passed]
    summary = OptSummary(
        optimizer=" + ".join(sorted(fit.optimizers)),
        initial_theta=np.array(start),
        final_theta=best.theta.copy(),
        final_objective=best.objective,
        n_evaluations=fit.evaluations,
        starts=tuple(fit.runs),
        checks=tuple(found),
        gradient=extras["gradient"],
        derivatives=extras["source"],
        stage_seconds=stages,
    )
    message = best.message
    if failed:
        message = "; ".join(f"{check.name} check failed: {check.message}" for check in failed)
    log = list(zip(fit.thetas, fit.values, strict=True)) if keep_log else []
    return OptimizerResult(
        best.theta.copy(),
        best.objective,
        fit.evaluations,
        best.converged and not failed,
        message,
        best.restarts,
        log,
        summary,
    )
