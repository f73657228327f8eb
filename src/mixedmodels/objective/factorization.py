"""The interface shared by the three factorisations of the PLS system.

:class:`Factorization` is what :class:`~mixedmodels.objective.pls.PLSState`
calls: ``update(factors)`` factors the system at the blocks' ``T``, after which
:attr:`~Factorization.logdet` and :meth:`~Factorization.fixed_factor` give the
parts of the criterion, and :meth:`~Factorization.blocks_of_L` the blocked
factor for solutions. The implementations are
:class:`~mixedmodels.objective.single.SingleBlockFactor`,
:class:`~mixedmodels.objective.schur.EliminatedFactor` and
:class:`~mixedmodels.objective.blocked.BlockedFactor`.

``schur`` below is ``[X y]``'s Schur complement ``S``, ``(k+1) x (k+1)``, whose
lower factor is ``[L_X 0; c_X' r]`` with ``r^2`` the penalised residual sum of
squares.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import TypedDict

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf as _dpotrf

from ..linalg.blocks import LowerBlock

__all__ = ["BlocksOfL", "Factorization", "fixed_from_schur"]


class BlocksOfL(TypedDict):
    """The blocked factor: diagonal blocks, blocks below them, and ``[X y]``'s rows."""

    L_diag: list[LowerBlock]
    L_off: dict[tuple[int, int], np.ndarray | sp.spmatrix]
    L_xy: list[np.ndarray]


def fixed_from_schur(schur: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``L_X``, ``c_X`` and ``r^2`` from ``[X y]``'s Schur complement."""
    full, info = _dpotrf(schur, lower=1)  # 1 us; numpy's cholesky costs 5 us here
    if info == 0:
        return full[:k, :k], full[k, :k], float(full[k, k] ** 2)
    # An exact fit (r = 0) or a round-off pivot: factor X's part alone.
    if k > 0:
        L_X = scipy.linalg.cholesky(schur[:k, :k], lower=True, check_finite=False)
        c_X = scipy.linalg.solve_triangular(L_X, schur[:k, k], lower=True, check_finite=False)
    else:
        L_X, c_X = np.zeros((0, 0)), np.zeros(0)
    return L_X, c_X, max(float(schur[k, k] - c_X @ c_X), 0.0)


class Factorization(ABC):
    """One way of factoring the PLS system (see the module notes).

    Attributes
    ----------
    kind : str
        A label for reports and tests (``"single"``, ``"eliminated"``,
        ``"blocked"``); nothing dispatches on it.
    logdet : float
        ``log|L_Z|^2`` at the last :meth:`update`.
    logdet_fixed : float or None
        ``log|L_X|^2`` at the last :meth:`update` when the factorisation has it
        at no extra cost, else None (the state takes it from ``L_X``).
    """

    kind: str = ""
    logdet: float = 0.0
    logdet_fixed: float | None = None
    k: int
    schur: np.ndarray

    @abstractmethod
    def update(self, factors: list[np.ndarray]) -> None:
        """Factor the system at the blocks' relative covariance factors ``T``."""

    @abstractmethod
    def blocks_of_L(self, factors: list[np.ndarray]) -> BlocksOfL:
        """The blocked factor at the last :meth:`update` (for solutions)."""

    def fixed_factor(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(L_X, c_X, r^2)`` at the last :meth:`update` (:func:`fixed_from_schur`)."""
        # The usual case inline: this runs once per evaluation of the criterion.
        full, info = _dpotrf(self.schur, lower=1)
        if info == 0:
            k = self.k
            return full[:k, :k], full[k, :k], float(full[k, k] ** 2)
        return fixed_from_schur(self.schur, self.k)

    def fork(self) -> Factorization:
        """An independent copy: it shares the constant precomputed structure but
        no buffer that :meth:`update` writes, so updating one leaves the other's
        last factor intact."""
        return copy.copy(self)
