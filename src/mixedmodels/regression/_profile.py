"""Profile likelihood of one variance parameter (statsmodels' ``profile_re``) with the engine.

Fixing the profile-scale variance ``v`` of random coefficient ``r``: the
columns of ``exog_re`` are permuted so that ``r`` comes first; the first
diagonal entry of ``T`` is then the only entry in its row, so
``(T T')_{00} = T_00^2`` and fixing ``T_00 = sqrt(v)`` fixes the variance
while every other ``theta`` stays free. A variance component is a single
``theta`` already. Each grid point is the profile step shared with lme4's
profile intervals (:func:`mixedmodels.optim.profile.profile_minimum`),
warm-started from the neighbouring grid point, on a private copy of the
engine's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import DataError, MixedModelsError
from ..optim.profile import profile_minimum
from ._design import re_pattern_from_free

if TYPE_CHECKING:
    from ._results import MixedLMResults

__all__ = ["profile_variance"]


def _permuted_pattern(results: MixedLMResults, order: np.ndarray) -> np.ndarray:
    """The fit's ``T`` pattern for ``exog_re`` with its columns in ``order``."""
    free = results.model.free_pattern(results.freepat) >= 0
    return re_pattern_from_free((free | free.T)[np.ix_(order, order)], results.k_re)


def _target(results: MixedLMResults, re_ix: int | str, vtype: str):
    """The engine, start theta, index of the fixed theta entry and the variance estimate."""
    model = results.model
    if vtype not in ("re", "vc"):
        raise DataError(f"vtype must be 're' or 'vc', got {vtype!r}")
    if vtype == "re":
        if not isinstance(re_ix, int | np.integer) or not 0 <= int(re_ix) < results.k_re:
            raise DataError(
                f"re_ix must be an integer in [0, {results.k_re}) for vtype='re', got {re_ix!r}"
            )
        index = int(re_ix)
        order = np.arange(results.k_re)
        order[0], order[index] = index, 0
        pattern = _permuted_pattern(results, order)
        engine, layout = model.engine(results.reml, pattern, exog_re=model.exog_re[:, order])
        cov = np.asarray(results.cov_re_unscaled)[np.ix_(order, order)]
        vcomp = results.vcomp / results.scale
        theta_start = layout.theta_from_profile(cov, vcomp)
        fixed = int(layout.re_index[0, 0])
        return engine, theta_start, fixed, float(np.asarray(results.cov_re)[index, index])
    names = [component.name for component in model.components]
    if re_ix not in names:
        raise DataError(f"re_ix must name a variance component for vtype='vc': one of {names}")
    k = names.index(re_ix)
    fixed = results.layout.vc_indices[k]
    return results.engine, results.theta.copy(), fixed, float(results.vcomp[k])


def profile_variance(
    results: MixedLMResults,
    re_ix: int | str,
    vtype: str,
    num_low: int,
    dist_low: float,
    num_high: int,
    dist_high: float,
) -> np.ndarray:
    """See :meth:`MixedLMResults.profile_re`."""
    engine, theta_start, fixed, estimate = _target(results, re_ix, vtype)
    scale = results.scale
    low = (estimate - dist_low) / scale
    high = (estimate + dist_high) / scale
    centre = estimate / scale
    if low <= 0:
        raise MixedModelsError(
            f"dist_low={dist_low!r} is too large: the variance estimate is {estimate:.6g}, so the "
            "grid would reach a negative variance. Use a smaller dist_low."
        )
    grid_low = np.linspace(low, centre, int(num_low) + 1)
    grid_high = np.linspace(centre, high, int(num_high) + 1)[1:]
    state = engine.state.fork()
    lower = engine.lower_bounds

    def criterion(theta: np.ndarray) -> float:
        return np.inf if np.any(theta < lower) else state.evaluate(theta)

    rows: dict[float, tuple[float, float]] = {}
    with threadpool_limits(limits=engine.blas_threads, user_api="blas"):
        # Walk outwards from the estimate in both directions, warm-starting each point.
        for path in (grid_low[::-1], grid_high):
            theta = theta_start.copy()
            for value in path:
                outcome = profile_minimum(
                    criterion,
                    theta,
                    lower,
                    scale=engine.theta_scale,
                    fixed=fixed,
                    value=np.sqrt(value),
                )
                theta = outcome.theta
                objective = state.evaluate(theta)
                rows[float(value)] = (value * state.sigma2(), -0.5 * objective)
    grid = np.concatenate([grid_low, grid_high])
    return np.array([rows[float(value)] for value in grid])
