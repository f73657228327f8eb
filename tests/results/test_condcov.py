"""Joint conditional covariances of random effects (``results/condcov.py``)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import scipy.linalg

import mixedmodels as mm
from mixedmodels.results.condcov import joint_conditional_covariances

CASES = {
    # one block (single path), crossed scalar factors (eliminated path), and a
    # two-column block next to a scalar one
    "sleepstudy": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "Penicillin": ("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "dietox": ("dietox", "Weight ~ Time + (Time | Pig) + (1 | Evit)"),
    # a full T in a later block of the eliminated path (its factor is not the buffer)
    "dietox_later_slope": ("dietox", "Weight ~ Time + (1 | Pig) + (Time | Evit)"),
}


@cache
def _fit(name: str):
    dataset, formula = CASES[name]
    return mm.LinearMixedModel.from_formula(formula, mm.datasets.load(dataset)).fit(warn=False)


def _dense_reference(fit) -> tuple[np.ndarray, np.ndarray]:
    """``sigma2 Lambda (Lambda' Z' Z Lambda + I)^{-1} Lambda'`` from the design, and the
    block offsets (independent of the factorisation)."""
    blocks, factors = (
        fit.model.blocks,
        [block.lambda_factor(fit.theta) for block in fit.model.blocks],
    )
    columns = []
    for block in blocks:
        dense = np.zeros((len(block.factor.codes), block.n_levels * block.n_columns))
        for column in range(block.n_columns):
            dense[np.arange(dense.shape[0]), block.factor.codes * block.n_columns + column] = (
                block.z[:, column]
            )
        columns.append(dense)
    z = np.hstack(columns)
    lam = scipy.linalg.block_diag(
        *[
            np.kron(np.eye(block.n_levels), factor)
            for block, factor in zip(blocks, factors, strict=True)
        ]
    )
    inverse = np.linalg.inv(lam.T @ z.T @ z @ lam + np.eye(lam.shape[0]))
    offsets = np.concatenate([[0], np.cumsum([block.n_random for block in blocks])])
    return fit.scale * lam @ inverse @ lam.T, offsets


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_diagonal_blocks_are_lme4s_condvar(name: str) -> None:
    """Each level's block of a joint set (and a set of one level) is lme4's condVar."""
    fit = _fit(name)
    blocks = fit.model.blocks
    condcov = fit.ranef_condcov()
    pairs = [(b, level) for b, block in enumerate(blocks) for level in range(block.n_levels)]
    joint = joint_conditional_covariances(fit, [pairs])[0]
    singles = joint_conditional_covariances(fit, [[pair] for pair in pairs])
    start = 0
    for (b, level), single in zip(pairs, singles, strict=True):
        width = blocks[b].n_columns
        want = condcov[blocks[b].factor.name][level]
        got = joint[start : start + width, start : start + width]
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10 * fit.scale)
        np.testing.assert_array_equal(single, want)
        start += width


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_joint_sets_are_the_dense_inverse(name: str) -> None:
    """Sets across levels and factors equal the selected entries of the dense inverse."""
    fit = _fit(name)
    blocks = fit.model.blocks
    dense, offsets = _dense_reference(fit)
    rng = np.random.default_rng(7)
    sets = []
    for _ in range(5):
        pairs = []
        for b, block in enumerate(blocks):
            levels = rng.choice(block.n_levels, size=min(2, block.n_levels), replace=False)
            pairs += [(b, int(level)) for level in levels]
        sets.append(pairs[::-1])
    sets.append([])
    got = joint_conditional_covariances(fit, sets)
    for pairs, mine in zip(sets, got, strict=True):
        index = np.concatenate(
            [
                offsets[b] + level * blocks[b].n_columns + np.arange(blocks[b].n_columns)
                for b, level in pairs
            ]
            or [np.zeros(0, dtype=int)]
        ).astype(int)
        np.testing.assert_allclose(
            mine, dense[np.ix_(index, index)], rtol=1e-7, atol=1e-10 * fit.scale
        )
