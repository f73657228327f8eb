"""Memory estimate for dense blocks, checked before a block is formed.

A crossed design's fill-in block is dense: ``q`` random effects need a
``q x q`` matrix of 8-byte floats, and factoring it holds a few such
matrices at once (the assembled block, one update product, LAPACK's
result). At MovieLens-25M's 59,000 items one copy is 26 GiB, so asking the
operating system for it either fails deep inside numpy ("Unable to allocate
25.9 GiB") or, worse, swaps the machine. :func:`check_dense_block` refuses
up front with a :class:`~mixedmodels.errors.MemoryLimitError` that names the
factor, its level count and the bytes needed.

Notation
--------
==============  =============================================================
symbol          meaning
==============  =============================================================
``q``           order of the dense block (random effects it holds)
``copies``      ``q x q`` arrays alive at once while it is formed and factored
``available``   memory the operating system reports as available
``budget``      ``SAFETY_FACTOR * available``, or ``MIXEDMODELS_MEMORY_LIMIT``
==============  =============================================================

Settings
--------
``MIXEDMODELS_MEMORY_LIMIT`` (environment variable)
    A byte count (``"2000000000"``) or a size with a unit (``"512MB"``,
    ``"2GiB"``) used as the budget instead of the available memory; for
    tests, and to keep a fit within a share of a shared machine.
:data:`SAFETY_FACTOR`
    The share of the available memory a dense block may use (0.8): the rest
    is left to the cross-products, the optimiser and other processes.
"""

from __future__ import annotations

import os
import re

from ..errors import ArgumentError, MemoryLimitError

__all__ = [
    "SAFETY_FACTOR",
    "available_memory",
    "check_dense_block",
    "dense_block_bytes",
    "fits_in_memory",
    "memory_budget",
]

#: Share of the available memory a dense block (all its copies) may take.
SAFETY_FACTOR = 0.8
#: ``q x q`` arrays alive at once while a dense block is formed and factored.
DENSE_COPIES = 3
_ENV = "MIXEDMODELS_MEMORY_LIMIT"
#: Blocks up to this many bytes are not checked against the memory the operating
#: system reports: asking it (psutil reads ``/proc/meminfo``) took 50-150 us, a few
#: per cent of a small model's fit, and a block this small is not the allocation that
#: exhausts a machine. A ``MIXEDMODELS_MEMORY_LIMIT`` is applied to every block.
UNCHECKED_BYTES = 32 * 2**20
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def available_memory() -> int | None:
    """Bytes the operating system can give without swapping, or ``None`` if unknown.

    psutil when installed, else ``MemAvailable`` of ``/proc/meminfo`` (Linux).
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else None
    if match is None or unit not in _UNITS:
        raise ArgumentError(
            f"{_ENV}={text!r} is not a size: give bytes or a number with a unit such as '2GB'"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def memory_budget() -> int | None:
    """Bytes a dense block may use: ``MIXEDMODELS_MEMORY_LIMIT`` if set, else
    :data:`SAFETY_FACTOR` times :func:`available_memory` (``None``: unknown)."""
    setting = os.environ.get(_ENV)
    if setting:
        return _parse_size(setting)
    available = available_memory()
    return None if available is None else int(SAFETY_FACTOR * available)


def fits_in_memory(n_bytes: int) -> bool:
    """True when ``n_bytes`` are within :func:`memory_budget` (or it is unknown).

    Below :data:`UNCHECKED_BYTES` the operating system is not asked, unless
    ``MIXEDMODELS_MEMORY_LIMIT`` is set.
    """
    if n_bytes <= UNCHECKED_BYTES and not os.environ.get(_ENV):
        return True
    budget = memory_budget()
    return budget is None or n_bytes <= budget


def dense_block_bytes(order: int, copies: int = DENSE_COPIES) -> int:
    """Peak bytes of a dense ``order x order`` float64 block with ``copies`` alive."""
    return int(copies) * int(order) ** 2 * 8


def _gib(n_bytes: float) -> str:
    """A readable size (GiB, else MiB, else kiB)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes / 2**10:.1f} kiB"


def check_dense_block(
    factor_name: str, n_levels: int, order: int, copies: int = DENSE_COPIES
) -> None:
    """Raise :class:`MemoryLimitError` if a dense block of this order would not fit.

    Parameters
    ----------
    factor_name : str
        The grouping factor(s) the block belongs to (for the message).
    n_levels : int
        Their number of levels.
    order : int
        Order of the dense block (random effects in it).
    copies : int
        ``order x order`` arrays alive at once.
    """
    needed = dense_block_bytes(order, copies)
    if fits_in_memory(needed):
        return
    budget = memory_budget()
    raise MemoryLimitError(
        f"the random effects of {factor_name} ({n_levels:,} levels) fill in to a dense "
        f"{order:,} x {order:,} block: factoring it needs about {_gib(needed)} ({needed:,} "
        f"bytes, {copies} copies of {_gib(needed / copies)}), but only {_gib(budget)} may be "
        f"used (set {_ENV} to change the budget). Options: a machine with more memory; "
        "fewer levels (drop or pool the rarest levels of that factor); or a model where the "
        "factor is nested, or not crossed with the factor of most levels."
    )
