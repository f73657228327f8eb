"""Notebook views: compact HTML for fitted results and their summaries.

The tables are the summary's formatted cells (lme4's digits), so the notebook
shows the same numbers as ``print(fit.summary())``. Styles are inline and
scoped to one class, so the output also renders in static HTML exports.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .lmer import LmerResults
    from .summary import LmerSummary, SummaryTable

__all__ = ["page", "results_html", "summary_html", "table_html"]

_STYLE = """<style>
.mm-fit {font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 13px;
  line-height: 1.35; max-width: 760px}
.mm-fit .mm-title {font-weight: 600; margin-bottom: 4px}
.mm-fit dl {display: grid; grid-template-columns: max-content auto; gap: 1px 12px; margin: 4px 0}
.mm-fit dt {color: #555} .mm-fit dd {margin: 0; font-family: Menlo, Consolas, monospace}
.mm-fit table {border-collapse: collapse; margin: 2px 0 10px 0}
.mm-fit caption {text-align: left; font-weight: 600; padding: 4px 0; white-space: nowrap}
.mm-fit th, .mm-fit td {padding: 2px 10px; border-bottom: 1px solid #e4e4e4;
  font-family: Menlo, Consolas, monospace; white-space: pre}
.mm-fit thead th {border-bottom: 1px solid #999; font-weight: 600}
.mm-fit tbody th {font-weight: 600}
.mm-fit td.num, .mm-fit th.num {text-align: right}
.mm-fit td.txt, .mm-fit th.txt {text-align: left}
.mm-fit .mm-note {color: #a04000}
</style>"""


def _table_html(table: SummaryTable) -> str:
    frame = table.frame()
    has_index = not table.named and any(name.strip() for name in table.index)
    kind = "num" if table.right else "txt"
    head = ["<th></th>"] if has_index else []
    head += [f'<th class="{kind}">{escape(str(column))}</th>' for column in frame.columns]
    rows = []
    for name, row in zip(frame.index, frame.to_numpy(), strict=True):
        cells = [f'<th class="txt">{escape(str(name))}</th>'] if has_index else []
        cells += [f'<td class="{kind}">{escape(str(cell))}</td>' for cell in row]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><caption>{escape(table.title.rstrip(':'))}</caption>"
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def table_html(table: SummaryTable) -> str:
    """One summary table on its own (its notebook view)."""
    return f'{_STYLE}<div class="mm-fit">{_table_html(table)}</div>'


def summary_html(summary: LmerSummary) -> str:
    """The summary as an HTML fragment (title, fit facts, tables, notes)."""
    facts = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in summary.info
    )
    tables = "".join(_table_html(table) for table in summary.tables)
    notes = "".join(f'<div class="mm-note">{escape(note)}</div>' for note in summary.notes)
    return (
        f'{_STYLE}<div class="mm-fit"><div class="mm-title">{escape(summary.title)}</div>'
        f"<dl>{facts}</dl>{tables}{notes}</div>"
    )


def results_html(results: LmerResults) -> str:
    """Compact notebook view of a fit: facts, random effects, fixed effects.

    As lme4's ``print(fit)``: estimates, standard errors and t values, without
    the Satterthwaite df (a Hessian, seconds on a large model, for a repr); the
    scaled residuals and the correlation of fixed effects are left to
    ``summary()``, whose notebook view has them all.
    """
    from .summary import lmer_summary

    summary = lmer_summary(results, ddf=None, correlation=False)
    kept = [
        table for table in summary.tables if table.title in ("Random effects:", "Fixed effects:")
    ]
    groups = ", ".join(f"{block.factor.name} ({block.n_levels})" for block in results.model.blocks)
    criterion = "REML criterion" if results.reml else "deviance"
    facts = [
        *summary.info,
        (criterion, f"{results.objective:.4f}"),
        ("log-likelihood", f"{results.llf:.4f}"),
        ("observations", f"{results.nobs}"),
        ("groups", groups),
    ]
    facts_html = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in facts
    )
    notes = "".join(f'<div class="mm-note">{escape(note)}</div>' for note in summary.notes)
    title = f"Linear mixed model fit by {results.method}"
    return (
        f'{_STYLE}<div class="mm-fit"><div class="mm-title">{escape(title)}</div>'
        f"<dl>{facts_html}</dl>{''.join(_table_html(table) for table in kept)}{notes}</div>"
    )


def page(fragment: str, title: str = "mixedmodels") -> str:
    """A whole HTML page around a fragment (for a browser or a file)."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f'<body style="margin: 16px; background: #fff">{fragment}</body></html>'
    )
