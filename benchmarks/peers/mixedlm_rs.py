"""mixedlm-rs peer (PyPI ``mixedlm-rs``, import ``mixedlm_rs``).

mixedlm-rs mirrors the statsmodels API (``mixedlm(formula, data, groups=,
re_formula=)``) for models with ONE grouping factor and an unstructured
random-effects covariance.  The lme4 formula is translated exactly as for the
statsmodels peer; ``vc_formula`` (crossed factors) and ``free`` masks
(independent random effects) raise ``NotImplementedError`` in mixedlm-rs, which is
recorded as "unsupported" with its message.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from lme4_formula import parse, to_statsmodels

from peers import FitOutcome, run_python_peer

NAME = "mixedlm-rs"
CONST_GROUP = "_bench_const_group"


def version() -> str:
    """Return the installed mixedlm-rs version.

    Returns
    -------
    str
        Version string.
    """
    import mixedlm_rs

    return str(mixedlm_rs.__version__)


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
    import mixedlm_rs

    spec = to_statsmodels(parse(case.formula))
    groups = spec.groups
    if groups is None:
        data = data.assign(**{CONST_GROUP: np.ones(len(data), dtype=np.int8)})
        groups = CONST_GROUP
    mask = None if spec.cov_mask is None else np.asarray(spec.cov_mask)

    def fit() -> FitOutcome:
        model = mixedlm_rs.MixedLM.from_formula(spec.formula, data, groups=groups,
                                                re_formula=spec.re_formula,
                                                vc_formula=spec.vc_formula)
        free = None
        if mask is not None:
            free = mixedlm_rs.MixedLMParams.from_components(np.ones(model.k_fe), mask)
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
    return run_python_peer("mixedlm_rs", case, reps=reps, timeout=timeout, **options)
