"""statsmodels-compatible regression models: :mod:`.mixed_linear_model`.

>>> import mixedmodels.api as sm
>>> sm.regression.mixed_linear_model.MixedLMParams  # doctest: +ELLIPSIS
<class '...MixedLMParams'>
"""

from . import mixed_linear_model
from .mixed_linear_model import MixedLM, MixedLMParams, MixedLMResults, VCSpec


__all__ = ["MixedLM", "MixedLMParams", "MixedLMResults", "VCSpec", "mixed_linear_model"]
