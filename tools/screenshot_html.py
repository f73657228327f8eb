"""Render a fit's notebook view (``_repr_html_``) to a page and screenshot it headless.

Usage (from the repository root; needs Debian's ``chromium``)::

    PYTHONPATH=src python tools/screenshot_html.py OUT_DIR

writes ``OUT_DIR/fit.html`` (the sleepstudy and Penicillin fits' views and the
sleepstudy summary's) and ``OUT_DIR/fit.png``. Used to check the notebook view by
eye; the tests parse the same HTML without a browser (tests/results/test_html.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import mixedmodels as mm
from mixedmodels.results.html import page


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sleep = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    penicillin = mm.lmer(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", mm.datasets.load("Penicillin")
    )
    fragments = [
        sleep._repr_html_(),
        penicillin._repr_html_(),
        sleep.summary(data_name="sleepstudy")._repr_html_(),
    ]
    html_path = out / "fit.html"
    html_path.write_text(page("<hr>".join(fragments)), encoding="utf-8")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found (Debian: apt-get install chromium)")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=720,1500",
            f"--screenshot={out / 'fit.png'}",
            html_path.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
