import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: scripts, not test modules (run by the tests in a QGIS Python, or by hand)
collect_ignore = ["qgis_check.py", "reference/record.py"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def _gdal_tool(name: str) -> str:
    """Path of a Debian GDAL command-line tool: tests needing it skip locally without it and
    fail on CI (``apt-get install gdal-bin``)."""
    exe = shutil.which(name)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required on CI (apt-get install gdal-bin)")
        pytest.skip(f"{name} not installed")
    return exe


@pytest.fixture
def gdalwarp() -> str:
    """Path of gdalwarp (an oracle for the warp kernels)."""
    return _gdal_tool("gdalwarp")


@pytest.fixture
def gdaldem() -> str:
    """Path of gdaldem (an oracle for slope and aspect)."""
    return _gdal_tool("gdaldem")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


os.environ.setdefault("MPLBACKEND", "Agg")
