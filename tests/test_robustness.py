"""The robustness contract (issue 4): every bad input gets a clear answer.

One table, :data:`CASES`, holds every bad-input and edge case. Each case is a
call on a fresh DataFrame and the exact behaviour expected of it:

* an error: its exact class (a :mod:`mixedmodels.errors` class, never a raw
  numpy, pandas, scipy or formulaic exception) and a key phrase of its message;
* or a result: the warning class and phrase expected (or that no mixedmodels
  warning is issued), plus a check of the properties of the result.

:func:`test_case` runs the table; :func:`test_data_unchanged` runs every call
again and checks that the caller's DataFrame, and its dtypes, are unchanged.

Reference values for the edge cases come from an independent computation of
the REML criterion of a random-intercept model from per-group sums
(:func:`one_way_reml`), not from the engine.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.optimize

import mixedmodels as mm
import mixedmodels.model as model_module
from mixedmodels import errors as E
from mixedmodels.model import LinearMixedModel

# ---------------------------------------------------------------------------- data


def base(n_groups: int = 10, per_group: int = 6, seed: int = 0) -> pd.DataFrame:
    """Random-intercept data: ``y = 1 + x + b_g + e`` with columns y, x, g, h, f."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size)
    y = 1.0 + x + rng.normal(size=n_groups)[g] + rng.normal(size=g.size)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "g": g,
            "h": (g % 5).astype(str),
            "f": pd.Categorical(np.where(np.arange(g.size) % 2 == 0, "a", "b")),
        }
    )


def sleep() -> pd.DataFrame:
    return mm.datasets.load("sleepstudy")


def fit(formula: str, **kwargs: Any) -> Callable[[pd.DataFrame], Any]:
    """A call ``mm.lmer(formula, data, **kwargs)`` for the table."""

    def call(data: pd.DataFrame) -> Any:
        return mm.lmer(formula, data, **kwargs)

    call.__name__ = f"lmer({formula!r})"
    return call


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", E.MixedModelsWarning)
        return mm.lmer(formula, data, **kwargs)


def one_way_reml(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray
) -> tuple[float, float, float, np.ndarray]:
    """REML fit of ``y = X beta + b_g + e`` from per-group sums, independent of the engine.

    With ``gamma = sigma_b^2 / sigma^2`` and ``W_g = I + gamma J``, the REML criterion is
    ``sum log(1 + n_g gamma) + log|X'W^-1 X| + (n - p)(1 + log(2 pi r / (n - p)))`` where
    ``r = y'W^-1 y - b' (X'W^-1 X)^-1 b``, ``b = X'W^-1 y``.

    Returns
    -------
    llf, sigma_b^2, sigma^2, beta
    """
    n, p = X.shape
    counts = np.bincount(codes).astype(float)
    xs = np.stack([np.bincount(codes, weights=X[:, j]) for j in range(p)], axis=1)
    ys = np.bincount(codes, weights=y)
    xtx, xty, yty = X.T @ X, X.T @ y, y @ y

    def profile(gamma: float) -> tuple[float, float, np.ndarray]:
        shrink = gamma / (1.0 + counts * gamma)
        a = xtx - (xs * shrink[:, None]).T @ xs
        b = xty - (xs * shrink[:, None]).T @ ys
        beta = np.linalg.solve(a, b)
        r = yty - np.sum(shrink * ys * ys) - b @ beta
        criterion = (
            np.sum(np.log1p(counts * gamma))
            + np.linalg.slogdet(a)[1]
            + (n - p) * (1.0 + np.log(2.0 * np.pi * r / (n - p)))
        )
        return criterion, r / (n - p), beta

    best = scipy.optimize.minimize_scalar(
        lambda t: profile(np.exp(t))[0],
        bounds=(-25.0, 10.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    gamma = float(np.exp(best.x))
    if profile(0.0)[0] <= profile(gamma)[0]:
        gamma = 0.0
    criterion, sigma2, beta = profile(gamma)
    return -0.5 * criterion, gamma * sigma2, sigma2, beta


# ---------------------------------------------------------------------------- checks


def _same_fit(result: Any, other: Any, rtol: float = 1e-6) -> None:
    assert result.llf == pytest.approx(other.llf, rel=1e-8)
    left, right = result.fe_params.dropna(), other.fe_params.dropna()
    assert list(left.index) == list(right.index)
    np.testing.assert_allclose(left.to_numpy(), right.to_numpy(), rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(
        result.varcorr().vcov.to_numpy(), other.varcorr().vcov.to_numpy(), rtol=1e-4, atol=1e-8
    )


def check_dropped_rows(rows: int) -> Callable[[Any, pd.DataFrame], None]:
    def check(result: Any, data: pd.DataFrame) -> None:
        assert result.nobs_dropped == rows
        assert result.nobs == len(data) - rows
        assert f"({rows} observations deleted" in str(result.summary())

    return check


def check_missing(result: Any, data: pd.DataFrame) -> None:
    assert result.nobs_dropped == 4
    # A missing group label is never a level.
    levels = list(result.ranef()["g"].index)
    assert len(levels) == data["g"].dropna().nunique()
    assert not any(level in {"nan", "None", "<NA>"} for level in levels)
    _same_fit(result, quiet_fit("y ~ x + (1 | g)", data.dropna(subset=["y", "x", "g"])))


def check_zero_weight(result: Any, data: pd.DataFrame) -> None:
    assert result.nobs == len(data) - 2 and result.nobs_dropped == 2
    # Dropping the rows is what the zero weights mean: same fit as without them.
    _same_fit(result, quiet_fit("y ~ x + (1 | g)", data.iloc[2:]))


def check_transform_dropped(result: Any, data: pd.DataFrame) -> None:
    positive = data[data["x"] > 0]
    assert result.nobs == len(positive) and result.nobs_dropped == len(data) - len(positive)
    _same_fit(result, quiet_fit("y ~ np.log(x) + (1 | g)", positive))


def check_rank(dropped: list[str], reduced: str) -> Callable[[Any, pd.DataFrame], None]:
    """Dropped columns are NaN in fe_params and bse_fe; the fit is the reduced model's."""

    def check(result: Any, data: pd.DataFrame) -> None:
        for name in dropped:
            assert np.isnan(result.fe_params[name]) and np.isnan(result.bse_fe[name])
        assert result.fe_params.notna().sum() == len(result.fe_params) - len(dropped)
        assert result.bse_fe.notna().sum() == len(result.bse_fe) - len(dropped)
        assert "(Intercept)" in result.fe_params.dropna().index
        hand = quiet_fit(reduced, data)
        assert result.llf == pytest.approx(hand.llf, rel=1e-10)
        np.testing.assert_allclose(
            result.fe_params.dropna().to_numpy(), hand.fe_params.to_numpy(), rtol=1e-8
        )
        np.testing.assert_allclose(
            result.bse_fe.dropna().to_numpy(), hand.bse_fe.to_numpy(), rtol=1e-8
        )
        assert list(result.fe_params.dropna().index) == list(hand.fe_params.index)

    return check


def check_singular(result: Any, data: pd.DataFrame) -> None:
    assert result.singular
    assert result.theta[0] == 0.0
    assert result.varcorr().vcov.iloc[0] == 0.0


def check_not_singular(result: Any, data: pd.DataFrame) -> None:
    assert not result.singular
    assert result.converged


def check_identical_factor(result: Any, data: pd.DataFrame) -> None:
    single = quiet_fit("y ~ x + (1 | g)", data)
    assert result.llf == pytest.approx(single.llf, rel=1e-8)
    np.testing.assert_allclose(result.fe_params, single.fe_params, rtol=1e-5)
    np.testing.assert_allclose(result.bse_fe, single.bse_fe, rtol=1e-4)
    vc = result.varcorr().set_index("grp").vcov
    total = vc.drop("Residual").sum()
    assert total == pytest.approx(single.varcorr().vcov.iloc[0], rel=1e-4)
    assert vc["Residual"] == pytest.approx(single.scale, rel=1e-5)


def check_against_one_way(formula_x: list[str]) -> Callable[[Any, pd.DataFrame], None]:
    def check(result: Any, data: pd.DataFrame) -> None:
        X = np.column_stack([np.ones(len(data)), *(data[name] for name in formula_x)])
        codes = pd.factorize(data["g"])[0]
        llf, sigma_b2, sigma2, beta = one_way_reml(data["y"].to_numpy(), X, codes)
        assert result.converged
        assert result.llf == pytest.approx(llf, rel=1e-9)
        np.testing.assert_allclose(result.fe_params.to_numpy(), beta, rtol=1e-5)
        assert result.varcorr().vcov.iloc[0] == pytest.approx(sigma_b2, rel=1e-4)
        assert result.scale == pytest.approx(sigma2, rel=1e-5)

    return check


def check_unused_categories(result: Any, data: pd.DataFrame) -> None:
    assert result.model.blocks[0].n_levels == 10
    _same_fit(result, quiet_fit("y ~ x + (1 | g)", base()))


def unbalanced() -> pd.DataFrame:
    """One group holds 90% of the rows (180 of 200); 20 more groups of one row."""
    rng = np.random.default_rng(2)
    g = np.r_[np.zeros(180, dtype=int), np.arange(1, 21)]
    x = rng.normal(size=200)
    y = 2.0 + 0.5 * x + rng.normal(size=21)[g] * 1.5 + rng.normal(size=200)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def many_levels() -> pd.DataFrame:
    """10,000 levels with 2 rows each."""
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(10_000), 2)
    x = rng.normal(size=g.size)
    y = 0.5 * x + rng.normal(size=10_000)[g] + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def start_call(start: Any) -> Callable[[pd.DataFrame], Any]:
    def call(data: pd.DataFrame) -> Any:
        return LinearMixedModel.from_formula("y ~ x + (1 | g)", data).fit(start=start)

    return call


def assign(frame_factory: Callable[[], pd.DataFrame], **columns: Any) -> Callable[[], pd.DataFrame]:
    """A data factory: ``frame_factory()`` with columns replaced (values or callables)."""

    def make() -> pd.DataFrame:
        data = frame_factory()
        for name, value in columns.items():
            data[name] = value(data) if callable(value) else value
        return data

    return make


def with_values(column: str, rows: list[int], value: Any, as_object: bool = False):
    def make() -> pd.DataFrame:
        data = base()
        if as_object:
            data[column] = data[column].astype(object)
        else:
            data[column] = data[column].astype(float)
        data.loc[rows, column] = value
        return data

    return make


def missing_values() -> pd.DataFrame:
    data = base()
    data["g"] = data["g"].astype(object)
    data.loc[[0, 7], "g"] = [np.nan, None]
    data.loc[13, "y"] = np.nan
    data.loc[20, "x"] = None
    return data


# ---------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Case:
    """One bad input or edge case and the exact behaviour expected of it.

    Attributes
    ----------
    name : str
    call : callable
        Receives the DataFrame and calls mixedmodels.
    data : callable
        Makes a fresh DataFrame.
    error : (exception class, phrase) or None
    warning : (warning class, phrase) or None
        For calls that return; ``None`` means no mixedmodels warning at all.
    check : callable or None
        ``check(result, data)``: properties of the result.
    """

    name: str
    call: Callable[[pd.DataFrame], Any]
    data: Callable[[], pd.DataFrame] = base
    error: tuple[type[Exception], str] | None = None
    warning: tuple[type[Warning], str] | None = None
    check: Callable[[Any, pd.DataFrame], None] | None = None


CASES: list[Case] = [
    # -- argument types ------------------------------------------------------------------
    Case(
        "formula_not_str",
        lambda d: mm.lmer(3, d),
        error=(E.ArgumentTypeError, "formula must be a string"),
    ),
    Case(
        "data_list",
        lambda d: mm.lmer("y ~ x + (1 | g)", [1, 2]),
        error=(E.ArgumentTypeError, "data must be a pandas DataFrame"),
    ),
    Case(
        "data_ndarray",
        lambda d: mm.lmer("y ~ x + (1 | g)", d.to_numpy()),
        error=(E.ArgumentTypeError, "got ndarray"),
    ),
    Case(
        "REML_not_bool",
        fit("y ~ x + (1 | g)", REML="yes"),
        error=(E.ArgumentTypeError, "REML must be True or False"),
    ),
    Case(
        "start_wrong_length",
        start_call([1.0, 2.0]),
        error=(E.ArgumentError, "start must have 1 element"),
    ),
    Case(
        "weights_wrong_length",
        fit("y ~ x + (1 | g)", weights=np.ones(3)),
        error=(E.ArgumentError, "weights must be a 1-D array with one value per row"),
    ),
    Case(
        "weights_not_numeric",
        fit("y ~ x + (1 | g)", weights=np.array(["a"] * 60)),
        error=(E.ArgumentTypeError, "weights must be numeric"),
    ),
    Case(
        "weights_unknown_column",
        fit("y ~ x + (1 | g)", weights="w"),
        error=(E.FormulaError, "weights='w' is not a column"),
    ),
    Case(
        "weights_dict",
        fit("y ~ x + (1 | g)", weights={"a": 1}),
        error=(E.ArgumentTypeError, "weights must be a column name or an array"),
    ),
    # -- formula ----------------------------------------------------------------------------
    Case("unknown_column", fit("y ~ xx + (1 | g)"), error=(E.FormulaError, "did you mean 'x'")),
    Case("unknown_grouping_column", fit("y ~ x + (1 | gg)"), error=(E.FormulaError, "uses ['gg']")),
    Case(
        "unknown_function",
        fit("y ~ foo(x) + (1 | g)"),
        error=(E.FormulaError, "nor a known function"),
    ),
    Case(
        "unbalanced_open_paren",
        fit("y ~ x + (1 | g"),
        error=(E.FormulaError, "unbalanced parentheses"),
    ),
    Case(
        "unbalanced_close_paren", fit("y ~ x + (1 | g))"), error=(E.FormulaError, "unbalanced ')'")
    ),
    Case("empty_bar_left", fit("y ~ x + ( | g)"), error=(E.FormulaError, "nothing left of '|'")),
    Case(
        "empty_bar_right",
        fit("y ~ x + (1 | )"),
        error=(E.FormulaError, "no grouping factor after '|'"),
    ),
    Case(
        "empty_double_bar_right",
        fit("y ~ x + (x || )"),
        error=(E.FormulaError, "no grouping factor after '|'"),
    ),
    Case("two_tildes", fit("y ~ x ~ (1 | g)"), error=(E.FormulaError, "exactly one '~'")),
    Case("no_response", fit("~ x + (1 | g)"), error=(E.FormulaError, "no response")),
    Case(
        "bar_without_parentheses",
        fit("y ~ x + 1 | g"),
        error=(E.FormulaError, "must be in parentheses"),
    ),
    Case("dangling_plus", fit("y ~ x + (1 | g) +"), error=(E.FormulaError, "dangling '+'")),
    Case(
        "same_variable_both_sides",
        fit("y ~ x + (x | x)"),
        error=(E.FormulaError, "on both sides of '|'"),
    ),
    Case(
        "grouping_factor_both_sides",
        fit("y ~ x + (g | g)"),
        error=(E.FormulaError, "['g'] on both sides"),
    ),
    Case("no_random_effect_term", fit("y ~ x"), error=(E.StructureError, "no random-effect term")),
    # -- data -----------------------------------------------------------------------------
    Case(
        "empty_data",
        fit("y ~ x + (1 | g)"),
        data=lambda: base().iloc[:0],
        error=(E.DataError, "data has no rows"),
    ),
    Case(
        "duplicate_column_names",
        fit("y ~ x + (1 | g)"),
        data=lambda: base().set_axis(["y", "x", "g", "g", "f"], axis=1),
        error=(E.DataError, "duplicate column name(s) ['g']"),
    ),
    Case(
        "duplicate_unused_column_names",
        fit("y ~ x + (1 | g)"),
        data=lambda: base().set_axis(["y", "x", "g", "f", "f"], axis=1),
        check=lambda r, d: _same_fit(r, quiet_fit("y ~ x + (1 | g)", base())),
    ),
    Case(
        "missing_values_dropped", fit("y ~ x + (1 | g)"), data=missing_values, check=check_missing
    ),
    Case(
        "missing_everywhere",
        fit("y ~ x + (1 | g)"),
        data=assign(base, x=np.nan),
        error=(E.DataError, "no complete rows"),
    ),
    Case(
        "inf_covariate",
        fit("y ~ x + (1 | g)"),
        data=with_values("x", [3], np.inf),
        error=(E.DataError, "column 'x' holds 1 infinite"),
    ),
    Case(
        "inf_response",
        fit("y ~ x + (1 | g)"),
        data=with_values("y", [3, 4], -np.inf),
        error=(E.DataError, "column 'y' holds 2 infinite"),
    ),
    Case(
        "inf_from_transformation",
        fit("y ~ np.log(x) + (1 | g)"),
        data=with_values("x", [3], 0.0),
        error=(E.DataError, "['np.log(x)'] evaluate to infinite"),
    ),
    Case(
        "nan_from_transformation",
        fit("y ~ np.log(x) + (1 | g)"),
        warning=(E.DataWarning, "is undefined (NaN"),
        check=check_transform_dropped,
    ),
    Case(
        "boolean_response",
        fit("y ~ x + (1 | g)"),
        data=assign(base, y=lambda d: d["y"] > 1),
        error=(E.ColumnTypeError, "response 'y' is bool"),
    ),
    Case(
        "categorical_response",
        fit("y ~ x + (1 | g)"),
        data=assign(base, y=lambda d: pd.Categorical(d["y"] > 1)),
        error=(E.ColumnTypeError, "response 'y' is category"),
    ),
    Case(
        "string_response",
        fit("y ~ x + (1 | g)"),
        data=assign(base, y=lambda d: d["y"].astype(str)),
        error=(E.ColumnTypeError, "response 'y' has non-numeric dtype"),
    ),
    Case(
        "complex_response",
        fit("y ~ x + (1 | g)"),
        data=assign(base, y=lambda d: d["y"] + 1j),
        error=(E.ColumnTypeError, "response 'y' is complex"),
    ),
    Case(
        "datetime_covariate",
        fit("y ~ t + (1 | g)"),
        data=assign(base, t=pd.Timestamp("2024-01-01")),
        error=(E.ColumnTypeError, "column 't' is datetime64"),
    ),
    Case(
        "constant_response",
        fit("y ~ x + (1 | g)"),
        data=assign(base, y=3.0),
        error=(E.DataError, "the response is constant"),
    ),
    Case(
        "constant_up_to_rounding",
        fit("y ~ x + (1 | g)"),
        data=assign(
            base, y=lambda d: 0.3 + 0 * d["x"] + np.where(d.index % 2, 0.1 + 0.2 - 0.3, 0.0)
        ),
        error=(E.DataError, "the response is constant"),
    ),
    Case(
        "negative_weights",
        fit("y ~ x + (1 | g)", weights=np.r_[-1.0, np.ones(59)]),
        error=(E.DataError, "weights must be non-negative"),
    ),
    Case(
        "infinite_weights",
        fit("y ~ x + (1 | g)", weights=np.r_[np.inf, np.ones(59)]),
        error=(E.DataError, "weights holds 1 infinite"),
    ),
    Case(
        "zero_weights_dropped",
        fit("y ~ x + (1 | g)", weights=np.r_[0.0, 0.0, np.ones(58)]),
        warning=(E.DataWarning, "dropped 2 row(s) with zero weight"),
        check=check_zero_weight,
    ),
    # -- structure --------------------------------------------------------------------------
    Case(
        "one_level",
        fit("y ~ x + (1 | g)"),
        data=assign(base, g=0),
        error=(E.StructureError, "'g' has 1 level(s)"),
    ),
    Case(
        "one_level_after_na_drop",
        fit("y ~ x + (1 | g)"),
        data=assign(base, g=lambda d: np.where(d["g"] == 0, 0.0, np.nan)),
        error=(E.StructureError, "'g' has 1 level(s)"),
    ),
    Case(
        "levels_equal_observations",
        fit("y ~ x + (1 | g)"),
        data=assign(base, g=lambda d: np.arange(len(d))),
        error=(E.StructureError, "'g' has 60 levels for 60 observations"),
    ),
    Case(
        "random_effects_equal_observations",
        fit("y ~ x + (x | g)"),
        data=lambda: base(10, 2),
        error=(E.StructureError, "20 random effects (2 per level x 10 levels) for 20 observations"),
    ),
    Case(
        "fixed_columns_exceed_observations",
        fit("y ~ k + (1 | g)"),
        data=lambda: base(3, 2).assign(k=list("abcdef")),
        error=(E.StructureError, "6 independent columns for 6 observations"),
    ),
    Case(
        "identical_grouping_factor",
        fit("y ~ x + (1 | g) + (1 | g2)"),
        data=assign(base, g2=lambda d: "L" + d["g"].astype(str)),
        warning=(E.IdentifiabilityWarning, "'g' and 'g2' define the same groups"),
        check=check_identical_factor,
    ),
    Case(
        "repeated_term",
        fit("y ~ x + (1 | g) + (1 | g)"),
        warning=(E.IdentifiabilityWarning, "two terms on 'g'"),
        check=check_identical_factor,
    ),
    # -- rank deficiency -------------------------------------------------------------------
    Case(
        "collinear_column",
        fit("y ~ x + x2 + (1 | g)"),
        data=assign(base, x2=lambda d: 2 * d["x"] - 1),
        warning=(E.RankDeficiencyWarning, "'x2'"),
        check=check_rank(["x2"], "y ~ x + (1 | g)"),
    ),
    Case(
        "collinear_keeps_earlier",
        fit("y ~ x2 + x + (1 | g)"),
        data=assign(base, x2=lambda d: 2 * d["x"] - 1),
        warning=(E.RankDeficiencyWarning, "'x'"),
        check=check_rank(["x"], "y ~ x2 + (1 | g)"),
    ),
    Case(
        "constant_column",
        fit("y ~ k + x + (1 | g)"),
        data=assign(base, k=5.0),
        warning=(E.RankDeficiencyWarning, "'k'"),
        check=check_rank(["k"], "y ~ x + (1 | g)"),
    ),
    Case(
        "zero_column",
        fit("y ~ x + z + (1 | g)"),
        data=assign(base, z=0.0),
        warning=(E.RankDeficiencyWarning, "'z'"),
        check=check_rank(["z"], "y ~ x + (1 | g)"),
    ),
    Case(
        "factor_collinear_with_covariate",
        fit("y ~ f + x + is_b + (1 | g)"),
        data=assign(base, is_b=lambda d: (d["f"] == "b").astype(float)),
        warning=(E.RankDeficiencyWarning, "'is_b'"),
        check=check_rank(["is_b"], "y ~ f + x + (1 | g)"),
    ),
    Case(
        "one_level_factor_covariate",
        fit("y ~ s + x + (1 | g)"),
        data=assign(base, s="a"),
        warning=(E.RankDeficiencyWarning, "['s'] produce no column"),
    ),
    # -- singular fits ----------------------------------------------------------------------
    Case(
        "singular_dyestuff2",
        fit("Yield ~ 1 + (1 | Batch)"),
        data=lambda: mm.datasets.load("Dyestuff2"),
        warning=(E.SingularFitWarning, "Batch: (Intercept)"),
        check=check_singular,
    ),
    Case(
        "response_times_1e-6",
        fit("Reaction ~ Days + (Days | Subject)"),
        data=assign(sleep, Reaction=lambda d: d["Reaction"] * 1e-6),
        check=check_not_singular,
    ),
    Case(
        "response_times_1e6",
        fit("Reaction ~ Days + (Days | Subject)"),
        data=assign(sleep, Reaction=lambda d: d["Reaction"] * 1e6),
        check=check_not_singular,
    ),
    Case(
        "covariate_times_1e4",
        fit("Reaction ~ Days + (Days | Subject)"),
        data=assign(sleep, Days=lambda d: d["Days"] * 1e4),
        check=check_not_singular,
    ),
    Case(
        "covariate_times_1e-4",
        fit("Reaction ~ Days + (Days | Subject)"),
        data=assign(sleep, Days=lambda d: d["Days"] * 1e-4),
        check=check_not_singular,
    ),
    Case(
        "singular_response_times_1e6",
        fit("Yield ~ 1 + (1 | Batch)"),
        data=assign(lambda: mm.datasets.load("Dyestuff2"), Yield=lambda d: d["Yield"] * 1e6),
        warning=(E.SingularFitWarning, "boundary (singular) fit"),
        check=check_singular,
    ),
    # -- hard designs ----------------------------------------------------------------------
    Case(
        "unbalanced_90_percent",
        fit("y ~ x + (1 | g)"),
        data=unbalanced,
        check=check_against_one_way(["x"]),
    ),
    Case(
        "ten_thousand_levels",
        fit("y ~ x + (1 | g)"),
        data=many_levels,
        check=check_against_one_way(["x"]),
    ),
    Case(
        "mixed_label_types",
        fit("y ~ x + (1 | g)"),
        data=assign(base, g=lambda d: [v if v % 2 else f"s{v}" for v in d["g"]]),
        check=lambda r, d: _same_fit(r, quiet_fit("y ~ x + (1 | g)", base())),
    ),
    Case(
        "unused_categories",
        fit("y ~ x + (1 | g)"),
        data=assign(base, g=lambda d: pd.Categorical(d["g"], categories=range(20))),
        check=check_unused_categories,
    ),
    Case(
        "data_as_dict",
        lambda d: mm.lmer("y ~ x + (1 | g)", {k: d[k].to_numpy() for k in ("y", "x", "g")}),
        check=lambda r, d: _same_fit(r, quiet_fit("y ~ x + (1 | g)", base())),
    ),
]


def _params(prefix: str = "") -> list[Any]:
    return [pytest.param(case, id=prefix + case.name) for case in CASES]


def test_table_size_and_unique_names() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", _params())
def test_case(case: Case) -> None:
    _run_case(case)


@pytest.mark.parametrize("case", _params("chunked-"))
def test_case_chunked(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same table through the chunked design (every DataFrame read 7 rows at a time).

    Data frames over a million rows take that path; it must give exactly the
    same errors, warnings and fits as the in-memory one.
    """
    monkeypatch.setattr(model_module, "_CHUNK_ROWS", 7)
    _run_case(case)


def _run_case(case: Case) -> None:
    data = case.data()
    if case.error is not None:
        cls, phrase = case.error
        with pytest.raises(E.MixedModelsError) as info:
            case.call(data)
        assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
        assert phrase in str(info.value)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = case.call(data)
    ours = [w for w in caught if issubclass(w.category, E.MixedModelsWarning)]
    foreign = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not foreign, [str(w.message) for w in foreign]
    if case.warning is None:
        assert not ours, [str(w.message) for w in ours]
    else:
        cls, phrase = case.warning
        assert any(w.category is cls and phrase in str(w.message) for w in ours), [
            (w.category.__name__, str(w.message)) for w in ours
        ]
    if case.check is not None:
        case.check(result, data)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_data_unchanged(case: Case) -> None:
    _check_data_unchanged(case)


@pytest.mark.parametrize("case", [pytest.param(case, id=f"chunked-{case.name}") for case in CASES])
def test_data_unchanged_chunked(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "_CHUNK_ROWS", 7)
    _check_data_unchanged(case)


def _check_data_unchanged(case: Case) -> None:
    data = case.data()
    before = copy.deepcopy(data)
    dtypes = data.dtypes.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            case.call(data)
        except Exception:  # the behaviour is checked in test_case
            pass
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(data, before)
        pd.testing.assert_series_equal(data.dtypes, dtypes)


def test_errors_are_value_errors_and_type_errors_are_type_errors() -> None:
    assert issubclass(E.MixedModelsError, ValueError)
    for cls in (E.ArgumentTypeError, E.ColumnTypeError, E.MixedModelsTypeError):
        assert issubclass(cls, TypeError) and issubclass(cls, E.MixedModelsError)
    for cls in (E.SingularFitWarning, E.RankDeficiencyWarning, E.DataWarning):
        assert issubclass(cls, UserWarning)


def test_warnings_point_at_the_caller() -> None:
    data = base().assign(k=5.0)
    with pytest.warns(E.RankDeficiencyWarning) as record:
        mm.lmer("y ~ k + x + (1 | g)", data)
    assert record[0].filename == __file__


def test_check_helpers() -> None:
    from mixedmodels.design.checks import check_flag, check_start

    assert check_flag(np.bool_(True), "REML") is True
    with pytest.raises(E.ArgumentTypeError, match="REML must be True or False"):
        check_flag(1, "REML")
    np.testing.assert_array_equal(check_start([1, 0.5], 2), [1.0, 0.5])
    with pytest.raises(E.ArgumentTypeError, match="start must be a sequence"):
        check_start("a", 1)
    with pytest.raises(E.ArgumentError, match="below their lower bound"):
        check_start([-1.0], 1, lower=np.zeros(1))
    with pytest.raises(E.ArgumentError, match="non-finite"):
        check_start([np.nan], 1)
