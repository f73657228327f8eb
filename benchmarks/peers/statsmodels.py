"""statsmodels peer: ``MixedLM.from_formula`` with the lme4 formula translated.

Translation (see ``lme4_formula.to_statsmodels``):

* ``(1 | g)`` -> ``groups=g``;
* ``(1 + x | g)`` -> ``re_formula="~x"``;
* ``(x || g)`` or ``(1 | g) + (0 + x | g)`` -> ``re_formula="~x"`` with
  ``free=MixedLMParams.from_components(np.ones(k_fe), mask)`` (diagonal mask);
* crossed factors -> statsmodels' documented recipe: a constant ``groups``
  column, ``re_formula="0"`` and ``vc_formula={f: "0 + C(f)"}`` per factor.

The timed callable builds the model from the data frame and fits it with
``fit(reml=REML)``; ``llf`` is taken as the log-likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from lme4_formula import parse, to_statsmodels

from peers import FitOutcome, run_python_peer

NAME = "statsmodels"
CONST_GROUP = "_bench_const_group"


def version() -> str:
    """Return the installed statsmodels version.

    Returns
    -------
    str
        Version string.
    """
    import statsmodels

    return str(statsmodels.__version__)


def prepare(case: Any, data: pd.DataFrame) -> Any:
    """Return the timed fit callable for a case.

    Parameters
    ----------
    case : Case
        The case.
    data : pandas.DataFrame
        Its data.

    Returns
    -------
    callable
        ``() -> FitOutcome``.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    spec = to_statsmodels(parse(case.formula))
    groups = spec.groups
    if groups is None:
        data = data.assign(**{CONST_GROUP: np.ones(len(data), dtype=np.int8)})
        groups = CONST_GROUP
    mask = None if spec.cov_mask is None else np.asarray(spec.cov_mask)

    def fit() -> FitOutcome:
        model = MixedLM.from_formula(spec.formula, data, groups=groups,
                                     re_formula=spec.re_formula,
                                     vc_formula=spec.vc_formula)
        free = None
        if mask is not None:
            free = MixedLMParams.from_components(np.ones(model.k_fe), mask)
        res = model.fit(reml=case.reml, free=free)
        return FitOutcome(float(res.llf), bool(res.converged))

    return fit


def fit(case: Any, reps: int = 5, timeout: float = 150.0, **options: Any) -> dict[str, Any]:
    """Fit ``case`` ``reps`` times in a subprocess.

    Parameters
    ----------
    case : Case
        The case.
    reps : int, optional
        Maximum repetitions.
    timeout : float, optional
        Per-fit timeout in seconds.
    **options
        Passed to ``peers.run_python_peer``.

    Returns
    -------
    dict
        ``seconds_min``, ``seconds_all``, ``loglik``, ``converged``, ``error``, ...
    """
    return run_python_peer("statsmodels", case, reps=reps, timeout=timeout, **options)
