"""MovieLens-shaped crossed data, and a benchmark of it against mixedlm (and lme4).

The model is the recommender baseline ``rating ~ 1 + (1 | user) + (1 | item)``:
two crossed random intercepts whose levels have very uneven activity. User and
item activity follow Zipf-Mandelbrot laws, ``P(rank k) ~ 1 / (k + q)^s``, with
the heaviest user rating about 14 times, and the heaviest item about 10 times,
the mean (as in MovieLens-1M: 2,314 ratings against a mean of 165 for users,
3,428 against 270 for items). Each (user, item) pair occurs at most once. The
seed is fixed, so a shape is always the same data.

=======  ===========  ========  ========  =================================
shape    rows         users     items     MovieLens release it imitates
=======  ===========  ========  ========  =================================
``1M``    1,000,209     6,040     3,706   ml-1m
``10M``  10,000,054    69,878    10,677   ml-10m
``25M``  25,000,095   162,541    59,047   ml-25m
=======  ===========  ========  ========  =================================

(Level counts are those of the releases; a generated shape may miss a few of
its rarest levels, reported by :func:`describe`.)

Usage::

    python benchmarks/movielens.py --shape 1M                    # mixedmodels and mixedlm
    python benchmarks/movielens.py --shape 10M --peers mixedmodels --timeout 900
    python benchmarks/movielens.py --shape 10M --peers mixedmodels --path blocked   # reference path
    python benchmarks/movielens.py --shape 1M --peers lme4      # writes a CSV to $TMPDIR
    MOVIELENS_TWO_THREADS=1 python benchmarks/movielens.py --shape 1M --peers mixedmodels
        # the dense block with two BLAS threads when the load average leaves a core idle

Each (shape, peer) runs in a fresh subprocess: the data are generated there
(not timed), then one fit is timed; its wall time, log-likelihood and peak
resident memory (``ru_maxrss``, which includes the data) are printed as one
JSON line per peer. Run it on a quiet machine for numbers worth quoting.
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

__all__ = ["SEED", "SHAPES", "describe", "make_frame", "make_pairs"]

SEED = 20261130
FORMULA = "rating ~ 1 + (1 | user) + (1 | item)"

#: shape -> (rows, users, items, user (s, q), item (s, q)).
SHAPES: dict[str, tuple[int, int, int, tuple[float, float], tuple[float, float]]] = {
    "1M": (1_000_209, 6_040, 3_706, (1.0, 100.0), (1.0, 90.0)),
    "10M": (10_000_054, 69_878, 10_677, (1.0, 1_150.0), (1.0, 260.0)),
    "25M": (25_000_095, 162_541, 59_047, (1.0, 2_700.0), (1.0, 1_450.0)),
}
#: True parameters: rating = mean + user + item + noise.
TRUTH = {"mean": 3.5, "sd_user": 0.4, "sd_item": 0.5, "sigma": 0.9}
_MAX_ROUNDS = 200


def _zipf_mandelbrot(n: int, s: float, q: float) -> np.ndarray:
    weights = 1.0 / (np.arange(1, n + 1) + q) ** s
    return weights / weights.sum()


def make_pairs(shape: str, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, item) code pairs of a shape, drawn by activity.

    Pairs are drawn independently with probability ``p_user * p_item``;
    repeats are dropped and the shortfall drawn again until the row count is
    reached (rejection sampling of distinct pairs, which keeps the marginals
    close to the Zipf-Mandelbrot laws except for the heaviest user, whose
    row saturates first).

    Returns
    -------
    users, items : ndarray of int32
        Codes, rank 0 the most active; rows in random order.
    """
    n_rows, n_users, n_items, (s_user, q_user), (s_item, q_item) = SHAPES[shape]
    rng = np.random.default_rng(seed)
    p_user = _zipf_mandelbrot(n_users, s_user, q_user)
    p_item = _zipf_mandelbrot(n_items, s_item, q_item)
    keys = np.empty(0, dtype=np.int64)
    for _ in range(_MAX_ROUNDS):
        deficit = n_rows - keys.size
        if deficit <= 0:
            break
        draw = int(deficit * 1.05) + 16
        users = rng.choice(n_users, size=draw, p=p_user).astype(np.int64)
        items = rng.choice(n_items, size=draw, p=p_item).astype(np.int64)
        fresh = np.unique(users * n_items + items)
        keys = np.union1d(keys, fresh)
        if keys.size > n_rows:
            keys = rng.choice(keys, size=n_rows, replace=False)
    else:
        raise RuntimeError(f"could not draw {n_rows} distinct pairs for shape {shape}")
    keys = rng.permutation(keys)
    return (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)


def make_frame(shape: str, seed: int = SEED) -> pd.DataFrame:
    """The data of a shape: ``rating`` (float), ``user`` and ``item`` (categorical)."""
    users, items = make_pairs(shape, seed)
    _, n_users, n_items, _, _ = SHAPES[shape]
    rng = np.random.default_rng(seed + 1)
    user_effect = rng.normal(0.0, TRUTH["sd_user"], n_users)
    item_effect = rng.normal(0.0, TRUTH["sd_item"], n_items)
    rating = (
        TRUTH["mean"]
        + user_effect[users]
        + item_effect[items]
        + rng.normal(0.0, TRUTH["sigma"], users.size)
    )
    user_levels = pd.Index([f"u{k}" for k in range(n_users)])
    item_levels = pd.Index([f"i{k}" for k in range(n_items)])
    return pd.DataFrame(
        {
            "rating": rating,
            "user": pd.Categorical.from_codes(users, user_levels).remove_unused_categories(),
            "item": pd.Categorical.from_codes(items, item_levels).remove_unused_categories(),
        }
    )


def describe(frame: pd.DataFrame) -> dict[str, float]:
    """Rows, observed levels and activity figures of a generated frame."""
    user_counts = frame["user"].value_counts()
    item_counts = frame["item"].value_counts()
    pairs = frame["user"].cat.codes.astype(np.int64) * len(item_counts) + frame["item"].cat.codes
    return {
        "rows": len(frame),
        "users": int((user_counts > 0).sum()),
        "items": int((item_counts > 0).sum()),
        "max_user": int(user_counts.max()),
        "mean_user": float(user_counts.mean()),
        "max_item": int(item_counts.max()),
        "mean_item": float(item_counts.mean()),
        "median_item": float(item_counts.median()),
        "duplicate_pairs": int(pairs.duplicated().sum()),
    }


# ---------------------------------------------------------------------------- fits
def _fit_mixedmodels(frame: pd.DataFrame, path: str | None) -> tuple[float, dict]:
    import mixedmodels as mm

    if os.environ.get("MOVIELENS_TWO_THREADS"):
        # The tiled two-thread path for the dense block (off by default; see linalg/dense.py).
        from mixedmodels.linalg import dense

        dense.THREADED_ORDER = 2000

    model = mm.LinearMixedModel.from_formula(FORMULA, frame, REML=False)
    if path is not None:
        from mixedmodels.objective.pls import PLSState

        model.state = PLSState(model.blocks, model.cross, model.reml, path=path)
    fit = model.fit()
    optimizer = getattr(fit, "optimizer", None)
    summary = getattr(fit, "optsummary", None)
    return float(fit.llf), {
        "path": path or type(model.state.engine).__name__,
        "evaluations": getattr(optimizer, "n_evaluations", None),
        "theta": [round(float(value), 7) for value in fit.theta] if hasattr(fit, "theta") else None,
        "stages": {k: round(v, 2) for k, v in getattr(summary, "stage_seconds", {}).items()},
    }


def _fit_mixedlm(frame: pd.DataFrame) -> tuple[float, dict]:
    import mixedlm

    result = mixedlm.lmer(FORMULA, frame, REML=False)
    return float(result.logLik()), {}


def _fit_lme4(frame: pd.DataFrame) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "ml.csv"
        frame.to_csv(csv, index=False)
        script = (
            "suppressMessages(library(lme4)); d <- read.csv(commandArgs(TRUE)[1]);"
            "d$user <- factor(d$user); d$item <- factor(d$item);"
            f"t <- system.time(m <- lmer({FORMULA}, d, REML = FALSE));"
            "cat(as.numeric(logLik(m)), t[['elapsed']], '\\n')"
        )
        out = subprocess.run(
            ["Rscript", "-e", script, str(csv)], capture_output=True, text=True, check=True
        )
    loglik, seconds = out.stdout.split()
    return float(loglik), {"seconds_in_R": float(seconds)}


def _worker(shape: str, peer: str, path: str | None) -> None:
    frame = make_frame(shape)
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    if peer == "mixedmodels":
        loglik, extra = _fit_mixedmodels(frame, path)
    elif peer == "mixedlm":
        loglik, extra = _fit_mixedlm(frame)
    elif peer == "lme4":
        loglik, extra = _fit_lme4(frame)
    else:
        raise SystemExit(f"unknown peer {peer}")
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu  # this process only (not lme4's Rscript)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(
        json.dumps(
            {
                "shape": shape,
                "peer": peer,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "loglik": loglik,
                "peak_rss_gib": round(peak, 2),
                **extra,
            }
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="1M")
    parser.add_argument("--peers", nargs="+", default=["mixedmodels", "mixedlm"])
    parser.add_argument(
        "--path",
        choices=["eliminated", "blocked"],
        default=None,
        help="force mixedmodels' factorisation path (the reference path)",
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--describe", action="store_true", help="only describe the data")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.shape, args.worker, args.path)
        return 0
    if args.describe:
        print(json.dumps({"shape": args.shape, **describe(make_frame(args.shape))}))
        return 0
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    for peer in args.peers:
        command = [sys.executable, __file__, "--shape", args.shape, "--worker", peer]
        if args.path:
            command += ["--path", args.path]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=args.timeout
            )
        except subprocess.TimeoutExpired:
            print(
                json.dumps(
                    {
                        "shape": args.shape,
                        "peer": peer,
                        "status": "timeout",
                        "timeout": args.timeout,
                    }
                ),
                flush=True,
            )
            continue
        if done.returncode != 0:
            error = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(
                json.dumps(
                    {
                        "shape": args.shape,
                        "peer": peer,
                        "status": "error",
                        "returncode": done.returncode,
                        "error": error,
                    }
                ),
                flush=True,
            )
        else:
            print(done.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
