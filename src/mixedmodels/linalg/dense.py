"""Cholesky factorisation of a large dense block in place.

The filled-in block of a crossed model (MovieLens' items) is the largest
array of a fit, and its ``dpotrf`` the largest cost of an evaluation. It is
factored in place: the block is assembled in C order, and its transpose (a
Fortran-ordered view of the same memory) goes to LAPACK as an *upper*
factorisation, which is the C-ordered *lower* one, so no copy is made.

Notation
--------
=========  ==============================================================
symbol     meaning
=========  ==============================================================
``D``      symmetric positive definite ``n x n`` block, C order, lower used
``L``      its lower Cholesky factor, written over ``D``
=========  ==============================================================
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

__all__ = ["cholesky_in_place"]


def cholesky_in_place(dense: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of ``dense`` (C-contiguous, lower triangle read), in place.

    Parameters
    ----------
    dense : ndarray, shape (n, n)
        Overwritten by the factor; its strict upper triangle is set to zero.

    Returns
    -------
    ndarray
        ``dense`` itself (or a factored copy if it was not C-contiguous).

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``dense`` is not positive definite.
    """
    if not dense.flags.c_contiguous:
        dense = np.ascontiguousarray(dense)
    # dense.T is Fortran-contiguous: LAPACK's upper factor of it is dense's lower factor.
    factor, info = lapack.dpotrf(dense.T, lower=0, clean=1, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(
            f"{info}-th leading minor of the dense block is not positive definite"
        )
    if not np.shares_memory(factor, dense):  # pragma: no cover - f2py made a copy
        dense[...] = factor.T
    return dense
