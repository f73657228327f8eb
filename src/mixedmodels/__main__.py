"""``python -m mixedmodels``: the command line (:mod:`mixedmodels.cli`)."""

import sys

from .cli import main

sys.exit(main())
