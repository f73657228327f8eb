"""The path cost model (mixedmodels.objective.cost)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mixedmodels.objective import cost


def _incidence(n_rows: int, counts: np.ndarray, seed: int = 1) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.choice(n_rows, c, replace=False) for c in counts])
    cols = np.repeat(np.arange(counts.size), counts)
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_rows, counts.size))


def test_estimates_grow_with_their_work() -> None:
    assert cost.eliminated_seconds(2 * 10**6, 500) > cost.eliminated_seconds(10**6, 500)
    assert cost.eliminated_seconds(10**6, 2000) > cost.eliminated_seconds(10**6, 500)
    assert cost.eliminated_bytes(10**6, 100) == 10**6 * cost.PAIR_BYTES + 16 * 100**2
    small = _incidence(300, np.full(2000, 5))
    heavy = _incidence(300, np.full(2000, 50))
    assert cost.blocked_seconds({1: 300}, {(1, 0): heavy}) > cost.blocked_seconds(
        {1: 300}, {(1, 0): small}
    )


def test_few_pairs_choose_elimination_and_many_the_blocked_path(monkeypatch) -> None:
    monkeypatch.delenv("MIXEDMODELS_MEMORY_LIMIT", raising=False)
    light = _incidence(1000, np.full(3000, 4))  # InstEval-like: few ratings per student
    pairs = int(np.sum(np.diff(light.tocsc().indptr).astype(np.int64) ** 2))
    assert cost.prefer_eliminated(pairs, 1003, {1: 1000}, {(1, 0): light})
    # MovieLens-1M-like counts: the pair operator would cost more than the fill-in.
    pairs_ml = 4.3e8
    dense_ml = _incidence(3706, np.full(6040, 165))
    assert not cost.prefer_eliminated(int(pairs_ml), 3708, {1: 3706}, {(1, 0): dense_ml})


def test_elimination_that_does_not_fit_is_not_chosen(monkeypatch) -> None:
    light = _incidence(1000, np.full(3000, 4))
    pairs = int(np.sum(np.diff(light.tocsc().indptr).astype(np.int64) ** 2))
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", str(cost.eliminated_bytes(pairs, 1003) - 1))
    assert not cost.prefer_eliminated(pairs, 1003, {1: 1000}, {(1, 0): light})
