"""Tests of mixedmodels.optim (a package, so that test modules mirror the source tree)."""
