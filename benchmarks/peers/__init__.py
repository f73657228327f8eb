"""Peer registry and the subprocess runner shared by every peer.

Each peer lives in its own module ``peers/<name>.py`` and exposes

``NAME``
    Display name.
``version() -> str | None``
    Version string (imports the library in the current process).
``fit(case, reps=5, timeout=150.0, **options) -> dict``
    Runs the repetitions in a fresh subprocess and returns a result dict with at
    least ``seconds_min``, ``seconds_all``, ``loglik``, ``converged`` and ``error``.

Python peers additionally expose ``prepare(case, data) -> Callable[[], FitOutcome]``,
which ``worker.py`` calls inside the subprocess; the returned callable is what is
timed (model construction from the data frame plus the fit).

The subprocess speaks a line protocol on stdout: lines starting with ``MARKER``
followed by a JSON event (``ready``, ``rep``, ``error``, ``done``); all other
output is ignored.  A per-fit timeout is enforced between ``rep`` events.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "MARKER",
    "PEER_MODULES",
    "FitOutcome",
    "empty_result",
    "run_python_peer",
    "run_streaming",
]

MARKER = "@@BENCH@@ "

#: Peer display name -> module name inside this package, in table order.
PEER_MODULES: dict[str, str] = {
    "mixedmodels": "mixedmodels",
    "statsmodels": "statsmodels",
    "mixedlm": "mixedlm",
    "mixedlm-rs": "mixedlm_rs",
    "lme4": "lme4",
}

BENCH_DIR = Path(__file__).resolve().parent.parent


class FitOutcome(NamedTuple):
    """What one timed fit returns.

    Attributes
    ----------
    loglik : float
        Log-likelihood (REML criterion based for REML fits, as in lme4).
    converged : bool or None
        The peer's own convergence flag (None if it has none).
    """

    loglik: float
    converged: bool | None


def empty_result(status: str, error: str | None = None) -> dict[str, Any]:
    """Return a result dict with no timings.

    Parameters
    ----------
    status : str
        One of ``ok``, ``unsupported``, ``unavailable``, ``timeout``, ``error``,
        ``skipped``.
    error : str or None, optional
        Message explaining the status.

    Returns
    -------
    dict
        Result with every standard key present.
    """
    return {
        "status": status, "error": error, "seconds_min": None, "seconds_all": [],
        "loglik": None, "converged": None, "version": None, "rss_ready_mb": None,
        "peak_rss_mb": None, "input_bytes": None, "data_source": None,
    }


def _cap_memory(pid: int, limit_bytes: int | None) -> None:
    """Cap the address space of a running child (best effort).

    Parameters
    ----------
    pid : int
        Child process id.
    limit_bytes : int or None
        ``RLIMIT_AS`` in bytes; None for no cap.
    """
    if limit_bytes:
        try:
            resource.prlimit(pid, resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        except (OSError, ValueError):
            pass


def _pump(stream: Any, q: queue.Queue[dict[str, Any] | None]) -> None:
    """Forward protocol events from ``stream`` to ``q``; put None at EOF.

    Parameters
    ----------
    stream : file object
        The child's stdout (text mode).
    q : queue.Queue
        Destination queue.
    """
    for line in stream:
        if line.startswith(MARKER):
            try:
                q.put(json.loads(line[len(MARKER):]))
            except json.JSONDecodeError:
                continue
    q.put(None)


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill the child's whole process group (it was started with ``setsid``).

    Parameters
    ----------
    proc : subprocess.Popen
        The child process.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_streaming(cmd: list[str], *, timeout: float, load_timeout: float,
                  env: dict[str, str] | None = None,
                  mem_limit: int | None = None) -> dict[str, Any]:
    """Run a worker command and collect its protocol events into a result dict.

    Parameters
    ----------
    cmd : list of str
        Command line of the worker (Python ``worker.py`` or ``Rscript``).
    timeout : float
        Seconds allowed for each single fit (between consecutive events after
        ``ready``).
    load_timeout : float
        Seconds allowed for start-up and data loading (until ``ready``).
    env : dict, optional
        Environment of the child.
    mem_limit : int or None, optional
        Address-space cap in bytes for the child.

    Returns
    -------
    dict
        Result dict (see :func:`empty_result`) with ``status`` set.
    """
    res = empty_result("error")
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                env=env, start_new_session=True)
        _cap_memory(proc.pid, mem_limit)
        q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, q), daemon=True).start()
        ready = False
        deadline = time.monotonic() + load_timeout
        while True:
            try:
                ev = q.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                _kill(proc)
                what = "fit" if ready else "start-up/data loading"
                limit = timeout if ready else load_timeout
                res["status"] = "timeout"
                res["error"] = f"{what} exceeded {limit:g} s"
                break
            if ev is None:  # EOF
                proc.wait()
                if res["status"] == "error" and res["error"] is None:
                    err.seek(0)
                    tail = err.read()[-1500:].strip()
                    res["error"] = f"worker exited with code {proc.returncode}: {tail}"
                break
            kind = ev.pop("event")
            if kind == "ready":
                ready = True
                res.update(ev)
            elif kind == "rep":
                res["seconds_all"].append(ev["seconds"])
                res["loglik"] = ev.get("loglik")
                res["converged"] = ev.get("converged")
                res["status"] = "ok"
            elif kind == "error":
                res["status"] = ev.get("kind", "error")
                res["error"] = ev.get("message")
            elif kind == "done":
                res.update(ev)
            deadline = time.monotonic() + (timeout if ready else load_timeout)
        if proc.poll() is None:
            _kill(proc)
    if res["seconds_all"]:
        res["seconds_min"] = min(res["seconds_all"])
        if res["status"] == "timeout":  # later repetition timed out: keep the rest
            res["status"] = "ok"
            res["error"] = (f"stopped after {len(res['seconds_all'])} repetition(s): "
                            f"{res['error']}")
    return res


def run_python_peer(module: str, case: Any, *, reps: int, timeout: float,
                    load_timeout: float = 600.0, budget: float = 60.0,
                    loader: str = "auto", env: dict[str, str] | None = None,
                    mem_limit: int | None = None, clock: str = "wall",
                    data_path: str | None = None) -> dict[str, Any]:
    """Fit a case with a Python peer in a fresh ``worker.py`` subprocess.

    Parameters
    ----------
    module : str
        Peer module name inside this package.
    case : Case
        The case to fit.
    reps : int
        Maximum number of repetitions (the first is the warm-up).
    timeout : float
        Per-fit timeout in seconds.
    load_timeout : float, optional
        Timeout for start-up and data generation/loading.
    budget : float, optional
        Stop repeating once the fits so far took more than this many seconds.
    loader : str, optional
        Data set loader (see ``cases.load_dataset``).
    env : dict, optional
        Environment of the child (defaults to the current one).
    mem_limit : int or None, optional
        Address-space cap in bytes for the child.
    clock : {"wall", "cpu"}, optional
        What the worker times (see ``worker.run``).
    data_path : str, optional
        A pickled DataFrame to fit instead of the case's own data loading.

    Returns
    -------
    dict
        Result dict.
    """
    cmd = [sys.executable, str(BENCH_DIR / "worker.py"), "--peer", module,
           "--case", case.to_json(), "--reps", str(reps), "--budget", str(budget),
           "--loader", loader, "--clock", clock]
    if data_path is not None:
        cmd += ["--data", data_path]
    return run_streaming(cmd, timeout=timeout, load_timeout=load_timeout, env=env,
                         mem_limit=mem_limit)
