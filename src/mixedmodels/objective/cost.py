"""Cost model for the choice between the eliminated and the blocked factorisation.

For several grouping factors two paths compute the same criterion
(:mod:`mixedmodels.objective.pls`): the *eliminated* path builds once an
operator over every pair of entries that meet in a level of the first factor
(``P``, :mod:`mixedmodels.linalg.pairs`), then each evaluation is one
mat-vec and one ``dpotrf`` of order ``m``; the *blocked* path has no build
but each evaluation forms the fill-in ``L_10 L_10'`` anew
(:func:`mixedmodels.linalg.fill.subtract_outer`: a sparse tail and a dense
head) before its ``dpotrf``. Which is faster depends on the pair count, the
activity of the levels and the number of evaluations; which fits depends on
memory. So the choice is made on estimated seconds and bytes, not on fixed
size thresholds.

Notation
--------
=============  ==============================================================
symbol         meaning
=============  ==============================================================
``N``          expected evaluations of a fit (:data:`EXPECTED_EVALUATIONS`)
``pairs``      bound on the eliminated path's products, ``sum_l n_l^2``
``m``          order of the eliminated path's dense remainder
``n_j``        random effects of a dense (filled-in) block of the blocked path
``c_l``        entries in column ``l`` of ``A_j0`` (levels of ``j`` met by ``l``)
``F``          dense one-thread speed, flop/s (:data:`DENSE_FLOPS`)
=============  ==============================================================

* eliminated: ``pairs * PAIR_BUILD + N (pairs * PAIR_EVAL + m^3 / (3 F))``
  seconds, ``pairs * PAIR_BYTES + 2 * 8 m^2`` bytes;
* blocked: ``N sum_j (n_j^3 / (3 F) + DENSE_PASSES 8 n_j^2 / BANDWIDTH + fill_j)``
  seconds, with ``fill_j`` the split update's cost
  (:func:`mixedmodels.linalg.fill.dense_head_columns`).

The constants were measured on this project's 2-core machine with one BLAS
thread (MovieLens-1M shape and InstEval, ``benchmarks/README.md``); only
their ratios matter for the choice.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..linalg.fill import SPARSE_TO_DENSE_RATE, dense_head_columns
from ..linalg.memory import memory_budget

__all__ = ["blocked_seconds", "eliminated_bytes", "eliminated_seconds", "prefer_eliminated"]

#: Evaluations a fit is expected to take (BOBYQA on 2-4 parameters: 20-60).
EXPECTED_EVALUATIONS = 30
#: One-thread dense speed (``dpotrf``, ``dsyrk``), flop/s.
DENSE_FLOPS = 3.7e10
#: Seconds per counted pair to build the eliminated path's operator (ML-1M: 37.7 s
#: for 4.3e8 under memory pressure; less on smaller models).
PAIR_BUILD = 5e-8
#: Seconds per counted pair of one mat-vec of the operator (InstEval: 4 ms, 4.1e6).
PAIR_EVAL = 1e-9
#: Passes over a dense block's ``8 n^2`` bytes per evaluation of the blocked path
#: (assembly, the sparse product's conversion, the factor's copy and write).
DENSE_PASSES = 4
#: Bytes per second of those passes (loaded 2-core machine).
BANDWIDTH = 2e9
#: Peak bytes per counted pair while the operator is built (indices and values).
PAIR_BYTES = 24


def eliminated_seconds(pairs: int, m: int, evaluations: int = EXPECTED_EVALUATIONS) -> float:
    """Estimated seconds of the eliminated path over a fit (build included)."""
    return pairs * PAIR_BUILD + evaluations * (pairs * PAIR_EVAL + m**3 / (3 * DENSE_FLOPS))


def eliminated_bytes(pairs: int, m: int) -> int:
    """Estimated peak bytes of the eliminated path."""
    return int(pairs * PAIR_BYTES + 2 * 8 * m * m)


def _fill_seconds(below: sp.spmatrix, n_rows: int) -> float:
    """Seconds of one split update ``D -= B B'`` with ``B``'s pattern."""
    counts = np.diff(sp.csc_matrix(below).indptr).astype(float)
    head = dense_head_columns(counts, n_rows)
    tail = float(np.sum(counts[~head] ** 2))
    return tail / (DENSE_FLOPS * SPARSE_TO_DENSE_RATE) + n_rows**2 * head.sum() / DENSE_FLOPS


def blocked_seconds(
    dense_orders: dict[int, int],
    off_diagonal: dict[tuple[int, int], sp.spmatrix],
    evaluations: int = EXPECTED_EVALUATIONS,
) -> float:
    """Estimated seconds of the blocked path over a fit.

    Parameters
    ----------
    dense_orders : dict
        Block index -> order ``n_j`` of each dense (filled-in) diagonal block.
    off_diagonal : dict
        The cross-products ``A_ij`` (their patterns stand in for ``L_ij``'s).
    """
    per_evaluation = 0.0
    for j, order in dense_orders.items():
        per_evaluation += order**3 / (3 * DENSE_FLOPS) + DENSE_PASSES * 8 * order**2 / BANDWIDTH
        for (i, _), matrix in off_diagonal.items():
            if i == j:
                per_evaluation += _fill_seconds(matrix, order)
    return evaluations * per_evaluation


def prefer_eliminated(
    pairs: int,
    m: int,
    dense_orders: dict[int, int],
    off_diagonal: dict[tuple[int, int], sp.spmatrix],
) -> bool:
    """True when the eliminated path fits in memory and is estimated faster."""
    budget = memory_budget()
    if budget is not None and eliminated_bytes(pairs, m) > budget:
        return False
    return eliminated_seconds(pairs, m) <= blocked_seconds(dense_orders, off_diagonal)
