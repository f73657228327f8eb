"""The exception and warning classes, and warnings attributed to the user's code."""

from __future__ import annotations

import warnings

import pytest

import mixedmodels as mm
from mixedmodels import errors


def test_errors_are_value_or_type_errors() -> None:
    assert issubclass(errors.MixedModelsError, ValueError)
    for name in ("FormulaError", "DataError", "StructureError", "ArgumentError"):
        assert issubclass(getattr(errors, name), errors.MixedModelsError)
    for name in ("ArgumentTypeError", "ColumnTypeError"):
        assert issubclass(getattr(errors, name), TypeError)
    assert issubclass(errors.MissingDataError, errors.DataError)
    for name in ("SingularFitWarning", "ConvergenceWarning", "DataWarning"):
        assert issubclass(getattr(errors, name), errors.MixedModelsWarning)


def test_warn_user_points_at_the_caller() -> None:
    with pytest.warns(errors.DataWarning, match="hello") as caught:
        errors.warn_user("hello", errors.DataWarning)
    assert caught[0].filename == __file__


def test_library_warnings_point_at_the_caller() -> None:
    data = mm.datasets.load("sleepstudy").assign(w=1.0)
    data.loc[0, "w"] = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mm.lmer("Reaction ~ Days + (Days | Subject)", data, weights="w")
    dropped = [w for w in caught if issubclass(w.category, errors.DataWarning)]
    assert dropped and dropped[0].filename == __file__
