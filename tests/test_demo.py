"""``python -m mixedmodels.demo`` fits and prints both summaries."""

from __future__ import annotations

import pytest

from mixedmodels import demo


def test_demo_prints_both_fits(capsys: pytest.CaptureFixture) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "Subject" in out and "Reaction" in out
    assert "lme4's REML logLik is -871.8141" in out
    assert "Mixed Linear Model Regression Results" in out
