"""Tolerances of ../shared/reference/INFERENCE.md, and the check of p values and bounds.

Satterthwaite df and F (and the sums of squares, which are F times sigma^2):
1e-3 relative (lmerTest differentiates numerically). Kenward-Roger df and F:
1e-2; its adjusted covariance 1e-3. Estimates, standard errors, t: 1e-5.
"p values and CI bounds: their df's tolerance": a p value (or bound) passes
when it is within that relative tolerance of the reference, or inside the
range the reference's own formula gives over df within the tolerance (for
p = 1e-70 a df change of 1e-4 moves p by 1 %, which is that tolerance).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

ESTIMATE = 1e-5
LOGLIK = 1e-6
DF = {"satterthwaite": 1e-3, "kenward_roger": 1e-2}
VCOV_KR = 1e-3


def relative_error(actual, expected) -> float:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-300)))


def t_p_within(p: float, t: float, df: float, tol: float) -> bool:
    """``p`` of a two-sided t test, against the reference ``t`` and ``df``."""
    candidates = [
        2 * stats.t.sf(abs(t) * (1 + s * ESTIMATE), df * (1 + d * tol))
        for s in (-1, 1)
        for d in (-1, 1)
    ]
    low, high = min(candidates), max(candidates)
    return bool(low * (1 - 1e-9) <= p <= high * (1 + 1e-9))


def f_p_within(p: float, f: float, ndf: float, ddf: float, tol: float) -> bool:
    """``p`` of an F test, against the reference ``F`` and ``ddf`` (both within ``tol``)."""
    candidates = [
        stats.f.sf(f * (1 + s * tol), ndf, ddf * (1 + d * tol)) for s in (-1, 1) for d in (-1, 1)
    ]
    low, high = min(candidates), max(candidates)
    return bool(low * (1 - 1e-9) <= p <= high * (1 + 1e-9))


def bound_within(bound: float, estimate: float, se: float, df: float, tol: float, upper: bool):
    """A t-based confidence bound ``estimate +- q(df) se``, reference pieces within tolerance."""
    sign = 1 if upper else -1
    candidates = [
        estimate + sign * stats.t.ppf(0.975, df * (1 + d * tol)) * se * (1 + s * ESTIMATE)
        for s in (-1, 1)
        for d in (-1, 1)
    ]
    slack = ESTIMATE * max(abs(estimate), abs(se))
    return bool(min(candidates) - slack <= bound <= max(candidates) + slack)
