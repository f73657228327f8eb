"""Many groups through Dask: ``y ~ 1 + x + (1 + x | g)`` on Parquet files.

The issue-11 case: 320M rows in 64 Parquet files (5M rows each, about 5.3 GB)
with 3.2M groups, fitted on a 2-worker ``LocalCluster`` with 2 GB per worker,
and compared with the in-memory chunked fit. ``--scale`` shrinks rows and
groups alike (``--scale 0.01``: 3.2M rows, 32,000 groups) for a quick check.

Groups are contiguous within a file (as data partitioned by group key are),
so a file touches about ``groups / files`` groups; with partials that hold
only the levels a partition touches, a partial's size follows its rows.

Usage::

    python benchmarks/dask_groups.py --out /tmp/groups --scale 0.01      # write + fit
    python benchmarks/dask_groups.py --out /tmp/groups --skip-write        # fit only
    python benchmarks/dask_groups.py --out /tmp/groups --in-memory         # chunked pandas fit

Prints one JSON line per fit: seconds, log-likelihood, peak RSS of this
process (the client; workers are separate processes).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261130
FORMULA = "y ~ 1 + x + (1 + x | g)"
ROWS, GROUPS, FILES = 320_000_000, 3_200_000, 64


def write(out: Path, scale: float) -> None:
    """Write the Parquet files (fixed seed; groups contiguous within a file)."""
    out.mkdir(parents=True, exist_ok=True)
    rows, groups = int(ROWS * scale), int(GROUPS * scale)
    per_file, groups_per_file = rows // FILES, groups // FILES
    rng = np.random.default_rng(SEED)
    intercepts = rng.normal(0.0, 1.0, groups)
    slopes = rng.normal(0.0, 0.5, groups)
    for index in range(FILES):
        first = index * groups_per_file
        g = first + np.sort(rng.integers(0, groups_per_file, per_file))
        x = rng.normal(size=per_file)
        y = 1.0 + 0.5 * x + intercepts[g] + slopes[g] * x + rng.normal(size=per_file)
        frame = pd.DataFrame({"y": y, "x": x, "g": g.astype(np.int64)})
        frame.to_parquet(out / f"part-{index:03d}.parquet", index=False)


def _report(kind: str, seconds: float, fit) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        json.dumps(
            {
                "fit": kind,
                "seconds": round(seconds, 1),
                "loglik": float(fit.llf),
                "nobs": int(fit.nobs),
                "client_peak_rss_gib": round(peak, 2),
            }
        ),
        flush=True,
    )


def fit_dask(out: Path, memory_limit: str) -> None:
    import dask.dataframe as dd
    import distributed

    import mixedmodels as mm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=memory_limit,
        )
    with cluster, distributed.Client(cluster):
        ddf = dd.read_parquet(str(out))
        start = time.perf_counter()
        fit = mm.lmer(FORMULA, ddf)
        _report("dask", time.perf_counter() - start, fit)


def read_frame(out: Path) -> pd.DataFrame:
    """All files in one DataFrame, with no transient second copy of the data.

    ``pd.concat`` of per-file frames holds the pieces and the result at once
    (and pyarrow's pool may keep the pieces' memory), about twice the data's
    7.7 GB at full scale. Here each file's columns are copied into
    preallocated arrays, and the frame wraps them without copying.
    """
    import pyarrow.parquet as pq

    paths = sorted(out.glob("*.parquet"))
    rows = [pq.ParquetFile(path).metadata.num_rows for path in paths]
    floats = np.empty((2, sum(rows)))  # y and x, one pandas block, stored as rows
    groups = np.empty(sum(rows), dtype=np.int64)
    start = 0
    for path, n_rows in zip(paths, rows, strict=True):
        table = pq.read_table(path, columns=["y", "x", "g"])
        stop = start + n_rows
        floats[0, start:stop] = table.column("y").to_numpy()
        floats[1, start:stop] = table.column("x").to_numpy()
        groups[start:stop] = table.column("g").to_numpy()
        start = stop
        del table
    frame = pd.DataFrame(floats.T, columns=["y", "x"], copy=False)
    frame["g"] = groups
    return frame


def fit_in_memory(out: Path) -> None:
    import mixedmodels as mm

    frame = read_frame(out)
    start = time.perf_counter()
    fit = mm.lmer(FORMULA, frame)
    _report("in-memory chunked", time.perf_counter() - start, fit)


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--skip-write", action="store_true")
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--memory-limit", default="2GB")
    args = parser.parse_args(argv)
    if not args.skip_write:
        write(args.out, args.scale)
    if args.in_memory:
        fit_in_memory(args.out)
    else:
        fit_dask(args.out, args.memory_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
