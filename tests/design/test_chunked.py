"""Cross-products accumulated over row chunks equal the in-memory design's.

The chunked path (:mod:`mixedmodels.design.chunked`) keeps no rows; these
tests force it on small data with tiny chunks, so that levels missing from
the first chunk, incomplete rows and interactions are all exercised.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import CASE_NAMES, load_case

import mixedmodels as mm
from mixedmodels.design.chunked import chunked_design, independent_gram_columns
from mixedmodels.design.frame import parse
from mixedmodels.errors import DataError, FormulaError, MixedModelsWarning
from mixedmodels.formula.parse import parse_formula


def _both(formula: str, data: pd.DataFrame, chunk_rows: int, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        memory = mm.LinearMixedModel.from_formula(formula, data, **kwargs)
        chunked = mm.LinearMixedModel.from_formula(formula, data, chunk_rows=chunk_rows, **kwargs)
    return memory, chunked


def _assert_same_model(memory, chunked) -> None:
    assert chunked.rows is None
    assert chunked.n_obs == memory.n_obs
    assert chunked.fixed_names == memory.fixed_names
    assert [b.factor.name for b in chunked.blocks] == [b.factor.name for b in memory.blocks]
    for a, b in zip(chunked.blocks, memory.blocks, strict=True):
        assert list(a.factor.levels) == list(b.factor.levels)
        assert a.column_names == b.column_names
        assert a.is_intercept_only == b.is_intercept_only
    rng = np.random.default_rng(0)
    for _ in range(3):
        theta = rng.uniform(0.1, 1.5, memory.n_theta) / memory.theta_scale
        assert chunked.objective(theta) == pytest.approx(memory.objective(theta), rel=1e-11)


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if "insteval" not in n])
def test_reference_cases_in_chunks(name: str) -> None:
    reference = load_case(name)
    data = mm.datasets.load(reference["dataset"])
    memory, chunked = _both(
        reference["formula"], data, max(len(data) // 7, 5), REML=reference["REML"]
    )
    _assert_same_model(memory, chunked)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        fit = chunked.fit()
    assert fit.llf == pytest.approx(reference["logLik"], rel=1e-7)


@pytest.fixture
def messy() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 400
    frame = pd.DataFrame(
        {
            "y": rng.standard_normal(n),
            "x": rng.standard_normal(n),
            "treat": rng.choice(["a", "b", "c"], n),
            "site": rng.choice(["s1", "s2", "s3", "s4", "s5"], n),
            "batch": rng.integers(0, 6, n),
            "w": rng.uniform(0.5, 2, n),
            "g": pd.Categorical(rng.integers(0, 30, n), categories=range(35)),
        }
    )
    frame.loc[:60, "treat"] = "a"  # the first chunk sees one level only
    frame.loc[[3, 50, 200], "x"] = np.nan
    frame.loc[[7, 300], "site"] = None
    return frame


def test_levels_missing_from_the_first_chunk(messy) -> None:
    memory, chunked = _both("y ~ x + treat + (1 | site) + (1 | g)", messy, 40)
    _assert_same_model(memory, chunked)
    assert chunked.design.nobs_dropped == memory.design.nobs_dropped == 5


def test_interaction_grouping_weights_and_offset(messy) -> None:
    memory, chunked = _both(
        "y ~ x + (x | site) + (1 | site:batch)", messy, 64, weights="w", offset="x"
    )
    _assert_same_model(memory, chunked)


def test_collinear_column_is_dropped(messy) -> None:
    data = messy.assign(x2=2 * messy["x"])
    memory, chunked = _both("y ~ x + x2 + (1 | g)", data, 50)
    assert chunked.design.fixed.dropped == memory.design.fixed.dropped == ["x2"]
    _assert_same_model(memory, chunked)


def test_gram_rank_check() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((50, 3))
    matrix = np.column_stack([matrix, matrix[:, 0] + matrix[:, 1], np.zeros(50), matrix[:, 2]])
    np.testing.assert_array_equal(independent_gram_columns(matrix.T @ matrix), [0, 1, 2])


def test_constant_response_is_an_error(messy) -> None:
    with pytest.raises(DataError, match="constant"):
        mm.LinearMixedModel.from_formula("y ~ x + (1 | g)", messy.assign(y=3.0), chunk_rows=100)


def test_package_imports_and_fits_without_dask() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('dask', 'distributed'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import mixedmodels as mm\n"
        "data = mm.datasets.load('sleepstudy')\n"
        "fit = mm.LinearMixedModel.from_formula('Reaction ~ Days + (1 | Subject)', data,"
        " chunk_rows=40).fit()\n"
        "assert 'dask' not in sys.modules\n"
        "print(round(fit.llf, 3))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "-893.233"


def test_unknown_column_keeps_the_hint(messy) -> None:
    with pytest.raises(FormulaError, match="did you mean 'site'"):
        mm.LinearMixedModel.from_formula("y ~ x + (1 | sitee)", messy, chunk_rows=50)


def test_chunked_design_parses_once_and_keeps_no_rows(messy) -> None:
    formula = "y ~ x + treat + (1 | site) + (1 | g)"
    cross, terms, design = chunked_design(formula, messy, chunk_rows=64)
    assert design.parsed is parse(formula)
    assert design.y.shape == (0,) and design.fixed.matrix.shape[0] == 0
    assert [term.factor.name for term in terms] == ["site", "g"]
    assert all(term.z.shape[0] == 1 for term in terms)  # one-row stand-ins
    assert cross.n_obs == len(messy) - design.nobs_dropped


@pytest.mark.parametrize("chunk_rows", [None, 50])
def test_the_formula_is_parsed_once_per_fit(messy, monkeypatch, chunk_rows) -> None:
    import mixedmodels.design.frame as frame_module

    calls = []

    def counting(formula):
        calls.append(formula)
        return parse_formula(formula)

    monkeypatch.setattr(frame_module, "parse_formula", counting)
    frame_module._parse_cached.cache_clear()
    formula = "y ~ x + treat + (1 | site) + (1 | g) + (0 + x | site)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedModelsWarning)
        mm.LinearMixedModel.from_formula(formula, messy, chunk_rows=chunk_rows).fit()
    frame_module._parse_cached.cache_clear()
    assert calls == [formula]
