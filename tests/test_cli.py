"""The command line, run as a subprocess (``python -m mixedmodels``), as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import mixedmodels as mm

ROOT = Path(__file__).parents[1]
FORMULA = "Reaction ~ Days + (Days | Subject)"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [environment.get("PYTHONPATH")])]
    )
    environment["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-m", "mixedmodels", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def sleep_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "sleep.csv"
    mm.datasets.load("sleepstudy").to_csv(path, index=False)
    return path


def test_entry_point_is_declared() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"mixedmodels": "mixedmodels.cli:main"}
    from mixedmodels.cli import main

    assert callable(main)


def test_fit_csv_prints_lme4_summary_and_writes_outputs(sleep_csv, tmp_path) -> None:
    out_json, out_png, out_tidy = tmp_path / "fit.json", tmp_path / "ranef.png", tmp_path / "t.csv"
    result = run(
        "fit",
        str(sleep_csv),
        FORMULA,
        "--json",
        str(out_json),
        "--plot",
        str(out_png),
        "--tidy",
        str(out_tidy),
    )
    assert result.returncode == 0, result.stderr
    expected = mm.lmer(FORMULA, mm.datasets.load("sleepstudy")).summary(data_name="sleep.csv")
    assert result.stdout.rstrip("\n") == str(expected)
    assert "   Data: sleep.csv" in result.stdout
    record = json.loads(out_json.read_text())
    assert record["llf"] == pytest.approx(-871.8141, abs=1e-4)
    assert record["data_name"] == "sleep.csv"
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    assert "ran_vals" in out_tidy.read_text()


def test_fit_parquet_by_ml_with_weights(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    data = mm.datasets.load("sleepstudy").assign(w=1.0)
    path = tmp_path / "sleep.parquet"
    data.to_parquet(path, index=False)
    result = run("fit", str(path), FORMULA, "--ml", "--weights", "w")
    assert result.returncode == 0, result.stderr
    assert "Linear mixed model fit by maximum likelihood" in result.stdout
    # lme4 1.1-31 prints these two lines for this fit
    assert "     AIC      BIC   logLik deviance df.resid \n" in result.stdout
    assert "  1763.9   1783.1   -876.0   1751.9      174 \n" in result.stdout


def test_fit_a_bundled_data_set_with_factor_and_verbose() -> None:
    result = run("fit", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", "-v")
    assert result.returncode == 0, result.stderr
    assert "iteration:    1  f(x) = " in result.stdout
    assert "Number of obs: 144, groups:  plate, 24; sample, 6" in result.stdout


def test_datasets_lists_the_bundled_data() -> None:
    result = run("datasets")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == mm.datasets.list_datasets()
    assert "Reaction times" in result.stdout


def test_help_shows_examples() -> None:
    for args in (["--help"], ["fit", "--help"]):
        result = run(*args)
        assert result.returncode == 0
        assert "examples:" in result.stdout
        assert 'mixedmodels fit sleep.csv "Reaction ~ Days + (Days | Subject)"' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "no/such/file.csv", FORMULA], "data file 'no/such/file.csv' not found"),
        (["fit", "{csv}", "Reaction ~ Dayz + (Days | Subject)"], "Dayz"),
        (["fit", "{csv}", "Reaction ~ Days + (Days | Subject"], "formula"),
        (["fit", "{csv}", FORMULA, "--weights", "nope"], "--weights 'nope'"),
    ],
    ids=["missing_file", "unknown_column", "bad_formula", "unknown_weights"],
)
def test_bad_input_is_one_line_and_exit_2(sleep_csv, args, message) -> None:
    result = run(*[arg.format(csv=sleep_csv) for arg in args])
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mixedmodels: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
