"""Refits on an already-built model: by ML instead of REML, or to a new response.

Nothing here parses a formula or builds a design again. A refit by ML reuses
the cross-products as they are; a refit to a new response ``y*`` replaces only
the response's cross-products (``Z' W y*``, ``X' W y*``, ``y*' W y*``), which
:class:`ResponseProducts` forms for many responses at once with one sparse
product. The random-effects blocks ``Z' W Z``, ``X' W Z`` and ``X' W X`` are
shared, unchanged, between the fit and every refit (lme4's ``refit``,
MixedModels.jl's ``refit!``).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..objective.pls import PLSState

if TYPE_CHECKING:
    from ..model import LinearMixedModel
    from .lmer import LmerResults

__all__ = ["ResponseProducts", "model_with_response", "refit_ml"]


def _copy_model(model: LinearMixedModel, cross: object, reml: bool) -> LinearMixedModel:
    """A shallow copy of ``model`` with its own criterion state (and ``cross``)."""
    clone = copy.copy(model)
    clone.reml = reml
    if cross is model.cross:
        clone.state = model.state.fork(reml=reml)  # same factorisation structure
    else:
        clone.cross = cross
        clone.state = PLSState(model.blocks, cross, reml)
    return clone


def refit_ml(results: LmerResults) -> LmerResults:
    """The ML fit of a REML fit's model, started at its theta (lme4's ``refitML``).

    The model itself is not touched: the refit runs on a copy with its own state.
    """
    if not results.reml:
        return results
    model = _copy_model(results.model, results.model.cross, reml=False)
    return model.fit(start=results.theta, warn=False)


class ResponseProducts:
    """``Z_b' W Y``, ``X' W Y`` and ``diag(Y' W Y)`` for the columns of ``Y`` (``n x m``).

    Parameters
    ----------
    model : LinearMixedModel
        Needs its row data (``model.rows``).
    """

    def __init__(self, model: LinearMixedModel) -> None:
        rows = model.rows
        if rows is None:
            from ..errors import DataError

            raise DataError(
                "refitting to a new response needs the row data, which this model did not keep"
            )
        self.model = model
        n_obs = model.n_obs
        weights = rows.weights if rows.weights is not None else np.ones(n_obs)
        self.weights = weights
        self.offset = rows.offset
        self.weighted_X = rows.X * weights[:, None]
        self.z_transposed = []
        for block in model.blocks:
            p = block.n_columns
            columns = (block.factor.codes[:, None] * p + np.arange(p)[None, :]).ravel()
            row_index = np.repeat(np.arange(n_obs), p)
            values = (block.z * weights[:, None]).ravel()
            matrix = sp.csr_matrix(
                (values, (columns, row_index)), shape=(block.n_levels * p, n_obs)
            )
            self.z_transposed.append(matrix)

    def products(self, responses: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """``Z_b' W Y`` per block (``q_b x m``), ``X' W Y`` (``k x m``), ``diag(Y' W Y)``."""
        centred = responses if self.offset is None else responses - self.offset[:, None]
        z_products = [np.asarray(matrix @ centred) for matrix in self.z_transposed]
        x_products = self.weighted_X.T @ centred
        y_products = np.einsum("i,ij,ij->j", self.weights, centred, centred)
        return z_products, x_products, y_products

    def models(self, responses: np.ndarray) -> list[LinearMixedModel]:
        """One model per column of ``responses`` (``n x m``), sharing everything but ``y``."""
        model = self.model
        z_products, x_products, y_products = self.products(responses)
        cross = model.cross
        k = model.n_fixed
        out = []
        for column in range(responses.shape[1]):
            xy_z = []
            for block_cross, product in zip(cross.xy_z, z_products, strict=True):
                piece = block_cross.copy()
                piece[k, :] = product[:, column]
                xy_z.append(piece)
            xy_xy = cross.xy_xy.copy()
            xy_xy[k, :k] = xy_xy[:k, k] = x_products[:, column]
            xy_xy[k, k] = y_products[column]
            new_cross = replace(cross, xy_z=xy_z, xy_xy=xy_xy)
            out.append(model_with_response(model, new_cross, responses[:, column]))
        return out


def model_with_response(model: LinearMixedModel, cross: object, y: np.ndarray) -> LinearMixedModel:
    """A copy of ``model`` with the response's cross-products (and rows) replaced."""
    clone = _copy_model(model, cross, model.reml)
    if model.rows is not None:
        clone.rows = replace(model.rows, y=np.asarray(y, dtype=float))
    return clone
