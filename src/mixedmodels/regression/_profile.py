"""Profile likelihood of one variance parameter (statsmodels' ``profile_re``) with the engine.

Fixing the profile-scale variance ``v`` of random coefficient ``r``: the
columns of ``exog_re`` are permuted so that ``r`` comes first; the first
diagonal entry of ``T`` is then the only entry in its row, so
``(T T')_{00} = T_00^2`` and fixing ``T_00 = sqrt(v)`` fixes the variance
while every other ``theta`` stays free. A variance component is a single
``theta`` already. Each grid point is the profile step of lme4's profile
intervals (:func:`mixedmodels.optim.profile.profile_minimum`), warm-started
from its neighbour towards the estimate
(:class:`mixedmodels.results.profile.ProfileTrace`), on a private copy of the
engine's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import DataError, MixedModelsError
from ..optim.profile import profile_minimum
from ..results.profile import ProfileTrace
from ._design import re_pattern_from_free

if TYPE_CHECKING:
    from ._results import MixedLMResults

__all__ = ["profile_variance"]


def _target(results: MixedLMResults, re_ix: int | str, vtype: str):
    """The engine, start theta, index of the fixed theta entry and the variance estimate."""
    model = results.model
    if vtype not in ("re", "vc"):
        raise DataError(f"vtype must be 're' or 'vc', got {vtype!r}")
    if vtype == "vc":
        names = [component.name for component in model.components]
        if re_ix not in names:
            raise DataError(f"re_ix must name a variance component for vtype='vc': one of {names}")
        k = names.index(re_ix)
        return results.engine, results.theta, results.layout.vc_indices[k], results.vcomp[k]
    if not isinstance(re_ix, int | np.integer) or not 0 <= int(re_ix) < results.k_re:
        raise DataError(
            f"re_ix must be an integer in [0, {results.k_re}) for vtype='re', got {re_ix!r}"
        )
    order = np.arange(results.k_re)
    order[0], order[int(re_ix)] = int(re_ix), 0
    free = model.free_pattern(results.freepat) >= 0
    pattern = re_pattern_from_free((free | free.T)[np.ix_(order, order)], results.k_re)
    engine, layout = model.engine(results.reml, pattern, exog_re=model.exog_re[:, order])
    cov = np.asarray(results.cov_re_unscaled)[np.ix_(order, order)]
    theta = layout.theta_from_profile(cov, results.vcomp / results.scale)
    return engine, theta, int(layout.re_index[0, 0]), np.asarray(results.cov_re)[re_ix, re_ix]


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
    if estimate - dist_low <= 0:
        raise MixedModelsError(
            f"dist_low={dist_low!r} is too large: the variance estimate is {estimate:.6g}, so the "
            "grid would reach a negative variance. Use a smaller dist_low."
        )
    centre = estimate / scale
    grid = np.concatenate([
        np.linspace((estimate - dist_low) / scale, centre, int(num_low) + 1),
        np.linspace(centre, (estimate + dist_high) / scale, int(num_high) + 1)[1:],
    ])
    state = engine.state.fork()
    lower = engine.lower_bounds

    def criterion(theta: np.ndarray) -> float:
        return np.inf if np.any(theta < lower) else state.evaluate(theta)

    def minimum(value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        outcome = profile_minimum(
            criterion, start, lower, scale=engine.theta_scale, fixed=fixed, value=np.sqrt(value)
        )
        return outcome.objective, outcome.theta

    trace = ProfileTrace(minimum, float(centre), theta_start, state.evaluate(theta_start))
    rows = []
    with threadpool_limits(limits=engine.blas_threads, user_api="blas"):
        for value in sorted(grid, key=lambda value: abs(value - centre)):  # outwards
            trace(value)
        for value in grid:
            objective = state.evaluate(trace.points[float(value)][1])
            rows.append((value * state.sigma2(), -0.5 * objective))
    return np.array(rows)
