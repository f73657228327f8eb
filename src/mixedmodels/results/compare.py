"""Likelihood-ratio comparison of fitted models (lme4's ``anova(m1, m2, ...)``).

The models are ordered by their number of parameters ``npar`` (fixed
effects, theta and sigma); each row after the first tests the model against
the one above it:

.. math::

    \\chi^2 = 2 \\max(0, \\ell_i - \\ell_{i-1}), \\qquad
    \\text{Df} = \\text{npar}_i - \\text{npar}_{i-1}, \\qquad
    p = P(\\chi^2_{\\text{Df}} > \\chi^2).

REML fits are refitted by ML first (REML likelihoods of models with
different fixed effects are not comparable), with a notice, unless
``refit=False``. Unlike lme4, a pair of models that is not nested gets a
:class:`~mixedmodels.errors.NestingWarning` (the test is then invalid), and
models fitted to different data are an error.
"""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ArgumentError, DataError, MixedModelsWarning, NestingWarning
from .refit import refit_ml

if TYPE_CHECKING:
    from .lmer import LmerResults

__all__ = ["RefitNotice", "compare_models"]


class RefitNotice(MixedModelsWarning):
    """lme4's message "refitting model(s) with ML (instead of REML)"."""


def _npar(results: LmerResults) -> int:
    return results.model.n_theta + results.model.n_fixed + 1


def _check_same_data(models: list[LmerResults]) -> None:
    first = models[0].model
    for other in models[1:]:
        model = other.model
        if model.n_obs != first.n_obs:
            raise DataError(
                f"the models were fitted to different numbers of observations ({first.n_obs} "
                f"and {model.n_obs}); compare models fitted to the same rows"
            )
        same = True
        if first.rows is not None and model.rows is not None:
            same = np.array_equal(first.rows.y, model.rows.y)
        else:
            k_a, k_b = first.n_fixed, model.n_fixed
            same = np.isclose(first.cross.xy_xy[k_a, k_a], model.cross.xy_xy[k_b, k_b])
        if same and first.design is not None and model.design is not None:
            same = first.design.row_index.equals(model.design.row_index)
        if not same:
            raise DataError(
                "the models were fitted to different data (their responses or rows differ); "
                "compare models fitted to the same rows of the same data"
            )


def _span_contains(big: np.ndarray, small: np.ndarray) -> bool:
    """Whether every column of ``small`` is in the column space of ``big``."""
    if small.shape[1] == 0:
        return True
    if big.shape[1] == 0:
        return False
    coefficients = np.linalg.lstsq(big, small, rcond=None)[0]
    residual = small - big @ coefficients
    scale = np.maximum(np.linalg.norm(small, axis=0), 1e-300)
    return bool(np.all(np.linalg.norm(residual, axis=0) <= 1e-7 * scale))


def _random_nested(small: LmerResults, big: LmerResults) -> bool:
    """Each random block of ``small`` has a block of ``big`` on the same grouping whose
    columns span it, with a correlation wherever ``small`` has one."""
    for block in small.model.blocks:
        matches = [
            other
            for other in big.model.blocks
            if other.factor.name == block.factor.name
            and np.array_equal(other.factor.codes, block.factor.codes)
        ]
        if not any(_span_contains(other.z, block.z) for other in matches):
            return False
        correlated = bool(np.any(np.tril(block.theta_index, -1) >= 0))
        if correlated and not any(np.any(np.tril(o.theta_index, -1) >= 0) for o in matches):
            return False
    return True


def is_nested(small: LmerResults, big: LmerResults) -> bool:
    """Whether ``small``'s model is a special case of ``big``'s (fixed and random parts)."""
    rows_small, rows_big = small.model.rows, big.model.rows
    if rows_small is None or rows_big is None:
        return True  # cannot check without the rows
    if _npar(small) >= _npar(big):
        return False
    return _span_contains(rows_big.X, rows_small.X) and _random_nested(small, big)


def _formula(results: LmerResults) -> str:
    design = results.model.design
    if design is not None and design.parsed is not None:
        return design.parsed.formula
    return repr(results)


def compare_models(
    *models: LmerResults, refit: bool = True, model_names: list[str] | None = None
) -> pd.DataFrame:
    """lme4's ``anova(m1, m2, ...)``; see :func:`mixedmodels.anova`."""
    from .lmer import LmerResults

    if len(models) < 2:
        raise ArgumentError("anova needs at least two fitted models to compare")
    for model in models:
        if not isinstance(model, LmerResults):
            raise ArgumentError(f"anova compares lmer fits, got {type(model).__name__}")
    if model_names is None:
        formulas = [_formula(model) for model in models]
        unique = len(set(formulas)) == len(formulas)
        model_names = formulas if unique else [f"MODEL{i + 1}" for i in range(len(models))]
    elif len(model_names) != len(models):
        raise ArgumentError(f"model_names has {len(model_names)} names for {len(models)} models")
    _check_same_data(list(models))
    fits = list(models)
    reml = [fit.reml for fit in fits]
    if refit:
        if any(reml):
            warnings.warn("refitting model(s) with ML (instead of REML)", RefitNotice, stacklevel=3)
            fits = [refit_ml(fit) for fit in fits]
    elif any(reml) and not all(reml):
        warnings.warn("some models fit with REML = TRUE, some not", NestingWarning, stacklevel=3)
    order = sorted(range(len(fits)), key=lambda i: _npar(fits[i]))
    fits = [fits[i] for i in order]
    names = [model_names[i] for i in order]
    for small, big in itertools.pairwise(fits):
        if not is_nested(small, big):
            warnings.warn(
                f"models {_formula(small)!r} and {_formula(big)!r} are not nested: the "
                "likelihood-ratio test between them is not valid",
                NestingWarning,
                stacklevel=3,
            )
    npar = np.array([_npar(fit) for fit in fits], dtype=float)
    loglik = np.array([fit.llf for fit in fits])
    n_obs = fits[0].nobs
    chisq = np.concatenate([[np.nan], 2 * np.maximum(0, np.diff(loglik))])
    df = np.concatenate([[np.nan], np.diff(npar)])
    with np.errstate(invalid="ignore"):
        p_values = np.where(df == 0, np.nan, stats.chi2.sf(chisq, df))
    return pd.DataFrame(
        {
            "npar": npar.astype(int),
            "AIC": -2 * loglik + 2 * npar,
            "BIC": -2 * loglik + np.log(n_obs) * npar,
            "logLik": loglik,
            "deviance": -2 * loglik,
            "Chisq": chisq,
            "Df": df,
            "Pr(>Chisq)": p_values,
        },
        index=pd.Index(names, name="model"),
    )
