"""R's number formatting, against values R 4.2 prints (``format``, ``format.pval``, ...)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.results.rformat import (
    abbreviate,
    format_pval,
    format_vector,
    print_matrix,
    zapsmall,
)


@pytest.mark.parametrize(
    ("values", "digits", "expected"),
    [
        # format(c(612.0902, 35.07164, 654.9401), digits = 4)
        ([612.0902, 35.07164, 654.9401], 4, ["612.09", " 35.07", "654.94"]),
        # format(c(-2.07923366551, 0.06292216383, 2.97958580522), digits = 4)
        ([-2.07923366551, 0.06292216383, 2.97958580522], 4, ["-2.07923", " 0.06292", " 2.97959"]),
        # format(3.26e-06, digits = 3); format(1e-20, digits = 4)
        ([3.26382e-06], 3, ["3.26e-06"]),
        ([1e-20], 4, ["1e-20"]),
        ([0.0, 1.5], 7, ["0.0", "1.5"]),
    ],
)
def test_format_vector_matches_r(values: list[float], digits: int, expected: list[str]) -> None:
    assert format_vector(values, digits) == expected


def test_nsmall_pads_decimals() -> None:
    # format(round(c(1, 0.0655), 2), nsmall = 2)
    assert format_vector(np.round([1.0, 0.0655], 2), nsmall=2) == ["1.00", "0.07"]


def test_format_pval_matches_r() -> None:
    # format.pval(c(1.17e-17, 3.26e-06), digits = 3, eps = .Machine$double.eps)
    assert format_pval([1.17e-17, 3.26e-06], 3) == ["< 2e-16", "3.26e-06"]
    assert format_pval([1e-30, 1e-40], 3) == ["<2e-16", "<2e-16"]
    assert format_pval([3.62e-07], 3) == ["3.62e-07"]


def test_zapsmall_uses_r_rounding_of_places() -> None:
    # zapsmall(c(-2.079234, 0.062922, 2.979586), 5): 5 - log10(2.98) = 4.53 -> 5 places
    np.testing.assert_array_equal(
        zapsmall(np.array([-2.079234, 0.062922, 2.979586]), 5), [-2.07923, 0.06292, 2.97959]
    )


@pytest.mark.parametrize(
    ("name", "minlength", "expected"),
    [("(Intercept)", 6, "(Intr)"), ("(Intercept)", 11, "(Intercept)"), ("Days", 6, "Days")],
)
def test_abbreviate_matches_r(name: str, minlength: int, expected: str) -> None:
    assert abbreviate(name, minlength) == expected


def test_print_matrix_left_and_right() -> None:
    assert print_matrix([["a", "bb"]], ["row"], ["x", "y"], right=True) == [
        "    x  y",
        "row a bb",
    ]
    assert print_matrix([["a", "bb"]], [""], ["xx", "y"], right=False) == [" xx y ", " a  bb"]
