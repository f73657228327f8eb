"""Whitening against dense Cholesky factors, the two recomputation paths against each
other, and the joint criterion against the dense marginal likelihood."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.design.crossprod import BlockData
from mixedmodels.structures.model import StructuredModel
from mixedmodels.structures.whiten import Whitener
from structures.residual_cases import load_data


def _shuffled_bodyweight(seed: int = 1):
    data = load_data("BodyWeight")
    rng = np.random.default_rng(seed)
    data = data.iloc[rng.permutation(len(data))].reset_index(drop=True)
    data["w"] = rng.uniform(0.5, 2.0, len(data))
    # irregular times: jitter so CAR1 has many distinct lags
    data["t_irregular"] = data["Time"] + rng.uniform(0, 0.9, len(data))
    return data


STRUCTURES = {
    "ar1_rows": (mm.AR1(group="Rat"), None, False),
    "ar1_time_gaps": (mm.AR1(group="Rat", time="Time"), None, False),
    "ar1_order": (mm.AR1(group="Rat", order="t_irregular"), None, False),
    "car1_irregular": (mm.CAR1(time="t_irregular", group="Rat"), None, False),
    "varident_weights": (None, mm.VarIdent("Diet"), True),
    "car1_varident_weights": (mm.CAR1(time="Time", group="Rat"), mm.VarIdent("Diet"), True),
}


def _model(name: str, reml: bool = True) -> tuple[StructuredModel, object]:
    correlation, variance, weighted = STRUCTURES[name]
    data = _shuffled_bodyweight()
    model = StructuredModel.from_formula(
        "weight ~ Time + Diet + (Time | Rat)",
        data,
        correlation,
        variance,
        REML=reml,
        weights="w" if weighted else None,
    )
    return model, data


def _dense_lambda(name: str, data, eta: np.ndarray, layout) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per Rat: row positions and the dense ``Lambda_i = S R S``."""
    correlation, variance, weighted = STRUCTURES[name]
    phi, ratios = layout.split(eta)
    out = []
    for rat in data["Rat"].cat.categories:
        rows = np.flatnonzero(data["Rat"].to_numpy() == rat)
        scale = np.ones(len(rows))
        if variance is not None:
            levels = [str(level) for level in layout.levels]
            scale = scale * ratios[[levels.index(str(v)) for v in data["Diet"].to_numpy()[rows]]]
        if weighted:
            scale = scale / np.sqrt(data["w"].to_numpy()[rows])
        if correlation is None:
            corr = np.eye(len(rows))
        else:
            if isinstance(correlation, mm.AR1) and correlation.time is None:
                key = (
                    np.arange(len(rows))
                    if correlation.order is None
                    else np.argsort(np.argsort(data[correlation.order].to_numpy()[rows]))
                )
            else:
                key = data[correlation.time].to_numpy()[rows]
            corr = phi ** np.abs(np.subtract.outer(key, key))
        out.append((rows, scale[:, None] * corr * scale[None, :]))
    return out


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_whitening_is_the_inverse_cholesky_factor(name: str):
    model, data = _model(name)
    layout = model.layout
    eta = np.linspace(0.4, -0.3, layout.n_params)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(layout.n_obs, 2))
    whitened = layout.whiten(values, eta)
    log_det = 0.0
    for rows, dense in _dense_lambda(name, data, eta, layout):
        # C^{-1} from the Cholesky factor in time order; whitening is unique up to
        # an orthogonal map, so compare the Gram matrices, and the first rows directly
        gram = whitened[rows].T @ whitened[rows]
        expected = values[rows].T @ np.linalg.solve(dense, values[rows])
        np.testing.assert_allclose(gram, expected, rtol=1e-10)
        log_det += np.linalg.slogdet(dense)[1]
    assert layout.log_det(eta) == pytest.approx(log_det, rel=1e-12)


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_class_and_row_paths_agree(name: str):
    model, _ = _model(name)
    blocks = [BlockData(b.factor.codes, b.z, b.n_levels) for b in model.base.blocks]
    xy = model.whitener.xy
    by_classes = Whitener(model.layout, blocks, xy, path="classes")
    by_rows = Whitener(model.layout, blocks, xy, path="rows")
    for eta in (np.full(model.layout.n_params, 0.3), np.full(model.layout.n_params, -1.1)):
        a, b = by_classes.cross_products(eta), by_rows.cross_products(eta)
        np.testing.assert_allclose(a.xy_xy, b.xy_xy, rtol=1e-9)
        for left, right in zip(a.diagonal + a.xy_z, b.diagonal + b.xy_z, strict=True):
            np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-9 * np.abs(right).max())


def _dense_criterion(model: StructuredModel, data, name: str, params: np.ndarray) -> float:
    """``-2 log L`` from the dense marginal covariance ``Z Lambda Lambda' Z' + Lambda_R``."""
    base = model.base
    theta, eta = params[: model.n_theta], params[model.n_theta :]
    X, y, n = base.rows.X, base.rows.y, len(base.rows.y)
    block = base.blocks[0]
    factor = block.lambda_factor(theta)
    Z = np.zeros((n, block.n_levels * block.n_columns))
    for column in range(block.n_columns):
        Z[np.arange(n), block.factor.codes * block.n_columns + column] = block.z[:, column]
    relative = np.kron(np.eye(block.n_levels), factor @ factor.T)
    V = Z @ relative @ Z.T
    for rows, dense in _dense_lambda(name, data, eta, model.layout):
        V[np.ix_(rows, rows)] += dense
    V_inv = np.linalg.inv(V)
    beta = np.linalg.solve(X.T @ V_inv @ X, X.T @ V_inv @ y)
    resid = y - X @ beta
    dof = n - X.shape[1] if model.reml else n
    sigma2 = resid @ V_inv @ resid / dof
    value = dof * np.log(2 * np.pi * sigma2) + np.linalg.slogdet(V)[1] + dof
    if model.reml:
        value += np.linalg.slogdet(X.T @ V_inv @ X)[1]
    return float(value)


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("name", list(STRUCTURES))
def test_joint_criterion_equals_dense_likelihood(name: str, reml: bool):
    model, data = _model(name, reml)
    params = np.concatenate([[3.0, -0.02, 0.05], np.linspace(0.5, -0.2, model.layout.n_params)])
    assert model.objective(params) == pytest.approx(
        _dense_criterion(model, data, name, params), rel=1e-10
    )
