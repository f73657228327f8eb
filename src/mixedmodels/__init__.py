"""mixedmodels: linear mixed-effects models for Python.

lme4's accuracy and formula language, MixedModels.jl's algorithm (a profiled
criterion over the relative covariance factor with a blocked Cholesky factor),
and a statsmodels-compatible API in :mod:`mixedmodels.api`.

>>> import mixedmodels as mm
>>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
"""

from . import datasets, errors
from .model import LinearMixedModel, lmer
from .results.persist import load
from .structures import AR1, CAR1, VarIdent

__all__ = [
    "AR1",
    "CAR1",
    "LinearMixedModel",
    "VarIdent",
    "anova",
    "datasets",
    "errors",
    "lmer",
    "load",
]
__version__ = "0.1.0"


def anova(*models, refit: bool = True, model_names: list[str] | None = None):
    """Likelihood-ratio tests between fitted models, as lme4's ``anova(m1, m2, ...)``.

    Parameters
    ----------
    *models : LmerResults
        Two or more fits to the same rows of the same data.
    refit : bool, default True
        Refit REML fits by ML first (with a
        :class:`~mixedmodels.results.compare.RefitNotice`); ``False`` compares
        the likelihoods as fitted (valid for REML fits only when the fixed
        effects are the same).
    model_names : list of str, optional
        Row labels; default the formulas.

    Returns
    -------
    DataFrame
        Ordered by ``npar``; columns ``npar, AIC, BIC, logLik, deviance,
        Chisq, Df, Pr(>Chisq)`` (missing on the first row).

    Raises
    ------
    DataError
        The models were fitted to different rows or data.

    Warns
    -----
    NestingWarning
        Two consecutive models are not nested (lme4 says nothing).

    Examples
    --------
    >>> import mixedmodels as mm
    >>> data = mm.datasets.load("sleepstudy")
    >>> small = mm.lmer("Reaction ~ Days + (1 | Subject)", data, REML=False)
    >>> big = mm.lmer("Reaction ~ Days + (Days | Subject)", data, REML=False)
    >>> round(float(mm.anova(small, big)["Chisq"].iloc[1]), 2)
    42.14
    """
    from .results.compare import compare_models

    return compare_models(*models, refit=refit, model_names=model_names)
