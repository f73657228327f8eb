"""Fitted values of a model built from chunks, recomputed from the data on request.

A model built chunk by chunk (:mod:`mixedmodels.design.chunked`,
:mod:`mixedmodels.dask`) keeps only cross-products, so its results hold no
``n``-vectors; :func:`fitted_values` reads the data again, chunk by chunk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..design.chunked import CHUNK_ROWS, iter_chunks

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["fitted_values"]


def fitted_values(
    results: LmerResults, data: pd.DataFrame, chunk_rows: int = CHUNK_ROWS
) -> pd.Series:
    """Conditional fitted values ``X beta + Z b`` recomputed chunk by chunk.

    For models built from chunks, which keep no rows; residuals are
    ``y - fitted_values(results, data)``. Offsets are not added.

    Parameters
    ----------
    results : LmerResults
    data : DataFrame
        The data of the fit (or new data with the same columns).
    chunk_rows : int
        Rows per chunk.

    Returns
    -------
    Series
        Named ``"fittedvalues"``, indexed like ``data``.
    """
    pieces = [results.predict(chunk) for chunk in iter_chunks(data, chunk_rows)]
    return pd.concat(pieces).rename("fittedvalues")
