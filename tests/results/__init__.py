"""Tests of mixedmodels.results (a package, so that test modules mirror the source tree)."""
