"""Newton's method on many independent criteria at once (the bootstrap's optimiser).

A parametric bootstrap minimises ``m`` criteria ``f_r(x)`` of the same form, all
started at the fitted theta and all ending near it. :func:`batched_newton`
moves every replicate by damped Newton steps whose gradient and Hessian come
from central differences, so that each iteration is *one* call of a batched
criterion (:class:`mixedmodels.objective.batched.BatchedSingleBlock`) at the
stencil points of every replicate still running. From the fitted theta a
replicate typically converges in four to six iterations, to a much tighter
optimum than BOBYQA's ``xtol_abs = 1e-5`` stop.

Termination is the convergence checks' own test
(:mod:`mixedmodels.optim.checks`), made stricter: a replicate is *converged*
when its Hessian is positive definite, the Newton decrement ``g' H^{-1} g / 2``
(the decrease of ``-2 log L`` one more step would bring) is at most
``DECREMENT_FACTOR`` times :func:`~mixedmodels.optim.checks.criterion_tolerance`
and the step is below ``STEP_TOLERANCE``. It is then moved by that last (tiny)
Newton step. Where the Hessian is not positive definite (far from the optimum) the step is
taken with ``|H|``, a descent direction, and a step that would cross a bound is
shortened to half the way to it. A replicate is *handed back* unconverged (for
the caller to refit by the fit's checked BOBYQA) when its steps are shortened
by a bound more than ``MAX_BOUNDED_STEPS`` times (the optimum is probably on
the bound: a singular fit, which needs the boundary checks and snapping of the
fit), the line search fails, or it has not converged after ``MAX_ITERATIONS``. No replicate is
reported as converged unless it passed the test.

Notation
--------
==========  ================================================================
symbol      meaning
==========  ================================================================
``x``       theta times its internal scale (the optimiser's coordinates)
``h``       the difference step, ``DIFFERENCE_STEP`` in ``x``
``g, H``    central-difference gradient and Hessian of ``f_r`` at ``x``
``d``       Newton step ``-H^{-1} g``
==========  ================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .checks import DIFFERENCE_STEP, criterion_tolerance

__all__ = ["NewtonResult", "batched_newton"]

MAX_ITERATIONS = 25
#: Converged: Newton decrement below this times the checks' criterion tolerance ...
DECREMENT_FACTOR = 1e-3
#: ... and every component of the Newton step below this (in ``x``).
STEP_TOLERANCE = 1e-6
#: Halvings of the step before a replicate is handed back.
MAX_HALVINGS = 10
#: Steps shortened by a bound before a replicate is handed back.
MAX_BOUNDED_STEPS = 3
#: Relative eigenvalue below which a Hessian counts as not positive definite.
CURVATURE_FLOOR = 1e-8

BatchedCriterion = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class NewtonResult:
    """Per-replicate outcome of :func:`batched_newton` (arrays over replicates).

    Attributes
    ----------
    x : ndarray, shape (m, n)
        Final point (scaled coordinates).
    objective : ndarray, shape (m,)
        Criterion at ``x`` before the last tiny step (the step's predicted
        change is below the decrement tolerance).
    converged : ndarray of bool
    decrement : ndarray
        Newton decrement at the last gradient (NaN if never computed).
    iterations : ndarray of int
    evaluations : int
        Criterion values computed in all (every replicate and stencil point).
    """

    x: np.ndarray
    objective: np.ndarray
    converged: np.ndarray
    decrement: np.ndarray
    iterations: np.ndarray
    evaluations: int


def _stencil(n: int, h: float) -> np.ndarray:
    """Offsets: 0, +-h e_i, and +-h (e_i + e_j) for i < j (``1 + 2n + n(n-1)`` points)."""
    eye = np.eye(n) * h
    pairs = [eye[i] + eye[j] for i in range(n) for j in range(i + 1, n)]
    pairs = np.array(pairs).reshape(-1, n)
    return np.vstack((np.zeros((1, n)), eye, -eye, pairs, -pairs))


def _derivatives(values: np.ndarray, n: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ``(m, n)`` and Hessian ``(m, n, n)`` from stencil values ``(m, S)``.

    ``H_ij = [f(x+hi+hj) - f(x+hi) - f(x+hj) + 2 f(x) - f(x-hi) - f(x-hj)
    + f(x-hi-hj)] / (2 h^2)``, second order as the central ``H_ii``.
    """
    center = values[:, 0]
    plus, minus = values[:, 1 : 1 + n], values[:, 1 + n : 1 + 2 * n]
    gradient = (plus - minus) / (2 * h)
    hessian = np.empty((len(values), n, n))
    diagonal = (plus - 2 * center[:, None] + minus) / (h * h)
    hessian[:, np.arange(n), np.arange(n)] = diagonal
    n_pairs = n * (n - 1) // 2
    up = values[:, 1 + 2 * n : 1 + 2 * n + n_pairs]
    down = values[:, 1 + 2 * n + n_pairs :]
    pair = 0
    for i in range(n):
        for j in range(i + 1, n):
            mixed = (
                up[:, pair]
                - plus[:, i]
                - plus[:, j]
                + 2 * center
                - minus[:, i]
                - minus[:, j]
                + down[:, pair]
            ) / (2 * h * h)
            hessian[:, i, j] = hessian[:, j, i] = mixed
            pair += 1
    return gradient, hessian


def _newton_steps(
    gradient: np.ndarray, hessian: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, Newton decrements and whether ``H`` is positive definite.

    Where ``H`` is not positive definite (far from the optimum) the step uses
    ``|H|`` (eigenvalues replaced by their absolute values, floored), a descent
    direction; such a point is never declared converged.
    """
    eigenvalues, vectors = np.linalg.eigh(hessian)
    largest = np.maximum(np.abs(eigenvalues).max(axis=1), 1e-300)
    floor = (CURVATURE_FLOOR * largest)[:, None]
    definite = eigenvalues.min(axis=1) > floor[:, 0]
    modified = np.maximum(np.abs(eigenvalues), floor)
    projected = np.einsum("mji,mj->mi", vectors, gradient)
    step = -np.einsum("mij,mj->mi", vectors, projected / modified)
    decrement = 0.5 * np.einsum("mi,mi->m", projected, projected / modified)
    return step, decrement, definite


def _feasible(x: np.ndarray, step: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Shrink steps that would cross a bound to half the way to it; True where shrunk."""
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(step < 0, (x - lower) / -step, np.inf)
    alpha = room.min(axis=1)
    shrink = alpha < 1
    step[shrink] *= 0.5 * alpha[shrink, None]
    return shrink


def _line_search(
    function: BatchedCriterion,
    x: np.ndarray,
    value: np.ndarray,
    step: np.ndarray,
    slope: np.ndarray,
    ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Backtracking (Armijo) along each step; returns new x, values, success, evaluations."""
    new_x, new_value = x.copy(), value.copy()
    success = np.zeros(len(x), dtype=bool)
    pending = np.arange(len(x))
    alpha = 1.0
    evaluations = 0
    for _ in range(MAX_HALVINGS + 1):
        if not pending.size:
            break
        trial = x[pending] + alpha * step[pending]
        values = function(trial, ids[pending])
        evaluations += len(pending)
        # Round-off allowance: near the optimum f changes by less than its last digits.
        slack = 1e-4 * alpha * slope[pending] + 1e-13 * np.abs(value[pending])
        good = np.isfinite(values) & (values <= value[pending] + slack)
        new_x[pending[good]] = trial[good]
        new_value[pending[good]] = values[good]
        success[pending[good]] = True
        pending = pending[~good]
        alpha /= 2
    return new_x, new_value, success, evaluations


def batched_newton(
    function: BatchedCriterion,
    x0: np.ndarray,
    lower: np.ndarray,
    ids: np.ndarray | None = None,
) -> NewtonResult:
    """Minimise ``m`` criteria from ``x0`` (``(m, n)``) subject to ``x >= lower``.

    Parameters
    ----------
    function : callable
        ``function(points, ids)``: the criterion of replicate ``ids[i]`` at
        ``points[i]`` (scaled coordinates) for every row, as an ``(N,)`` array.
    x0 : ndarray, shape (m, n)
        Starts (the fitted theta, scaled, in the bootstrap).
    lower : ndarray, shape (n,)
        Lower bounds in ``x``.
    ids : ndarray, optional
        The replicate number of each row of ``x0`` passed to ``function``
        (default ``0 .. m-1``).

    Returns
    -------
    NewtonResult
    """
    x = np.array(x0, dtype=float)
    m, n = x.shape
    ids = np.arange(m) if ids is None else np.asarray(ids)
    offsets = _stencil(n, DIFFERENCE_STEP)
    out = NewtonResult(x, np.full(m, np.nan), np.zeros(m, dtype=bool), np.full(m, np.nan),
                       np.zeros(m, dtype=int), 0)
    running = np.arange(m)
    bounded_steps = np.zeros(m, dtype=int)
    for _ in range(MAX_ITERATIONS):
        if not running.size:
            break
        points = (x[running, None, :] + offsets[None]).reshape(-1, n)
        values = function(points, np.repeat(ids[running], len(offsets)))
        out.evaluations += len(points)
        values = values.reshape(len(running), len(offsets))
        out.objective[running] = values[:, 0]
        out.iterations[running] += 1
        gradient, hessian = _derivatives(values, n, DIFFERENCE_STEP)
        step, out.decrement[running], definite = _newton_steps(gradient, hessian)
        done, finite = _passed(values, step, definite, out.decrement[running])
        # The last step is below STEP_TOLERANCE: take it, within the bounds.
        x[running[done]] = np.maximum(x[running[done]] + step[done], lower)
        out.converged[running[done]] = True
        moving = _moving(finite & ~done, bounded_steps, running, x, step, lower)
        index = running[moving]
        slope = np.einsum("mi,mi->m", gradient[moving], step[moving])
        new_x, new_value, success, count = _line_search(
            function, x[index], out.objective[index], step[moving], slope, ids[index]
        )
        out.evaluations += count
        x[index], out.objective[index] = new_x, new_value
        # Everything else (not finite, heading for a bound, a failed line
        # search) is handed back unconverged.
        running = index[success]
    return out


def _moving(
    moving: np.ndarray,
    bounded_steps: np.ndarray,
    running: np.ndarray,
    x: np.ndarray,
    step: np.ndarray,
    lower: np.ndarray,
) -> np.ndarray:
    """The replicates that step on: steps crossing a bound are shortened
    (:func:`_feasible`, counted in ``bounded_steps``), and a replicate that keeps
    heading for a bound stops, since its optimum is most likely there (a singular
    fit: the checked fit handles bounds)."""
    bounded_steps[running[moving & _feasible(x[running], step, lower)]] += 1
    return moving & (bounded_steps[running] <= MAX_BOUNDED_STEPS)


def _passed(
    values: np.ndarray, step: np.ndarray, definite: np.ndarray, decrement: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Replicates that pass the convergence test (see the module notes), and the finite ones."""
    finite = np.isfinite(values).all(axis=1) & np.isfinite(step).all(axis=1)
    tolerance = DECREMENT_FACTOR * np.array([criterion_tolerance(value) for value in values[:, 0]])
    done = finite & definite & (decrement <= tolerance)
    done &= np.abs(step).max(axis=1, initial=0.0) <= STEP_TOLERANCE
    return done, finite
