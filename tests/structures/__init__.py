"""Tests of mixedmodels.structures (a package, so that test modules mirror the source tree)."""
