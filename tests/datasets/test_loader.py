"""Tests for the bundled data sets in :mod:`mixedmodels.datasets`."""

from __future__ import annotations

import csv
import gzip
import io
import json
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mixedmodels.datasets import (
    DatasetNotFoundError,
    RDataset,
    get_rdataset,
    list_datasets,
    load,
)

# Row counts read from the CSV files (lines minus header).
NROWS: dict[str, int] = {
    "sleepstudy": 180,
    "dietox": 861,
    "Sitka": 395,
    "Penicillin": 144,
    "Dyestuff": 30,
    "Dyestuff2": 30,
    "InstEval": 73421,
}
PACKAGES: dict[str, str] = {
    "sleepstudy": "lme4",
    "dietox": "geepack",
    "Sitka": "MASS",
    "Penicillin": "lme4",
    "Dyestuff": "lme4",
    "Dyestuff2": "lme4",
    "InstEval": "lme4",
}
NAMES = sorted(NROWS, key=str.lower)


def _data_dir() -> Any:
    return resources.files("mixedmodels.datasets") / "data"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((_data_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


def _csv_rows(name: str) -> list[list[str]]:
    plain = _data_dir() / f"{name}.csv"
    if plain.is_file():
        text = plain.read_text(encoding="utf-8")
    else:
        text = gzip.decompress((_data_dir() / f"{name}.csv.gz").read_bytes()).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


# --------------------------------------------------------------------------- listing


def test_list_datasets() -> None:
    assert list_datasets() == NAMES
    assert all(isinstance(n, str) for n in list_datasets())


def test_every_data_file_is_registered() -> None:
    files = {entry.name for entry in _data_dir().iterdir()}
    schema_names = {f.removesuffix(".schema.json") for f in files if f.endswith(".schema.json")}
    assert schema_names == set(NAMES)
    for name in NAMES:
        assert f"{name}.csv" in files or f"{name}.csv.gz" in files


def test_list_datasets_returns_fresh_list() -> None:
    names = list_datasets()
    names.clear()
    assert list_datasets() == NAMES


# --------------------------------------------------------------------------- load


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_load_shape_and_columns(name: str) -> None:
    df = load(name)
    schema = _schema(name)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(schema["columns"])
    assert len(df) == NROWS[name]
    assert isinstance(df.index, pd.RangeIndex)
    assert df.index[0] == 0


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_load_row_count_matches_csv(name: str) -> None:
    rows = _csv_rows(name)
    assert rows[0] == list(_schema(name)["columns"])
    assert len(load(name)) == len(rows) - 1


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_load_column_types(name: str) -> None:
    df = load(name)
    schema = _schema(name)
    for col, kind in schema["columns"].items():
        dtype = df[col].dtype
        if kind == "factor":
            assert isinstance(dtype, pd.CategoricalDtype), col
            assert not dtype.ordered, col
            cats = list(dtype.categories)
            assert cats == schema["levels"][col], col
            assert all(isinstance(c, str) for c in cats), col
        else:
            assert dtype in (np.dtype(np.int64), np.dtype(np.float64)), col
            if dtype == np.int64:
                assert not df[col].isna().any()


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_load_values_match_csv(name: str) -> None:
    df = load(name)
    rows = _csv_rows(name)
    header, body = rows[0], rows[1:]
    schema = _schema(name)
    # Spot-check the first, middle and last rows against the raw CSV text.
    for i in (0, len(body) // 2, len(body) - 1):
        for j, col in enumerate(header):
            raw = body[i][j]
            value = df[col].iloc[i]
            if raw == "NA":
                assert pd.isna(value), (i, col)
            elif schema["columns"][col] == "factor":
                assert value == raw, (i, col)
            else:
                assert value == pytest.approx(float(raw)), (i, col)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_numeric_int_only_when_integral_without_na(name: str) -> None:
    df = load(name)
    rows = _csv_rows(name)
    header, body = rows[0], rows[1:]
    for j, col in enumerate(header):
        if _schema(name)["columns"][col] != "numeric":
            continue
        texts = [r[j] for r in body]
        integral = all(t != "NA" and "." not in t and "e" not in t.lower() for t in texts)
        expected = np.int64 if integral else np.float64
        assert df[col].dtype == expected, col


def test_dietox_pig_levels_are_strings() -> None:
    df = load("dietox")
    cats = df["Pig"].cat.categories
    assert "4601" in list(cats)
    assert 4601 not in list(cats)
    assert cats[0] == "4601"
    assert df["Pig"].iloc[0] == "4601"
    assert isinstance(df["Pig"].iloc[0], str)


def test_dietox_feed_na_becomes_nan() -> None:
    df = load("dietox")
    feed = df["Feed"]
    assert feed.dtype == np.float64
    assert np.isnan(feed.iloc[0])
    n_na = sum(1 for row in _csv_rows("dietox")[1:] if row[6] == "NA")
    assert n_na > 0
    assert int(feed.isna().sum()) == n_na
    assert not df["Pig"].isna().any()


def test_factor_labels_like_numbers_stay_strings() -> None:
    ie = load("InstEval")
    assert list(ie["s"].cat.categories[:3]) == ["1", "2", "3"]
    assert ie["y"].dtype == np.int64
    ss = load("sleepstudy")
    assert ss["Subject"].iloc[0] == "308"
    assert ss["Subject"].value_counts().eq(10).all()


def test_copies_are_independent() -> None:
    first = load("sleepstudy")
    original = first["Reaction"].iloc[0]
    first.loc[0, "Reaction"] = -1.0
    first["extra"] = 1
    first["Subject"] = first["Subject"].cat.rename_categories(lambda s: "x" + s)
    second = load("sleepstudy")
    assert second["Reaction"].iloc[0] == original
    assert "extra" not in second.columns
    assert second["Subject"].iloc[0] == "308"
    assert first is not second


def test_copies_share_no_numpy_memory() -> None:
    a = load("Penicillin")
    b = load("Penicillin")
    assert not np.shares_memory(a["diameter"].to_numpy(), b["diameter"].to_numpy())


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("sleepstudy", "sleepstudy"),
        ("SleepStudy", "sleepstudy"),
        ("SLEEPSTUDY", "sleepstudy"),
        ("instEval", "InstEval"),
        ("DIETOX", "dietox"),
        ("sitka", "Sitka"),
        ("dyestuff2", "Dyestuff2"),
    ],
    ids=lambda v: v,
)
def test_load_case_insensitive(alias: str, canonical: str) -> None:
    pd.testing.assert_frame_equal(load(alias), load(canonical))


def test_load_unknown_name() -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load("nosuchdata")
    msg = str(info.value)
    assert "nosuchdata" in msg
    for name in NAMES:
        assert name in msg
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, KeyError)


def test_load_unknown_name_is_value_error() -> None:
    with pytest.raises(ValueError, match="sleepstudyy"):
        load("sleepstudyy")


@pytest.mark.parametrize("bad", [None, 3, b"sleepstudy", ["sleepstudy"]], ids=repr)
def test_load_non_str_name(bad: object) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        load(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- get_rdataset


def test_get_rdataset_dietox_geepack() -> None:
    ds = get_rdataset("dietox", "geepack")
    assert isinstance(ds, RDataset)
    assert ds.package == "geepack"
    assert ds.from_cache is True
    assert isinstance(ds.title, str) and ds.title
    assert isinstance(ds.__doc__, str)
    assert "dietox" in ds.__doc__ and "geepack" in ds.__doc__
    for col in ("Pig", "Weight", "Feed", "Time"):
        assert col in ds.__doc__
    data = ds.data
    assert type(data) is pd.DataFrame
    pd.testing.assert_frame_equal(data, load("dietox"))
    # The statsmodels idiom.
    data["Intercept"] = 1
    exog = data[["Intercept", "Time"]]
    assert exog.shape == (861, 2)
    groups = data["Pig"]
    assert groups.nunique() == 72
    assert "Intercept" not in get_rdataset("dietox", "geepack").data.columns


def test_get_rdataset_sitka_mass() -> None:
    ds = get_rdataset("Sitka", "MASS")
    assert ds.package == "MASS"
    assert ds.from_cache is True
    assert "Sitka" in ds.__doc__ and "MASS" in ds.__doc__
    data = ds.data
    pd.testing.assert_frame_equal(data, load("Sitka"))
    assert list(data.columns) == ["size", "Time", "tree", "treat"]
    data["Intercept"] = 1
    assert data[["Intercept", "Time"]].shape == (395, 2)
    assert data["tree"].nunique() == 79
    assert list(data["treat"].cat.categories) == ["control", "ozone"]


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_get_rdataset_every_dataset(name: str) -> None:
    ds = get_rdataset(name, PACKAGES[name])
    assert ds.package == PACKAGES[name]
    assert len(ds.data) == NROWS[name]
    ds_nopkg = get_rdataset(name)
    assert ds_nopkg.package == PACKAGES[name]
    assert name in repr(ds)


def test_get_rdataset_data_is_fresh() -> None:
    a = get_rdataset("sleepstudy", "lme4")
    a.data.loc[0, "Reaction"] = -1.0
    b = get_rdataset("sleepstudy", "lme4")
    assert b.data["Reaction"].iloc[0] != -1.0
    assert load("sleepstudy")["Reaction"].iloc[0] != -1.0


def test_get_rdataset_case_insensitive_fallback() -> None:
    ds = get_rdataset("SITKA", "mass")
    assert ds.package == "MASS"
    assert len(ds.data) == 395


def test_get_rdataset_package_mismatch() -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        get_rdataset("Sitka", "lme4")
    msg = str(info.value)
    assert "Sitka" in msg
    assert "lme4" in msg
    assert "MASS" in msg


def test_get_rdataset_package_mismatch_dietox() -> None:
    with pytest.raises(ValueError, match="geepack"):
        get_rdataset("dietox", "MASS")


def test_get_rdataset_unknown() -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        get_rdataset("iris", "datasets")
    msg = str(info.value)
    assert "iris" in msg
    assert "not bundled" in msg
    assert "offline" in msg
    assert "sleepstudy" in msg


def test_get_rdataset_non_str() -> None:
    with pytest.raises(TypeError, match="dataname"):
        get_rdataset(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="package"):
        get_rdataset("Sitka", 1)  # type: ignore[arg-type]


def test_get_rdataset_cache_argument_ignored() -> None:
    ds = get_rdataset("Dyestuff", "lme4", cache=True)
    assert ds.from_cache is True
    assert len(ds.data) == 30
