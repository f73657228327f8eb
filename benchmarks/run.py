"""Side-by-side speed benchmark of mixedmodels against other LMM implementations.

Usage::

    python benchmarks/run.py [--cases ID ...] [--peers NAME ...] [--reps N] [--scale]
                             [--scale-lme4] [--out benchmarks/results]

Every (case, peer) pair is fitted in a fresh subprocess, one after the other, with
a per-fit timeout.  See ``benchmarks/README.md`` for the meaning of the output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
import synthetic
from cases import Case, factor_cases, reference_cases
from peers import MARKER, PEER_MODULES, empty_result

BENCH_DIR = Path(__file__).resolve().parent
GROUPS = ("reference", "factors", "scale", "slopes", "crossed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        Parsed options.
    """
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", metavar="ID",
                    help="case ids, or groups: reference, scale, slopes, crossed "
                         "(default: every reference case, plus scale cases with --scale)")
    ap.add_argument("--peers", nargs="+", choices=list(PEER_MODULES), metavar="NAME",
                    help=f"peers to run (default: all of {', '.join(PEER_MODULES)})")
    ap.add_argument("--reps", type=int, default=5,
                    help="repetitions per fit for cases under 100,000 rows (default 5); "
                         "the first is a warm-up but counts")
    ap.add_argument("--reps-large", type=int, default=2,
                    help="repetitions for cases with >= 100,000 rows (default 2)")
    ap.add_argument("--budget", type=float, default=60.0,
                    help="stop repeating once one peer's fits of a case took this many "
                         "seconds in total (default 60)")
    ap.add_argument("--timeout", type=float, default=150.0,
                    help="per-fit timeout in seconds (default 150)")
    ap.add_argument("--scale-timeout", type=float, default=600.0,
                    help="per-fit timeout for synthetic scale cases (default 600); "
                         "statsmodels always uses --timeout")
    ap.add_argument("--load-timeout", type=float, default=600.0,
                    help="timeout for subprocess start-up and data loading (default 600)")
    ap.add_argument("--scale", action="store_true",
                    help="add the synthetic scale cases (up to 10,000,000 rows)")
    ap.add_argument("--scale-lme4", action="store_true",
                    help="also run lme4 on synthetic cases (writes CSVs to a temp dir; slow)")
    ap.add_argument("--threads", type=int, default=None,
                    help="set OMP/OPENBLAS/MKL/RAYON thread counts of every peer process")
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="address-space cap per peer process (default 75%% of RAM; 0 = none)")
    ap.add_argument("--loader", choices=("auto", "mixedmodels", "csv"), default="auto",
                    help="how Python peers load reference data sets (default: "
                         "mixedmodels.datasets.load if importable, else CSV + schema)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "results",
                    help="output folder (default benchmarks/results)")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG")
    return ap.parse_args(argv)


def select_cases(names: list[str] | None, scale: bool) -> list[Case]:
    """Resolve ``--cases`` / ``--scale`` into the list of cases to run.

    Parameters
    ----------
    names : list of str or None
        Case ids or group names.
    scale : bool
        Whether ``--scale`` was given.

    Returns
    -------
    list of Case
        Cases in run order (reference cases first, synthetic ones by size).
    """
    ref = reference_cases() + factor_cases()
    synth = synthetic.scale_cases()
    if not names:
        return ref + (synth if scale else [])
    every = {c.id: c for c in ref + synth}
    wanted: list[Case] = []
    for name in names:
        if name == "reference":
            wanted += ref
        elif name == "scale":
            wanted += synth
        elif name == "factors":
            wanted += [c for c in ref if c.family == "factors"]
        elif name in ("slopes", "crossed"):
            wanted += [c for c in synth if c.family == name]
        elif name in every:
            wanted.append(every[name])
        else:
            sys.exit(f"unknown case {name!r}; known: {', '.join([*GROUPS, *every])}")
    if scale:
        wanted += synth
    order = {c.id: i for i, c in enumerate(ref + synth)}
    return sorted({c.id: c for c in wanted}.values(), key=lambda c: order[c.id])


def child_env(threads: int | None) -> dict[str, str]:
    """Return the environment for peer subprocesses.

    Parameters
    ----------
    threads : int or None
        Thread count to pin, or None to inherit.

    Returns
    -------
    dict
        Environment; ``PYTHONPATH`` gains ``src/`` so an uninstalled mixedmodels
        checkout is importable.
    """
    env = dict(os.environ)
    src = str(BENCH_DIR.parent / "src")
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src not in parts:
        env["PYTHONPATH"] = os.pathsep.join([*parts, src])
    if threads:
        for var in report.THREAD_VARS:
            env[var] = str(threads)
    return env


def probe_peers(names: list[str], env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Find out which peers can run, and their versions.

    Parameters
    ----------
    names : list of str
        Peer display names.
    env : dict
        Environment for the probe subprocesses.

    Returns
    -------
    dict
        Peer -> ``{"available", "version", "error"}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        module = PEER_MODULES[name]
        info: dict[str, Any] = {"available": False, "version": None, "error": None}
        try:
            if name == "lme4":
                info["version"] = importlib.import_module("peers.lme4").version()
                info["available"] = True
            else:
                cmd = [sys.executable, str(BENCH_DIR / "worker.py"), "--peer", module,
                       "--probe"]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                      timeout=300)
                events = [json.loads(line[len(MARKER):]) for line in proc.stdout.splitlines()
                          if line.startswith(MARKER)]
                ev = events[-1] if events else {"event": "error",
                                                "message": proc.stderr.strip()[-300:]}
                if ev["event"] == "ready":
                    info.update(available=True, version=ev.get("version"))
                else:
                    info["error"] = ev.get("message")
        except Exception as exc:
            info["error"] = f"{type(exc).__name__}: {exc}"
        out[name] = info
        state = info["version"] if info["available"] else f"UNAVAILABLE ({info['error']})"
        print(f"peer {name}: {state}", file=sys.stderr, flush=True)
    return out


def mem_limit_bytes(gb: float | None) -> int | None:
    """Return the per-process address-space cap in bytes.

    Parameters
    ----------
    gb : float or None
        Requested GiB; None means 75% of physical RAM, 0 means no cap.

    Returns
    -------
    int or None
        Cap in bytes.
    """
    if gb is None:
        total = report.machine_info().get("mem_total_gb")
        return int(0.75 * total * 2**30) if total else None
    return int(gb * 2**30) if gb > 0 else None


def run_one(peer: str, case: Case, args: argparse.Namespace, env: dict[str, str],
            mem_limit: int | None, tmpdir: Path) -> dict[str, Any]:
    """Fit one case with one peer.

    Parameters
    ----------
    peer : str
        Peer display name.
    case : Case
        The case.
    args : argparse.Namespace
        Command-line options.
    env : dict
        Environment of the subprocess.
    mem_limit : int or None
        Address-space cap.
    tmpdir : Path
        Folder for synthetic CSVs (lme4 only).

    Returns
    -------
    dict
        Peer result.
    """
    mod = importlib.import_module(f"peers.{PEER_MODULES[peer]}")
    reps = min(args.reps, args.reps_large) if case.is_large else args.reps
    timeout = args.timeout
    if case.kind == "synthetic" and peer != "statsmodels":
        timeout = max(args.timeout, args.scale_timeout)
    opts: dict[str, Any] = {"load_timeout": args.load_timeout, "budget": args.budget,
                            "env": env, "mem_limit": mem_limit}
    if peer != "lme4":
        opts["loader"] = args.loader
    elif case.kind == "synthetic":
        if not args.scale_lme4:
            return empty_result("skipped", "synthetic case: pass --scale-lme4 to run lme4")
        print(f"  writing {case.id} as CSV for R ...", file=sys.stderr, flush=True)
        opts["csv"], opts["schema"] = synthetic.write_csv(case, tmpdir)
    try:
        return mod.fit(case, reps=max(reps, 1), timeout=timeout, **opts)
    finally:
        for key in ("csv", "schema"):
            if key in opts:
                Path(opts[key]).unlink(missing_ok=True)


def _progress(case: Case, peer: str, r: dict[str, Any]) -> None:
    """Print one progress line to stderr.

    Parameters
    ----------
    case : Case
        The case.
    peer : str
        Peer name.
    r : dict
        Its result.
    """
    if r["status"] == "ok":
        msg = (f"{r['seconds_min']:.4g} s min of {len(r['seconds_all'])}, "
               f"logLik {r['loglik']}, converged {r['converged']}")
        if r.get("error"):
            msg += f" ({r['error']})"
    else:
        msg = f"{r['status']}: {r.get('error')}"
    print(f"  {case.id:28s} {peer:12s} {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write ``results.json``, ``results.md`` and the plot.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    int
        Exit code.
    """
    args = parse_args(argv)
    cases = select_cases(args.cases, args.scale)
    peers = args.peers or list(PEER_MODULES)
    peers = [p for p in PEER_MODULES if p in peers]
    env = child_env(args.threads)
    mem_limit = mem_limit_bytes(args.mem_limit_gb)
    args.out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])],
        "machine": report.machine_info(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "mem_limit_bytes": mem_limit,
        "wrong_optimum_rel_tol": report.REL_TOL,
        "peers": probe_peers(peers, env),
        "cases": [],
    }
    failed_at: dict[tuple[str, str], dict[str, Any]] = {}  # (peer, family) -> failure
    tmpdir = Path(tempfile.mkdtemp(prefix="mixedmodels-bench-"))
    try:
        for case in cases:
            print(f"case {case.id} (nobs={case.nobs:,}, {case.formula}, REML={case.reml})",
                  file=sys.stderr, flush=True)
            entry: dict[str, Any] = {**json.loads(case.to_json()), "results": {}}
            for peer in peers:
                info = doc["peers"][peer]
                key = (peer, case.family)
                if not info["available"]:
                    r = empty_result("unavailable", info["error"])
                elif case.kind == "synthetic" and key in failed_at:
                    prev = failed_at[key]
                    if prev["status"] == "unsupported":
                        r = empty_result("unsupported", prev["error"])
                    else:
                        r = empty_result("skipped", f"{prev['status']} on smaller case "
                                                    f"{prev['case']}")
                else:
                    r = run_one(peer, case, args, env, mem_limit, tmpdir)
                    if case.kind == "synthetic" and r["status"] not in ("ok", "skipped"):
                        failed_at[key] = {"case": case.id, "status": r["status"],
                                          "error": r.get("error")}
                if r.get("input_bytes") and peer != "lme4":
                    entry.setdefault("input_bytes", r["input_bytes"])
                entry["results"][peer] = r
                _progress(case, peer, r)
            report.annotate_case(entry)
            doc["cases"].append(entry)
            (args.out / "results.json").write_text(json.dumps(doc, indent=1))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    md = report.markdown(doc)
    (args.out / "results.md").write_text(md)
    (args.out / "results.json").write_text(json.dumps(doc, indent=1))
    if not args.no_plot:
        report.plot_time_vs_size(doc, args.out / "fit_time_vs_size.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
