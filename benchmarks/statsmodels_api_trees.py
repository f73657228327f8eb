"""Interleaved times of the statsmodels drop-in (``mixedmodels.api``) from two source trees.

Usage::

    python benchmarks/statsmodels_api_trees.py /work/baseline . [--rounds 5] [--out DIR]

Each case builds ``MixedLM`` (arrays or ``from_formula``) and fits it, in a fresh
subprocess per tree and round with that tree's ``src/`` alone on ``PYTHONPATH``;
the trees alternate (A B, then B A) so that a slow spell of a shared machine falls
on both alike. Per case and tree: construction and fit seconds (minimum and median
over the rounds; each subprocess times ``--reps`` repetitions after one warm-up and
keeps its minimum), and the log-likelihood, which must agree between the trees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_trees import tree_env

CASES = ("dietox_ri_formula", "dietox_rs_formula", "vc_nested_formula", "arrays_1e6")

WORKER = r'''
import json, sys, time, warnings
import numpy as np
import pandas as pd
import mixedmodels.api as sm
import mixedmodels.formula.api as smf

warnings.simplefilter("ignore")
case, reps = sys.argv[1], int(sys.argv[2])


def data_for(case):
    if case.startswith("dietox"):
        return sm.datasets.get_rdataset("dietox", "geepack").data
    rng = np.random.default_rng(7)
    if case == "vc_nested_formula":  # classrooms nested in schools, statsmodels' idiom
        n_school, n_class, size = 100, 8, 10
        school = np.repeat(np.arange(n_school), n_class * size)
        room = np.tile(np.repeat(np.arange(n_class), size), n_school)
        y = rng.normal(size=n_school)[school] + rng.normal(size=(n_school, n_class))[school, room]
        x = rng.normal(size=len(school))
        return pd.DataFrame({"y": y + x + rng.normal(size=len(x)), "x": x, "school": school,
                             "room": room})
    n, groups = 1_000_000, 10_000
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    y = 1 + x + rng.normal(size=groups)[g] + 0.5 * rng.normal(size=groups)[g] * x
    return {"endog": y + rng.normal(size=n), "exog": np.column_stack([np.ones(n), x]),
            "groups": g, "exog_re": np.column_stack([np.ones(n), x])}


def build(case, data):
    if case == "dietox_ri_formula":
        return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"])
    if case == "dietox_rs_formula":
        return smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time")
    if case == "vc_nested_formula":
        return smf.mixedlm("y ~ x", data, groups="school", re_formula="1",
                           vc_formula={"room": "0 + C(room)"})
    return sm.MixedLM(**data)


data = data_for(case)
best_build = best_fit = float("inf")
for rep in range(reps + 1):
    start = time.perf_counter()
    model = build(case, data)
    built = time.perf_counter()
    fit = model.fit()
    done = time.perf_counter()
    if rep:  # the first repetition is the warm-up
        best_build, best_fit = min(best_build, built - start), min(best_fit, done - built)
print(json.dumps({"build": best_build, "fit": best_fit, "llf": float(fit.llf)}))
'''


def run(tree: Path, case: str, reps: int) -> dict:
    env = tree_env(tree, threads=1)
    output = subprocess.run([sys.executable, "-c", WORKER, case, str(reps)], env=env,
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs=2, type=Path)
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    lines = ["| case | tree | build s (min / median) | fit s (min / median) | llf |",
             "|---|---|---|---|---|"]
    for case in args.cases:
        pooled: dict[Path, list[dict]] = {tree: [] for tree in args.trees}
        for round_ in range(args.rounds):
            order = args.trees if round_ % 2 == 0 else args.trees[::-1]
            for tree in order:
                pooled[tree].append(run(tree, case, args.reps if case != "arrays_1e6" else 1))
        reference = None
        for tree in args.trees:
            rows = pooled[tree]
            build = [row["build"] for row in rows]
            fit = [row["fit"] for row in rows]
            if reference is None:
                reference = (min(build), min(fit))
            ratio = f"{min(build) / reference[0]:.2f}x / {min(fit) / reference[1]:.2f}x"
            lines.append(
                f"| {case} | {tree} ({ratio}) | {min(build):.4f} / {statistics.median(build):.4f} "
                f"| {min(fit):.4f} / {statistics.median(fit):.4f} | {rows[0]['llf']:.6f} |"
            )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "statsmodels_api_trees.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
