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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import ArgumentError
from ..optim.optimizer import minimize_theta
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
    """

    def __init__(self, table: pd.DataFrame, seed: object, parameters: list[str]) -> None:
        self.table = table
        self.n = len(table)
        self.seed = seed
        self.parameters = parameters

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Percentile intervals (lme4's ``confint(method = "boot", boot.type = "perc")``)."""
        if not 0 < level < 1:
            raise ArgumentError(f"level must be between 0 and 1, got {level!r}")
        tail = (1 - level) / 2
        values = self.table[self.parameters]
        lower = values.quantile(tail)
        upper = values.quantile(1 - tail)
        return pd.DataFrame(
            {f"{100 * tail:g} %": lower, f"{100 * (1 - tail):g} %": upper},
            index=self.parameters,
        )

    def std(self) -> pd.Series:
        """Bootstrap standard deviations of the parameters."""
        return self.table[self.parameters].std(ddof=1)

    def __repr__(self) -> str:
        return f"<ParametricBootstrap n={self.n} parameters={len(self.parameters)}>"


def _refit(model: LinearMixedModel, start: np.ndarray) -> tuple[np.ndarray, float]:
    # The criterion itself (the optimiser keeps theta within its bounds).
    result = minimize_theta(
        model.state.evaluate,
        start,
        model.lower_bounds,
        model.theta_scale,
        initial_step=model.initial_steps(),
    )
    return result.theta, model.state.evaluate(result.theta)


def bootstrap(
    results: LmerResults, n: int = 1000, seed: object = None, progress: bool | None = None
) -> ParametricBootstrap:
    """Parametric bootstrap: see :meth:`LmerResults.bootstrap`."""
    count = _check_count(n, "n")
    rng = np.random.default_rng(seed)
    model = results.model
    products = ResponseProducts(model)
    components = _Components(model)
    fixed_names = list(model.fixed_names)
    theta_names = [f"theta{i + 1}" for i in range(model.n_theta)]
    columns = [*fixed_names, *components.names, "sigma", *theta_names, "logLik"]
    records = np.empty((count, len(columns)))
    # Long runs only, and (progress=None) only in interactive use: mixedmodels.progress.
    show = progress if progress is not None else (None if count >= 100 else False)
    # One BLAS thread, as the fit (see LinearMixedModel.fit).
    with threadpool_limits(limits=model.blas_threads, user_api="blas"):
        _run(results, products, components, records, show, rng)
    table = pd.DataFrame(records, columns=columns)
    return ParametricBootstrap(table, seed, [*components.names, "sigma", *fixed_names])


def _run(
    results: LmerResults,
    products: ResponseProducts,
    components: _Components,
    records: np.ndarray,
    show: bool | None,
    rng: np.random.Generator,
) -> None:
    """Draw, refit and record every replicate (rows of ``records``), batch by batch."""
    from ..progress import progress as progress_bar

    count = len(records)
    batch: list = []
    for index in progress_bar(range(count), total=count, desc="bootstrap", show=show, unit="fit"):
        if index % BATCH == 0:
            batch = products.models(_draw(results, min(BATCH, count - index), rng))
        refit_model = batch[index % BATCH]
        theta, objective = _refit(refit_model, results.theta)
        state = refit_model.state
        sigma = math.sqrt(state.sigma2())
        records[index] = [
            *state.beta(),
            *components.values(theta, sigma),
            sigma,
            *theta,
            -0.5 * objective,
        ]
