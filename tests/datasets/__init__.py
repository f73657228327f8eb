"""Tests of mixedmodels.datasets (a package, so that test modules mirror the source tree)."""
