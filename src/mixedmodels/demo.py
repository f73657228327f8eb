"""A real fit on a bundled data set: ``python -m mixedmodels.demo``.

Fits lme4's classic ``Reaction ~ Days + (Days | Subject)`` on sleepstudy with
the lme4-style API and the dietox growth model with the statsmodels-style API,
and prints both summaries.
"""

from __future__ import annotations

import time

import mixedmodels as mm


def main() -> None:
    """Fit and print."""
    data = mm.datasets.load("sleepstudy")
    start = time.perf_counter()
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    elapsed = time.perf_counter() - start
    print(fit.summary())
    print(f"\n(fitted in {elapsed * 1000:.1f} ms; lme4's REML logLik is -871.8141)\n")
    try:
        import mixedmodels.formula.api as smf
    except ImportError:  # the statsmodels-style layer is optional at build time
        return
    pigs = mm.datasets.get_rdataset("dietox", "geepack").data
    result = smf.mixedlm("Weight ~ Time", pigs, groups=pigs["Pig"], re_formula="~Time").fit()
    print(result.summary())


if __name__ == "__main__":
    main()
