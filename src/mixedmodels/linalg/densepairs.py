"""The eliminated path's Schur complement as one dense mat-vec, for small systems.

:class:`~mixedmodels.linalg.pairs.PairOperator` writes the lower triangle of

.. math::

    S = D' (A_{RR} - A_{R0} W A_{R0}') D \\;(+ I \\text{ on random rows})

as ``P w`` with a sparse ``P`` over the pairs of entries that meet in a level
of the first factor. Building that ``P`` takes a dozen scipy.sparse
constructions and conversions (0.5-1 ms of Python overhead), which is most of
the set-up of a small split-plot or crossed model (Alfalfa's
``(1 | Block/Variety)``: ``m = 19`` rows, 18 levels). When ``m`` and the
number of levels are small, the same ``P`` is cheaper held densely: one row per
(class of levels, packed entry of ``W``), built with a few numpy products, and
each evaluation is one ``dgemv`` over at most :data:`DENSE_PAIR_ENTRIES`
numbers.

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``m``        rows of ``R``: random effects of later blocks, then ``k + 1``
``l0, p0``   levels and columns of the first block
``npack``    ``p0 (p0 + 1) / 2``, entries of a packed lower ``p0 x p0``
``c(l)``     class of level ``l`` (levels with equal ``A_00,l`` share ``W``)
``G_c,s``    ``sum_{l: c(l) = c} (a_l,s1 a_l,s2' + a_l,s2 a_l,s1')`` for the
             packed index ``s = (s1, s2)``, ``s1 > s2`` (one term if equal);
             ``a_l,s`` is column ``(l, s)`` of ``A_R0``
``d``        scale of each row (its group's diagonal entry of ``T``)
===========  ===============================================================

Row ``c npack + s`` of ``P`` is ``-tril(G_c,s)`` flattened, its last row
``tril(A_RR)``; with ``w = [W_c[s] ..., 1]`` the lower triangle of ``S`` is
``(w P) * (d d')`` plus the identity rows.
"""

from __future__ import annotations

import copy

import numpy as np

__all__ = ["DENSE_PAIR_ENTRIES", "DensePairOperator", "dense_pairs_suit"]

#: Largest ``l0 * npack * m^2`` held densely: the build's temporary and the
#: per-evaluation ``dgemv`` stay under 1 MiB, where a dense product costs less
#: than the sparse operator's Python overhead.
DENSE_PAIR_ENTRIES = 2**17


def dense_pairs_suit(n_levels: int, p0: int, m: int) -> bool:
    """Whether the dense operator is the cheaper choice (see :data:`DENSE_PAIR_ENTRIES`).

    Parameters
    ----------
    n_levels : int
        Levels ``l0`` of the first block.
    p0 : int
        Its columns.
    m : int
        Rows of the remaining system.

    Returns
    -------
    bool
    """
    return n_levels * (p0 * (p0 + 1) // 2) * m * m <= DENSE_PAIR_ENTRIES


class DensePairOperator:
    """Lower triangle of ``S`` (see the module notes) as one dense ``w P``.

    The interface of :class:`~mixedmodels.linalg.pairs.PairOperator`.

    Parameters
    ----------
    first : ndarray, shape (m, l0 * p0)
        ``A_R0``, dense.
    p0 : int
        Columns of the first block.
    groups : ndarray of int, shape (m,)
        Scale group of each row, ``0 .. G - 1``.
    constant : ndarray, shape (m, m)
        ``A_RR``; only its lower triangle is read.
    identity_rows : int
        The first ``identity_rows`` rows get ``+1`` on the diagonal.
    level_class : ndarray of int, shape (l0,), optional
        Class of each first-block level (default: one class per level).
    """

    def __init__(
        self,
        first: np.ndarray,
        p0: int,
        groups: np.ndarray,
        constant: np.ndarray,
        identity_rows: int,
        level_class: np.ndarray | None = None,
    ) -> None:
        m = first.shape[0]
        self.m = m
        self.p0 = p0
        self.n_levels = first.shape[1] // p0
        if level_class is None:
            level_class = np.arange(self.n_levels)
        level_class = np.asarray(level_class, dtype=np.int64)
        self.n_pack = p0 * (p0 + 1) // 2
        self.groups = np.asarray(groups, dtype=np.int64)
        self.n_groups = int(self.groups.max()) + 1 if m else 1
        lower = np.tri(m, dtype=bool)
        self.matrix = np.concatenate(
            [_class_grams(first, p0, level_class, lower), np.where(lower, constant, 0.0)[None]]
        ).reshape(-1, m * m)
        self.weights = np.ones(self.matrix.shape[0])
        self.buffer = np.zeros(m * m)
        self.identity = np.arange(identity_rows, dtype=np.int64) * (m + 1)

    def fork(self) -> DensePairOperator:
        """A copy sharing the (constant) operator, with its own output buffers."""
        new = copy.copy(self)
        new.weights = self.weights.copy()
        new.buffer = self.buffer.copy()
        return new

    @property
    def nnz(self) -> int:
        """Stored entries of ``P``."""
        return int(self.matrix.size)

    def apply(self, packed_w: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Lower triangle of ``S`` as an ``m x m`` C-ordered array (upper part zero).

        Parameters
        ----------
        packed_w : ndarray, shape (n_classes, npack)
            ``W``'s packed lower triangles, one per class of levels.
        scales : ndarray, shape (G,)
            ``d_g``.

        Returns
        -------
        ndarray, shape (m, m)
            A view of an internal buffer, overwritten by the next call.
        """
        weights = self.weights
        weights[:-1] = packed_w.ravel()
        buffer = self.buffer
        np.dot(weights, self.matrix, out=buffer)
        out = buffer.reshape(self.m, self.m)
        if self.n_groups > 1 or scales[0] != 1.0:
            row_scale = scales[self.groups]
            out *= row_scale[:, None]
            out *= row_scale
        buffer[self.identity] += 1.0
        return out


def _class_grams(
    first: np.ndarray, p0: int, level_class: np.ndarray, lower: np.ndarray
) -> np.ndarray:
    """``-tril(G_c,s)`` for every class ``c`` and packed index ``s``, shape
    ``(n_classes * npack, m, m)``."""
    m = first.shape[0]
    n_levels = first.shape[1] // p0
    order = np.argsort(level_class, kind="stable")
    sorted_class = level_class[order]
    starts = np.flatnonzero(np.r_[True, sorted_class[1:] != sorted_class[:-1]])
    n_classes = int(level_class.max()) + 1 if n_levels else 0
    columns = first.reshape(m, n_levels, p0)[:, order, :]
    n_pack = p0 * (p0 + 1) // 2
    grams = np.zeros((n_classes, n_pack, m, m))
    present = sorted_class[starts]
    for s1 in range(p0):
        for s2 in range(s1 + 1):
            left = columns[:, :, s1].T
            right = columns[:, :, s2].T
            # One outer product per level, summed within each class of levels.
            per_level = left[:, :, None] * right[:, None, :]
            if s1 != s2:
                per_level += np.swapaxes(per_level, 1, 2)
            if n_levels:
                grams[present, s1 * (s1 + 1) // 2 + s2] = np.add.reduceat(per_level, starts)
    grams *= np.where(lower, -1.0, 0.0)
    return grams.reshape(n_classes * n_pack, m, m)
