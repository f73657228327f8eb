"""The criterion of a MovieLens shape through the compiled fill kernel and the pure scipy path.

    PYTHONPATH=src python benchmarks/movielens_fill_paths.py --shape 10M --theta 0.443667 0.5558321
    MIXEDMODELS_NO_NUMBA=1 PYTHONPATH=src python benchmarks/movielens_fill_paths.py ...

The exactness check of ML-10M, where the eliminated reference path would need ~100 GiB:
run once as it is and once with ``MIXEDMODELS_NO_NUMBA=1`` (the light tail of the fill by
a numpy/scipy sparse operator instead of the numba kernel), and compare the two
``objective`` values at the same theta (the fit's optimum). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import movielens

import mixedmodels as mm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="10M", choices=sorted(movielens.SHAPES))
    parser.add_argument("--theta", type=float, nargs=2, default=[0.443667, 0.5558321])
    args = parser.parse_args()
    frame = movielens.make_frame(args.shape)
    start = time.process_time()
    model = mm.LinearMixedModel.from_formula(movielens.FORMULA, frame, REML=False)
    value = float(model.objective(np.array(args.theta)))
    print(json.dumps({
        "shape": args.shape,
        "no_numba": bool(os.environ.get("MIXEDMODELS_NO_NUMBA")),
        "theta": args.theta,
        "objective": repr(value),
        "loglik": -value / 2,
        "cpu_seconds_build_and_one_evaluation": round(time.process_time() - start, 2),
    }))


if __name__ == "__main__":
    main()
