"""Progress reporting: tqdm bars (off unless wanted) and lmer's verbose output."""

from __future__ import annotations

import io

import pytest

import mixedmodels as mm
from mixedmodels.errors import ArgumentTypeError
from mixedmodels.progress import (
    EvaluationPrinter,
    check_verbose,
    dask_progress,
    progress,
    progress_wanted,
)


def test_bars_are_off_in_non_interactive_use(monkeypatch) -> None:
    monkeypatch.delenv("MIXEDMODELS_PROGRESS", raising=False)
    items = [1, 2, 3]
    assert progress_wanted() is False  # pytest captures stderr: not a terminal
    assert progress(items) is items


def test_environment_and_argument_turn_bars_on(monkeypatch, capsys) -> None:
    pytest.importorskip("tqdm")
    monkeypatch.setenv("MIXEDMODELS_PROGRESS", "1")
    assert progress_wanted() is True
    assert progress_wanted(False) is False
    assert list(progress(range(4), desc="work")) == [0, 1, 2, 3]
    assert "work" in capsys.readouterr().err
    monkeypatch.setenv("MIXEDMODELS_PROGRESS", "0")
    assert progress_wanted() is False
    assert progress_wanted(True) is True


def test_chunked_pass_shows_a_bar(monkeypatch, capsys) -> None:
    pytest.importorskip("tqdm")
    monkeypatch.setenv("MIXEDMODELS_PROGRESS", "1")
    data = mm.datasets.load("sleepstudy")
    mm.LinearMixedModel.from_formula("Reaction ~ Days + (1 | Subject)", data, chunk_rows=50)
    error = capsys.readouterr().err
    assert "cross-products" in error and "/4 " in error  # four chunks of 50 rows


def test_profile_shows_a_bar(monkeypatch, capsys) -> None:
    pytest.importorskip("tqdm")
    monkeypatch.setenv("MIXEDMODELS_PROGRESS", "1")
    fit = mm.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mm.datasets.load("Penicillin"))
    fit.profile(which="variance", points=1)
    assert "profile" in capsys.readouterr().err


def test_dask_progress_is_a_null_context_when_off() -> None:
    with dask_progress("x", show=False) as context:
        assert context is None


def test_lmer_verbose_prints_each_evaluation(capsys) -> None:
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"), verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("iteration:    1  f(x) = ")
    # every evaluation the optimiser counted, plus the final one at the optimum
    assert len(lines) == fit.optimizer.n_evaluations + 1
    last = lines[-1]
    assert f"f(x) = {fit.objective:.6f}" in last
    assert "theta = [0.96" in last
    mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    assert capsys.readouterr().out == ""  # verbose=0 is silent


def test_verbose_argument_is_checked() -> None:
    assert check_verbose(True) == 1 and check_verbose(2) == 2
    with pytest.raises(ArgumentTypeError, match="verbose"):
        check_verbose("yes")
    with pytest.raises(ArgumentTypeError, match="verbose"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", mm.datasets.load("sleepstudy"), verbose=-1)


def test_evaluation_printer_passes_values_through() -> None:
    stream = io.StringIO()
    printer = EvaluationPrinter(lambda theta: float(sum(theta)), stream)
    assert printer([1.0, 2.0]) == 3.0
    assert stream.getvalue() == "iteration:    1  f(x) = 3.000000  theta = [1 2]\n"


def test_dask_pass_shows_a_bar(monkeypatch, capsys) -> None:
    pytest.importorskip("tqdm")
    dd = pytest.importorskip("dask.dataframe")
    monkeypatch.setenv("MIXEDMODELS_PROGRESS", "1")
    data = mm.datasets.load("sleepstudy")
    ddf = dd.from_pandas(data, npartitions=3)
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", ddf)
    assert "cross-products" in capsys.readouterr().err
    assert fit.llf == pytest.approx(mm.lmer("Reaction ~ Days + (1 | Subject)", data).llf)
