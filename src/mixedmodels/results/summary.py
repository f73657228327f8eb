"""Text summaries: lme4's ``summary(merMod)`` layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataError

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["LmerSummary", "lmer_summary"]


@dataclass(frozen=True)
class LmerSummary:
    """A printable summary; ``str()`` gives the text, the tables are attributes."""

    text: str
    coefficients: pd.DataFrame
    varcorr: pd.DataFrame

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def as_text(self) -> str:
        """The summary as one string."""
        return self.text


def _format_table(rows: list[list[str]], right_align_from: int = 1) -> list[str]:
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(widths[col]) if col < right_align_from else cell.rjust(widths[col])
            for col, cell in enumerate(row)
        ]
        lines.append(" ".join(cells).rstrip())
    return lines


def _header(results: LmerResults) -> list[str]:
    design = results.model.design
    formula = design.parsed.formula if design is not None and design.parsed else "(matrices)"
    lines = [
        f"Linear mixed model fit by {results.method} ['mixedmodels']",
        f"Formula: {formula}",
        "",
    ]
    if results.reml:
        lines.append(f"REML criterion at convergence: {results.objective:.4f}")
    else:
        lines.append(
            f"     AIC      BIC   logLik deviance\n"
            f"{results.aic:8.1f} {results.bic:8.1f} {results.llf:8.1f} {results.objective:8.1f}"
        )
    lines.append("")
    return lines


def _residual_lines(results: LmerResults) -> list[str]:
    try:
        resid = results.resid.to_numpy() / results.sigma
    except DataError:
        # Chunked and Dask fits keep no rows, so there are no residuals to summarise.
        return ["Scaled residuals: not kept (fit from chunks; use results.predict(data))", ""]
    quantiles = np.quantile(resid, [0, 0.25, 0.5, 0.75, 1])
    table = [["Min", "1Q", "Median", "3Q", "Max"], [f"{value:.4f}" for value in quantiles]]
    return ["Scaled residuals:", *_format_table(table, right_align_from=0), ""]


def _random_effects_lines(results: LmerResults) -> list[str]:
    table = [["Groups", "Name", "Variance", "Std.Dev.", "Corr"]]
    for label, _, names, covariance in results.term_covariances():
        sd = np.sqrt(np.clip(np.diag(covariance), 0, None))
        for index, name in enumerate(names):
            correlations = []
            for col in range(index):
                denominator = sd[index] * sd[col]
                value = covariance[index, col] / denominator if denominator > 0 else np.nan
                correlations.append(f"{value:.2f}")
            table.append(
                [
                    label if index == 0 else "",
                    name,
                    f"{covariance[index, index]:.4g}",
                    f"{sd[index]:.4g}",
                    " ".join(correlations),
                ]
            )
    table.append(["Residual", "", f"{results.scale:.4g}", f"{results.sigma:.4g}", ""])
    lines = ["Random effects:"]
    lines.extend("  " + line for line in _format_table(table, right_align_from=2))
    groups = ", ".join(f"{block.factor.name}, {block.n_levels}" for block in results.model.blocks)
    lines.append(f"Number of obs: {results.nobs}, groups:  {groups}")
    if results.nobs_dropped:
        lines.append(f"({results.nobs_dropped} observations deleted due to missingness)")
    lines.append("")
    return lines


def _fixed_effects(results: LmerResults, ddf: str | None) -> tuple[str, pd.DataFrame]:
    if ddf is not None:
        from .contrasts import normalise_ddf

        method = normalise_ddf(ddf)  # Satterthwaite or Kenward-Roger; errors otherwise
        return f"Fixed effects ({method} df):", results.coefficients(method)
    if ddf is None:
        coefficients = pd.DataFrame(
            {
                "Estimate": results.fe_params,
                "Std. Error": results.bse_fe,
                "t value": results.fe_params / results.bse_fe,
            }
        )
        return "Fixed effects:", coefficients


def lmer_summary(results: LmerResults, ddf: str | None = "Satterthwaite") -> LmerSummary:
    """Build the lme4-style summary of a fit."""
    lines = _header(results) + _residual_lines(results) + _random_effects_lines(results)
    heading, coefficients = _fixed_effects(results, ddf)
    lines.append(heading)
    rows = [["", *coefficients.columns]]
    for name, row in coefficients.iterrows():
        cells = [str(name)]
        for column, value in row.items():
            if column == "Pr(>|t|)":
                cells.append(f"{value:.3g}" if value >= 2e-16 else "<2e-16")
            elif column in ("t value", "df"):
                cells.append(f"{value:.3f}")
            else:
                cells.append(f"{value:.6g}")
        rows.append(cells)
    lines.extend(_format_table(rows))
    notes = []
    if results.singular:
        notes.append("boundary (singular) fit: see results.varcorr()")
    if not results.converged:
        notes.append(f"optimizer did not converge: {results.optimizer.message}")
    if notes:
        lines.append("")
        lines.extend(notes)
    return LmerSummary("\n".join(lines), coefficients, results.varcorr())
