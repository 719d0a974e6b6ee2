"""The sampled read behind ``gies validate``: GDAL's nearest decimation, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from gies.io import read as rd
from gies.io.read import raster_info, read_sample


def _tif(path, shape, *, tiled=True, overviews=False, nodata=-9999):
    rng = np.random.default_rng(5)
    a = rng.integers(0, 1000, shape).astype(np.int16)
    a[:7, :9] = nodata
    with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1,
                       dtype="int16", crs="EPSG:32628", nodata=nodata, tiled=tiled,
                       blockxsize=64, blockysize=64, transform=Affine(30, 0, 3e5, 0, -30, 1.6e6)) as ds:
        ds.write(a, 1)
    if overviews:
        with rasterio.open(path, "r+") as ds:
            ds.build_overviews([2, 4])
    return path, a


@pytest.mark.parametrize("shape", [(700, 530), (333, 1001)])
def test_strip_decimation_equals_gdal_nearest(tmp_path, shape, monkeypatch):
    path, a = _tif(tmp_path / "a.tif", shape)
    info = raster_info(path, key="layers.x")
    calls = []
    real = rd._decimate_by_strips
    monkeypatch.setattr(rd, "_decimate_by_strips", lambda *x, **k: (calls.append(1), real(*x, **k))[1])
    got, grid = read_sample(info, max_pixels=5000)
    assert calls  # no overviews: the strip path
    with rasterio.open(path) as ds:
        ref = ds.read(1, out_shape=grid.shape).astype(np.float64)
    ref[ref == -9999] = np.nan
    np.testing.assert_array_equal(got, ref)
    assert grid.shape[0] * grid.shape[1] <= 5000 and np.isnan(got[0, 0])


def test_small_file_and_overviews_read_directly(tmp_path, monkeypatch):
    monkeypatch.setattr(rd, "_decimate_by_strips", lambda *x, **k: pytest.fail("strip path taken"))
    path, a = _tif(tmp_path / "small.tif", (50, 40))
    got, grid = read_sample(raster_info(path, key="layers.x"))
    assert grid.shape == (50, 40) and np.nanmax(got) == a[a != -9999].max()
    path, _ = _tif(tmp_path / "ov.tif", (700, 530), overviews=True)
    got, grid = read_sample(raster_info(path, key="layers.x"), max_pixels=5000)
    assert np.isfinite(got).mean() > 0.9


def test_gdal_block_cache_is_left_as_it_was(tmp_path):
    # a bare number given to rasterio as GDAL_CACHEMAX is bytes: 64 once meant a 64-byte
    # cache, left in place after the sampled read, and every later read decoded each block
    # once per output row
    from rasterio._env import get_gdal_config

    before = get_gdal_config("GDAL_CACHEMAX")
    path, _ = _tif(tmp_path / "a.tif", (700, 530))
    read_sample(raster_info(path, key="layers.x"), max_pixels=5000)
    assert get_gdal_config("GDAL_CACHEMAX") == before
    from gies.io.gdal import block_cache

    with block_cache(64):
        assert int(get_gdal_config("GDAL_CACHEMAX")) == 64 * 2**20


def test_a_windowed_sample_reads_only_the_window(tmp_path):
    import rasterio
    from affine import Affine

    from gies.io.read import raster_info, read_sample

    data = np.arange(200 * 300, dtype="float32").reshape(200, 300)
    path = tmp_path / "w.tif"
    with rasterio.open(path, "w", driver="GTiff", width=300, height=200, count=1,
                       dtype="float32", crs="EPSG:4326", transform=Affine(0.1, 0, 10, 0, -0.1, 5),
                       tiled=True, blockxsize=64, blockysize=64) as dst:
        dst.write(data, 1)
    info = raster_info(path, key="layers.w")
    # rows 50..150, columns 100..160, decimated by 2 (the strip path: no overviews)
    arr, g = read_sample(info, window=((50, 150), (100, 160)), max_pixels=1500)
    assert arr.shape == (50, 30)
    # nearest decimation takes the cell at floor((i + ½)·2) of the window: offsets 1, 3, 5, ...
    np.testing.assert_array_equal(arr, data[51:150:2, 101:160:2])
    assert g.transform.c == pytest.approx(20.0) and g.transform.f == pytest.approx(0.0)
    assert g.transform.a == pytest.approx(0.2)


def test_what_c_code_writes_to_stderr_is_captured(capfd):
    import os

    from gies.io.rasters import captured_stderr

    with captured_stderr() as cap:
        os.write(2, b"_tiffWriteProc: No space left on device.\n")  # as libtiff does
    assert cap.text == "_tiffWriteProc: No space left on device.\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_a_full_disk_is_recognised_from_the_error_or_what_gdal_printed():
    import errno

    from rasterio.errors import RasterioIOError

    from gies.io.rasters import disk_full

    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    wrapped = RasterioIOError("Write failed. See previous exception for details.")
    assert not disk_full(wrapped)
    assert disk_full(wrapped, text="_tiffSeekProc: No space left on device.\n")
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError as inner:
            raise RuntimeError("write") from inner
    except RuntimeError as outer:
        assert disk_full(outer)
