"""Random-effect terms and the blocks the engine works on.

A *term* is what the user wrote, e.g. ``(1 + Days | Subject)``: a grouping
factor, a small model matrix and a covariance pattern. A *block* is what the
engine factorises: all terms on the same grouping factor are merged into one
block, whose relative covariance factor ``T`` is block-diagonal across the
merged terms (so ``(1 | g) + (0 + x | g)`` and ``(x || g)`` are one block with a
diagonal ``T``). Merging is what MixedModels.jl does; it keeps the Cholesky
factor's diagonal blocks block-diagonal instead of creating fill-in between two
terms on the same factor.

Notation
--------
============  ==============================================================
symbol        meaning
============  ==============================================================
``n``         number of observations
``p_b``       columns of block ``b``'s model matrix ``z``
``l_b``       levels of block ``b``'s grouping factor
``theta``     lme4's relative covariance parameters, terms ordered by
              decreasing number of levels (stable), each term's lower
              triangle column by column
``T_b``       ``p_b x p_b`` lower-triangular factor built from ``theta``
``Lambda_b``  ``I_{l_b} (x) T_b``, the block's relative covariance factor
============  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import StructureError
from .grouping import GroupingFactor

__all__ = [
    "RandomEffectsBlock",
    "TermInfo",
    "TermSpec",
    "assemble_blocks",
    "block_pattern",
    "full_pattern",
]


def full_pattern(n_columns: int) -> np.ndarray:
    """Local theta map of an unstructured term: the lower triangle, column by column."""
    pattern = -np.ones((n_columns, n_columns), dtype=np.int64)
    counter = 0
    for column in range(n_columns):
        for row in range(column, n_columns):
            pattern[row, column] = counter
            counter += 1
    return pattern


def block_pattern(free: np.ndarray) -> np.ndarray:
    """Local theta map of a term whose covariance has structural zeros.

    ``free`` is a symmetric boolean ``p x p`` mask of the covariances that are
    estimated (diagonal all True). When it is block diagonal after a permutation
    of the columns, ``T`` with zeros between the blocks spans exactly the
    covariance matrices ``T T'`` with those zeros; the free entries of ``T``'s
    lower triangle are numbered column by column, as in :func:`full_pattern`.

    Raises
    ------
    StructureError
        When the mask is not block diagonal after any permutation (no ``T``
        pattern gives exactly those zeros).
    """
    free = np.asarray(free, dtype=bool)
    _, block = connected_components(sp.csr_matrix(free), directed=False)
    same = block[:, None] == block[None, :]
    if not np.array_equal(same, free):
        raise StructureError(
            f"covariance mask {free.astype(int).tolist()} is not block diagonal after a "
            "permutation of the columns"
        )
    transposed = -np.ones(free.shape, dtype=np.int64)
    entries = np.tril(same).T  # row-major over the transpose: column by column
    transposed[entries] = np.arange(int(entries.sum()))
    return transposed.T.copy()


@dataclass(frozen=True)
class TermSpec:
    """One random-effect term before blocks are assembled.

    Attributes
    ----------
    factor : GroupingFactor
    z : ndarray, shape (n, p)
        The term's model matrix.
    column_names : tuple of str
    pattern : ndarray of int, shape (p, p)
        Local theta index of each entry of ``T`` (``-1`` for a structural zero);
        entries that share an index share one parameter.
    label : str
        Name shown for the term, e.g. ``"Subject"``.
    """

    factor: GroupingFactor
    z: np.ndarray
    column_names: tuple[str, ...]
    pattern: np.ndarray
    label: str = ""

    @property
    def n_theta(self) -> int:
        """Number of distinct parameters in the term."""
        return int(self.pattern.max()) + 1 if (self.pattern >= 0).any() else 0


@dataclass(frozen=True)
class TermInfo:
    """Where a user's term landed: its block, its columns and its theta entries."""

    label: str
    group_name: str
    column_names: tuple[str, ...]
    block: int
    columns: tuple[int, ...]
    theta_indices: tuple[int, ...]


#: Entries of ``T`` up to which :meth:`RandomEffectsBlock.lambda_factor` sets them one
#: by one.
_FEW_ENTRIES = 6


@dataclass
class RandomEffectsBlock:
    """All random-effect columns on one grouping factor.

    Attributes
    ----------
    factor : GroupingFactor
    z : ndarray, shape (n, p)
    column_names : tuple of str
    theta_index : ndarray of int, shape (p, p)
        Global theta index of each entry of ``T`` (``-1`` where ``T`` is zero).
    """

    factor: GroupingFactor
    z: np.ndarray
    column_names: tuple[str, ...]
    theta_index: np.ndarray
    _rows: np.ndarray = field(init=False, repr=False)
    _cols: np.ndarray = field(init=False, repr=False)
    _idx: np.ndarray = field(init=False, repr=False)
    _entries: tuple[tuple[int, int, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rows, self._cols = np.nonzero(self.theta_index >= 0)
        self._idx = self.theta_index[self._rows, self._cols]
        self._entries = tuple(
            zip(self._rows.tolist(), self._cols.tolist(), self._idx.tolist(), strict=True)
        )

    def __setstate__(self, state: dict) -> None:
        # The derived lookups are rebuilt, so a pickle from an older version loads.
        self.__dict__.update(state)
        self.__post_init__()

    @cached_property
    def is_intercept_only(self) -> bool:
        """True for a scalar random intercept (``z`` is a column of ones); cached, as the
        test reads every row and a fit asks several times."""
        return (
            self.n_columns == 1
            and self.theta_index[0, 0] >= 0
            and (self.z is None or bool(np.all(self.z == 1.0)))
        )

    @property
    def n_columns(self) -> int:
        """Columns ``p`` of the block's model matrix."""
        return self.z.shape[1]

    @property
    def n_levels(self) -> int:
        """Levels ``l`` of the grouping factor."""
        return self.factor.n_levels

    @property
    def n_random(self) -> int:
        """Number of random effects ``q = l * p``."""
        return self.n_levels * self.n_columns

    @property
    def is_diagonal(self) -> bool:
        """True when ``T`` has no entry off its diagonal (independent columns)."""
        return all(row == col for row, col, _ in self._entries)

    def lambda_factor(self, theta: np.ndarray) -> np.ndarray:
        """The ``p x p`` lower-triangular ``T`` for a global ``theta``."""
        factor = np.zeros(self.theta_index.shape)
        if len(self._entries) <= _FEW_ENTRIES:
            # Item by item: two fancy-indexing calls cost more than a few items, and
            # this runs twice per block in every evaluation of the criterion.
            for row, col, index in self._entries:
                factor[row, col] = theta[index]
        else:
            factor[self._rows, self._cols] = theta[self._idx]
        return factor

    def diagonal_theta_indices(self) -> np.ndarray:
        """Global indices of theta entries that sit on the diagonal of ``T``."""
        diagonal = np.diag(self.theta_index)
        return np.unique(diagonal[diagonal >= 0])


def assemble_blocks(terms: list[TermSpec]) -> tuple[list[RandomEffectsBlock], list[TermInfo], int]:
    """Order terms as lme4 does, number theta globally and merge terms per factor.

    Terms are ordered by decreasing number of levels, ties kept in the order
    given (lme4's theta order). Blocks follow the same order, so the factor with
    the most levels comes first in the Cholesky factor.

    Returns
    -------
    blocks : list of RandomEffectsBlock
    term_infos : list of TermInfo
        In the order the terms were given.
    n_theta : int
    """
    order = sorted(range(len(terms)), key=lambda index: -terms[index].factor.n_levels)
    theta_offset = {}
    offset = 0
    for index in order:
        theta_offset[index] = offset
        offset += terms[index].n_theta
    block_of_group: dict[str, int] = {}
    members: list[list[int]] = []
    for index in order:
        name = terms[index].factor.name
        if name not in block_of_group:
            block_of_group[name] = len(members)
            members.append([])
        members[block_of_group[name]].append(index)
    blocks: list[RandomEffectsBlock] = []
    infos: dict[int, TermInfo] = {}
    for block_number, term_indices in enumerate(members):
        widths = [terms[index].z.shape[1] for index in term_indices]
        total = sum(widths)
        theta_index = -np.ones((total, total), dtype=np.int64)
        start = 0
        for index, width in zip(term_indices, widths, strict=True):
            local = terms[index].pattern
            shifted = np.where(local >= 0, local + theta_offset[index], -1)
            theta_index[start : start + width, start : start + width] = shifted
            infos[index] = TermInfo(
                label=terms[index].label or terms[index].factor.name,
                group_name=terms[index].factor.name,
                column_names=terms[index].column_names,
                block=block_number,
                columns=tuple(range(start, start + width)),
                theta_indices=tuple(
                    range(theta_offset[index], theta_offset[index] + terms[index].n_theta)
                ),
            )
            start += width
        z = np.column_stack([terms[index].z for index in term_indices])
        names = tuple(name for index in term_indices for name in terms[index].column_names)
        blocks.append(RandomEffectsBlock(terms[term_indices[0]].factor, z, names, theta_index))
    return blocks, [infos[index] for index in range(len(terms))], offset
