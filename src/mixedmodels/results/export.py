"""Export of fitted results: a JSON-safe dict, Markdown and LaTeX summaries.

``to_dict`` holds only str, int, float, bool, None, lists and dicts, so
``json.loads(json.dumps(d)) == d`` (floats round-trip exactly through
Python's JSON); non-finite numbers become ``None``.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .lmer import LmerResults
    from .summary import LmerSummary, SummaryTable

__all__ = ["summary_latex", "summary_markdown", "to_dict", "to_json"]

FORMAT_VERSION = 1


def _clean(value: Any) -> Any:
    """Plain Python (JSON-safe) values; NaN and infinities become ``None``."""
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Index)):
        return [_clean(item) for item in list(value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if pd.isna(value):
        return None
    return str(value)


def _records(frame: pd.DataFrame, index_name: str | None = None) -> list[dict[str, Any]]:
    if index_name is not None:
        frame = frame.rename_axis(index_name).reset_index()
    return [_clean(record) for record in frame.to_dict(orient="records")]


def to_dict(results: LmerResults, ranef: bool = True) -> dict[str, Any]:
    """The fit as a JSON-safe dict (estimates, tables, fit statistics).

    Parameters
    ----------
    results : LmerResults
    ranef : bool, default True
        Include the conditional modes and their conditional SDs per factor.
    """
    model = results.model
    design = model.design
    formula = design.parsed.formula if design is not None and design.parsed else None
    out: dict[str, Any] = {
        "format": "mixedmodels.LmerResults",
        "version": FORMAT_VERSION,
        "formula": formula,
        "data_name": getattr(results, "data_name", None),
        "method": results.method,
        "nobs": results.nobs,
        "nobs_dropped": results.nobs_dropped,
        "ngroups": {block.factor.name: block.n_levels for block in model.blocks},
        "llf": results.llf,
        "objective": results.objective,
        "aic": results.aic,
        "bic": results.bic,
        "sigma": results.sigma,
        "theta": results.theta,
        "converged": results.converged,
        "singular": results.singular,
        "fixed_effects": results.fe_params.to_dict(),
        "std_errors": results.bse_fe.to_dict(),
        "cov_fe": {
            "names": list(results.cov_fe.index),
            "matrix": results.cov_fe.to_numpy(),
        },
        "coefficients": _records(results.coef_table, "term"),
        "varcorr": _records(results.varcorr()),
    }
    if ranef:
        modes, condsd = results.ranef(), results.ranef_condsd()
        out["ranef"] = {
            group: {
                "levels": list(frame.index),
                "columns": list(frame.columns),
                "modes": frame.to_numpy(),
                "condsd": condsd[group].to_numpy(),
            }
            for group, frame in modes.items()
        }
    return _clean(out)


def to_json(results: LmerResults, path: str | None = None, **kwargs: Any) -> str:
    """:func:`to_dict` as JSON text; written to ``path`` when given."""
    text = json.dumps(to_dict(results, **kwargs), indent=1)
    if path is not None:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return text


# ---------------------------------------------------------------------- Markdown / LaTeX
def _markdown_table(table: SummaryTable) -> list[str]:
    frame = table.frame()
    has_index = not table.named and any(name.strip() for name in table.index)
    header = ([""] if has_index else []) + [column or " " for column in frame.columns]
    align = ["---" if not has_index else ":--"] if has_index else []
    align += ["--:" if table.right else ":--" for _ in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for name, row in zip(frame.index, frame.to_numpy(), strict=True):
        cells = ([f"`{name}`"] if has_index else []) + [str(cell) for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary_markdown(summary: LmerSummary) -> str:
    """The summary as Markdown: a title, the fit facts and pipe tables."""
    lines = [f"**{summary.title}**", ""]
    lines += [f"- {label}: `{value}`" for label, value in summary.info]
    for table in summary.tables:
        lines += ["", f"*{table.title.rstrip(':')}*", "", *_markdown_table(table)]
    if summary.notes:
        lines += ["", *(f"> {note}" for note in summary.notes)]
    return "\n".join(lines) + "\n"


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def _latex_table(table: SummaryTable) -> list[str]:
    frame = table.frame()
    has_index = not table.named and any(name.strip() for name in table.index)
    spec = ("l" if has_index else "") + ("r" if table.right else "l") * len(frame.columns)
    header = ([""] if has_index else []) + [latex_escape(column) for column in frame.columns]
    lines = [
        r"\begin{tabular}{" + spec + "}",
        r"\hline",
        " & ".join(header) + r" \\",
        r"\hline",
    ]
    for name, row in zip(frame.index, frame.to_numpy(), strict=True):
        cells = ([latex_escape(str(name))] if has_index else []) + [
            latex_escape(str(cell)) for cell in row
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return lines


def summary_latex(summary: LmerSummary) -> str:
    """The summary as a LaTeX fragment: one ``tabular`` per table (needs no packages)."""
    lines = [r"\begin{flushleft}", latex_escape(summary.title) + r"\\"]
    lines += [
        rf"{latex_escape(label)}: \texttt{{{latex_escape(value)}}}\\"
        for label, value in summary.info
    ]
    for table in summary.tables:
        lines += [
            "",
            r"\medskip",
            rf"\textbf{{{latex_escape(table.title)}}}\\",
            *_latex_table(table),
        ]
    for note in summary.notes:
        lines += ["", latex_escape(note) + r"\\"]
    lines.append(r"\end{flushleft}")
    return "\n".join(lines) + "\n"
