"""Interleaved fit times of mixedmodels from two or more source trees.

Usage::

    python benchmarks/compare_trees.py /work/baseline . [--cases reference factors]
                                       [--rounds 8] [--reps 5] [--out DIR]

Each tree's ``src/`` is put alone on ``PYTHONPATH`` of a fresh ``worker.py``
subprocess (the same worker, cases and data loading as ``run.py``). For every case,
the trees run one after the other, A, B, A, B, ..., for ``--rounds`` rounds; the
order within a round alternates (A B, then B A), so a slow spell of a shared machine
falls on every tree alike. The first fit of each subprocess is its warm-up and is
dropped; the others are pooled per tree. The table gives, per case and tree, the
minimum and the median over the pooled fits and the ratio of each to the first tree.

The cases, the worker and the data always come from this checkout: each case's data
is loaded once, with this checkout's package, and handed to every tree's worker as a
pickled DataFrame; only the package that fits it changes between trees.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import Case, load_case_data
from peers import run_python_peer
from run import select_cases

BENCH_DIR = Path(__file__).resolve().parent
SRC = BENCH_DIR.parent / "src"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    argparse.Namespace
    """
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", type=Path,
                    help="source trees (each holds src/mixedmodels); the first is the reference")
    ap.add_argument("--cases", nargs="*", default=["reference", "factors"],
                    help="case ids or groups as in run.py (default: reference factors)")
    ap.add_argument("--rounds", type=int, default=8,
                    help="rounds of one subprocess per tree and case (default 8)")
    ap.add_argument("--reps", type=int, default=5,
                    help="fits per subprocess, the first one a dropped warm-up (default 5)")
    ap.add_argument("--budget", type=float, default=10.0,
                    help="stop a subprocess's repetitions after this many seconds (default 10)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time fits by the wall clock (default) or by the worker's CPU "
                         "time, which leaves out waiting for a core on a busy machine")
    ap.add_argument("--threads", type=int, default=None,
                    help="pin OMP/OPENBLAS/MKL thread variables (default: inherit)")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for compare.json and compare.md (default: print only)")
    args = ap.parse_args(argv)
    if len(args.trees) < 2:
        ap.error("give at least two trees")
    for tree in args.trees:
        if not (tree / "src" / "mixedmodels").is_dir():
            ap.error(f"{tree} has no src/mixedmodels")
    return args


def tree_env(tree: Path, threads: int | None) -> dict[str, str]:
    """Environment of a worker that imports mixedmodels from ``tree`` only.

    Parameters
    ----------
    tree : Path
        Source tree.
    threads : int or None
        Thread count to pin, or None to inherit.

    Returns
    -------
    dict
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str((tree / "src").resolve())
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, if the platform has them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def pickled_data(case: Case, folder: Path) -> str:
    """The case's data, loaded once with this checkout's package, as a pickle.

    Every tree fits this same frame, whatever its own data loading (an older
    tree may lack the loader this checkout's ``cases.py`` uses).
    """
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    data, _ = load_case_data(case)
    path = folder / f"{case.id}.pkl"
    data.to_pickle(path)
    return str(path)


def run_case(case: Case, trees: list[Path], args: argparse.Namespace,
             data_path: str | None = None) -> dict[str, Any]:
    """Interleave the trees' subprocesses on one case.

    Parameters
    ----------
    case : Case
        The case.
    trees : list of Path
        Source trees.
    args : argparse.Namespace
        Options.

    Returns
    -------
    dict
        Per tree: pooled ``seconds`` (warm-ups dropped), ``loglik``, ``errors``.
    """
    pooled: dict[str, dict[str, Any]] = {
        str(t): {"seconds": [], "loglik": None, "errors": []} for t in trees}
    envs = {str(t): tree_env(t, args.threads) for t in trees}
    for rnd in range(args.rounds):
        order = trees if rnd % 2 == 0 else trees[::-1]
        for tree in order:
            key = str(tree)
            r = run_python_peer("mixedmodels", case, reps=args.reps, timeout=300.0,
                                budget=args.budget, env=envs[key], clock=args.clock,
                                data_path=data_path)
            if r["status"] != "ok":
                pooled[key]["errors"].append(r.get("error"))
                continue
            fits = r["seconds_all"]
            pooled[key]["seconds"] += fits[1:] if len(fits) > 1 else fits
            pooled[key]["loglik"] = r["loglik"]
    return pooled


def summarise(case: Case, pooled: dict[str, dict[str, Any]], trees: list[Path]) -> dict:
    """Min, median and ratios to the first tree of one case.

    Parameters
    ----------
    case : Case
    pooled : dict
        Output of :func:`run_case`.
    trees : list of Path

    Returns
    -------
    dict
    """
    rows: dict[str, Any] = {}
    ref = pooled[str(trees[0])]["seconds"]
    for tree in trees:
        secs = pooled[str(tree)]["seconds"]
        row: dict[str, Any] = {"n": len(secs), "loglik": pooled[str(tree)]["loglik"],
                               "errors": pooled[str(tree)]["errors"]}
        if secs:
            row["min_ms"] = 1e3 * min(secs)
            row["median_ms"] = 1e3 * statistics.median(secs)
            if ref:
                row["ratio_min"] = min(secs) / min(ref)
                row["ratio_median"] = statistics.median(secs) / statistics.median(ref)
        rows[str(tree)] = row
    return {"case": case.id, "nobs": case.nobs, "formula": case.formula, "trees": rows}


def _cell(row: dict[str, Any]) -> str:
    """One tree's table cell: min / median (ratios to the first tree)."""
    if "min_ms" not in row:
        return "error: " + "; ".join(str(e) for e in row["errors"][:1])
    text = f"{row['min_ms']:.2f} / {row['median_ms']:.2f}"
    if "ratio_min" in row:
        text += f" ({row['ratio_min']:.2f}x / {row['ratio_median']:.2f}x)"
    return text


def markdown(doc: dict[str, Any]) -> str:
    """The comparison as a markdown table.

    Parameters
    ----------
    doc : dict
        The full result document.

    Returns
    -------
    str
    """
    trees = doc["trees"]
    lines = [
        f"Interleaved fit times ({doc['clock']} clock), ms: min / median over "
        f"{doc['rounds']} rounds x {doc['reps'] - 1} fits per tree (ratio to `{trees[0]}`). "
        f"Load average at start {doc['load_start']}, at end {doc['load_end']}.",
        "",
        "| case | " + " | ".join(f"`{t}`" for t in trees) + " |",
        "|---" * (len(trees) + 1) + "|",
    ]
    for entry in doc["cases"]:
        cells = [_cell(entry["trees"][t]) for t in trees]
        lines.append(f"| {entry['case']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved comparison and print (and optionally write) the table.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        Exit code.
    """
    args = parse_args(argv)
    cases = select_cases(args.cases, scale=False)
    doc: dict[str, Any] = {
        "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "trees": [str(t) for t in args.trees], "rounds": args.rounds, "reps": args.reps,
        "clock": args.clock,
        "load_start": load_average(), "cases": [],
    }
    folder = Path(tempfile.mkdtemp(prefix="compare-trees-"))
    for case in cases:
        print(f"case {case.id}", file=sys.stderr, flush=True)
        pooled = run_case(case, args.trees, args, pickled_data(case, folder))
        entry = summarise(case, pooled, args.trees)
        doc["cases"].append(entry)
        cells = " | ".join(_cell(entry["trees"][str(t)]) for t in args.trees)
        print(f"  {cells}", file=sys.stderr, flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    doc["load_end"] = load_average()
    md = markdown(doc)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.json").write_text(json.dumps(doc, indent=1))
        (args.out / "compare.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
