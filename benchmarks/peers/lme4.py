"""lme4 peer: ``lmer()`` in R, driven through ``Rscript peers/lme4_bench.R``.

The R script reads the same CSV + schema files as the Python loaders
(``src/mixedmodels/datasets/data``; InstEval is gzipped) and times each
``lmer(formula, data, REML=)`` call with ``system.time`` (elapsed), so R start-up
and data reading are not included.  Synthetic scale cases are only run when the
caller passes a CSV written by ``synthetic.write_csv`` (``run.py --scale-lme4``).
When ``Rscript`` is not on ``PATH`` the peer is "unavailable".
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from cases import dataset_files

from peers import empty_result, run_streaming

NAME = "lme4"
SCRIPT = Path(__file__).resolve().parent / "lme4_bench.R"


def rscript() -> str | None:
    """Return the path of ``Rscript``, or None when R is not installed.

    Returns
    -------
    str or None
        Path to the executable.
    """
    return shutil.which("Rscript")


def version() -> str:
    """Return the lme4 and R versions.

    Returns
    -------
    str
        e.g. ``"1.1.31 (R version 4.2.2 ...)"``.

    Raises
    ------
    RuntimeError
        If Rscript or lme4 is missing.
    """
    exe = rscript()
    if exe is None:
        raise RuntimeError("Rscript not found on PATH")
    code = ('cat(sprintf("%s (%s)", as.character(packageVersion("lme4")), '
            'R.version.string))')
    out = subprocess.run([exe, "-e", code], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("lme4 not available in R: " + out.stderr.strip()[-300:])
    return out.stdout.strip()


def fit(case: Any, reps: int = 5, timeout: float = 150.0, *,
        csv: Path | None = None, schema: Path | None = None,
        load_timeout: float = 600.0, budget: float = 60.0,
        env: dict[str, str] | None = None, mem_limit: int | None = None,
        **_: Any) -> dict[str, Any]:
    """Fit ``case`` ``reps`` times with lme4 in an ``Rscript`` subprocess.

    Parameters
    ----------
    case : Case
        The case.
    reps : int, optional
        Maximum repetitions.
    timeout : float, optional
        Per-fit timeout in seconds.
    csv, schema : Path, optional
        Data files; default to the bundled data set of a reference case.
    load_timeout : float, optional
        Timeout for R start-up and reading the data.
    budget : float, optional
        Stop repeating once the fits took more than this many seconds in total.
    env : dict, optional
        Environment of the child.
    mem_limit : int or None, optional
        Address-space cap in bytes for the child.

    Returns
    -------
    dict
        ``seconds_min``, ``seconds_all``, ``loglik``, ``converged``, ``error``, ...
    """
    exe = rscript()
    if exe is None:
        return empty_result("unavailable", "Rscript not found on PATH")
    if csv is None or schema is None:
        if case.dataset is None:
            return empty_result("skipped", "synthetic case: pass --scale-lme4 to run lme4")
        csv, schema = dataset_files(case.dataset)
    cmd = [exe, str(SCRIPT), str(csv), str(schema), case.formula,
           "TRUE" if case.reml else "FALSE", str(reps), str(budget)]
    return run_streaming(cmd, timeout=timeout, load_timeout=load_timeout, env=env,
                         mem_limit=mem_limit)
