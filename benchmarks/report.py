"""Post-processing of benchmark results: optimum checks, ratios, tables, plot."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "REL_TOL",
    "annotate_case",
    "machine_info",
    "markdown",
    "plot_time_vs_size",
]

#: A fit whose logLik is more than this relative amount below the best logLik
#: reached by any peer on the same case is marked "wrong optimum".
REL_TOL = 1e-4
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "RAYON_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def annotate_case(entry: dict[str, Any], target: str = "mixedmodels") -> None:
    """Add optimum checks and the speed ratio to one case entry, in place.

    Sets, per peer result, ``loglik_minus_ref`` and ``wrong_optimum``; and, per
    case, ``best_loglik``, ``fastest_other`` (fastest peer other than ``target``
    among fits that are not at a wrong optimum) and ``ratio`` (``target``'s
    minimum time divided by that peer's).

    Parameters
    ----------
    entry : dict
        Case entry with ``ref_loglik`` and ``results`` (peer -> result dict).
    target : str, optional
        The peer whose speed is compared with the others.
    """
    results: dict[str, dict[str, Any]] = entry["results"]
    ref = entry.get("ref_loglik")
    ok = {p: r for p, r in results.items()
          if r.get("status") == "ok" and r.get("loglik") is not None}
    best = max((r["loglik"] for r in ok.values()), default=None)
    entry["best_loglik"] = best
    for r in results.values():
        ll = r.get("loglik")
        r["loglik_minus_ref"] = None if ll is None or ref is None else ll - ref
        r["wrong_optimum"] = bool(
            ll is not None and best is not None
            and ll < best - REL_TOL * max(abs(best), 1.0)
        )
    others = {p: r for p, r in ok.items()
              if p != target and not r["wrong_optimum"] and r.get("seconds_min") is not None}
    fastest = min(others, key=lambda p: others[p]["seconds_min"], default=None)
    entry["fastest_other"] = fastest
    mine = ok.get(target)
    entry["ratio"] = (
        mine["seconds_min"] / others[fastest]["seconds_min"]
        if mine is not None and fastest is not None and mine.get("seconds_min") else None
    )


def _cpu_model() -> str | None:
    """Return the CPU model name from ``/proc/cpuinfo``.

    Returns
    -------
    str or None
        Model name, or None when unreadable.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _mem_total_gb() -> float | None:
    """Return total RAM in GiB from ``/proc/meminfo``.

    Returns
    -------
    float or None
        Total memory.
    """
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _blas() -> str | None:
    """Return the BLAS numpy was built against, if numpy reports it.

    Returns
    -------
    str or None
        BLAS name and version.
    """
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")  # type: ignore[func-returns-value]
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:
        return None


def machine_info() -> dict[str, Any]:
    """Collect a description of the machine and Python environment.

    Returns
    -------
    dict
        CPU model, core counts, memory, OS, Python, numpy/pandas/scipy versions,
        numpy's BLAS and thread-count environment variables.
    """
    import numpy as np
    import pandas as pd

    try:
        import scipy

        scipy_version: str | None = scipy.__version__
    except ImportError:
        scipy_version = None
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "cpus_available": affinity,
        "mem_total_gb": _mem_total_gb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy_version,
        "numpy_blas": _blas(),
        "thread_env": {k: os.environ.get(k) for k in THREAD_VARS},
    }


def _fmt_time(r: dict[str, Any] | None) -> str:
    """Format one peer's timing cell.

    Parameters
    ----------
    r : dict or None
        Peer result.

    Returns
    -------
    str
        Seconds with markers, or the status word.
    """
    if r is None:
        return ""
    if r.get("status") != "ok" or r.get("seconds_min") is None:
        return {"unavailable": "n/a"}.get(r.get("status", ""), r.get("status", "error"))
    s = r["seconds_min"]
    txt = f"{s:.3g}" if s < 100 else f"{s:.0f}"
    if r.get("wrong_optimum"):
        txt += " †"
    if r.get("converged") is False:
        txt += " ‡"
    return txt


def _fmt_num(x: float | None, fmt: str) -> str:
    """Format a number, or return an empty string for None.

    Parameters
    ----------
    x : float or None
        Value.
    fmt : str
        Format spec.

    Returns
    -------
    str
        Formatted value.
    """
    return "" if x is None else format(x, fmt)


def markdown(doc: dict[str, Any]) -> str:
    """Render the results document as markdown tables.

    Parameters
    ----------
    doc : dict
        The ``results.json`` document.

    Returns
    -------
    str
        Markdown text.
    """
    peers = list(doc["peers"])
    m = doc["machine"]
    lines = [
        "# mixedmodels speed benchmark",
        "",
        f"Machine: {m.get('cpu')}, {m.get('nproc')} CPUs, "
        f"{_fmt_num(m.get('mem_total_gb'), '.0f')} GiB RAM; Python {m.get('python')}.  ",
        "Peers: " + "; ".join(
            f"{p} {v.get('version') or '(unavailable: ' + str(v.get('error')) + ')'}"
            for p, v in doc["peers"].items()) + ".  ",
        f"Generated {doc.get('generated')} by `{' '.join(doc.get('command', []))}`.",
        "",
        "## Fit time (minimum over repetitions, seconds)",
        "",
        "| case | nobs | " + " | ".join(peers) + " | mixedmodels / fastest other |",
        "|---|---:|" + "---:|" * len(peers) + "---|",
    ]
    for e in doc["cases"]:
        cells = [_fmt_time(e["results"].get(p)) for p in peers]
        ratio = (f"{e['ratio']:.2f} (vs {e['fastest_other']})"
                 if e.get("ratio") is not None else "")
        lines.append(f"| {e['id']} | {e['nobs']:,} | " + " | ".join(cells) + f" | {ratio} |")
    lines += [
        "",
        "† wrong optimum (logLik more than 1e-4 relative below the best peer's; "
        "excluded from \"fastest other\").  ‡ the peer itself reports non-convergence.",
        "",
        "## Log-likelihood",
        "",
        "| case | peer | logLik | logLik - reference | best - logLik | converged | reps |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for e in doc["cases"]:
        for p in peers:
            r = e["results"].get(p)
            if r is None or r.get("loglik") is None:
                continue
            gap = None if e.get("best_loglik") is None else e["best_loglik"] - r["loglik"]
            flag = " (wrong optimum)" if r.get("wrong_optimum") else ""
            lines.append(
                f"| {e['id']} | {p} | {r['loglik']:.6f} | "
                f"{_fmt_num(r.get('loglik_minus_ref'), '.2e')} | {_fmt_num(gap, '.2e')}{flag}"
                f" | {r.get('converged')} | {len(r.get('seconds_all', []))} |"
            )
    scale = [e for e in doc["cases"] if e.get("kind") == "synthetic"]
    if scale:
        lines += [
            "",
            "## Scale cases: memory",
            "",
            "| case | nobs | input bytes | peer | seconds | RSS after data (MiB) "
            "| peak RSS (MiB) |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for e in scale:
            for p in peers:
                r = e["results"].get(p)
                if r is None or r.get("peak_rss_mb") is None:
                    continue
                lines.append(
                    f"| {e['id']} | {e['nobs']:,} | {_fmt_num(e.get('input_bytes'), ',')} | "
                    f"{p} | {_fmt_time(r)} | {_fmt_num(r.get('rss_ready_mb'), '.0f')} | "
                    f"{r['peak_rss_mb']:.0f} |"
                )
    notes = [
        f"- {e['id']} / {p}: **{r['status']}**: {r.get('error')}"
        for e in doc["cases"] for p, r in e["results"].items()
        if r.get("error") and r.get("status") != "unavailable"
    ]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def plot_time_vs_size(doc: dict[str, Any], path: Path) -> None:
    """Plot fit time against number of observations (log-log) for every peer.

    Reference cases are drawn as circles; synthetic families as lines (solid for
    ``slopes``, dashed for ``crossed``).  Fits at a wrong optimum are hollow.

    Parameters
    ----------
    doc : dict
        The ``results.json`` document.
    path : Path
        Output PNG file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    peers = list(doc["peers"])
    colors = {p: f"C{i}" for i, p in enumerate(peers)}
    styles = {"reference": ("", "o"), "slopes": ("-", "s"), "crossed": ("--", "^")}
    fig, ax = plt.subplots(figsize=(9.5, 5.5))
    plotted = False
    for p in peers:
        by_family: dict[str, list[tuple[int, float, bool]]] = {}
        for e in doc["cases"]:
            r = e["results"].get(p)
            if r and r.get("status") == "ok" and r.get("seconds_min"):
                by_family.setdefault(e.get("family", "reference"), []).append(
                    (e["nobs"], r["seconds_min"], bool(r.get("wrong_optimum"))))
        for fam, pts in by_family.items():
            pts.sort()
            ls, mk = styles.get(fam, ("", "o"))
            xs = [x for x, _, _ in pts]
            ys = [y for _, y, _ in pts]
            if ls:
                ax.plot(xs, ys, ls=ls, color=colors[p], lw=1.2)
            for x, y, wrong in pts:
                ax.plot([x], [y], marker=mk, ls="", color=colors[p],
                        mfc="none" if wrong else colors[p], ms=6)
            plotted = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of observations")
    ax.set_ylabel("fit time, minimum over repetitions (s)")
    ax.set_title("Linear mixed model fit time vs size")
    ax.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color=colors[p], marker="o", ls="-", label=p) for p in peers]
    handles += [
        Line2D([], [], color="gray", marker="o", ls="", label="reference cases"),
        Line2D([], [], color="gray", marker="s", ls="-", label="synthetic (1 + x | g)"),
        Line2D([], [], color="gray", marker="^", ls="--", label="synthetic crossed"),
        Line2D([], [], color="gray", marker="o", mfc="none", ls="", label="wrong optimum"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    if not plotted:
        ax.text(0.5, 0.5, "no successful fits", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
