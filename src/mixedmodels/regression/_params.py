"""Parameter containers of the statsmodels-compatible API: ``MixedLMParams`` and ``VCSpec``.

Parameterisations
-----------------
statsmodels (and this API) use three parameterisations of the variance part:

============  ===============================================================
name          meaning
============  ===============================================================
natural       ``cov_re`` and ``vcomp`` are covariances of the random effects
profile       ``cov_re / scale`` and ``vcomp / scale``; the residual variance
              ``scale`` is profiled out. This is what ``results.params`` holds
              and what :class:`MixedLMParams` holds.
square root   the lower Cholesky factor of the profile ``cov_re`` and the
              square roots of the profile ``vcomp``. The lower Cholesky factor
              of the profile ``cov_re`` is the engine's ``T``; the square root
              of a profile variance component is its ``theta``.
============  ===============================================================

A packed vector is ``[fe_params, lower triangle of cov_re (row-major, as
numpy.tril_indices), vcomp]``, without ``fe_params`` when ``has_fe`` is False.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError

__all__ = ["MixedLMParams", "VCSpec"]


class VCSpec:
    """Variance-component structure in statsmodels' ``VCSpec`` layout.

    Parameters
    ----------
    names : list of str
        ``names[k]`` is the name of variance component ``k``.
    colnames : list of list of list of str
        ``colnames[k][i]`` are the column names of ``mats[k][i]``.
    mats : list of list of array_like
        ``mats[k][i]`` is the design matrix of component ``k`` for the rows of
        group ``i`` (groups in the model's ``group_labels`` order, rows in data
        order).
    """

    def __init__(
        self,
        names: Sequence[str],
        colnames: Sequence[Sequence[Sequence[str]]],
        mats: Sequence[Sequence[object]],
    ) -> None:
        self.names = list(names)
        self.colnames = [list(item) for item in colnames]
        self.mats = [list(item) for item in mats]

    def __repr__(self) -> str:
        return f"VCSpec(names={self.names!r})"


class MixedLMParams:
    """A parameter state of a linear mixed model, in the profile parameterisation.

    Parameters
    ----------
    k_fe : int
        Number of fixed-effects coefficients.
    k_re : int
        Number of correlated random coefficients (columns of ``exog_re``).
    k_vc : int
        Number of variance components.

    Attributes
    ----------
    fe_params : ndarray, shape (k_fe,)
    cov_re : ndarray, shape (k_re, k_re)
        Random-effects covariance divided by ``scale``.
    vcomp : ndarray, shape (k_vc,)
        Variance components divided by ``scale``.
    k_fe, k_re, k_re2, k_vc, k_tot : int

    Notes
    -----
    As a ``free`` mask for :meth:`MixedLM.fit`, a zero entry marks a parameter
    held fixed.
    """

    def __init__(self, k_fe: int, k_re: int, k_vc: int) -> None:
        self.k_fe = int(k_fe)
        self.k_re = int(k_re)
        self.k_re2 = self.k_re * (self.k_re + 1) // 2
        self.k_vc = int(k_vc)
        self.k_tot = self.k_fe + self.k_re2 + self.k_vc
        self._ix = np.tril_indices(self.k_re)
        self.fe_params = np.zeros(self.k_fe)
        self.cov_re = np.zeros((self.k_re, self.k_re))
        self.vcomp = np.zeros(self.k_vc)

    @staticmethod
    def from_packed(
        params: Sequence[float] | np.ndarray,
        k_fe: int,
        k_re: int,
        use_sqrt: bool,
        has_fe: bool,
    ) -> MixedLMParams:
        """Build from a packed vector.

        Parameters
        ----------
        params : array_like
            ``[fe_params (if has_fe), lower triangle of cov_re or of its
            Cholesky factor, vcomp or its square root]``.
        k_fe, k_re : int
        use_sqrt : bool
            The vector holds the Cholesky factor of ``cov_re`` and the square
            roots of ``vcomp``.
        has_fe : bool
            The vector starts with the fixed effects (otherwise they are zero).

        Returns
        -------
        MixedLMParams
        """
        params = np.asarray(params, dtype=float).ravel()
        k_re2 = k_re * (k_re + 1) // 2
        start = k_fe if has_fe else 0
        k_vc = len(params) - start - k_re2
        if k_vc < 0:
            raise DataError(
                f"packed parameter vector has {len(params)} entries; at least {start + k_re2} "
                f"are needed for k_fe={k_fe}, k_re={k_re}, has_fe={has_fe}"
            )
        result = MixedLMParams(k_fe, k_re, k_vc)
        result.fe_params = params[:k_fe].copy() if has_fe else np.zeros(k_fe)
        lower = np.zeros((k_re, k_re))
        lower[result._ix] = params[start : start + k_re2]
        if use_sqrt:
            result.cov_re = lower @ lower.T
        else:
            result.cov_re = lower + lower.T - np.diag(np.diag(lower))
        tail = params[start + k_re2 :]
        result.vcomp = tail**2 if use_sqrt else tail.copy()
        return result

    @staticmethod
    def from_components(
        fe_params: Sequence[float] | np.ndarray | None = None,
        cov_re: np.ndarray | None = None,
        cov_re_sqrt: np.ndarray | None = None,
        vcomp: Sequence[float] | np.ndarray | None = None,
    ) -> MixedLMParams:
        """Build from the components.

        Parameters
        ----------
        fe_params : array_like, optional
            Fixed effects (none if omitted).
        cov_re : ndarray, optional
            Random-effects covariance (profile scale), square and symmetric.
        cov_re_sqrt : ndarray, optional
            Lower Cholesky factor of ``cov_re``; used when ``cov_re`` is omitted.
        vcomp : array_like, optional
            Variance components (profile scale).

        Returns
        -------
        MixedLMParams
        """
        fe = np.zeros(0) if fe_params is None else np.asarray(fe_params, dtype=float).ravel()
        vc = np.zeros(0) if vcomp is None else np.asarray(vcomp, dtype=float).ravel()
        if cov_re is not None:
            cov = np.atleast_2d(np.asarray(cov_re, dtype=float))
        elif cov_re_sqrt is not None:
            root = np.atleast_2d(np.asarray(cov_re_sqrt, dtype=float))
            cov = root @ root.T
        else:
            cov = np.zeros((0, 0))
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
            raise DataError(f"cov_re must be a square matrix, got shape {cov.shape}")
        result = MixedLMParams(len(fe), cov.shape[0], len(vc))
        result.fe_params = fe
        result.cov_re = cov
        result.vcomp = vc
        return result

    def copy(self) -> MixedLMParams:
        """An independent copy."""
        result = MixedLMParams(self.k_fe, self.k_re, self.k_vc)
        result.fe_params = np.array(self.fe_params, dtype=float, copy=True)
        result.cov_re = np.array(self.cov_re, dtype=float, copy=True)
        result.vcomp = np.array(self.vcomp, dtype=float, copy=True)
        return result

    def get_packed(self, use_sqrt: bool, has_fe: bool = False) -> np.ndarray:
        """The packed vector (see :meth:`from_packed`).

        Parameters
        ----------
        use_sqrt : bool
            Pack the Cholesky factor of ``cov_re`` and the square roots of
            ``vcomp``. A ``cov_re`` that is not positive definite is packed
            as the square root of its diagonal.
        has_fe : bool, default False
            Include the fixed effects first.

        Returns
        -------
        ndarray
        """
        cov = np.asarray(self.cov_re, dtype=float)
        if self.k_re == 0:
            packed_cov = np.zeros(0)
        elif use_sqrt:
            try:
                root = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                root = np.diag(np.sqrt(np.clip(np.diag(cov), 0.0, None)))
            packed_cov = root[self._ix]
        else:
            packed_cov = cov[self._ix]
        vcomp = np.asarray(self.vcomp, dtype=float)
        packed_vc = np.sqrt(np.clip(vcomp, 0.0, None)) if use_sqrt else vcomp
        parts = [packed_cov, packed_vc]
        if has_fe:
            parts.insert(0, np.asarray(self.fe_params, dtype=float))
        return np.concatenate(parts)

    def __repr__(self) -> str:
        return f"MixedLMParams(k_fe={self.k_fe}, k_re={self.k_re}, k_vc={self.k_vc})"
