"""Seeded small random designs and a brute-force optimum for each (issue 8).

:func:`random_design` draws one small model from a seed: 1-3 grouping factors
(crossed or nested), groups of 1-3 rows, random intercepts and slopes (``|``
and ``||``), a 3-level factor, covariates scaled by up to 1e4, variance
components from zero to large, REML or ML. :func:`brute_force` minimises the
same criterion from 20 random starts with two optimisers of different kinds
(NLopt's BOBYQA, a quadratic-model trust-region method, and NLopt's
Nelder-Mead simplex, 10 starts each, each run to ``xtol = 1e-3`` or
``40 (n + 1)`` evaluations) and polishes the best with BOBYQA at
``xtol = 1e-10``, independently of the fit's own driver. Only designs whose
likelihood is bounded are kept (see :func:`valid_designs`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import nlopt
import numpy as np
import pandas as pd

import mixedmodels as mm
from mixedmodels.errors import MixedModelsError

SCALES = (1.0, 1.0, 10.0, 100.0, 1e3, 1e4)
SLOPE_TERMS = (
    "(1 | {g})",
    "(x1 | {g})",
    "(x1 || {g})",
    "(0 + x1 | {g})",
    "(1 | {g}) + (0 + x2 | {g})",
)


@dataclass(frozen=True)
class Design:
    seed: int
    formula: str
    data: pd.DataFrame
    reml: bool


def _factor(codes: np.ndarray, prefix: str) -> pd.Categorical:
    labels = [f"{prefix}{code:02d}" for code in codes]
    return pd.Categorical(labels, categories=sorted(set(labels)))


def random_design(seed: int) -> Design:
    """One random design (see the module notes); deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    n_levels = int(rng.integers(8, 21))
    sizes = rng.integers(1, 4, size=n_levels)  # groups of 1-3 rows
    g = np.repeat(np.arange(n_levels), sizes)
    n = len(g)
    data = {"g": _factor(g, "g")}
    n_factors = int(rng.integers(1, 4))
    names = ["g"]
    for index in range(1, n_factors):
        name = "hk"[index - 1]
        if rng.random() < 0.3:
            codes = g // 2  # nested in g
        else:
            codes = rng.integers(0, int(rng.integers(3, 9)), size=n)  # crossed
        data[name] = _factor(codes, name)
        names.append(name)
    x1_scale, x2_scale = rng.choice(SCALES, size=2)
    x1 = rng.normal(size=n) * x1_scale + rng.normal() * x1_scale
    x2 = rng.normal(size=n) * x2_scale
    f = rng.choice(np.array(["A", "B", "C"]), size=n)
    data.update({"x1": x1, "x2": x2, "f": pd.Categorical(f, categories=["A", "B", "C"])})
    terms = []
    y = rng.normal() + rng.normal() * x1 / x1_scale
    for name in names:
        codes = pd.Categorical(data[name]).codes
        template = (
            SLOPE_TERMS[int(rng.integers(0, len(SLOPE_TERMS)))]
            if name == "g"
            else (SLOPE_TERMS[int(rng.integers(0, 3))])
        )
        terms.append(template.format(g=name))
        size = rng.choice([0.0, 0.3, 1.0, 3.0])
        effects = rng.normal(size=(codes.max() + 1, 2)) * size
        y = y + effects[codes, 0] + effects[codes, 1] * x1 / x1_scale
    fixed = ["x1"]
    if rng.random() < 0.5:
        fixed.append("f")
        y = y + (f == "B") * rng.normal()
    if rng.random() < 0.3:
        fixed.append("x2")
    y = (y + rng.normal(size=n)) * rng.choice(SCALES)
    data["y"] = y
    formula = "y ~ " + " + ".join(fixed) + " + " + " + ".join(terms)
    return Design(seed, formula, pd.DataFrame(data), bool(rng.random() < 0.5))


def residual_rank_gap(model: mm.LinearMixedModel) -> int:
    """``n - rank([X Z])``: at 0 the random effects can interpolate the data, sigma can
    go to 0 and the likelihood is unbounded (no optimum to compare)."""
    columns = [model.rows.X]
    for block in model.blocks:
        z = np.zeros((model.n_obs, block.n_levels * block.n_columns))
        codes = block.factor.codes
        for column in range(block.n_columns):
            z[np.arange(model.n_obs), codes * block.n_columns + column] = block.z[:, column]
        columns.append(z)
    return model.n_obs - int(np.linalg.matrix_rank(np.hstack(columns)))


def valid_designs(count: int, first_seed: int = 0) -> list[Design]:
    """The first ``count`` designs (from ``first_seed`` on) that lme4's checks accept and
    whose likelihood is bounded (at least 3 residual degrees of freedom beyond ``[X Z]``)."""
    designs = []
    seed = first_seed
    while len(designs) < count:
        design = random_design(seed)
        seed += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = mm.LinearMixedModel.from_formula(
                    design.formula, design.data, REML=design.reml
                )
        except MixedModelsError:
            continue
        if residual_rank_gap(model) < 3:
            continue
        designs.append(design)
    return designs


def _random_start(rng: np.random.Generator, lower: np.ndarray) -> np.ndarray:
    """A start in the scaled coordinates: log-normal diagonals, normal off-diagonals."""
    bounded = np.isfinite(lower)
    return np.where(bounded, np.exp(rng.normal(size=len(lower))), rng.normal(size=len(lower)))


def brute_force(model: mm.LinearMixedModel, seed: int, n_starts: int = 20) -> float:
    """The best criterion over ``n_starts`` random starts, two optimisers, then a polish."""
    rng = np.random.default_rng(10_000 + seed)
    scale = model.theta_scale
    lower = model.lower_bounds * scale

    def criterion(x: np.ndarray) -> float:
        value = model.objective(np.asarray(x) / scale)
        return value if math.isfinite(value) else 1e300

    best_x, best_value = None, math.inf
    for start in range(n_starts):
        x0 = np.maximum(_random_start(rng, lower), lower)
        algorithm = nlopt.LN_BOBYQA if start % 2 == 0 else nlopt.LN_NELDERMEAD
        x, value = _nlopt(algorithm, criterion, x0, lower, 1e-3, 40 * (len(x0) + 1))
        if value < best_value:
            best_x, best_value = x, value
    x, value = _nlopt(nlopt.LN_BOBYQA, criterion, best_x, lower, 1e-10, 5000)
    return min(value, best_value)


def _nlopt(
    algorithm: int, criterion, x0: np.ndarray, lower: np.ndarray, xtol: float, max_evaluations: int
) -> tuple[np.ndarray, float]:
    """One NLopt run; the best point it evaluated."""
    opt = nlopt.opt(algorithm, len(x0))
    opt.set_lower_bounds(lower.tolist())
    opt.set_xtol_abs(xtol)
    opt.set_ftol_rel(1e-14)
    opt.set_maxeval(max_evaluations)
    opt.set_initial_step(0.2)
    best = [np.array(x0), criterion(x0)]

    def tracked(x, grad):
        value = criterion(x)
        if value < best[1]:
            best[0], best[1] = np.array(x), value
        return value

    opt.set_min_objective(tracked)
    try:
        opt.optimize(np.asarray(x0, dtype=float).tolist())
    except (nlopt.RoundoffLimited, RuntimeError, ValueError):
        pass
    return best[0], best[1]
