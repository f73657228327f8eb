"""The terms of a fit's fixed-effects part, as R's ``terms`` object describes them.

lmerTest's hypotheses are built term by term: which columns of ``X`` a term
owns (R's ``assign``), which variables it involves, which of those are
factors, and which terms contain which (``containment``). This module reads
all of it from the terms interface of the design's model spec
(:class:`~mixedmodels.formula.rmatrix.SpecTerms`), whatever kind of spec it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataError

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["FixedTerm", "FixedTerms", "fixed_terms"]


@dataclass(frozen=True)
class FixedTerm:
    """One term: its R label, its variables (in order) and its columns of ``X``."""

    label: str
    variables: tuple[str, ...]
    columns: tuple[int, ...]


@dataclass(frozen=True)
class FixedTerms:
    """The fixed part's terms (without the intercept), its factors and its column names.

    Attributes
    ----------
    terms : tuple of FixedTerm
    intercept : bool
    factor_levels : dict of str to list of str
        Levels of each factor variable, in order.
    treatment : bool
        Whether every factor has treatment contrasts.
    names : list of str
        lme4 names of the kept columns of ``X``.
    """

    terms: tuple[FixedTerm, ...]
    intercept: bool
    factor_levels: dict[str, list[str]]
    treatment: bool
    names: list[str]

    def is_numeric(self, term: FixedTerm) -> bool:
        """lmerTest's ``numeric_terms``: the term involves a numeric variable."""
        return any(name not in self.factor_levels for name in term.variables)

    def contains(self, inner: FixedTerm, outer: FixedTerm) -> bool:
        """lmerTest's ``term_contain``: ``outer`` strictly contains ``inner``'s
        variables and both have the same numeric variables."""
        a, b = set(inner.variables), set(outer.variables)
        numeric_a = {name for name in a if name not in self.factor_levels}
        numeric_b = {name for name in b if name not in self.factor_levels}
        return a <= b and bool(b - a) and numeric_a == numeric_b

    def containing(self, term: FixedTerm) -> list[FixedTerm]:
        """Terms that contain ``term`` (lmerTest's ``containment``)."""
        return [other for other in self.terms if self.contains(term, other)]

    def by_label(self, label: str) -> FixedTerm:
        for term in self.terms:
            if term.label == label:
                return term
        labels = [term.label for term in self.terms]
        raise DataError(f"no fixed-effect term {label!r}; the terms are {labels}")


def fixed_terms(results: LmerResults) -> FixedTerms:
    """The terms of ``results``' fixed part (needs a model built from a formula).

    Read from the design's terms interface
    (:meth:`~mixedmodels.design.fixed.FixedDesign.term_table`); columns dropped
    by the rank check are left out of each term's columns.
    """
    design = results.model.design
    if design is None:
        raise DataError("this needs a model built from a formula (its fixed-effect terms)")
    fixed = design.fixed
    table = fixed.term_table()
    kept = {name: position for position, name in enumerate(fixed.names)}
    terms = []
    for term in table.terms:
        names = fixed.all_names[term.columns]
        columns = tuple(kept[name] for name in names if name in kept)
        terms.append(FixedTerm(term.label, term.variables, columns))
    return FixedTerms(
        tuple(terms),
        table.intercept,
        table.factor_levels,
        table.treatment,
        list(results.model.fixed_names),
    )


def term_dummies(terms: FixedTerms, term: FixedTerm, frame: pd.DataFrame) -> pd.DataFrame:
    """R's ``model.matrix(~ 0 + term)`` with every level of every factor (no contrasts).

    Columns are named as R names them (``DateS1:VarietyLadak``, ``Time:Diet2``),
    the first variable varying fastest.
    """
    columns: dict[str, np.ndarray] = {"": np.ones(len(frame))}
    for variable in term.variables:
        values = frame[variable]
        if variable in terms.factor_levels:
            codes = pd.Categorical(
                values.astype(str), categories=terms.factor_levels[variable]
            ).codes
            parts = {
                f"{variable}{level}": (codes == index).astype(float)
                for index, level in enumerate(terms.factor_levels[variable])
            }
        else:
            parts = {variable: np.asarray(values, dtype=float)}
        columns = {
            (f"{prefix}:{name}" if prefix else name): previous * current
            for name, current in parts.items()
            for prefix, previous in columns.items()
        }
    return pd.DataFrame(columns, index=frame.index)
