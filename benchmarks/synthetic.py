"""Synthetic scale cases with a fixed seed.

Two families, each at several sizes so that fit time can be plotted against the
number of observations:

``slopes``
    ``y ~ 1 + x + (1 + x | g)``: correlated random intercept and slope, 100
    observations per group (10,000,000 rows and 100,000 groups at the top size).
``crossed``
    ``y ~ 1 + x + (1 | f1) + (1 | f2)``: two crossed factors with ``nobs / 50``
    and ``nobs / 500`` levels (20,000 and 2,000 levels at 1,000,000 rows).

Arrays are generated directly as ``int32`` codes and ``float64`` values; the
factors are passed to the peers as ``pd.Categorical`` built from the codes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from cases import Case

__all__ = ["SEED", "make_arrays", "make_frame", "scale_cases", "write_csv"]

SEED = 20240611

#: True parameters of the ``slopes`` family.
SLOPES_TRUTH = {"beta": (1.0, 0.5), "sd": (1.0, 0.5), "corr": 0.4, "sigma": 1.0}
#: True parameters of the ``crossed`` family.
CROSSED_TRUTH = {"beta": (1.0, 0.5), "sd": (0.8, 0.5), "sigma": 1.0}

SLOPES_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
CROSSED_SIZES = (10_000, 100_000, 1_000_000)


def _tag(n: int) -> str:
    """Return ``"1e6"`` style labels for powers of ten.

    Parameters
    ----------
    n : int
        Number of observations.

    Returns
    -------
    str
        Short label.
    """
    exp = round(float(np.log10(n)))
    return f"1e{exp}" if 10**exp == n else str(n)


def scale_cases() -> list[Case]:
    """Return every synthetic case, smallest first within each family.

    Returns
    -------
    list of Case
        The ``slopes`` cases followed by the ``crossed`` cases.
    """
    out = []
    for n in SLOPES_SIZES:
        out.append(Case(
            id=f"synth_slopes_{_tag(n)}", formula="y ~ 1 + x + (1 + x | g)", reml=True,
            nobs=n, kind="synthetic", family="slopes",
            synth={"generator": "slopes", "nobs": n, "ngroups": n // 100, "seed": SEED},
        ))
    for n in CROSSED_SIZES:
        out.append(Case(
            id=f"synth_crossed_{_tag(n)}", formula="y ~ 1 + x + (1 | f1) + (1 | f2)",
            reml=True, nobs=n, kind="synthetic", family="crossed",
            synth={"generator": "crossed", "nobs": n, "nlevels": [n // 50, n // 500],
                   "seed": SEED},
        ))
    return out


def _slopes(n: int, ngroups: int, seed: int) -> dict[str, np.ndarray]:
    """Generate the ``slopes`` family arrays.

    Parameters
    ----------
    n : int
        Observations (a multiple of ``ngroups``).
    ngroups : int
        Number of groups.
    seed : int
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    dict
        ``{"y": float64, "x": float64, "g": int32 codes}``.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(ngroups, dtype=np.int32), n // ngroups)
    x = rng.standard_normal(n)
    sd0, sd1 = SLOPES_TRUTH["sd"]
    rho = SLOPES_TRUTH["corr"]
    cov = np.array([[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]])
    u = rng.standard_normal((ngroups, 2)) @ np.linalg.cholesky(cov).T
    b0, b1 = SLOPES_TRUTH["beta"]
    y = rng.standard_normal(n)
    y *= SLOPES_TRUTH["sigma"]
    y += b0
    y += u[g, 0]
    slope = u[g, 1]
    slope += b1
    slope *= x
    y += slope
    return {"y": y, "x": x, "g": g}


def _crossed(n: int, nlevels: list[int], seed: int) -> dict[str, np.ndarray]:
    """Generate the ``crossed`` family arrays.

    Parameters
    ----------
    n : int
        Observations.
    nlevels : list of int
        Levels of ``f1`` and ``f2``.
    seed : int
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    dict
        ``{"y": float64, "x": float64, "f1": int32, "f2": int32}``.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    y = rng.standard_normal(n)
    y *= CROSSED_TRUTH["sigma"]
    for name, levels, sd in zip(("f1", "f2"), nlevels, CROSSED_TRUTH["sd"], strict=True):
        codes = rng.integers(0, levels, n, dtype=np.int32)
        codes[:levels] = np.arange(levels, dtype=np.int32)  # every level is observed
        y += (sd * rng.standard_normal(levels))[codes]
        out[name] = codes
    x = rng.standard_normal(n)
    b0, b1 = CROSSED_TRUTH["beta"]
    y += b0
    y += b1 * x
    out["y"] = y
    out["x"] = x
    return out


def make_arrays(case: Case) -> dict[str, np.ndarray]:
    """Generate the raw arrays of a synthetic case.

    Parameters
    ----------
    case : Case
        A case from :func:`scale_cases`.

    Returns
    -------
    dict of numpy.ndarray
        Column name to array; factor columns are ``int32`` codes.
    """
    s = case.synth
    if s["generator"] == "slopes":
        return _slopes(s["nobs"], s["ngroups"], s["seed"])
    if s["generator"] == "crossed":
        return _crossed(s["nobs"], s["nlevels"], s["seed"])
    raise ValueError(f"unknown generator {s['generator']!r}")


def _factor_levels(case: Case) -> dict[str, int]:
    """Return the number of levels of each factor column of a synthetic case.

    Parameters
    ----------
    case : Case
        A synthetic case.

    Returns
    -------
    dict
        Factor column name to level count.
    """
    s = case.synth
    if s["generator"] == "slopes":
        return {"g": s["ngroups"]}
    return dict(zip(("f1", "f2"), s["nlevels"], strict=True))


def make_frame(case: Case) -> pd.DataFrame:
    """Generate the data frame of a synthetic case.

    Parameters
    ----------
    case : Case
        A case from :func:`scale_cases`.

    Returns
    -------
    pandas.DataFrame
        Numeric columns as float64, factors as ``pd.Categorical`` with integer
        categories ``0 .. L-1``.
    """
    arrays = make_arrays(case)
    for col, nlev in _factor_levels(case).items():
        arrays[col] = pd.Categorical.from_codes(  # type: ignore[assignment]
            arrays[col], categories=pd.RangeIndex(nlev)
        )
    return pd.DataFrame(arrays, copy=False)


def write_csv(case: Case, directory: Path) -> tuple[Path, Path]:
    """Write a synthetic case as CSV plus schema JSON (for the lme4 peer).

    Parameters
    ----------
    case : Case
        A synthetic case.
    directory : Path
        Output folder (created if needed).

    Returns
    -------
    tuple of Path
        ``(csv_path, schema_path)``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    csv = directory / f"{case.id}.csv"
    schema = directory / f"{case.id}.schema.json"
    arrays = make_arrays(case)
    levels = _factor_levels(case)
    frame = pd.DataFrame(arrays, copy=False)
    frame.to_csv(csv, index=False, float_format="%.17g")
    columns = {c: ("factor" if c in levels else "numeric") for c in arrays}
    schema.write_text(json.dumps({
        "columns": columns,
        "levels": {c: [str(i) for i in range(n)] for c, n in levels.items()},
    }))
    return csv, schema
