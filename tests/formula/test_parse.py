"""lme4's bar syntax: expansion of terms and the errors of malformed formulas."""

from __future__ import annotations

import pytest

from mixedmodels.errors import ArgumentTypeError, FormulaError
from mixedmodels.formula.parse import parse_formula, split_top_level


@pytest.mark.parametrize(
    ("formula", "fixed", "bars"),
    [
        ("y ~ x + (1 + x | g)", "x", [("1 + x", ("g",))]),
        ("y ~ x + (x || g)", "x", [("1", ("g",)), ("0 + x", ("g",))]),
        ("y ~ x + (0 + x || g)", "x", [("0 + x", ("g",))]),
        ("y ~ (1 | a/b)", "1", [("1", ("a",)), ("1", ("a", "b"))]),
        ("y ~ (1 | a:b)", "1", [("1", ("a", "b"))]),
        ("y ~ (1 | (g))", "1", [("1", ("g",))]),
        ("y ~ poly(x, 2) + (1 | g)", "poly(x, 2)", [("1", ("g",))]),
        ("y ~ -1 + x + (1 | g)", "- 1 + x", [("1", ("g",))]),
        ("y ~ x + + (1 | g)", "x", [("1", ("g",))]),
        ("log(y) ~ x*z + (1|g) + (1|h)", "x*z", [("1", ("g",)), ("1", ("h",))]),
    ],
)
def test_expansion(formula: str, fixed: str, bars: list[tuple[str, tuple[str, ...]]]) -> None:
    parsed = parse_formula(formula)
    assert parsed.fixed_rhs == fixed
    assert [(bar.lhs, bar.group) for bar in parsed.bars] == bars


def test_double_bar_terms_are_marked_uncorrelated() -> None:
    parsed = parse_formula("y ~ (x || g) + (x | h)")
    assert [bar.uncorrelated_with_siblings for bar in parsed.bars] == [True, True, False]
    assert parsed.bars[0].source == "(x || g)"


@pytest.mark.parametrize(
    ("formula", "phrase"),
    [
        ("y ~ x + (1 | g", "unbalanced parentheses"),
        ("y ~ x + (1 | g))", "unbalanced ')'"),
        ("y ~ x + ( | g)", "nothing left of '|'"),
        ("y ~ x + (1 | )", "no grouping factor after '|'"),
        ("y ~ x + (x || )", "no grouping factor after '|'"),
        ("y ~ x + (1 | a/)", "empty part"),
        ("y ~ x + (1 | a + b)", "must be a variable name"),
        ("y ~ x ~ z", "exactly one '~'"),
        ("y + x + (1 | g)", "exactly one '~'"),
        ("~ x + (1 | g)", "no response"),
        ("y ~ ", "no right-hand side"),
        ("y ~ x + 1 | g", "must be in parentheses"),
        ("y ~ x - (1 | g)", "cannot subtract the random-effect term"),
        ("y ~ x + (1 | g) +", "dangling '+'"),
        ("y ~ x -", "dangling '-'"),
        ("y ~ x + (x - z || g)", "cannot remove 'z'"),
    ],
)
def test_malformed_formulas(formula: str, phrase: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    assert phrase in str(info.value)


@pytest.mark.parametrize("formula", [None, 3, ["y ~ (1 | g)"], b"y ~ (1 | g)"])
def test_formula_must_be_a_string(formula: object) -> None:
    with pytest.raises(ArgumentTypeError, match="formula must be a string"):
        parse_formula(formula)  # type: ignore[arg-type]


def test_split_ignores_separators_in_calls_and_quotes() -> None:
    assert split_top_level("a + f(b, c + d) + 'x+y'") == [
        ("+", "a"),
        ("+", "f(b, c + d)"),
        ("+", "'x+y'"),
    ]
