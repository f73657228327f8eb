"""Text summaries in lme4's ``print(summary(merMod))`` layout.

The numbers are formatted by column with R's rules (:mod:`.rformat`) and
lme4's digits (``digits = max(3, getOption("digits") - 3) = 4``): the
variance components to 4 significant digits as one vector, correlations to
2 decimals, the coefficient table as R's ``printCoefmat``, the correlation
of the fixed effects to 3 decimals. The same formatted cells render as
text, HTML, Markdown and LaTeX (:mod:`.export`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataError
from .rformat import (
    abbreviate,
    format_matrix,
    format_pval,
    format_vector,
    print_matrix,
    zapsmall,
)

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["LmerSummary", "SummaryTable", "lmer_summary"]

DIGITS = 4  # lme4's print digits: max(3, getOption("digits") - 3)
CORRELATION_MAX = 12  # lme4's getOption("lme4.summary.cor.max")
# R's legend, with its typographic quotes (written as escapes to keep the source ASCII).
SIGNIF_LEGEND = (
    "Signif. codes:  0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 "
    "\u2018.\u2019 0.1 \u2018 \u2019 1"
)


@dataclass(frozen=True)
class SummaryTable:
    """One formatted table of a summary: every cell is already a string.

    ``right`` says whether R prints the columns right-justified; ``named``
    whether the table is a named vector (R prints names above values).
    """

    title: str
    columns: tuple[str, ...]
    index: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    right: bool = True
    named: bool = False

    def text_lines(self) -> list[str]:
        """The table as R prints it."""
        if self.named:
            # R prints a named vector with one common width for every name and value.
            width = max(len(text) for text in (*self.columns, *self.cells[0]))
            names = "".join(name.rjust(width) + " " for name in self.columns)
            values = "".join(cell.rjust(width) + " " for cell in self.cells[0])
            return [names, values]
        return print_matrix(self.cells, self.index, self.columns, right=self.right)

    def _repr_html_(self) -> str:
        from .html import table_html

        return table_html(self)

    def frame(self) -> pd.DataFrame:
        """The formatted cells (without R's padding) as a DataFrame of strings."""
        index = list(self.index) if not self.named else [""]
        cells = [[cell.strip() for cell in row] for row in self.cells]
        return pd.DataFrame(cells, index=index, columns=list(self.columns))


@dataclass(frozen=True)
class LmerSummary:
    """A printable summary; ``str()`` gives lme4's text, the tables are attributes.

    Attributes
    ----------
    title : str
    info : list of (label, value)
        ``Formula``, ``Data``, the criterion, ...
    tables : list of SummaryTable
        Scaled residuals, random effects, fixed effects, correlation of fixed effects.
    notes : list of str
    coefficients : DataFrame
        The fixed-effects table as numbers.
    varcorr : DataFrame
        The variance components as numbers (``results.varcorr()``).
    """

    title: str
    info: tuple[tuple[str, str], ...]
    tables: tuple[SummaryTable, ...]
    notes: tuple[str, ...]
    coefficients: pd.DataFrame
    varcorr: pd.DataFrame
    text: str = field(default="")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def as_text(self) -> str:
        """The summary as one string."""
        return self.text

    def as_markdown(self) -> str:
        """The summary as Markdown (pipe tables)."""
        from .export import summary_markdown

        return summary_markdown(self)

    def as_latex(self) -> str:
        """The summary as a LaTeX fragment (``tabular`` environments)."""
        from .export import summary_latex

        return summary_latex(self)

    def as_html(self) -> str:
        """The summary as an HTML fragment."""
        from .html import summary_html

        return summary_html(self)

    def _repr_html_(self) -> str:
        return self.as_html()


def _residual_table(results: LmerResults) -> SummaryTable | None:
    try:
        scaled = results.resid.to_numpy() / results.sigma
    except DataError:
        return None  # fits from chunks keep no rows, so there are no residuals to summarise
    quantiles = zapsmall(np.quantile(scaled, [0, 0.25, 0.5, 0.75, 1]), DIGITS + 1)
    cells = tuple(format_vector(quantiles, DIGITS))
    names = ("Min", "1Q", "Median", "3Q", "Max")
    return SummaryTable("Scaled residuals:", names, ("",), (cells,), named=True)


def _random_effects_table(results: LmerResults) -> SummaryTable:
    """lme4's ``formatVC``: Groups, Name, Variance, Std.Dev. and, if any, Corr columns."""
    terms = results.term_covariances()
    sds = [np.sqrt(np.clip(np.diag(cov), 0, None)) for _, _, _, cov in terms]
    all_sd = np.concatenate([*sds, [results.sigma]])
    variances = format_vector(all_sd**2, DIGITS)
    std_devs = format_vector(all_sd, DIGITS)
    widest = max(len(names) for _, _, names, _ in terms) if terms else 1
    n_corr = widest - 1
    rows: list[tuple[str, ...]] = []
    position = 0
    for (label, _, names, covariance), sd in zip(terms, sds, strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            correlation = covariance / np.outer(sd, sd)
        corr_cells = format_matrix(np.round(correlation, 2), nsmall=2) if len(names) > 1 else None
        for index, name in enumerate(names):
            corr = [""] * n_corr
            if corr_cells is not None:
                for col in range(index):
                    corr[col] = corr_cells[index, col]
            rows.append(
                (label if index == 0 else "", name, variances[position], std_devs[position], *corr)
            )
            position += 1
    rows.append(("Residual", "", variances[position], std_devs[position], *([""] * n_corr)))
    columns = ("Groups", "Name", "Variance", "Std.Dev.")
    if n_corr:
        columns = (*columns, "Corr", *([""] * (n_corr - 1)))
    return SummaryTable("Random effects:", columns, ("",) * len(rows), tuple(rows), right=False)


def _coefficient_frame(results: LmerResults, ddf: str | None) -> pd.DataFrame:
    if ddf is not None:
        from .contrasts import normalise_ddf

        method = normalise_ddf(ddf)  # Satterthwaite or Kenward-Roger; errors otherwise
        return results.coef_table if method == "Satterthwaite" else results.coefficients(method)
    if ddf is None:
        names = list(results.cov_fe.index)
        estimates = results.fe_params[names]
        errors = results.bse_fe[names]
        return pd.DataFrame(
            {"Estimate": estimates, "Std. Error": errors, "t value": estimates / errors}
        )


def _stars(pvalue: float) -> str:
    for cut, symbol in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if pvalue <= cut:
            return symbol
    return ""


def coefficient_table(
    coefficients: pd.DataFrame, digits: int = DIGITS, signif_stars: bool = True
) -> tuple[SummaryTable, bool]:
    """R's ``printCoefmat``: ``(table, stars shown)``.

    Estimate, standard error (and df) are rounded together to
    ``digits - (1 + floor(log10(smallest)))`` decimals, the t value to
    ``digits - 1`` decimals, p values with ``format.pval``.
    """
    values = coefficients.to_numpy(dtype=float)
    columns = list(coefficients.columns)
    has_p = len(columns) >= 4 and columns[-1][:3] in ("Pr(", "p-v")
    k = len(columns) - int(has_p) - 1
    dig_tst = max(1, min(5, digits - 1))
    cells = np.full(values.shape, "", dtype=object)
    magnitudes = np.abs(values[:, :k])
    usable = magnitudes[np.isfinite(magnitudes) & (magnitudes != 0)]
    smallest_digit = 1 + (int(np.floor(np.log10(usable.min()))) if usable.size else 0)
    cells[:, :k] = format_matrix(np.round(values[:, :k], max(1, digits - smallest_digit)), digits)
    cells[:, k] = format_vector(np.round(values[:, k], dig_tst), digits)
    show_stars = False
    if has_p:
        pvalues = values[:, -1]
        finite = np.isfinite(pvalues)
        cells[finite, -1] = format_pval(pvalues[finite], dig_tst)
        cells[~finite, -1] = "NA"
        show_stars = signif_stars and bool(np.any(pvalues[finite] < 0.1))
    header = columns
    if show_stars:
        stars = [_stars(p).ljust(3) if np.isfinite(p) else "   " for p in values[:, -1]]
        cells = np.column_stack([cells, stars])
        header = [*columns, ""]
    index = tuple(str(name) for name in coefficients.index)
    rows = tuple(tuple(row) for row in cells.tolist())
    return SummaryTable("Fixed effects:", tuple(header), index, rows), show_stars


def _correlation_table(results: LmerResults) -> SummaryTable | None:
    covariance = results.cov_fe.to_numpy()
    names = [str(name) for name in results.cov_fe.index]
    if len(names) < 2:
        return None
    sd = np.sqrt(np.diag(covariance))
    formatted = format_matrix(np.round(covariance / np.outer(sd, sd), 3), nsmall=3)
    rows = []
    for row in range(1, len(names)):
        cells = (formatted[row, col] if col < row else "" for col in range(len(names) - 1))
        rows.append(tuple(cells))
    return SummaryTable(
        "Correlation of Fixed Effects:",
        tuple(abbreviate(name, 6) for name in names[:-1]),
        tuple(abbreviate(name, 11) for name in names[1:]),
        tuple(rows),
        right=False,
    )


def _criterion_lines(results: LmerResults) -> list[str]:
    if results.reml:
        return [f"REML criterion at convergence: {format_vector([round(results.objective, 1)])[0]}"]
    values = [results.aic, results.bic, results.llf, results.objective]
    cells = [*format_vector(np.round(values, 1)), str(results.nobs - results.df_modelwc)]
    table = SummaryTable(
        "", ("AIC", "BIC", "logLik", "deviance", "df.resid"), ("",), (tuple(cells),), named=True
    )
    return table.text_lines()


def deparse_formula(formula: str) -> str:
    """The formula spaced as R deparses ``~``, ``+``, ``|`` and ``||``: ``(1|g)`` -> ``(1 | g)``.

    Formulas with quoted names are left as written.
    """
    if "'" in formula or '"' in formula or "`" in formula:
        return formula
    spaced = re.sub(r"\s*(\|\||\||~|\+)\s*", r" \1 ", formula)
    spaced = re.sub(r"\s+", " ", spaced).strip()
    return spaced.replace("( ", "(").replace(" )", ")")


def _title(results: LmerResults, ddf: str | None) -> str:
    title = f"Linear mixed model fit by {'REML' if results.reml else 'maximum likelihood'}"
    if ddf is not None:
        from .contrasts import normalise_ddf

        title += f". t-tests use {normalise_ddf(ddf)}'s method"
    return title + " ['LmerResults']"


def _text(
    results: LmerResults,
    title: str,
    info: list[tuple[str, str]],
    tables: dict[str, SummaryTable | None],
    stars: bool,
    notes: list[str],
) -> str:
    """The printed summary, section by section as lme4's ``print.summary.merMod``."""
    lines = [title] + [
        (f"{label}: {value}" if label == "Formula" else f"   {label}: {value}")
        for label, value in info
    ]
    lines += ["", *_criterion_lines(results), ""]
    residuals = tables["residuals"]
    if residuals is not None:
        lines += ["Scaled residuals: ", *residuals.text_lines(), ""]
    else:
        lines += ["Scaled residuals: not kept (fit from chunks; use results.predict(data))", ""]
    lines += ["Random effects:", *tables["random"].text_lines()]
    groups = "; ".join(f"{block.factor.name}, {block.n_levels}" for block in results.model.blocks)
    lines.append(f"Number of obs: {results.nobs}, groups:  {groups}")
    if results.nobs_dropped:
        lines.append(f"({results.nobs_dropped} observations deleted due to missingness)")
    lines += ["", "Fixed effects:", *tables["fixed"].text_lines()]
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    if tables["correlation"] is not None:
        lines += ["", "Correlation of Fixed Effects:", *tables["correlation"].text_lines()]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def lmer_summary(
    results: LmerResults,
    ddf: str | None = "Satterthwaite",
    correlation: bool | None = None,
    signif_stars: bool = True,
    data_name: str | None = None,
) -> LmerSummary:
    """Build the lme4-style summary of a fit (see :meth:`LmerResults.summary`)."""
    design = results.model.design
    formula = design.parsed.formula if design is not None and design.parsed else "(matrices)"
    info = [("Formula", deparse_formula(formula))]
    if data_name is None:
        data_name = getattr(results, "data_name", None)
    if data_name:
        info.append(("Data", data_name))
    coefficients = _coefficient_frame(results, ddf)
    fixed, stars = coefficient_table(coefficients, signif_stars=signif_stars)
    if correlation is None:
        correlation = len(coefficients) <= CORRELATION_MAX
    tables = {
        "residuals": _residual_table(results),
        "random": _random_effects_table(results),
        "fixed": fixed,
        "correlation": _correlation_table(results) if correlation else None,
    }
    notes = []
    if results.singular:
        notes.append("boundary (singular) fit: see results.varcorr()")
    if not results.converged:
        notes.append(f"optimizer did not converge: {results.optimizer.message}")
        optsummary = getattr(results.optimizer, "optsummary", None)
        if optsummary is not None and not optsummary.converged:
            notes.extend(["Fit log (results.optsummary):", *optsummary.lines()])
    title = _title(results, ddf)
    return LmerSummary(
        title=title,
        info=tuple(info),
        tables=tuple(table for table in tables.values() if table is not None),
        notes=tuple(notes),
        coefficients=coefficients,
        varcorr=results.varcorr(),
        text=_text(results, title, info, tables, stars, notes),
    )
