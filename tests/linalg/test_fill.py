"""The dense fill-in update ``D -= B B'`` (mixedmodels.linalg.fill)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mixedmodels.linalg import fill


def _case(n: int = 40, columns: int = 300):
    rng = np.random.default_rng(8)
    # Uneven column activity: a few columns touch most rows (the dense head).
    counts = np.minimum(n, (n * rng.pareto(1.2, columns) / 4).astype(int) + 1)
    rows = np.concatenate([rng.choice(n, c, replace=False) for c in counts])
    cols = np.repeat(np.arange(columns), counts)
    below = sp.csr_matrix((rng.normal(size=rows.size), (rows, cols)), shape=(n, columns))
    base = rng.normal(size=(n, n))
    return base @ base.T + n * np.eye(n), below


def test_split_update_equals_the_product_on_the_lower_triangle() -> None:
    dense, below = _case()
    head = fill.dense_head_columns(np.diff(below.tocsc().indptr), dense.shape[0])
    assert head.any() and not head.all()  # both parts are exercised
    want = dense - (below @ below.T).toarray()
    got = dense.copy()
    fill.subtract_outer(got, below)
    np.testing.assert_allclose(np.tril(got), np.tril(want), rtol=1e-12, atol=1e-10)


def test_dense_below_and_all_tail() -> None:
    dense, below = _case()
    got = dense.copy()
    fill.subtract_outer(got, below.toarray())
    want = dense - (below @ below.T).toarray()
    np.testing.assert_allclose(np.tril(got), np.tril(want), rtol=1e-12, atol=1e-10)
    light = below[:, np.flatnonzero(np.diff(below.tocsc().indptr) <= 1)]
    got = dense.copy()
    fill.subtract_outer(got, light)
    np.testing.assert_allclose(got, dense - (light @ light.T).toarray(), atol=1e-12)
