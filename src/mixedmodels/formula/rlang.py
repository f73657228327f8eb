"""R's formula language: tokens, expression trees, ``deparse`` and the terms algebra.

A model formula's right-hand side is parsed as R parses it (same operators,
same precedence) and expanded into terms exactly as R's ``terms.formula``
does, so that the columns, their order and their names are R's.

Notation
--------
==============  ==============================================================
variable        an expression that gives one model-frame column: ``x``,
                ``log(x)``, ``poly(x, 2)``; its *label* is R's deparse of it
term            a set of variables, written ``a:b``; the empty set is the
                intercept
order           number of variables of a term; R sorts terms by order,
                stably (``keep.order = FALSE``)
==============  ==============================================================

Operators on terms (R's meaning): ``a + b`` union, ``a - b`` removal,
``a:b`` pairwise interaction, ``a * b = a + b + a:b``, ``a / b = a + (vars of
a):b``, ``b %in% a`` as ``b:a``, ``(a + b)^k`` all interactions up to order
``k``, ``0``/``-1`` drop the intercept, ``1`` keeps it, ``offset(x)`` is an
offset, not a term.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import FormulaError

__all__ = [
    "BinOp",
    "Call",
    "Name",
    "Node",
    "Num",
    "Paren",
    "Str",
    "Terms",
    "Unary",
    "deparse",
    "expand_terms",
    "names_in",
    "parse_expression",
]


# --------------------------------------------------------------------------- nodes
@dataclass(frozen=True)
class Name:
    """A name; ``text`` without backquotes."""

    text: str


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Str:
    """A string literal."""

    value: str


@dataclass(frozen=True)
class Call:
    """A function call; ``args`` are ``(name or None, node)`` pairs."""

    func: str
    args: tuple[tuple[str | None, Node], ...]


@dataclass(frozen=True)
class BinOp:
    """A binary operator."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Unary:
    """A unary ``-``, ``+`` or ``!``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Paren:
    """An expression in parentheses (kept: R's deparse keeps them)."""

    inner: Node


Node = Name | Num | Str | Call | BinOp | Unary | Paren

# --------------------------------------------------------------------------- tokens
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<backquoted>`[^`]*`)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)
  | (?P<name>(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*|\.)
  | (?P<special>%[^%]*%)
  | (?P<op>\*\*|\|\||&&|==|!=|<=|>=|<-|->|[-+*/^:~|&!<>(),=\[\]{}$@?;])
    )""",
    re.VERBOSE,
)

_UNSUPPORTED_TOKENS = {
    "[": "indexing '[...]'",
    "]": "indexing '[...]'",
    "{": "braces '{...}'",
    "}": "braces '{...}'",
    "$": "'$' (column of a list)",
    "@": "'@' (slot access)",
    "<-": "assignment '<-'",
    "->": "assignment '->'",
    "?": "'?'",
    ";": "';'",
    "&&": "'&&'",
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FormulaError(
                f"cannot read the formula {text!r} at {text[position:].strip()[:20]!r}; check "
                "its characters (names with spaces go in backquotes: `my column`)"
            )
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "op" and value in _UNSUPPORTED_TOKENS:
            raise FormulaError(
                f"{_UNSUPPORTED_TOKENS[value]} is not supported in a model formula ({text!r}); "
                "compute the column in the data frame first"
            )
        if value == "**":
            value = "^"  # R reads ** as ^
        tokens.append((kind, value))
        position = match.end()
    tokens.append(("end", ""))
    return tokens


# --------------------------------------------------------------------------- parser
# Binary operators by precedence, lowest first (R's ?Syntax); all left-associative
# except '^'.
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("~",),
    ("|", "||"),
    ("&",),
    ("==", "!=", "<", ">", "<=", ">="),
    ("+", "-"),
    ("*", "/"),
    ("%",),  # any %op%
    (":",),
)
_UNARY_NOT_LEVEL = 3  # '!' binds looser than comparisons


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        _, found = self.take()
        if found != value:
            shown = found or "the end"
            raise FormulaError(f"formula {self.text!r}: expected {value!r}, found {shown!r}")

    def _is_binary(self, level: int) -> bool:
        kind, value = self.peek()
        if kind == "special":
            return _LEVELS[level] == ("%",)
        return kind == "op" and value in _LEVELS[level]

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek()[0] != "end":
            raise FormulaError(
                f"formula {self.text!r}: unexpected {self.peek()[1]!r}; check the operators "
                "and parentheses"
            )
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        if level == _UNARY_NOT_LEVEL and self.peek() == ("op", "!"):
            self.take()
            return Unary("!", self.binary(level))
        left = self.binary(level + 1)
        while self._is_binary(level):
            op = self.take()[1]
            left = BinOp(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Node:
        if self.peek() in (("op", "-"), ("op", "+")):
            op = self.take()[1]
            return Unary(op, self.unary())
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.peek() == ("op", "^"):
            self.take()
            return BinOp("^", base, self.unary())  # right-associative; -2^2 is -(2^2)
        return base

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            return Num(float(value.rstrip("L")))
        if kind == "string":
            return Str(value[1:-1])
        if kind in ("name", "backquoted"):
            name = value[1:-1] if kind == "backquoted" else value
            if self.peek() == ("op", "("):
                call = self.call(name)
                if name == "Q" and len(call.args) == 1 and isinstance(call.args[0][1], Str):
                    # formulaic's quoting of a column name: the backquoted name, R's spelling
                    return Name(call.args[0][1].value)
                return call
            return Name(name)
        if (kind, value) == ("op", "("):
            inner = self.binary(0)
            self.expect(")")
            return Paren(inner)
        shown = value or "the end"
        raise FormulaError(
            f"formula {self.text!r}: unexpected {shown!r}; a term, number or '(' was expected"
        )

    def call(self, name: str) -> Call:
        self.expect("(")
        args: list[tuple[str | None, Node]] = []
        if self.peek() == ("op", ")"):
            self.take()
            return Call(name, ())
        while True:
            argument_name = None
            kind, value = self.peek()
            if kind in ("name", "backquoted", "string") and self.tokens[self.position + 1] == (
                "op",
                "=",
            ):
                self.take()
                self.take()
                argument_name = value.strip("`\"'")
            args.append((argument_name, self.binary(0)))
            kind, value = self.take()
            if value == ")":
                return Call(name, tuple(args))
            if value != ",":
                raise FormulaError(
                    f"formula {self.text!r}: expected ',' or ')' in the call to {name}()"
                )


def parse_expression(text: str) -> Node:
    """Parse R code (a formula or a part of one) into an expression tree.

    Raises
    ------
    FormulaError
        On a syntax error or an R construct that has no meaning in a model
        formula here (indexing, braces, assignment).
    """
    if not text.strip():
        raise FormulaError("empty formula part")
    return _Parser(text).parse()


def names_in(nodes: list[Node]) -> list[str]:
    """The names the expressions read, in order of first appearance (functions excluded).

    A name may be a data column or one R resolves without the data (``pi``,
    ``TRUE``); ``.`` is left out (the terms refuse it).
    """
    found: list[str] = []
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            if node.text != "." and node.text not in found:
                found.append(node.text)
        elif isinstance(node, Call):
            stack.extend(argument for _, argument in reversed(node.args))
        elif isinstance(node, BinOp):
            stack.extend((node.right, node.left))
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Paren):
            stack.append(node.inner)
    return found


# --------------------------------------------------------------------------- deparse
_SYNTACTIC = re.compile(r"^((?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*|\.)$")
_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "in"}
_SPACED = {"+", "-", "*", "~", "|", "||", "&", "==", "!=", "<", ">", "<=", ">="}


def format_number(value: float) -> str:
    """A number as R prints it (15 significant digits, fixed unless wider than scientific)."""
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        fixed = str(int(value))
    else:
        fixed = f"{value:.15f}".rstrip("0").rstrip(".")
        if float(fixed) != float(f"{value:.15g}"):
            fixed = f"{value:.15g}"
    mantissa, _, exponent = f"{value:.15e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    sign = "-" if exponent.startswith("-") else "+"
    digits = exponent.lstrip("+-").lstrip("0").rjust(2, "0")
    scientific = f"{mantissa}e{sign}{digits}"
    return fixed if len(fixed) <= len(scientific) else scientific


def quote_name(name: str) -> str:
    """``name`` in backquotes when it is not a syntactic R name."""
    if _SYNTACTIC.match(name) and name not in _RESERVED:
        return name
    return f"`{name}`"


def deparse(node: Node) -> str:
    """R's ``deparse`` of an expression: the label R gives a variable or term."""
    if isinstance(node, Name):
        return quote_name(node.text)
    if isinstance(node, Num):
        return format_number(node.value)
    if isinstance(node, Str):
        return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Paren):
        return f"({deparse(node.inner)})"
    if isinstance(node, Unary):
        return f"{node.op}{deparse(node.operand)}"
    if isinstance(node, Call):
        parts = [
            deparse(value) if name is None else f"{quote_name(name)} = {deparse(value)}"
            for name, value in node.args
        ]
        return f"{quote_name(node.func)}({', '.join(parts)})"
    if node.op in _SPACED or node.op.startswith("%"):
        return f"{deparse(node.left)} {node.op} {deparse(node.right)}"
    return f"{deparse(node.left)}{node.op}{deparse(node.right)}"


# --------------------------------------------------------------------------- terms
@dataclass
class Terms:
    """The expansion of a right-hand side (R's ``terms`` object, in short).

    Attributes
    ----------
    variables : list of Node
        Variables in order of first appearance (R's ``variables`` attribute).
    labels : list of str
        Their labels (``deparse``).
    terms : list of tuple of int
        Each term as sorted variable indices, in R's order.
    intercept : bool
    offsets : list of Node
        Arguments of ``offset()``.
    """

    variables: list[Node] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    terms: list[tuple[int, ...]] = field(default_factory=list)
    intercept: bool = True
    offsets: list[Node] = field(default_factory=list)

    def term_label(self, term: tuple[int, ...]) -> str:
        """R's label of a term: its variables' labels joined with ``:``."""
        return ":".join(self.labels[index] for index in term)

    @property
    def term_labels(self) -> list[str]:
        """Labels of the terms, as R's ``attr(terms, "term.labels")``."""
        return [self.term_label(term) for term in self.terms]


class _Expander:
    """Walks a right-hand side; a term set is a list of frozensets of variable indices.

    The intercept is tracked as R does: the empty set stands for ``1`` and a
    removal of it (``- 1``, ``+ 0``) clears the flag.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.result = Terms()
        self.removed: list[frozenset[int]] = []

    def variable(self, node: Node) -> int:
        label = deparse(node)
        if label not in self.result.labels:
            self.result.labels.append(label)
            self.result.variables.append(node)
        return self.result.labels.index(label)

    def error(self, message: str) -> FormulaError:
        return FormulaError(f"formula part {self.source!r}: {message}")

    def expand(self, node: Node) -> list[frozenset[int]]:
        if isinstance(node, Paren):
            return self.expand(node.inner)
        if isinstance(node, Num):
            if node.value == 1:
                self.result.intercept = True
                return []
            if node.value == 0:
                self.result.intercept = False
                return []
            raise self.error(
                f"the number {deparse(node)} is not a term; write I({deparse(node)}) for a "
                "constant column, 1 for the intercept, 0 to remove it"
            )
        if isinstance(node, Call) and node.func == "offset":
            if len(node.args) != 1 or node.args[0][0] is not None:
                raise self.error("offset() takes one argument, e.g. offset(log(exposure))")
            self.result.offsets.append(node.args[0][1])
            return []
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, BinOp):
            return self.binary(node)
        if isinstance(node, Name) and node.text == ".":
            raise self.error(
                "'.' (all other columns) is not supported; list the columns explicitly"
            )
        if isinstance(node, Str):
            raise self.error(f"the string {deparse(node)} is not a term; use a column name")
        return [frozenset([self.variable(node)])]

    def unary(self, node: Unary) -> list[frozenset[int]]:
        if node.op == "+":
            return self.expand(node.operand)
        if node.op == "-":
            self.expand_removal(node.operand)
            return []
        raise self.error(f"'!' is only allowed inside I(), e.g. I(!{deparse(node.operand)})")

    def expand_removal(self, node: Node) -> None:
        """A leading ``- node``: its terms are removed from the whole formula, as R does.

        ``- 1`` and ``- 0`` set the intercept instead.
        """
        inner = node.inner if isinstance(node, Paren) else node
        if isinstance(inner, Num) and inner.value in (0, 1):
            self.result.intercept = inner.value == 0
            return
        had_intercept = self.result.intercept
        terms = self.expand(node)
        self.result.intercept = had_intercept
        self.removed.extend(terms)

    def binary(self, node: BinOp) -> list[frozenset[int]]:
        op = node.op
        if op == "+":
            return _union(self.expand(node.left), self.expand(node.right))
        if op == "-":
            left = self.expand(node.left)
            inner = node.right.inner if isinstance(node.right, Paren) else node.right
            if isinstance(inner, Num) and inner.value in (0, 1):
                self.result.intercept = inner.value == 0
                return left
            had_intercept = self.result.intercept
            right = self.expand(node.right)
            self.result.intercept = had_intercept
            return [term for term in left if term not in right]
        if op == ":" or op == "%in%":
            left, right = self.expand(node.left), self.expand(node.right)
            return _union([], [a | b for a in left for b in right])
        if op == "*":
            left, right = self.expand(node.left), self.expand(node.right)
            return _union(_union(left, right), [a | b for a in left for b in right])
        if op == "/":
            left, right = self.expand(node.left), self.expand(node.right)
            every = frozenset().union(*left) if left else frozenset()
            return _union(left, [every | term for term in right])
        if op == "^":
            return self.power(node)
        if op in ("|", "||"):
            raise self.error(
                f"random-effect term {deparse(node)!r} must be in parentheses at the top level "
                "of the formula, e.g. + (1 | g)"
            )
        if op.startswith("%"):
            raise self.error(f"operator {op} is not supported in a formula; use %in% or ':'")
        raise self.error(
            f"operator {op!r} outside I() is not a formula operator; write I({deparse(node)})"
        )

    def power(self, node: BinOp) -> list[frozenset[int]]:
        exponent = node.right.inner if isinstance(node.right, Paren) else node.right
        if (
            not isinstance(exponent, Num)
            or exponent.value < 1
            or exponent.value != int(exponent.value)
        ):
            raise self.error(
                f"in {deparse(node)!r} the power of a formula term must be a positive whole "
                f"number; for the arithmetic power write I({deparse(node)})"
            )
        base = self.expand(node.left)
        result = list(base)
        for _ in range(int(exponent.value) - 1):
            result = _union(result, [a | b for a in result for b in base])
        return result


def _union(first: list[frozenset[int]], second: list[frozenset[int]]) -> list[frozenset[int]]:
    result = list(first)
    for term in second:
        if term not in result:
            result.append(term)
    return result


def expand_terms(rhs: str | Node) -> Terms:
    """Expand a right-hand side into R's terms.

    Parameters
    ----------
    rhs : str or Node
        The right-hand side, e.g. ``"Diet/Time + poly(x, 2) - 1"``.

    Returns
    -------
    Terms
        Terms sorted by order (stably), intercept flag, offsets.

    Raises
    ------
    FormulaError
        For an operator outside ``I()`` that is not a formula operator, a
        non-integer power, ``.``, or a malformed ``offset()``.
    """
    source = rhs if isinstance(rhs, str) else deparse(rhs)
    node = parse_expression(rhs) if isinstance(rhs, str) else rhs
    expander = _Expander(source)
    terms = [term for term in expander.expand(node) if term]
    result = expander.result
    result.terms = [
        tuple(sorted(term)) for term in sorted(terms, key=len) if term not in expander.removed
    ]
    return result
