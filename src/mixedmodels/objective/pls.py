"""Penalised least squares with a blocked Cholesky factor, and the profiled criterion.

For a relative covariance parameter ``theta`` the engine factors

.. math::

    \\begin{bmatrix} \\Lambda' Z' W Z \\Lambda + I & \\Lambda' Z' W X & \\Lambda' Z' W y \\\\
    X' W Z \\Lambda & X' W X & X' W y \\\\ y' W Z \\Lambda & y' W X & y' W y \\end{bmatrix}
    = L L'

block by block (Bates et al. 2015, JSS 67(1); MixedModels.jl). One evaluation
is ``set_theta -> update_L -> objective``.

Three factorisations implement
:class:`~mixedmodels.objective.factorization.Factorization`;
:func:`select_factor` picks one per model, once. The criterion itself is
written once, in :mod:`mixedmodels.objective.criterion`. Where the time goes
per evaluation is recorded in ``benchmarks/NOTES.md``.

``single`` (:class:`~mixedmodels.objective.single.SingleBlockFactor`)
    One grouping factor. Closed-form batched ``p x p`` algebra over levels.
``eliminated`` (:class:`~mixedmodels.objective.schur.EliminatedFactor`)
    Several factors whose later blocks fill in (crossed designs), or whose
    remaining system is small: the first block is eliminated in closed form,
    the rest assembled by one sparse mat-vec and factored by one ``dpotrf``.
``blocked`` (:class:`~mixedmodels.objective.blocked.BlockedFactor`)
    The general block-by-block factor, for nested designs too large for the
    dense remainder.

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
"""

from __future__ import annotations

import copy
import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import lapack

from ..design.crossprod import CrossProducts
from ..design.terms import RandomEffectsBlock
from ..linalg.blocks import DenseLower, LowerBlock, as_dense
from ..linalg.densepairs import dense_pairs_suit
from ..linalg.memory import fits_in_memory
from .blocked import BlockedFactor, analyse_structure
from .cost import eliminated_bytes, prefer_eliminated
from .criterion import criterion
from .factorization import BlocksOfL, Factorization
from .schur import (
    EliminatedFactor,
    eliminated_pair_count,
    first_block_rows,
    scale_group_count,
)
from .single import SingleBlockFactor

__all__ = ["KEEP_BEST_ORDER", "PLSState", "select_factor"]

#: Remaining systems up to this order are factored densely even when nested.
SMALL_DENSE = 600
#: Forced eliminated paths: the operator's form (None: by size).
_ELIMINATED_OPERATORS = {"eliminated": None, "eliminated_dense": True, "eliminated_sparse": False}


def select_factor(
    blocks: list[RandomEffectsBlock], cross: CrossProducts, path: str | None = None
) -> Factorization:
    """Choose the factorisation for a model (see the module notes).

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
    cross : CrossProducts
    path : {"single", "eliminated", "eliminated_dense", "eliminated_sparse", "blocked"}, optional
        Force a path (for tests and benchmarks); ``"single"`` needs one block.
        ``"eliminated"`` holds the Schur complement's operator densely when it
        is small (:func:`~mixedmodels.linalg.densepairs.dense_pairs_suit`);
        the two suffixes force one operator.
    """
    if path == "blocked":
        return BlockedFactor(blocks, cross)
    if len(blocks) == 1 and path in (None, "single"):
        return SingleBlockFactor(cross)
    if path == "single":
        raise ValueError("the single-block path needs exactly one random-effects block")
    if path in _ELIMINATED_OPERATORS:
        return EliminatedFactor(blocks, cross, dense=_ELIMINATED_OPERATORS[path])
    m = sum(block.n_random for block in blocks[1:]) + cross.xy_xy.shape[0]
    if dense_pairs_suit(blocks[0].n_levels, blocks[0].n_columns, m, scale_group_count(blocks)):
        # Small: the eliminated path with its operator held densely costs less to
        # build than either sparse structure (and its memory is a few hundred KiB).
        return EliminatedFactor(blocks, cross, dense=True)
    first = first_block_rows(blocks, cross)
    pairs = eliminated_pair_count(first, blocks[0].n_columns)
    if m <= SMALL_DENSE and fits_in_memory(eliminated_bytes(pairs, m)):
        return EliminatedFactor(blocks, cross, first)
    structure = analyse_structure(blocks, cross)
    if all(kind is DenseLower for kind in structure[0][1:]):
        dense = {j: blocks[j].n_random for j, kind in enumerate(structure[0]) if kind is DenseLower}
        if prefer_eliminated(pairs, m, dense, cross.off_diagonal):
            return EliminatedFactor(blocks, cross, first)
    return BlockedFactor(blocks, cross, structure)


def _triangular_solve(factor: np.ndarray, rhs: np.ndarray, transpose: bool) -> np.ndarray:
    """``L x = rhs`` (or ``L' x = rhs``) for lower-triangular ``L``.

    LAPACK's ``dtrtrs`` directly: ``scipy.linalg.solve_triangular``'s argument
    handling cost 20-50 us per call, and the results take two per fit. A
    singular or non-finite system goes to scipy, for its error.
    """
    solution, info = lapack.dtrtrs(factor, rhs, lower=1, trans=int(transpose))
    if info != 0 or not np.isfinite(solution).all():
        trans = "T" if transpose else "N"
        return scipy.linalg.solve_triangular(factor, rhs, lower=True, trans=trans)
    return solution



#: Order of a dense Schur complement from which an evaluation is costly enough for the
#: fit to keep its best factor (``PLSState.keep_best``): its dense Cholesky takes ~0.07 s
#: on one core, more than copying the factor aside at each new best point.
KEEP_BEST_ORDER = 2000


class PLSState:
    """Factor of the PLS system for one model, and the criterion at it.

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
    engine : Factorization
    L_X, c_X, pwrss
        Fixed-effects factor, its right-hand side and ``r^2`` at the last
        :meth:`update_L`.
    L_diag, L_off, L_xy
        The blocked factor (see the module notes), built on first access after
        each :meth:`update_L`; the criterion itself never needs them.

    Notes
    -----
    A state is mutable (each evaluation overwrites it). Code that evaluates at
    other ``theta`` than its owner's -- profiles, Hessians, results -- works on
    its own :meth:`fork`, so it never moves anyone else's state.
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
        self.engine: Factorization = select_factor(blocks, cross, path)
        self._blocks: BlocksOfL | None = None
        self._logdet_random = 0.0
        self._logdet_fixed: float | None = None
        self._key: bytes | None = None
        self._value = math.nan
        self._best: PLSState | None = None

    def fork(self, reml: bool | None = None) -> PLSState:
        """An independent state at the same ``theta``, sharing the constant structure.

        Parameters
        ----------
        reml : bool, optional
            Criterion of the copy (default: this state's). The factorisation
            does not depend on it, so an ML copy of a REML state (for
            profiles) costs no set-up.
        """
        self._best = None  # its buffers could be handed on while the copy reads them
        new = copy.copy(self)
        new.keep_best = False
        new.engine = self.engine.fork()
        if reml is not None and reml != self.reml:
            new.reml = bool(reml)
            new._key = None  # the stored value was the other criterion
        return new

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
        self._logdet_fixed = engine.logdet_fixed
        self.L_X, self.c_X, self.pwrss = engine.fixed_factor()

    # ------------------------------------------------------------------ blocked factor
    def _blocked(self) -> BlocksOfL:
        if self._blocks is None:
            if self.theta is None:
                raise RuntimeError("set_theta and update_L must be called first")
            self._blocks = self.engine.blocks_of_L(self.factors)
        return self._blocks

    @property
    def L_diag(self) -> list[LowerBlock]:
        """Diagonal blocks of ``L_Z`` (block-diagonal or dense lower factors)."""
        return self._blocked()["L_diag"]

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
        """``log |L_X|^2`` (the engine's, when it gave it with the factor)."""
        if self._logdet_fixed is not None:
            return self._logdet_fixed
        if not self.n_fixed:
            return 0.0
        return 2.0 * math.fsum(map(math.log, self.L_X.diagonal().tolist()))

    def logdet(self) -> float:
        """The criterion's log-determinant: ``log|L_Z|^2`` (ML), plus ``log|L_X|^2`` (REML)."""
        if self.reml:
            return self._logdet_random + self.logdet_fixed()
        return self._logdet_random

    def dof(self) -> int:
        """``n - k`` (REML) or ``n`` (ML)."""
        return self.n_obs - self.n_fixed if self.reml else self.n_obs

    def objective(self, sigma: float | None = None, pwrss: float | None = None) -> float:
        """REML criterion or ML deviance (``-2 log L``) at the installed ``theta``.

        Parameters
        ----------
        sigma : float, optional
            Fixed residual standard deviation (profiled out when omitted).
        pwrss : float, optional
            Replaces ``r^2`` (a constrained problem's residual sum of squares,
            as when a fixed effect is profiled).

        See :func:`mixedmodels.objective.criterion.criterion`.
        """
        logdet = self._logdet_random
        if self.reml:
            logdet += self.logdet_fixed()
        if pwrss is None:
            pwrss = self.pwrss
        dof = self.n_obs - self.n_fixed if self.reml else self.n_obs
        return criterion(logdet, pwrss, dof, self.cross.sum_log_weights, sigma)

    def evaluate(self, theta: np.ndarray, sigma: float | None = None) -> float:
        """``set_theta -> update_L -> objective``.

        Re-evaluating the installed ``theta`` reuses the factor (the fit, the
        results and the inference code each ask for the optimum).
        """
        theta = np.asarray(theta, dtype=float)
        key = theta.tobytes()
        if key != self._key:
            if self._best is not None and self._best._key == key:
                self._restore_best()
            else:
                self.set_theta(theta)
                self.update_L()
                self._value = self.objective()
                self._key = key
                if self.keep_best:
                    self._remember_if_best()
        if sigma is None:
            return self._value
        return self.objective(sigma)

    # ------------------------------------------------------------------ the best point
    #: Keep the lowest evaluation's factor aside (set by the fit when an evaluation is
    #: costly, :data:`KEEP_BEST_ORDER`): the fit ends by asking for its best point, which
    #: is often not the optimiser's last, and would otherwise factor it again. Costs one
    #: more dense buffer.
    keep_best: bool = False

    def _remember_if_best(self) -> None:
        best = self._best
        detach = getattr(self.engine, "detach", None)
        if detach is None or (best is not None and not self._value < best._value):
            return
        snapshot = copy.copy(self)
        snapshot._best = None
        # The snapshot holds this evaluation's buffers; the next one writes into the
        # previous snapshot's (no longer needed) or new ones.
        snapshot.engine = detach(None if best is None else best.engine)
        self._best = snapshot

    def _restore_best(self) -> None:
        best, spare = self._best, self.engine
        self.__dict__.update(best.__dict__)
        best.engine = self.engine.detach(spare)
        self._best = best

    def forget_best(self) -> None:
        """Stop keeping the best evaluation and free its buffers."""
        self.keep_best = False
        self._best = None

    # ------------------------------------------------------------------ solutions
    def sigma2(self) -> float:
        """Residual variance estimate at the installed ``theta``."""
        return self.pwrss / self.dof()

    def beta(self) -> np.ndarray:
        """Fixed effects: ``L_X' beta = c_X``."""
        if self.n_fixed == 0:
            return np.zeros(0)
        return _triangular_solve(self.L_X, self.c_X, transpose=True)

    def spherical_modes(self, beta: np.ndarray | None = None) -> list[np.ndarray]:
        """Spherical random effects ``u`` per block (back-substitution through ``L'``).

        ``beta`` (default: the GLS estimate) gives the modes at other fixed
        effects (statsmodels' ``random_effects`` of a penalised fit).
        """
        beta = self.beta() if beta is None else np.asarray(beta, dtype=float)
        k = self.n_fixed
        modes: list[np.ndarray | None] = [None] * len(self.blocks)
        for j in reversed(range(len(self.blocks))):
            rhs = self.L_xy[j][k, :] - self.L_xy[j][:k, :].T @ beta
            for i in range(j + 1, len(self.blocks)):
                off = self.L_off.get((i, j))
                if off is not None:
                    rhs = rhs - off.T @ modes[i]
            modes[j] = self.L_diag[j].solve_transpose(rhs)
        return modes  # type: ignore[return-value]

    def conditional_modes(self, beta: np.ndarray | None = None) -> list[np.ndarray]:
        """Random effects ``b = Lambda u`` per block, shaped ``(l_b, p_b)`` (at ``beta``)."""
        result = []
        for block, factor, modes in zip(
            self.blocks, self.factors, self.spherical_modes(beta), strict=True
        ):
            result.append(modes.reshape(block.n_levels, block.n_columns) @ factor.T)
        return result

    def fixed_covariance_unscaled(self) -> np.ndarray:
        """``(L_X L_X')^{-1}``; times ``sigma2`` it is the covariance of beta."""
        if self.n_fixed == 0:
            return np.zeros((0, 0))
        inverse = _triangular_solve(self.L_X, np.eye(self.n_fixed), transpose=False)
        return inverse.T @ inverse

    def random_lower_dense(self) -> np.ndarray:
        """The random-effects part ``L_Z`` of ``L`` as one dense matrix (for small ``q``)."""
        sizes = [block.n_random for block in self.blocks]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        dense = np.zeros((offsets[-1], offsets[-1]))
        for j, diagonal in enumerate(self.L_diag):
            dense[offsets[j] : offsets[j + 1], offsets[j] : offsets[j + 1]] = diagonal.to_dense()
            for i in range(j + 1, len(self.blocks)):
                off = self.L_off.get((i, j))
                if off is not None:
                    dense[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = as_dense(off)
        return dense
