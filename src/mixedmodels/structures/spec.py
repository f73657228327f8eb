"""Public residual structures: :class:`AR1`, :class:`CAR1` and :class:`VarIdent`.

Each is a small immutable description (which columns, which parametrisation);
the rows are handled in :mod:`mixedmodels.structures.whiten`. The residual
covariance of the rows of one correlation group ``i`` is

.. math::

    \\operatorname{cov}(e_i) = \\sigma^2 \\Lambda_i, \\qquad
    \\Lambda_i = S_i R_i S_i ,

with ``S_i`` diagonal (the variance structure, and ``1 / sqrt(w)`` for prior
weights) and ``R_i`` the correlation matrix, as nlme's ``corStruct`` and
``varFunc`` combine.

Notation
--------
=============  ===============================================================
symbol         meaning
=============  ===============================================================
``Phi``        AR(1)/CAR(1) parameter: ``cor(e_s, e_t) = Phi ** |lag(s, t)|``
``lag``        AR1: positions (or integer time differences); CAR1: time
``ratio_s``    residual SD of variance stratum ``s`` over that of the reference
``eta``        unconstrained parameters the optimiser works on:
               ``atanh(Phi)`` (AR1), ``logit(Phi)`` (CAR1), ``log(ratio_s)``
=============  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ArgumentError, ArgumentTypeError

__all__ = ["AR1", "CAR1", "CorrelationStructure", "VarIdent"]


def _column_name(value: object, argument: str, structure: str, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ArgumentTypeError(
            f"{structure}({argument}=...) must be a column name (a non-empty str), got {value!r}"
        )
    return value


class CorrelationStructure:
    """Base of the serial correlation structures (one parameter, ``Phi``)."""

    group: str | None
    kind: str = ""

    @property
    def parameter_names(self) -> list[str]:
        return ["Phi"]

    def phi(self, eta: float) -> float:
        """``Phi`` from the unconstrained parameter."""
        raise NotImplementedError

    def eta(self, phi: float) -> float:
        """The unconstrained parameter of ``Phi``."""
        raise NotImplementedError

    def start_eta(self) -> float:
        return self.eta(self.start_phi)

    start_phi: float = 0.0


@dataclass(frozen=True)
class AR1(CorrelationStructure):
    """AR(1) residual correlation within groups: ``cor = Phi ** lag`` (nlme's ``corAR1``).

    Parameters
    ----------
    group : str, optional
        Column whose levels are the correlation groups. It must be nested in
        every random-effects grouping factor (each group inside one level).
        Default: the model's grouping factor when there is exactly one.
    order : str, optional
        Numeric column giving the order of the rows within a group; the lag
        between two rows is their distance in that order. Default: row order.
    time : str, optional
        Integer-valued column; the lag is the difference of the times, as in
        nlme's ``corAR1(form = ~ time | group)`` (gaps are allowed). For
        non-integer times use :class:`CAR1`.

    Notes
    -----
    ``Phi`` is in ``(-1, 1)``; ties of ``order``/``time`` within a group are an
    error naming the group.
    """

    group: str | None = None
    order: str | None = None
    time: str | None = None
    kind = "AR1"
    start_phi = 0.0

    def __post_init__(self) -> None:
        _column_name(self.group, "group", "AR1", optional=True)
        _column_name(self.order, "order", "AR1", optional=True)
        _column_name(self.time, "time", "AR1", optional=True)
        if self.order is not None and self.time is not None:
            raise ArgumentError(
                "AR1 takes order= (lags are positions in that order) or time= (lags are "
                "integer time differences), not both"
            )

    @property
    def time_column(self) -> str | None:
        return self.time if self.time is not None else self.order

    def phi(self, eta: float) -> float:
        return float(np.tanh(eta))

    def eta(self, phi: float) -> float:
        return float(np.arctanh(phi))

    def describe(self) -> str:
        within = self.group or "group"
        if self.time is not None:
            return f"AR(1) within {within}, lag = difference of {self.time}"
        if self.order is not None:
            return f"AR(1) within {within}, in order of {self.order}"
        return f"AR(1) within {within}, in row order"


@dataclass(frozen=True)
class CAR1(CorrelationStructure):
    """Continuous-time AR(1): ``cor = Phi ** |t_s - t_t|`` (nlme's ``corCAR1``).

    Parameters
    ----------
    time : str
        Numeric column of observation times (irregular spacing allowed).
    group : str, optional
        Column of the correlation groups (see :class:`AR1`).

    Notes
    -----
    ``Phi`` is in ``(0, 1)``. The inverse of this correlation matrix is
    tridiagonal in time order (the process is Markov), so it whitens like AR1
    with a lag per pair of consecutive rows.
    """

    time: str = ""
    group: str | None = None
    kind = "CAR1"
    start_phi = 0.2  # nlme's corCAR1 default value

    def __post_init__(self) -> None:
        _column_name(self.time, "time", "CAR1", optional=False)
        _column_name(self.group, "group", "CAR1", optional=True)

    @property
    def order(self) -> None:
        return None

    @property
    def time_column(self) -> str:
        return self.time

    def phi(self, eta: float) -> float:
        return float(1.0 / (1.0 + np.exp(-eta)))

    def eta(self, phi: float) -> float:
        return float(np.log(phi / (1.0 - phi)))

    def describe(self) -> str:
        return f"continuous AR(1) within {self.group or 'group'}, time {self.time}"


@dataclass(frozen=True)
class VarIdent:
    """Residual SD per level of a factor: ``sd_s = sigma * ratio_s`` (nlme's ``varIdent``).

    Parameters
    ----------
    by : str
        Column whose levels are the variance strata.
    reference : optional
        Level with ratio 1 (default: the first level: categorical order,
        else sorted, as nlme's first level).
    """

    by: str = ""
    reference: object = None

    def __post_init__(self) -> None:
        _column_name(self.by, "by", "VarIdent", optional=False)

    def describe(self) -> str:
        return f"VarIdent by {self.by}"
