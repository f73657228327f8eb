"""Whitening the rows by the residual covariance, and the cross-products it changes.

For fixed structure parameters, premultiplying the rows of correlation group
``i`` by ``C_i^{-1}``, where ``Lambda_i = C_i C_i'``, turns the model into a
plain LMM (``cov(C^{-1} e) = sigma^2 I``); its likelihood times the Jacobian
``|Lambda|^{-1/2}`` is the structured model's. ``Lambda_i = S_i R_i S_i`` with
``R_i`` an AR(1) or CAR(1) correlation (Markov in time order) and ``S_i``
diagonal, so ``C_i^{-1}`` is bidiagonal in closed form and no dense
``n_i x n_i`` matrix is ever formed: with ``rho_t = Phi ** lag_t`` between row
``t`` and the previous row ``t - 1`` of its group,

.. math::

    u_t = \\frac{x_t / s_t - \\rho_t x_{t-1} / s_{t-1}}{\\sqrt{1 - \\rho_t^2}},
    \\qquad u_{first} = x_{first} / s_{first},
    \\qquad \\log|\\Lambda| = 2 \\sum_t \\log s_t + \\sum_{t > first} \\log(1 - \\rho_t^2).

Recomputing the cross-products for each parameter value
--------------------------------------------------------
``u_t u_t' = c_cur x_t x_t' + c_prev x_{t-1} x_{t-1}' + c_diff d_t d_t'`` with
``d_t = x_t - x_{t-1}``, ``alpha = a_t / s_t``, ``beta = b_t / s_{t-1}``
(``a = 1 / sqrt(1 - rho^2)``, ``b = rho a``), ``c_cur = alpha^2 - alpha beta``,
``c_prev = beta^2 - alpha beta`` and ``c_diff = alpha beta``. The coefficients
depend on a row only through its *class* (lag, stratum of the row, stratum of
the previous row), so the cross-products of ``x_t``, ``x_{t-1}`` and ``d_t``
summed over each class are formed once (:func:`~mixedmodels.objective.
crossprod.cross_products`), and each criterion evaluation is a small linear
combination of them, independent of ``n``. The difference form keeps it
accurate as ``rho -> 1`` (a constant column has ``d_t = 0`` exactly). With many
classes (irregular continuous times) the rows are whitened afresh instead
(:meth:`Whitener.whiten`, vectorised over all rows), whichever is cheaper.

Notation
--------
=============  ===============================================================
symbol         meaning
=============  ===============================================================
``rows``       positions of the rows that have a previous row in their group
``prev``       positions of those previous rows
``lag``        per ``rows`` entry, its lag class (``lag_values[lag_index]``)
``s_t``        residual SD factor of row t: ``ratio[stratum] / sqrt(w_t)``
=============  ===============================================================
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..design.crossprod import BlockData, CrossProducts, cross_products
from ..errors import ArgumentError, ColumnTypeError, DataError, MissingDataError, StructureError
from .spec import AR1, CorrelationStructure, VarIdent

__all__ = ["ResidualLayout", "Whitener", "build_layout"]

_MAX_PIECES = 64


@dataclass
class ResidualLayout:
    """Where each row sits in its correlation group and variance stratum.

    Attributes
    ----------
    n_obs : int
    correlation, variance : structure or None
    rows, prev : ndarray of int
        Rows that have a previous row in their group, and that previous row.
    lag_values, lag_index, lag_counts : ndarray
        Distinct lags, the lag class of each ``rows`` entry, and class sizes.
    strata : ndarray of int or None
        Variance stratum of each row; ``levels`` their labels, ``reference``
        the index of the level with ratio 1.
    root_weights : ndarray or None
        ``sqrt(w)`` of prior weights.
    group_name : str
        Name of the correlation grouping column.
    """

    n_obs: int
    correlation: CorrelationStructure | None
    variance: VarIdent | None
    rows: np.ndarray
    prev: np.ndarray
    lag_values: np.ndarray
    lag_index: np.ndarray
    lag_counts: np.ndarray
    strata: np.ndarray | None
    levels: list[object]
    reference: int
    root_weights: np.ndarray | None
    group_name: str = ""
    _stratum_counts: np.ndarray | None = field(default=None, repr=False)
    _sum_log_weights: float | None = field(default=None, repr=False)

    @property
    def n_params(self) -> int:
        return int(self.correlation is not None) + max(len(self.levels) - 1, 0)

    @property
    def parameter_names(self) -> list[str]:
        names = ["Phi"] if self.correlation is not None else []
        if self.variance is not None:
            names += [
                f"{self.variance.by}={level}"
                for index, level in enumerate(self.levels)
                if index != self.reference
            ]
        return names

    def split(self, eta: np.ndarray) -> tuple[float | None, np.ndarray]:
        """``Phi`` (or None) and the ratio of every stratum level."""
        values = [float(value) for value in eta]
        phi = None
        if self.correlation is not None:
            phi = self.correlation.phi(values.pop(0))
        ratios = [1.0] * max(len(self.levels), 1)
        for index, value in zip(self._free_levels, values, strict=True):
            ratios[index] = math.exp(value)
        return phi, np.array(ratios)

    @property
    def _free_levels(self) -> list[int]:
        return [i for i in range(len(self.levels)) if i != self.reference]

    def start(self) -> np.ndarray:
        start = [self.correlation.start_eta()] if self.correlation is not None else []
        return np.array(start + [0.0] * (self.n_params - len(start)))

    def rho(self, phi: float | None) -> np.ndarray:
        """Correlation with the previous row, per lag class."""
        if phi is None:
            return np.zeros(len(self.lag_values))
        return np.power(phi, self.lag_values)

    def row_scale(self, ratios: np.ndarray) -> np.ndarray | None:
        """``s_t`` per row (None when every row has ``s_t = 1``)."""
        scale = None if self.strata is None else ratios[self.strata]
        if self.root_weights is not None:
            scale = 1.0 / self.root_weights if scale is None else scale / self.root_weights
        return scale

    def log_det(self, eta: np.ndarray) -> float:
        """``log |Lambda|``, the log-Jacobian term of ``-2 log L``."""
        return self.log_det_at(*self.split(eta))

    def log_det_at(self, phi: float | None, ratios: np.ndarray) -> float:
        """:meth:`log_det` from ``Phi`` and the ratios."""
        value = 0.0
        if self.strata is not None:
            value += 2.0 * float(self.stratum_counts @ np.log(ratios))
        if self.root_weights is not None:
            value -= self.sum_log_weights
        if phi is not None:
            rho = self.rho(phi)
            value += float(self.lag_counts @ np.log1p(-rho * rho))
        return value

    @property
    def stratum_counts(self) -> np.ndarray:
        if self._stratum_counts is None:
            self._stratum_counts = np.bincount(self.strata, minlength=len(self.levels)).astype(
                float
            )
        return self._stratum_counts

    @property
    def sum_log_weights(self) -> float:
        if self._sum_log_weights is None:
            self._sum_log_weights = 2.0 * float(np.log(self.root_weights).sum())
        return self._sum_log_weights

    def whiten(self, matrix: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """``C^{-1} matrix`` row-wise (rows in data order), vectorised over all rows."""
        phi, ratios = self.split(eta)
        scale = self.row_scale(ratios)
        scaled = (
            matrix if scale is None else matrix / (scale if matrix.ndim == 1 else scale[:, None])
        )
        if phi is None:
            return np.array(scaled, dtype=float, copy=True)
        rho = self.rho(phi)
        inv_root = 1.0 / np.sqrt(1.0 - rho * rho)
        a = inv_root[self.lag_index]
        b = (rho * inv_root)[self.lag_index]
        if matrix.ndim == 2:
            a, b = a[:, None], b[:, None]
        out = np.array(scaled, dtype=float, copy=True)
        out[self.rows] = a * scaled[self.rows] - b * scaled[self.prev]
        return out


# ---------------------------------------------------------------------- layout
def _group_codes(
    correlation: CorrelationStructure,
    frame: pd.DataFrame,
    default: tuple[str, np.ndarray, pd.Index] | None,
) -> tuple[str, np.ndarray, pd.Index]:
    if correlation.group is None:
        if default is None:
            raise ArgumentError(
                f"{correlation.kind}(group=...) is needed: the model has more than one "
                "grouping factor, so the correlation groups are ambiguous"
            )
        return default
    column = frame[correlation.group]
    if column.isna().any():
        raise MissingDataError(
            f"the correlation group column {correlation.group!r} has missing values on "
            "rows the model uses"
        )
    if isinstance(column.dtype, pd.CategoricalDtype):
        # the categorical's codes directly: factorize costs 1-2 ms on a small model
        return (
            correlation.group,
            column.cat.codes.to_numpy().astype(np.int64),
            column.cat.categories,
        )
    codes, labels = pd.factorize(column, sort=True)
    return correlation.group, codes.astype(np.int64), pd.Index(labels)


def _times(correlation: CorrelationStructure, frame: pd.DataFrame) -> np.ndarray | None:
    name = correlation.time_column
    if name is None:
        return None
    column = frame[name]
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        raise ColumnTypeError(
            f"{correlation.kind} needs numeric times: column {name!r} has dtype {column.dtype}"
        )
    times = column.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(times).any():
        raise MissingDataError(
            f"the time column {name!r} has missing values on rows the model uses"
        )
    if not np.isfinite(times).all():
        raise DataError(f"the time column {name!r} has infinite values")
    return times


def _serial_layout(
    correlation: CorrelationStructure,
    frame: pd.DataFrame,
    default_group: tuple[str, np.ndarray, pd.Index] | None,
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """Group name, ``rows``, ``prev`` and the lag of each ``rows`` entry."""
    group_name, codes, labels = _group_codes(correlation, frame, default_group)
    times = _times(correlation, frame)
    order = np.argsort(codes, kind="stable") if times is None else np.lexsort((times, codes))
    sorted_codes = codes[order]
    has_prev = np.zeros(len(order), dtype=bool)
    has_prev[1:] = sorted_codes[1:] == sorted_codes[:-1]
    rows, prev = order[has_prev], order[np.flatnonzero(has_prev) - 1]
    if times is None or correlation.order is not None:
        lag = np.ones(len(rows))
    else:
        lag = times[rows] - times[prev]
    if times is not None:
        tied = times[rows] == times[prev]
        if tied.any():
            label = labels[codes[rows[np.flatnonzero(tied)[0]]]]
            raise DataError(
                f"{correlation.kind}: the time column {correlation.time_column!r} has ties "
                f"within group {group_name}={label!r}; each row of a group needs its own time"
            )
    if isinstance(correlation, AR1) and correlation.time is not None:
        if not np.allclose(lag, np.round(lag), rtol=0, atol=1e-8):
            raise DataError(
                f"AR1(time={correlation.time!r}) needs integer-valued times (lags are their "
                "differences); use AR1(order=...) for positions or CAR1 for continuous time"
            )
        lag = np.round(lag)
    return group_name, rows, prev, lag


def _check_nested(
    group_name: str,
    rows: np.ndarray,
    prev: np.ndarray,
    block_codes: list[tuple[str, np.ndarray, pd.Index]],
) -> None:
    for factor_name, codes, _ in block_codes:
        crossing = codes[rows] != codes[prev]
        if crossing.any():
            raise StructureError(
                f"the correlation groups ({group_name}) must be nested in the random-effects "
                f"grouping factor {factor_name!r}: a {group_name} group spans several "
                f"{factor_name} levels, so whitening would mix random effects of different "
                "levels; use a correlation group inside each level (e.g. their interaction)"
            )


def _strata(variance: VarIdent, frame: pd.DataFrame) -> tuple[np.ndarray, list[object], int]:
    column = frame[variance.by]
    if column.isna().any():
        raise MissingDataError(
            f"the variance column {variance.by!r} has missing values on rows the model uses"
        )
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes_all = column.cat.remove_unused_categories()
        codes, labels = (
            codes_all.cat.codes.to_numpy().astype(np.int64),
            list(codes_all.cat.categories),
        )
    else:
        codes, uniques = pd.factorize(column, sort=True)
        codes, labels = codes.astype(np.int64), list(uniques)
    if len(labels) < 2:
        raise DataError(
            f"VarIdent(by={variance.by!r}) needs at least two levels on the rows used; "
            f"the column has one ({labels[0]!r}), so there is no ratio to estimate"
        )
    if variance.reference is None:
        reference = 0
    else:
        matches = [i for i, level in enumerate(labels) if str(level) == str(variance.reference)]
        if not matches:
            raise ArgumentError(
                f"VarIdent(reference={variance.reference!r}) is not a level of {variance.by!r}; "
                f"levels: {', '.join(map(str, labels))}"
            )
        reference = matches[0]
    return codes, labels, reference


def build_layout(
    correlation: CorrelationStructure | None,
    variance: VarIdent | None,
    frame: pd.DataFrame,
    block_codes: list[tuple[str, np.ndarray, pd.Index]],
    weights: np.ndarray | None,
    default_group: tuple[str, np.ndarray, pd.Index] | None = None,
) -> ResidualLayout:
    """The layout of the rows used (``frame`` holds the structure columns on them).

    Parameters
    ----------
    block_codes : list of (name, codes, levels)
        The random-effects grouping factors; the correlation groups must be
        nested in each, and the only one is the default group.
    default_group : (name, codes, levels), optional
        The correlation groups when the structure names none (statsmodels'
        ``groups``); default: the only random-effects grouping factor.
    """
    n_obs = len(frame)
    empty = np.zeros(0, dtype=np.int64)
    rows, prev, lag = empty, empty, np.zeros(0)
    group_name = ""
    if correlation is not None:
        default = default_group
        if default is None and len(block_codes) == 1:
            default = block_codes[0]
        group_name, rows, prev, lag = _serial_layout(correlation, frame, default)
        _check_nested(group_name, rows, prev, block_codes)
    lag_values, lag_index, lag_counts = np.unique(lag, return_inverse=True, return_counts=True)
    strata, levels, reference = None, [], 0
    if variance is not None:
        strata, levels, reference = _strata(variance, frame)
    return ResidualLayout(
        n_obs=n_obs,
        correlation=correlation,
        variance=variance,
        rows=rows,
        prev=prev,
        lag_values=lag_values,
        lag_index=lag_index.astype(np.int64),
        lag_counts=lag_counts.astype(float),
        strata=strata,
        levels=levels,
        reference=reference,
        root_weights=None if weights is None else np.sqrt(weights),
        group_name=group_name,
    )


# ---------------------------------------------------------------------- cross-products
@dataclass
class _Pieces:
    """Cross-products of one kind of row set per class, flattened for a fast combination."""

    dense: np.ndarray  # (n_pieces, size) diagonal blocks, xy_z and xy_xy, concatenated
    off: list[dict[tuple[int, int], sp.csr_matrix]]
    kinds: list[tuple[str, int, int, int]]  # (kind, lag class, stratum, previous stratum)


class Whitener:
    """Whitened cross-products and the log-Jacobian as functions of ``eta``.

    Parameters
    ----------
    layout : ResidualLayout
    blocks : list of BlockData
        Random-effects codes and (unwhitened) model matrices.
    xy : ndarray, shape (n, k + 1)
        ``[X y]`` (offset already subtracted).
    path : {"classes", "rows"}, optional
        Force the recomputation path (default: the cheaper one).
    """

    def __init__(
        self,
        layout: ResidualLayout,
        blocks: list[BlockData],
        xy: np.ndarray,
        path: str | None = None,
    ) -> None:
        self.layout = layout
        self.blocks = blocks
        self.xy = xy
        self.widths = [block.z.shape[1] for block in blocks]
        self._shapes = self._dense_shapes()
        sizes = [int(np.prod(shape)) for shape in self._shapes]
        ends = np.cumsum(sizes).tolist()
        self._bounds = list(zip([0, *ends[:-1]], ends, strict=True))
        size = sum(sizes)
        n_classes = self._class_count()
        width = sum(self.widths) + xy.shape[1]
        if path is None:
            cheaper = n_classes * size <= 2 * layout.n_obs * width
            path = "classes" if n_classes <= _MAX_PIECES and cheaper else "rows"
        if path not in ("classes", "rows"):
            raise ArgumentError(f"path must be 'classes' or 'rows', got {path!r}")
        self.path = path
        self._pieces = self._build_pieces() if path == "classes" else None

    # -------------------------------------------------------------- shapes
    def _dense_shapes(self) -> list[tuple[int, ...]]:
        k1 = self.xy.shape[1]
        shapes: list[tuple[int, ...]] = []
        shapes += [(b.n_levels, b.z.shape[1], b.z.shape[1]) for b in self.blocks]
        shapes += [(k1, b.n_levels * b.z.shape[1]) for b in self.blocks]
        shapes.append((k1, k1))
        return shapes

    def _class_count(self) -> int:
        layout = self.layout
        n_strata = max(len(layout.levels), 1)
        return n_strata + 3 * len(layout.lag_values) * n_strata * n_strata

    def _flatten(self, cross: CrossProducts) -> np.ndarray:
        parts = [d.ravel() for d in cross.diagonal] + [x.ravel() for x in cross.xy_z]
        parts.append(cross.xy_xy.ravel())
        return np.concatenate(parts)

    def _unflatten(
        self, flat: np.ndarray, off: dict, n_obs: int, sum_log_weights: float
    ) -> CrossProducts:
        arrays = [
            flat[start:stop].reshape(shape)
            for (start, stop), shape in zip(self._bounds, self._shapes, strict=True)
        ]
        n_blocks = len(self.blocks)
        return CrossProducts(
            diagonal=arrays[:n_blocks],
            off_diagonal=off,
            xy_z=arrays[n_blocks : 2 * n_blocks],
            xy_xy=arrays[-1],
            n_obs=n_obs,
            sum_log_weights=sum_log_weights,
        )

    def _cross_of(self, positions: np.ndarray, source: np.ndarray | None = None) -> CrossProducts:
        """Cross-products of the weighted rows: values from the rows ``source``
        (default ``positions``), random-effects codes from the rows ``positions``."""
        source = positions if source is None else source
        root = self.layout.root_weights
        w = None if root is None else root[source][:, None]
        blocks = [
            BlockData(b.codes[positions], b.z[source] if w is None else b.z[source] * w, b.n_levels)
            for b in self.blocks
        ]
        xy = self.xy[source] if w is None else self.xy[source] * w
        return cross_products(blocks, xy)

    def _cross_of_difference(self, rows: np.ndarray, prev: np.ndarray) -> CrossProducts:
        root = self.layout.root_weights
        wr = 1.0 if root is None else root[rows][:, None]
        wp = 1.0 if root is None else root[prev][:, None]
        blocks = [
            BlockData(b.codes[rows], b.z[rows] * wr - b.z[prev] * wp, b.n_levels)
            for b in self.blocks
        ]
        return cross_products(blocks, self.xy[rows] * wr - self.xy[prev] * wp)

    # -------------------------------------------------------------- class path
    def _build_pieces(self) -> _Pieces:
        """The per-class cross-products (formed once; see the module notes)."""
        layout = self.layout
        n_obs = layout.n_obs
        strata = layout.strata if layout.strata is not None else np.zeros(n_obs, dtype=np.int64)
        is_first = np.ones(n_obs, dtype=bool)
        is_first[layout.rows] = False
        flats, offs, kinds = [], [], []

        def add(kind: tuple[str, int, int, int], cross: CrossProducts) -> None:
            flats.append(self._flatten(cross))
            offs.append(cross.off_diagonal)
            kinds.append(kind)

        first_rows = np.flatnonzero(is_first)
        for stratum in np.unique(strata[first_rows]):
            positions = first_rows[strata[first_rows] == stratum]
            add(("first", -1, int(stratum), -1), self._cross_of(positions))
        if len(layout.rows):
            n_strata = int(strata.max()) + 1
            key = (layout.lag_index * n_strata + strata[layout.rows]) * n_strata + strata[
                layout.prev
            ]
            for value in np.unique(key):
                members = np.flatnonzero(key == value)
                rows, prev = layout.rows[members], layout.prev[members]
                lag_class, rest = divmod(int(value), n_strata * n_strata)
                stratum, previous = divmod(rest, n_strata)
                add(("cur", lag_class, stratum, previous), self._cross_of(rows))
                add(("prev", lag_class, stratum, previous), self._cross_of(rows, prev))
                add(("diff", lag_class, stratum, previous), self._cross_of_difference(rows, prev))
        return _Pieces(np.vstack(flats), offs, kinds)

    def _coefficients(self, phi: float | None, ratio_array: np.ndarray) -> np.ndarray:
        """The coefficient of each piece (plain floats: a few pieces, each a few flops)."""
        layout = self.layout
        ratios = ratio_array.tolist()
        rho = layout.rho(phi).tolist()
        coefficients = []
        for kind, lag_class, stratum, previous in self._pieces.kinds:
            if kind == "first":
                coefficients.append(1.0 / (ratios[stratum] * ratios[stratum]))
                continue
            inv_root = 1.0 / math.sqrt(1.0 - rho[lag_class] * rho[lag_class])
            alpha = inv_root / ratios[stratum]
            beta = rho[lag_class] * inv_root / ratios[previous]
            if kind == "cur":
                coefficients.append(alpha * alpha - alpha * beta)
            elif kind == "prev":
                coefficients.append(beta * beta - alpha * beta)
            else:
                coefficients.append(alpha * beta)
        return np.array(coefficients)

    # -------------------------------------------------------------- public
    def cross_products(self, eta: np.ndarray) -> CrossProducts:
        """Cross-products of the whitened ``[Z X y]`` at ``eta``.

        Their ``sum_log_weights`` is ``-log|Lambda|``: the whitening's Jacobian
        takes the place of the prior weights' (``W = Lambda^{-1}`` for a
        diagonal ``Lambda``), so the one criterion on these cross-products is
        the structured model's ``-2 log L``.
        """
        if self._pieces is None:
            return self._cross_from_rows(eta)
        return self.cross_products_at(*self.layout.split(eta))

    def cross_products_at(self, phi: float | None, ratios: np.ndarray) -> CrossProducts:
        """:meth:`cross_products` from ``Phi`` and the ratios (class path)."""
        if self._pieces is None:
            raise RuntimeError("cross_products_at needs the class path")
        coefficients = self._coefficients(phi, ratios)
        flat = coefficients @ self._pieces.dense
        off: dict[tuple[int, int], sp.csr_matrix] = {}
        if self._pieces.off[0]:  # several random-effects blocks
            for c, piece in zip(coefficients.tolist(), self._pieces.off, strict=True):
                for key, matrix in piece.items():
                    off[key] = off[key] + c * matrix if key in off else c * matrix
            off = {key: sp.csr_matrix(value) for key, value in off.items()}
        return self._unflatten(flat, off, self.layout.n_obs, -self.layout.log_det_at(phi, ratios))

    def _cross_from_rows(self, eta: np.ndarray) -> CrossProducts:
        layout = self.layout
        blocks = [BlockData(b.codes, layout.whiten(b.z, eta), b.n_levels) for b in self.blocks]
        cross = cross_products(blocks, layout.whiten(self.xy, eta))
        return dataclasses.replace(cross, sum_log_weights=-layout.log_det(eta))

    def log_det(self, eta: np.ndarray) -> float:
        return self.layout.log_det(eta)
