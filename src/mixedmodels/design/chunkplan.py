"""The plan of a chunked design build: how to code and evaluate any chunk.

A :class:`ChunkPlan` is made once per fit from the parsed formula, a sample
of the data (dtypes and categories) and the distinct values of the grouping
columns and categorical covariates (:func:`level_columns`,
:func:`distinct_frame`): every chunk is then coded against the same superset
of levels. The R model specs are added by the first chunk with complete
rows (:func:`~mixedmodels.design.chunked.prime`). The plan is picklable, so
Dask workers can use it (:mod:`mixedmodels.dask`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..formula.parse import ParsedFormula
from .frame import model_variables, require_columns
from .grouping import make_grouping_factor

__all__ = ["ChunkPlan", "distinct_frame", "level_columns", "make_plan"]


@dataclass
class _Factor:
    """How to code one grouping factor in any chunk."""

    name: str
    variables: tuple[str, ...]
    part_levels: list[pd.Index]  # per variable, superset of levels in final order
    keys: np.ndarray | None  # interactions: sorted combined keys of the superset
    labels: pd.Index  # labels of the superset levels

    @property
    def n_levels(self) -> int:
        return len(self.labels)

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        parts = [
            _part_codes(frame[v], levels)
            for v, levels in zip(self.variables, self.part_levels, strict=True)
        ]
        if self.keys is None:
            return parts[0]
        key = np.zeros(len(frame), dtype=np.int64)
        for codes, levels in zip(parts, self.part_levels, strict=True):
            key = key * len(levels) + codes
        return np.searchsorted(self.keys, key).astype(np.int32)


def _part_codes(column: pd.Series, levels: pd.Index) -> np.ndarray:
    """Codes of ``column`` against ``levels`` (-1 for a value not among them).

    ``levels`` is used as it is, not wrapped in a new Index, so its hash table
    is built once per plan rather than once per chunk (3.2M levels take
    longer to hash than a million-row chunk takes to reduce). Integer codes
    over a run of consecutive integers are found by a subtraction.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        lookup = levels.get_indexer(column.cat.categories)
        codes = column.cat.codes.to_numpy()
        return lookup[codes].astype(np.int32)
    values = column.to_numpy()
    first = _consecutive_start(levels)
    if first is not None and values.dtype.kind in "iu":
        codes = values.astype(np.int64) - first
        codes[(codes < 0) | (codes >= len(levels))] = -1
        return codes.astype(np.int32)
    return levels.get_indexer(values).astype(np.int32)


def _consecutive_start(levels: pd.Index) -> int | None:
    """The first level when the levels are the integers ``first, first + 1, ...``, else None."""
    if len(levels) == 0 or levels.dtype.kind not in "iu":
        return None
    first, last = int(levels[0]), int(levels[-1])
    if last - first + 1 != len(levels) or not levels.is_monotonic_increasing:
        return None
    return first


@dataclass
class ChunkPlan:
    """Everything needed to turn any chunk into cross-products (picklable).

    Attributes
    ----------
    parsed : ParsedFormula
    variables : list of str
        Data columns the model uses.
    factors : list of _Factor
        Grouping factors in order of first appearance in the formula.
    block_terms : list of list of int
        Bar indices per factor block (formula order within a block).
    categories : dict
        Covariate columns cast to a categorical with these levels per chunk.
    fixed_spec, random_specs
        R model specs from the first chunk.
    fixed_names : list of str
        lme4 names of every fixed-effect column (before the rank check).
    random_names : list of list of str
        lme4 column names per bar.
    weights, offset : str or None
        Column names.
    """

    parsed: ParsedFormula
    variables: list[str]
    factors: list[_Factor]
    block_terms: list[list[int]]
    categories: dict[str, pd.CategoricalDtype]
    fixed_spec: object = None
    random_specs: list[object] = field(default_factory=list)
    fixed_names: list[str] = field(default_factory=list)
    random_names: list[list[str]] = field(default_factory=list)
    weights: str | None = None
    offset: str | None = None

    @property
    def n_fixed_all(self) -> int:
        return len(self.fixed_names)


def _needs_levels(column: pd.Series) -> bool:
    """Covariates R encodes as categorical (so levels must be fixed up front)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def level_columns(parsed: ParsedFormula, sample: pd.DataFrame) -> list[tuple[str, ...]]:
    """Column sets whose distinct values :func:`make_plan` needs (see :func:`distinct_frame`).

    Raises
    ------
    FormulaError
        A variable of the formula is not a column of ``sample`` (with the
        "did you mean" hint of :func:`~mixedmodels.design.frame.require_columns`).
    """
    require_columns(parsed.formula, model_variables(parsed), sample.columns)
    groups = {name for bar in parsed.bars for name in bar.group}
    needed: list[tuple[str, ...]] = []
    for bar in parsed.bars:
        group = tuple(bar.group)
        if len(group) == 1 and isinstance(sample[group[0]].dtype, pd.CategoricalDtype):
            continue
        if group not in needed:
            needed.append(group)
    for name in model_variables(parsed):
        if name in groups or name == parsed.response:
            continue
        if _needs_levels(sample[name]) and (name,) not in needed:
            needed.append((name,))
    return needed


def distinct_frame(chunks, columns: tuple[str, ...]) -> pd.DataFrame:
    """Distinct rows of ``columns`` (rows with a missing value left out), chunk by chunk."""
    pieces = [_distinct_rows(chunk, columns) for chunk in chunks]
    return pd.concat(pieces, ignore_index=True).drop_duplicates(ignore_index=True)


def _distinct_rows(chunk: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """A chunk's distinct rows of ``columns``.

    One NumPy integer column (group ids, the common case with millions of
    groups) is reduced by counting over its range, ``O(n)``, when the range
    is not much wider than the chunk; anything else by pandas' hashing.
    """
    if len(columns) == 1 and len(chunk) > 0:
        values = chunk[columns[0]].to_numpy()
        if isinstance(chunk[columns[0]].dtype, np.dtype) and values.dtype.kind in "iu":
            low, high = int(values.min()), int(values.max())
            if high - low < 4 * values.size:
                present = np.flatnonzero(np.bincount(values - low)) + low
                return pd.DataFrame({columns[0]: present.astype(values.dtype)})
    return chunk[list(columns)].dropna().drop_duplicates()


def _factor(name: str, variables: tuple[str, ...], source: pd.DataFrame | pd.Series) -> _Factor:
    """Superset coding of a factor from its distinct values (or a categorical's categories)."""
    if isinstance(source, pd.Series):  # a categorical column: its categories
        levels = pd.Index(source.cat.categories)
        return _Factor(name, variables, [levels], None, levels)
    full = make_grouping_factor(source, variables)
    parts = [make_grouping_factor(source, (v,)).levels for v in variables]
    if len(variables) == 1:
        return _Factor(name, variables, parts, None, full.levels)
    key = np.zeros(len(source), dtype=np.int64)
    for v, levels in zip(variables, parts, strict=True):
        key = key * len(levels) + _part_codes(source[v], levels)
    return _Factor(name, variables, parts, np.unique(key), full.levels)


def make_plan(
    parsed: ParsedFormula,
    sample: pd.DataFrame,
    distinct: dict[tuple[str, ...], pd.DataFrame],
    weights: str | None = None,
    offset: str | None = None,
) -> ChunkPlan:
    """The chunk plan of a formula (specs are added by the first chunk with rows).

    Parameters
    ----------
    parsed : ParsedFormula
        From :func:`~mixedmodels.design.frame.check_frame` (the formula is
        parsed once per fit).
    sample : DataFrame
        Any rows of the data (for dtypes and categories).
    distinct : dict
        :func:`distinct_frame` of every column set in :func:`level_columns`.
    weights, offset : str, optional
        Column names.
    """
    variables = model_variables(parsed)
    extra = [name for name in (weights, offset) if name is not None]
    require_columns(parsed.formula, [*variables, *extra], sample.columns)
    factors: list[_Factor] = []
    block_terms: list[list[int]] = []
    names: list[str] = []
    for index, bar in enumerate(parsed.bars):
        group = tuple(bar.group)
        name = ":".join(group)
        if name in names:
            block_terms[names.index(name)].append(index)
            continue
        names.append(name)
        block_terms.append([index])
        if len(group) == 1 and isinstance(sample[group[0]].dtype, pd.CategoricalDtype):
            factors.append(_factor(name, group, sample[group[0]]))
        else:
            factors.append(_factor(name, group, distinct[group]))
    groups = {name for bar in parsed.bars for name in bar.group}
    categories = {}
    for name in variables:
        if name in groups or name == parsed.response or not _needs_levels(sample[name]):
            continue
        levels = make_grouping_factor(distinct[(name,)], (name,)).levels
        categories[name] = pd.CategoricalDtype(levels)
    return ChunkPlan(
        parsed, variables, factors, block_terms, categories, None, [], [], [], weights, offset
    )
