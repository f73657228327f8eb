"""Joint conditional covariances of random effects (``results/condcov.py``)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import scipy.linalg

import mixedmodels as mm
from mixedmodels.results.condcov import effect_offsets, joint_conditional_covariances

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


def _dense_reference(fit) -> np.ndarray:
    """``sigma2 Lambda (Lambda' Z' Z Lambda + I)^{-1} Lambda'`` from the design
    (independent of the factorisation)."""
    blocks = fit.model.blocks
    factors = [block.lambda_factor(fit.theta) for block in blocks]
    columns = []
    for block in blocks:
        dense = np.zeros((len(block.factor.codes), block.n_levels * block.n_columns))
        for column in range(block.n_columns):
            rows = np.arange(dense.shape[0])
            dense[rows, block.factor.codes * block.n_columns + column] = block.z[:, column]
        columns.append(dense)
    z = np.hstack(columns)
    lam = scipy.linalg.block_diag(
        *[
            np.kron(np.eye(block.n_levels), factor)
            for block, factor in zip(blocks, factors, strict=True)
        ]
    )
    inverse = np.linalg.inv(lam.T @ z.T @ z @ lam + np.eye(lam.shape[0]))
    return fit.scale * lam @ inverse @ lam.T


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_levels_are_lme4s_condvar(name: str) -> None:
    """A level's block, alone or within a set of all levels, is lme4's condVar."""
    fit = _fit(name)
    blocks = fit.model.blocks
    offsets = effect_offsets(blocks)
    condcov = fit.ranef_condcov()
    everything = joint_conditional_covariances(fit, [np.arange(offsets[-1])])[0]
    for b, block in enumerate(blocks):
        width = block.n_columns
        for level in range(block.n_levels):
            start = offsets[b] + level * width
            want = condcov[block.factor.name][level]
            single = joint_conditional_covariances(fit, [np.arange(start, start + width)])[0]
            np.testing.assert_array_equal(single, want)
            got = everything[start : start + width, start : start + width]
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10 * fit.scale)


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_sets_are_entries_of_the_dense_inverse(name: str) -> None:
    """Sets across levels and factors, in any order and with single columns of a level,
    equal the selected entries of the dense inverse."""
    fit = _fit(name)
    dense = _dense_reference(fit)
    total = effect_offsets(fit.model.blocks)[-1]
    rng = np.random.default_rng(7)
    sets = [rng.choice(total, size=min(7, total), replace=False) for _ in range(6)]
    sets += [np.zeros(0, dtype=np.int64), np.array([total - 1])]
    for positions, got in zip(sets, joint_conditional_covariances(fit, sets), strict=True):
        want = dense[np.ix_(positions, positions)]
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10 * fit.scale)
