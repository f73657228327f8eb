"""Cholesky factorisation of a large dense block in place.

The filled-in block of a crossed model (MovieLens' items) is the largest
array of a fit, and its ``dpotrf`` the largest cost of an evaluation. It is
factored in place: the block is assembled in C order, and its transpose (a
Fortran-ordered view of the same memory) goes to LAPACK as an *upper*
factorisation, which is the C-ordered *lower* one, so no copy is made.

**Threads.** A fit runs its BLAS calls with one thread (the model's thread
policy). For a large dense block alone, two threads were measured 1.7x
faster on this project's 2-core machine when its other core was idle
(``dpotrf`` of order 3,706: 0.44 s with one thread, 0.25 s with two; the
``dsyrk`` of the fill-in head 0.23 s and 0.12 s), but 2x *slower* when the
machine was loaded (load average 10: 2.0-3.0 s against 4.1-5.3 s per
MovieLens-1M evaluation). So :func:`block_threads` gives two threads only to
blocks of order at least :data:`THREADED_ORDER` and only while the load
average leaves a core idle; otherwise the enclosing policy stands. With two
threads the factorisation is tiled (:data:`TILE`): scipy's bundled OpenBLAS
0.3.31 crashes in a two-thread ``dpotrf`` of order 16,000, so no single
``dpotrf`` call is given more than ``TILE`` rows; the tiles are joined by
``dtrsm`` and ``dsyrk``.

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

import contextlib
import os

import numpy as np
from scipy.linalg import lapack
from scipy.linalg.blas import dsyrk, dtrsm

__all__ = ["THREADED_ORDER", "TILE", "block_threads", "cholesky_in_place", "threads_limit"]

#: Smallest order of a dense block that may use two threads. Disabled (the largest
#: int64): on an idle machine a whole ML-1M fit took 30.2 s with two threads for the
#: block (BLAS and the numba kernel) against 16.0 s with one, although ``dpotrf`` alone
#: was 1.7x faster with two; set it (e.g. 2000) to use the two-thread, tiled path.
THREADED_ORDER = 2**63 - 1
#: Largest order of one ``dpotrf`` call with more than one thread.
TILE = 4000
_controller = None


def block_threads(order: int) -> int:
    """BLAS threads for the work on one dense block of ``order``: 2 or 1 (no change).

    Two threads when the block is large and a core is idle (load average below
    the core count minus one half, this process included).
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on this platform
        return 1
    return 2 if order >= THREADED_ORDER and cores >= 2 and load < cores - 0.5 else 1


def threads_limit(threads: int) -> contextlib.AbstractContextManager:
    """Context running BLAS with ``threads`` threads; 1 leaves the enclosing policy."""
    global _controller
    if threads <= 1:
        return contextlib.nullcontext()
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=threads, user_api="blas")


def cholesky_in_place(dense: np.ndarray, tile: int | None = None) -> np.ndarray:
    """Lower Cholesky factor of ``dense`` (C-contiguous, lower triangle read), in place.

    Parameters
    ----------
    dense : ndarray, shape (n, n)
        Overwritten by the factor; its strict upper triangle is set to zero.
    tile : int, optional
        Rows per ``dpotrf`` call (default: one call for the whole block).

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
    upper = dense.T
    n = upper.shape[0]
    tile = n if tile is None else tile
    for start in range(0, n, tile):
        stop = min(start + tile, n)
        _potrf_upper(upper, start, stop)
        if stop < n:
            # Panel R_12 = R_11^{-T} U_12, then the trailing U_22 -= R_12' R_12.
            panel = dtrsm(1.0, upper[start:stop, start:stop], upper[start:stop, stop:], trans_a=1)
            upper[start:stop, stop:] = panel
            trailing = upper[stop:, stop:]
            trailing[...] = dsyrk(-1.0, panel, beta=1.0, c=trailing, trans=1, lower=0)
            upper[stop:, start:stop] = 0.0  # the factor's strict upper part (C order)
    return dense


def _potrf_upper(upper: np.ndarray, start: int, stop: int) -> None:
    """Factor the diagonal tile ``upper[start:stop, start:stop]`` in place (upper, clean)."""
    block = upper[start:stop, start:stop]
    factor, info = lapack.dpotrf(block, lower=0, clean=1, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(
            f"{start + info}-th leading minor of the dense block is not positive definite"
        )
    if not np.shares_memory(factor, block):  # a tile of a larger array is copied
        block[...] = factor
