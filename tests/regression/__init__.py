"""Tests of mixedmodels.regression (a package, so that test modules mirror the source tree)."""
