"""The general blocked factor: storage classes and agreement on nested designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedmodels.objective.pls import PLSState

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


def _crossed_frame(n_g: int = 300, n_h: int = 120, n: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "g": rng.integers(0, n_g, n).astype(str),
            "h": rng.integers(0, n_h, n).astype(str),
            "y": rng.normal(size=n),
        }
    )


def test_dense_block_that_does_not_fit_raises_the_memory_error(monkeypatch) -> None:
    import pytest

    from mixedmodels.errors import MemoryLimitError
    from mixedmodels.linalg.memory import dense_block_bytes
    from mixedmodels.objective.pls import PLSState

    model = _model("y ~ 1 + (1 | g) + (1 | h)", _crossed_frame())
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "100kB")
    for path in ("blocked", "eliminated"):
        with pytest.raises(MemoryLimitError, match=r"h \(120 levels\)") as caught:
            PLSState(model.blocks, model.cross, model.reml, path=path)
        assert "bytes" in str(caught.value)
    with pytest.raises(MemoryLimitError) as caught:
        _model("y ~ 1 + (1 | g) + (1 | h)", _crossed_frame())  # stopped when the model is made
    # Neither path fits: the eliminated path's operator is over the budget too, so
    # the blocked path's 120 x 120 block (3 copies) is the one reported.
    assert "h (120 levels)" in str(caught.value)
    assert f"{dense_block_bytes(120):,} bytes" in str(caught.value)
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "1GB")
    assert np.isfinite(
        PLSState(model.blocks, model.cross, model.reml, path="blocked").evaluate(
            np.array([0.5, 0.5])
        )
    )


@pytest.mark.parametrize("numba", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize(
    "formula, tail_bytes",
    [
        ("y ~ 1 + (1 | g) + (1 | h)", None),
        ("y ~ 1 + (1 | g) + (1 | h)", 4 * 120**2 + 16 * 60),
        ("y ~ 1 + x + (1 | g) + (1 | h) + (1 | k)", None),
    ],
    ids=["two-factors", "tail-over-budget", "three-factors"],
)
def test_fixed_pattern_fill_equals_the_eliminated_path(
    formula, tail_bytes, numba, monkeypatch
) -> None:
    from mixedmodels.linalg import _fill_kernel, fixedfill

    if numba and (tail_bytes is not None or not _fill_kernel.available()):
        pytest.skip("the compiled kernel has no tail budget" if tail_bytes else "no numba")
    if not numba:
        monkeypatch.setenv("MIXEDMODELS_NO_NUMBA", "1")
    if tail_bytes is not None:  # most light columns go to the per-evaluation product
        monkeypatch.setattr(fixedfill, "TAIL_BYTES", tail_bytes)
    data = _crossed_frame()
    rng = np.random.default_rng(11)
    data["x"] = rng.normal(size=len(data))
    data["k"] = rng.integers(0, 40, len(data)).astype(str)
    model = _model(formula, data)
    blocked = PLSState(model.blocks, model.cross, model.reml, path="blocked")
    # Every dense block is fed by the first factor through a fixed pattern.
    assert set(blocked.engine.fills) == set(range(1, len(model.blocks)))
    update = blocked.engine.fills[1]
    assert update.tail_nnz > 0 and update.compiled == numba
    if tail_bytes is not None:
        assert update.rest_columns.size > 0
    _compare(model, ("blocked", "eliminated"))
