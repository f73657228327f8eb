"""Profile zeta and density plots (and the profile table they draw)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mixedmodels.plot import profile_density, profile_zeta


@pytest.fixture(scope="module")
def table(sleep_fit):
    return sleep_fit.profile(which="variance", points=3)


def test_profile_table_is_zero_at_the_estimate_and_increasing(sleep_fit, table) -> None:
    names = ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sd_Days|Subject", "sigma"]
    assert list(dict.fromkeys(table["parameter"])) == names
    for name in names:
        part = table[table["parameter"] == name]
        estimate = table.attrs["estimates"][name]
        assert part.loc[part["value"] == estimate, "zeta"].tolist() == [0.0]
        assert np.all(np.diff(part["zeta"].to_numpy()) > 0), name
        # reaches |zeta| = z(0.995) on both sides (alphamax = 0.01)
        assert part["zeta"].min() <= -stats.norm.ppf(0.995) + 0.3
        assert part["zeta"].max() >= stats.norm.ppf(0.995) - 0.3
    # sigma's ML estimate: sqrt(pwrss / n) of the ML refit
    assert table.attrs["estimates"]["sigma"] == pytest.approx(25.5918, abs=1e-3)


def test_profile_zeta_plot(table, tmp_path, save_png) -> None:
    figure, axes = profile_zeta(table)
    save_png(figure, tmp_path / "zeta.png")
    assert [axis.get_title() for axis in axes] == list(dict.fromkeys(table["parameter"]))
    for axis, (name, part) in zip(axes, table.groupby("parameter", sort=False), strict=True):
        points = axis.collections[0].get_offsets()
        assert len(points) == len(part), name
        np.testing.assert_allclose(points[:, 1], part["zeta"])
        assert (axis.get_xlabel(), axis.get_ylabel()) == ("value", "zeta")
        assert len(axis.get_lines()) == 2 + 2 * 5  # curve, Wald line, -+z at five levels


def test_profile_density_integrates_to_about_one(table, tmp_path, save_png) -> None:
    figure, axes = profile_density(table)
    save_png(figure, tmp_path / "density.png")
    for axis in axes:
        x, y = axis.get_lines()[0].get_data()
        assert np.all(y >= 0)
        # The grid spans |zeta| <= 2.58 at least, which holds 99 % of the mass.
        assert np.trapezoid(y, x) == pytest.approx(0.99, abs=0.02)
        assert axis.get_ylabel() == "density"


def test_profile_of_fixed_effects_is_symmetric_for_a_balanced_design(sleep_fit) -> None:
    part = sleep_fit.profile(which=["Days"], points=2)
    zeta = part["zeta"].to_numpy()
    np.testing.assert_allclose(zeta, -zeta[::-1], atol=1e-6)


def test_accessor_draws_from_a_fit_or_a_table(sleep_fit, table) -> None:
    _, axes = sleep_fit.plot.profile(table)
    assert len(axes) == 4
    with pytest.raises(ValueError, match="which"):
        sleep_fit.profile(which=["nope"])
