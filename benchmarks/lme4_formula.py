"""Minimal lme4-formula parser used to translate cases for statsmodels-style peers.

Only the subset of the lme4 formula language that occurs in the benchmark cases is
handled: a fixed-effects right-hand side plus random-effects terms of the form
``(expr | g)`` and ``(expr || g)``, where ``expr`` is a sum of ``1``, ``0`` and
variable names.  Anything else raises :class:`Unsupported`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ParsedFormula",
    "RandomTerm",
    "StatsmodelsSpec",
    "Unsupported",
    "parse",
    "to_statsmodels",
]


class Unsupported(Exception):
    """Raised when a peer cannot express the model of a benchmark case."""


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` term of an lme4 formula.

    Attributes
    ----------
    group : str
        Name of the grouping factor.
    intercept : bool
        Whether the term contains a random intercept.
    slopes : tuple of str
        Variables with random slopes, in order of appearance.
    independent : bool
        True for the double-bar form ``(expr || group)``.
    """

    group: str
    intercept: bool
    slopes: tuple[str, ...]
    independent: bool


@dataclass(frozen=True)
class ParsedFormula:
    """An lme4 formula split into its fixed and random parts.

    Attributes
    ----------
    response : str
        Left-hand side of the formula.
    fixed_rhs : str
        Fixed-effects right-hand side (``"1"`` if only an intercept).
    random : tuple of RandomTerm
        Random-effects terms.
    """

    response: str
    fixed_rhs: str
    random: tuple[RandomTerm, ...]

    @property
    def fixed_formula(self) -> str:
        """Return the fixed-effects formula ``response ~ fixed_rhs``."""
        return f"{self.response} ~ {self.fixed_rhs}"

    @property
    def groups(self) -> tuple[str, ...]:
        """Return the distinct grouping factors, in order of appearance."""
        return tuple(dict.fromkeys(t.group for t in self.random))


@dataclass
class StatsmodelsSpec:
    """Arguments for ``statsmodels`` ``MixedLM.from_formula`` equivalent to a case.

    Attributes
    ----------
    formula : str
        Fixed-effects formula.
    groups : str or None
        Grouping column; None means "add a constant column" (crossed factors).
    re_formula : str or None
        Random-effects formula for the grouping column.
    vc_formula : dict or None
        Variance-component formulas (crossed factors).
    cov_mask : list of list of float or None
        Free-parameter mask of the random-effects covariance (1 = free); None when
        the covariance is unstructured.
    """

    formula: str
    groups: str | None
    re_formula: str | None
    vc_formula: dict[str, str] | None = None
    cov_mask: list[list[float]] | None = field(default=None)


def _split_top_level(text: str, sep: str = "+") -> list[str]:
    """Split ``text`` on ``sep`` occurring outside parentheses.

    Parameters
    ----------
    text : str
        Text to split.
    sep : str, optional
        Single-character separator.

    Returns
    -------
    list of str
        Stripped, non-empty pieces.
    """
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _parse_bar(term: str) -> RandomTerm:
    """Parse the inside of one parenthesised random-effects term.

    Parameters
    ----------
    term : str
        Text such as ``"1 + Days | Subject"`` (without the parentheses).

    Returns
    -------
    RandomTerm
        The parsed term.
    """
    independent = "||" in term
    lhs, group = term.split("||" if independent else "|", 1)
    group = group.strip()
    if not group.isidentifier():
        raise Unsupported(f"grouping expression {group!r} is not a plain column name")
    intercept = True
    slopes: list[str] = []
    for piece in _split_top_level(lhs.replace("-1", "+0")):
        if piece == "1":
            intercept = True
        elif piece == "0":
            intercept = False
        elif piece.isidentifier():
            slopes.append(piece)
        else:
            raise Unsupported(f"random-effects expression {piece!r} is not supported")
    return RandomTerm(group, intercept, tuple(slopes), independent)


def parse(formula: str) -> ParsedFormula:
    """Parse an lme4 formula.

    Parameters
    ----------
    formula : str
        Formula such as ``"Reaction ~ Days + (Days | Subject)"``.

    Returns
    -------
    ParsedFormula
        The response, fixed part and random terms.
    """
    response, rhs = (s.strip() for s in formula.split("~", 1))
    fixed: list[str] = []
    random: list[RandomTerm] = []
    for term in _split_top_level(rhs):
        if term.startswith("(") and term.endswith(")") and "|" in term:
            random.append(_parse_bar(term[1:-1]))
        else:
            fixed.append(term)
    return ParsedFormula(response, " + ".join(fixed) or "1", tuple(random))


def to_statsmodels(parsed: ParsedFormula) -> StatsmodelsSpec:
    """Translate a parsed lme4 formula into ``statsmodels.MixedLM`` arguments.

    A single grouping factor maps to ``groups``/``re_formula`` (with a
    block-diagonal free mask for ``||`` or split terms).  Several grouping
    factors with random intercepts only map to statsmodels' documented
    crossed-effects recipe: one constant group and one variance component per
    factor.

    Parameters
    ----------
    parsed : ParsedFormula
        Output of :func:`parse`.

    Returns
    -------
    StatsmodelsSpec
        The translated arguments.

    Raises
    ------
    Unsupported
        If the random-effects structure has no statsmodels equivalent here.
    """
    groups = parsed.groups
    if not groups:
        raise Unsupported("formula has no random-effects term")
    if len(groups) > 1:
        if any(t.slopes or not t.intercept for t in parsed.random):
            raise Unsupported("random slopes with several grouping factors")
        vc = {g: f"0 + C({g})" for g in groups}
        return StatsmodelsSpec(parsed.fixed_formula, None, "0", vc)
    # One grouping factor: every term contributes one or more covariance blocks.
    names: list[str] = []
    blocks: list[list[int]] = []
    for term in parsed.random:
        comps = (["1"] if term.intercept else []) + list(term.slopes)
        idx = []
        for c in comps:
            if c in names:
                raise Unsupported(f"random effect {c!r} appears twice for {groups[0]!r}")
            names.append(c)
            idx.append(len(names) - 1)
        blocks.extend([[i] for i in idx] if term.independent else [idx])
    # statsmodels orders the intercept first: reorder names and block indices.
    order = sorted(range(len(names)), key=lambda i: names[i] != "1")
    pos = {old: new for new, old in enumerate(order)}
    names = [names[i] for i in order]
    k = len(names)
    mask = [[0.0] * k for _ in range(k)]
    for blk in blocks:
        for i in blk:
            for j in blk:
                mask[pos[i]][pos[j]] = 1.0
    if names == ["1"]:
        re_formula = None
    else:
        re_formula = "~" + ("" if "1" in names else "0 + ") + " + ".join(
            n for n in names if n != "1"
        )
    full = all(v == 1.0 for row in mask for v in row)
    return StatsmodelsSpec(parsed.fixed_formula, groups[0], re_formula, None,
                           None if full else mask)
