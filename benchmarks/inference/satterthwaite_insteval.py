"""Satterthwaite summary on InstEval next to the fit's own time, and lmerTest's (one run).

    PYTHONPATH=src python benchmarks/inference/satterthwaite_insteval.py

The issue's bar: ``summary()`` with Satterthwaite df takes at most 2x the fit.
lmerTest is timed by ``satterthwaite_insteval.R`` in a separate process (skipped
without ``Rscript``). Both include everything after the fit: the variance-parameter
Hessian, the Jacobian of vcov(beta) and the table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mixedmodels as mm

FORMULA = "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)"


def main(out: str | None) -> dict:
    import scipy.stats  # noqa: F401  (import cost is not the summary's)

    data = mm.datasets.load("InstEval")
    mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy")).summary()
    start = time.perf_counter()
    fit = mm.lmer(FORMULA, data, REML=False)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    text = str(fit.summary())
    summary_seconds = time.perf_counter() - start
    result = {
        "fit_seconds": fit_seconds,
        "summary_seconds": summary_seconds,
        "ratio_summary_to_fit": summary_seconds / fit_seconds,
        "df": fit.coef_table["df"].tolist(),
    }
    print(text.splitlines()[-4:], file=sys.stderr)
    print(json.dumps(result), file=sys.stderr, flush=True)
    if shutil.which("Rscript"):
        script = Path(__file__).with_suffix(".R")
        output = subprocess.run(
            ["Rscript", str(script)], capture_output=True, text=True, check=True, timeout=7200
        ).stdout
        result["lmerTest"] = json.loads(output)
        seconds = result["lmerTest"]
        result["lmerTest"]["ratio_satterthwaite_to_fit"] = (
            seconds["as_lmerModLmerTest_seconds"] + seconds["summary_seconds"]
        ) / seconds["lme4_fit_seconds"]
    if out:
        Path(out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else None), indent=2))
