"""Residuals against fitted values and the QQ plot of scaled residuals."""

from __future__ import annotations

import numpy as np

import mixedmodels as mm
from mixedmodels.plot import qq_residuals, residuals_vs_fitted


def test_residuals_vs_fitted(sleep_fit, tmp_path, save_png) -> None:
    figure, axis = sleep_fit.plot.residuals()
    save_png(figure, tmp_path / "resid.png")
    points = axis.collections[0].get_offsets()
    assert points.shape == (180, 2)
    np.testing.assert_allclose(points[:, 0], sleep_fit.fittedvalues)
    np.testing.assert_allclose(points[:, 1], sleep_fit.resid)
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("fitted values", "residuals")
    _, scaled = residuals_vs_fitted(sleep_fit, scaled=True)
    np.testing.assert_allclose(
        scaled.collections[0].get_offsets()[:, 1], sleep_fit.resid / sleep_fit.sigma
    )
    assert scaled.get_ylabel() == "scaled residuals"


def test_qq_residuals(sleep_fit, tmp_path, save_png) -> None:
    figure, axis = qq_residuals(sleep_fit)
    save_png(figure, tmp_path / "qq.png")
    points = axis.collections[0].get_offsets()
    assert len(points) == 180
    np.testing.assert_allclose(points[:, 1], np.sort(sleep_fit.resid / sleep_fit.sigma))
    assert axis.get_title() == "Normal QQ plot of scaled residuals"


def test_residual_plots_of_a_chunked_fit_take_the_data() -> None:
    data = mm.datasets.load("sleepstudy")
    model = mm.LinearMixedModel.from_formula(
        "Reaction ~ Days + (Days | Subject)", data, chunk_rows=60
    )
    chunked = model.fit()
    _, axis = residuals_vs_fitted(chunked, data=data)
    in_memory = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    np.testing.assert_allclose(
        axis.collections[0].get_offsets()[:, 1], in_memory.resid, rtol=1e-6, atol=1e-6
    )


def test_missing_matplotlib_gives_a_clear_error(sleep_fit, monkeypatch) -> None:
    import sys

    import pytest

    from mixedmodels.errors import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(OptionalDependencyError, match=r"pip install \"mixedmodels\[plot\]\""):
        residuals_vs_fitted(sleep_fit)
    assert issubclass(OptionalDependencyError, ImportError)
