"""The singular-fit diagnostic: which random effects sit on their boundary.

A post-fit check on the optimum (lme4's ``isSingular``, made independent of
the units of the covariates): :meth:`~mixedmodels.model.LinearMixedModel.fit`
calls it on the optimiser's theta. It needs only the blocks' theta layout and,
optionally, the profiled criterion as a callable, so it imports nothing from
later stages.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..design.terms import RandomEffectsBlock

__all__ = ["singular_terms"]


def singular_terms(
    blocks: list[RandomEffectsBlock],
    theta: np.ndarray,
    theta_scale: np.ndarray,
    tolerance: float,
    objective: Callable[[np.ndarray], float] | None = None,
    deviance_tolerance: float = 1e-6,
    candidate_bound: float = 0.1,
) -> list[str]:
    """Random effects whose conditional standard deviation is on its bound (zero).

    A diagonal entry of ``T`` is on its bound when either

    * it is below ``tolerance`` after multiplication by the root-mean-square
      of the covariate it multiplies (``theta_scale``); this is lme4's
      ``isSingular`` test made independent of the covariate's units; or
    * setting it to zero raises the criterion (``-2 log L``) by at most
      ``deviance_tolerance``: the data cannot tell the fit from the boundary
      fit. Differences of the criterion do not change when the response or a
      covariate is rescaled, so this test is scale-free; it catches the
      entries that the optimiser leaves slightly inside a flat boundary, which
      a threshold on theta alone classifies by chance.

    ``theta`` is relative to the residual standard deviation, so rescaling the
    response does not change the first test either.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
    theta : ndarray
    theta_scale : ndarray
        Root-mean-square of the covariate of each theta entry.
    tolerance : float
        Bound on the scaled entry (lme4: ``1e-4``).
    objective : callable, optional
        The profiled criterion; when given, the second test is applied to the
        entries whose scaled value is below ``candidate_bound``. It is
        evaluated at ``theta`` last, so a stateful criterion is left there.
    deviance_tolerance : float
        Largest rise of the criterion that still counts as flat.
    candidate_bound : float
        Scaled entries at or above this are never tested by the criterion.

    Returns
    -------
    list of str
        ``"factor: column"`` for each diagonal entry on its bound.
    """
    theta = np.asarray(theta, dtype=float)
    scaled = theta * np.asarray(theta_scale, dtype=float)
    entries = _diagonal_entries(blocks)
    singular = {index for index, _ in entries if scaled[index] < tolerance}
    candidates = [
        index for index, _ in entries if index not in singular and scaled[index] < candidate_bound
    ]
    if objective is not None and candidates:
        singular |= _flat_at_zero(objective, theta, candidates, deviance_tolerance)
    return [label for index, label in entries if index in singular]


def _diagonal_entries(blocks: list[RandomEffectsBlock]) -> list[tuple[int, str]]:
    """``(theta index, "factor: column")`` of every diagonal entry of every ``T``."""
    entries = []
    for block in blocks:
        for column, index in enumerate(np.diag(block.theta_index)):
            if index >= 0:
                entries.append((int(index), f"{block.factor.name}: {block.column_names[column]}"))
    return entries


def _flat_at_zero(
    objective: Callable[[np.ndarray], float],
    theta: np.ndarray,
    candidates: list[int],
    deviance_tolerance: float,
) -> set[int]:
    """The ``candidates`` whose setting to zero raises the criterion by at most the tolerance.

    The criterion is evaluated at ``theta`` first and last, so a stateful
    criterion is left at the optimum.
    """
    at_optimum = float(objective(theta))
    flat = set()
    for index in candidates:
        trial = theta.copy()
        trial[index] = 0.0
        if objective(trial) - at_optimum <= deviance_tolerance:
            flat.add(index)
    objective(theta)
    return flat
