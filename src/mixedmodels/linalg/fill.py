"""The dense fill-in update ``D -= B B'`` of a sparse ``B``: a sparse tail and a dense head.

In a crossed design the second factor's diagonal block fills in: after the
first factor is eliminated it is ``D = T' A T + I - L_10 L_10'``, with ``B =
L_10`` sparse (one column per level of the first factor, ``c_l`` entries in
column ``l``: the second factor's levels that level ``l`` meets). ``B B'`` is
a sum of one rank-one update per column,

.. math:: B B' = \\sum_l b_l b_l',

costing ``c_l^2`` multiply-adds in a sparse product and ``n^2`` (lower
triangle: ``n^2 / 2``) in a dense ``dsyrk``, which runs some hundred times
faster per flop. Activity in MovieLens-like data is very uneven, so the
columns are split by a cost model: the few heavy columns (the dense head)
go to one BLAS ``dsyrk`` straight into ``D``'s lower triangle, the long tail
to scipy's sparse product. On the MovieLens-1M shape (6,040 x 3,706) the
split takes this update from 7.2 s to about 2.5 s (one thread, loaded
machine; see ``benchmarks/README.md``).

Notation
--------
=============  ==============================================================
symbol         meaning
=============  ==============================================================
``D``          dense symmetric ``n x n`` block (C order), lower triangle used
``B``          sparse ``n x L`` block below it (``L_10``)
``c_l``        entries in column ``l`` of ``B``
``rho``        :data:`SPARSE_TO_DENSE_RATE`: sparse product speed / ``dsyrk``'s
=============  ==============================================================

A column goes to the dense head when ``c_l^2 / rho > n^2``, i.e.
``c_l > n sqrt(rho)``: there a sparse rank-one update would cost more time
than its share of the dense one.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk

__all__ = ["SPARSE_TO_DENSE_RATE", "dense_head_columns", "subtract_outer"]

#: Multiply-adds per second of scipy's sparse product over those of a one-thread
#: ``dsyrk``: 5.8e7 / 8.2e9 measured on the MovieLens-1M shape (2-core machine
#: under load; both slow down alike under load, so the ratio holds better).
SPARSE_TO_DENSE_RATE = 0.007


def dense_head_columns(column_counts: np.ndarray, n_rows: int) -> np.ndarray:
    """Columns whose rank-one updates are cheaper in the dense ``dsyrk`` (a boolean mask)."""
    return column_counts > n_rows * np.sqrt(SPARSE_TO_DENSE_RATE)


def subtract_outer(dense: np.ndarray, below: np.ndarray | sp.spmatrix) -> None:
    """``dense -= below @ below.T`` in place; only the lower triangle is guaranteed.

    Parameters
    ----------
    dense : ndarray, shape (n, n)
        C-contiguous; its lower triangle is updated (the upper triangle may be
        left stale, as the lower Cholesky factorisation never reads it).
    below : ndarray or sparse matrix, shape (n, L)
    """
    if not sp.issparse(below):
        _syrk_lower(dense, np.asarray(below))
        return
    csc = sp.csc_matrix(below)
    head = dense_head_columns(np.diff(csc.indptr), dense.shape[0])
    if head.any():
        _syrk_lower(dense, csc[:, np.flatnonzero(head)].toarray(order="F"))
        csc = csc[:, np.flatnonzero(~head)]
    if csc.nnz:
        dense -= (csc @ csc.T).toarray()


def _syrk_lower(dense: np.ndarray, factor: np.ndarray) -> None:
    """``dense -= factor factor'`` on the lower triangle, in place (BLAS ``dsyrk``)."""
    if factor.shape[1] == 0:
        return
    # dense (C order) is dense.T in Fortran order: its upper triangle is dense's lower.
    result = dsyrk(-1.0, factor, beta=1.0, c=dense.T, trans=0, lower=0, overwrite_c=1)
    if not np.shares_memory(result, dense):  # not updated in place: copy back
        dense[...] = result.T
