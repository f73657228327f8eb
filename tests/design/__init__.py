"""Tests of mixedmodels.design (a package, so that test modules mirror the source tree)."""
