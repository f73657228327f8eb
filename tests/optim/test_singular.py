"""The singular-fit diagnostic: entries of T on their boundary, relative to the covariate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.design.grouping import make_grouping_factor
from mixedmodels.design.terms import TermSpec, assemble_blocks, full_pattern
from mixedmodels.optim.singular import singular_terms

GROUPS = [0, 0, 0, 1, 1, 1, 2, 2, 2]
ONES = np.ones((9, 1))
X = np.arange(9.0)[:, None]


def _block(z: np.ndarray, names: tuple[str, ...]):
    factor = make_grouping_factor(pd.DataFrame({"g": GROUPS}), ("g",))
    return assemble_blocks([TermSpec(factor, z, names, full_pattern(z.shape[1]), "g")])[0][0]


def test_singular_terms_scale_with_covariate() -> None:
    block = _block(np.hstack([ONES, X * 1000]), ("(Intercept)", "x"))
    theta = np.array([1.0, 0.0, 1e-6])  # slope entry tiny in raw units ...
    scale = np.array([1.0, 1.0, 1000.0])  # ... but 1e-3 per unit of the covariate's rms
    assert singular_terms([block], theta, scale, 1e-4) == []
    assert singular_terms([block], np.array([0.0, 0.0, 1.0]), scale, 1e-4) == ["g: (Intercept)"]
