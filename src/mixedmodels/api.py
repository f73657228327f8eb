"""statsmodels-compatible namespace: ``import mixedmodels.api as sm``.

Notebooks written for ``statsmodels.api`` run with only the import changed::

    import mixedmodels.api as sm
    import mixedmodels.formula.api as smf

    data = sm.datasets.get_rdataset("dietox", "geepack").data
    fit = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"]).fit()
    print(fit.summary())

It needs the optional ``statsmodels`` extra: ``MixedLM`` and its results are
built on statsmodels' base classes (see ``docs/statsmodels.md``).

Contents
--------
MixedLM
    :class:`mixedmodels.regression.mixed_linear_model.MixedLM`.
regression
    ``sm.regression.mixed_linear_model.MixedLMParams`` and friends.
datasets
    :mod:`mixedmodels.datasets`, with the offline ``get_rdataset``.
add_constant
    Prepend (or append) a column of ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import datasets, regression
from .errors import DataError
from .regression.mixed_linear_model import MixedLM, MixedLMParams, MixedLMResults

__all__ = ["MixedLM", "MixedLMParams", "MixedLMResults", "add_constant", "datasets", "regression"]


def add_constant(
    data: object, prepend: bool = True, has_constant: str = "skip"
) -> np.ndarray | pd.DataFrame:
    """Add a column of ones, as :func:`statsmodels.api.add_constant`.

    Parameters
    ----------
    data : array_like or DataFrame or Series
    prepend : bool, default True
        Put the constant first (else last).
    has_constant : {'skip', 'add', 'raise'}, default 'skip'
        What to do when a constant column is already present: return the data
        unchanged, add another one, or raise :class:`~mixedmodels.errors.DataError`.

    Returns
    -------
    ndarray or DataFrame
        A DataFrame (constant named ``"const"``) for pandas input.
    """
    if has_constant not in ("skip", "add", "raise"):
        raise DataError(f"has_constant must be 'skip', 'add' or 'raise', got {has_constant!r}")
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        values = data.to_numpy()
    else:
        values = np.asarray(data)
        if values.ndim == 1:
            values = values[:, None]
    numeric = values.dtype.kind in "biuf"
    constant = (
        numeric
        and values.shape[0] > 0
        and bool(np.any(np.all(values == values[0], axis=0) & (values[0] != 0)))
    )
    if constant and has_constant == "raise":
        raise DataError("data already holds a constant column (has_constant='raise')")
    if constant and has_constant == "skip":
        return data
    if isinstance(data, pd.DataFrame):
        out = data.copy()
        out.insert(0 if prepend else out.shape[1], "const", 1.0, allow_duplicates=True)
        return out
    ones = np.ones((values.shape[0], 1))
    return np.hstack([ones, values] if prepend else [values, ones])
