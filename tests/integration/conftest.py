import warnings
from pathlib import Path

import pytest

import gies

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def run_pipeline(tmp_path_factory):
    """``run_pipeline(name, **changes)``: the shipped pipeline ``pipelines/<name>`` with
    ``changes`` merged in (:meth:`gies.config.LoadedPipeline.replace`), run into a temporary
    folder (nothing is written into the source tree)."""
    def _run(name: str, **changes):
        tmp = tmp_path_factory.mktemp(name.replace(".yaml", ""))
        p = gies.load_pipeline(REPO / "pipelines" / name)
        if changes:
            p = p.replace(**changes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gies.run(p, output_root=str(tmp))  # a str folder as well as a Path

    return _run


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
