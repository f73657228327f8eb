"""Predictions on new data, as lme4's ``predict.merMod``.

Notation
--------
===========  =================================================================
``X``        fixed-effects matrix of the new rows, built with the training
             spec (levels, contrasts, ``poly``/``scale`` coefficients)
``Z_t``      columns of random-effect term ``t`` on the new rows
``b_t[g]``   conditional mode of term ``t`` at level ``g``
===========  =================================================================

``prediction = X beta + offset() + sum over terms in re_form of Z_t b_t[g]``.

* ``re_form=None`` (lme4's ``re.form = NULL``) includes every random term;
  ``re_form=NA`` (``np.nan``, ``pandas.NA`` or ``"NA"``) none; a formula
  ``"~ (1 | Subject)"`` the terms it names.
* Grouping levels match by R's label: ``4601``, ``4601.0`` and ``"4601"``
  are one level. A level not seen in fitting raises a
  :class:`~mixedmodels.errors.DataError` naming the factor and the level,
  unless ``allow_new_levels=True`` (then its random effect is zero, the
  population value, as lme4).
* A level of a fixed-effect factor not seen in fitting is always a
  ``DataError``.
* An ``offset()`` in the formula is evaluated on the new rows; an offset
  passed as ``offset=`` to the fit is not added (lme4 alike, checked with
  lme4 1.1-31).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..design.rformula import evaluate_group, is_plain_name
from ..errors import ArgumentError, DataError
from ..formula.parse import BarTerm, parse_formula
from ..formula.rlang import expand_terms
from ..formula.rvalues import Factor, as_r_value, r_label

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["predict"]


def _is_na(value: object) -> bool:
    if value is pd.NA or (isinstance(value, str) and value.strip() == "NA"):
        return True
    return isinstance(value, float) and np.isnan(value)


def _bar_key(bar: BarTerm) -> tuple[str, bool, tuple[str, ...]]:
    terms = expand_terms(bar.lhs)
    return bar.group_name, terms.intercept, tuple(terms.term_labels)


def _selected_terms(bars: tuple[BarTerm, ...], re_form: object) -> list[bool]:
    """Which of the model's (expanded) random terms ``re_form`` includes."""
    if re_form is None:
        return [True] * len(bars)
    if _is_na(re_form) or re_form is False:
        return [False] * len(bars)
    if not isinstance(re_form, str):
        raise ArgumentError(
            f"re_form must be None (all random effects), NA (none) or a formula such as "
            f"'~ (1 | g)', got {re_form!r}"
        )
    text = re_form.strip()
    if text in ("~0", "~ 0", "0"):
        return [False] * len(bars)
    parsed = parse_formula(f".response {text if text.startswith('~') else '~ ' + text}")
    wanted = {_bar_key(bar) for bar in parsed.bars}
    known = {_bar_key(bar) for bar in bars}
    unknown = wanted - known
    if unknown:
        raise ArgumentError(
            f"re_form {re_form!r} names random-effect terms the model does not have: "
            f"{sorted(str(key) for key in unknown)}"
        )
    return [_bar_key(bar) in wanted for bar in bars]


def _row_labels(bar: BarTerm, newdata: pd.DataFrame) -> np.ndarray:
    """R's label of each new row's level of the bar's grouping factor (None where missing)."""
    parts: list[np.ndarray] = []
    for group in bar.group:
        if is_plain_name(group):
            if group not in newdata.columns:
                raise DataError(
                    f"newdata has no column {group!r} (grouping factor of {bar.source!r}); "
                    "add it, or predict without that term (re_form)"
                )
            value = as_r_value(newdata[group])
        else:
            value = as_r_value(evaluate_group(group, newdata.__getitem__, len(newdata)))
        if isinstance(value, Factor):
            parts.append(value.labels)
        else:
            array = np.asarray(value)
            parts.append(
                np.array([None if pd.isna(item) else r_label(item) for item in array], dtype=object)
            )
    if len(parts) == 1:
        return parts[0]
    joined = np.empty(len(newdata), dtype=object)
    for row in range(len(newdata)):
        items = [part[row] for part in parts]
        joined[row] = None if any(item is None for item in items) else ":".join(items)
    return joined


def _level_codes(
    bar: BarTerm, levels: pd.Index, labels: np.ndarray, allow_new_levels: bool
) -> np.ndarray:
    """Training level index of each new row; -1 for a new (allowed) or missing level."""
    training = pd.Index([r_label(level) for level in levels])
    codes = training.get_indexer(labels)
    new = (codes < 0) & pd.notna(labels)
    if new.any() and not allow_new_levels:
        unseen = list(dict.fromkeys(labels[new]))
        raise DataError(
            f"grouping factor {bar.group_name!r} has new level(s) {unseen[:5]} not seen "
            "when fitting; pass allow_new_levels=True to predict them at the population "
            "value (random effect zero), as lme4's allow.new.levels"
        )
    return codes


def predict(
    results: LmerResults,
    newdata: object = None,
    re_form: object = None,
    allow_new_levels: bool = False,
) -> pd.Series:
    """Predictions of a fitted model, as lme4's ``predict(fit, newdata, re.form, ...)``.

    Parameters
    ----------
    results : LmerResults
    newdata : data frame, optional
        Any data frame :func:`mixedmodels.frames.to_pandas` reads; the fitted
        rows when omitted.
    re_form : None, NA or str
        Random terms to include (see the module notes).
    allow_new_levels : bool, default False

    Returns
    -------
    Series
        Indexed like ``newdata`` (a pandas one) or by position.
    """
    from ..frames import to_pandas

    model = results.model
    design = model.design
    if design is None:
        raise DataError("predict needs a model built from a formula")
    selected = _selected_terms(design.bars, re_form)
    if newdata is None:
        if all(selected):
            return results.fittedvalues
        newdata_frame = None
    else:
        newdata_frame = to_pandas(newdata, "newdata")
    if newdata_frame is None:
        raise DataError(
            "predict(re_form=...) on the fitted rows needs newdata: pass the data the model "
            "was fitted to"
        )
    spec = design.fixed.model_spec
    prediction = design.fixed.new_matrix(newdata_frame) @ results._beta
    offset = getattr(spec, "offset_of", lambda *_: None)(newdata_frame, len(newdata_frame))
    if offset is not None:
        prediction = prediction + offset
    for index, (bar, term) in enumerate(zip(design.bars, model.term_infos, strict=True)):
        if not selected[index]:
            continue
        block = model.blocks[term.block]
        modes = results._modes[term.block][:, list(term.columns)]
        z = np.asarray(design.re_model_specs[index].matrix(newdata_frame), dtype=float)
        labels = _row_labels(bar, newdata_frame)
        codes = _level_codes(bar, block.factor.levels, labels, allow_new_levels)
        known = codes >= 0
        contribution = np.zeros(len(newdata_frame))
        contribution[known] = np.einsum("ij,ij->i", z[known], modes[codes[known]])
        contribution[pd.isna(labels)] = np.nan
        prediction = prediction + contribution
    return pd.Series(prediction, index=newdata_frame.index, name="predicted")
