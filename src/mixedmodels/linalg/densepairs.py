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
``d_g``      scale of group ``g`` (a diagonal entry of a later block's ``T``)
``G``        number of scale groups
===========  ===============================================================

Row ``(c npack + s) G^2 + g1 G + g2`` of ``P`` is ``-tril(G_c,s)`` flattened and
restricted to the entries whose row is in scale group ``g1`` and column in
``g2``; the next ``G^2`` rows split ``tril(A_RR)`` alike, and the last row is the
identity on the random rows. With ``w = [W_c[s] d_g1 d_g2 ..., d_g1 d_g2 ..., 1]``
the lower triangle of ``S`` is ``w P``.
"""

from __future__ import annotations

import copy

import numpy as np

__all__ = ["DENSE_PAIR_ENTRIES", "DensePairOperator", "dense_pairs_suit"]

#: Largest ``(l0 npack + 1) G^2 m^2`` held densely: the operator (a bound on its
#: size) and the per-evaluation ``dgemv`` stay under 1 MiB, where a dense product
#: costs less than the sparse operator's Python overhead.
DENSE_PAIR_ENTRIES = 2**17


def dense_pairs_suit(n_levels: int, p0: int, m: int, n_groups: int = 1) -> bool:
    """Whether the dense operator is the cheaper choice (see :data:`DENSE_PAIR_ENTRIES`).

    Parameters
    ----------
    n_levels : int
        Levels ``l0`` of the first block.
    p0 : int
        Its columns.
    m : int
        Rows of the remaining system.
    n_groups : int, default 1
        Scale groups ``G`` (``P`` has ``G^2`` rows per product).

    Returns
    -------
    bool
    """
    n_pack = p0 * (p0 + 1) // 2
    return (n_levels * n_pack + 1) * n_groups * n_groups * m * m <= DENSE_PAIR_ENTRIES


class DensePairOperator:
    """Lower triangle of ``S`` (see the module notes) as one dense ``w P``.

    The interface of :class:`~mixedmodels.linalg.pairs.PairOperator`. The
    scales and the identity are folded into ``P`` too: each row of ``-G_c,s``
    and of ``A_RR`` is split by the scale groups ``(g1, g2)`` of its entries'
    rows and columns (weight ``d_g1 d_g2``), and a last row holds the identity
    (weight 1), so an evaluation is two outer products of a few numbers and one
    ``dgemv``: a small model's evaluation is a few numpy calls, each of which
    costs as much as the arithmetic.

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
        n_classes = int(level_class.max()) + 1 if self.n_levels else 0
        n_pairs = n_classes * self.n_pack
        self.n_weighted = n_pairs + 1  # rows of -G_c,s, then A_RR
        weighted = np.empty((self.n_weighted, m, m))
        _class_grams(first, p0, level_class, weighted[:n_pairs].reshape(-1, self.n_pack, m, m))
        np.negative(weighted[:n_pairs], out=weighted[:n_pairs])
        weighted[n_pairs] = constant
        weighted *= np.tri(m, dtype=bool)
        g2 = self.n_groups**2
        self.matrix = np.zeros((self.n_weighted * g2 + 1, m * m))
        if g2 == 1:
            self.matrix[:-1] = weighted.reshape(self.n_weighted, m * m)
        else:
            # Entry (r1, r2) goes to the row of its scale pair g(r1) G + g(r2).
            pair_group = self.groups[:, None] * self.n_groups + self.groups
            split = pair_group == np.arange(g2)[:, None, None]
            np.multiply(
                weighted[:, None], split, out=self.matrix[:-1].reshape(-1, g2, m, m)
            )
        self.matrix[-1, : identity_rows * (m + 1) : m + 1] = 1.0
        self.weights = np.ones(self.matrix.shape[0])
        self.buffer = np.zeros(m * m)
        self._views()

    def _views(self) -> None:
        """Views into this copy's buffers (reused by every :meth:`apply`)."""
        g2 = self.n_groups**2
        self._pair_scale = np.empty((self.n_groups, self.n_groups))
        self._pair_scale_flat = self._pair_scale.reshape(-1)
        self._pair_weights = self.weights[: (self.n_weighted - 1) * g2].reshape(-1, g2)
        self._constant_weights = self.weights[(self.n_weighted - 1) * g2 : self.n_weighted * g2]
        self._square = self.buffer.reshape(self.m, self.m)

    def fork(self) -> DensePairOperator:
        """A copy sharing the (constant) operator, with its own output buffers."""
        new = copy.copy(self)
        new.weights = self.weights.copy()
        new.buffer = self.buffer.copy()
        new._views()
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
        np.multiply.outer(scales, scales, out=self._pair_scale)
        np.multiply.outer(packed_w.reshape(-1), self._pair_scale_flat, out=self._pair_weights)
        self._constant_weights[...] = self._pair_scale_flat
        np.dot(self.weights, self.matrix, out=self.buffer)
        return self._square


def _class_grams(first: np.ndarray, p0: int, level_class: np.ndarray, out: np.ndarray) -> None:
    """``G_c,s`` (unmasked) for every class ``c`` and packed index ``s`` into ``out``,
    shape ``(n_classes, npack, m, m)``."""
    m = first.shape[0]
    n_levels = first.shape[1] // p0
    columns = first.reshape(m, n_levels, p0)
    if out.shape[0] == 1:  # one class: one product per packed index
        for s1 in range(p0):
            for s2 in range(s1 + 1):
                gram = out[0, s1 * (s1 + 1) // 2 + s2]
                np.matmul(columns[:, :, s1], columns[:, :, s2].T, out=gram)
                if s1 != s2:
                    gram += gram.T.copy()
        return
    out[...] = 0.0
    if n_levels == 0:
        return
    order = np.argsort(level_class, kind="stable")
    sorted_class = level_class[order]
    starts = np.flatnonzero(np.r_[True, sorted_class[1:] != sorted_class[:-1]])
    columns = columns[:, order, :]
    present = sorted_class[starts]
    for s1 in range(p0):
        for s2 in range(s1 + 1):
            left = columns[:, :, s1].T
            right = columns[:, :, s2].T
            # One outer product per level, summed within each class of levels.
            per_level = left[:, :, None] * right[:, None, :]
            if s1 != s2:
                per_level += np.swapaxes(per_level, 1, 2)
            out[present, s1 * (s1 + 1) // 2 + s2] = np.add.reduceat(per_level, starts)
