"""The package's layering (``[tool.importlinter]`` in pyproject.toml) holds: every module
imports only from the layers below its own, function-level imports included."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_layers_point_down(monkeypatch):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(REPO)
    assert lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 0


def test_the_contract_names_every_package_of_gies():
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = {m.strip() for layer in conf["contracts"][0]["layers"] for m in layer.split("|")}
    packages = {p.name for p in (REPO / "gies").iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in (REPO / "gies").glob("*.py")} - {"__init__", "__main__", "testing"}
    assert packages | modules == layers
