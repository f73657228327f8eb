"""Any data frame in, pandas columns out: one layer for every input type.

Accepted: a pandas DataFrame (numpy- or pyarrow-backed), a dict of arrays,
and through `narwhals <https://narwhals-dev.github.io/narwhals/>`_ (which
formulaic already depends on) a polars DataFrame or LazyFrame, a pyarrow
Table, or any other frame narwhals reads.

The user's frame is never modified and never copied whole: a pandas frame is
used as it is (the design reads only the columns it needs), and any other
frame has only the used columns selected before conversion (a LazyFrame is
collected on those columns only). Categorical and enum columns stay
categorical, with their order.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .errors import ArgumentTypeError

__all__ = ["to_pandas"]


def _from_dict(data: dict, what: str) -> pd.DataFrame:
    try:
        return pd.DataFrame(data, copy=False)
    except (TypeError, ValueError) as error:
        raise ArgumentTypeError(
            f"{what} is a dict that cannot be read as columns: {error}; pass a dict of "
            "equal-length arrays or a data frame"
        ) from error


def _arrow_dictionaries_as_categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """pyarrow dictionary columns (polars categoricals) as pandas categoricals, in their order."""
    converted = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        arrow = getattr(dtype, "pyarrow_dtype", None)
        if arrow is not None and str(arrow).startswith("dictionary"):
            converted[name] = pd.Series(
                pd.Categorical(frame[name].astype(object).to_numpy()), index=frame.index
            )
    if not converted:
        return frame
    return frame.assign(**converted)


def to_pandas(
    data: object, what: str = "data", columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """``data`` as a pandas DataFrame for the design, without copying a pandas frame.

    Parameters
    ----------
    data : pandas DataFrame, dict, polars DataFrame/LazyFrame, pyarrow Table, ...
    what : str
        Argument name, for messages.
    columns : iterable of str, optional
        Columns the model uses; other frames are converted on these only
        (names that are not columns are left for the caller to report).

    Returns
    -------
    DataFrame

    Raises
    ------
    ArgumentTypeError
        When ``data`` is not a data frame narwhals can read.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return _from_dict(data, what)
    import narwhals.stable.v1 as nw

    try:
        frame = nw.from_native(data, allow_series=False)
    except TypeError as error:
        raise ArgumentTypeError(
            f"{what} must be a pandas DataFrame, a polars DataFrame or LazyFrame, a pyarrow "
            f"Table or a dict of columns, got {type(data).__name__}"
        ) from error
    if columns is not None:
        wanted = [name for name in dict.fromkeys(columns) if name in frame.columns]
        frame = frame.select(wanted) if wanted else frame
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    schema = frame.schema
    categorical = [
        name for name, dtype in schema.items() if isinstance(dtype, nw.Categorical | nw.Enum)
    ]
    result = frame.to_pandas()
    if categorical:
        result = _arrow_dictionaries_as_categorical(result)
        for name in categorical:
            if not isinstance(result[name].dtype, pd.CategoricalDtype):
                result[name] = pd.Categorical(result[name].astype(object).to_numpy())
    return result
