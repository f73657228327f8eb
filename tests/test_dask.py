"""``mm.lmer`` on a Dask DataFrame equals the in-memory fit (issue 3, item 4).

Runs on a local ``distributed`` cluster bound to the loopback interface, with
two worker processes, so partitions, the plan and the partial cross-products
really cross process boundaries (pickling). Skipped cleanly when dask or
distributed is not installed (``pip install mixedmodels[dask]``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import mixedmodels as mm  # noqa: E402
from mixedmodels.dask import design_from_dask  # noqa: E402
from mixedmodels.errors import ArgumentError, FormulaError, MixedModelsWarning  # noqa: E402


def local_cluster(**options) -> distributed.LocalCluster:
    """Two one-thread worker processes on the loopback address only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            **options,
        )


@pytest.fixture(scope="module")
def client():
    cluster = local_cluster()
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


CASES = [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", True),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", True),
    ("Weight ~ Time + (Time | Pig)", "dietox", False),
]


@pytest.mark.parametrize(("formula", "dataset", "reml"), CASES, ids=[c[1] for c in CASES])
def test_dask_fit_equals_in_memory_fit(client, formula: str, dataset: str, reml: bool) -> None:
    data = mm.datasets.load(dataset)
    memory = mm.lmer(formula, data, REML=reml)
    ddf = dd.from_pandas(data, npartitions=5)
    fit = mm.lmer(formula, ddf, REML=reml)
    assert fit.llf == pytest.approx(memory.llf, rel=1e-8)
    assert fit.nobs == memory.nobs
    np.testing.assert_allclose(fit.fe_params, memory.fe_params, rtol=1e-6)
    np.testing.assert_allclose(fit.theta, memory.theta, rtol=1e-4, atol=1e-6)
    for name, modes in memory.ranef().items():
        assert list(fit.ranef()[name].index) == list(modes.index)


def test_unknown_categories_missing_rows_and_weights(client) -> None:
    rng = np.random.default_rng(4)
    n = 600
    data = pd.DataFrame(
        {
            "y": rng.standard_normal(n),
            "x": rng.standard_normal(n),
            "g": rng.choice([f"g{i}" for i in range(25)], n),
            "h": pd.Categorical(rng.choice(list("abcdefgh"), n)),
            "w": rng.uniform(0.5, 2.0, n),
        }
    )
    data.loc[[5, 17, 400], "x"] = np.nan
    data["y"] += data["g"].map({f"g{i}": v for i, v in enumerate(rng.standard_normal(25))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        memory = mm.lmer("y ~ x + (1 | g) + (1 | h)", data, weights="w")
        ddf = dd.from_pandas(data, npartitions=4).astype({"g": "category"})
        assert not ddf["g"].cat.known
        fit = mm.lmer("y ~ x + (1 | g) + (1 | h)", ddf, weights="w")
    assert fit.llf == pytest.approx(memory.llf, rel=1e-8)
    assert fit.nobs_dropped == memory.nobs_dropped == 3


def test_weights_must_be_a_column_name(client) -> None:
    data = mm.datasets.load("sleepstudy")
    ddf = dd.from_pandas(data, npartitions=2)
    with pytest.raises(ArgumentError, match="column name"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", ddf, weights=np.ones(len(data)))


def test_unknown_column_keeps_the_hint() -> None:
    ddf = dd.from_pandas(mm.datasets.load("sleepstudy"), npartitions=2)
    with pytest.raises(FormulaError, match="did you mean 'Days'"):
        mm.lmer("Reaction ~ Dayz + (1 | Subject)", ddf)


def test_design_from_dask_gives_cross_products_terms_and_design(client) -> None:
    data = mm.datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    cross, terms, design = design_from_dask(formula, dd.from_pandas(data, npartitions=3))
    memory = mm.LinearMixedModel.from_formula(formula, data)
    assert cross.n_obs == memory.n_obs == 180
    np.testing.assert_allclose(cross.xy_xy, memory.cross.xy_xy, rtol=1e-12)
    assert [term.column_names for term in terms] == [("(Intercept)", "Days")]
    assert design.y.shape == (0,) and design.fixed.lme4_names == memory.fixed_names


def test_partials_are_sparse_in_the_levels_with_many_groups() -> None:
    """Many groups, small workers: each partition's partial holds the groups it
    touches, not all of them, and the fit equals the in-memory chunked fit."""
    import dask

    from mixedmodels.dask import _plan
    from mixedmodels.design.chunked import chunk_cross_products

    n_groups, per_group, n_parts = 60_000, 4, 20
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(n_groups), per_group)  # sorted: a partition touches a range
    x = rng.normal(size=g.size)
    y = 1.0 + 0.5 * x + rng.normal(size=n_groups)[g] + rng.normal(size=g.size)
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    formula = "y ~ 1 + x + (1 + x | g)"
    cluster = local_cluster(memory_limit="400MB")
    with cluster, distributed.Client(cluster):
        ddf = dd.from_pandas(data, npartitions=n_parts)
        plan, ddf = _plan(formula, ddf, None, None)
        sizes = dask.compute(
            *[
                dask.delayed(lambda part: chunk_cross_products(plan, part)[0].nbytes())(part)
                for part in ddf.to_delayed()
            ]
        )
        fit = mm.lmer(formula, ddf)
    touched = n_groups / n_parts + 1  # groups per partition, give or take a boundary
    # Per touched group (p = 2, k + 1 = 3): code, count, 2 x 2 block, 3 x 2 columns.
    per_level = 8 + 8 + 4 * 8 + 6 * 8
    dense = n_groups * per_level
    for size in sizes:
        assert size <= touched * per_level + 4096
        assert size < dense / 10
    memory = mm.LinearMixedModel.from_formula(formula, data, chunk_rows=50_000).fit()
    assert fit.llf == pytest.approx(memory.llf, rel=1e-8)
    np.testing.assert_allclose(fit.fe_params, memory.fe_params, rtol=1e-6)
