"""A random eliminated-path system shared by the pair-operator tests (``linalg/pairs.py``,
``linalg/densepairs.py``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def random_case(p0: int, seed: int):
    """``A_R0`` (``m x levels p0``), ``A_RR``, the scale groups, the level classes, one
    positive definite ``W`` per class, and the generator for the rest of a test."""
    rng = np.random.default_rng(seed)
    m, levels = 9, 7
    first = sp.random(m, levels * p0, density=0.4, random_state=seed, format="csr")
    first.data = rng.standard_normal(first.nnz)
    a_rr = rng.standard_normal((m, m))
    a_rr = a_rr @ a_rr.T
    groups = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
    level_class = np.array([0, 1, 0, 2, 1, 3, 0])  # some levels share W
    n_classes = level_class.max() + 1
    half = rng.standard_normal((n_classes, p0, p0))
    w_classes = half @ np.swapaxes(half, 1, 2)
    return first, a_rr, groups, level_class, w_classes, rng
