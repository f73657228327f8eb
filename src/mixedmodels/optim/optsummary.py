"""The fit log: what the optimiser did and what the convergence checks found.

An :class:`OptSummary` is MixedModels.jl's ``optsum`` for this package: the
optimiser, the starts tried, the evaluations, the final theta and criterion,
each convergence check with its value and tolerance, and the time each stage
took. It is frozen, built once at the end of the fit and kept on the results
as ``results.optsummary``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Check", "OptSummary", "StartRecord"]


@dataclass(frozen=True)
class Check:
    """One convergence check at the final theta.

    Every fit runs its checks and almost every check passes, so the sentence
    and the term are written only when read: ``message`` and ``term`` may be
    given as zero-argument callables (formatting them took a noticeable share
    of a small model's fit).

    Attributes
    ----------
    name : str
        ``"gradient"`` (stationarity on the free directions, as lme4's
        ``check.conv.grad``), ``"hessian"`` (curvature on the free directions,
        as ``check.conv.hess``) or ``"boundary"`` (moving off a bound does not
        lower the criterion).
    passed : bool
    value : float
        The checked quantity: the largest scaled gradient component, the
        smallest Hessian eigenvalue relative to the largest, or the largest
        decrease found off a bound.
    tolerance : float
    message : str
        One sentence, naming the term at fault when one is.
    term : str or None
        The theta entry (``"group: column"``) the check points at.
    """

    name: str
    passed: bool
    value: float
    tolerance: float
    _message: str | Callable[[], str] = field(repr=False)
    _term: str | Callable[[], str | None] | None = field(default=None, repr=False)

    @property
    def message(self) -> str:
        message = self._message
        return message() if callable(message) else message

    @property
    def term(self) -> str | None:
        term = self._term
        return term() if callable(term) else term

    def __reduce__(self) -> tuple:
        # Pickled (saved fits) with the sentence written out, not its closure.
        args = (self.name, self.passed, self.value, self.tolerance, self.message, self.term)
        return (Check, args)

    def __repr__(self) -> str:
        return (
            f"Check(name={self.name!r}, passed={self.passed}, value={self.value!r}, "
            f"tolerance={self.tolerance!r}, message={self.message!r}, term={self.term!r})"
        )


@dataclass(frozen=True)
class StartRecord:
    """One optimiser run: where it started, how it ended, what it cost."""

    label: str
    theta0: np.ndarray
    objective: float
    n_evaluations: int


@dataclass(frozen=True)
class OptSummary:
    """The fit log (MixedModels.jl's ``OptSummary``).

    Attributes
    ----------
    optimizer : str
        The main optimiser (NLopt's BOBYQA) and any used to polish.
    initial_theta, final_theta : ndarray
    final_objective : float
        The criterion (``-2 log L``) at ``final_theta``.
    n_evaluations : int
        Criterion evaluations in all stages, checks included.
    starts : tuple of StartRecord
        Every optimiser run, the first being the default start.
    checks : tuple of Check
        The checks at the final theta.
    gradient : ndarray
        Gradient of the criterion in theta at the end (NaN on a bound, where
        the boundary check steps off instead, and where not computed).
    derivatives : str
        Where the gradient came from: ``"quadratic model"`` (a least-squares
        quadratic through the optimiser's own evaluations, no extra cost) or
        ``"finite differences"``.
    stage_seconds : dict of str to float
        Wall-clock time of each stage (``"optimize"``, ``"check"``,
        ``"restart"``, ``"recheck"``).
    """

    optimizer: str
    initial_theta: np.ndarray
    final_theta: np.ndarray
    final_objective: float
    n_evaluations: int
    starts: tuple[StartRecord, ...]
    checks: tuple[Check, ...]
    gradient: np.ndarray
    derivatives: str
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def lines(self) -> list[str]:
        """The log as text lines (shown by ``summary()`` when a check failed)."""
        theta = np.array2string(self.final_theta, precision=6, separator=", ")
        gradient = np.array2string(self.gradient, precision=3, separator=", ")
        stages = ", ".join(
            f"{name} {1e3 * seconds:.1f} ms" for name, seconds in self.stage_seconds.items()
        )
        lines = [
            f"Optimizer: {self.optimizer}; {self.n_evaluations} evaluations; "
            f"{len(self.starts)} run(s)",
            f"  final theta: {theta}; criterion {self.final_objective:.10g}",
            f"  gradient ({self.derivatives}): {gradient}",
        ]
        for start in self.starts:
            lines.append(
                f"  run from {start.label}: criterion {start.objective:.10g}, "
                f"{start.n_evaluations} evaluations"
            )
        for check in self.checks:
            status = "ok" if check.passed else "FAILED"
            lines.append(f"  check {check.name}: {status} ({check.message})")
        if stages:
            lines.append(f"  time: {stages}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())
