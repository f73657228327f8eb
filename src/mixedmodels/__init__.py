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

__all__ = ["AR1", "CAR1", "LinearMixedModel", "VarIdent", "datasets", "errors", "lmer", "load"]
__version__ = "0.1.0"
