"""statsmodels' own MixedLM test file, run against ``mixedmodels.api``.

statsmodels ships ``statsmodels/regression/tests/test_lme.py`` (with the R
results in ``results/``) inside its wheel. This test copies it to a temporary
directory, points its two imports (``MixedLM``, ``MixedLMParams``) at
``mixedmodels.api``, runs it with pytest in a subprocess and requires at least
95% of its tests to pass. The private ``_smw_*`` helper tests stay excluded
(they test statsmodels' internal solver, which is still imported from
statsmodels so that the file loads). No copy of their file is committed.

Every remaining failure is listed, with its reason, in the deviations table
of ``docs/statsmodels.md``; ``KNOWN_FAILURES`` mirrors it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

statsmodels = pytest.importorskip("statsmodels")

SOURCE_IMPORT = (
    "from statsmodels.regression.mixed_linear_model import (\n"
    "    MixedLM,\n    MixedLMParams,\n    _smw_logdet,\n    _smw_solver,\n)"
)
REPLACEMENT_IMPORT = (
    "from mixedmodels.api import MixedLM\n"
    "from mixedmodels.api import MixedLMParams\n"
    "from statsmodels.regression.mixed_linear_model import _smw_logdet, _smw_solver"
)
# Deliberate differences (docs/statsmodels.md): the test and the reason in one phrase.
KNOWN_FAILURES = {
    "test_handle_missing": "lme4's identifiability check: more random effects than observations",
    "test_summary_col": "fixed-effects standard errors are lme4's vcov, not a joint Hessian",
    "test_singular": "we reach an interior optimum where statsmodels' fit collapses to zero",
}


def _statsmodels_tests() -> Path:
    path = Path(statsmodels.__file__).parent / "regression" / "tests" / "test_lme.py"
    if not path.exists():
        pytest.skip("this statsmodels installation ships without its tests")
    return path


def _prepare(tmp_path: Path) -> Path:
    source = _statsmodels_tests()
    text = source.read_text(encoding="utf-8")
    assert SOURCE_IMPORT in text, "statsmodels changed the imports of test_lme.py"
    text = text.replace(SOURCE_IMPORT, REPLACEMENT_IMPORT)
    text = text.replace(
        "from .results import lme_r_results",
        "from statsmodels.regression.tests.results import lme_r_results",
    )
    target = tmp_path / "test_lme_mixedmodels.py"
    target.write_text(text, encoding="utf-8")
    # The file reads its R results relative to itself.
    (tmp_path / "results").symlink_to(source.parent / "results", target_is_directory=True)
    return target


def test_statsmodels_mixedlm_suite_passes(tmp_path: Path) -> None:
    target = _prepare(tmp_path)
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
        "-k", "not smw", "-W", "ignore::DeprecationWarning", str(target),
    ]
    completed = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3600
    )
    output = completed.stdout + completed.stderr
    found = re.findall(r"(\d+) (passed|failed|error)", output)
    counts = {kind: int(number) for number, kind in found}
    passed = counts.get("passed", 0)
    total = passed + counts.get("failed", 0) + counts.get("error", 0)
    assert total >= 85, f"statsmodels' test file ran only {total} tests:\n{output[-3000:]}"
    failing = set(re.findall(r"^(?:FAILED|ERROR) \S+::(?:\w+::)?(\w+)", output, re.MULTILINE))
    unexplained = failing - set(KNOWN_FAILURES)
    assert not unexplained, f"failures not in the deviations table: {unexplained}\n{output[-3000:]}"
    assert passed / total >= 0.95, f"{passed}/{total} passed:\n{output[-3000:]}"
