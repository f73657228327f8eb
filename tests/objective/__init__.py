"""Tests of mixedmodels.objective (a package, so that test modules mirror the source tree)."""
