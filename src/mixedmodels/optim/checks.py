"""Convergence checks of the profiled criterion at the optimiser's stopping point.

Three checks, as lme4's ``checkConv`` but on a scale a user can read (the
predicted improvement of ``-2 log L``):

* **gradient** (``check.conv.grad``): on the *free* directions (theta entries
  not on a bound) the gradient ``g`` and Hessian ``H`` of the criterion give
  the Newton decrement ``g' H^{-1} g / 2``, the decrease one Newton step would
  bring. It fails above ``tol``. The largest scaled gradient component
  ``|L^{-1} g|`` (``H = L L'``, lme4's ``scgrad``) is reported with it.
* **hessian** (``check.conv.hess``): ``H`` on the free directions has no clearly
  negative eigenvalue (a saddle point).
* **boundary**: for each entry on its bound, stepping off the bound does not
  lower the criterion. When a diagonal entry ``T_jj`` of a block's factor is
  zero, negating column ``j`` of ``T`` leaves ``T T'`` (so the criterion)
  unchanged but flips the sign of the derivative across the bound; both
  signs are tried. Optimisers stop at such a point because moving off the
  bound goes uphill on their side of the mirror, not on the other.

Cost: the gradient and Hessian are first taken from a least-squares quadratic
through the optimiser's own evaluations near the optimum (BOBYQA's last trust
regions; no extra evaluation). When that model is missing, not positive
definite, or a check fails on it, the gradient is recomputed by forward
differences (one evaluation per free entry) and, if the model's Hessian is
unusable, the Hessian by central differences
(:func:`mixedmodels.optim.hessian.hessian`) before the checks decide. No
check refits the model.

Notation
--------
==========  ================================================================
symbol      meaning
==========  ================================================================
``x``       theta times its internal scale (the optimiser's coordinates)
``f``       the criterion (``-2 log L``, REML or ML) as a function of ``x``
``F``       the free coordinates (not on a bound)
``g, H``    gradient and Hessian of ``f`` on ``F``
``tol``     ``1e-7 max(1, |f|)``: a tenth of the accuracy target (1e-6
            relative in the log-likelihood)
==========  ================================================================
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.linalg import lapack

from ..design.terms import RandomEffectsBlock
from .hessian import hessian
from .optsummary import Check

__all__ = [
    "BOUND_GAP",
    "LazyThetaLabels",
    "boundary_trials",
    "central_hessian",
    "column_partners",
    "criterion_tolerance",
    "derivative_checks",
    "forward_gradient",
    "is_positive_definite",
    "parabola",
    "quadratic_model",
    "theta_labels",
]

#: An entry within this of its bound (in ``x``) counts as on the bound.
BOUND_GAP = 1e-6
#: Step off a bound for the boundary trials (in ``x``).
BOUNDARY_STEP = 1e-3
#: Central-difference step for the Hessian (in ``x``).
DIFFERENCE_STEP = 1e-4
#: Forward-difference step for the gradient (in ``x``).
GRADIENT_STEP = 1e-5
#: The quadratic model uses no point farther than this times the distance of the
#: ``n_coef + 2``-th nearest (its smallest determined set).
LOCAL_RADIUS = 4.0
#: Negative eigenvalues of ``H`` smaller than this times its largest are noise.
CURVATURE_TOLERANCE = 1e-3


def criterion_tolerance(value: float) -> float:
    """Largest ignorable decrease of the criterion ``f`` (see the notation table)."""
    return 1e-7 * max(1.0, abs(value)) if math.isfinite(value) else 1e-7


def theta_labels(blocks: Sequence[RandomEffectsBlock], n_theta: int) -> list[str]:
    """lme4's names of the theta entries: ``group.column`` and ``group.row.column``."""
    labels = [f"theta[{index}]" for index in range(n_theta)]
    # Plain lists: this runs on every fit, and the patterns are tiny.
    for block in blocks:
        names = block.column_names
        group = block.factor.name
        for row, pattern_row in enumerate(block.theta_index.tolist()):
            for col, index in enumerate(pattern_row):
                if index >= 0:
                    labels[index] = (
                        f"{group}.{names[row]}"
                        if row == col
                        else f"{group}.{names[row]}.{names[col]}"
                    )
    return labels


class LazyThetaLabels(Sequence[str]):
    """:func:`theta_labels`, built on first use: a passing fit never reads them."""

    def __init__(self, blocks: Sequence[RandomEffectsBlock], n_theta: int) -> None:
        self._blocks = blocks
        self._n_theta = n_theta
        self._labels: list[str] | None = None

    def _built(self) -> list[str]:
        if self._labels is None:
            self._labels = theta_labels(self._blocks, self._n_theta)
        return self._labels

    def __getitem__(self, index):  # type: ignore[override]
        return self._built()[index]

    def __len__(self) -> int:
        return self._n_theta


def column_partners(blocks: Sequence[RandomEffectsBlock]) -> dict[int, np.ndarray]:
    """For each diagonal theta entry ``T_jj``, the entries below it and in the next column.

    Returns ``{j: array of shape (2, m)}``: row 0 holds the theta indices of
    ``T_ij`` and row 1 those of ``T_i,j+1`` for the rows ``i > j`` (``-1`` where
    ``T`` has a structural zero or ``j`` is the last column). Columns whose
    entries are shared with another position (statsmodels' tied variance
    components) are left out: moving them must not move anything else.
    """
    counts: dict[int, int] = {}
    for block in blocks:
        for index in block.theta_index[block.theta_index >= 0]:
            counts[int(index)] = counts.get(int(index), 0) + 1
    partners: dict[int, np.ndarray] = {}
    for block in blocks:
        pattern = block.theta_index
        size = pattern.shape[0]
        for column in range(size):
            diagonal = int(pattern[column, column])
            below = pattern[column + 1 :, column]
            if diagonal < 0 or not np.any(below >= 0):
                continue
            following = (
                pattern[column + 1 :, column + 1] if column + 1 < size else -np.ones_like(below)
            )
            pair = np.vstack([below, following]).astype(np.int64)
            if all(counts[int(index)] == 1 for index in (diagonal, *pair[pair >= 0])):
                partners[diagonal] = pair
    return partners


def _equivalent_points(x: np.ndarray, pair: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Points with the same ``T T'`` as ``x`` when ``T_jj = 0`` (``pair`` as in
    :func:`column_partners`): column ``j`` negated, and columns ``j, j+1``
    rotated so row ``j+1`` lies in column ``j`` (with either sign).

    With ``T_jj = 0`` the derivative across the bound is ``2 sum_i T_ij
    dD/dSigma_ij``: the mirror flips its sign, the rotation makes it largest.
    """
    below, following = pair
    has_below = below >= 0
    points = []
    mirrored = x.copy()
    mirrored[below[has_below]] = -x[below[has_below]]
    points.append(("mirrored step", mirrored))
    if np.all(has_below) and np.all(following >= 0):
        u, v = x[below], x[following]
        radius = math.hypot(u[0], v[0])
        if radius > 0 and v[0] != 0:
            cos, sin = u[0] / radius, v[0] / radius
            for sign, kind in ((1.0, "rotated step"), (-1.0, "rotated mirrored step")):
                rotated = x.copy()
                rotated[below] = sign * (cos * u + sin * v)
                rotated[following] = -sin * u + cos * v
                rotated[following[0]] = 0.0
                points.append((kind, rotated))
    return points


@functools.cache
def _quadratic_terms(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.triu_indices(n)
    return rows, cols, np.where(rows == cols, 0.5, 1.0)


def quadratic_model(
    points: np.ndarray, values: np.ndarray, center: np.ndarray, center_value: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Gradient and Hessian at ``center`` of a least-squares quadratic through evaluations.

    Uses the ``2 (m + 1)`` evaluated points nearest ``center`` (the
    optimiser's last trust regions), ``m = n + n (n + 1) / 2`` coefficients,
    less those farther than :data:`LOCAL_RADIUS` times the ``(m + 2)``-th
    nearest (the optimiser's first, wide steps).
    ``None`` when there are too few finite points or they do not determine a
    quadratic (a tiny pivot of the normal equations, whose columns are scaled
    to the unit ball). Written with few array calls: it runs after every fit.
    """
    n = center.size
    if n == 1:
        return parabola(points[:, 0].tolist(), values.tolist(), float(center[0]), center_value)
    n_coef = n + n * (n + 1) // 2
    if not math.isfinite(values.sum()):
        keep = np.isfinite(values)
        points, values = points[keep], values[keep]
    # Array methods and take() rather than numpy's functions and fancy indexing:
    # their dispatch costs more than the arithmetic on these few points.
    offsets = points - center
    squared = np.einsum("ij,ij->i", offsets, offsets)
    order = squared.argsort()
    sorted_squared = squared.take(order).tolist()
    first = sum(1 for value in sorted_squared if value == 0.0)  # the center itself
    near_squared = sorted_squared[first : first + 2 * (n_coef + 1)]
    if len(near_squared) < n_coef + 2:
        return None
    # Points much farther out than the nearest n_coef + 2 (the optimiser's first,
    # wide steps) would set the model's scale where the criterion is no longer
    # quadratic (Penicillin: three points at 0.05 among points within 0.0012 gave a
    # cross term of 42 instead of -0.6, a false saddle, and a finite-difference pass).
    bound = LOCAL_RADIUS**2 * near_squared[n_coef + 1]
    n_near = sum(1 for value in near_squared if value <= bound)
    nearest = order[first : first + n_near]
    radius = math.sqrt(near_squared[n_near - 1])
    rows, cols, weights = _quadratic_terms(n)
    # [u, (u_i u_j w_ij)] with u the offsets on the unit ball, filled in place.
    design = np.empty((n_near, n_coef))
    unit = np.divide(offsets.take(nearest, axis=0), radius, out=design[:, :n])
    np.multiply(unit.take(rows, axis=1), unit.take(cols, axis=1), out=design[:, n:])
    design[:, n:] *= weights
    # LAPACK directly: numpy.linalg's cholesky and solve cost 10-40 us each in
    # call overhead on these tiny systems, more than the fit's check itself.
    factor, info = lapack.dpotrf(np.dot(design.T, design), lower=1)
    if info != 0:
        return None
    pivots = factor.diagonal().tolist()
    if not (all(map(math.isfinite, pivots)) and min(pivots) > 1e-5 * max(pivots)):
        return None
    rise = values.take(nearest) - center_value
    coef, info = lapack.dpotrs(factor, np.dot(design.T, rise), lower=1)
    if info != 0:
        return None
    curvature = np.empty((n, n))
    curvature[rows, cols] = curvature[cols, rows] = coef[n:] / (radius * radius)
    return coef[:n] / radius, curvature


def parabola(
    points: Sequence[float], values: Sequence[float], center: float, center_value: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`quadratic_model` in one dimension, in plain floats (most fits with one
    variance parameter take a few milliseconds, so array-call overhead matters)."""
    pairs = sorted(
        (abs(point - center), point - center, value - center_value)
        for point, value in zip(points, values, strict=True)
        if point != center and math.isfinite(value)
    )[:6]
    if len(pairs) < 4:
        return None
    radius = pairs[-1][0]
    # Normal equations of rise = g u + (h / 2) u^2, u = offset / radius.
    s11 = s12 = s22 = r1 = r2 = 0.0
    for _, offset, rise in pairs:
        u = offset / radius
        q = 0.5 * u * u
        s11, s12, s22 = s11 + u * u, s12 + u * q, s22 + q * q
        r1, r2 = r1 + u * rise, r2 + q * rise
    determinant = s11 * s22 - s12 * s12
    if not determinant > 1e-10 * max(s11 * s22, 1e-300):
        return None
    slope = (s22 * r1 - s12 * r2) / determinant
    curvature = (s11 * r2 - s12 * r1) / determinant
    return np.array([slope / radius]), np.array([[curvature / radius**2]])


def forward_gradient(
    function: Callable[[np.ndarray], float],
    x: np.ndarray,
    value: float,
    free: np.ndarray,
) -> np.ndarray:
    """Forward-difference gradient on the free coordinates (one evaluation each).

    Steps go up, so they stay feasible under lower bounds. With step ``h``
    the error is ``H h / 2`` plus ``2 eps |f| / h``; at ``h = 1e-5`` both are
    far below what moves the Newton decrement near its tolerance.
    """
    free_index = np.flatnonzero(free)
    gradient = np.empty(free_index.size)
    for position, index in enumerate(free_index):
        point = x.copy()
        point[index] += GRADIENT_STEP
        gradient[position] = (function(point) - value) / GRADIENT_STEP
    return gradient


def central_hessian(
    function: Callable[[np.ndarray], float],
    x: np.ndarray,
    free: np.ndarray,
    lower: np.ndarray,
) -> np.ndarray:
    """Central-difference Hessian on the free coordinates
    (:func:`mixedmodels.optim.hessian.hessian`); steps shrink near a bound so
    every point evaluated is feasible."""
    free_index = np.flatnonzero(free)
    room = (x - lower)[free_index] / 2.5
    steps = np.minimum(DIFFERENCE_STEP, np.where(np.isfinite(room), room, DIFFERENCE_STEP))

    def restricted(values: np.ndarray) -> float:
        point = x.copy()
        point[free_index] = values
        return function(point)

    return hessian(restricted, x[free_index], steps)


def is_positive_definite(curvature: np.ndarray) -> bool:
    """True when the symmetric part of ``curvature`` has only positive eigenvalues."""
    if curvature.size == 0:
        return True
    symmetric = (curvature + curvature.T) / 2.0
    return bool(np.linalg.eigvalsh(symmetric).min() > 0.0)


def derivative_checks(
    gradient: np.ndarray,
    curvature: np.ndarray,
    value: float,
    free_index: np.ndarray,
    labels: Sequence[str],
) -> list[Check]:
    """The Hessian and gradient checks on the free coordinates ``free_index`` (see the
    module notes; ``gradient`` and ``curvature`` restricted to them). The messages and
    terms are written only when read (:class:`Check`)."""
    if free_index.size == 0:
        return []
    tolerance = criterion_tolerance(value)
    if free_index.size == 1:
        # One free entry (most small models): the spectrum is the number itself.
        return _derivative_checks_1d(
            float(gradient[0]), float(curvature[0, 0]), tolerance, labels, int(free_index[0])
        )
    eigenvalues, vectors, info = lapack.dsyevd(curvature, compute_v=1, lower=1)
    if info != 0:
        eigenvalues, vectors = np.linalg.eigh(curvature)  # raises a clear LinAlgError
    spectrum = eigenvalues.tolist()  # plain floats from here: a few numbers only
    largest = max(abs(spectrum[0]), abs(spectrum[-1]), 1.0)
    relative_min = spectrum[0] / largest
    if relative_min < -CURVATURE_TOLERANCE:
        n_negative = sum(1 for value in spectrum if value < -CURVATURE_TOLERANCE * largest)
        worst = labels[int(free_index[int(np.argmax(np.abs(vectors[:, 0])))])]
        hessian_check = _curvature_check(relative_min, n_negative, worst)
    else:
        hessian_check = _curvature_check(relative_min, 0, None)
    # Newton decrement on the positive part of the spectrum: a flat direction
    # (a redundant parameter at a singular fit) predicts nothing.
    cut = CURVATURE_TOLERANCE * largest
    scaled = [
        projection / math.sqrt(value)
        for projection, value in zip(np.dot(gradient, vectors).tolist(), spectrum, strict=True)
        if value > cut
    ]
    decrement = 0.5 * sum(value * value for value in scaled)

    def worst_label() -> str:
        return labels[int(free_index[int(np.argmax(np.abs(gradient)))])]

    def gradient_message() -> str:
        max_scaled = max(map(abs, scaled), default=0.0)
        return _gradient_message(max_scaled, decrement, tolerance, worst_label())

    passed = decrement <= tolerance
    gradient_check = Check("gradient", passed, decrement, tolerance, gradient_message, worst_label)
    return [hessian_check, gradient_check]


def _curvature_check(relative_min: float, n_negative: int, worst: str | None) -> Check:
    """The Hessian check: passed unless ``n_negative`` eigenvalues are negative."""
    if not n_negative:
        return Check("hessian", True, relative_min, -CURVATURE_TOLERANCE, "no negative curvature")
    message = (
        f"degenerate Hessian with {n_negative} negative eigenvalue(s) "
        f"(smallest/largest {relative_min:.3g}), mostly along {worst}"
    )
    return Check("hessian", False, relative_min, -CURVATURE_TOLERANCE, message, worst)


def _gradient_message(max_scaled: float, decrement: float, tolerance: float, worst: str) -> str:
    """The gradient check's message (built only when it is read)."""
    return (
        f"max|scaled gradient| = {max_scaled:.3g}, predicted decrease of -2 log L "
        f"{decrement:.3g} (tol = {tolerance:.3g}), largest gradient at {worst}"
    )


def _derivative_checks_1d(
    gradient: float, curvature: float, tolerance: float, labels: Sequence[str], index: int
) -> list[Check]:
    """:func:`derivative_checks` with one free entry ``index``, in plain floats: the
    same tests and numbers (the spectrum is ``curvature`` itself, its vector 1)."""
    largest = max(abs(curvature), 1.0)
    relative_min = curvature / largest
    if relative_min < -CURVATURE_TOLERANCE:
        hessian_check = _curvature_check(relative_min, 1, labels[index])
    else:
        hessian_check = _curvature_check(relative_min, 0, None)
    scaled = gradient / math.sqrt(curvature) if curvature > CURVATURE_TOLERANCE * largest else 0.0
    decrement = 0.5 * (scaled * scaled)
    max_scaled = abs(scaled)

    def gradient_message() -> str:
        return _gradient_message(max_scaled, decrement, tolerance, labels[index])

    passed = decrement <= tolerance
    gradient_check = Check(
        "gradient", passed, decrement, tolerance, gradient_message, lambda: labels[index]
    )
    return [hessian_check, gradient_check]


def boundary_trials(
    x: np.ndarray,
    lower: np.ndarray,
    on_bound: np.ndarray,
    partners: dict[int, np.ndarray],
) -> list[tuple[int, str, np.ndarray]]:
    """Points one step off each bound in ``on_bound`` (indices), with the mirrored
    and rotated equivalents where ``T_jj = 0``.

    Returns ``(index, kind, point)`` triples, ``kind`` being ``"step"``,
    ``"mirrored step"``, ``"rotated step"`` or ``"rotated mirrored step"``.
    """
    trials = []
    for index in on_bound:
        point = x.copy()
        point[index] = lower[index] + BOUNDARY_STEP
        trials.append((int(index), "step", point))
        pair = partners.get(int(index))
        if pair is not None and np.any(x[pair[pair >= 0]] != 0.0):
            for kind, equivalent in _equivalent_points(x, pair):
                equivalent[index] = lower[index] + BOUNDARY_STEP
                trials.append((int(index), kind, equivalent))
    return trials


def boundary_check(
    decreases: Sequence[tuple[int, str, float]], value: float, labels: Sequence[str]
) -> Check | None:
    """The boundary check from the trials' decreases ``f(x) - f(trial)``."""
    if not decreases:
        return None
    tolerance = criterion_tolerance(value)
    index, kind, decrease = max(decreases, key=lambda item: item[2])
    if decrease > tolerance:
        return Check(
            "boundary",
            False,
            decrease,
            tolerance,
            f"a {kind} off the bound of {labels[index]} lowers -2 log L by {decrease:.3g}",
            labels[index],
        )
    n_bounds = len({item[0] for item in decreases})
    return Check(
        "boundary",
        True,
        decrease,
        tolerance,
        lambda: f"no step off {n_bounds} bound(s) lowers -2 log L",
    )
