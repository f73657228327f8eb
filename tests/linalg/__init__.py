"""Tests of mixedmodels.linalg (a package, so that test modules mirror the source tree)."""
