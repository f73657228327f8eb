"""Wald intervals on the coverage study's data sets, for comparison (one run).

    PYTHONPATH=src python benchmarks/inference/wald_coverage.py

The same 400 responses as ``bootstrap_coverage.py`` (same seed): coverage of the
slope's Wald z interval (estimate +- 1.96 SE) and of the t interval with 17 df
(lmerTest's Satterthwaite df for the slope). A percentile bootstrap interval is a
z-type interval, so it should cover about as often as the first.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
from scipy import stats

import mixedmodels as mm

FORMULA = "Reaction ~ Days + (Days | Subject)"


def main(datasets: int = 400, seed: int = 2026) -> dict:
    data = mm.datasets.load("sleepstudy")
    truth = mm.lmer(FORMULA, data)
    slope = float(truth.fe_params["Days"])
    responses = truth.simulate(datasets, seed=seed)
    z_cover, t_cover = [], []
    for index in range(datasets):
        copy = data.copy()
        copy["Reaction"] = responses.iloc[:, index].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = mm.lmer(FORMULA, copy)
        error = abs(fit.fe_params["Days"] - slope) / fit.bse_fe["Days"]
        z_cover.append(error < stats.norm.ppf(0.975))
        t_cover.append(error < stats.t.ppf(0.975, 17))
    return {
        "datasets": datasets,
        "wald_z_coverage": float(np.mean(z_cover)),
        "t17_coverage": float(np.mean(t_cover)),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
