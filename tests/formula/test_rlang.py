"""R's parser, deparse and terms algebra."""

from __future__ import annotations

import pytest

from mixedmodels.errors import FormulaError
from mixedmodels.formula.rlang import (
    deparse,
    expand_terms,
    format_number,
    names_in,
    parse_expression,
)


@pytest.mark.parametrize(
    ("rhs", "labels", "intercept"),
    [
        ("a * b", ["a", "b", "a:b"], True),
        ("(a + b + c)^2", ["a", "b", "c", "a:b", "a:c", "b:c"], True),
        ("a / b", ["a", "a:b"], True),
        ("(a + b) / c", ["a", "b", "a:b:c"], True),
        ("b %in% a", ["b:a"], True),
        ("a + b %in% a + c:b", ["a", "a:b", "b:c"], True),
        ("a * b - a:b", ["a", "b"], True),
        ("0 + a", ["a"], False),
        ("a - 1", ["a"], False),
        ("-1 + a", ["a"], False),
        ("a + 0 + 1", ["a"], True),
        ("b:a + a", ["a", "b:a"], True),
        ("x^2", ["x"], True),
        ("I(x^2) + poly(x, 2)", ["I(x^2)", "poly(x, 2)"], True),
    ],
)
def test_terms_as_r(rhs: str, labels: list[str], intercept: bool) -> None:
    terms = expand_terms(rhs)
    assert terms.term_labels == labels
    assert terms.intercept is intercept


def test_offsets_are_not_terms() -> None:
    terms = expand_terms("x + offset(log(z))")
    assert terms.term_labels == ["x"]
    assert [deparse(node) for node in terms.offsets] == ["log(z)"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("sin(pi * Days / 9)", "sin(pi * Days/9)"),
        ("exp(-Days / 5)", "exp(-Days/5)"),
        ("I(x>1)", "I(x > 1)"),
        ("poly(x,3,raw=TRUE)", "poly(x, 3, raw = TRUE)"),
        ("dummy(f, 'B')", 'dummy(f, "B")'),
        ("`sleep days`", "`sleep days`"),
        ("Q('sleep days')", "`sleep days`"),
        ("total.fruits", "total.fruits"),
        ("-2^2", "-2^2"),
        ("I(x**2)", "I(x^2)"),
        ("a %in% b", "a %in% b"),
    ],
)
def test_deparse_as_r(text: str, label: str) -> None:
    assert deparse(parse_expression(text)) == label


def test_power_binds_tighter_than_unary_minus() -> None:
    node = parse_expression("-2^2")
    assert node.op == "-" and node.operand.op == "^"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e5, "1e+05"), (1e-5, "1e-05"), (2.5, "2.5"), (1234567.0, "1234567"), (100.0, "100")],
)
def test_numbers_print_as_r(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize("text", ["x[1]", "a$b", "{x}", "x <- 1", "f(x,", "x +* y"])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(FormulaError):
        expand_terms(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("log(y) + I(x^2) * f", ["y", "x", "f"]),
        ("poly(x, degree = k) + scale(x, center = TRUE)", ["x", "k", "TRUE"]),
        ("-(a + b) / (c - a)", ["a", "b", "c"]),
        ("y ~ .", ["y"]),
    ],
)
def test_names_in_order_of_first_appearance(text: str, names: list[str]) -> None:
    assert names_in([parse_expression(text)]) == names
