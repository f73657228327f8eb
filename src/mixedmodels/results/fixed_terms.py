"""The terms of a fit's fixed-effects part, as R's ``terms`` object describes them.

lmerTest's hypotheses are built term by term: which columns of ``X`` a term
owns (R's ``assign``), which variables it involves, which of those are
factors, and which terms contain which (``containment``). This module reads
all of it from the formulaic model spec kept with the design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    """The terms of ``results``' fixed part (needs a model built from a formula)."""
    design = results.model.design
    if design is None or design.fixed.model_spec is None:
        raise DataError("this needs a model built from a formula (its fixed-effect terms)")
    fixed = design.fixed
    spec = fixed.model_spec
    kept = {name: position for position, name in enumerate(fixed.names)}
    names = list(results.model.fixed_names)
    if hasattr(spec, "columns") and not hasattr(spec, "terms"):  # SimpleSpec
        terms = tuple(
            FixedTerm(column, (column,), (kept[column],))
            for column in spec.columns
            if column in kept
        )
        return FixedTerms(terms, bool(spec.intercept), {}, True, names)
    if hasattr(spec, "term_slices") and hasattr(spec, "levels"):  # RModelSpec (lme4 path)
        return _r_terms(spec, fixed.all_names, kept, names)
    factor_levels: dict[str, list[str]] = {}
    treatment = True
    for factor, state in spec.factor_contrasts.items():
        factor_levels[str(factor)] = [str(level) for level in state.levels]
        kind = type(state.contrasts).__name__ if state.contrasts is not None else ""
        treatment &= kind in ("TreatmentContrasts", "")
    intercept = False
    terms = []
    for term, indices in spec.term_indices.items():
        label = str(term)
        columns = tuple(kept[fixed.all_names[i]] for i in indices if fixed.all_names[i] in kept)
        if label == "1":
            intercept = True
            continue
        terms.append(FixedTerm(label, tuple(str(f) for f in term.factors), columns))
    return FixedTerms(tuple(terms), intercept, factor_levels, treatment, names)


def _r_terms(
    spec: Any, all_names: list[str], kept: dict[str, int], names: list[str]
) -> FixedTerms:
    """:class:`FixedTerms` from the R-semantics model spec (``formula.rmatrix.RModelSpec``)."""
    labels = spec.terms.labels
    factor_levels = {
        labels[index]: [str(level) for level in levels] for index, levels in spec.levels.items()
    }
    treatment = True
    for index in spec.levels:
        default = "contr.poly" if spec.ordered.get(index, False) else "contr.treatment"
        kind = spec.contrasts.get(labels[index], default)
        treatment &= isinstance(kind, str) and kind == "contr.treatment"
    terms = []
    for term in spec.terms.terms:
        label = spec.terms.term_label(term)
        positions = range(spec.term_slices[label].start, spec.term_slices[label].stop)
        columns = tuple(kept[all_names[i]] for i in positions if all_names[i] in kept)
        terms.append(FixedTerm(label, tuple(labels[i] for i in term), columns))
    return FixedTerms(tuple(terms), bool(spec.terms.intercept), factor_levels, treatment, names)


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
