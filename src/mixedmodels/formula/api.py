"""statsmodels-compatible formula namespace: ``import mixedmodels.formula.api as smf``.

``smf.mixedlm(formula, data, re_formula=None, vc_formula=None, subset=None,
use_sparse=False, missing='none', groups=...)`` is
:meth:`mixedmodels.regression.mixed_linear_model.MixedLM.from_formula`.
"""

from __future__ import annotations

from ..regression.mixed_linear_model import MixedLM

__all__ = ["mixedlm"]

mixedlm = MixedLM.from_formula
