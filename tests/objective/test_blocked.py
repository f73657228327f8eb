"""The general blocked factor: storage classes and agreement on nested designs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._paths import compare as _compare
from ._paths import model_of as _model


def test_large_nested_design_uses_blocked_factor() -> None:
    rng = np.random.default_rng(5)
    groups, per_group = 1500, 2
    outer = np.repeat(np.arange(groups), per_group * 3)
    inner = np.repeat(np.arange(groups * per_group), 3)
    data = pd.DataFrame(
        {
            "y": rng.standard_normal(len(outer)),
            "outer": pd.Categorical(outer),
            "inner": pd.Categorical(inner),
        }
    )
    model = _model("y ~ 1 + (1 | outer) + (1 | inner)", data)
    # The remaining 1500-level block stays block diagonal: no dense 1500 x 1500 factor.
    assert model.state.engine.kind == "blocked"
    _compare(model, ("blocked",))
