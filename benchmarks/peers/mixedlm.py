"""mixedlm peer (PyPI ``mixedlm`` 1.x, Rust-backed, lme4-style API).

``mixedlm.lmer(formula, data, REML=)`` takes the lme4 formula unchanged; the
log-likelihood is ``float(result.logLik())`` and the convergence flag
``result.converged``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from peers import FitOutcome, run_python_peer

NAME = "mixedlm"


def version() -> str:
    """Return the installed mixedlm version.

    Returns
    -------
    str
        Version string.
    """
    from importlib.metadata import version as dist_version

    import mixedlm

    return str(getattr(mixedlm, "__version__", None) or dist_version("mixedlm"))


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
    import mixedlm

    def fit() -> FitOutcome:
        res = mixedlm.lmer(case.formula, data, REML=case.reml)
        return FitOutcome(float(res.logLik()), getattr(res, "converged", None))

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
    return run_python_peer("mixedlm", case, reps=reps, timeout=timeout, **options)
