"""The lazy matplotlib import and figure helpers (``plot/_mpl.py``)."""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import pytest

from mixedmodels.errors import OptionalDependencyError
from mixedmodels.plot._mpl import new_figure, pyplot, subplots_grid


def test_pyplot_is_matplotlibs() -> None:
    assert pyplot() is plt


def test_missing_matplotlib_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import now raises ImportError
    with pytest.raises(OptionalDependencyError, match=r'pip install "mixedmodels\[plot\]"') as info:
        pyplot()
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value.__cause__, ImportError)


def test_new_figure_uses_the_given_axes() -> None:
    figure, axes = plt.subplots()
    assert new_figure(axes) == (figure, axes)
    assert len(plt.get_fignums()) == 1  # no second figure made


def test_new_figure_makes_one_panel_of_the_given_size() -> None:
    figure, axes = new_figure(figsize=(6.0, 2.5))
    assert figure.axes == [axes]
    assert tuple(figure.get_size_inches()) == (6.0, 2.5)
    assert figure.get_layout_engine() is not None  # constrained layout


@pytest.mark.parametrize(
    ("n_panels", "ncols", "shape"),
    [(1, None, (1, 1)), (3, None, (1, 3)), (5, None, (2, 3)), (5, 2, (3, 2)), (7, 4, (2, 4))],
)
def test_subplots_grid_lays_out_and_removes_unused_cells(n_panels, ncols, shape) -> None:
    figure, axes = subplots_grid(n_panels, ncols=ncols, panel_size=(2.0, 1.5))
    assert len(axes) == n_panels
    assert figure.axes == axes  # the unused cells are removed from the figure
    nrows, columns = shape
    assert tuple(figure.get_size_inches()) == (2.0 * columns, 1.5 * nrows)
    spec = axes[0].get_subplotspec().get_gridspec()
    assert (spec.nrows, spec.ncols) == shape


def test_subplots_grid_passes_options_to_matplotlib() -> None:
    _, axes = subplots_grid(2, sharey=True)
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])
