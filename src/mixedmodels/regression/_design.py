"""statsmodels' random-effects arguments in the engine's terms.

statsmodels' model for group ``g`` is ``y_g = X_g beta + Z_g gamma_g +
sum_k V_gk eta_gk + e_g`` with ``gamma_g ~ N(0, cov_re)`` (``Z = exog_re``) and,
for every variance component ``k``, ``eta_gk ~ N(0, vcomp_k I)`` on the columns
of ``V_gk = exog_vc[k][g]``. The engine writes ``cov(b) = scale Lambda Lambda'``:

* ``exog_re`` is one term on the group factor with ``cov_re = scale T T'``; a
  ``free`` mask that is block diagonal after a permutation gives ``T``
  structural zeros (:func:`~mixedmodels.design.terms.block_pattern`);
* each variance component is a term of
  :class:`~mixedmodels.design.components.GroupComponent` with
  ``vcomp = scale theta^2``.

:class:`ThetaLayout` maps statsmodels' ``(cov_re, vcomp)`` on the profile
scale (divided by ``scale``) to the engine's ``theta`` and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from statsmodels.regression.mixed_linear_model import VCSpec

from ..design.terms import block_pattern, full_pattern
from ..errors import DataError, MixedModelsTypeError, StructureError

__all__ = ["ThetaLayout", "as_vcspec", "component_inputs", "re_pattern_from_free"]


def as_vcspec(names: list[str], blocks: list[list[tuple[list, object]]]) -> VCSpec:
    """statsmodels' ``VCSpec``: per component, each group's ``(column names, matrix)``."""
    colnames = [[names_ for names_, _ in part] for part in blocks]
    return VCSpec(names, colnames, [[matrix for _, matrix in part] for part in blocks])


def component_inputs(exog_vc: object, labels: list) -> list[tuple[str, list, list | None]]:
    """``(name, one matrix per group in the order of labels, column names or None)`` per
    component of ``exog_vc`` (statsmodels' dict of dicts or ``VCSpec``), sorted by name."""
    if isinstance(exog_vc, Mapping):
        items = []
        for name, per_group in exog_vc.items():
            if not isinstance(per_group, Mapping):
                raise MixedModelsTypeError(
                    f"exog_vc[{name!r}] must be a dict mapping group labels to matrices, got "
                    f"{type(per_group).__name__}"
                )
            absent = [label for label in labels if label not in per_group]
            if absent:
                raise DataError(
                    f"exog_vc[{name!r}] has no matrix for group {absent[0]!r}; give one for "
                    "every group"
                )
            items.append((str(name), [per_group[label] for label in labels], None))
    elif hasattr(exog_vc, "names") and hasattr(exog_vc, "mats"):
        colnames = getattr(exog_vc, "colnames", None) or [None] * len(exog_vc.names)
        items = list(zip(map(str, exog_vc.names), exog_vc.mats, colnames, strict=True))
        for name, mats, _ in items:
            if len(mats) != len(labels):
                raise DataError(
                    f"exog_vc component {name!r} has {len(mats)} group matrices for "
                    f"{len(labels)} groups"
                )
    else:
        raise MixedModelsTypeError(
            f"exog_vc must be a dict of dicts or a VCSpec, got {type(exog_vc).__name__}"
        )
    return sorted(items, key=lambda item: item[0])


def re_pattern_from_free(free_cov: np.ndarray | None, k_re: int) -> np.ndarray:
    """The ``T`` pattern for a ``free.cov_re`` mask (``None``: unstructured).

    A mask block diagonal after a permutation is a ``T`` with structural zeros
    between the blocks; other masks raise :class:`NotImplementedError`.
    """
    if free_cov is None:
        return full_pattern(k_re)
    mask = np.asarray(free_cov, dtype=float)
    if mask.shape != (k_re, k_re):
        raise DataError(f"free.cov_re must have shape ({k_re}, {k_re}), got {mask.shape}")
    lower = np.tril(mask != 0)
    free = lower | lower.T
    if not np.all(np.diag(free)):
        fixed = [int(i) for i in np.flatnonzero(~np.diag(free))]
        raise NotImplementedError(
            f"free.cov_re holds variance(s) fixed at their start value (zero diagonal entries "
            f"{fixed}); only zero covariances can be fixed. Drop the column from exog_re "
            "instead, or use profile_re to fix a variance."
        )
    try:
        return block_pattern(free)
    except StructureError as error:
        raise NotImplementedError(
            f"free.cov_re fixes covariances to zero in a way that is not block diagonal after "
            f"a permutation of the random effects ({error}); only such patterns (e.g. "
            "numpy.eye(k) for independent random effects) are supported"
        ) from error


@dataclass(frozen=True)
class ThetaLayout:
    """Where statsmodels' variance parameters sit in ``theta``: ``re_index``, the theta
    index of each entry of the ``exog_re`` term's ``T`` (``-1``: structural zero), and
    ``vc_indices``, one per variance component (sorted by name)."""

    n_theta: int
    re_index: np.ndarray
    vc_indices: list[int]

    @classmethod
    def from_engine(cls, engine: object, has_re: bool, n_vc: int) -> ThetaLayout:
        """Read the layout from the engine's terms (the ``exog_re`` term first)."""
        infos = engine.term_infos
        re_index = np.zeros((0, 0), dtype=np.int64)
        if has_re:
            columns = np.asarray(infos[0].columns)
            re_index = engine.blocks[infos[0].block].theta_index[np.ix_(columns, columns)]
        vc_indices = [infos[int(has_re) + k].theta_indices[0] for k in range(n_vc)]
        return cls(engine.n_theta, re_index, vc_indices)

    @property
    def k_re(self) -> int:
        """Number of correlated random coefficients."""
        return self.re_index.shape[0]

    def profile(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Profile-scale ``cov_re`` and ``vcomp`` at ``theta``."""
        factor = np.zeros(self.re_index.shape)
        free = self.re_index >= 0
        factor[free] = theta[self.re_index[free]]
        return factor @ factor.T, np.asarray(theta)[self.vc_indices] ** 2

    def packed(self, theta: np.ndarray) -> np.ndarray:
        """``[lower triangle of cov_re (row-major), vcomp]`` on the profile scale."""
        cov, vcomp = self.profile(theta)
        return np.concatenate([cov[np.tril_indices(self.k_re)], vcomp])

    def theta_from_profile(self, cov_re: np.ndarray, vcomp: np.ndarray) -> np.ndarray:
        """A ``theta`` with profile ``cov_re`` (Cholesky factor) and ``vcomp``."""
        theta = np.zeros(self.n_theta)
        if self.k_re:
            cov = np.asarray(cov_re, dtype=float)
            if cov.shape != self.re_index.shape:
                raise DataError(
                    f"start cov_re must have shape {self.re_index.shape}, got {cov.shape}"
                )
            fixed = np.tril(self.re_index < 0)
            if np.any(np.abs(cov[fixed]) > 1e-12 * max(1.0, float(np.abs(cov).max()))):
                raise NotImplementedError(
                    "start cov_re is non-zero where free.cov_re fixes a covariance; only "
                    "covariances fixed at zero are supported"
                )
            try:
                factor = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                factor = np.diag(np.sqrt(np.clip(np.diag(cov), 0.0, None)))
            free = self.re_index >= 0
            theta[self.re_index[free]] = factor[free]
        vcomp = np.asarray(vcomp, dtype=float).ravel()
        if len(vcomp) != len(self.vc_indices):
            raise DataError(
                f"start vcomp has {len(vcomp)} entries; the model has {len(self.vc_indices)} "
                "variance components"
            )
        theta[self.vc_indices] = np.sqrt(np.clip(vcomp, 0.0, None))
        return theta
