"""Shared helpers: the three factorisation paths must give the same numbers.

``single`` (one grouping factor, closed form), ``eliminated`` (first block
eliminated, the rest one dense matrix) and ``blocked`` (the general block by
block factor) are different algorithms for the same numbers; each path's test
module checks it against another on the reference data and on synthetic
designs that reach its special cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import mixedmodels as mm
from mixedmodels.objective.pls import PLSState


def model_of(formula: str, data: pd.DataFrame, **kwargs) -> mm.LinearMixedModel:
    return mm.LinearMixedModel.from_formula(formula, data, **kwargs)


def thetas(model: mm.LinearMixedModel, count: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    points = []
    for _ in range(count):
        theta = rng.uniform(0.05, 2.0, model.n_theta)
        free = ~np.isfinite(model.lower_bounds)
        theta[free] = rng.uniform(-0.5, 0.5, free.sum())
        points.append(theta / model.theta_scale)
    return points


def compare(model: mm.LinearMixedModel, paths: tuple[str, ...]) -> None:
    states = [PLSState(model.blocks, model.cross, model.reml, path=path) for path in paths]
    for theta in thetas(model):
        values = [state.evaluate(theta) for state in states]
        np.testing.assert_allclose(values, values[0], rtol=1e-10)
        betas = [state.beta() for state in states]
        for beta in betas[1:]:
            np.testing.assert_allclose(beta, betas[0], rtol=1e-8, atol=1e-10)
        modes = [state.conditional_modes() for state in states]
        for other in modes[1:]:
            for got, want in zip(other, modes[0], strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
        dense = [state.random_lower_dense() for state in states if model.cross.n_obs < 5000]
        for other in dense[1:]:
            np.testing.assert_allclose(other @ other.T, dense[0] @ dense[0].T, atol=1e-8)


def make_crossed_data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    g1 = rng.integers(0, 40, n)
    g2 = rng.integers(0, 12, n)
    x = rng.standard_normal(n)
    z = rng.standard_normal(n)
    u1 = rng.standard_normal((40, 3)) * [1.0, 0.5, 0.3]
    u2 = rng.standard_normal((12, 2)) * [0.7, 0.4]
    y = 1 + 0.5 * x + u1[g1, 0] + u1[g1, 1] * x + u1[g1, 2] * z + u2[g2, 0] + u2[g2, 1] * x
    y = y + rng.standard_normal(n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "z": z,
            "w": rng.uniform(0.5, 2.0, n),
            "g1": pd.Categorical(g1),
            "g2": pd.Categorical(g2),
        }
    )
