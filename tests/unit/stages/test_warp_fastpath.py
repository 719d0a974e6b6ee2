"""GDAL's unmasked warp kernels for blocks without nodata (:func:`gies.stages.warp_mod._fast_path`).

(GDAL's path, ``engine="gdal"``; for nearest and bilinear gies's own kernels are the default.)

A tile lying inside a source block without NaN is warped without a nodata value, which
lets GDAL skip its validity bookkeeping. These tests pin down that the values are the
masked warp's bit for bit, that the fast path is really taken where it may be and never
where a target cell could fall outside the source or a source cell is NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS as RioCRS

from gies.grid import tile_spans
from gies.stages import harmonise
from gies.stages import warp as warp_mod
from gies.grid import Grid

LAEA = "+proj=laea +lat_0=10 +lon_0=20 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
D = 7.5 / 3600
SRC = Grid(RioCRS.from_epsg(4326).to_wkt(), Affine(D, 0, 19.8, 0, -D, 10.2), (200, 200))


def _block(nan=False, seed=3):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:200, 0:200]
    a = (20 + 8 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 1, xx.shape))
    a = a.astype(np.float32)
    if nan:
        a[90:110, 90:110] = np.nan
    return a


def _warp(a, dst: Grid, method, inside, stacked=False):
    return warp_mod._warp_block(
        a, src_transform=SRC.transform, src_crs=RioCRS.from_wkt(SRC.crs),
        dst_transform=dst.transform, dst_crs=RioCRS.from_wkt(dst.crs), shape=dst.shape,
        method=method, src_nodata=np.nan, dst_nodata=np.nan, dtype=np.float32,
        stacked=stacked, inside=inside, engine="gdal")


def _inner_grid() -> Grid:
    # a 100 m grid well inside the 7.5" block (about 46 km a side)
    return Grid(Grid.from_bounds((-15000, -15000, 15000, 15000), 100, crs=LAEA).crs,
                Affine(100, 0, -15000, 0, -100, 15000), (300, 300))


def _spy(monkeypatch):
    calls = []
    real = warp_mod._warp_bands

    def spy(*args, **kw):
        calls.append(kw.get("fast", False))
        return real(*args, **kw)

    monkeypatch.setattr(warp_mod, "_warp_bands", spy)
    return calls


@pytest.mark.parametrize("method", ["nearest", "bilinear", "cubic", "lanczos"])
def test_fast_path_is_bit_identical_to_masked_warp(method, monkeypatch):
    dst = _inner_grid()
    windows, inside = warp_mod.tile_windows(SRC, dst, 300, 2)
    assert (0, 0) in inside
    a = _block()
    calls = _spy(monkeypatch)
    fast = _warp(a, dst, method, inside=True)
    masked = _warp(a, dst, method, inside=False)
    assert calls == [True, False]
    assert not np.isnan(fast).any()
    np.testing.assert_array_equal(fast, masked)


def test_stacked_bands_take_fast_path_only_without_nan(monkeypatch):
    dst = _inner_grid()
    a = np.stack([_block(seed=1), _block(seed=2), _block(nan=True, seed=4)])
    calls = _spy(monkeypatch)
    out = _warp(a, dst, "bilinear", inside=True, stacked=True)
    # bands 0 and 1 share an (empty) mask: one fast warp; band 2 has a hole: masked
    assert sorted(calls) == [False, True]
    for b in range(3):
        np.testing.assert_array_equal(out[b], _warp(a[b], dst, "bilinear", inside=False))
    assert np.isnan(out[2]).any() and not np.isnan(out[:2]).any()


def test_tile_reaching_outside_the_source_keeps_nodata(monkeypatch):
    # the grid's east half lies east of the source block: those cells must stay NaN
    src_east = 19.8 + 200 * D
    from pyproj import Transformer
    x_east, _ = Transformer.from_crs("EPSG:4326", LAEA, always_xy=True).transform(src_east, 10.0)
    dst = Grid(_inner_grid().crs, Affine(100, 0, x_east - 10000, 0, -100, 15000), (300, 200))
    windows, inside = warp_mod.tile_windows(SRC, dst, 300, 2)
    assert (0, 0) not in inside
    calls = _spy(monkeypatch)
    out = _warp(_block(), dst, "bilinear", inside=(0, 0) in inside)
    assert calls == [False]
    assert np.isnan(out[:, -50:]).all() and not np.isnan(out[:, :50]).any()


def test_integer_or_categorical_blocks_never_take_fast_path():
    a = _block().astype(np.int16)
    assert not warp_mod._fast_path(a[None], "nearest", -1, True)
    assert not warp_mod._fast_path(a[None].astype(np.float32), "mode", np.nan, True)
    assert warp_mod._fast_path(a[None].astype(np.float32), "bilinear", np.nan, True)
    assert not warp_mod._fast_path(a[None].astype(np.float32), "bilinear", np.nan, False)
