"""R's number formatting, as lme4's ``print(summary(fit))`` uses it.

R formats a numeric vector *as a whole*: every element gets the number of
decimals the most demanding element needs to show ``digits`` significant
digits (``formatReal`` in R's ``format.c``), so a column reads ``612.10`` /
`` 35.07``, not ``612.1`` / ``35.07``. The functions here reproduce
``format(x, digits=)``, ``format(x, nsmall=)``, ``format.pval``,
``zapsmall``, ``abbreviate`` and ``printCoefmat`` closely enough to print
the same text as R for the tables of a mixed-model summary.

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``digits``   significant digits wanted (R's ``digits`` argument)
``kpower``   decimal exponent of a number after rounding to ``digits``
``nsig``     significant digits left once trailing zeros are dropped
``rgt``      decimals shown: ``max(nsig - kpower - 1)`` over the vector
===========  ===============================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "abbreviate",
    "format_matrix",
    "format_pval",
    "format_vector",
    "print_matrix",
    "zapsmall",
]

_SCIPEN = 0  # R's options(scipen)


def _scientific(value: float, digits: int) -> tuple[int, int]:
    """``(kpower, nsig)`` of ``value`` rounded to ``digits`` significant digits."""
    if value == 0:
        return 0, 1
    mantissa, exponent = f"{abs(value):.{digits - 1}e}".split("e")
    significant = mantissa.replace(".", "").rstrip("0")
    return int(exponent), max(1, len(significant))


def _fixed_layout(values: np.ndarray, digits: int) -> tuple[bool, int, int]:
    """``(fixed, decimals, sci_digits)`` as R's ``formatReal`` decides them."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return True, 0, 0
    negative = bool(np.any(finite < 0))
    rgt = 0
    max_left = 1
    max_nsig = 1
    max_exp, min_exp = -400, 400
    any_left_positive = False
    for value in finite:
        kpower, nsig = _scientific(float(value), digits)
        left = kpower + 1
        any_left_positive |= left > 0
        sleft = (1 if value < 0 else 0) + (left if left > 0 else 1)
        rgt = max(rgt, nsig - left)
        max_left = max(max_left, sleft)
        max_nsig = max(max_nsig, nsig)
        max_exp, min_exp = max(max_exp, kpower), min(min_exp, kpower)
    if not any_left_positive:
        max_left = 1 + int(negative)
    rgt = max(rgt, 0)
    width_fixed = max_left + rgt + (rgt != 0)
    exp_digits = 2 if (max_exp >= 100 or min_exp <= -100) else 1
    sci_digits = max_nsig - 1
    width_sci = int(negative) + (sci_digits > 0) + sci_digits + 4 + exp_digits
    return width_fixed <= width_sci + _SCIPEN, rgt, sci_digits


def _format_one(value: float, fixed: bool, decimals: int, sci_digits: int) -> str:
    if math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if fixed:
        return f"{value:.{decimals}f}"
    mantissa, exponent = f"{value:.{sci_digits}e}".split("e")
    sign, power = exponent[0], exponent[1:].lstrip("0")
    return f"{mantissa}e{sign}{power.rjust(2, '0')}"


def format_vector(
    values: Sequence[float] | np.ndarray, digits: int = 7, nsmall: int = 0
) -> list[str]:
    """R's ``format(x, digits=digits, nsmall=nsmall)``: common decimals, right-justified."""
    array = np.asarray(values, dtype=float).ravel()
    fixed, decimals, sci_digits = _fixed_layout(array, digits)
    if fixed:
        decimals = max(decimals, nsmall)
    cells = [_format_one(float(value), fixed, decimals, sci_digits) for value in array]
    width = max((len(cell) for cell in cells), default=0)
    return [cell.rjust(width) for cell in cells]


def format_matrix(values: np.ndarray, digits: int = 7, nsmall: int = 0) -> np.ndarray:
    """:func:`format_vector` applied to a whole matrix (R formats matrices as one vector)."""
    array = np.asarray(values, dtype=float)
    return np.array(format_vector(array, digits, nsmall), dtype=object).reshape(array.shape)


def zapsmall(values: np.ndarray, digits: int) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits of the largest entry.

    R computes ``digits - log10(max|x|)`` without taking the ceiling, and
    ``round`` then takes the nearest whole number of places.
    """
    array = np.asarray(values, dtype=float)
    largest = float(np.max(np.abs(array[np.isfinite(array)]), initial=0.0))
    places = max(0.0, digits - math.log10(largest)) if largest > 0 else digits
    return np.round(array, math.floor(places + 0.5))


def format_pval(
    pvalues: Sequence[float], digits: int, eps: float = 2.220446049250313e-16
) -> list[str]:
    """R's ``format.pval``: values under ``eps`` print as ``<2e-16`` (or ``< 2e-16``)."""
    pvalues = np.asarray(pvalues, dtype=float)
    tiny = pvalues < eps
    out = [""] * len(pvalues)
    regular = [index for index in range(len(pvalues)) if not tiny[index]]
    formatted: list[str] = []
    if regular:
        values = pvalues[regular]
        exponents = np.floor(np.log10(np.where(values > 0, values, 1e-50)))
        fixed_part = (exponents >= -3) | (values == 0)
        formatted = [""] * len(values)
        for selector in (fixed_part, ~fixed_part):
            if selector.any():
                cells = format_vector(values[selector], digits)
                for position, cell in zip(np.flatnonzero(selector), cells, strict=True):
                    formatted[position] = cell
        for index, cell in zip(regular, formatted, strict=True):
            out[index] = cell
    if tiny.any():
        eps_digits = max(1, digits - 2)
        if regular:
            widest = max(len(cell) for cell in formatted)
            if eps_digits > 1 and eps_digits + 6 > widest:
                eps_digits = max(1, widest - 7)
            separator = "" if (eps_digits == 1 and widest <= 6) else " "
        else:
            separator = "" if eps_digits == 1 else " "
        text = "<" + separator + format_vector([eps], eps_digits)[0]
        for index in np.flatnonzero(tiny):
            out[index] = text
    return out


def _is_first_char(chars: list[str], index: int) -> bool:
    return chars[index - 1].isspace()


def _is_last_char(chars: list[str], index: int) -> bool:
    return not chars[index - 1].isspace() and (
        index + 1 == len(chars) or chars[index + 1].isspace()
    )


def abbreviate(name: str, minlength: int) -> str:
    """R's ``abbreviate(name, minlength)``: drop lower-case vowels, then letters, from the right."""
    chars = list(name.strip())
    spaces = sum(char.isspace() for char in chars)

    def short_enough() -> bool:
        return len(chars) - spaces <= minlength

    if short_enough():
        return "".join(chars)
    passes = (
        lambda i: chars[i] in "aeiou" and _is_last_char(chars, i),
        lambda i: chars[i] in "aeiou" and not _is_first_char(chars, i),
        lambda i: chars[i].islower() and _is_last_char(chars, i),
        lambda i: chars[i].islower() and not _is_first_char(chars, i),
        lambda i: not _is_first_char(chars, i) and not chars[i].isspace(),
    )
    for drop in passes:
        for index in range(len(chars) - 1, 0, -1):
            if index < len(chars) and drop(index):
                del chars[index]
            if short_enough():
                return "".join(chars).replace(" ", "")
    return "".join(chars).replace(" ", "")


def print_matrix(
    cells: Sequence[Sequence[str]],
    row_names: Sequence[str],
    column_names: Sequence[str],
    right: bool = True,
) -> list[str]:
    """R's ``print(<character matrix>, quote = FALSE, right = right)`` as lines.

    Row names are left-justified; each column is preceded by one space and
    justified (with its header) right or left.
    """
    name_width = max((len(name) for name in row_names), default=0)
    columns = list(zip(*cells, strict=True)) if cells else [() for _ in column_names]
    widths = [
        max([len(header), *(len(cell) for cell in column)])
        for header, column in zip(column_names, columns, strict=True)
    ]

    def justify(text: str, width: int) -> str:
        return text.rjust(width) if right else text.ljust(width)

    lines = [
        "".ljust(name_width)
        + "".join(
            " " + justify(header, width) for header, width in zip(column_names, widths, strict=True)
        )
    ]
    for name, row in zip(row_names, cells, strict=True):
        lines.append(
            name.ljust(name_width)
            + "".join(" " + justify(cell, width) for cell, width in zip(row, widths, strict=True))
        )
    return lines
