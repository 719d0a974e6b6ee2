"""numba's cache folder: a writable fallback when neither the package nor the home is."""

import os
import sys

import gies.kernels as kernels


def test_a_temporary_cache_folder_when_package_and_home_are_read_only(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    seen = []

    def writable(folder):
        seen.append(str(folder))
        return folder.is_relative_to(tmp_path / "tmp")  # package and home cache read-only

    monkeypatch.setattr(kernels, "_writable", writable)
    numba = sys.modules.get("numba")
    if numba is not None:
        monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    folder = kernels.numba_cache_ready()
    assert folder is not None and folder.startswith(str(tmp_path / "tmp"))
    assert os.environ["NUMBA_CACHE_DIR"] == folder
    assert seen[0].endswith("__pycache__") and seen[1] == str(tmp_path / "home-cache" / "numba")
    if numba is not None:
        assert numba.config.CACHE_DIR == folder
    # set once: later calls leave it (and a folder the user chose) alone
    assert kernels.numba_cache_ready() is None


def test_numba_own_locations_are_kept_when_writable(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(kernels, "_writable", lambda folder: True)
    assert kernels.numba_cache_ready() is None and "NUMBA_CACHE_DIR" not in os.environ
