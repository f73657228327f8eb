"""Make the README's figures: caterpillar and profile plots of the sleepstudy fit.

Usage (from the repository root)::

    PYTHONPATH=src python docs/make_figures.py

writes ``docs/img/sleepstudy_caterpillar.png`` and ``docs/img/sleepstudy_profile.png``.
Needs the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import mixedmodels as mm

OUT = Path(__file__).parent / "img"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    figure, _ = fit.plot.caterpillar(panel_size=(3.4, 4.2))
    figure.suptitle("sleepstudy: conditional modes with 95% intervals")
    figure.savefig(OUT / "sleepstudy_caterpillar.png", dpi=110)
    figure, _ = fit.plot.profile()
    figure.suptitle("sleepstudy: profile zeta (dashed: quadratic approximation)")
    figure.savefig(OUT / "sleepstudy_profile.png", dpi=110)


if __name__ == "__main__":
    main()
