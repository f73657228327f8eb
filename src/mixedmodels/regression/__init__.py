"""statsmodels-compatible regression models: :mod:`.mixed_linear_model`.

Needs the optional ``statsmodels`` extra (its base classes give the drop-in its
behaviour; see ``docs/statsmodels.md``).

>>> import mixedmodels.api as sm
>>> sm.regression.mixed_linear_model.MixedLMParams  # doctest: +ELLIPSIS
<class '...MixedLMParams'>
"""

try:
    import statsmodels  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "mixedmodels.api (the statsmodels drop-in) needs statsmodels: "
        'pip install "mixedmodels[statsmodels]"; mixedmodels.lmer works without it'
    ) from error

from . import mixed_linear_model
from .mixed_linear_model import MixedLM, MixedLMParams, MixedLMResults, VCSpec

__all__ = ["MixedLM", "MixedLMParams", "MixedLMResults", "VCSpec", "mixed_linear_model"]
