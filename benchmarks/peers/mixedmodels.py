"""mixedmodels peer: the package under test.

``mixedmodels.lmer(formula, data, REML=)`` with the lme4 formula unchanged;
``result.llf`` is the log-likelihood (REML-criterion based for REML fits, as in
lme4).  If the package does not import, the peer is reported "unavailable".
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from peers import FitOutcome, run_python_peer

NAME = "mixedmodels"


def version() -> str:
    """Return the mixedmodels version (``__version__`` or package metadata).

    Returns
    -------
    str
        Version string.

    Raises
    ------
    ImportError
        If mixedmodels does not import or does not provide ``lmer`` yet.
    """
    import mixedmodels

    if not callable(getattr(mixedmodels, "lmer", None)):
        raise ImportError(f"mixedmodels ({mixedmodels.__path__}) has no lmer() yet")
    ver = getattr(mixedmodels, "__version__", None)
    if ver is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            ver = dist_version("mixedmodels")
        except PackageNotFoundError:
            ver = "unknown"
    return f"{ver} ({mixedmodels.__file__})"


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
    import mixedmodels as mm

    def fit() -> FitOutcome:
        res = mm.lmer(case.formula, data, REML=case.reml)
        converged = getattr(res, "converged", None)
        return FitOutcome(float(res.llf), None if converged is None else bool(converged))

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
    return run_python_peer("mixedmodels", case, reps=reps, timeout=timeout, **options)
