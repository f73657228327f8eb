"""Scale benchmark of residual structures (issue 10): AR(1) residuals at a million rows.

Simulates ``n_groups`` groups of ``n_times`` equally spaced occasions with a
random intercept and slope and AR(1) errors, fits
``y ~ time + (time | g)`` with ``correlation=mm.AR1(group="g")``, and reports
the wall time, the peak resident memory, the evaluations, and how long one
recomputation of the whitened cross-products takes on each path
(``classes``: combination of per-class cross-products formed once; ``rows``:
whitening all rows again). With ``--nlme`` it also runs nlme's ``lme`` on a
tenth of the data (``Rscript``, killed after ``--nlme-timeout`` seconds).

Usage::

    python benchmarks/residual_scale.py                     # 1,000,000 rows
    python benchmarks/residual_scale.py --nlme              # + nlme on 100,000 rows
    python benchmarks/residual_scale.py --groups 1000       # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

import mixedmodels as mm  # noqa: E402
from mixedmodels.design.crossprod import BlockData  # noqa: E402
from mixedmodels.structures.model import StructuredModel  # noqa: E402
from mixedmodels.structures.whiten import Whitener  # noqa: E402

PHI = 0.6


def simulate(n_groups: int, n_times: int, seed: int = 10) -> pd.DataFrame:
    """``y = 1 + 0.5 t + b0 + b1 t + e``, ``t = 0..1`` equally spaced, AR(1) ``e``."""
    rng = np.random.default_rng(seed)
    time_ = np.tile(np.linspace(0.0, 1.0, n_times), n_groups)
    group = np.repeat(np.arange(n_groups), n_times)
    b0 = rng.normal(0, 1.0, n_groups)[group]
    b1 = rng.normal(0, 0.5, n_groups)[group]
    innovations = rng.normal(0, 1.0, (n_groups, n_times))
    errors = np.empty_like(innovations)
    errors[:, 0] = innovations[:, 0]
    root = np.sqrt(1 - PHI**2)
    for t in range(1, n_times):
        errors[:, t] = PHI * errors[:, t - 1] + root * innovations[:, t]
    y = 1.0 + 0.5 * time_ + b0 + b1 * time_ + errors.ravel()
    return pd.DataFrame({"y": y, "time": time_, "g": pd.Categorical(group)})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def recomputation_timings(model: StructuredModel, reps: int = 5) -> dict:
    """Seconds per recomputation of the whitened cross-products on each path."""
    blocks = [BlockData(b.factor.codes, b.z, b.n_levels) for b in model.base.blocks]
    eta = np.array([0.7])
    out = {}
    for path in ("classes", "rows"):
        start = time.perf_counter()
        whitener = Whitener(model.layout, blocks, model.whitener.xy, path=path)
        setup = time.perf_counter() - start
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            whitener.cross_products(eta)
            times.append(time.perf_counter() - start)
        out[path] = {"setup_s": setup, "per_evaluation_s": min(times)}
    return out


def run_nlme(data: pd.DataFrame, timeout: float) -> dict:
    script = """
    suppressPackageStartupMessages(library(nlme))
    d <- read.csv(commandArgs(TRUE)[1]); d$g <- factor(d$g)
    t0 <- Sys.time()
    m <- lme(y ~ time, random = ~ time | g, correlation = corAR1(form = ~ 1 | g), data = d,
             control = lmeControl(apVar = FALSE))
    el <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
    cat(sprintf('{"seconds": %.3f, "logLik": %.8f, "Phi": %.8f}',
        el, as.numeric(logLik(m)), coef(m$modelStruct$corStruct, unconstrained = FALSE)))
    """
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        data.to_csv(csv, index=False)
        rfile = Path(tmp) / "fit.R"
        rfile.write_text(script)
        start = time.perf_counter()
        try:
            done = subprocess.run(
                ["Rscript", str(rfile), str(csv)],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"status": f"timeout after {timeout:.0f} s (killed)"}
        except FileNotFoundError:
            return {"status": "Rscript not found"}
        wall = time.perf_counter() - start
        if done.returncode != 0:
            return {"status": "error", "stderr": done.stderr[-2000:], "wall_s": wall}
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["status"] = "ok"
        result["wall_including_csv_read_s"] = wall
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--times", type=int, default=100)
    parser.add_argument("--nlme", action="store_true", help="also nlme on a tenth of the groups")
    parser.add_argument("--nlme-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    data = simulate(args.groups, args.times)
    report: dict = {"rows": len(data), "groups": args.groups, "times": args.times}
    report["load_average"] = os.getloadavg()
    report["rss_after_data_mb"] = _peak_mb()
    start = time.perf_counter()
    model = StructuredModel.from_formula(
        "y ~ time + (time | g)", data, correlation=mm.AR1(group="g"), REML=True
    )
    report["design_and_setup_s"] = time.perf_counter() - start
    fit_start = time.perf_counter()
    fit = model.fit()
    report["fit_s"] = time.perf_counter() - fit_start
    report["total_s"] = time.perf_counter() - start
    report["peak_rss_mb"] = _peak_mb()
    report["evaluations"] = fit.optimizer.n_evaluations
    report["cross_product_recomputations"] = model.n_cross_products
    report["whitener_path"] = model.whitener.path
    report["Phi"] = float(fit.correlation_params["Phi"])
    report["true_Phi"] = PHI
    report["fixef"] = fit.fe_params.to_dict()
    report["llf"] = fit.llf
    report["recomputation"] = recomputation_timings(model)
    if args.nlme:
        tenth = data[data["g"].cat.codes < args.groups // 10].copy()
        tenth["g"] = tenth["g"].astype(int)
        report["nlme_tenth"] = {"rows": len(tenth), **run_nlme(tenth, args.nlme_timeout)}
        small = StructuredModel.from_formula(
            "y ~ time + (time | g)",
            tenth.assign(g=pd.Categorical(tenth["g"])),
            correlation=mm.AR1(group="g"),
        )
        start = time.perf_counter()
        small_fit = small.fit()
        report["mixedmodels_tenth"] = {
            "seconds": time.perf_counter() - start,
            "llf": small_fit.llf,
            "Phi": float(small_fit.correlation_params["Phi"]),
        }
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
