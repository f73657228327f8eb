"""Exceptions and warnings raised by mixedmodels.

Every error a user can trigger with bad input is a subclass of
:class:`MixedModelsError` (itself a :class:`ValueError`) or of
:class:`MixedModelsTypeError` (a :class:`TypeError`), and its message names the
column, term or argument at fault and says what to do about it.

Hierarchy::

    ValueError
    └── MixedModelsError
        ├── MixedModelsTypeError (also a TypeError)
        │   ├── ArgumentTypeError   wrong type of argument (formula, data, REML, ...)
        │   └── ColumnTypeError     unusable column type (non-numeric response, complex)
        ├── ArgumentError           right type, unusable value (start, weights length)
        ├── FormulaError            unparsable formula, unknown column
        ├── DataError               empty data, Inf, negative weights, constant response
        │   └── MissingDataError    missing values where an error was asked for
        ├── StructureError          random effects not estimable from these data
        └── NotFittedError

    UserWarning
    └── MixedModelsWarning
        ├── SingularFitWarning, ConvergenceWarning, RankDeficiencyWarning
        ├── DataWarning             rows dropped (zero weight, NaN from a transformation)
        └── IdentifiabilityWarning  two terms describe the same random effects
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "ColumnTypeError",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "FormulaError",
    "IdentifiabilityWarning",
    "MemoryLimitError",
    "MissingDataError",
    "MixedModelsError",
    "MixedModelsTypeError",
    "MixedModelsWarning",
    "NestingWarning",
    "NotFittedError",
    "OptionalDependencyError",
    "RankDeficiencyWarning",
    "SingularFitWarning",
    "StructureError",
    "warn_user",
]


class MixedModelsError(ValueError):
    """Base class of the value errors raised for bad input."""


class MixedModelsTypeError(MixedModelsError, TypeError):
    """An argument or column has the wrong type."""


class ArgumentTypeError(MixedModelsTypeError):
    """An argument of a public function has the wrong type (``REML="yes"``, ``data=[...]``)."""


class ColumnTypeError(MixedModelsTypeError):
    """A data column has a type the model cannot use (a categorical response, complex values)."""


class ArgumentError(MixedModelsError):
    """An argument has the right type but an unusable value (a start of the wrong length)."""


class FormulaError(MixedModelsError):
    """A formula cannot be parsed or refers to something that is not there."""


class DataError(MixedModelsError):
    """The data cannot be used as given (empty, non-finite, wrong shape)."""


class MissingDataError(DataError):
    """Missing values were found where the caller asked for an error."""


class StructureError(MixedModelsError):
    """The random-effects structure cannot be estimated from these data."""


class MemoryLimitError(MixedModelsError, MemoryError):
    """A dense block of the factor would not fit in the memory available.

    Raised before the block is formed; the message names the grouping factor,
    its number of levels and the bytes needed (see
    :mod:`mixedmodels.linalg.memory`). Also a :class:`MemoryError`.
    """


class NotFittedError(MixedModelsError):
    """A quantity that needs a fitted model was requested before fitting."""


class OptionalDependencyError(ImportError):
    """An optional extra (matplotlib, tqdm, pyarrow, ...) is needed and not installed."""


class MixedModelsWarning(UserWarning):
    """Base class of mixedmodels' warnings."""


class SingularFitWarning(MixedModelsWarning):
    """The estimated random-effects covariance is singular (a boundary fit)."""


class ConvergenceWarning(MixedModelsWarning):
    """The optimiser stopped without meeting its convergence criteria."""


class NestingWarning(MixedModelsWarning):
    """Models compared by a likelihood-ratio test are not nested (or not comparable)."""


class RankDeficiencyWarning(MixedModelsWarning):
    """Columns of the fixed-effects matrix were dropped because they are collinear."""


class DataWarning(MixedModelsWarning):
    """Rows were dropped for a reason other than a missing value in the data.

    Zero weights, or a transformation such as ``log(x)`` that is undefined on them.
    """


class IdentifiabilityWarning(MixedModelsWarning):
    """Two random-effect terms describe the same effects; only their total variance is estimable."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_user(message: str, category: type[Warning]) -> None:
    """Issue a warning attributed to the first caller outside mixedmodels.

    Parameters
    ----------
    message : str
    category : type of Warning
    """
    frame = sys._getframe(1)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
