"""Example data sets bundled with mixedmodels.

All data sets ship inside the package and are read with
:mod:`importlib.resources`; nothing is ever downloaded, so the examples and
tests work offline.

Data sets
---------
dietox
    Growth of pigs: weekly weights of 72 pigs under vitamin E and copper
    supplementation (R package ``geepack``). 861 rows.
Dyestuff
    Batch yields: 5 yield measurements from each of 6 batches of an
    intermediate product (R package ``lme4``). 30 rows.
Dyestuff2
    Simulated batch yields with the layout of Dyestuff; the random-intercept
    model gives a singular fit (R package ``lme4``). 30 rows.
InstEval
    73,421 lecture evaluations at ETH Zurich with crossed student ``s`` x
    instructor ``d`` x department ``dept`` factors (R package ``lme4``).
Penicillin
    Crossed plate x sample design: inhibition-zone diameters of 6 penicillin
    samples on 24 plates (R package ``lme4``). 144 rows.
Sitka
    Sitka spruce growth under ozone: repeated log-size measurements of 79
    trees (R package ``MASS``). 395 rows.
sleepstudy
    Reaction times of 18 subjects under 10 days of sleep deprivation
    (R package ``lme4``). 180 rows.

Functions
---------
load
    Load a data set by (case-insensitive) name as a :class:`pandas.DataFrame`.
list_datasets
    Names of the bundled data sets.
read_csv_schema
    Read any CSV written by R with a JSON schema of its column types (factor
    levels in R's order, ordered factors, integers); the bundled data sets are
    read with it.
get_rdataset
    Offline, drop-in replacement for :func:`statsmodels.datasets.get_rdataset`
    serving the bundled copies.

Conventions
-----------
Factor columns are unordered :class:`pandas.Categorical` with string
categories in R's level order (so ``"4601"`` stays a string). Numeric columns
are ``int64`` when every value is an integer and none is missing, otherwise
``float64``. ``NA`` in the source becomes ``NaN``. Every call returns a fresh
copy.

Examples
--------
>>> from mixedmodels.datasets import load, get_rdataset
>>> load("sleepstudy").shape
(180, 3)
>>> get_rdataset("Sitka", "MASS").data.columns.tolist()
['size', 'Time', 'tree', 'treat']
"""

from mixedmodels.datasets._csvschema import read_csv_schema
from mixedmodels.datasets._loader import (
    DatasetNotFoundError,
    RDataset,
    get_rdataset,
    list_datasets,
    load,
)

__all__ = [
    "DatasetNotFoundError",
    "RDataset",
    "get_rdataset",
    "list_datasets",
    "load",
    "read_csv_schema",
]
