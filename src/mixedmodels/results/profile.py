"""Profile-likelihood confidence intervals (lme4's ``confint(method="profile")``).

lme4's ``profile.merMod`` refits the model by maximum likelihood (``devfun2``
calls ``refitML``, so REML fits are profiled on the ML deviance too) and, for
each parameter ``p``, computes the signed square root of the likelihood-ratio
statistic

.. math::

    \\zeta(p) = \\operatorname{sign}(p - \\hat p) \\sqrt{D(p) - \\hat D},

where ``D(p)`` is the ML deviance minimised over all other parameters with
``p`` held fixed. The interval ends are the roots of ``zeta(p) = -+ z`` with
``z = qnorm((1 + level) / 2)``. lme4 interpolates a spline through a grid of
``zeta`` values; here the roots are found on ``zeta`` itself (Brent's method),
which is at least as accurate.

Notation
--------
==============  ============================================================
symbol          meaning
==============  ============================================================
``theta``       relative covariance parameters (entries of each block's ``T``)
``sigma``       residual standard deviation
``v``           lme4's ``oldNames=FALSE`` parameters, one per theta entry
                (``sd_*`` on the diagonal, ``cor_*`` below it) then ``sigma``
``Sigma_b``     a block's covariance, ``sigma^2 T T'``
``D(theta,s)``  ML deviance with ``sigma = s`` fixed
                (:mod:`mixedmodels.objective.criterion`)
``D(p)``        ``D`` minimised over the other parameters with ``p`` fixed
``hat D``       ML deviance at the ML estimates
``V``           ``(L_X L_X')^{-1}``, unscaled covariance of ``beta``
``zeta(p)``     signed root deviance, as above
==============  ============================================================

Variance parameters are profiled on lme4's scale (``sd``, ``cor``,
``sigma``): ``D(p)`` for ``p = v_j`` is the minimum of ``D(theta(v), sigma)``
over the other entries of ``v``. Fixed effect ``beta_j`` is profiled with
``beta_j = b`` fixed and the other ``beta`` and ``sigma`` profiled out
analytically: ``pwrss(theta) + (b - hat beta_j(theta))^2 / V_jj(theta)`` is the
penalised residual sum of squares of that constrained problem, so only
``theta`` is optimised numerically (lme4 moves ``X_j b`` into the offset and
refits, which is the same minimum).

Each profile point is :func:`mixedmodels.optim.profile.profile_minimum`, the
step shared with statsmodels' ``profile_re``, on an ML copy of the fit's state
(:meth:`~mixedmodels.results.lmer.LmerResults.criterion_state`): the results
and the model are never evaluated elsewhere. A parameter's points are kept in a
:class:`ProfileTrace`: each is warm-started from its evaluated neighbour towards the
estimate and never minimised twice, so the outward march, the root search and
lme4's grid (:mod:`mixedmodels.results.profile_grid`) see one function. A limit
the profile does not reach before the parameter's bound is the bound, as lme4
reports it (0 for an sd, -+1 for a correlation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg
from threadpoolctl import threadpool_limits

from ..optim.optimizer import minimize_theta
from ..optim.profile import profile_minimum
from ..progress import progress

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["ProfileTrace", "profile_intervals"]


class _Profiler:
    """ML deviance of a fitted model in lme4's ``sd``/``cor``/``sigma`` parameters."""

    def __init__(self, results: LmerResults) -> None:
        model = results.model
        self.model = model
        # A private ML copy of the fit's state: profiles are always ML (lme4 refits
        # REML fits with refitML), and the fit's own state stays untouched.
        self.state = results.criterion_state(reml=False)
        self.n_obs = model.n_obs
        self.n_theta = model.n_theta
        # (block, row, col) of each theta entry; lme4 names follow theta order.
        self.position: list[tuple[int, int, int]] = [(-1, -1, -1)] * model.n_theta
        for b, block in enumerate(model.blocks):
            rows, cols = np.nonzero(block.theta_index >= 0)
            for row, col in zip(rows, cols, strict=True):
                self.position[int(block.theta_index[row, col])] = (b, int(row), int(col))
        self.is_sd = np.array([row == col for _, row, col in self.position])
        self.layout = self._block_layout()
        fit = minimize_theta(
            self.state.evaluate, results.theta, model.lower_bounds, model.theta_scale
        )
        self.theta_hat = fit.theta
        self.deviance_hat = self.state.evaluate(fit.theta)
        self.sigma_hat = math.sqrt(self.state.sigma2())
        self.beta_hat = self.state.beta()
        self.cov_unscaled = self.state.fixed_covariance_unscaled()
        self.v_hat = self.to_v(self.theta_hat, self.sigma_hat)

    # ------------------------------------------------------------------ parameters
    def names(self) -> list[str]:
        """lme4's ``oldNames=FALSE`` names of the variance parameters, then ``sigma``."""
        out = []
        for b, row, col in self.position:
            block = self.model.blocks[b]
            group = self.model.term_infos[0].group_name
            for info in self.model.term_infos:
                if info.block == b and row in info.columns:
                    group = info.group_name
            names = block.column_names
            if row == col:
                out.append(f"sd_{names[row]}|{group}")
            else:
                out.append(f"cor_{names[row]}.{names[col]}|{group}")
        return [*out, "sigma"]

    def to_v(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """``(theta, sigma)`` to ``v = (sd, cor, ..., sigma)``."""
        v = np.empty(self.n_theta + 1)
        factors = [block.lambda_factor(theta) for block in self.model.blocks]
        relative = [factor @ factor.T for factor in factors]
        for index, (b, row, col) in enumerate(self.position):
            cov = relative[b]
            if row == col:
                v[index] = sigma * math.sqrt(cov[row, row])
            else:
                denominator = math.sqrt(cov[row, row] * cov[col, col])
                v[index] = cov[row, col] / denominator if denominator > 0 else 0.0
        v[-1] = sigma
        return v

    def _block_layout(self) -> list[tuple]:
        """Per block, where ``v``'s sd and cor entries go (set up once, not per point)."""
        layout = []
        for block in self.model.blocks:
            mask = block.theta_index >= 0
            entries = [
                (index, *self.position[index][1:]) for index in np.unique(block.theta_index[mask])
            ]
            sds = np.array([(i, r) for i, r, c in entries if r == c], dtype=int).reshape(-1, 2)
            cors = np.array([(i, r, c) for i, r, c in entries if r != c], dtype=int).reshape(-1, 3)
            layout.append((block.theta_index.shape[0], mask, block.theta_index[mask], sds, cors))
        return layout

    def to_theta(self, v: np.ndarray) -> np.ndarray:
        """``v`` to ``theta``: the lower Cholesky factor of ``Sigma_b / sigma^2`` per block."""
        sigma = v[-1]
        theta = np.zeros(self.n_theta)
        for size, mask, targets, sds, cors in self.layout:
            sd = np.zeros(size)
            sd[sds[:, 1]] = v[sds[:, 0]] / sigma
            cor = np.eye(size)
            cor[cors[:, 1], cors[:, 2]] = cor[cors[:, 2], cors[:, 1]] = v[cors[:, 0]]
            factor = _cholesky_semidefinite(sd[:, None] * cor * sd[None, :])
            theta[targets] = factor[mask]
        return theta

    # ------------------------------------------------------------------ deviances
    def deviance_v(self, v: np.ndarray) -> float:
        """``D(theta(v), sigma)`` with ``sigma`` not profiled out."""
        if not v[-1] > 0:
            return math.inf
        return self.state.evaluate(self.to_theta(v), sigma=v[-1])

    def deviance_beta(self, index: int, value: float, theta: np.ndarray) -> float:
        """ML deviance at ``theta`` with ``beta_index = value`` and ``sigma`` profiled."""
        if np.any(theta < self.model.lower_bounds):
            return math.inf
        state = self.state
        state.evaluate(theta)
        # beta_j = w' c_X and V_jj = w' w with L_X w = e_j: one k x k solve per point.
        unit = np.zeros(len(state.c_X))
        unit[index] = 1.0
        w = scipy.linalg.solve_triangular(state.L_X, unit, lower=True, check_finite=False)
        beta = w @ state.c_X
        return state.objective(pwrss=state.pwrss + (value - beta) ** 2 / (w @ w))

    # ------------------------------------------------------------------ profiles
    def v_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower = np.where(self.is_sd, 0.0, -1.0)
        upper = np.where(self.is_sd, np.inf, 1.0)
        return np.append(lower, 1e-12 * self.sigma_hat), np.append(upper, np.inf)

    def zeta_v(self, index: int, points: dict | None = None) -> ProfileTrace:
        """``zeta`` of variance parameter ``v_index`` (a :class:`ProfileTrace` over ``points``)."""
        lower, upper = self.v_bounds()
        # Scale sd's and sigma by sigma_hat so BOBYQA sees coordinates of order one.
        scale = 1.0 / np.where(np.append(self.is_sd, True), self.sigma_hat, 1.0)

        def minimum(value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
            fit = profile_minimum(
                self.deviance_v, start, lower, upper, scale, fixed=index, value=value
            )
            return fit.objective, fit.theta

        estimate = float(self.v_hat[index])
        return ProfileTrace(minimum, estimate, self.v_hat, self.deviance_hat, points)

    def zeta_beta(self, index: int, points: dict | None = None) -> ProfileTrace:
        """``zeta`` of fixed effect ``beta_index`` (a :class:`ProfileTrace` over ``points``)."""

        def minimum(value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
            fit = profile_minimum(
                lambda theta: self.deviance_beta(index, value, theta),
                start,
                self.model.lower_bounds,
                scale=self.model.theta_scale,
            )
            return self.deviance_beta(index, value, fit.theta), fit.theta

        estimate = float(self.beta_hat[index])
        return ProfileTrace(minimum, estimate, self.theta_hat, self.deviance_hat, points)


class ProfileTrace:
    """``zeta(p)`` of one parameter, remembering every point it has evaluated.

    Each new point is warm-started from the evaluated point nearest to it on the
    way from the estimate (the previous point of an outward march, or the
    inner end of a root bracket), and a value asked for twice is not minimised
    again. Every walk over ``p`` (the outward march, Brent's root search, the
    grid) therefore sees one consistent function: a bracket found by the march
    keeps its signs in the root search (a warm start from a degenerate point at
    a bound, e.g. ``cor = -1`` with an sd at 0, could otherwise give another
    local minimum and the other sign).

    ``points`` maps ``p`` to ``(zeta, minimiser)``; pass a dict to share it.
    """

    def __init__(
        self,
        minimum: Callable[[float, np.ndarray], tuple[float, np.ndarray]],
        estimate: float,
        start: np.ndarray,
        deviance_hat: float,
        points: dict | None = None,
    ) -> None:
        self.minimum = minimum
        self.estimate = estimate
        self.deviance_hat = deviance_hat
        self.points = {} if points is None else points
        self.points.setdefault(estimate, (0.0, np.asarray(start, dtype=float)))

    def __call__(self, value: float) -> float:
        value = float(value)
        known = self.points.get(value)
        if known is not None:
            return known[0]
        offset = value - self.estimate
        inner = [
            p
            for p in self.points
            if (p - self.estimate) * offset >= 0 and abs(p - self.estimate) <= abs(offset)
        ]
        start = self.points[max(inner, key=lambda p: abs(p - self.estimate))][1]
        deviance, minimiser = self.minimum(value, start)
        zeta = _signed_root(offset, deviance - self.deviance_hat)
        self.points[value] = (zeta, minimiser)
        return zeta


def _cholesky_semidefinite(matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor that tolerates zero pivots (an sd profiled to 0, cor = -+1)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        pass
    size = matrix.shape[0]
    factor = np.zeros_like(matrix)
    for j in range(size):
        pivot = matrix[j, j] - factor[j, :j] @ factor[j, :j]
        factor[j, j] = math.sqrt(max(pivot, 0.0))
        for i in range(j + 1, size):
            if factor[j, j] > 0:
                factor[i, j] = (matrix[i, j] - factor[i, :j] @ factor[j, :j]) / factor[j, j]
    return factor


def _signed_root(direction: float, excess: float) -> float:
    # Round-off can leave the constrained minimum a hair below hat D.
    return math.copysign(math.sqrt(max(excess, 0.0)), direction)


def _limit(
    zeta: Callable[[float], float],
    estimate: float,
    step: float,
    target: float,
    bound: float,
) -> float:
    """Root of ``zeta(p) = target`` beyond ``estimate`` (direction = sign of ``target``).

    Steps outward from the estimate, doubling, until ``|zeta|`` passes
    ``|target|``, then finds the root in the last step (Brent's method). When
    the profile does not reach ``|target|`` by the parameter's ``bound`` the
    limit is the bound, as lme4 reports it (0 for an sd, -+1 for a
    correlation). ``zeta`` is a :class:`ProfileTrace`: the root search re-uses the
    march's values at the bracket ends, so the bracket keeps its signs.
    """
    # Imported here: profile_grid, which shares this module, never needs it
    # (scipy.optimize takes 0.5-1.5 s to import on a loaded machine).
    from scipy.optimize import brentq

    direction = math.copysign(1.0, target)
    inside = estimate
    for _ in range(60):
        value = inside + direction * step
        if direction * (value - bound) >= 0:
            value = bound
        if direction * (zeta(value) - target) >= 0:
            break
        if value == bound:
            return bound if math.isfinite(bound) else math.nan
        inside, step = value, 2 * step
    else:
        return math.nan  # 60 doublings without reaching the level: a flat profile
    return float(brentq(lambda p: zeta(p) - target, inside, value, xtol=1e-10, rtol=1e-10))


def profile_intervals(results: LmerResults, level: float = 0.95) -> pd.DataFrame:
    """Profile-likelihood intervals for the variance parameters and fixed effects.

    Parameters
    ----------
    results : LmerResults
        A fitted linear mixed model (ML or REML; profiled on the ML deviance as lme4).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    DataFrame
        Indexed by lme4's ``oldNames=FALSE`` names (``sd_*``, ``cor_*``,
        ``sigma``, then the fixed effects), with columns ``"2.5 %"`` and
        ``"97.5 %"`` (for ``level=0.95``). A limit that the profile does not
        reach before the parameter's bound is the bound, as lme4 reports it
        (0 for an sd, -+1 for a correlation).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    quantile = NormalDist().inv_cdf((1 + level) / 2)
    # One BLAS thread, as the fit (small dense blocks; see LinearMixedModel.fit).
    with threadpool_limits(limits=results.model.blas_threads, user_api="blas"):
        profiler = _Profiler(results)
        rows = _variance_rows(profiler, quantile) + _fixed_rows(profiler, quantile)
    names = profiler.names() + list(results.model.fixed_names)
    lower_label = f"{100 * (1 - level) / 2:g} %"
    upper_label = f"{100 * (1 + level) / 2:g} %"
    table = np.array(rows)
    return pd.DataFrame({lower_label: table[:, 0], upper_label: table[:, 1]}, index=names)


def _variance_rows(profiler: _Profiler, quantile: float) -> list[tuple[float, float]]:
    """Interval ends of the ``sd``/``cor``/``sigma`` parameters."""
    rows = []
    # sigma's lower bound stays a hair above 0, where D is infinite.
    lower_bounds, upper_bounds = profiler.v_bounds()
    count = profiler.n_theta + 1
    for index in progress(range(count), total=count, desc="profile: variances"):
        estimate = float(profiler.v_hat[index])
        is_cor = index < profiler.n_theta and not profiler.is_sd[index]
        step = 0.2 if is_cor else 0.25 * max(estimate, 0.1 * profiler.sigma_hat)
        zeta = profiler.zeta_v(index)
        ends = []
        for target, bound in ((-quantile, lower_bounds[index]), (quantile, upper_bounds[index])):
            if estimate == bound:
                ends.append(bound)
                continue
            ends.append(_limit(zeta, estimate, min(step, abs(bound - estimate) / 2), target, bound))
        rows.append((ends[0], ends[1]))
    return rows


def _fixed_rows(profiler: _Profiler, quantile: float) -> list[tuple[float, float]]:
    """Interval ends of the fixed effects."""
    rows = []
    count = len(profiler.beta_hat)
    for index in progress(range(count), total=count, desc="profile: fixed effects"):
        estimate = float(profiler.beta_hat[index])
        error = profiler.sigma_hat * math.sqrt(profiler.cov_unscaled[index, index])
        zeta = profiler.zeta_beta(index)
        ends = []
        for target in (-quantile, quantile):
            bound = math.copysign(math.inf, target)
            # Two standard errors is just past the Wald limit: one or two steps bracket it.
            ends.append(_limit(zeta, estimate, 2.0 * error, target, bound))
        rows.append((ends[0], ends[1]))
    return rows
