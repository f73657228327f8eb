"""The ``mixedmodels`` command line: fit a CSV or Parquet file, list the bundled data.

Run as ``mixedmodels ...`` (the installed entry point) or ``python -m mixedmodels ...``.
Every error is one line on stderr naming the culprit, with exit status 2;
no traceback is shown for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2

EXAMPLES = """\
examples:
  mixedmodels fit sleep.csv "Reaction ~ Days + (Days | Subject)"
  mixedmodels fit sleep.parquet "Reaction ~ Days + (Days | Subject)" --ml --json fit.json
  mixedmodels fit pigs.csv "Weight ~ Time + (Time | Pig)" --factor Pig --plot ranef.png
  mixedmodels fit sleepstudy "Reaction ~ Days + (Days | Subject)"   # a bundled data set
  mixedmodels datasets                      # list the bundled data sets
  mixedmodels datasets sleepstudy -o sleep.csv
"""


class CommandError(Exception):
    """A user error with a one-line message."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixedmodels",
        description="Fit linear mixed-effects models with lme4's formula language.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    fit = commands.add_parser(
        "fit",
        help="fit a model to a CSV or Parquet file and print lme4's summary",
        description="Fit FORMULA to DATA (.csv, .csv.gz, .tsv, .parquet, or a bundled data "
        "set name) and print the lme4-style summary.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("data", metavar="DATA", help="CSV or Parquet file, or a bundled data set")
    fit.add_argument("formula", metavar="FORMULA", help='lme4 formula, e.g. "y ~ x + (1 | g)"')
    fit.add_argument("--ml", action="store_true", help="fit by maximum likelihood (default REML)")
    fit.add_argument("--weights", metavar="COL", help="column of prior weights")
    fit.add_argument(
        "--factor",
        metavar="COL",
        action="append",
        default=[],
        help="treat column COL as a factor (repeatable); text columns already are",
    )
    fit.add_argument("--json", metavar="OUT", help="write the fit as JSON (fit.to_dict())")
    fit.add_argument("--tidy", metavar="OUT", help="write broom.mixed's tidy table as CSV")
    fit.add_argument("--plot", metavar="OUT.png", help="write a caterpillar plot (matplotlib)")
    fit.add_argument(
        "--no-satterthwaite",
        action="store_true",
        help="lme4's plain fixed-effects table (no df and p values)",
    )
    fit.add_argument(
        "--verbose", "-v", action="count", default=0, help="print each criterion evaluation"
    )
    datasets = commands.add_parser(
        "datasets",
        help="list the bundled data sets, or write one to a file",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    datasets.add_argument("name", nargs="?", help="a data set to write (with -o)")
    datasets.add_argument("-o", "--output", metavar="FILE", help="write NAME as CSV or Parquet")
    return parser


def _read(path_text: str, factors: list[str]):
    import pandas as pd

    path = Path(path_text)
    if not path.exists():
        from . import datasets

        names = {name.lower(): name for name in datasets.list_datasets()}
        if path_text.lower() in names and not path.suffix:
            return datasets.load(names[path_text.lower()]), path_text
        raise CommandError(
            f"data file {path_text!r} not found (nor a bundled data set: see `mixedmodels "
            "datasets`)"
        )
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
            try:
                data = pd.read_parquet(path)
            except ImportError as error:
                raise CommandError(
                    f"reading {path.name} needs pyarrow: pip install pyarrow ({error})"
                ) from error
        elif suffixes.endswith((".csv", ".csv.gz", ".txt")):
            data = pd.read_csv(path)
        elif suffixes.endswith((".tsv", ".tsv.gz")):
            data = pd.read_csv(path, sep="\t")
        else:
            raise CommandError(
                f"cannot tell the format of {path.name!r}: use .csv, .csv.gz, .tsv or .parquet"
            )
    except (OSError, ValueError, pd.errors.ParserError) as error:
        if isinstance(error, CommandError):
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise CommandError(f"cannot read {path.name!r}: {first_line}") from error
    for column in factors:
        if column not in data.columns:
            raise CommandError(
                f"--factor {column!r}: no such column in {path.name} "
                f"(columns: {', '.join(map(str, data.columns))})"
            )
        data[column] = data[column].astype(str).astype("category")
    return data, path.name


def _fit(args: argparse.Namespace) -> int:
    import warnings

    from .model import lmer

    data, data_name = _read(args.data, args.factor)
    if args.weights is not None and args.weights not in data.columns:
        raise CommandError(
            f"--weights {args.weights!r}: no such column in {data_name} "
            f"(columns: {', '.join(map(str, data.columns))})"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = lmer(args.formula, data, REML=not args.ml, weights=args.weights, verbose=args.verbose)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    ddf = None if args.no_satterthwaite else "Satterthwaite"
    print(fit.summary(ddf=ddf, data_name=data_name))
    if args.json:
        import json

        record = fit.to_dict()
        record["data_name"] = data_name
        Path(args.json).write_text(json.dumps(record, indent=1), encoding="utf-8")
    if args.tidy:
        fit.tidy(effects=("fixed", "ran_pars", "ran_vals"), conf_int=True, ddf=ddf).to_csv(
            args.tidy, index=False
        )
    if args.plot:
        from .plot._mpl import pyplot

        pyplot().switch_backend("Agg")
        figure, _ = fit.plot.caterpillar()
        figure.savefig(args.plot, dpi=110)
    return EXIT_OK


def _datasets(args: argparse.Namespace) -> int:
    from . import datasets

    if args.name is None:
        descriptions = _dataset_descriptions(datasets.__doc__ or "")
        for name in datasets.list_datasets():
            print(f"{name:<12} {descriptions.get(name, '')}")
        return EXIT_OK
    data = datasets.load(args.name)
    if args.output is None:
        print(data.to_csv(index=False), end="")
    elif args.output.lower().endswith(".parquet"):
        data.to_parquet(args.output, index=False)
    else:
        data.to_csv(args.output, index=False)
    return EXIT_OK


def _dataset_descriptions(doc: str) -> dict[str, str]:
    """First sentence of each entry of the ``Data sets`` section of the datasets docstring."""
    lines = doc.split("Data sets\n---------\n", 1)[-1].split("\n\n", 1)[0].splitlines()
    out: dict[str, str] = {}
    current = None
    for line in lines:
        if line and not line.startswith(" "):
            current = line.strip()
            out[current] = ""
        elif current is not None:
            out[current] = (out[current] + " " + line.strip()).strip()
    return {name: text.split(": ")[0].split(". ")[0].rstrip(".") for name, text in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for any error)."""
    from .errors import MixedModelsError, OptionalDependencyError

    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "fit":
            return _fit(args)
        return _datasets(args)
    except (CommandError, MixedModelsError, OptionalDependencyError, OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"mixedmodels: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mixedmodels: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
