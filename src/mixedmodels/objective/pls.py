"""Penalised least squares with a blocked Cholesky factor, and the profiled criterion.

For a relative covariance parameter ``theta`` the engine factors

.. math::

    \\begin{bmatrix} \\Lambda' Z' W Z \\Lambda + I & \\Lambda' Z' W X & \\Lambda' Z' W y \\\\
    X' W Z \\Lambda & X' W X & X' W y \\\\ y' W Z \\Lambda & y' W X & y' W y \\end{bmatrix}
    = L L'

block by block (Bates et al. 2015, JSS 67(1); MixedModels.jl). One evaluation
is ``set_theta -> update_L -> objective``.

Three factorisations share this interface; :func:`select_factor` picks one
per model, once:

``single`` (:class:`~mixedmodels.objective.single.SingleBlockFactor`)
    One grouping factor. Closed-form batched ``p x p`` algebra over levels.
``eliminated`` (:class:`~mixedmodels.objective.schur.EliminatedFactor`)
    Several factors whose later blocks fill in (crossed designs), or whose
    remaining system is small: the first block is eliminated in closed form,
    the rest assembled by one sparse mat-vec and factored by one ``dpotrf``.
``blocked`` (:class:`~mixedmodels.objective.blocked.BlockedFactor`)
    The general block-by-block factor, for nested designs too large for the
    dense remainder.

Where the time goes (per evaluation, one BLAS thread, this 2-core machine)
--------------------------------------------------------------------------
Measured with cProfile, then ``timeit`` of ``model.objective(theta)`` at
lme4's optimum, on the code before this module was split into paths
(commit 2ece257) and after:

=================  ==========  =========  ======================================
case               before      after      where the time went / goes
=================  ==========  =========  ======================================
Dyestuff           109 us      31 us      generic block loop, ``einsum`` path
                                          search, scipy wrappers -> ~12 numpy
                                          calls on length-6 arrays
sleepstudy slopes  244 us      52 us      same; now ~25 ufunc calls (closed-form
                                          2 x 2 Cholesky over 18 levels) and a
                                          1 us ``dpotrf`` of ``[X y]``'s 3 x 3
                                          Schur complement
Penicillin         310-430 us  62 us      sparse products with a symbolic phase
                                          per call -> one mat-vec and an 8 x 8
                                          ``dpotrf``
InstEval           40-44 ms    17.5 ms    before: dense Cholesky of the 1128
                                          block (13 ms), the fill by pair-list
                                          ``bincount`` (6 ms, no faster than
                                          scipy's product), sparse/dense block
                                          products, ``np.tril`` copies (20 ms).
                                          After: ``dpotrf`` of order 1145
                                          (13.5 ms, 77 %), the mat-vec over
                                          1.16 M products (4 ms)
=================  ==========  =========  ======================================

For the small models, the remaining per-evaluation cost is numpy's call
overhead (~1 us per call). A JIT (numba) would remove most of it but adds
its import and compile time (tenths of a second, or a disk cache) to the first
fit in a process, while the evaluations are already a small part of a small fit:
of sleepstudy's 10-13 ms, the formula-to-design step takes 5-7 ms and the 28
evaluations 1.5 ms. So no JIT is used. InstEval is bound by
the dense factor: the lecturer block fills in to 98 % and ``dpotrf`` runs near
the core's peak (~37 GFLOP/s); multithreaded BLAS was measured slower on this
shared machine.

Notation
--------
===========  ===============================================================
symbol       meaning
===========  ===============================================================
``K``        number of random-effect blocks (grouping factors)
``k``        number of fixed-effect columns
``L_jj``     diagonal block of ``L`` for block ``j`` (``blockdiag`` or dense)
``L_ij``     block below the diagonal, ``i > j`` (sparse or dense)
``L_xy,j``   rows of ``L`` for ``[X y]`` against block ``j``, ``(k+1) x q_j``
``L_X``      ``k x k`` lower factor of the fixed-effects Schur complement
``r^2``      penalised weighted residual sum of squares (``pwrss``)
``n``        number of observations
===========  ===============================================================

The criterion, with ``log|L_Z|^2 = 2 sum log diag L_jj``:

* ML deviance: ``log|L_Z|^2 + n (1 + log(2 pi r^2 / n)) - sum log w``
* REML criterion: ``log|L_Z|^2 + log|L_X|^2 + (n - k)(1 + log(2 pi r^2 / (n - k)))
  - sum log w``
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf as _dpotrf

from ..design.crossprod import CrossProducts
from ..design.terms import RandomEffectsBlock
from ..linalg.blocks import as_dense, blockdiag_to_dense
from .blocked import BlockedFactor, analyse_structure
from .schur import EliminatedFactor, eliminated_pair_count, first_block_rows
from .single import SingleBlockFactor

__all__ = ["PLSState", "select_factor"]

#: Remaining systems up to this order are factored densely even when nested.
SMALL_DENSE = 600
#: Largest dense remainder (order ``m``) the eliminated path accepts.
MAX_DENSE = 10_000
#: Largest number of stored products (bound) for the eliminated path's operator.
MAX_PAIRS = 200_000_000

_LOG_2PI = float(np.log(2.0 * np.pi))


def select_factor(
    blocks: list[RandomEffectsBlock], cross: CrossProducts, path: str | None = None
) -> SingleBlockFactor | EliminatedFactor | BlockedFactor:
    """Choose the factorisation for a model (see the module notes).

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
    cross : CrossProducts
    path : {"single", "eliminated", "blocked"}, optional
        Force a path (for tests and benchmarks); ``"single"`` needs one block.
    """
    if path == "blocked":
        return BlockedFactor(blocks, cross)
    if len(blocks) == 1 and path in (None, "single"):
        return SingleBlockFactor(cross)
    if path == "single":
        raise ValueError("the single-block path needs exactly one random-effects block")
    if path == "eliminated":
        return EliminatedFactor(blocks, cross)
    m = sum(block.n_random for block in blocks[1:]) + cross.xy_xy.shape[0]
    if m <= MAX_DENSE:
        first = first_block_rows(blocks, cross)
        if eliminated_pair_count(first, blocks[0].n_columns) <= MAX_PAIRS:
            if m <= SMALL_DENSE:
                return EliminatedFactor(blocks, cross, first)
            structure = analyse_structure(blocks, cross)
            if all(kind == "dense" for kind in structure[0][1:]):
                return EliminatedFactor(blocks, cross, first)
            return BlockedFactor(blocks, cross, structure)
    return BlockedFactor(blocks, cross)


class PLSState:
    """Factor of the PLS system for one model, and the criterion.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
        Engine blocks, most levels first.
    cross : CrossProducts
        Cross-product blocks formed once from the data.
    reml : bool
        Whether :meth:`objective` is the REML criterion (else the ML deviance).
    path : str, optional
        Force a factorisation path (see :func:`select_factor`).

    Attributes
    ----------
    engine : SingleBlockFactor, EliminatedFactor or BlockedFactor
    L_X, c_X, pwrss
        Fixed-effects factor, its right-hand side and ``r^2`` at the last
        :meth:`update_L`.
    L_diag, L_inv_blocks, L_off, L_xy
        The blocked factor (see the module notes), built on first access after
        each :meth:`update_L`; the criterion itself never needs them.
    """

    def __init__(
        self,
        blocks: list[RandomEffectsBlock],
        cross: CrossProducts,
        reml: bool,
        path: str | None = None,
    ) -> None:
        self.blocks = blocks
        self.cross = cross
        self.reml = reml
        self.n_fixed = cross.xy_xy.shape[0] - 1
        self.n_obs = cross.n_obs
        self.theta: np.ndarray | None = None
        self.engine = select_factor(blocks, cross, path)
        self._blocks: dict | None = None
        self._logdet_random = 0.0
        self._key: bytes | None = None
        self._value = math.nan

    # ------------------------------------------------------------------ evaluation
    def set_theta(self, theta: np.ndarray) -> None:
        """Install ``theta`` and build each block's ``T``."""
        self._key = None
        self.theta = theta = np.asarray(theta, dtype=float)
        self.factors = [block.lambda_factor(theta) for block in self.blocks]

    def update_L(self) -> None:
        """Numeric factorisation at the installed ``theta``."""
        if self.theta is None:
            raise RuntimeError("set_theta must be called before update_L")
        engine = self.engine
        engine.update(self.factors)
        self._blocks = None
        self._logdet_random = engine.logdet
        if engine.kind == "eliminated":
            self.L_X, self.c_X, self.pwrss = engine.L_X, engine.c_X, engine.pwrss
        else:
            self._fixed_part(engine.schur)

    def _fixed_part(self, schur: np.ndarray) -> None:
        """``L_X``, ``c_X`` and ``r^2`` from ``[X y]``'s Schur complement."""
        k = self.n_fixed
        full, info = _dpotrf(schur, lower=1)  # 1 us; numpy's cholesky costs 5 us here
        if info == 0:
            self.L_X = full[:k, :k]
            self.c_X = full[k, :k]
            self.pwrss = float(full[k, k] ** 2)
            return
        if k > 0:
            self.L_X = scipy.linalg.cholesky(schur[:k, :k], lower=True, check_finite=False)
            self.c_X = scipy.linalg.solve_triangular(
                self.L_X, schur[:k, k], lower=True, check_finite=False
            )
        else:
            self.L_X = np.zeros((0, 0))
            self.c_X = np.zeros(0)
        self.pwrss = max(float(schur[k, k] - self.c_X @ self.c_X), 0.0)

    # ------------------------------------------------------------------ blocked factor
    def _blocked(self) -> dict:
        if self._blocks is None:
            if self.theta is None:
                raise RuntimeError("set_theta and update_L must be called first")
            self._blocks = self.engine.blocks_of_L(self.factors)
        return self._blocks

    @property
    def L_diag(self) -> list[np.ndarray]:
        """Diagonal blocks of ``L_Z``: ``(l, p, p)`` block diagonal or 2-D dense."""
        return self._blocked()["L_diag"]

    @property
    def L_inv_blocks(self) -> list[np.ndarray | None]:
        """Inverses of the block-diagonal ``L_jj`` (``None`` for dense blocks)."""
        return self._blocked()["L_inv_blocks"]

    @property
    def L_off(self) -> dict[tuple[int, int], np.ndarray | sp.spmatrix]:
        """Blocks ``L_ij`` below the diagonal."""
        return self._blocked()["L_off"]

    @property
    def L_xy(self) -> list[np.ndarray]:
        """Rows of ``L`` for ``[X y]``, one ``(k + 1) x q_j`` block per random block."""
        return self._blocked()["L_xy"]

    # ------------------------------------------------------------------ criterion
    def logdet_random(self) -> float:
        """``log |L_Z|^2``: twice the sum of the logs of the diagonal of the RE part of L."""
        return self._logdet_random

    def logdet_fixed(self) -> float:
        """``log |L_X|^2``."""
        if not self.n_fixed:
            return 0.0
        return 2.0 * math.fsum(map(math.log, np.diagonal(self.L_X).tolist()))

    def objective(self) -> float:
        """REML criterion or ML deviance (``-2 log L``) at the installed ``theta``."""
        n = self.n_obs
        pwrss = self.pwrss
        dof = n - self.n_fixed if self.reml else n
        if pwrss > 0.0:
            log_term = math.log(pwrss / dof)
        else:
            log_term = -math.inf if pwrss == 0.0 else math.nan
        value = self._logdet_random + dof * (1.0 + _LOG_2PI + log_term)
        if self.reml:
            value += self.logdet_fixed()
        return float(value - self.cross.sum_log_weights)

    def evaluate(self, theta: np.ndarray) -> float:
        """``set_theta -> update_L -> objective``.

        Re-evaluating the installed ``theta`` returns the stored value (the
        fit, the results and the inference code each ask for the optimum).
        """
        theta = np.asarray(theta, dtype=float)
        key = theta.tobytes()
        if key == self._key:
            return self._value
        self.set_theta(theta)
        self.update_L()
        self._value = value = self.objective()
        self._key = key
        return value

    # ------------------------------------------------------------------ solutions
    def sigma2(self) -> float:
        """Residual variance estimate at the installed ``theta``."""
        dof = self.n_obs - self.n_fixed if self.reml else self.n_obs
        return self.pwrss / dof

    def beta(self) -> np.ndarray:
        """Fixed effects: ``L_X' beta = c_X``."""
        if self.n_fixed == 0:
            return np.zeros(0)
        return scipy.linalg.solve_triangular(self.L_X, self.c_X, lower=True, trans="T")

    def spherical_modes(self) -> list[np.ndarray]:
        """Spherical random effects ``u`` per block (back-substitution through ``L'``)."""
        beta = self.beta()
        k = self.n_fixed
        modes: list[np.ndarray | None] = [None] * len(self.blocks)
        for j in reversed(range(len(self.blocks))):
            rhs = self.L_xy[j][k, :] - self.L_xy[j][:k, :].T @ beta
            for i in range(j + 1, len(self.blocks)):
                off = self.L_off.get((i, j))
                if off is not None:
                    rhs = rhs - off.T @ modes[i]
            factor = self.L_diag[j]
            if factor.ndim == 3:
                levels, p, _ = factor.shape
                inverse = self.L_inv_blocks[j]
                # u_l = L_l^{-T} rhs_l
                modes[j] = np.einsum("lji,lj->li", inverse, rhs.reshape(levels, p)).ravel()
            else:
                modes[j] = scipy.linalg.solve_triangular(factor, rhs, lower=True, trans="T")
        return modes  # type: ignore[return-value]

    def conditional_modes(self) -> list[np.ndarray]:
        """Random effects ``b = Lambda u`` per block, shaped ``(l_b, p_b)``."""
        result = []
        for block, factor, modes in zip(
            self.blocks, self.factors, self.spherical_modes(), strict=True
        ):
            result.append(modes.reshape(block.n_levels, block.n_columns) @ factor.T)
        return result

    def fixed_covariance_unscaled(self) -> np.ndarray:
        """``(L_X L_X')^{-1}``; times ``sigma2`` it is the covariance of beta."""
        if self.n_fixed == 0:
            return np.zeros((0, 0))
        inverse = scipy.linalg.solve_triangular(self.L_X, np.eye(self.n_fixed), lower=True)
        return inverse.T @ inverse

    def random_lower_dense(self) -> np.ndarray:
        """The random-effects part ``L_Z`` of ``L`` as one dense matrix (for small ``q``)."""
        sizes = [block.n_random for block in self.blocks]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        dense = np.zeros((offsets[-1], offsets[-1]))
        for j, factor in enumerate(self.L_diag):
            piece = blockdiag_to_dense(factor) if factor.ndim == 3 else factor
            dense[offsets[j] : offsets[j + 1], offsets[j] : offsets[j + 1]] = piece
            for i in range(j + 1, len(self.blocks)):
                off = self.L_off.get((i, j))
                if off is not None:
                    dense[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = as_dense(off)
        return dense
