"""Run the doctests of the method-library modules (each function's example on a tiny layer)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["gies.score", "gies.combine", "gies.classify", "gies.ahp", "gies.ecocrop",
           "gies.improve"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, repo, monkeypatch):
    monkeypatch.chdir(repo)  # gies.improve's example reads the shipped LaSEM table
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
