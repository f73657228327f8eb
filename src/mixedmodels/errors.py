"""Exceptions and warnings raised by mixedmodels.

Every error a user can trigger with bad input is a subclass of
:class:`MixedModelsError` (itself a :class:`ValueError`) or of
:class:`MixedModelsTypeError` (a :class:`TypeError`), and its message names the
column, term or argument at fault and says what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "FormulaError",
    "MissingDataError",
    "MixedModelsError",
    "MixedModelsTypeError",
    "MixedModelsWarning",
    "NotFittedError",
    "RankDeficiencyWarning",
    "SingularFitWarning",
    "StructureError",
]


class MixedModelsError(ValueError):
    """Base class of the value errors raised for bad input."""


class MixedModelsTypeError(MixedModelsError, TypeError):
    """An argument or column has the wrong type."""


class FormulaError(MixedModelsError):
    """A formula cannot be parsed or refers to something that is not there."""


class DataError(MixedModelsError):
    """The data cannot be used as given (empty, non-finite, wrong shape)."""


class MissingDataError(DataError):
    """Missing values were found where the caller asked for an error."""


class StructureError(MixedModelsError):
    """The random-effects structure cannot be estimated from these data."""


class NotFittedError(MixedModelsError):
    """A quantity that needs a fitted model was requested before fitting."""


class MixedModelsWarning(UserWarning):
    """Base class of mixedmodels' warnings."""


class SingularFitWarning(MixedModelsWarning):
    """The estimated random-effects covariance is singular (a boundary fit)."""


class ConvergenceWarning(MixedModelsWarning):
    """The optimiser stopped without meeting its convergence criteria."""


class RankDeficiencyWarning(MixedModelsWarning):
    """Columns of the fixed-effects matrix were dropped because they are collinear."""
