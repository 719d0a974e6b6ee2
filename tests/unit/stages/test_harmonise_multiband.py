"""Layers sharing a source grid are warped together (one multi-band warp per target tile)
and every layer is bit-identical to its own single-layer warp.

GDAL's one-band warp skips a target cell whose centre source cell is nodata; a multi-band
warp with per-band masks does not, so :func:`gies.stages.warp_mod._warp_block` only stacks layers
whose nodata masks are identical in a block. These tests pin that down: different and
identical holes, different nodata values and scales per file, several tiles, several
methods, laziness and independence of ``processing.chunk``.
"""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS

from gies.grid import tile_spans
from gies.stages import harmonise
from gies.stages import warp as warp_mod
from gies.grid import Grid
from gies.stages.harmonise import onto_grid, onto_grid_many
from gies.io.read import open_raster, raster_info

LAEA = "+proj=laea +lat_0=10 +lon_0=20 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
D = 7.5 / 3600
ROWS, COLS = 260, 300


def _write(path, values, *, nodata, scale, dtype="int16"):
    with rasterio.open(path, "w", driver="GTiff", width=COLS, height=ROWS, count=1,
                       dtype=dtype, crs="EPSG:4326", nodata=nodata,
                       transform=Affine(D, 0, 19.7, 0, -D, 10.3), tiled=True,
                       blockxsize=64, blockysize=64) as ds:
        ds.write(values.astype(dtype), 1)
        if scale is not None:
            ds.scales = (scale,)
    return path


def _files(tmp_path, *, same_holes=False):
    """Three files on one 7.5" grid: int16 with a lake (nodata -32768, scale 0.1), int16
    with another hole (nodata -1, scale 0.01) and float32 without holes (nodata -9999)."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    base = 15 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    lake = (yy - 120) ** 2 + (xx - 140) ** 2 < 30 ** 2
    other = lake if same_holes else ((yy > 40) & (yy < 70) & (xx > 200) & (xx < 260))
    a = np.round(60 + base + rng.normal(0, 4, base.shape))
    a[lake] = -32768
    b = np.round(3000 + 100 * base + rng.normal(0, 50, base.shape))
    b[other] = -1
    c = (20 + base + rng.normal(0, 1, base.shape)).astype(np.float32)
    if same_holes:
        c[lake] = -9999
    return [
        _write(tmp_path / "a.tif", a, nodata=-32768, scale=0.1),
        _write(tmp_path / "b.tif", b, nodata=-1, scale=0.01),
        _write(tmp_path / "c.tif", c, nodata=-9999, scale=None, dtype="float32"),
    ]


def _target(shape=(500, 500), res=100.0):
    h = shape[0] * res / 2
    return Grid(CRS.from_user_input(LAEA).to_wkt(), Affine(res, 0, -h, 0, -res, h), shape)


def _layers(paths, chunk, *, declared_scale=(None, None, 2.0)):
    out = []
    for i, p in enumerate(paths):
        info = raster_info(p, key=f"layers.l{i}")
        da = open_raster(info, bands=[1], chunk=chunk, kind="continuous", nodata=None,
                         scale=declared_scale[i], offset=None, key=f"layers.l{i}")
        out.append((info, da))
    return out


def _both(paths, grid, chunk, resampling, engine="gies"):
    lays = _layers(paths, chunk)
    src = lays[0][0].grid
    single = [onto_grid(da, source_grid=src, grid=grid, kind="continuous",
                        resampling=resampling, chunk=chunk, engine=engine) for _, da in lays]
    many = onto_grid_many([da for _, da in lays], source_grid=src, grid=grid,
                          kind="continuous", resampling=resampling, chunk=chunk, engine=engine)
    return single, many


@pytest.mark.parametrize("engine", ["gies", "gdal"])
@pytest.mark.parametrize("same_holes", [False, True])
@pytest.mark.parametrize(("resampling", "shape", "res", "tile"), [
    ("bilinear", (500, 500), 100.0, 2048),
    ("bilinear", (500, 500), 100.0, 128),  # several tiles
    ("cubic", (500, 500), 100.0, 160),
    ("average", (40, 40), 1000.0, 2048),  # downsampling
])
def test_multiband_warp_is_bit_identical(tmp_path, monkeypatch, same_holes, resampling, shape,
                                         res, tile, engine):
    monkeypatch.setattr(warp_mod, "WARP_TILE", tile)
    paths = _files(tmp_path, same_holes=same_holes)
    single, many = _both(paths, _target(shape, res), 256, resampling, engine)
    assert len(many) == 3
    for s, m in zip(single, many):
        assert m.name == s.name and m.dtype == s.dtype and m.dims == s.dims
        assert m.chunks == s.chunks
        assert m.attrs == s.attrs
        np.testing.assert_array_equal(m.x.values, s.x.values)
        np.testing.assert_array_equal(m.y.values, s.y.values)
        sv, mv = s.values, m.values
        np.testing.assert_array_equal(mv, sv)  # NaN in the same places, identical bits
    if resampling == "bilinear":
        assert np.isnan(single[0].values).any() and np.isnan(single[1].values).any()


def test_multiband_warp_is_lazy_and_one_task_per_tile(tmp_path, monkeypatch):
    monkeypatch.setattr(warp_mod, "WARP_TILE", 128)
    paths = _files(tmp_path)
    calls = []
    real = warp_mod._warp_bands

    def spy(a3, **kw):
        calls.append(a3.shape[0])
        return real(a3, **kw)

    monkeypatch.setattr(warp_mod, "_warp_bands", spy)
    lays = _layers(paths, 256)
    many = onto_grid_many([da for _, da in lays], source_grid=lays[0][0].grid,
                          grid=_target(), kind="continuous", chunk=256, engine="gdal")
    assert calls == []  # nothing computed while building
    assert all(isinstance(m.data, dsa.Array) for m in many)
    dask.compute(*many, scheduler="synchronous")
    n_tiles = len(tile_spans(500, 128)) ** 2
    # tiles the lake misses hold three identical (empty) masks: one 3-band warp
    assert calls.count(3) >= 1
    assert len(calls) <= 3 * n_tiles
    assert sum(calls) == 3 * n_tiles


def test_multiband_values_do_not_depend_on_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(warp_mod, "WARP_TILE", 128)
    paths = _files(tmp_path)
    grid = _target()
    a = [m.values for m in _both(paths, grid, 100, "bilinear")[1]]
    b = [m.values for m in _both(paths, grid, 1024, "bilinear")[1]]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_single_layer_or_categorical_falls_back(tmp_path):
    paths = _files(tmp_path)
    lays = _layers(paths, 256)
    src, grid = lays[0][0].grid, _target()
    one = onto_grid_many([lays[0][1]], source_grid=src, grid=grid, chunk=256)
    ref = onto_grid(lays[0][1], source_grid=src, grid=grid, chunk=256)
    np.testing.assert_array_equal(one[0].values, ref.values)
    info = raster_info(paths[0], key="layers.k")
    cat = open_raster(info, bands=[1], chunk=256, kind="categorical", nodata=None, scale=None,
                      offset=None, key="layers.k")
    out = onto_grid_many([cat, cat.copy()], source_grid=src, grid=grid, kind="categorical",
                         chunk=256)
    assert out[0].dtype == np.int16
    np.testing.assert_array_equal(
        out[0].values,
        onto_grid(cat, source_grid=src, grid=grid, kind="categorical", chunk=256).values)
