"""Instructions per fit of mixedmodels from two or more source trees (valgrind callgrind).

Usage::

    python benchmarks/callgrind_trees.py /work/baseline . [--cases reference]
                                         [--warmups 3] [--fits 5] [--jobs 2] [--out DIR]

A count of executed instructions does not depend on the load of a shared machine, so
two trees can be compared to a fraction of a percent where the wall clock moves by
10 %. For every case and tree, one ``valgrind --tool=callgrind --instr-atstart=no``
process imports the tree's package (``PYTHONPATH`` = the tree's ``src/`` only), loads
the case's data (pickled once by this checkout, as ``compare_trees.py`` does), runs
the warm-up fits uninstrumented, then switches instrumentation on around each of the
counted fits only (``CALLGRIND_START_INSTRUMENTATION`` / ``STOP``, through a tiny C
helper compiled here with the system compiler and valgrind's ``callgrind.h``).
``gc.collect()`` runs before each fit, outside the count, as in ``worker.py``. BLAS
and OpenMP run with one thread (a spinning BLAS thread would add instructions).

The table gives instructions (Ir) per fit and the ratio to the first tree. The
callgrind output files are kept in ``--out``/``callgrind/`` for ``callgrind_annotate``.
Needs ``valgrind``, ``gcc`` (or ``$CC``) and ``valgrind/callgrind.h``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import Case

BENCH_DIR = Path(__file__).resolve().parent
SRC = BENCH_DIR.parent / "src"

HELPER_C = r"""
#include <valgrind/callgrind.h>
void mm_count_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void mm_count_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""

#: Cases at or above this many rows get one warm-up and one counted fit.
LARGE_ROWS = 50_000


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
    ap.add_argument("trees", nargs="*", type=Path,
                    help="source trees (each holds src/mixedmodels); the first is the reference")
    ap.add_argument("--cases", nargs="*", default=["reference"],
                    help="case ids or groups as in run.py (default: reference)")
    ap.add_argument("--warmups", type=int, default=3, help="uncounted fits first (default 3)")
    ap.add_argument("--fits", type=int, default=5, help="counted fits (default 5)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="valgrind processes at once (the counts do not depend on it)")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for callgrind.json, callgrind.md and the callgrind files")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is None:
        if len(args.trees) < 2:
            ap.error("give at least two trees")
        for tree in args.trees:
            if not (tree / "src" / "mixedmodels").is_dir():
                ap.error(f"{tree} has no src/mixedmodels")
    return args


def build_helper(folder: Path) -> Path:
    """Compile the start/stop helper into a shared library in ``folder``.

    Parameters
    ----------
    folder : Path
        Where the source and the library go.

    Returns
    -------
    Path
        The shared library.
    """
    source = folder / "mm_count.c"
    source.write_text(HELPER_C)
    library = folder / "mm_count.so"
    compiler = os.environ.get("CC", "gcc")
    subprocess.run([compiler, "-O0", "-shared", "-fPIC", "-o", str(library), str(source)],
                   check=True)
    return library


def worker(spec_json: str) -> int:
    """Inside valgrind: warm up, then count ``fits`` fits (instrumented only then).

    Parameters
    ----------
    spec_json : str
        JSON with ``case``, ``data``, ``helper``, ``warmups`` and ``fits``.

    Returns
    -------
    int
        Exit code.
    """
    import ctypes
    import gc
    import warnings

    import pandas as pd
    from peers.mixedmodels import prepare

    spec = json.loads(spec_json)
    helper = ctypes.CDLL(spec["helper"])
    fit = prepare(Case.from_json(spec["case"]), pd.read_pickle(spec["data"]))
    warnings.simplefilter("ignore")
    logliks = []
    for i in range(spec["warmups"] + spec["fits"]):
        gc.collect()
        counted = i >= spec["warmups"]
        if counted:
            helper.mm_count_start()
        outcome = fit()
        if counted:
            helper.mm_count_stop()
        logliks.append(outcome.loglik)
    print(json.dumps({"loglik": logliks[-1]}))
    return 0


def run_one(case: Case, tree: Path, data: str, helper: Path, out: Path,
            warmups: int, fits: int) -> dict[str, Any]:
    """Run one tree's valgrind process on one case and read its instruction count.

    Parameters
    ----------
    case : Case
    tree : Path
    data : str
        Pickled data frame.
    helper : Path
        The start/stop library.
    out : Path
        Folder for the callgrind output file.
    warmups, fits : int

    Returns
    -------
    dict
        ``ir`` (total over the counted fits), ``ir_per_fit``, ``fits``, ``loglik``,
        ``file``, or ``error``.
    """
    from compare_trees import tree_env

    env = tree_env(tree, threads=1)
    env["PYTHONHASHSEED"] = "0"
    env["NUMBA_NUM_THREADS"] = "1"
    label = re.sub(r"[^A-Za-z0-9]+", "_", str(tree.resolve())).strip("_")
    outfile = out / f"{case.id}.{label}.callgrind"
    spec = json.dumps({"case": case.to_json(), "data": data, "helper": str(helper),
                       "warmups": warmups, "fits": fits})
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
           f"--callgrind-out-file={outfile}", sys.executable, str(Path(__file__).resolve()),
           "--worker", spec]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    text = outfile.read_text(errors="replace")
    # "summary:" is written when the run starts (0 with instrumentation off); the
    # counted total is the "totals:" line at the end.
    match = re.search(r"^totals:\s*(\d+)", text, re.M)
    if match is None:
        return {"error": ["no totals line in the callgrind file"]}
    ir = int(match.group(1))
    loglik = json.loads(proc.stdout.strip().splitlines()[-1])["loglik"]
    return {"ir": ir, "ir_per_fit": ir / fits, "fits": fits, "loglik": loglik,
            "file": outfile.name}


def markdown(doc: dict[str, Any]) -> str:
    """The comparison as a markdown table (millions of instructions per fit).

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
        "Instructions per fit (valgrind callgrind, millions; counted fits after "
        "uncounted warm-ups, ratio to the first tree).",
        "",
        "| case | fits | " + " | ".join(f"`{t}`" for t in trees) + " |",
        "|---|---" + "|---" * len(trees) + "|",
    ]
    for entry in doc["cases"]:
        ref = entry["trees"][trees[0]].get("ir_per_fit")
        cells = []
        for tree in trees:
            row = entry["trees"][tree]
            if "ir_per_fit" not in row:
                cells.append("error: " + "; ".join(row.get("error", [])))
                continue
            text = f"{row['ir_per_fit'] / 1e6:,.1f}"
            if ref:
                text += f" ({row['ir_per_fit'] / ref:.3f}x)"
            cells.append(text)
        fits = entry["trees"][trees[0]].get("fits", "")
        lines.append(f"| {entry['case']} | {fits} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Count instructions per fit for every case and tree, and print the table.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        Exit code.
    """
    args = parse_args(argv)
    if args.worker is not None:
        return worker(args.worker)
    from compare_trees import pickled_data
    from run import select_cases

    cases = select_cases(args.cases, scale=False)
    scratch = Path(tempfile.mkdtemp(prefix="callgrind-trees-"))
    out = (args.out / "callgrind") if args.out is not None else scratch
    out.mkdir(parents=True, exist_ok=True)
    helper = build_helper(scratch)
    doc: dict[str, Any] = {
        "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "trees": [str(t) for t in args.trees], "warmups": args.warmups,
        "fits": args.fits, "cases": [],
    }
    jobs = []
    with futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for case in cases:
            large = case.nobs >= LARGE_ROWS
            warmups, fits = (1, 1) if large else (args.warmups, args.fits)
            data = pickled_data(case, scratch)
            runs = {str(t): pool.submit(run_one, case, t, data, helper, out, warmups, fits)
                    for t in args.trees}
            jobs.append((case, runs))
        for case, runs in jobs:
            entry = {"case": case.id, "trees": {t: r.result() for t, r in runs.items()}}
            doc["cases"].append(entry)
            print(markdown({**doc, "cases": [entry]}).splitlines()[-1], file=sys.stderr,
                  flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    md = markdown(doc)
    if args.out is not None:
        (args.out / "callgrind.json").write_text(json.dumps(doc, indent=1))
        (args.out / "callgrind.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
