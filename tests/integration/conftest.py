import shutil
import warnings
from pathlib import Path

import pytest

import gies

REPO = Path(__file__).resolve().parents[2]


def copy_pipeline(tmp: Path, name: str, edit=None) -> Path:
    """Copy a shipped pipeline next to the repo layout so relative paths keep working."""
    src = REPO / "pipelines" / name
    text = src.read_text(encoding="utf-8")
    if edit:
        text = edit(text)
    # The copy lives in the repo's pipelines folder under a unique name, so that its relative
    # paths resolve; its outputs go to tmp.
    dst = REPO / "pipelines" / f".test-{tmp.name}-{name}"
    dst.write_text(text, encoding="utf-8")
    return dst


@pytest.fixture(scope="session")
def run_pipeline(tmp_path_factory):
    made = []

    def _run(name: str, edit=None):
        tmp = tmp_path_factory.mktemp(name.replace(".yaml", ""))
        path = copy_pipeline(tmp, name, edit)
        made.append(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gies.run(path, output_root=tmp)

    yield _run
    for p in made:
        p.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def shipped(tmp_path_factory):
    """``shipped(name)``: the result of the shipped pipeline ``pipelines/<name>.yaml`` (run
    once per test session, outputs in a temporary folder)."""
    results = {}

    def _get(name: str):
        if name not in results:
            tmp = tmp_path_factory.mktemp(f"shipped-{name}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[name] = gies.run(REPO / "pipelines" / f"{name}.yaml", output_root=tmp)
        return results[name]

    return _get


@pytest.fixture(scope="session")
def bungo(shipped):
    return shipped("bungo-cocoa")
