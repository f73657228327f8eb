"""Reading a CSV written by R together with a JSON schema of its column types.

R's ``write.csv`` loses what a data frame knows about its columns: which are
factors, their levels in R's order, whether a factor is ordered, whether a number
is an integer. The data sets bundled with the package and every reference data
set of the tests keep that in a schema file beside the CSV, in one of three
layouts, all read by :func:`read_csv_schema`:

flat (the bundled data sets, ``tools/*.R``)::

    {"columns": {"col": "factor" | "numeric" | ..., ...},
     "levels": {"factor_col": ["level", ...], ...}}

nested (``tools/make_formula_references.R``, R's storage type per column)::

    {"columns": {"col": {"type": "factor" | "ordered" | "integer" | "numeric",
                         "levels": [...]}, ...}}

levels only (``tools/make_hard_references.R``; every other column is a number)::

    {"factors": {"factor_col": ["level", ...], ...}}

Notation
--------
=============  ==============================================================
kind           pandas column
=============  ==============================================================
``factor``     unordered :class:`pandas.Categorical`, the schema's levels
``ordered``    ordered :class:`pandas.Categorical` (R's ``ordered()``)
``integer``    ``int64`` (``float64`` when a value is ``NA``)
``double``     ``float64`` (R's double; ``"numeric"`` in the nested layout)
``number``     ``int64`` when every value is whole and none is ``NA``, else
               ``float64`` (``"numeric"`` in the flat layout, which records R's
               ``is.numeric`` only; columns not named by a levels-only schema)
=============  ==============================================================

``NA`` is a missing value in every column (``NaN``, or a missing category); no
other text is, so a level may be called ``"None"`` (nlme's ``Alfalfa``). Numbers
are parsed with correct rounding (R's ``write.csv`` writes 15 significant digits,
read back to the same doubles R had).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArgumentTypeError, DataError

__all__ = ["read_csv_schema"]

# pandas 3 parses floats with correct rounding (and deprecates the option); pandas 2's
# default parser can be one ulp off, so it is asked for the round-trip parser.
_ROUND_TRIP = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}

_KINDS = ("factor", "ordered", "integer", "double", "number")


@dataclass(frozen=True)
class _Column:
    """One column of a schema: its kind (see the module's table) and factor levels."""

    kind: str
    levels: tuple[str, ...] = ()


def _open(source: Any, argname: str) -> tuple[Any, str]:
    """Open ``source`` for binary reading; return the handle and its name."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return open(path, "rb"), path  # closed by the caller's `with`
    if hasattr(source, "open") and hasattr(source, "name"):
        return source.open("rb"), str(source.name)
    raise ArgumentTypeError(
        f"{argname} must be a path (str or os.PathLike) or a resource with open(), "
        f"got {type(source).__name__}"
    )


def _flat_kind(kind: object) -> str:
    # The flat layout's "numeric" is R's is.numeric(): integer or double.
    return {"numeric": "number"}.get(kind, kind) if isinstance(kind, str) else kind


def _nested_kind(kind: object) -> str:
    # The nested layout's "numeric" follows is.integer(), so it is R's double.
    return {"numeric": "double"}.get(kind, kind) if isinstance(kind, str) else kind


def _column(kind: Any, levels: Any, column: str, where: str) -> _Column:
    if kind not in _KINDS:
        raise DataError(
            f"{where}: column {column!r} has the unknown kind {kind!r}; "
            "known kinds are factor, ordered, integer, numeric, double"
        )
    if kind not in ("factor", "ordered"):
        return _Column(kind)
    if not isinstance(levels, list):
        raise DataError(f"{where}: factor column {column!r} has no list of levels")
    names = tuple(str(level) for level in levels)
    if len(set(names)) != len(names):
        raise DataError(f"{where}: factor column {column!r} has duplicate levels")
    return _Column(kind, names)


def parse_schema(schema: Any, where: str = "schema") -> tuple[dict[str, _Column], bool]:
    """Columns of a schema in any of the three layouts.

    Parameters
    ----------
    schema : Any
        The schema file's JSON.
    where : str, optional
        The schema's name, for error messages.

    Returns
    -------
    columns : dict of str to _Column
        Kind and levels per column, in the schema's order.
    complete : bool
        Whether the schema names every column (False for the levels-only layout,
        whose other columns are numbers).

    Raises
    ------
    DataError
        If the schema has none of the three layouts, an unknown kind, or a factor
        without levels (or with duplicate levels).
    """
    if isinstance(schema, Mapping) and isinstance(schema.get("columns"), Mapping):
        levels = schema.get("levels", {})
        if not isinstance(levels, Mapping):
            raise DataError(f"{where}: 'levels' must map factor columns to lists")
        columns = {}
        for column, spec in schema["columns"].items():
            if isinstance(spec, Mapping):
                kind, column_levels = _nested_kind(spec.get("type")), spec.get("levels")
            else:
                kind, column_levels = _flat_kind(spec), levels.get(column)
            columns[column] = _column(kind, column_levels, column, where)
        return columns, True
    if isinstance(schema, Mapping) and isinstance(schema.get("factors"), Mapping):
        factors = schema["factors"].items()
        columns = {name: _column("factor", levels, name, where) for name, levels in factors}
        return columns, False
    raise DataError(
        f"{where}: a schema needs 'columns' (with 'levels' for the flat layout) or 'factors'"
    )


def _factor(values: pd.Series, spec: _Column, column: str, where: str) -> pd.Categorical:
    unknown = sorted(set(values.dropna()) - set(spec.levels))
    if unknown:
        raise DataError(
            f"{where}: column {column!r} has values not among the schema's levels: {unknown[:5]!r}"
        )
    # An explicit object Index keeps the labels plain Python strings.
    categories = pd.Index(spec.levels, dtype=object)
    return pd.Categorical(
        values.astype(object), categories=categories, ordered=spec.kind == "ordered"
    )


def _number(values: pd.Series, spec: _Column, column: str, where: str) -> pd.Series:
    try:
        numbers = pd.to_numeric(values, errors="raise")
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: column {column!r} is {spec.kind} but holds text") from exc
    whole = pd.api.types.is_integer_dtype(numbers.dtype) and not numbers.isna().any()
    if spec.kind == "integer" and not whole:
        finite = numbers.dropna().to_numpy(dtype=np.float64)
        if not np.array_equal(finite, np.round(finite)):
            raise DataError(f"{where}: integer column {column!r} holds a non-whole number")
    if whole and spec.kind in ("integer", "number"):
        return numbers.astype(np.int64)
    return numbers.astype(np.float64)


def _read_raw(
    csv_path: Any, columns: dict[str, _Column], complete: bool, schema_name: str
) -> tuple[pd.DataFrame, str]:
    """The CSV as text (factors) and parsed numbers, its columns checked against the schema."""
    handle, csv_name = _open(csv_path, "csv_path")
    factors = [name for name, spec in columns.items() if spec.kind in ("factor", "ordered")]
    with handle:
        raw = pd.read_csv(
            handle,
            compression="gzip" if csv_name.endswith(".gz") else None,
            dtype=dict.fromkeys(factors, str),
            keep_default_na=False,
            na_values=["NA"],
            **_ROUND_TRIP,
        )
    raw.columns = [str(name) for name in raw.columns]
    header = list(raw.columns)
    missing = [name for name in columns if name not in header]
    extra = [name for name in header if name not in columns] if complete else []
    if missing or extra:
        raise DataError(
            f"{csv_name}: the CSV's columns {header!r} do not match the schema "
            f"{schema_name} (missing {missing!r}, not in the schema {extra!r})"
        )
    return raw, csv_name


def read_csv_schema(csv_path: Any, schema_path: Any) -> pd.DataFrame:
    """Read a CSV written by R with the column types recorded in a schema file.

    Parameters
    ----------
    csv_path : str, os.PathLike or importlib.resources.abc.Traversable
        The CSV (``write.csv``'s quoting; ``NA`` for missing values). A name
        ending in ``.gz`` is decompressed.
    schema_path : str, os.PathLike or importlib.resources.abc.Traversable
        The JSON schema, in any layout of :mod:`mixedmodels.datasets._csvschema`
        (flat ``{"columns": {col: kind}, "levels": {...}}``, nested
        ``{"columns": {col: {"type": kind, "levels": [...]}}}`` or levels-only
        ``{"factors": {col: [...]}}``).

    Returns
    -------
    pandas.DataFrame
        The CSV's columns in its order, with a fresh :class:`pandas.RangeIndex`.
        Factors are :class:`pandas.Categorical` with string categories in the
        schema's order (ordered for ``"ordered"``); numbers are ``int64`` or
        ``float64`` as the module's table says; ``NA`` is missing.

    Raises
    ------
    ArgumentTypeError
        If a path is neither a path nor a resource that can be opened.
    DataError
        If the schema is malformed, the CSV and schema name different columns, a
        factor holds a value not among its levels, or a number column holds text
        (each message names the file and the column).

    Examples
    --------
    >>> from importlib import resources
    >>> from mixedmodels.datasets import read_csv_schema
    >>> data = resources.files("mixedmodels.datasets") / "data"
    >>> frame = read_csv_schema(data / "sleepstudy.csv", data / "sleepstudy.schema.json")
    >>> frame.dtypes.astype(str).tolist()
    ['float64', 'int64', 'category']
    """
    handle, schema_name = _open(schema_path, "schema_path")
    with handle:
        try:
            schema = json.loads(handle.read().decode("utf-8"))
        except ValueError as exc:
            raise DataError(f"{schema_name}: the schema is not JSON ({exc})") from exc
    columns, complete = parse_schema(schema, schema_name)
    raw, csv_name = _read_raw(csv_path, columns, complete, schema_name)
    out: dict[str, Any] = {}
    for name in raw.columns:
        spec = columns.get(name, _Column("number"))
        convert = _factor if spec.kind in ("factor", "ordered") else _number
        out[name] = convert(raw[name], spec, name, csv_name)
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw)))
