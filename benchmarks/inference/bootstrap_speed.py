"""Per-replicate time of the parametric bootstrap next to lme4's bootMer (one run).

    PYTHONPATH=src python benchmarks/inference/bootstrap_speed.py [--replicates 1000]

Both sides bootstrap sleepstudy ``Reaction ~ Days + (Days | Subject)`` (REML) for the
same number of replicates, one after the other in the same minute, so that they see
the same machine load. lme4's side (``bootMer(m, fixef, nsim)``) runs through Rscript
and is skipped without it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time

import mixedmodels as mm

R_SCRIPT = """
suppressMessages(library(lme4))
m <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy)
invisible(bootMer(m, fixef, nsim = 5, seed = 1))
t <- system.time(b <- bootMer(m, fixef, nsim = {n}, seed = 1))[["elapsed"]]
cat(t / {n})
"""


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    fit.bootstrap(5, seed=0, progress=False)  # warm-up (imports)
    load_before = os.getloadavg()
    start = time.perf_counter()
    boot = fit.bootstrap(args.replicates, seed=1, progress=False)
    ours = (time.perf_counter() - start) / args.replicates
    result = {
        "replicates": args.replicates,
        "mixedmodels_seconds_per_replicate": ours,
        # How each replicate was refitted (batched Newton, or handed back to the
        # fit's checked BOBYQA) and whether all passed the convergence checks.
        "refit_methods": boot.convergence["method"].value_counts().to_dict(),
        "all_converged": bool(boot.convergence["converged"].all()),
    }
    if shutil.which("Rscript"):
        script = R_SCRIPT.replace("{n}", str(args.replicates))
        output = subprocess.run(
            ["Rscript", "-e", script], capture_output=True, text=True, check=True, timeout=3600
        ).stdout
        theirs = float(output.strip())
        result["bootMer_seconds_per_replicate"] = theirs
        result["speedup"] = theirs / ours
    result["load_average_1_5_15_before"] = load_before
    result["load_average_1_5_15_after"] = os.getloadavg()
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
