"""Progress reporting: tqdm bars for long operations, and lme4's ``verbose`` output.

Bars serve long operations (profiles, chunked and Dask passes, bootstrap);
:class:`EvaluationPrinter` prints every criterion evaluation of a fit.

One helper, :func:`progress`, wraps an iterable in a tqdm bar when progress is
wanted and returns it unchanged otherwise, so callers write
``for item in progress(items, total=n, desc="profile"):`` either way.

Whether a bar is shown (``show=None``):

1. the environment variable ``MIXEDMODELS_PROGRESS`` (``1``/``0``), if set;
2. otherwise only in interactive use: a terminal on stderr, or a Jupyter kernel.

So scripts, CI logs and pipes stay quiet by default. tqdm is the optional
extra ``progress`` (``pip install "mixedmodels[progress]"``); asking for a bar
without it raises :class:`~mixedmodels.errors.OptionalDependencyError`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TextIO, TypeVar

import numpy as np

__all__ = [
    "EvaluationPrinter",
    "check_verbose",
    "dask_progress",
    "progress",
    "progress_wanted",
]

T = TypeVar("T")
ENVIRONMENT_VARIABLE = "MIXEDMODELS_PROGRESS"


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def progress_wanted(show: bool | None = None) -> bool:
    """Resolve ``show=None`` from the environment and the terminal (see module docs)."""
    if show is not None:
        return bool(show)
    setting = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return _interactive()


def progress(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str | None = None,
    show: bool | None = None,
    unit: str = "it",
) -> Iterator[T] | Iterable[T]:
    """``iterable`` with a tqdm progress bar when wanted, else ``iterable`` itself.

    Parameters
    ----------
    iterable : iterable
    total : int, optional
        Number of items (for generators).
    desc : str, optional
        Label in front of the bar.
    show : bool, optional
        Force the bar on or off; ``None`` decides as the module docs say.
    unit : str
        Name of one item.
    """
    if not progress_wanted(show):
        return iterable
    try:
        if "ipykernel" in sys.modules:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError as error:
        from .errors import OptionalDependencyError

        raise OptionalDependencyError(
            'progress bars need tqdm: pip install "mixedmodels[progress]" (or pass show=False)'
        ) from error
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)


def dask_progress(desc: str | None = None, show: bool | None = None) -> AbstractContextManager:
    """A context in which ``dask.compute`` shows a tqdm bar over its tasks (or does nothing).

    Uses tqdm's Dask callback, which follows the local schedulers (threads,
    processes); a ``distributed`` cluster reports progress on its own dashboard.
    """
    if not progress_wanted(show):
        return contextlib.nullcontext()
    try:
        from tqdm.dask import TqdmCallback
    except ImportError as error:
        from .errors import OptionalDependencyError

        raise OptionalDependencyError(
            'progress bars need tqdm: pip install "mixedmodels[progress]" (or pass show=False)'
        ) from error
    return TqdmCallback(desc=desc, leave=False)


class EvaluationPrinter:
    """Wraps the criterion and prints each evaluation, as lme4's ``lmer(verbose = 1)``.

    One line per evaluation: its count, the criterion (REML criterion or
    deviance) and theta. Passed to the optimiser in place of the criterion.
    """

    def __init__(self, function: Callable[[np.ndarray], float], stream: TextIO | None = None):
        self.function = function
        self.stream = stream
        self.count = 0

    def __call__(self, theta: np.ndarray) -> float:
        value = self.function(theta)
        self.count += 1
        values = " ".join(f"{entry:.6g}" for entry in np.asarray(theta, dtype=float))
        print(
            f"iteration: {self.count:4d}  f(x) = {value:.6f}  theta = [{values}]",
            file=self.stream if self.stream is not None else sys.stdout,
        )
        return value


def check_verbose(value: object) -> int:
    """``verbose`` as a non-negative int (``True``/``False`` count as 1/0, as in R)."""
    from .errors import ArgumentTypeError

    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer) and value >= 0:
        return int(value)
    raise ArgumentTypeError(f"verbose must be a non-negative integer, got {value!r}")
