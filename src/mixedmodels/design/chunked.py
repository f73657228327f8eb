"""The design in row chunks: cross-products accumulated without keeping the rows.

For data too large to hold ``X``, ``Z`` and their temporaries (millions of
rows), or split into partitions (:mod:`mixedmodels.dask`), the model matrices
are evaluated one row chunk at a time and only the cross-product blocks of
``[Z X y]`` are kept (:class:`~mixedmodels.design.crossprod.CrossProducts`
add up). Memory after the pass does not grow with ``n``. The output is what
the engine needs: cross-products, terms and a design without rows
(:func:`chunked_design`, :func:`assemble`); the model is made from them by
:meth:`~mixedmodels.model.LinearMixedModel.from_cross_products`.

How a chunk is evaluated
------------------------
0. *Checks without values.* The formula is parsed and checked, with the
   column names and dtypes and the ``weights``/``offset`` arguments, once on
   the whole frame (a Dask DataFrame's ``_meta``) by
   :func:`~mixedmodels.design.frame.check_frame`, the code of the in-memory
   path.
1. *Levels up front* (:mod:`.chunkplan`). A grouping factor's levels must
   mean the same in every chunk. Categorical columns bring them (their
   categories); other grouping columns, interactions ``a:b`` and categorical
   covariates get them from one cheap pass over the distinct values of those
   columns. Chunks are coded against this superset; levels that end up with
   no complete row are pruned at the end, which gives exactly the levels (and
   their order) of the in-memory path.
2. *One model spec.* The fixed-effects and random-term model specs are
   built on the first chunk with complete rows (:func:`prime`) and reused for
   every chunk, so every chunk has the same columns. Categorical covariates
   are cast to their full set of levels first.
3. *Rows.* A chunk's rows are dropped by the row mask of every build
   (:func:`~mixedmodels.design.rows.complete_mask`), plus the rows where a
   transformation is undefined (NaN). What is dropped is counted per chunk
   in :class:`~mixedmodels.design.rows.ChunkStats` and reported after the
   pass with the in-memory path's errors and warnings (totals, first row
   position).
4. *After the pass.* Unused levels are pruned, blocks are put in the engine's
   order (most levels first), collinear fixed-effect columns are dropped from
   ``X'X`` (:func:`independent_gram_columns`), and the structural checks of
   :mod:`mixedmodels.design.checks` run on the counts (levels and
   observations) and on per-chunk evidence of repeated random effects.

Limitations (documented, by design)
-----------------------------------
* Fitted values and residuals are not kept (they are ``n``-vectors).
  ``results.fittedvalues`` raises; recompute them on request with
  :func:`mixedmodels.results.chunked.fitted_values` (chunk by chunk) or
  ``results.predict(data)``.
* Stateful transformations (``center(x)``, ``scale(x)``, ``poly(x)``,
  ``C(x)`` on a numeric column) learn their state from the first chunk.
  Transform such columns before fitting.
* The rank check works on ``X'X`` (tolerance ``1e-7`` on the relative
  residual norm, as :func:`~mixedmodels.design.fixed.independent_columns`);
  columns that are collinear to within ``1e-8`` may be judged differently
  from the QR-based in-memory check.

The summary stand-ins for ``z`` and the codes on the engine's blocks have one
row: ``z`` holds 1 in columns that are 1 on every row (so intercepts are
recognised) and 0 elsewhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import NoReturn

import numpy as np
import pandas as pd
import scipy.linalg

from ..errors import DataError, FormulaError
from ..formula.parse import ParsedFormula
from .builder import Design, DesignMatrices, evaluate_response, random_term_matrix
from .checks import check_constant, check_levels, duplicate_effects, warn_duplicates
from .chunkplan import ChunkPlan, distinct_frame, level_columns, make_plan
from .chunkrows import complete_rows, duplicate_predicates, record_duplicates
from .crossprod import BlockData, CrossProducts, PartialCrossProducts, partial_cross_products
from .fixed import (
    FixedDesign,
    check_fixed_count,
    empty_terms,
    warn_dropped,
    warn_empty,
)
from .frame import as_vector, check_frame
from .grouping import GroupingFactor
from .rformula import is_plain_name, r_matrix
from .rows import ChunkStats, raise_row_errors, raise_undefined
from .terms import TermSpec, assemble_blocks, full_pattern

__all__ = [
    "CHUNK_ROWS",
    "accumulate",
    "assemble",
    "chunk_cross_products",
    "chunked_design",
    "combine",
    "independent_gram_columns",
    "iter_chunks",
    "no_complete_chunk",
    "prime",
]

#: Rows per chunk of an in-memory DataFrame; larger data use the chunked path.
CHUNK_ROWS = 1_000_000


# ---------------------------------------------------------------------- one chunk
def _matrices(plan: ChunkPlan, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list]:
    """``y``, ``X`` (all columns) and each bar's ``z`` on a chunk's complete rows."""
    parsed = plan.parsed
    response = parsed.response
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if plan.fixed_spec is None:
            # Factor levels were fixed for all chunks by the plan: none is dropped here.
            plan.fixed_names, _, plan.fixed_spec = r_matrix(
                parsed.fixed_rhs, frame, len(frame), "fixed effects", drop_unused=False
            )
            for bar in parsed.bars:
                _, names, spec = random_term_matrix(bar, frame, drop_unused=False)
                plan.random_specs.append(spec)
                plan.random_names.append(names)
            _check_chunkable(plan)
        y = evaluate_response(frame, response)
        # The specs' arrays directly (row-major, as the cross-products read
        # them), not through a DataFrame, which would copy them column-major.
        X = np.asarray(plan.fixed_spec.matrix(frame), dtype=float)
        zs = [np.asarray(spec.matrix(frame), dtype=float) for spec in plan.random_specs]
    return y, X, zs


def _check_chunkable(plan: ChunkPlan) -> None:
    """Formulas whose columns depend on all rows at once cannot be built chunk by chunk."""
    learnt = [*plan.fixed_spec.data_dependent]
    for spec in plan.random_specs:
        learnt.extend(spec.data_dependent)
    if learnt:
        raise FormulaError(
            f"{learnt} learn from all rows (the centre of poly() and scale(), the levels of "
            "factor()), so they cannot be computed chunk by chunk for large or Dask data: add "
            "the transformed column to the data (a categorical for a factor), or use "
            "poly(x, k, raw = TRUE)"
        )
    if plan.fixed_spec.terms.offsets:
        raise FormulaError(
            "offset() in the formula is not supported for large or Dask data: pass the "
            "offset= argument (a column name) instead"
        )
    check_plain_groups(plan.parsed)


def check_plain_groups(parsed: ParsedFormula) -> None:
    """Grouping factors written as expressions need all rows: refused for chunked data."""
    expressions = [g for bar in parsed.bars for g in bar.group if not is_plain_name(g)]
    if expressions:
        raise FormulaError(
            f"grouping factor(s) {expressions} are expressions; for large or Dask data add "
            "them to the data as columns first"
        )


def prime(plan: ChunkPlan, frame: pd.DataFrame, stats: ChunkStats | None = None) -> bool:
    """Build the plan's R model specs from ``frame``; False when it has no complete row.

    Parameters
    ----------
    plan : ChunkPlan
    frame : DataFrame
    stats : ChunkStats, optional
        Updated with the chunk's row counts (for the errors when no chunk has
        a complete row: :func:`no_complete_chunk`).
    """
    if plan.fixed_spec is not None:
        return True
    complete = complete_rows(plan, frame, stats if stats is not None else ChunkStats())
    if len(complete) == 0:
        return False
    _matrices(plan, complete)
    return True


def chunk_cross_products(
    plan: ChunkPlan, frame: pd.DataFrame
) -> tuple[PartialCrossProducts, ChunkStats]:
    """Cross-products and row bookkeeping of one chunk (levels: the plan's superset).

    The plan must be primed (:func:`prime`). The cross-products are held for
    the levels the chunk touches only
    (:class:`~mixedmodels.design.crossprod.PartialCrossProducts`), so their
    size follows the chunk's rows, not the number of levels. A chunk without
    complete rows gives empty cross-products, which :func:`combine` skips.
    """
    if plan.fixed_spec is None:
        raise RuntimeError("prime the plan with a chunk that has complete rows first")
    stats = ChunkStats(n_rows=len(frame))
    frame = complete_rows(plan, frame, stats)
    if len(frame) == 0:
        return _empty_cross(plan), stats
    y, X, zs = _matrices(plan, frame)
    random = [
        (z, names, spec)
        for z, names, spec in zip(zs, plan.random_names, plan.random_specs, strict=True)
    ]
    matrices = DesignMatrices(y, plan.fixed_names, X, plan.fixed_spec, random)
    undefined = matrices.undefined_rows(plan.parsed.response, plan.parsed.bars)
    weights = None if plan.weights is None else frame[plan.weights].to_numpy(dtype=float)
    offset = None if plan.offset is None else frame[plan.offset].to_numpy(dtype=float)
    if undefined.any():
        keep = ~undefined
        stats.dropped_undefined += int(undefined.sum())
        frame = frame.iloc[np.flatnonzero(keep)]
        y, X, zs = y[keep], X[keep], [z[keep] for z in zs]
        weights = None if weights is None else weights[keep]
        offset = None if offset is None else offset[keep]
        if len(y) == 0:
            return _empty_cross(plan), stats
    block_data = []
    for factor, members in zip(plan.factors, plan.block_terms, strict=True):
        codes = factor.codes(frame)
        z = zs[members[0]] if len(members) == 1 else np.column_stack([zs[i] for i in members])
        block_data.append(BlockData(codes, z, factor.n_levels))
        # Column by column: all(axis=0) on a row-major z is ten times slower.
        stats.ones.append(np.array([np.all(column == 1.0) for column in z.T], dtype=bool))
    record_duplicates(
        stats,
        [block.codes for block in block_data],
        [block.z for block in block_data],
        [[len(plan.random_names[i]) for i in members] for members in plan.block_terms],
        [factor.n_levels for factor in plan.factors],
    )
    stats.y_first, stats.y_min, stats.y_max = float(y[0]), float(y.min()), float(y.max())
    response = y if offset is None else y - offset
    cross = partial_cross_products(block_data, np.column_stack([X, response]), weights)
    return cross, stats


def _empty_cross(plan: ChunkPlan) -> PartialCrossProducts:
    """Zero cross-products for a chunk before the specs exist (no complete rows yet)."""
    return PartialCrossProducts([], [], [], [], [], {}, np.zeros((0, 0)), 0, 0.0)


def combine(
    left: tuple[PartialCrossProducts, ChunkStats], right: tuple[PartialCrossProducts, ChunkStats]
):
    """Add two ``(PartialCrossProducts, ChunkStats)`` pairs (for tree reductions).

    The sum holds the union of the two partials' levels (segment sums).
    """
    (cross_a, stats_a), (cross_b, stats_b) = left, right
    if not cross_a.diagonal:
        return cross_b, stats_a + stats_b
    if not cross_b.diagonal:
        return cross_a, stats_a + stats_b
    return cross_a + cross_b, stats_a + stats_b


# ---------------------------------------------------------------------- after the pass
def independent_gram_columns(gram: np.ndarray, tolerance: float = 1e-7) -> np.ndarray:
    """Columns to keep, judged from ``X'X`` as lme4 judges them from ``X``.

    Column ``j`` is kept when the norm of its residual on the earlier kept
    columns, relative to its own norm, exceeds ``tolerance``:
    ``(G_jj - G_jK G_KK^{-1} G_Kj) / G_jj > tolerance^2``.
    """
    keep: list[int] = []
    factor = np.zeros((0, 0))
    for column in range(gram.shape[0]):
        norm2 = gram[column, column]
        if norm2 <= 0:
            continue
        cross = scipy.linalg.solve_triangular(factor, gram[keep, column], lower=True)
        residual2 = norm2 - cross @ cross
        if residual2 > tolerance**2 * norm2:
            size = len(keep)
            grown = np.zeros((size + 1, size + 1))
            grown[:size, :size] = factor
            grown[size, :size] = cross
            grown[size, size] = np.sqrt(residual2)
            factor = grown
            keep.append(column)
    return np.array(keep, dtype=int)


def _select_blocks(cross: CrossProducts, keep: list[np.ndarray], widths: list[int]):
    """Cross-products restricted to the levels in ``keep`` (boolean per block)."""
    k1 = cross.xy_xy.shape[0]
    expanded = [np.repeat(mask, width) for mask, width in zip(keep, widths, strict=True)]
    diagonal = [gram[mask] for gram, mask in zip(cross.diagonal, keep, strict=True)]
    xy_z = [
        block.reshape(k1, -1, width)[:, mask, :].reshape(k1, -1)
        for block, mask, width in zip(cross.xy_z, keep, widths, strict=True)
    ]
    off = {
        (i, j): matrix.tocsr()[expanded[i]][:, expanded[j]].tocsr()
        for (i, j), matrix in cross.off_diagonal.items()
    }
    return diagonal, off, xy_z


def _reorder(diagonal, off, xy_z, order: list[int]):
    """Blocks in the engine's order (``order[new] = old``); pairs stay ``i > j``."""
    position = {old: new for new, old in enumerate(order)}
    new_off = {}
    for (i, j), matrix in off.items():
        a, b = position[i], position[j]
        new_off[(a, b) if a > b else (b, a)] = matrix if a > b else matrix.T.tocsr()
    return [diagonal[b] for b in order], new_off, [xy_z[b] for b in order]


def assemble(
    plan: ChunkPlan, partial: PartialCrossProducts, stats: ChunkStats
) -> tuple[CrossProducts, list[TermSpec], Design]:
    """Final cross-products, terms and design from the pass over the chunks.

    ``partial`` is the sum of the chunks' cross-products (any levels held).

    Returns
    -------
    cross : CrossProducts
        Unused levels pruned, blocks in the engine's order, collinear fixed
        columns removed.
    terms : list of TermSpec
        With one-row stand-ins for ``z`` and the codes (see the module notes).
    design : Design
        Without rows (``y`` and ``X`` have no rows).
    """
    n_obs = partial.n_obs if partial.diagonal else 0
    if partial.diagonal:
        cross, stats.counts = partial.to_dense()
    else:
        cross = CrossProducts([], {}, [], np.zeros((0, 0)), 0, 0.0)
    raise_row_errors(plan.variables, stats, n_obs)
    for bar, spec in zip(plan.parsed.bars, plan.random_specs, strict=True):
        warn_empty(f"random-effect term {bar.source!r}", empty_terms(spec))
    raise_undefined(plan.parsed.formula, stats, n_obs)
    widths = [gram.shape[1] for gram in cross.diagonal]
    keep = [counts > 0 for counts in stats.counts]
    diagonal, off, xy_z = _select_blocks(cross, keep, widths)
    levels = [factor.labels[mask] for factor, mask in zip(plan.factors, keep, strict=True)]
    order = sorted(range(len(levels)), key=lambda b: -len(levels[b]))
    diagonal, off, xy_z = _reorder(diagonal, off, xy_z, order)
    fixed, kept = _fixed_design(plan, cross.xy_xy, n_obs)
    rows = np.append(kept, plan.n_fixed_all)
    final = CrossProducts(
        diagonal,
        off,
        [block[rows] for block in xy_z],
        cross.xy_xy[np.ix_(rows, rows)],
        n_obs,
        cross.sum_log_weights,
    )
    terms = _stand_in_terms(plan, stats, levels)
    blocks = assemble_blocks(terms)[0]
    check_constant(n_obs, stats.y_first, stats.y_min, stats.y_max)
    check_levels(n_obs, blocks)
    names = [factor.name for factor in plan.factors]
    warn_duplicates(duplicate_effects(blocks, *duplicate_predicates(stats, blocks, names)))
    design = _rowless_design(plan, fixed, terms, stats.n_rows - n_obs)
    return final, terms, design


def _rowless_design(
    plan: ChunkPlan, fixed: FixedDesign, terms: list[TermSpec], dropped: int
) -> Design:
    """The design without rows: ``y`` and ``X`` empty, the terms' stand-ins."""
    return Design(
        y=np.zeros(0),
        fixed=fixed,
        terms=terms,
        bars=plan.parsed.bars,
        response_name=plan.parsed.response,
        weights=None,
        offset=None,
        row_index=pd.RangeIndex(0),
        nobs_dropped=dropped,
        re_model_specs=list(plan.random_specs),
        parsed=plan.parsed,
    )


def _fixed_design(plan: ChunkPlan, xy_xy: np.ndarray, n_obs: int) -> tuple[FixedDesign, list[int]]:
    """The fixed effects (a matrix without rows) and the columns kept by the rank check."""
    k_all = plan.n_fixed_all
    kept = independent_gram_columns(xy_xy[:k_all, :k_all]).tolist()
    dropped = [plan.fixed_names[i] for i in range(k_all) if i not in set(kept)]
    warn_empty("fixed effects", empty_terms(plan.fixed_spec))
    warn_dropped("fixed effects", dropped)
    check_fixed_count(len(kept), n_obs)
    fixed = FixedDesign(
        np.zeros((0, len(kept))),
        [plan.fixed_names[i] for i in kept],
        list(plan.fixed_names),
        dropped,
        plan.fixed_spec,
    )
    return fixed, kept


def _stand_in_terms(plan: ChunkPlan, stats: ChunkStats, levels: list[pd.Index]) -> list[TermSpec]:
    """The terms in formula order, with one-row ``z`` and codes (see the module notes)."""
    terms: list[tuple[int, TermSpec]] = []
    for block, (factor, members) in enumerate(zip(plan.factors, plan.block_terms, strict=True)):
        grouping = GroupingFactor(factor.name, np.zeros(1, dtype=np.int32), levels[block])
        start = 0
        for member in members:
            names = plan.random_names[member]
            marker = stats.ones[block][start : start + len(names)].astype(float)[None, :]
            start += len(names)
            pattern = full_pattern(len(names))
            group_name = plan.parsed.bars[member].group_name
            terms.append((member, TermSpec(grouping, marker, tuple(names), pattern, group_name)))
    return [term for _, term in sorted(terms, key=lambda item: item[0])]


# ---------------------------------------------------------------------- pandas driver
def iter_chunks(data: pd.DataFrame, chunk_rows: int = CHUNK_ROWS):
    """Row chunks (views) of an in-memory DataFrame."""
    for start in range(0, len(data), chunk_rows):
        yield data.iloc[start : start + chunk_rows]


def _with_vectors(data: pd.DataFrame, weights: object, offset: object):
    """``data`` plus array ``weights``/``offset`` as columns (no copy of the data).

    Raises
    ------
    MixedModelsError
        As :func:`~mixedmodels.design.builder.build_design` for a bad
        ``weights`` or ``offset`` (a column's values are checked per chunk).
    """
    names = []
    extra = {}
    for label, value in (("weights", weights), ("offset", offset)):
        if value is None or isinstance(value, str):
            if value is not None:
                as_vector(value, label, data.iloc[:0])  # the name and dtype
            names.append(value)
            continue
        array = as_vector(value, label, data)
        column = f"__mixedmodels_{label}__"
        extra[column] = array
        names.append(column)
    return (data.assign(**extra) if extra else data), names[0], names[1]


def plan_from_chunks(
    parsed: ParsedFormula,
    chunks_factory: Callable[[], Iterable[pd.DataFrame]],
    sample: pd.DataFrame,
    weights: str | None,
    offset: str | None,
) -> ChunkPlan:
    """A primed plan: distinct values from one pass, specs from the first complete chunk."""
    distinct = {
        columns: distinct_frame(chunks_factory(), columns)
        for columns in level_columns(parsed, sample)
    }
    plan = make_plan(parsed, sample, distinct, weights, offset)
    stats = ChunkStats()
    for chunk in chunks_factory():
        chunk_stats = ChunkStats(n_rows=len(chunk))
        if prime(plan, chunk, chunk_stats):
            return plan
        stats = stats + chunk_stats
    no_complete_chunk(plan, stats)


def no_complete_chunk(plan: ChunkPlan, stats: ChunkStats) -> NoReturn:
    """Raise the error of the in-memory path for data in which no chunk has a complete row.

    Parameters
    ----------
    plan : ChunkPlan
    stats : ChunkStats
        Counts of every chunk, from :func:`prime`.

    Raises
    ------
    DataError
    """
    raise_row_errors(plan.variables, stats, 0)
    raise DataError("no complete rows: every row has a missing value in a column the model uses")


def chunked_design(
    formula: str,
    data: pd.DataFrame,
    weights: object = None,
    offset: object = None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[CrossProducts, list[TermSpec], Design]:
    """Cross-products, terms and design of a DataFrame, built chunk by chunk.

    Parameters
    ----------
    formula : str
    data : DataFrame
        Not modified or copied; rows are read ``chunk_rows`` at a time.
    weights, offset : str or array-like, optional
    chunk_rows : int
        Rows per chunk.

    Returns
    -------
    cross, terms, design
        As :func:`assemble`; the model is
        :meth:`~mixedmodels.model.LinearMixedModel.from_cross_products`.
    """
    data, parsed, _, _ = check_frame(formula, data, weights, offset)
    check_plain_groups(parsed)
    data, weights_name, offset_name = _with_vectors(data, weights, offset)

    def chunks() -> Iterator[pd.DataFrame]:
        return iter_chunks(data, chunk_rows)

    plan = plan_from_chunks(parsed, chunks, data.iloc[:0], weights_name, offset_name)
    from ..progress import progress

    n_chunks = -(-len(data) // chunk_rows)
    pieces = progress(chunks(), total=n_chunks, desc="cross-products", unit="chunk")
    return assemble(plan, *accumulate(plan, (chunk_cross_products(plan, c) for c in pieces)))


def accumulate(
    plan: ChunkPlan, parts: Iterable[tuple[PartialCrossProducts, ChunkStats]]
) -> tuple[PartialCrossProducts, ChunkStats]:
    """Sum chunks' partials in row order into one over every level.

    Each chunk is added in place (cost: its own size), and the off-diagonal
    entries are coalesced once at the end, so the pass costs ``O(n)`` however
    many levels there are.
    """
    total: PartialCrossProducts | None = None
    stats = ChunkStats()
    pending: dict = {}
    for partial, chunk_stats in parts:
        stats = stats + chunk_stats
        if not partial.diagonal:
            continue
        if total is None:
            widths = [gram.shape[1] for gram in partial.diagonal]
            k1 = partial.xy_xy.shape[0]
            total = PartialCrossProducts.zeros(partial.n_levels, widths, k1)
        partial.add_into(total, pending)
    if total is None:
        return _empty_cross(plan), stats
    return total.with_pending(pending), stats
