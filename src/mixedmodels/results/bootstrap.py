"""Simulated responses and the parametric bootstrap (lme4's ``simulate``/``bootMer``).

:func:`simulate` draws responses from the fitted model, unconditionally on
the random effects (lme4's ``simulate(fit, use.u = FALSE)``):

.. math::

    y^* = X \\hat\\beta + Z \\hat\\Lambda u^* \\hat\\sigma
          + \\hat\\sigma W^{-1/2} e^* (+ \\text{offset}),
    \\qquad u^* \\sim N(0, I_q),\\; e^* \\sim N(0, I_n).

:func:`bootstrap` refits the model to each simulated response
(MixedModels.jl's ``parametricbootstrap``, lme4's ``bootMer``). The refit
uses the model already built: only the response's cross-products change
(:class:`~mixedmodels.results.refit.ResponseProducts`, one sparse product for
a batch of responses), and the optimiser starts at the fitted theta.

How a replicate is refitted, and how its convergence is checked:

* **One grouping factor** (sleepstudy's ``(Days | Subject)``): all replicates
  of a batch at once, by Newton steps from central differences
  (:func:`~mixedmodels.optim.newton.batched_newton`), each iteration one call
  of the batched criterion
  (:class:`~mixedmodels.objective.batched.BatchedSingleBlock`) at every
  replicate's stencil. A replicate stops only when the fit's gradient and
  Hessian checks (:mod:`mixedmodels.optim.checks`) pass at a thousandth of
  their tolerance, so its optimum is tighter than a fit's (theta to about
  1e-8 where BOBYQA's stop leaves 1e-5).
* **Handed back**: a replicate whose Newton steps keep running into a bound
  (its optimum is probably singular, where the boundary check, its mirrored
  steps and the search of other faces are needed), or whose line search
  fails, and every replicate of a model with several factors, goes through
  the fit's own checked optimisation
  (:func:`~mixedmodels.optim.driver.optimize_theta`: BOBYQA, every
  convergence check, restarts), then a tight BOBYQA polish with the entries
  on their bound held there.

Nothing is dropped silently: ``ParametricBootstrap.convergence`` keeps each
replicate's path, whether it passed the checks and the predicted decrease of
``-2 log L`` at its optimum (MixedModels.jl likewise keeps every replicate's
optimum), and a :class:`~mixedmodels.errors.ConvergenceWarning` names the
number that failed.

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``u*``       spherical random effects, one ``N(0, 1)`` per level and column
``T_b``      block ``b``'s relative covariance factor at the fitted theta
``m``        number of replicates; they are drawn and refitted in batches
===========  ===============================================================
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from ..errors import ArgumentError, ConvergenceWarning
from ..objective.batched import BatchedSingleBlock
from ..optim.driver import optimize_theta
from ..optim.newton import batched_newton
from ..optim.optimizer import minimize_bounded
from .refit import ResponseProducts

if TYPE_CHECKING:
    from ..model import LinearMixedModel
    from .lmer import LmerResults

__all__ = ["ParametricBootstrap", "bootstrap", "simulate"]

#: Responses drawn and refitted together (bounds the ``n x batch`` memory).
BATCH = 200


def _check_count(n: object, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def _draw(results: LmerResults, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` simulated responses, an ``n x count`` array."""
    model = results.model
    rows = model.rows
    if rows is None:
        from ..errors import DataError

        raise DataError("simulating needs the row data, which this model did not keep")
    sigma = results.sigma
    mean = rows.X @ results._beta
    if rows.offset is not None:
        mean = mean + rows.offset
    # Replicate by replicate from one stream, so that the first m replicates of a
    # run are the same whatever the batch size or the total.
    spherical = [np.empty((block.n_levels, block.n_columns, count)) for block in model.blocks]
    noise = np.empty((model.n_obs, count))
    for replicate in range(count):
        for block, draws in zip(model.blocks, spherical, strict=True):
            draws[:, :, replicate] = rng.standard_normal((block.n_levels, block.n_columns))
        noise[:, replicate] = rng.standard_normal(model.n_obs)
    responses = np.repeat(mean[:, None], count, axis=1)
    for block, draws in zip(model.blocks, spherical, strict=True):
        factor = block.lambda_factor(results.theta)
        effects = sigma * np.einsum("ab,lbm->lam", factor, draws)
        responses += np.einsum("ia,iam->im", block.z, effects[block.factor.codes])
    noise *= sigma
    if rows.weights is not None:
        noise /= np.sqrt(rows.weights)[:, None]
    return responses + noise


def simulate(results: LmerResults, n: int = 1, seed: object = None) -> pd.DataFrame:
    """Responses simulated from the fit: see :meth:`LmerResults.simulate`."""
    count = _check_count(n, "n")
    rng = np.random.default_rng(seed)
    draws = _draw(results, count, rng)
    design = results.model.design
    index = design.row_index if design is not None else None
    return pd.DataFrame(draws, index=index, columns=[f"sim_{i + 1}" for i in range(count)])


class _Components:
    """lme4's ``sd_*``/``cor_*`` names and values of the variance parameters."""

    def __init__(self, model: LinearMixedModel) -> None:
        self.model = model
        self.entries: list[tuple[int, int, int]] = []
        self.names: list[str] = []
        infos = sorted(
            model.term_infos,
            key=lambda info: info.theta_indices[0] if info.theta_indices else 10**9,
        )
        for info in infos:
            block = model.blocks[info.block]
            for index in info.theta_indices:
                row, col = (int(v[0]) for v in np.nonzero(block.theta_index == index))
                names = block.column_names
                if row == col:
                    self.names.append(f"sd_{names[row]}|{info.group_name}")
                else:
                    self.names.append(f"cor_{names[row]}.{names[col]}|{info.group_name}")
                self.entries.append((info.block, row, col))

    def values(self, theta: np.ndarray, sigma: float) -> list[float]:
        relative = [block.lambda_factor(theta) for block in self.model.blocks]
        relative = [factor @ factor.T for factor in relative]
        out = []
        for b, row, col in self.entries:
            cov = relative[b]
            if row == col:
                out.append(sigma * math.sqrt(max(cov[row, row], 0.0)))
            else:
                denominator = math.sqrt(cov[row, row] * cov[col, col])
                out.append(cov[row, col] / denominator if denominator > 0 else math.nan)
        return out


def order_statistic_quantiles(values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Bootstrap quantiles as the ``boot`` package's (``boot.ci``, so lme4's ``confint``).

    The ``p`` quantile of ``B`` finite values is the ``(B + 1) p``-th order
    statistic; between order statistics ``k`` and ``k + 1`` it is interpolated
    on the normal scale, ``t_k + (z_p - z_{k/(B+1)}) / (z_{(k+1)/(B+1)} -
    z_{k/(B+1)}) (t_{k+1} - t_k)``; outside ``[1, B]`` it is the extreme value
    (Davison and Hinkley 1997, eq. 5.8). With 200 replicates the 2.5% quantile
    is the 5.025-th order statistic, where linear interpolation (R's type 7,
    ``numpy.quantile``) takes the 5.975-th: intervals about one order statistic
    narrower in each tail.
    """
    ordered = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    count = len(ordered)
    if count == 0:
        return np.full(len(probabilities), np.nan)
    out = np.empty(len(probabilities))
    for index, probability in enumerate(probabilities):
        rank = (count + 1) * probability
        k = math.floor(rank)
        if k < 1:
            out[index] = ordered[0]
        elif k >= count:
            out[index] = ordered[-1]
        elif k == rank:
            out[index] = ordered[k - 1]
        else:
            low, high = stats.norm.ppf([k / (count + 1), (k + 1) / (count + 1)])
            weight = (stats.norm.ppf(probability) - low) / (high - low)
            out[index] = ordered[k - 1] + weight * (ordered[k] - ordered[k - 1])
    return out


class ParametricBootstrap:
    """Replicate estimates of a parametric bootstrap.

    Attributes
    ----------
    table : DataFrame
        One row per replicate: the fixed effects (lme4 names), the variance
        parameters (``sd_*``, ``cor_*``, ``sigma``), ``theta1 ...`` and ``logLik``.
    n : int
        Number of replicates.
    seed : object
        The seed given.
    parameters : list of str
        The columns :meth:`confint` reports, in lme4's order.
    convergence : DataFrame
        One row per replicate (as MixedModels.jl keeps each replicate's
        optimum): ``method`` (``"newton"``, the batched Newton refit of a
        one-factor model, or ``"bobyqa"``, the fit's checked optimisation),
        ``converged`` (passed the convergence checks) and ``decrement`` (the
        gradient check's predicted decrease of ``-2 log L`` at the optimum).
    standard_errors : DataFrame
        Each replicate's Wald standard errors of the fixed effects (as
        ``bse_fe`` of its fit), for the studentized intervals.
    estimate, standard_error : Series
        The fit's fixed effects and their standard errors.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        seed: object,
        parameters: list[str],
        convergence: pd.DataFrame | None = None,
        standard_errors: pd.DataFrame | None = None,
        estimate: pd.Series | None = None,
        standard_error: pd.Series | None = None,
    ) -> None:
        self.table = table
        self.convergence = convergence
        self.standard_errors = standard_errors
        self.estimate = estimate
        self.standard_error = standard_error
        self.n = len(table)
        self.seed = seed
        self.parameters = parameters

    def confint(
        self, level: float = 0.95, method: str = "percentile", quantile: str = "boot"
    ) -> pd.DataFrame:
        """Bootstrap confidence intervals.

        Parameters
        ----------
        level : float
        method : {"percentile", "studentized"}
            ``"percentile"``: the replicates' quantiles, every parameter (lme4's
            ``confint(method = "boot", boot.type = "perc")``). ``"studentized"``
            (bootstrap-t; Davison and Hinkley 1997, section 5.2.1): fixed effects only,
            ``[b - t_hi se, b - t_lo se]`` with ``t_lo, t_hi`` the quantiles of
            ``t* = (b* - b) / se*`` over the replicates (``se*`` each replicate's
            Wald standard error). It carries the variability of the standard
            error, which the percentile interval (a z-type interval) does not:
            with few groups it covers closer to the nominal level
            (``benchmarks/inference/README.md``).
        quantile : {"boot", "linear"}
            ``"boot"``: the ``boot`` package's order-statistic rule, which lme4's
            ``confint`` uses (:func:`order_statistic_quantiles`); ``"linear"``:
            linear interpolation (R's type 7, ``numpy.quantile``), slightly
            narrower with few replicates.
        """
        if quantile not in ("boot", "linear"):
            raise ArgumentError(f"quantile must be 'boot' or 'linear', got {quantile!r}")
        if not 0 < level < 1:
            raise ArgumentError(f"level must be between 0 and 1, got {level!r}")
        if method not in ("percentile", "studentized"):
            raise ArgumentError(f"method must be 'percentile' or 'studentized', got {method!r}")
        tail = (1 - level) / 2
        columns = [f"{100 * tail:g} %", f"{100 * (1 - tail):g} %"]
        if method == "studentized":
            if self.standard_errors is None:
                raise ArgumentError("this bootstrap kept no standard errors")
            names = list(self.standard_errors.columns)
            pivots = (self.table[names] - self.estimate[names]) / self.standard_errors[names]
            quantiles = self._quantiles(pivots, tail, quantile)
            lower = self.estimate[names] - quantiles[:, 1] * self.standard_error[names]
            upper = self.estimate[names] - quantiles[:, 0] * self.standard_error[names]
            return pd.DataFrame(dict(zip(columns, (lower, upper), strict=True)), index=names)
        quantiles = self._quantiles(self.table[self.parameters], tail, quantile)
        return pd.DataFrame(quantiles, index=self.parameters, columns=columns)

    @staticmethod
    def _quantiles(values: pd.DataFrame, tail: float, quantile: str) -> np.ndarray:
        """``tail`` and ``1 - tail`` quantiles of each column, shape ``(columns, 2)``."""
        if quantile == "linear":
            return values.quantile([tail, 1 - tail]).to_numpy().T
        probabilities = np.array([tail, 1 - tail])
        return np.array(
            [order_statistic_quantiles(values[name].to_numpy(), probabilities) for name in values]
        )

    def std(self) -> pd.Series:
        """Bootstrap standard deviations of the parameters."""
        return self.table[self.parameters].std(ddof=1)

    def __repr__(self) -> str:
        return f"<ParametricBootstrap n={self.n} parameters={len(self.parameters)}>"


def _fit_checked(
    model: LinearMixedModel, start: np.ndarray
) -> tuple[np.ndarray, float, bool, float]:
    """The fit's own checked optimisation (BOBYQA, convergence checks, restarts) of
    one replicate's model, from ``start``: the general path, and the one for a
    replicate that Newton handed back (see :func:`_run_batch`)."""
    result = optimize_theta(
        model.state.evaluate,
        start,
        model.lower_bounds,
        model.theta_scale,
        initial_step=model.initial_steps(),
        blocks=model.blocks,
    )
    gradient = [check.value for check in result.optsummary.checks if check.name == "gradient"]
    decrement = gradient[0] if gradient else math.nan
    theta = result.theta
    if result.converged:
        # To the precision of the Newton replicates (BOBYQA's own stop leaves theta
        # ~1e-5 relative from the optimum; near a bound, where these replicates
        # are, more): a tight run from the checked optimum, kept if no worse.
        # Entries the checked fit put on their bound stay there (its boundary
        # check passed): the criterion is flat at the noise level next to them.
        on_bound = theta <= model.lower_bounds
        polished = minimize_bounded(
            model.state.evaluate,
            theta,
            model.lower_bounds,
            np.where(on_bound, model.lower_bounds, np.inf),
            scale=model.theta_scale,
            xtol_abs=1e-10,
            ftol_abs=1e-14,
            initial_step=0.01,
        )
        if polished.objective <= result.objective:
            theta = polished.theta
    return theta, model.state.evaluate(theta), result.converged, decrement


class _Batch:
    """One batch's table rows, fixed-effect standard errors and convergence record."""

    def __init__(self, count: int, width: int, n_fixed: int) -> None:
        self.rows = np.empty((count, width))
        self.errors = np.empty((count, n_fixed))
        self.method = np.full(count, "bobyqa", dtype=object)
        self.converged = np.zeros(count, dtype=bool)
        self.decrement = np.full(count, np.nan)

    def record(self, index, components, beta, theta, sigma2, objective, variance) -> None:
        sigma = math.sqrt(sigma2)
        values = components.values(theta, sigma)
        self.rows[index] = [*beta, *values, sigma, *theta, -0.5 * objective]
        self.errors[index] = np.sqrt(sigma2 * np.asarray(variance))

    def status(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"method": self.method, "converged": self.converged, "decrement": self.decrement}
        )


def _newton_batch(results: LmerResults, products, components, responses, batch: _Batch):
    """Every replicate of a one-factor model at once; returns those handed back."""
    model = results.model
    count = responses.shape[1]
    z_y, x_y, y_y = products.products(responses)
    criterion = BatchedSingleBlock(model.blocks[0], model.cross, model.reml, z_y[0].T, x_y.T, y_y)
    scale = model.theta_scale
    start = np.tile(results.theta * scale, (count, 1))
    newton = batched_newton(
        lambda x, ids: criterion.evaluate(x / scale, ids), start, model.lower_bounds * scale
    )
    done = np.flatnonzero(newton.converged)
    theta = newton.x[done] / scale
    solution = criterion.solve(theta, done)
    for position, index in enumerate(done):
        batch.record(
            index,
            components,
            solution.beta[position],
            theta[position],
            solution.sigma2[position],
            solution.objective[position],
            solution.fixed_variance[position],
        )
    batch.method[done] = "newton"
    batch.converged[done] = True
    batch.decrement[done] = newton.decrement[done]
    return np.flatnonzero(~newton.converged)


def _run_batch(
    results: LmerResults,
    products: ResponseProducts,
    components: _Components,
    responses: np.ndarray,
) -> _Batch:
    """Refit every response of a batch.

    One grouping factor: all replicates at once by batched Newton
    (:func:`~mixedmodels.optim.newton.batched_newton` on
    :class:`~mixedmodels.objective.batched.BatchedSingleBlock`), from the fitted
    theta. A replicate it hands back (singular, or nearly) and every replicate
    of other models is refitted one by one by the fit's checked optimisation,
    also from the fitted theta.
    """
    model = results.model
    count = responses.shape[1]
    width = model.n_fixed + len(components.names) + 1 + model.n_theta + 1
    batch = _Batch(count, width, model.n_fixed)
    others = np.arange(count)
    if len(model.blocks) == 1:
        others = _newton_batch(results, products, components, responses, batch)
    if others.size:
        for index, refit_model in zip(others, products.models(responses[:, others]), strict=True):
            theta, objective, batch.converged[index], batch.decrement[index] = _fit_checked(
                refit_model, results.theta
            )
            state = refit_model.state
            variance = np.diagonal(state.fixed_covariance_unscaled())
            batch.record(
                index, components, state.beta(), theta, state.sigma2(), objective, variance
            )
    return batch


def bootstrap(
    results: LmerResults, n: int = 1000, seed: object = None, progress: bool | None = None
) -> ParametricBootstrap:
    """Parametric bootstrap: see :meth:`LmerResults.bootstrap`."""
    from ..progress import progress as progress_bar

    count = _check_count(n, "n")
    rng = np.random.default_rng(seed)
    model = results.model
    products = ResponseProducts(model)
    components = _Components(model)
    fixed_names = list(model.fixed_names)
    theta_names = [f"theta{i + 1}" for i in range(model.n_theta)]
    columns = [*fixed_names, *components.names, "sigma", *theta_names, "logLik"]
    records = np.empty((count, len(columns)))
    statuses = []
    errors = np.empty((count, model.n_fixed))
    # Long runs only, and (progress=None) only in interactive use: mixedmodels.progress.
    show = progress if progress is not None else (None if count >= 100 else False)
    starts = range(0, count, BATCH)
    # One BLAS thread, as the fit (see LinearMixedModel.fit).
    with threadpool_limits(limits=model.blas_threads, user_api="blas"):
        for first in progress_bar(
            starts, total=len(starts), desc="bootstrap", show=show, unit="batch"
        ):
            size = min(BATCH, count - first)
            batch = _run_batch(results, products, components, _draw(results, size, rng))
            records[first : first + size] = batch.rows
            errors[first : first + size] = batch.errors
            statuses.append(batch.status())
    table = pd.DataFrame(records, columns=columns)
    convergence = pd.concat(statuses, ignore_index=True)
    failed = int((~convergence["converged"]).sum())
    if failed:
        warnings.warn(
            f"{failed} of {count} bootstrap replicates failed the convergence checks "
            "(their rows are the best point found); see .convergence",
            ConvergenceWarning,
            stacklevel=3,
        )
    return ParametricBootstrap(
        table,
        seed,
        [*components.names, "sigma", *fixed_names],
        convergence,
        pd.DataFrame(errors, columns=fixed_names),
        results.fe_params.copy(),
        results.bse_fe.copy(),
    )
