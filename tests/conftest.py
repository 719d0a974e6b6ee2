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


@pytest.fixture
def gdalwarp() -> str:
    """Path of Debian's gdalwarp; tests needing it skip locally without it, fail on CI."""
    exe = shutil.which("gdalwarp")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("gdalwarp is required on CI (apt-get install gdal-bin)")
        pytest.skip("gdalwarp not installed")
    return exe


@pytest.fixture
def gdaldem() -> str:
    """Path of Debian's gdaldem (an oracle for slope and aspect); skips locally without it,
    fails on CI."""
    exe = shutil.which("gdaldem")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("gdaldem is required on CI (apt-get install gdal-bin)")
        pytest.skip("gdaldem not installed")
    return exe


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


os.environ.setdefault("MPLBACKEND", "Agg")
