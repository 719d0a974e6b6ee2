"""Harmonise warps agree with ``gdalwarp -et 0`` and do not depend on the chunk size.

The benchmark (bench/README.md) found int16 SoilGrids-like layers (nodata lake, ×10 scale)
differing from gdalwarp by up to 0.6 pH×10 units: GDAL's approximate transformer (0.125 px
by default) was applied per dask chunk, so every chunking (and gdalwarp's own windows)
sampled the rough source at points up to 1/8 source pixel apart. gies now warps fixed tiles
with a transformer tolerance of 1e-3 px.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import rasterio
from pyproj import CRS

from gies.grid import tile_spans
from gies.stages import harmonise
from gies.stages import warp as warp_mod
from gies.grid import Grid
from gies.stages.harmonise import onto_grid
from gies.io.read import open_raster, raster_info

LAEA = "+proj=laea +lat_0=10 +lon_0=20 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


def _soil(tmp_path):
    """An int16 7.5" layer like SoilGrids pH: rough values, a nodata lake, scale 0.1."""
    rows, cols = 260, 300
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:rows, 0:cols]
    v = 60 + 15 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + rng.normal(0, 4, (rows, cols))
    v = np.round(v).astype(np.int16)
    lake = (yy - 120) ** 2 + (xx - 140) ** 2 < 30 ** 2
    v[lake] = -32768
    path = tmp_path / "phh2o.tif"
    d = 7.5 / 3600
    from affine import Affine

    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="int16", crs="EPSG:4326", nodata=-32768,
                       transform=Affine(d, 0, 19.7, 0, -d, 10.3), tiled=True,
                       blockxsize=64, blockysize=64) as ds:
        ds.write(v, 1)
        ds.scales = (0.1,)
    return path


def _target():
    return Grid(CRS.from_user_input(LAEA).to_wkt(),
                __import__("affine").Affine(100.0, 0, -25_000.0, 0, -100.0, 25_000.0),
                (500, 500))


def _harmonised(path, grid, chunk):
    info = raster_info(path, key="layers.ph")
    da = open_raster(info, bands=[1], chunk=chunk, kind="continuous", nodata=None, scale=None,
                     offset=None, key="layers.ph")
    return np.asarray(onto_grid(da, source_grid=info.grid, grid=grid, kind="continuous",
                                resampling="bilinear", chunk=chunk))


def test_chunk_size_does_not_change_values(tmp_path, monkeypatch):
    monkeypatch.setattr(warp_mod, "WARP_TILE", 128)  # several warp tiles on this grid
    path = _soil(tmp_path)
    grid = _target()
    a = _harmonised(path, grid, 256)
    b = _harmonised(path, grid, 1024)
    c = _harmonised(path, grid, 100)
    assert np.isnan(a).any() and np.isfinite(a).mean() > 0.8
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(("chunk", "tile"), [(128, 96), (1024, 2048)])
def test_int16_nodata_scale_matches_gdalwarp(tmp_path, monkeypatch, chunk, tile, gdalwarp):
    monkeypatch.setattr(warp_mod, "WARP_TILE", tile)  # tile seams must not show
    exe = gdalwarp
    path = _soil(tmp_path)
    grid = _target()
    ours = _harmonised(path, grid, chunk)
    out = tmp_path / "gdal.tif"
    (tmp_path / "dst.wkt").write_text(grid.crs)
    b = grid.bounds
    subprocess.run(
        [exe, "-q", "-overwrite", "-t_srs", str(tmp_path / "dst.wkt"), "-te", *map(str, b),
         "-ts", str(grid.shape[1]), str(grid.shape[0]), "-r", "bilinear", "-et", "0",
         "-ot", "Float32", str(path), str(out)],
        check=True,
    )
    with rasterio.open(out) as ds:
        ref = ds.read(1, masked=True)
        scale = ds.scales[0] if ds.scales[0] not in (None, 1.0) else 0.1
    ref = np.ma.filled(ref.astype(np.float64), np.nan) * scale  # gdalwarp keeps raw values
    assert (np.isfinite(ours) == np.isfinite(ref)).mean() >= 0.999
    both = np.isfinite(ours) & np.isfinite(ref)
    rel = np.abs(ours[both] - ref[both]) / np.maximum(np.abs(ref[both]), 1e-12)
    share = float((rel <= 1e-3).mean())
    print(f"gdalwarp -et 0 agreement (int16, nodata, scale 0.1): {share:.4%} of {both.sum()} "
          f"within 1e-3, {float((rel <= 1e-4).mean()):.4%} within 1e-4, max {rel.max():.2e}")
    assert share >= 0.999 and rel.max() < 1e-3


@pytest.mark.parametrize("case", ["test_geographic_to_auto_laea", "test_utm_to_geographic",
                                  "test_igh_to_laea", "test_antimeridian_aoi_auto_laea",
                                  "test_antimeridian_aoi_geographic_frame"])
def test_placement_with_many_warp_tiles(monkeypatch, case):
    """The placement proofs of test_harmonise, with tiles of 16 target pixels (every
    tile's source window computed on its own, across the antimeridian too)."""
    from . import test_harmonise as placement

    monkeypatch.setattr(warp_mod, "WARP_TILE", 16)
    getattr(placement, case)()
