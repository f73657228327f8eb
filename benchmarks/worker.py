"""Subprocess entry point: fit one case with one Python peer and stream events.

Run by ``peers.run_python_peer``; not meant to be called by hand, except for the
``--probe`` mode which prints the peer's version (or why it is unavailable).

Events (one JSON object per line, prefixed by ``peers.MARKER``):

``ready``
    ``version``, ``data_source``, ``input_bytes``, ``rss_ready_mb``.
``rep``
    ``seconds``, ``loglik``, ``converged`` of one timed fit.
``error``
    ``kind`` (``unavailable``, ``unsupported``, ``error``) and ``message``.
``done``
    ``peak_rss_mb``: high-water resident set size of this process.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import Case, load_case_data
from lme4_formula import Unsupported
from peers import MARKER


def emit(event: str, **fields: Any) -> None:
    """Print one protocol event to stdout and flush.

    Parameters
    ----------
    event : str
        Event name.
    **fields
        JSON-serialisable payload.
    """
    payload = {"event": event, **fields}
    sys.stdout.write(MARKER + json.dumps(payload) + "\n")
    sys.stdout.flush()


def _peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux ``ru_maxrss``).

    Returns
    -------
    float
        Peak RSS in MiB.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float | None:
    """Return the current resident set size in MiB, if it can be read.

    Returns
    -------
    float or None
        Current RSS in MiB.
    """
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except Exception:
        return None


def _describe(exc: BaseException) -> str:
    """Format an exception as ``Type: message`` (message truncated).

    Parameters
    ----------
    exc : BaseException
        The exception.

    Returns
    -------
    str
        Short description.
    """
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    return f"{type(exc).__name__}: {first[:400]}"


def _classify(exc: BaseException) -> str:
    """Map an exception to a result status.

    Parameters
    ----------
    exc : BaseException
        The exception raised while preparing or running a fit.

    Returns
    -------
    str
        ``unsupported`` or ``error``.
    """
    if isinstance(exc, Unsupported | NotImplementedError):
        return "unsupported"
    return "error"


def probe(module: str) -> int:
    """Print the peer's version as an event, or why it is unavailable.

    Parameters
    ----------
    module : str
        Peer module name.

    Returns
    -------
    int
        Exit code.
    """
    try:
        peer = importlib.import_module(f"peers.{module}")
        emit("ready", version=peer.version())
    except Exception as exc:
        emit("error", kind="unavailable", message=_describe(exc))
    return 0


def run(module: str, case: Case, reps: int, budget: float, loader: str,
        clock: str = "wall", data_path: str | None = None) -> int:
    """Load the data, then time up to ``reps`` fits of ``case`` with one peer.

    Parameters
    ----------
    module : str
        Peer module name.
    case : Case
        The case.
    reps : int
        Maximum number of repetitions; the first counts as warm-up but is kept.
    budget : float
        Stop repeating once the cumulative fit time exceeds this (seconds).
    loader : str
        Data set loader for reference cases.
    clock : {"wall", "cpu"}
        ``time.perf_counter`` (the default) or this process's CPU time
        (``time.process_time``: on a busy machine, time spent waiting for a core
        is left out).
    data_path : str, optional
        A pickled DataFrame to fit instead of loading the case's data (used by
        ``compare_trees.py``, so every source tree fits the same frame).

    Returns
    -------
    int
        Exit code.
    """
    try:
        peer = importlib.import_module(f"peers.{module}")
        version = peer.version()
    except Exception as exc:
        emit("error", kind="unavailable", message=_describe(exc))
        return 0
    try:
        if data_path is not None:
            data, source = pd.read_pickle(data_path), "pickle"
        else:
            data, source = load_case_data(case, loader)
    except Exception as exc:
        emit("error", kind="error", message="data loading failed: " + _describe(exc))
        return 0
    emit("ready", version=version, data_source=source,
         input_bytes=int(data.memory_usage(deep=True).sum()),
         rss_ready_mb=_current_rss_mb())
    try:
        fitter = peer.prepare(case, data)
    except Exception as exc:
        emit("error", kind=_classify(exc), message=_describe(exc))
        return 0
    timer = time.process_time if clock == "cpu" else time.perf_counter
    total = 0.0
    for _ in range(reps):
        gc.collect()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = timer()
                outcome = fitter()
                dt = timer() - t0
        except MemoryError as exc:
            emit("error", kind="error", message="out of memory: " + _describe(exc))
            return 0
        except Exception as exc:
            traceback.print_exc()
            emit("error", kind=_classify(exc), message=_describe(exc))
            return 0
        loglik = float(outcome.loglik)
        emit("rep", seconds=dt, loglik=loglik if math.isfinite(loglik) else None,
             converged=None if outcome.converged is None else bool(outcome.converged))
        total += dt
        if total > budget:
            break
    emit("done", peak_rss_mb=_peak_rss_mb())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the worker.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    int
        Exit code.
    """
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--peer", required=True, help="peer module name")
    ap.add_argument("--probe", action="store_true", help="only report the version")
    ap.add_argument("--case", help="case as JSON (see cases.Case.to_json)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--loader", default="auto")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--data", default=None, help="pickled DataFrame to fit")
    args = ap.parse_args(argv)
    if args.probe:
        return probe(args.peer)
    return run(args.peer, Case.from_json(args.case), args.reps, args.budget, args.loader,
               args.clock, args.data)


if __name__ == "__main__":
    sys.exit(main())
