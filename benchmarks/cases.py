"""Benchmark cases: the reference fits plus synthetic scale cases, and data loading."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "DATA_DIR",
    "REFERENCE_DIR",
    "REPO_ROOT",
    "Case",
    "dataset_files",
    "factor_cases",
    "load_case_data",
    "load_dataset",
    "reference_cases",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
REFERENCE_DIR = REPO_ROOT / "tests" / "reference" / "fits"
DATA_DIR = REPO_ROOT / "src" / "mixedmodels" / "datasets" / "data"
#: Data sets of the lme4 formula references (R schema: types and levels per column).
FORMULA_DATA_DIR = REPO_ROOT / "tests" / "reference" / "formula" / "data"

#: Models with factor covariates (issue 13: factor designs as fast as numeric ones), the
#: models of ``../shared/reference/inference``; log-likelihoods from lme4 1.1-31.
FACTOR_CASES = [
    ("bodyweight_diet", "weight ~ Time * Diet + (Time | Rat)", "BodyWeight", 176,
     -575.85987441022),
    ("alfalfa_splitplot", "Yield ~ Date * Variety + (1 | Block/Variety)", "Alfalfa", 72,
     -4.97818413450499),
    ("dietox_factors", "Weight ~ Time * Evit + Cu + (Time | Pig)", "dietox", 861,
     -2211.07809651019),
]


@dataclass
class Case:
    """One model to fit with every peer.

    Attributes
    ----------
    id : str
        Unique case identifier (the reference ``id`` for reference cases).
    formula : str
        lme4-syntax model formula.
    reml : bool
        REML (True) or ML (False) estimation.
    nobs : int
        Number of observations.
    kind : str
        ``"reference"`` or ``"synthetic"``.
    family : str
        Series the case belongs to (``"reference"``, ``"slopes"``, ``"crossed"``),
        used for the time-vs-size plot.
    dataset : str or None
        Data set name for reference cases.
    ref_loglik : float or None
        lme4's log-likelihood from the reference JSON.
    synth : dict
        Generator parameters for synthetic cases (see ``synthetic.py``).
    """

    id: str
    formula: str
    reml: bool
    nobs: int
    kind: str = "reference"
    family: str = "reference"
    dataset: str | None = None
    ref_loglik: float | None = None
    synth: dict[str, Any] = field(default_factory=dict)

    @property
    def is_large(self) -> bool:
        """Return True for cases with at least 100,000 observations."""
        return self.nobs >= 100_000

    def to_json(self) -> str:
        """Serialise the case to a JSON string.

        Returns
        -------
        str
            JSON text accepted by :meth:`from_json`.
        """
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Case:
        """Rebuild a case from :meth:`to_json` output.

        Parameters
        ----------
        text : str
            JSON text.

        Returns
        -------
        Case
            The case.
        """
        return cls(**json.loads(text))


def reference_cases(directory: Path = REFERENCE_DIR) -> list[Case]:
    """Read every reference fit JSON file into a :class:`Case`.

    Parameters
    ----------
    directory : Path, optional
        Folder holding ``*.json`` reference fits.

    Returns
    -------
    list of Case
        Cases sorted by id.
    """
    out = []
    for path in sorted(directory.glob("*.json")):
        ref = json.loads(path.read_text())
        out.append(Case(
            id=ref["id"], formula=ref["formula"], reml=bool(ref["REML"]),
            nobs=int(ref["nobs"]), dataset=ref["dataset"],
            ref_loglik=float(ref["logLik"]),
        ))
    return out


def factor_cases() -> list[Case]:
    """The factor-covariate cases (family ``"factors"``), REML as in the references.

    Returns
    -------
    list of Case
    """
    return [
        Case(
            id=case_id, formula=formula, reml=True, nobs=nobs, dataset=dataset,
            family="factors", ref_loglik=loglik,
        )
        for case_id, formula, dataset, nobs, loglik in FACTOR_CASES
    ]


def dataset_files(name: str) -> tuple[Path, Path]:
    """Locate the CSV (possibly gzipped) and schema files of a bundled data set.

    Parameters
    ----------
    name : str
        Data set name, e.g. ``"sleepstudy"``.

    Returns
    -------
    tuple of Path
        ``(csv_path, schema_path)``.
    """
    schema = DATA_DIR / f"{name}.schema.json"
    for suffix in (".csv", ".csv.gz"):
        csv = DATA_DIR / f"{name}{suffix}"
        if csv.exists():
            return csv, schema
    raise FileNotFoundError(f"no CSV for data set {name!r} in {DATA_DIR}")


def load_dataset(name: str, loader: str = "auto") -> tuple[pd.DataFrame, str]:
    """Load a bundled data set.

    Parameters
    ----------
    name : str
        Data set name.
    loader : {"auto", "mixedmodels", "csv"}, optional
        ``"mixedmodels"`` uses ``mixedmodels.datasets.load``; ``"csv"`` reads the
        CSV and schema files with ``mixedmodels.datasets.read_csv_schema`` (no
        cache); ``"auto"`` tries the former, then the latter.

    Returns
    -------
    tuple
        ``(data, loader_used)``.
    """
    from mixedmodels.datasets import load, read_csv_schema

    formula_csv = FORMULA_DATA_DIR / f"{name}.csv"
    if formula_csv.exists() and not (DATA_DIR / f"{name}.csv").exists():
        schema = FORMULA_DATA_DIR / f"{name}.schema.json"
        return read_csv_schema(formula_csv, schema), "csv+R schema"
    if loader in ("auto", "mixedmodels"):
        try:
            return load(name), "mixedmodels.datasets.load"
        except Exception:
            if loader == "mixedmodels":
                raise
    return read_csv_schema(*dataset_files(name)), "csv+schema"


def load_case_data(case: Case, loader: str = "auto") -> tuple[pd.DataFrame, str]:
    """Build the data frame of a case (reference data set or synthetic data).

    Parameters
    ----------
    case : Case
        The case.
    loader : str, optional
        Passed to :func:`load_dataset` for reference cases.

    Returns
    -------
    tuple
        ``(data, source)``.
    """
    if case.kind == "synthetic":
        import synthetic

        return synthetic.make_frame(case), "synthetic"
    assert case.dataset is not None
    return load_dataset(case.dataset, loader)
