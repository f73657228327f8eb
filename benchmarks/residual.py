"""Residual-structure benchmark (issue 10): mixedmodels vs nlme's lme and glmmTMB.

Fits every case of ``tests/reference/residual`` (REML and ML) with mixedmodels
(in this process) and with nlme and glmmTMB (``Rscript
benchmarks/peers/residual_bench.R``), in one run, and writes a table of the
minimum time per fit (the first repetition is a warm-up), the ratio of each
peer's time to mixedmodels', and each log-likelihood minus nlme's reference.
glmmTMB expresses AR1 as ``ar1(pos + 0 | g)``, CAR1 as ``ou(times + 0 | g)``
(both with ``dispformula = ~ 0``) and varIdent as ``dispformula = ~ QB``.

Usage::

    python benchmarks/residual.py [--reps 5] [--budget 20] [--out benchmarks/results_residual]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "structures"))

from residual_cases import (  # noqa: E402
    RESIDUAL_CASES,
    RESIDUAL_DIR,
    SPECS,
    load_data,
    load_residual_case,
)

import mixedmodels as mm  # noqa: E402


def time_mixedmodels(case: str, reml: bool, reps: int, budget: float) -> dict:
    reference = load_residual_case(case)
    formula, correlation, variance = SPECS[case]
    data = load_data(reference["dataset"])
    times, spent, fit = [], 0.0, None
    for rep in range(reps):
        gc.collect()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = mm.lmer(formula, data, REML=reml, correlation=correlation, variance=variance)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
        if spent > budget and rep >= 1:
            break
    return {"seconds": min(times), "seconds_all": times, "logLik": fit.llf}


def run_r(reps: int, budget: float) -> dict:
    script = REPO / "benchmarks" / "peers" / "residual_bench.R"
    done = subprocess.run(
        ["Rscript", str(script), str(RESIDUAL_DIR / "data"), str(reps), str(budget)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results_residual")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    ours = {}
    for case in RESIDUAL_CASES:
        for method, reml in (("REML", True), ("ML", False)):
            ours[f"{case}-{method}"] = time_mixedmodels(case, reml, args.reps, args.budget)
    peers = run_r(args.reps, args.budget)
    rows = []
    for key, mine in ours.items():
        case, method = key.rsplit("-", 1)
        reference = load_residual_case(case)[method]["with_structure"]["logLik"]
        row = {
            "case": key,
            "mixedmodels_s": mine["seconds"],
            "mixedmodels_dll": mine["logLik"] - reference,
        }
        for peer in ("nlme", "glmmTMB"):
            result = peers.get(key, {}).get(peer, {})
            if "seconds" in result:
                row[f"{peer}_s"] = result["seconds"]
                row[f"{peer}_ratio"] = result["seconds"] / mine["seconds"]
                loglik = result["logLik"]
                row[f"{peer}_dll"] = loglik - reference if isinstance(loglik, float) else None
            else:
                row[f"{peer}_s"] = None
                row[f"{peer}_error"] = result.get("error", "not run")
        rows.append(row)
    report = {
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "versions": peers.get("versions"),
        "rows": rows,
        "raw": {"mixedmodels": ours, "R": peers},
    }
    (args.out / "residual.json").write_text(json.dumps(report, indent=2, default=float))
    lines = [
        "| case | mixedmodels s | nlme s | nlme / mm | glmmTMB s | glmmTMB / mm | "
        "logLik - nlme ref: mm, nlme, glmmTMB |",
        "|---|---|---|---|---|---|---|",
    ]

    def fmt(value, spec=".3f"):
        return "-" if value is None else format(value, spec)

    for row in rows:
        lines.append(
            f"| {row['case']} | {fmt(row['mixedmodels_s'])} | {fmt(row.get('nlme_s'))} | "
            f"{fmt(row.get('nlme_ratio'), '.1f')} | {fmt(row.get('glmmTMB_s'))} | "
            f"{fmt(row.get('glmmTMB_ratio'), '.1f')} | {fmt(row['mixedmodels_dll'], '.1e')}, "
            f"{fmt(row.get('nlme_dll'), '.1e')}, {fmt(row.get('glmmTMB_dll'), '.1e')} |"
        )
    table = "\n".join(lines)
    (args.out / "residual.md").write_text(table + "\n")
    print(table)
    print(f"load average before/after: {load_before} / {os.getloadavg()}")


if __name__ == "__main__":
    main()
