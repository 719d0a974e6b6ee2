"""Run the doctests of the method-library modules (each function's example on a tiny layer)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["gies.methods.curves", "gies.methods.class_limits", "gies.methods.arcgis",
           "gies.methods.rules", "gies.methods.fao", "gies.methods.schemes", "gies.methods.ahp",
           "gies.methods.ecocrop", "gies.methods.improve", "gies.methods.registry"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, repo, monkeypatch):
    monkeypatch.chdir(repo)  # gies.methods.improve's example reads the shipped LaSEM table
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
