"""Fit a linear mixed model to a Dask DataFrame: data beyond memory.

``mm.lmer(formula, ddf)`` with a Dask DataFrame runs the chunked design of
:mod:`mixedmodels.design.chunked` with one chunk per partition:

1. **Levels.** Categorical columns with unknown categories are categorized
   (``ddf.categorize``); the distinct values of other grouping columns,
   interactions and categorical covariates are computed in one
   ``dask.compute`` (small results). Every partition is then coded against the
   same levels.
2. **Specs.** The formulaic model specs are built on the first partition with
   complete rows, on the client.
3. **Cross-products.** Each partition is reduced to its
   :class:`~mixedmodels.design.crossprod.CrossProducts` (a ``dask.delayed``
   task per partition); these are summed by a tree reduction of fan-in
   ``split_every``, so no worker holds more than ``split_every`` partial
   results and the client receives one.
4. **Fit.** :func:`design_from_dask` returns the summed cross-products, terms
   and design; :meth:`~mixedmodels.model.LinearMixedModel.from_cross_products`
   makes the model, and the optimisation runs in memory on the cross-products;
   the rows are never gathered. The result equals the in-memory fit to rounding
   (the sums are taken in a different order).

Dask is an optional dependency (``pip install mixedmodels[dask]``); this
module imports it only when called. Weights and offsets must be column names.
Fitted values are not kept: ``results.predict(ddf.partitions[i].compute())``
or ``ddf.map_partitions(results.predict)`` recompute them.
"""

from __future__ import annotations

import functools

from .errors import ArgumentError

__all__ = ["cross_products_dask", "design_from_dask"]


def _require_dask():
    try:
        import dask
        import dask.dataframe
    except ImportError as error:  # pragma: no cover - exercised without dask installed
        raise ImportError(
            "fitting a Dask DataFrame needs dask: pip install 'mixedmodels[dask]'"
        ) from error
    return dask


def _combine_many(*parts):
    from .design.chunked import combine

    return functools.reduce(combine, parts)


def _known_categories(ddf, columns: list[str]):
    """``ddf`` with the categories of its categorical ``columns`` known."""
    unknown = [
        name for name in columns if str(ddf[name].dtype) == "category" and not ddf[name].cat.known
    ]
    return ddf.categorize(columns=unknown) if unknown else ddf


def cross_products_dask(plan, ddf, split_every: int = 8):
    """Summed ``(CrossProducts, ChunkStats)`` of every partition, by a tree reduction.

    Parameters
    ----------
    plan : ChunkPlan
        A primed plan (:func:`mixedmodels.design.chunked.prime`).
    ddf : dask.dataframe.DataFrame
    split_every : int
        Fan-in of the reduction tree.
    """
    dask = _require_dask()
    from .design.chunked import chunk_cross_products

    if split_every < 2:
        raise ArgumentError(f"split_every must be at least 2, got {split_every}")
    shared_plan = dask.delayed(plan, traverse=False)
    tasks = [
        dask.delayed(chunk_cross_products, pure=True)(shared_plan, part)
        for part in ddf.to_delayed()
    ]
    while len(tasks) > 1:
        tasks = [
            dask.delayed(_combine_many, pure=True)(*tasks[start : start + split_every])
            for start in range(0, len(tasks), split_every)
        ]
    from .progress import dask_progress

    with dask_progress("cross-products"):
        (total,) = dask.compute(tasks[0])
    return total


def design_from_dask(
    formula: str,
    ddf,
    weights: str | None = None,
    offset: str | None = None,
    split_every: int = 8,
):
    """Cross-products, terms and design of a Dask DataFrame, partition by partition.

    Parameters
    ----------
    formula : str
        lme4 formula.
    ddf : dask.dataframe.DataFrame
    weights, offset : str, optional
        Column names.
    split_every : int
        Fan-in of the reduction tree.

    Returns
    -------
    cross, terms, design
        As :func:`mixedmodels.design.chunked.assemble`; the model is
        :meth:`~mixedmodels.model.LinearMixedModel.from_cross_products`
        (which :func:`mixedmodels.lmer` calls).
    """
    from .design.chunked import assemble

    for label, value in (("weights", weights), ("offset", offset)):
        if value is not None and not isinstance(value, str):
            raise ArgumentError(
                f"{label} must be a column name when the data is a Dask DataFrame, got "
                f"{type(value).__name__}"
            )
    plan, ddf = _plan(formula, ddf, weights, offset)
    cross, stats = cross_products_dask(plan, ddf, split_every)
    return assemble(plan, cross, stats)


def _plan(formula: str, ddf, weights: str | None, offset: str | None):
    """A primed chunk plan and ``ddf`` with its used categories known."""
    dask = _require_dask()
    from .design.chunked import check_plain_groups, no_complete_chunk, prime
    from .design.chunkplan import level_columns, make_plan
    from .design.frame import as_vector, check_frame
    from .design.rows import ChunkStats

    _, parsed, variables, _ = check_frame(formula, ddf._meta, weights, offset, rows=False)
    check_plain_groups(parsed)
    for label, value in (("weights", weights), ("offset", offset)):
        if value is not None:
            as_vector(value, label, ddf._meta)  # the name and dtype; values per partition
    ddf = _known_categories(ddf, variables)
    meta = ddf._meta
    column_sets = level_columns(parsed, meta)
    frames = dask.compute(
        *[ddf[list(columns)].dropna().drop_duplicates(split_out=1) for columns in column_sets]
    )
    distinct = {
        columns: frame.drop_duplicates(ignore_index=True)
        for columns, frame in zip(column_sets, frames, strict=True)
    }
    plan = make_plan(parsed, meta, distinct, weights, offset)
    stats = ChunkStats()
    for index in range(ddf.npartitions):
        part = ddf.get_partition(index).compute()
        part_stats = ChunkStats(n_rows=len(part))
        if prime(plan, part, part_stats):
            return plan, ddf
        stats = stats + part_stats
    no_complete_chunk(plan, stats)
