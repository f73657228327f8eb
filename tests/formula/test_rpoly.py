"""R's orthogonal polynomials and contrast matrices (``formula/rpoly.py``) against R."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels.errors import DataError, FormulaError
from mixedmodels.formula.rpoly import contrast_matrix, poly_apply, poly_fit

from .rfunction_reference import r_matrix, r_reference

R = r_reference()
DEGREES = [case["degree"] for case in R["poly"]]
KINDS = sorted(R["contrasts"])
RTOL = 1e-13  # R's values are written with 15 significant digits


def _poly_case(degree: int) -> dict:
    return next(case for case in R["poly"] if case["degree"] == degree)


@pytest.mark.parametrize("degree", DEGREES, ids=[f"degree{d}" for d in DEGREES])
def test_poly_coefficients_are_rs(degree: int) -> None:
    alpha, norm2 = poly_fit(np.array(R["poly_x"]), degree, "poly(x)")
    case = _poly_case(degree)
    np.testing.assert_allclose(alpha, np.atleast_1d(case["alpha"]), rtol=RTOL)
    np.testing.assert_allclose(norm2, case["norm2"], rtol=RTOL)


@pytest.mark.parametrize("degree", DEGREES, ids=[f"degree{d}" for d in DEGREES])
def test_poly_training_basis_is_rs(degree: int) -> None:
    x = np.array(R["poly_x"])
    basis = poly_apply(x, *poly_fit(x, degree, "poly(x)"))
    np.testing.assert_allclose(basis, r_matrix(_poly_case(degree)["basis"], degree), atol=1e-14)


@pytest.mark.parametrize("degree", DEGREES, ids=[f"degree{d}" for d in DEGREES])
def test_poly_new_values_use_the_training_basis_as_predict_poly(degree: int) -> None:
    coefficients = poly_fit(np.array(R["poly_x"]), degree, "poly(x)")
    new = poly_apply(np.array(R["poly_new"]), *coefficients)
    np.testing.assert_allclose(new, r_matrix(_poly_case(degree)["predict"], degree), rtol=RTOL)


def test_poly_basis_is_orthonormal_and_orthogonal_to_the_intercept() -> None:
    x = np.array([0.3, 1.7, 2.2, 5.0, 5.0, 8.1, 9.9])
    basis = poly_apply(x, *poly_fit(x, 4, "poly(x, 4)"))
    np.testing.assert_allclose(basis.T @ basis, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=1e-12)


def test_poly_of_shifted_values_is_unchanged() -> None:
    # The basis depends on x only through its centred values (R's poly centres first).
    x = np.array([1.0, 2.0, 4.0, 8.0, 9.0])
    basis = poly_apply(x, *poly_fit(x, 3, "p"))
    shifted = poly_apply(x + 1e4, *poly_fit(x + 1e4, 3, "p"))
    np.testing.assert_allclose(shifted, basis, atol=1e-8)


def test_poly_with_missing_values_names_the_term() -> None:
    with pytest.raises(DataError, match=r"poly\(x, 2\).*missing"):
        poly_fit(np.array([1.0, np.nan, 3.0, 4.0]), 2, "poly(x, 2)")


def test_poly_degree_must_be_below_the_distinct_values() -> None:
    with pytest.raises(FormulaError, match=r"poly\(x, 3\).*degree.*\(3\)"):
        poly_fit(np.array([1.0, 2.0, 3.0, 3.0]), 3, "poly(x, 3)")


@pytest.mark.parametrize("kind", KINDS)
def test_contrast_matrices_are_rs_for_two_to_seven_levels(kind: str) -> None:
    for n_levels, rows in zip(range(2, 8), R["contrasts"][kind], strict=True):
        levels = tuple(f"l{index}" for index in range(n_levels))
        matrix, _ = contrast_matrix(kind, levels, "f")
        np.testing.assert_allclose(
            matrix, r_matrix(rows, n_levels - 1), atol=1e-14, err_msg=f"{kind} {n_levels}"
        )


def test_contrast_suffixes_are_rs() -> None:
    levels = ("lo", "mid", "hi", "top")
    assert contrast_matrix("contr.treatment", levels, "f")[1] == ["mid", "hi", "top"]
    assert contrast_matrix("contr.SAS", levels, "f")[1] == ["lo", "mid", "hi"]
    assert contrast_matrix("contr.sum", levels, "f")[1] == ["1", "2", "3"]
    assert contrast_matrix("contr.helmert", levels, "f")[1] == ["1", "2", "3"]
    seven = tuple("abcdefg")
    assert contrast_matrix("contr.poly", seven, "f")[1] == R["contr_poly_names"]


def test_contrast_name_without_prefix() -> None:
    levels = ("a", "b", "c")
    np.testing.assert_array_equal(
        contrast_matrix("sum", levels, "f")[0], contrast_matrix("contr.sum", levels, "f")[0]
    )


def test_contrasts_of_a_single_level_are_empty() -> None:
    matrix, names = contrast_matrix("contr.sum", ("only",), "f")
    assert matrix.shape == (1, 0)
    assert names == []


def test_contrast_given_as_a_matrix() -> None:
    custom = [[1.0, 0.5], [0.0, -1.0], [-1.0, 0.5]]
    matrix, names = contrast_matrix(custom, ("a", "b", "c"), "f")
    np.testing.assert_array_equal(matrix, custom)
    assert names == ["1", "2"]


def test_contrast_matrix_of_the_wrong_shape_names_the_factor() -> None:
    with pytest.raises(FormulaError, match=r"'Diet'.*3 rows.*\(2, 2\)"):
        contrast_matrix([[1.0, 0.0], [0.0, 1.0]], ("a", "b", "c"), "Diet")


def test_unknown_contrast_names_the_factor_and_the_contrast() -> None:
    with pytest.raises(FormulaError, match=r"'Diet'.*'contr.bogus'"):
        contrast_matrix("contr.bogus", ("a", "b"), "Diet")


# Moved from tests/formula/test_rmatrix.py (mirrored path), assertions unchanged.
def test_contrast_matrices_are_rs() -> None:
    levels = ("a", "b", "c")
    np.testing.assert_array_equal(
        contrast_matrix("contr.sum", levels, "f")[0], [[1, 0], [0, 1], [-1, -1]]
    )
    np.testing.assert_array_equal(
        contrast_matrix("contr.helmert", levels, "f")[0], [[-1, -1], [1, -1], [0, 2]]
    )
    poly, names = contrast_matrix("contr.poly", levels, "f")
    np.testing.assert_allclose(
        poly, [[-0.7071068, 0.4082483], [0, -0.8164966], [0.7071068, 0.4082483]], atol=1e-7
    )
    assert names == [".L", ".Q"]
    assert contrast_matrix("contr.poly", tuple("abcdef"), "f")[1] == [".L", ".Q", ".C", "^4", "^5"]
