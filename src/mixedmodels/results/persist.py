"""Compact saving and loading of fitted results (``fit.save(path)``, ``mm.load(path)``).

A fit's model holds the rows (``y``, ``X``, each term's ``Z`` and codes) and the
criterion's factorisation workspace; pickling all of it made an InstEval fit
47.6 MB. What a saved fit needs is much less:

* the cross-products of ``[Z X y]`` (their size depends on the numbers of levels,
  not of rows), from which the criterion's state is rebuilt on loading, as a
  model built from chunks has it (``LinearMixedModel.from_cross_products``);
* the design without rows: the formula, the fixed-effects spec and the levels,
  for ``predict(newdata)``;
* the fitted values and residuals as two vectors.

So the rows are not kept unless asked: ``lmer(..., keep_data=True)`` (as lme4
keeps its model frame) keeps the full model and the data in the saved file.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..model import LinearMixedModel
    from .lmer import LmerResults

__all__ = [
    "compact_model",
    "load",
    "model_recipe",
    "restore_results",
    "results_state",
    "save",
]

FORMAT = "mixedmodels.LmerResults"
VERSION = 1

# The private factor snapshot (issue 7's ``_state``) is rebuilt after loading; the small
# caches built from it (modes, factors, conditional variances) travel, so a reloaded
# fit predicts bit for bit as the original.
_REBUILT = ("_state",)


def _stand_in_terms(model: LinearMixedModel) -> list:
    """Each term with a one-row ``z`` and codes: its structure without its rows.

    The marker row says which columns are all ones (intercepts), which is all
    the block assembly reads from ``z`` (as the chunked design's stand-ins).
    """
    from ..design.grouping import GroupingFactor
    from ..design.terms import TermSpec

    terms = []
    for term in model.design.terms:
        factor = term.factor
        grouping = GroupingFactor(factor.name, np.zeros(1, dtype=np.int32), factor.levels)
        marker = np.all(term.z == 1.0, axis=0).astype(float)[None, :]
        terms.append(TermSpec(grouping, marker, term.column_names, term.pattern, term.label))
    return terms


def model_recipe(model: LinearMixedModel) -> dict[str, Any]:
    """What rebuilds the model without its rows: cross-products, terms, row-free design.

    The criterion's state (its factorisation workspace, 44 MB for InstEval) is not
    part of it: :func:`compact_model` rebuilds it from the cross-products.
    """
    design = model.design
    terms = _stand_in_terms(model)
    width = len(design.fixed.names)
    fixed = dataclasses.replace(design.fixed, matrix=np.empty((0, width)))
    slim = dataclasses.replace(
        design, y=np.empty(0), fixed=fixed, terms=terms, weights=None, offset=None
    )
    return {
        "cross": model.cross,
        "terms": terms,
        "fixed_names": list(model.fixed_names),
        "REML": model.reml,
        "design": slim,
    }


def compact_model(recipe: dict[str, Any]) -> LinearMixedModel:
    """The model of a :func:`model_recipe` (as a model built from chunks: no rows)."""
    from ..model import LinearMixedModel

    return LinearMixedModel.from_cross_products(**recipe)


def results_state(results: LmerResults) -> dict[str, Any]:
    """The pickled state of a fit: compact unless it was fitted with ``keep_data=True``."""
    state = dict(results.__dict__)
    if state.get("keep_data"):
        return state
    if results.model.design is not None:
        if results.model.rows is not None:
            # Two vectors instead of the rows; pickle stores their shared index once.
            state["fittedvalues"] = results.fittedvalues
            state["resid"] = results.resid
        state["_modes"] = results._modes
        state["_factors"] = results._factors
        state["model"] = None
        state["_model_recipe"] = model_recipe(results.model)
    for name in _REBUILT:
        state.pop(name, None)
    return state


def restore_results(results: LmerResults, state: dict[str, Any]) -> None:
    """Put a pickled state back; the criterion's state is rebuilt at ``theta``."""
    state = dict(state)
    recipe = state.pop("_model_recipe", None)
    if recipe is not None:
        state["model"] = compact_model(recipe)
    results.__dict__.update(state)
    # The private snapshot of the factor at theta, as LmerResults.__init__ takes it.
    results._state = results.model.state.fork()
    results._state.evaluate(results.theta)


def save(results: LmerResults, path: str | os.PathLike) -> None:
    """Write a fit to ``path`` (pickle protocol 5; compact unless ``keep_data=True``)."""
    with open(path, "wb") as handle:
        pickle.dump({"format": FORMAT, "version": VERSION, "results": results}, handle, protocol=5)


def load(path: str | os.PathLike) -> LmerResults:
    """Read a fit written by :func:`save` (``fit.save(path)``).

    Only load files you trust: like every pickle, the file can run code.
    """
    from ..errors import DataError

    with open(path, "rb") as handle:
        content = pickle.load(handle)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise DataError(f"{os.fspath(path)!r} is not a file written by LmerResults.save()")
    if content.get("version", 0) > VERSION:
        raise DataError(
            f"{os.fspath(path)!r} was written by a newer mixedmodels (format version "
            f"{content['version']} > {VERSION})"
        )
    return content["results"]
