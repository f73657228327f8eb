"""Structural checks with lme4's defaults, run before any fitting."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, StructureError
from .terms import RandomEffectsBlock

__all__ = ["check_structure"]


def check_structure(y: np.ndarray, blocks: list[RandomEffectsBlock]) -> None:
    """Raise a clear error when the random-effects structure cannot be estimated.

    Mirrors lme4's ``check.nlev.gtr.1``, ``check.nobs.vs.nlev`` and
    ``check.nobs.vs.nRE`` (all ``"stop"`` here), plus a constant response.
    """
    n_obs = len(y)
    if not np.all(np.isfinite(y)):
        raise DataError("the response holds non-finite values")
    if n_obs > 1 and np.ptp(y) == 0:
        raise DataError(
            f"the response is constant (every value is {y[0]:g}); there is no variation "
            "to split between random effects and residual"
        )
    for block in blocks:
        name = block.factor.name
        if block.n_levels < 2:
            raise StructureError(
                f"grouping factor {name!r} has {block.n_levels} level(s); a variance "
                "cannot be estimated from fewer than 2 levels"
            )
        if block.n_levels >= n_obs:
            raise StructureError(
                f"grouping factor {name!r} has {block.n_levels} levels for {n_obs} "
                "observations; its variance cannot be separated from the residual variance"
            )
        if block.n_random >= n_obs:
            raise StructureError(
                f"the random-effect term(s) on {name!r} have {block.n_random} random effects "
                f"for {n_obs} observations; the model is not identifiable"
            )
