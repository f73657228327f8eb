"""Our percentile intervals beside lme4's bootMer ones, data set by data set (one run).

    PYTHONPATH=src python benchmarks/inference/bootstrap_coverage_compare.py \\
        OURS.csv LME4.csv [--out results/bootstrap_coverage_vs_lme4.json]

``OURS.csv`` is ``bootstrap_coverage.py --rows``; ``LME4.csv`` is
``bootstrap_coverage_lme4.R``'s output on the same simulated responses. Compared on
the data sets both have: the fits (estimate and Wald SE of the slope, which must agree:
same data, same REML optimum), the coverage of each percentile interval with its Monte
Carlo SE and the paired difference (data sets covered by one and not the other), and the
endpoints. Two independent bootstraps of B replicates differ by Monte Carlo error alone:
for a normal bootstrap distribution the SD of an estimated 2.5% quantile is
``sqrt(0.025 * 0.975 / B) / phi(1.96) * sd`` = ``0.189 sd`` at B = 200, so the endpoint
differences should scatter with SD about ``0.267 sd`` around zero.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from scipy import stats


def coverage(lower: pd.Series, upper: pd.Series, truth: float) -> np.ndarray:
    return ((lower <= truth) & (truth <= upper)).to_numpy()


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("ours")
    parser.add_argument("lme4")
    parser.add_argument("--true-slope", type=float, default=None)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    ours = pd.read_csv(args.ours)
    theirs = pd.read_csv(args.lme4)
    both = ours.merge(theirs, on="dataset", suffixes=("", "_lme4"))
    if args.true_slope is None:
        from bootstrap_coverage import simulated

        truth = simulated(1, 2026)[1]
    else:
        truth = args.true_slope
    n = len(both)
    covered = {
        "mixedmodels confint() (boot.ci rule)": coverage(both["lower"], both["upper"], truth),
        "mixedmodels linear interpolation (type 7)": coverage(
            both["linear_lower"], both["linear_upper"], truth
        ),
        "lme4 boot.ci perc (confint(method='boot'))": coverage(
            both["lower_perc"], both["upper_perc"], truth
        ),
        "lme4 quantile type 7": coverage(both["lower_q7"], both["upper_q7"], truth),
    }
    mine = covered["mixedmodels confint() (boot.ci rule)"]
    q = stats.norm.ppf(0.975)
    endpoint_sd = np.sqrt(0.025 * 0.975 / args.replicates) / stats.norm.pdf(q)
    sd = 0.5 * (both["boot_sd"] + both["boot_sd_lme4"])
    result = {
        "datasets_compared": n,
        "replicates_per_bootstrap": args.replicates,
        "true_slope": truth,
        "fits_agree": {
            "max_abs_estimate_difference": float(
                (both["estimate"] - both["estimate_lme4"]).abs().max()
            ),
            "max_rel_se_difference": float(
                ((both["se"] - both["se_lme4"]) / both["se_lme4"]).abs().max()
            ),
        },
        "coverage": {
            name: {
                "coverage": float(flags.mean()),
                "mc_se": float(np.sqrt(flags.mean() * (1 - flags.mean()) / n)),
                "covered_here_not_by_mixedmodels": int((flags & ~mine).sum()),
                "covered_by_mixedmodels_not_here": int((~flags & mine).sum()),
            }
            for name, flags in covered.items()
        },
        "wald_z_coverage": float(((both["estimate"] - truth).abs() / both["se"] < q).mean()),
        "t17_coverage": float(
            ((both["estimate"] - truth).abs() / both["se"] < stats.t.ppf(0.975, 17)).mean()
        ),
        "bootstrap_sd_ratio_mixedmodels_over_lme4": {
            "mean": float((both["boot_sd"] / both["boot_sd_lme4"]).mean()),
            "sd": float((both["boot_sd"] / both["boot_sd_lme4"]).std()),
        },
        # Same quantile rule on both sides: ours (boot.ci's) against lme4's boot.ci perc,
        # our linear against lme4's type 7.
        "endpoint_differences_in_bootstrap_sds": {
            f"{ours_name} - lme4 {their_name}": {
                "mean": float(((both[ours_name] - both[their_name]) / sd).mean()),
                "sd": float(((both[ours_name] - both[their_name]) / sd).std()),
                "expected_sd_from_monte_carlo_error": float(np.sqrt(2) * endpoint_sd),
            }
            for ours_name, their_name in (
                ("lower", "lower_perc"),
                ("upper", "upper_perc"),
                ("linear_lower", "lower_q7"),
                ("linear_upper", "upper_q7"),
            )
        },
    }
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
