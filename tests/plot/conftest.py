"""Plot tests draw with matplotlib's Agg backend (no display) and save real PNGs."""

from __future__ import annotations

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import mixedmodels as mm  # noqa: E402


@pytest.fixture(scope="package")
def sleep_fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def save_png():
    """Render to PNG and check the file is a PNG of the figure's size."""
    return _save_png


def _save_png(figure, path) -> None:
    figure.savefig(path, dpi=50)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    expected = figure.get_size_inches() * 50
    assert abs(width - expected[0]) <= 2 and abs(height - expected[1]) <= 2
