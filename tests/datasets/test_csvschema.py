"""Tests of :func:`mixedmodels.datasets.read_csv_schema` (``datasets/_csvschema.py``)."""

from __future__ import annotations

import csv
import gzip
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixedmodels.datasets import list_datasets, load, read_csv_schema
from mixedmodels.errors import ArgumentTypeError, DataError

REFERENCE = Path(__file__).parents[1] / "reference"
SCHEMA_FILES = sorted(
    [
        *REFERENCE.glob("*/data/*.schema.json"),
        *REFERENCE.glob("*/data/*.levels.json"),
        *REFERENCE.glob("extra/*.schema.json"),
    ]
)
SCHEMA_IDS = [str(path.relative_to(REFERENCE)).split(".")[0] for path in SCHEMA_FILES]


def _csv_of(schema_path: Path) -> Path:
    return schema_path.parent / f"{schema_path.name.split('.')[0]}.csv"


def _write(tmp_path: Path, text: str, schema: dict, name: str = "data.csv") -> tuple[Path, Path]:
    csv_path = tmp_path / name
    if name.endswith(".gz"):
        csv_path.write_bytes(gzip.compress(text.encode()))
    else:
        csv_path.write_text(text)
    schema_path = tmp_path / "data.schema.json"
    schema_path.write_text(json.dumps(schema))
    return csv_path, schema_path


FLAT_TEXT = '"g","x","y","d"\n"None",1,2.5,"a"\n"b",2,NA,NA\n"None",3,4,"c"\n'
FLAT_SCHEMA = {
    "columns": {"g": "factor", "x": "numeric", "y": "numeric", "d": "factor"},
    "levels": {"g": ["b", "None"], "d": ["c", "a"]},
}


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize("name", list_datasets(), ids=list_datasets())
def test_bundled_data_sets_read_as_load(name: str) -> None:
    data = resources.files("mixedmodels.datasets") / "data"
    csv_file = data / f"{name}.csv"
    if not csv_file.is_file():
        csv_file = data / f"{name}.csv.gz"
    frame = read_csv_schema(csv_file, data / f"{name}.schema.json")
    pd.testing.assert_frame_equal(frame, load(name), check_exact=True)


def test_flat_layout(tmp_path: Path) -> None:
    frame = read_csv_schema(*_write(tmp_path, FLAT_TEXT, FLAT_SCHEMA))
    assert list(frame.columns) == ["g", "x", "y", "d"]
    assert list(frame["g"].cat.categories) == ["b", "None"]  # R's order, "None" a level
    assert list(frame["g"].astype(object)) == ["None", "b", "None"]
    assert not frame["g"].cat.ordered
    # The flat layout's numeric is R's is.numeric: whole and complete -> int64.
    assert frame["x"].dtype == np.int64
    assert frame["y"].dtype == np.float64
    assert np.isnan(frame["y"].iloc[1])
    assert pd.isna(frame["d"].iloc[1])  # NA in a factor is a missing category
    assert isinstance(frame.index, pd.RangeIndex)


def test_nested_layout_follows_r_storage_types(tmp_path: Path) -> None:
    schema = {
        "name": "nested",
        "columns": {
            "o": {"type": "ordered", "levels": ["lo", "mid", "hi"]},
            "f": {"type": "factor", "levels": ["2", "10"]},
            "n": {"type": "numeric"},
            "i": {"type": "integer"},
            "j": {"type": "integer"},
        },
    }
    text = '"o","f","n","i","j"\n"hi","10",1,4,NA\n"lo","2",2,5,7\n'
    frame = read_csv_schema(*_write(tmp_path, text, schema))
    assert frame["o"].cat.ordered
    assert list(frame["o"].cat.categories) == ["lo", "mid", "hi"]
    assert frame["o"].cat.codes.tolist() == [2, 0]
    assert list(frame["f"].cat.categories) == ["2", "10"]  # labels stay strings
    # R's double stays a double even when every value is whole (I(n^-1) stays valid).
    assert frame["n"].dtype == np.float64
    assert frame["i"].dtype == np.int64
    assert frame["j"].dtype == np.float64  # an integer with NA
    assert np.isnan(frame["j"].iloc[0])


def test_levels_only_layout(tmp_path: Path) -> None:
    text = "y,x,g\n1.5,0,A\n2,1,B\n"
    frame = read_csv_schema(*_write(tmp_path, text, {"factors": {"g": ["B", "A"]}}))
    assert list(frame["g"].cat.categories) == ["B", "A"]
    assert frame["y"].dtype == np.float64
    assert frame["x"].dtype == np.int64


def test_gzip_by_name(tmp_path: Path) -> None:
    plain = read_csv_schema(*_write(tmp_path, FLAT_TEXT, FLAT_SCHEMA))
    zipped = read_csv_schema(*_write(tmp_path, FLAT_TEXT, FLAT_SCHEMA, name="data.csv.gz"))
    pd.testing.assert_frame_equal(plain, zipped)


def test_paths_as_str(tmp_path: Path) -> None:
    csv_path, schema_path = _write(tmp_path, FLAT_TEXT, FLAT_SCHEMA)
    pd.testing.assert_frame_equal(
        read_csv_schema(str(csv_path), str(schema_path)), read_csv_schema(csv_path, schema_path)
    )


def test_numbers_are_correctly_rounded(tmp_path: Path) -> None:
    # 17-digit decimals where a fast float parser can be one ulp off.
    values = [
        "0.10000000000000001",
        "2.2250738585072014e-308",
        "9007199254740993.5",
        "0.30000000000000004",
        "1.7976931348623157e308",
        "4.9406564584124654e-324",
    ]
    text = "x\n" + "\n".join(values) + "\n"
    frame = read_csv_schema(*_write(tmp_path, text, {"columns": {"x": "numeric"}}))
    assert frame["x"].tolist() == [float(value) for value in values]


# --------------------------------------------------------------------------- reference files


@pytest.mark.parametrize("schema_path", SCHEMA_FILES, ids=SCHEMA_IDS)
def test_reference_data_sets_match_their_csv(schema_path: Path) -> None:
    """Every reference CSV: factor labels verbatim, numbers as Python parses them."""
    frame = read_csv_schema(_csv_of(schema_path), schema_path)
    with _csv_of(schema_path).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert list(frame.columns) == rows[0]
    assert len(frame) == len(rows) - 1
    for j, column in enumerate(rows[0]):
        texts = [row[j] for row in rows[1:]]
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            assert [None if t == "NA" else t for t in texts] == [
                None if pd.isna(v) else v for v in values.astype(object)
            ], column
        else:
            want = np.array([np.nan if t == "NA" else float(t) for t in texts])
            np.testing.assert_array_equal(values.to_numpy(dtype=np.float64), want, column)


# --------------------------------------------------------------------------- errors


def _error(tmp_path: Path, text: str, schema: dict) -> str:
    with pytest.raises(DataError) as info:
        read_csv_schema(*_write(tmp_path, text, schema))
    return str(info.value)


def test_value_not_among_levels_names_column(tmp_path: Path) -> None:
    schema = {"columns": {"g": "factor"}, "levels": {"g": ["a"]}}
    message = _error(tmp_path, "g\na\nzz\n", schema)
    assert "'g'" in message and "zz" in message


def test_text_in_number_column_names_column(tmp_path: Path) -> None:
    message = _error(tmp_path, "x\n1\nseven\n", {"columns": {"x": "numeric"}})
    assert "'x'" in message


def test_non_whole_integer_names_column(tmp_path: Path) -> None:
    message = _error(tmp_path, "k\n1\n2.5\n", {"columns": {"k": {"type": "integer"}}})
    assert "'k'" in message and "integer" in message


def test_unknown_kind_names_column(tmp_path: Path) -> None:
    message = _error(tmp_path, "x\n1\n", {"columns": {"x": "complex"}})
    assert "'x'" in message and "complex" in message


def test_factor_without_levels(tmp_path: Path) -> None:
    assert "'g'" in _error(tmp_path, "g\na\n", {"columns": {"g": "factor"}})


def test_duplicate_levels(tmp_path: Path) -> None:
    schema = {"columns": {"g": "factor"}, "levels": {"g": ["a", "a"]}}
    assert "duplicate" in _error(tmp_path, "g\na\n", schema)


def test_column_missing_from_csv(tmp_path: Path) -> None:
    schema = {"columns": {"x": "numeric", "y": "numeric"}}
    message = _error(tmp_path, "x\n1\n", schema)
    assert "missing ['y']" in message


def test_column_missing_from_schema(tmp_path: Path) -> None:
    message = _error(tmp_path, "x,z\n1,2\n", {"columns": {"x": "numeric"}})
    assert "not in the schema ['z']" in message


def test_schema_without_a_layout(tmp_path: Path) -> None:
    assert "'columns'" in _error(tmp_path, "x\n1\n", {"cols": {"x": "numeric"}})


def test_schema_not_json(tmp_path: Path) -> None:
    csv_path, schema_path = _write(tmp_path, "x\n1\n", {})
    schema_path.write_text("{not json")
    with pytest.raises(DataError, match="not JSON"):
        read_csv_schema(csv_path, schema_path)


def test_path_of_wrong_type(tmp_path: Path) -> None:
    _, schema_path = _write(tmp_path, "x\n1\n", {"columns": {"x": "numeric"}})
    with pytest.raises(ArgumentTypeError, match="csv_path"):
        read_csv_schema(3, schema_path)
