"""Reading the bundled data sets.

Every data set is stored in the package's ``data/`` directory as ``NAME.csv``
(or ``NAME.csv.gz``) written by R's ``write.csv`` together with a
``NAME.schema.json`` file of the form::

    {"columns": {"col": "factor" | "numeric", ...},
     "levels": {"factor_col": ["level", ...], ...}}

read by :func:`~mixedmodels.datasets.read_csv_schema` (the reader of every R
CSV + schema pair, bundled or not). The files are located with
:mod:`importlib.resources`; nothing outside the package is ever read, and
nothing is ever downloaded.

Column conventions
------------------
* Factor columns are read as strings (so labels such as ``"4601"`` or ``"1"``
  stay strings) and converted to an unordered :class:`pandas.Categorical` whose
  categories are the schema's levels in R's order.
* Numeric columns are ``int64`` when every value in the CSV is written without
  a decimal part and none is missing; otherwise they are ``float64``.
* ``NA`` in the CSV is a missing value: ``NaN`` in numeric columns and a
  missing category in factor columns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pandas as pd

from mixedmodels.datasets._csvschema import read_csv_schema

__all__ = [
    "DatasetNotFoundError",
    "RDataset",
    "get_rdataset",
    "list_datasets",
    "load",
]

_DATA_PACKAGE = "mixedmodels.datasets"
_DATA_DIR = "data"


class DatasetNotFoundError(ValueError):
    """Raised when a requested data set is not bundled with the package.

    Also raised by :func:`get_rdataset` when the requested R package does not
    hold the requested data set. It is a :class:`ValueError` subclass, so
    ``except ValueError`` catches it.
    """


@dataclass(frozen=True)
class _Info:
    """Static metadata about one bundled data set."""

    name: str
    package: str
    title: str
    description: str


_REGISTRY: tuple[_Info, ...] = (
    _Info(
        "dietox",
        "geepack",
        "Growth curve of pigs in a 3x3 factorial experiment",
        "Weight of slaughter pigs measured weekly for 12 weeks, with vitamin E "
        "(Evit) and copper (Cu) dose factors; repeated measures within Pig.",
    ),
    _Info(
        "Dyestuff",
        "lme4",
        "Yield of dyestuff by batch",
        "Yield of dyestuff (Napthalene Black 12B) from 5 samples of each of 6 "
        "batches of an intermediate product.",
    ),
    _Info(
        "Dyestuff2",
        "lme4",
        "Yield of dyestuff by batch (simulated)",
        "Simulated data with the layout of Dyestuff; a random intercept per "
        "Batch gives a singular fit (zero between-batch variance).",
    ),
    _Info(
        "InstEval",
        "lme4",
        "University lecture/instructor evaluations by students at ETH",
        "73,421 evaluation scores (y, 1-5) with crossed random factors: "
        "student s, instructor d and department dept.",
    ),
    _Info(
        "Penicillin",
        "lme4",
        "Variation in penicillin testing",
        "Diameter of the growth-inhibition zone for 6 penicillin samples on "
        "each of 24 plates: a fully crossed plate x sample design.",
    ),
    _Info(
        "Sitka",
        "MASS",
        "Growth curves for Sitka spruce trees in 1988",
        "Log-size of 79 Sitka spruce trees measured 5 times in 1988, grown "
        "in control or ozone-enriched chambers.",
    ),
    _Info(
        "sleepstudy",
        "lme4",
        "Reaction times in a sleep deprivation study",
        "Average reaction time (ms) of 18 subjects on each of 10 days of sleep deprivation.",
    ),
)

_BY_NAME: dict[str, _Info] = {info.name: info for info in _REGISTRY}
_BY_LOWER: dict[str, _Info] = {info.name.lower(): info for info in _REGISTRY}


def list_datasets() -> list[str]:
    """Return the names of the bundled data sets.

    Returns
    -------
    list of str
        The canonical names (as spelled in their R packages), sorted
        case-insensitively. Any of them can be passed to :func:`load` or
        :func:`get_rdataset`.

    Examples
    --------
    >>> from mixedmodels.datasets import list_datasets
    >>> "sleepstudy" in list_datasets()
    True
    """
    return sorted(_BY_NAME, key=str.lower)


def _check_name(name: object, argname: str) -> str:
    if not isinstance(name, str):
        raise TypeError(
            f"{argname} must be a str naming a bundled data set, got {type(name).__name__} {name!r}"
        )
    return name


def _available() -> str:
    return ", ".join(list_datasets())


def _resolve(name: str) -> _Info:
    """Find a data set by exact name, then case-insensitively."""
    info = _BY_NAME.get(name)
    if info is None:
        info = _BY_LOWER.get(name.lower())
    if info is None:
        raise DatasetNotFoundError(
            f"unknown data set {name!r}; available data sets are: {_available()}"
        )
    return info


def _data_file(filename: str) -> Any:
    """Return a :mod:`importlib.resources` traversable for a data file."""
    return resources.files(_DATA_PACKAGE) / _DATA_DIR / filename


def _csv_resource(name: str) -> Any:
    for filename in (f"{name}.csv", f"{name}.csv.gz"):
        resource = _data_file(filename)
        if resource.is_file():
            return resource
    raise RuntimeError(
        f"the data file for bundled data set {name!r} is missing from the "
        f"installed package (expected data/{name}.csv or data/{name}.csv.gz)"
    )


@functools.cache  # i.e. lru_cache(maxsize=None)
def _parse(name: str) -> pd.DataFrame:
    """Parse one bundled data set (cached; callers must copy the result)."""
    return read_csv_schema(_csv_resource(name), _data_file(f"{name}.schema.json"))


def load(name: str) -> pd.DataFrame:
    """Load a bundled data set as a :class:`pandas.DataFrame`.

    Parameters
    ----------
    name : str
        Name of the data set, matched case-insensitively (``"sleepstudy"``,
        ``"SleepStudy"`` and ``"SLEEPSTUDY"`` are the same). See
        :func:`list_datasets`.

    Returns
    -------
    pandas.DataFrame
        A fresh copy: modifying it does not affect later calls. Factor columns
        are unordered categoricals with string categories in R's level order;
        numeric columns are ``int64`` when all values are integers without
        missing values and ``float64`` otherwise; ``NA`` becomes ``NaN``.

    Raises
    ------
    TypeError
        If `name` is not a str.
    DatasetNotFoundError
        If no bundled data set has that name (a :class:`ValueError` subclass;
        the message lists the available names).

    Examples
    --------
    >>> from mixedmodels.datasets import load
    >>> df = load("sleepstudy")
    >>> df.shape
    (180, 3)
    >>> list(df["Subject"].cat.categories[:3])
    ['308', '309', '310']
    """
    info = _resolve(_check_name(name, "name"))
    return _parse(info.name).copy(deep=True)


class RDataset:
    """A bundled R data set, mimicking ``statsmodels.datasets.utils.Dataset``.

    Attributes
    ----------
    data : pandas.DataFrame
        The data, with the same column handling as :func:`load`.
    raw_data : pandas.DataFrame
        A second, independent copy of the data (statsmodels compatibility).
    package : str
        The R package the data set comes from.
    title : str
        The data set's title.
    from_cache : bool
        Always ``True``: the data come from the copy bundled with this package.
    __doc__ : str
        A short description: title, source package and columns.
    """

    def __init__(self, name: str, package: str, title: str, data: pd.DataFrame, doc: str):
        self.name = name
        self.package = package
        self.title = title
        self.data = data
        self.raw_data = data.copy(deep=True)
        self.from_cache = True
        self.__doc__ = doc

    def __repr__(self) -> str:
        return f"RDataset(name={self.name!r}, package={self.package!r}, shape={self.data.shape!r})"


def _describe(info: _Info, data: pd.DataFrame) -> str:
    lines = [
        f"{info.name}: {info.title}",
        "",
        f"Source: R package {info.package!r} (bundled copy; no download).",
        "",
        info.description,
        "",
        f"{len(data)} rows; columns:",
    ]
    for col in data.columns:
        dtype = data[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            kind = f"factor with {len(dtype.categories)} levels"
        else:
            kind = f"numeric ({dtype})"
        lines.append(f"    {col}: {kind}")
    return "\n".join(lines) + "\n"


def get_rdataset(dataname: str, package: str | None = None, cache: Any = False) -> RDataset:
    """Offline replacement for :func:`statsmodels.datasets.get_rdataset`.

    Serves the copies bundled with this package; no download is ever
    attempted.

    Parameters
    ----------
    dataname : str
        Name of the data set. An exact match is tried first, then a
        case-insensitive one.
    package : str, optional
        The R package holding the data set (``"lme4"``, ``"MASS"`` or
        ``"geepack"``). If given it must be the package that holds
        `dataname`; it is also matched case-insensitively.
    cache : object, optional
        Accepted for signature compatibility with statsmodels and ignored.

    Returns
    -------
    RDataset
        With attributes ``data`` (a fresh :class:`pandas.DataFrame`),
        ``__doc__``, ``package``, ``title`` and ``from_cache`` (``True``).

    Raises
    ------
    TypeError
        If `dataname` is not a str, or `package` is neither None nor a str.
    DatasetNotFoundError
        If the data set is not bundled, or `package` does not hold it (the
        message names the package that does).

    Examples
    --------
    >>> from mixedmodels.datasets import get_rdataset
    >>> data = get_rdataset("dietox", "geepack").data
    >>> data.shape
    (861, 8)
    """
    dataname = _check_name(dataname, "dataname")
    if package is not None and not isinstance(package, str):
        raise TypeError(f"package must be a str or None, got {type(package).__name__} {package!r}")
    info = _BY_NAME.get(dataname) or _BY_LOWER.get(dataname.lower())
    if info is None:
        where = f" from R package {package!r}" if package is not None else ""
        raise DatasetNotFoundError(
            f"data set {dataname!r}{where} is not bundled with mixedmodels, which "
            "works offline and never downloads data; bundled data sets are: "
            + ", ".join(
                f"{i.name} ({i.package})" for i in sorted(_REGISTRY, key=lambda i: i.name.lower())
            )
        )
    if package is not None and package != info.package and package.lower() != info.package.lower():
        raise DatasetNotFoundError(
            f"data set {dataname!r} is not in R package {package!r}; the bundled "
            f"{info.name!r} comes from R package {info.package!r}"
        )
    data = load(info.name)
    return RDataset(info.name, info.package, info.title, data, _describe(info, data))
