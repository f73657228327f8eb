"""The "Mixed Linear Model Regression Results" table, laid out as statsmodels lays it out.

Layout: a centred title, a rule of ``=``, the model information as two
key/value column pairs, a rule of ``-``, the coefficient table (centred headers ``Coef.``,
``Std.Err.``, ``z``, ``P>|z|`` and the confidence limits; variance rows show
only the estimate and its standard error) and a closing rule. Column
separators of the narrower table are widened so both tables share one width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError

if TYPE_CHECKING:
    from ._results import MixedLMResults

__all__ = ["Summary", "mixedlm_summary"]


class Summary:
    """A printable summary.

    Attributes
    ----------
    title : str
    info : dict of str
        Model information, in display order.
    table : DataFrame
        Coefficient table as formatted strings.
    tables : list of DataFrame
        As statsmodels' ``Summary.tables``: the information table (key, value,
        key, value columns), then the coefficient table.
    """

    def __init__(self, title: str, info: dict[str, str], table: pd.DataFrame) -> None:
        self.title = title
        self.info = info
        self.table = table
        self.tables = [pd.DataFrame(self._info_rows()), table]

    def _info_rows(self) -> list[list[str]]:
        items = list(self.info.items())
        half = (len(items) + 1) // 2
        left, right = items[:half], items[half:]
        right += [("", "")] * (len(left) - len(right))
        return [[a, b, c, d] for (a, b), (c, d) in zip(left, right, strict=True)]

    def as_text(self) -> str:
        """The table as plain text."""
        info_rows = self._info_rows()
        header = ["", *[str(column) for column in self.table.columns]]
        coef_rows = [
            [str(index), *row]
            for index, row in zip(self.table.index, self.table.values, strict=True)
        ]
        info_widths = _widths(info_rows)
        coef_widths = _widths([header, *coef_rows])
        info_width = sum(info_widths) + len(info_widths) - 1
        coef_width = sum(coef_widths) + len(coef_widths) - 1
        widest = max(info_width, coef_width)
        info_sep, info_pad = _padding(widest, info_width, len(info_widths))
        coef_sep, coef_pad = _padding(widest, coef_width, len(coef_widths))
        lines = []
        title = self.title
        if len(title) < widest:
            title = " " * int(widest / 2 - len(title) / 2) + title
        lines.append(title)
        lines.append("=" * widest)
        for row in info_rows:
            lines.append(_render(row, info_widths, info_sep, info_pad, align="l"))
        lines.append("-" * widest)
        lines.append(_render(header, coef_widths, coef_sep, coef_pad, align="c"))
        lines.append("-" * widest)
        for row in coef_rows:
            lines.append(_render(row, coef_widths, coef_sep, coef_pad, align="r"))
        lines.append("=" * widest)
        return "\n".join(lines) + "\n"

    def as_html(self) -> str:
        """The two tables as HTML."""
        info = self.tables[0].to_html(index=False, header=False)
        return f"<h4>{self.title}</h4>\n{info}\n{self.table.to_html()}"

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()


def _widths(rows: list[list[str]]) -> list[int]:
    return [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]


def _padding(widest: int, width: int, n_columns: int) -> tuple[int, int]:
    separators = max(n_columns - 1, 1)
    extra = (widest - width) // separators
    return extra, widest - (width + separators * extra)


def _render(row: list[str], widths: list[int], extra: int, pad: int, align: str) -> str:
    separator = " " * (1 + extra)
    cells = [row[0].ljust(widths[0] + pad)]
    for cell, width in zip(row[1:], widths[1:], strict=True):
        if align == "l":
            cells.append(cell.ljust(width))
        elif align == "c":
            cells.append(cell.center(width))
        else:
            cells.append(cell.rjust(width))
    return separator.join(cells)


def _format(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else ""


def mixedlm_summary(
    results: MixedLMResults,
    yname: str | None = None,
    xname_fe: list[str] | None = None,
    xname_re: list[str] | None = None,
    title: str | None = None,
    alpha: float = 0.05,
) -> Summary:
    """Build the summary of a :class:`MixedLMResults` (see the module notes)."""
    model = results.model
    names = list(results.params.index)
    k_fe = results.k_fe
    if xname_fe is not None:
        if len(xname_fe) != k_fe:
            raise DataError(f"xname_fe should be a list of length {k_fe}")
        names[:k_fe] = list(xname_fe)
    if xname_re is not None:
        if len(xname_re) != len(names) - k_fe:
            raise DataError(f"xname_re should be a list of length {len(names) - k_fe}")
        names[k_fe:] = list(xname_re)
    sizes = model.group_sizes
    info = {
        "Model:": "MixedLM",
        "No. Observations:": str(model.nobs),
        "No. Groups:": str(model.n_groups),
        "Min. group size:": f"{sizes.min():.0f}",
        "Max. group size:": f"{sizes.max():.0f}",
        "Mean group size:": f"{sizes.mean():.1f}",
        "Dependent Variable:": yname if yname is not None else str(model.endog_names),
        "Method:": results.method,
        "Scale:": f"{results.scale:.4f}",
        "Log-Likelihood:": f"{results.llf:.4f}",
        "Converged:": "Yes" if results.converged else "No",
    }
    fe = results.fe_params.to_numpy()
    se = results.bse_fe.to_numpy()
    z = np.full(k_fe, np.nan)
    ok = se > 0
    z[ok] = fe[ok] / se[ok]
    quantile = stats.norm.ppf(1 - alpha / 2)
    rows = np.full((len(names), 6), np.nan)
    rows[:k_fe, 0] = fe
    rows[:k_fe, 1] = se
    rows[:k_fe, 2] = z
    rows[:k_fe, 3] = np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(np.nan_to_num(z))), np.nan)
    rows[:k_fe, 4] = fe - quantile * se
    rows[:k_fe, 5] = fe + quantile * se
    cov = results.cov_re.to_numpy()
    natural = [cov[i, j] for i in range(results.k_re) for j in range(i + 1)]
    natural += list(results.vcomp)
    rows[k_fe:, 0] = natural
    rows[k_fe:, 1] = results.bse_re.to_numpy()
    columns = ["Coef.", "Std.Err.", "z", "P>|z|", f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"]
    table = pd.DataFrame(
        [[_format(value) for value in row] for row in rows], index=names, columns=columns
    )
    return Summary(title or "Mixed Linear Model Regression Results", info, table)
