"""Structural checks with lme4's defaults, run before any fitting, and argument checks.

:func:`check_structure` mirrors lme4's ``lmerControl()`` checks, all at their
default action (``"stop"``):

==========================  ==================================================
lme4 check                  here
==========================  ==================================================
``check.nlev.gtr.1``        a grouping factor needs at least 2 levels
``check.nobs.vs.nlev``      levels of each factor < observations
``check.nobs.vs.nRE``       random effects of each term < observations
(none; lme4 fits)           a constant response is an error
(none; lme4 fits)           two terms with the same effects: a warning
==========================  ==================================================

:func:`check_flag` and :func:`check_start` validate arguments of the public
functions, so that a wrong type never reaches numpy or NLopt.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import (
    ArgumentError,
    ArgumentTypeError,
    DataError,
    IdentifiabilityWarning,
    StructureError,
    warn_user,
)
from .terms import RandomEffectsBlock

__all__ = [
    "check_constant",
    "check_flag",
    "check_levels",
    "check_start",
    "check_structure",
    "duplicate_effects",
    "term_widths",
    "warn_duplicates",
]

# A response whose range is below this multiple of machine epsilon times its
# magnitude is constant up to rounding (e.g. 0.1 + 0.2 and 0.3).
_CONSTANT_RELATIVE = 64 * np.finfo(float).eps


def check_flag(value: object, name: str) -> bool:
    """Return ``value`` as a bool, or raise when it is not one.

    Parameters
    ----------
    value : object
        ``True``, ``False`` or a numpy bool.
    name : str
        Argument name used in the message, e.g. ``"REML"``.

    Returns
    -------
    bool

    Raises
    ------
    ArgumentTypeError
        For anything else (``"yes"``, ``1``, ``None``): truthiness would
        silently pick a fit the user did not ask for.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def check_start(start: object, n_theta: int, lower: np.ndarray | None = None) -> np.ndarray:
    """Validate a user's starting theta (lme4's ``start=list(theta=...)``).

    Parameters
    ----------
    start : array-like
        Starting values, one per covariance parameter.
    n_theta : int
        Number of covariance parameters of the model.
    lower : ndarray, optional
        Lower bounds; a start below them is an error.

    Returns
    -------
    ndarray of float, shape (n_theta,)

    Raises
    ------
    ArgumentTypeError
        If ``start`` is not numeric.
    ArgumentError
        If it has the wrong length, is not finite or is below a bound.
    """
    try:
        array = np.asarray(start, dtype=float)
    except (TypeError, ValueError) as error:
        raise ArgumentTypeError(
            f"start must be a sequence of {n_theta} numbers (theta), got {start!r}"
        ) from error
    array = np.atleast_1d(array)
    if array.shape != (n_theta,):
        raise ArgumentError(
            f"start must have {n_theta} element(s), one per covariance parameter (theta), "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ArgumentError("start holds non-finite values; give finite starting theta")
    if lower is not None and np.any(array < lower):
        bad = np.flatnonzero(array < lower).tolist()
        raise ArgumentError(
            f"start entries {bad} are below their lower bound 0 (diagonal entries of the "
            "relative covariance factor must be non-negative)"
        )
    return array


def term_widths(block: RandomEffectsBlock) -> list[int]:
    """Number of columns of each term merged into ``block``.

    Terms on one factor are merged with a block-diagonal ``T``; a term ends
    where no theta entry links its columns with the following ones.
    """
    index = block.theta_index
    size = index.shape[0]
    widths: list[int] = []
    start = 0
    for column in range(1, size + 1):
        if column == size or not np.any(index[column:, start:column] >= 0):
            widths.append(column - start)
            start = column
    return widths


def _partition_key(codes: np.ndarray) -> np.ndarray:
    """Codes renumbered by first appearance, so equal partitions give equal keys."""
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def duplicate_effects(
    blocks: list[RandomEffectsBlock],
    same_column: Callable[[int, int, int, int], bool] | None = None,
    same_groups: Callable[[int, int], bool] | None = None,
) -> list[tuple[str, str, str]]:
    """Pairs of terms that give the same random effects: ``(factor_a, factor_b, column)``.

    Two columns describe the same effects when their grouping factors split
    the rows into the same groups and the columns are equal. Within one block
    this is the same column in two terms (``(1 | g) + (1 | g)``); across
    blocks, two factors with different names but the same groups.

    Parameters
    ----------
    blocks : list of RandomEffectsBlock
    same_column : callable, optional
        ``same_column(block_a, column_a, block_b, column_b)``: whether the two
        columns are equal on every row. By default compared on ``block.z``;
        the chunked design, which keeps no rows, gives its own.
    same_groups : callable, optional
        ``same_groups(block_a, block_b)``: whether two factors with the same
        number of levels split the rows into the same groups. By default
        compared on the factors' codes.

    Returns
    -------
    list of tuple
    """
    if same_column is None:

        def same_column(first: int, a: int, second: int, b: int) -> bool:
            return np.array_equal(blocks[first].z[:, a], blocks[second].z[:, b])

    if same_groups is None:
        counts = [block.n_levels for block in blocks]
        keys = [
            _partition_key(block.factor.codes) if counts.count(block.n_levels) > 1 else None
            for block in blocks
        ]

        def same_groups(first: int, second: int) -> bool:
            return np.array_equal(keys[first], keys[second])

    found: list[tuple[str, str, str]] = []
    for first, block in enumerate(blocks):
        found += _repeated_in_block(first, block, same_column)
        for second in range(first + 1, len(blocks)):
            other = blocks[second]
            if other.n_levels != block.n_levels or not same_groups(first, second):
                continue
            for a in range(block.n_columns):
                for b in range(other.n_columns):
                    if same_column(first, a, second, b):
                        found.append((block.factor.name, other.factor.name, block.column_names[a]))
    return found


def _repeated_in_block(
    first: int, block: RandomEffectsBlock, same_column: Callable[[int, int, int, int], bool]
) -> list[tuple[str, str, str]]:
    """Equal columns of two different terms of one block (``(1 | g) + (1 | g)``)."""
    starts = np.cumsum([0, *term_widths(block)])
    term_of = np.searchsorted(starts, np.arange(block.n_columns), side="right")
    name = block.factor.name
    return [
        (name, name, block.column_names[a])
        for a in range(block.n_columns)
        for b in range(a + 1, block.n_columns)
        if term_of[a] != term_of[b] and same_column(first, a, first, b)
    ]


def check_constant(n_obs: int, first: float, low: float, high: float) -> None:
    """Raise when the response is constant up to rounding.

    Parameters
    ----------
    n_obs : int
        Observations used.
    first, low, high : float
        The response's first value, minimum and maximum on the rows used.

    Raises
    ------
    DataError
        The range is below a small multiple of machine epsilon times the magnitude.
    """
    if n_obs > 1 and high - low <= _CONSTANT_RELATIVE * max(abs(low), abs(high)):
        raise DataError(
            f"the response is constant (every value is {first:g}); there is no variation "
            "to split between random effects and residual: check the response column"
        )


def check_levels(n_obs: int, blocks: list[RandomEffectsBlock]) -> None:
    """lme4's level and random-effect counts against the observations.

    Parameters
    ----------
    n_obs : int
        Observations used.
    blocks : list of RandomEffectsBlock
        Only their factor names, level counts and term widths are read.

    Raises
    ------
    StructureError
        No random-effect term; a factor with fewer than 2 levels; as many
        levels as observations; a term with as many random effects as
        observations.
    """
    if not blocks:
        raise StructureError(
            "the model has no random-effect term such as (1 | g); use an ordinary linear "
            "model for fixed effects only"
        )
    for block in blocks:
        name = block.factor.name
        if block.n_levels < 2:
            raise StructureError(
                f"grouping factor {name!r} has {block.n_levels} level(s); a variance "
                "cannot be estimated from fewer than 2 levels: remove the term or use "
                f"{name!r} as a fixed effect"
            )
        if block.n_levels >= n_obs:
            raise StructureError(
                f"grouping factor {name!r} has {block.n_levels} levels for {n_obs} "
                "observations; its variance cannot be separated from the residual "
                "variance: each level needs more than one observation on average"
            )
        for width in term_widths(block):
            n_random = width * block.n_levels
            if n_random >= n_obs:
                raise StructureError(
                    f"a random-effect term on {name!r} has {n_random} random effects "
                    f"({width} per level x {block.n_levels} levels) for {n_obs} observations; "
                    "the model is not identifiable: simplify the term, e.g. (1 | "
                    f"{name})"
                )


def warn_duplicates(found: list[tuple[str, str, str]]) -> None:
    """An :class:`~mixedmodels.errors.IdentifiabilityWarning` per :func:`duplicate_effects` pair."""
    for first, second, column in found:
        where = (
            f"two terms on {first!r}"
            if first == second
            else f"grouping factors {first!r} and {second!r} define the same groups and"
        )
        warn_user(
            f"{where} both have a random {column!r} effect; only the sum of their variances "
            "is identifiable (the likelihood and fixed effects are correct, the split between "
            "the two is arbitrary): remove one of the terms",
            IdentifiabilityWarning,
        )


def check_structure(y: np.ndarray, blocks: list[RandomEffectsBlock]) -> None:
    """Raise a clear error when the random-effects structure cannot be estimated.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Response on the rows used.
    blocks : list of RandomEffectsBlock

    Raises
    ------
    DataError
        Empty, non-finite or constant response; terms with a different number
        of rows than the response.
    StructureError
        See :func:`check_levels`.

    Warns
    -----
    IdentifiabilityWarning
        Two terms describe the same random effects; the fit is correct for
        their total variance but the split between them is arbitrary.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"the response must be one-dimensional, got shape {y.shape}")
    n_obs = len(y)
    for block in blocks:
        if block.z.shape[0] != n_obs or block.factor.codes.shape[0] != n_obs:
            raise DataError(
                f"the random-effect term(s) on {block.factor.name!r} have "
                f"{block.z.shape[0]} rows for a response of {n_obs}; give one row per "
                "observation"
            )
    if n_obs == 0:
        raise DataError("the model has no observations; check the data and missing values")
    if not np.all(np.isfinite(y)):
        raise DataError(
            "the response holds non-finite values (NaN or Inf); drop or replace them before fitting"
        )
    check_constant(n_obs, float(y[0]), float(np.min(y)), float(np.max(y)))
    check_levels(n_obs, blocks)
    warn_duplicates(duplicate_effects(blocks))
