"""Tests of mixedmodels.formula (a package, so that test modules mirror the source tree)."""
