"""broom.mixed's ``tidy()`` of a fit: one row per estimate, in long format.

Columns follow broom.mixed 0.2.9: ``effect, group, level, term, estimate,
std.error, statistic, df, p.value, conf.low, conf.high`` (those that apply).

* ``effects="fixed"``: the fixed effects with Satterthwaite df and p values
  (broom.mixed on an lmerTest fit); intervals use the t quantile with those
  df, or the normal quantile with ``ddf=None`` (broom.mixed on an lme4 fit).
* ``effects="ran_pars"``: ``sd__X`` and ``cor__X.Y`` per random-effect term
  and ``sd__Observation`` for the residual; intervals only with
  ``conf_method="profile"`` (broom.mixed's Wald intervals are NA here).
* ``effects="ran_vals"``: the conditional modes with their conditional SDs;
  intervals ``estimate -+ z * std.error``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["COLUMNS", "tidy"]

COLUMNS = [
    "effect",
    "group",
    "level",
    "term",
    "estimate",
    "std.error",
    "statistic",
    "df",
    "p.value",
    "conf.low",
    "conf.high",
]
_EFFECTS = ("fixed", "ran_pars", "ran_vals")


def _fixed(results: LmerResults, ddf: str | None, conf_int: bool, level: float) -> pd.DataFrame:
    names = list(results.cov_fe.index)
    estimate = results.fe_params[names].to_numpy()
    error = results.bse_fe[names].to_numpy()
    frame = pd.DataFrame(
        {
            "effect": "fixed",
            "term": names,
            "estimate": estimate,
            "std.error": error,
            "statistic": estimate / error,
        }
    )
    if ddf == "Satterthwaite":
        table = results.coef_table
        frame["df"] = table["df"].to_numpy()
        frame["p.value"] = table["Pr(>|t|)"].to_numpy()
        quantile = stats.t.ppf(0.5 + level / 2, frame["df"].to_numpy())
    elif ddf is None:
        quantile = stats.norm.ppf(0.5 + level / 2)
    else:
        raise ValueError(f"ddf must be 'Satterthwaite' or None, got {ddf!r}")
    if conf_int:
        frame["conf.low"] = estimate - quantile * error
        frame["conf.high"] = estimate + quantile * error
    return frame


def _profile_limits(results: LmerResults, level: float) -> dict[tuple, tuple[float, float]]:
    """Profile intervals keyed ``("sd", name, factor)``, ``("cor", pair, factor)``, ("sigma",)."""
    intervals = results.confint(method="profile", level=level)
    limits: dict[tuple, tuple[float, float]] = {}
    for name, (low, high) in zip(intervals.index, intervals.to_numpy(), strict=True):
        if name == "sigma":
            limits[("sigma",)] = (low, high)
        elif name.startswith("sd_") and "|" in name:
            variable, factor = name[3:].rsplit("|", 1)
            limits[("sd", variable, factor)] = (low, high)
        elif name.startswith("cor_") and "|" in name:
            pair, factor = name[4:].rsplit("|", 1)
            limits[("cor", pair, factor)] = (low, high)
    return limits


def _ran_pars(results: LmerResults, conf_int: bool, level: float, conf_method: str) -> pd.DataFrame:
    rows = []
    for label, factor, names, covariance in results.term_covariances():
        sd = np.sqrt(np.clip(np.diag(covariance), 0, None))
        # lme4's theta order: column by column of the lower triangle.
        for col in range(len(names)):
            rows.append((label, f"sd__{names[col]}", sd[col], ("sd", names[col], factor)))
            for row in range(col + 1, len(names)):
                denominator = sd[row] * sd[col]
                value = covariance[row, col] / denominator if denominator > 0 else np.nan
                key = ("cor", f"{names[row]}.{names[col]}", factor)
                rows.append((label, f"cor__{names[col]}.{names[row]}", value, key))
    rows.append(("Residual", "sd__Observation", results.sigma, ("sigma",)))
    frame = pd.DataFrame(
        {
            "effect": "ran_pars",
            "group": [row[0] for row in rows],
            "term": [row[1] for row in rows],
            "estimate": [row[2] for row in rows],
        }
    )
    if conf_int:
        if conf_method == "profile":
            limits = _profile_limits(results, level)
            bounds = [limits.get(row[3], (np.nan, np.nan)) for row in rows]
        elif conf_method == "Wald":
            bounds = [(np.nan, np.nan)] * len(rows)  # as broom.mixed: no Wald intervals here
        else:
            raise ValueError(f"conf_method must be 'Wald' or 'profile', got {conf_method!r}")
        frame["conf.low"] = [bound[0] for bound in bounds]
        frame["conf.high"] = [bound[1] for bound in bounds]
    return frame


def _ran_vals(results: LmerResults, conf_int: bool, level: float) -> pd.DataFrame:
    parts = []
    conditional_sd = results.ranef_condsd()
    for group, modes in results.ranef().items():
        errors = conditional_sd[group]
        for term in modes.columns:
            parts.append(
                pd.DataFrame(
                    {
                        "effect": "ran_vals",
                        "group": group,
                        "level": modes.index.astype(str),
                        "term": term,
                        "estimate": modes[term].to_numpy(),
                        "std.error": errors[term].to_numpy(),
                    }
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    if conf_int:
        quantile = stats.norm.ppf(0.5 + level / 2)
        frame["conf.low"] = frame["estimate"] - quantile * frame["std.error"]
        frame["conf.high"] = frame["estimate"] + quantile * frame["std.error"]
    return frame


def tidy(
    results: LmerResults,
    effects: str | Iterable[str] = ("fixed", "ran_pars"),
    conf_int: bool = False,
    conf_level: float = 0.95,
    conf_method: str = "Wald",
    ddf: str | None = "Satterthwaite",
) -> pd.DataFrame:
    """A long table of estimates, as broom.mixed's ``tidy()``.

    Parameters
    ----------
    results : LmerResults
    effects : {"fixed", "ran_pars", "ran_vals"} or a list of them
        Default ``("fixed", "ran_pars")``; the parts are stacked in this order.
    conf_int : bool, default False
        Add ``conf.low`` and ``conf.high``.
    conf_level : float, default 0.95
    conf_method : {"Wald", "profile"}
        For ``ran_pars``: profile-likelihood intervals, or none (broom.mixed's Wald).
    ddf : {"Satterthwaite", None}
        Satterthwaite df and p values for the fixed effects, or z-based intervals.

    Returns
    -------
    DataFrame
    """
    wanted = [effects] if isinstance(effects, str) else list(effects)
    unknown = [effect for effect in wanted if effect not in _EFFECTS]
    if unknown or not wanted:
        raise ValueError(f"effects must be among {list(_EFFECTS)}, got {effects!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    parts = []
    for effect in wanted:
        if effect == "fixed":
            parts.append(_fixed(results, ddf, conf_int, conf_level))
        elif effect == "ran_pars":
            parts.append(_ran_pars(results, conf_int, conf_level, conf_method))
        else:
            parts.append(_ran_vals(results, conf_int, conf_level))
    frame = pd.concat(parts, ignore_index=True)
    return frame[[column for column in COLUMNS if column in frame.columns]]
