"""Parse lme4 mixed-model formulas into a fixed part and random-effect bar terms.

An lme4 formula such as ``y ~ x + (1 + x | g) + (1 | a/b) + (z || h)`` is split
into

* the response ``y``;
* the fixed-effects right-hand side ``x`` (handed to formulaic as it is);
* one :class:`BarTerm` per random-effect term after expansion:

  ========================  =====================================================
  written                   expanded to
  ========================  =====================================================
  ``(1 + x | g)``           one correlated term ``1 + x`` on ``g``
  ``(1 + x || g)``          ``(1 | g)`` and ``(0 + x | g)``, uncorrelated
  ``(1 | a/b)``             ``(1 | a)`` and ``(1 | a:b)``
  ``(1 | a:b)``             one term on the interaction factor of ``a`` and ``b``
  ========================  =====================================================

The parser works on the formula text; it tracks parentheses so that a ``+``
or ``|`` inside a function call (``poly(x, 2)``) is never split.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArgumentTypeError, FormulaError

__all__ = ["BarTerm", "ParsedFormula", "parse_formula", "split_top_level"]


@dataclass(frozen=True)
class BarTerm:
    """One random-effect term ``(lhs | group)`` after expansion.

    Attributes
    ----------
    lhs : str
        Right-hand-side formula of the term's model matrix, e.g. ``"1 + Days"``.
    group : tuple of str
        Names of the variables whose interaction forms the grouping factor;
        ``("a", "b")`` stands for ``a:b``.
    source : str
        The bar term as the user wrote it, for error messages.
    uncorrelated_with_siblings : bool
        True when this term came from splitting a ``||`` term.
    """

    lhs: str
    group: tuple[str, ...]
    source: str
    uncorrelated_with_siblings: bool = False
    name: str = ""

    @property
    def group_name(self) -> str:
        """Name of the grouping factor as lme4 prints it (``a:b``; ``b:a`` for ``a/b``)."""
        return self.name or ":".join(self.group)


@dataclass(frozen=True)
class ParsedFormula:
    """Result of :func:`parse_formula`."""

    response: str
    fixed_rhs: str
    bars: tuple[BarTerm, ...]
    formula: str


def _strip_outer_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and _matching_paren(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _matching_paren(text: str, start: int) -> int:
    depth = 0
    for position in range(start, len(text)):
        char = text[position]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position
    return -1


def split_top_level(text: str, separators: str = "+-") -> list[tuple[str, str]]:
    """Split ``text`` at separators that are outside parentheses and brackets.

    Returns a list of ``(sign, piece)`` pairs; the first sign is ``"+"``.
    """
    pieces: list[tuple[str, str]] = []
    depth = 0
    sign = "+"
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote is not None:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in "'\"`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"unbalanced ')' in formula part {text!r}")
        if depth == 0 and char in separators:
            pieces.append((sign, "".join(current).strip()))
            sign = char
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise FormulaError(f"unbalanced parentheses in formula part {text!r}")
    pieces.append((sign, "".join(current).strip()))
    return pieces


def _find_bar(text: str) -> tuple[int, int]:
    """Position and width (1 or 2) of the top-level ``|`` or ``||`` in ``text``."""
    depth = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "|" and depth == 0:
            width = 2 if text[position : position + 2] == "||" else 1
            return position, width
        position += 1
    return -1, 0


def _expand_group(group_text: str, source: str) -> list[tuple[tuple[str, ...], str]]:
    """Expand ``a/b/c`` into ``[(a,), (a, b), (a, b, c)]`` and ``a:b`` into ``[(a, b)]``.

    Each comes with lme4's name of the factor: ``a``, ``b:a``, ``c:b:a`` for a
    nesting (lme4's ``expandSlash``), ``a:b`` as written for an interaction.
    """
    group_text = _strip_outer_parens(group_text)
    if not group_text:
        raise FormulaError(f"random-effect term {source!r} has no grouping factor after '|'")
    nested_parts = [part for _, part in split_top_level(group_text, "/")]
    if any(not part for part in nested_parts):
        raise FormulaError(f"random-effect term {source!r} has an empty part in {group_text!r}")
    expanded: list[tuple[tuple[str, ...], str]] = []
    prefix: tuple[str, ...] = ()
    label = ""
    for part in nested_parts:
        names = tuple(_strip_outer_parens(name) for _, name in split_top_level(part, ":"))
        for name in names:
            if not name or any(sep in name for sep in "+-*|"):
                raise FormulaError(
                    f"grouping factor {name!r} in random-effect term {source!r} must be a "
                    "variable name, an interaction a:b, or a nesting a/b"
                )
        prefix = prefix + names
        written = ":".join(names)
        label = written if not label else f"{written}:{label}"
        expanded.append((prefix, label))
    return expanded


def _split_double_bar(lhs: str, group: tuple[str, ...], source: str, name: str) -> list[BarTerm]:
    """lme4's ``expandDoubleVerts``: ``(1 | g)`` and one ``(0 + term | g)`` per formula term.

    The terms are R's expansion of ``lhs`` (``Days * late`` gives ``Days``,
    ``late``, ``Days:late``), as lme4 takes them from ``terms()``; a factor
    term stays one term (its columns stay correlated), as in lme4.
    """
    from .rlang import expand_terms

    for sign, piece in split_top_level(lhs):
        if sign == "-" and piece not in ("0", "1", ""):
            raise FormulaError(f"cannot remove {piece!r} inside the '||' term {source!r}")
    expanded = expand_terms(lhs)
    if expanded.offsets:
        raise FormulaError(f"offset() inside the random-effect term {source!r} is not supported")
    terms: list[BarTerm] = []
    if expanded.intercept:
        terms.append(BarTerm("1", group, source, True, name))
    terms.extend(
        BarTerm(f"0 + {label}", group, source, True, name) for label in expanded.term_labels
    )
    if not terms:
        raise FormulaError(f"random-effect term {source!r} has no columns")
    return terms


def _split_sides(formula: object) -> tuple[str, str]:
    """Response and right-hand side of a two-sided formula, checked."""
    if not isinstance(formula, str):
        raise ArgumentTypeError(
            f"formula must be a string such as 'y ~ x + (1 | g)', got {type(formula).__name__}"
        )
    if formula.count("~") != 1:
        raise FormulaError(
            f"formula {formula!r} must have exactly one '~' separating response and predictors"
        )
    response, rhs = (part.strip() for part in formula.split("~"))
    if not response:
        raise FormulaError(f"formula {formula!r} has no response on the left of '~'")
    if not rhs:
        raise FormulaError(f"formula {formula!r} has no right-hand side")
    return response, rhs


def _bar_terms(piece: str, inner: str, bar_position: int, bar_width: int) -> list[BarTerm]:
    """The bar terms of one parenthesised ``(lhs | group)`` or ``(lhs || group)`` piece."""
    lhs = inner[:bar_position].strip()
    group_text = inner[bar_position + bar_width :].strip()
    if not lhs:
        raise FormulaError(
            f"random-effect term {piece!r} has nothing left of '|'; write (1 | g) for a "
            "random intercept"
        )
    bars: list[BarTerm] = []
    for group, name in _expand_group(group_text, piece):
        if bar_width == 2:
            bars.extend(_split_double_bar(lhs, group, piece, name))
        else:
            bars.append(BarTerm(lhs, group, piece, False, name))
    return bars


def parse_formula(formula: str) -> ParsedFormula:
    """Split an lme4 formula into response, fixed part and expanded bar terms.

    Parameters
    ----------
    formula : str
        A two-sided formula in lme4 syntax.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    ArgumentTypeError
        If the formula is not a string.
    FormulaError
        If the formula is one-sided, has unbalanced parentheses, a dangling
        operator, or a malformed bar term.
    """
    response, rhs = _split_sides(formula)
    fixed_pieces: list[str] = []
    bars: list[BarTerm] = []
    pieces = split_top_level(rhs)
    if len(pieces) > 1 and pieces[-1][1] == "":
        raise FormulaError(
            f"formula {formula!r} ends with a dangling {pieces[-1][0]!r}; remove it or add a term"
        )
    for sign, piece in pieces:
        if piece == "":
            if sign == "-":
                raise FormulaError(f"formula {formula!r} has a dangling '-'")
            continue
        inner = _strip_outer_parens(piece) if piece.startswith("(") else None
        bar_position, bar_width = _find_bar(inner) if inner is not None else (-1, 0)
        if inner is None or bar_position < 0:
            if "|" in piece and not piece.startswith("("):
                raise FormulaError(
                    f"random-effect term {piece!r} in {formula!r} must be in parentheses, "
                    "e.g. (1 | g)"
                )
            fixed_pieces.append(piece if sign == "+" else f"- {piece}")
            continue
        if sign == "-":
            raise FormulaError(f"cannot subtract the random-effect term {piece!r}")
        bars.extend(_bar_terms(piece, inner, bar_position, bar_width))
    fixed_rhs = " + ".join(fixed_pieces).replace("+ -", "-") if fixed_pieces else "1"
    return ParsedFormula(response, fixed_rhs, tuple(bars), formula)
