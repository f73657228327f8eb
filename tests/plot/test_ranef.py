"""Caterpillar and random-effect QQ plots."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mixedmodels.errors import ArgumentError
from mixedmodels.plot import caterpillar, qq_ranef


def test_caterpillar_panels_points_and_order(sleep_fit, tmp_path, save_png) -> None:
    figure, axes = sleep_fit.plot.caterpillar()
    save_png(figure, tmp_path / "caterpillar.png")
    assert [axis.get_title() for axis in axes] == ["Subject: (Intercept)", "Subject: Days"]
    modes, sds = sleep_fit.ranef()["Subject"], sleep_fit.ranef_condsd()["Subject"]
    order = np.argsort(modes["(Intercept)"].to_numpy(), kind="stable")
    for axis, term in zip(axes, modes.columns, strict=True):
        assert axis.get_xlabel() == "conditional mode"
        points = axis.collections[-1].get_offsets()
        assert len(points) == 18
        np.testing.assert_allclose(points[:, 0], modes[term].to_numpy()[order])
        np.testing.assert_array_equal(points[:, 1], np.arange(18))
        labels = [label.get_text() for label in axis.get_yticklabels()]
        assert labels == list(modes.index[order])  # same level order in both panels
        # Bars are mode -+ 1.96 condsd.
        segments = axis.collections[0].get_segments()
        half = np.array([abs(seg[1][0] - seg[0][0]) / 2 for seg in segments])
        np.testing.assert_allclose(half, stats.norm.ppf(0.975) * sds[term].to_numpy()[order])
    assert axes[0].get_ylabel() == "level"


def test_caterpillar_draws_on_given_axes(sleep_fit) -> None:
    import matplotlib.pyplot as plt

    figure, given = plt.subplots(1, 2)
    returned_figure, axes = caterpillar(sleep_fit, ax=given, order=False)
    assert returned_figure is figure and list(axes) == list(given)
    with pytest.raises(ArgumentError, match="2 panels"):
        caterpillar(sleep_fit, ax=given[0])
    with pytest.raises(ArgumentError, match="group"):
        caterpillar(sleep_fit, group="Nope")


def test_caterpillar_one_panel_per_term_on_crossed_factors(tmp_path, save_png) -> None:
    import mixedmodels as mm

    fit = mm.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mm.datasets.load("Penicillin"))
    figure, axes = caterpillar(fit)
    save_png(figure, tmp_path / "penicillin.png")
    assert [axis.get_title() for axis in axes] == ["plate: (Intercept)", "sample: (Intercept)"]
    assert [len(axis.collections[-1].get_offsets()) for axis in axes] == [24, 6]


def test_qq_ranef(sleep_fit, tmp_path, save_png) -> None:
    figure, axes = qq_ranef(sleep_fit)
    save_png(figure, tmp_path / "qq_ranef.png")
    assert len(axes) == 2
    for axis, term in zip(axes, ["(Intercept)", "Days"], strict=True):
        points = axis.collections[0].get_offsets()
        assert len(points) == 18
        np.testing.assert_allclose(points[:, 1], np.sort(sleep_fit.ranef()["Subject"][term]))
        np.testing.assert_allclose(points[:, 0], stats.norm.ppf((np.arange(18) + 0.5) / 18))
        assert axis.get_xlabel() == "standard normal quantile"
        assert len(axis.get_lines()) == 1  # the qqline
