"""Fixed-effects design: model matrix with formulaic, lme4 names and rank checks."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import model_matrix

from ..errors import FormulaError, RankDeficiencyWarning

__all__ = ["FixedDesign", "build_fixed", "independent_columns", "lme4_name"]

_TREATMENT = re.compile(r"\[T\.([^\]]*)\]")


def lme4_name(name: str) -> str:
    """Translate formulaic's column names to R's: ``Intercept -> (Intercept)``, ``f[T.b] -> fb``."""
    if name == "Intercept":
        return "(Intercept)"
    return _TREATMENT.sub(r"\1", name)


@dataclass
class FixedDesign:
    """Fixed-effects matrix with the spec needed to rebuild it for new data.

    Attributes
    ----------
    matrix : ndarray, shape (n, k)
        Columns kept after the rank check.
    names : list of str
        formulaic (statsmodels-style) names of the kept columns.
    all_names : list of str
        Names of every column before the rank check.
    dropped : list of str
        Columns dropped as constant or collinear.
    model_spec : formulaic ModelSpec or None
    """

    matrix: np.ndarray
    names: list[str]
    all_names: list[str]
    dropped: list[str]
    model_spec: object | None

    @property
    def lme4_names(self) -> list[str]:
        """Kept column names in R's spelling."""
        return [lme4_name(name) for name in self.names]

    def new_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Model matrix of the kept columns for new data."""
        if self.model_spec is None:
            raise FormulaError("this model was not built from a formula; pass exog explicitly")
        frame = self.model_spec.get_model_matrix(data, na_action="ignore")
        return np.asarray(frame[self.names], dtype=float)


def independent_columns(matrix: np.ndarray, tolerance: float = 1e-7) -> np.ndarray:
    """Indices of columns to keep: each kept column is not in the span of earlier kept ones.

    This is lme4's choice (R's ``qr`` with its limited pivoting moves only
    deficient columns to the end), so earlier columns win, the intercept first.
    """
    if matrix.shape[1] == 0:
        return np.zeros(0, dtype=int)
    norms = np.sqrt(np.sum(matrix * matrix, axis=0))
    scale = np.where(norms > 0, norms, 1.0)
    normalised = matrix / scale
    keep: list[int] = []
    basis = np.zeros((matrix.shape[0], 0))
    for column in range(matrix.shape[1]):
        if norms[column] == 0:
            continue
        vector = normalised[:, column]
        if basis.shape[1]:
            vector = vector - basis @ (basis.T @ vector)
            vector = vector - basis @ (basis.T @ vector)
        residual = np.linalg.norm(vector)
        if residual > tolerance:
            keep.append(column)
            basis = np.column_stack([basis, vector / residual])
    return np.array(keep, dtype=int)


def build_fixed(rhs: str, data: pd.DataFrame, context: str = "fixed effects") -> FixedDesign:
    """Model matrix of ``rhs`` on ``data`` with collinear columns dropped (and a warning)."""
    try:
        frame = model_matrix(rhs, data, na_action="ignore")
    except Exception as error:  # formulaic raises many types; re-raise as one clear error
        raise FormulaError(f"cannot build the {context} from {rhs!r}: {error}") from error
    names = [str(name) for name in frame.columns]
    matrix = np.asarray(frame, dtype=float)
    keep = independent_columns(matrix)
    dropped = [names[index] for index in range(len(names)) if index not in set(keep.tolist())]
    if dropped:
        warnings.warn(
            f"{context}: dropped {len(dropped)} column(s) that are constant or collinear with "
            f"earlier columns: {', '.join(lme4_name(name) for name in dropped)}",
            RankDeficiencyWarning,
            stacklevel=3,
        )
    return FixedDesign(
        matrix[:, keep], [names[index] for index in keep], names, dropped, frame.model_spec
    )
