"""``MixedLM.loglike``, ``score``, ``hessian`` and ``fit_regularized`` on the one criterion.

============  ==============================================================
symbol        meaning
============  ==============================================================
``theta``     engine's relative covariance factor (Cholesky factor of
              ``cov_re/scale``, square roots of ``vcomp/scale``)
``f(theta)``  engine criterion, ``-2 log L`` with ``beta`` and ``scale``
              profiled out (REML or ML, as the last fit)
``R_X``       fixed-effects factor: ``X'V^{-1}X = R_X R_X' / scale``
============  ==============================================================

With ``beta`` given (statsmodels' ``profile_fe=False``), ``-2 log L`` is the
criterion with ``P + |R_X'(beta - beta_hat)|^2`` as the penalised residual sum
of squares (``P`` its value at ``beta_hat``; ``scale`` still profiled out).
``score`` and ``hessian`` are central differences (:mod:`mixedmodels.optim.hessian`)
in statsmodels' packed parameterisations; ``tests/regression/test_likelihood.py``
checks them against statsmodels' analytic ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from statsmodels.base._penalties import Penalty
from statsmodels.regression.mixed_linear_model import MixedLMParams, MixedLMResultsWrapper

from ..errors import DataError
from ..optim.hessian import hessian, jacobian
from ..optim.penalized import l1_descent, smooth_penalty

if TYPE_CHECKING:
    from ._results import MixedLMResults

__all__ = ["LikelihoodMixin"]


class LikelihoodMixin:
    """The likelihood methods of :class:`MixedLM` (see the module notes)."""

    def _as_params(self, params: object, has_fe: bool | None = None) -> MixedLMParams:
        """``params`` as ``MixedLMParams`` (an array packed as statsmodels packs it;
        ``has_fe=None``: with the fixed effects when its length says so)."""
        if isinstance(params, MixedLMParams):
            return params
        packed = np.asarray(params, dtype=float).ravel()
        n_variance = self.k_re2 + self.k_vc
        if has_fe is None:
            has_fe = len(packed) == self.k_fe + n_variance
        if len(packed) != n_variance + (self.k_fe if has_fe else 0):
            raise DataError(
                f"params has {len(packed)} entries; expected {self.k_fe + n_variance} (with "
                f"fixed effects) or {n_variance} (variance parameters only)"
            )
        return MixedLMParams.from_packed(packed, self.k_fe, self.k_re, self.use_sqrt, has_fe)

    def loglike(self, params: MixedLMParams | np.ndarray, profile_fe: bool = True) -> float:
        """statsmodels' ``MixedLM.loglike`` (REML or ML as the last fit), ``scale`` profiled out."""
        params = self._as_params(params, has_fe=not profile_fe)
        engine, layout = self.engine(self.reml, self.free_pattern(None))
        state = engine.state.fork()
        state.evaluate(layout.theta_from_profile(params.cov_re, params.vcomp))
        if profile_fe:
            return -0.5 * float(state.objective())
        shift = state.L_X.T @ (np.asarray(params.fe_params, dtype=float) - state.beta())
        return -0.5 * float(state.objective(pwrss=state.pwrss + float(shift @ shift)))

    def score(self, params: MixedLMParams | np.ndarray, profile_fe: bool = True) -> np.ndarray:
        """Gradient of :meth:`loglike` in the packed parameterisation (``use_sqrt``)."""
        packed = self._as_params(params, not profile_fe).get_packed(
            use_sqrt=self.use_sqrt, has_fe=not profile_fe
        )
        parts = jacobian(
            lambda x: self.loglike(x, profile_fe=profile_fe), packed, _steps(packed), True
        )
        return np.array(parts, dtype=float)

    def hessian(self, params: MixedLMParams | np.ndarray) -> tuple[np.ndarray, bool]:
        """statsmodels' ``MixedLM.hessian``: ``(hess, singular)`` of :meth:`loglike`
        (``profile_fe=False``) in ``[fe_params, cov_re lower triangle, vcomp]``."""
        packed = self._as_params(params, True).get_packed(use_sqrt=False, has_fe=True)

        def natural(x: np.ndarray) -> float:
            point = MixedLMParams.from_packed(x, self.k_fe, self.k_re, False, True)
            return self.loglike(point, profile_fe=False)

        # statsmodels' numdiff step (EPS ** (1/4), relative): the log-likelihood's rounding
        # noise, not the truncation error, limits the off-diagonal entries.
        steps = np.finfo(float).eps ** 0.25 * np.maximum(np.abs(packed), 0.1)
        hess = hessian(natural, packed, steps)
        return hess, bool(np.linalg.matrix_rank(hess) < hess.shape[0])

    def fit_regularized(
        self,
        start_params: object = None,
        method: str | Penalty = "l1",
        alpha: float | np.ndarray = 0,
        ceps: float = 1e-4,
        ptol: float = 1e-6,
        maxit: int = 200,
        **fit_kwargs: object,
    ) -> MixedLMResultsWrapper:
        """statsmodels' ``MixedLM.fit_regularized``: penalised fixed effects
        (:mod:`mixedmodels.optim.penalized`), the variance parameters held at the
        unpenalised fit (for a ``Penalty`` too: deviation 8 in ``docs/statsmodels.md``)."""
        from ._results import MixedLMResults

        base: MixedLMResults = self.fit(start_params=start_params, **fit_kwargs)
        beta_hat = np.asarray(base.fe_params, dtype=float)
        precision = np.linalg.inv(np.asarray(base.cov_params())[: self.k_fe, : self.k_fe])
        weights = np.broadcast_to(np.asarray(alpha, dtype=float), (self.k_fe,)).copy()
        if isinstance(method, Penalty):
            method.alpha = weights
            beta = smooth_penalty(precision, beta_hat, method)
        elif method == "l1":
            beta = l1_descent(precision, beta_hat, weights, ceps, ptol, maxit)
        else:
            raise DataError(f"method must be 'l1' or a statsmodels Penalty, got {method!r}")
        keep = np.abs(beta) > ceps
        cov_fe = np.full((self.k_fe, self.k_fe), np.nan)
        cov_fe[np.ix_(keep, keep)] = np.linalg.inv(precision[np.ix_(keep, keep)])
        results = MixedLMResults(
            self, base.lmer, base.layout, base.freepat, fixed_effects=(beta, cov_fe)
        )
        return MixedLMResultsWrapper(results)


def _steps(point: np.ndarray) -> np.ndarray:
    """Central-difference steps: relative to each coordinate, absolute near zero."""
    return 1e-3 * np.maximum(np.abs(point), 0.1)
