"""COG writing: overviews pre-built on the raw file give the same COG as GDAL's own, and the
outputs are valid COGs written side by side."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr

from gies.grid import Grid
from gies.io.rasters import RasterOutput, _overview_levels, write_rasters


def _layer(grid, v):
    return xr.DataArray(dsa.from_array(v, chunks=256), dims=("y", "x"),
                        coords=grid.coords())


def test_same_cog_as_gdal_driver(tmp_path):
    grid = Grid.from_bounds((0, 0, 130_000, 110_000), 100, crs="EPSG:32748")  # 1100 x 1300
    rng = np.random.default_rng(2)
    f = rng.random(grid.shape).astype(np.float32)
    f[100:300, 200:500] = np.nan
    c = rng.choice([1, 2, 3, 4, 254], size=grid.shape).astype(np.uint8)
    outs = [RasterOutput(tmp_path / "f.tif", _layer(grid, f), "float32", np.nan, "f", "1"),
            RasterOutput(tmp_path / "c.tif", _layer(grid, c), "uint8", 255, "c", "class",
                         overview_resampling="NEAREST", compression="DEFLATE"),
            RasterOutput(tmp_path / "plain.tif", _layer(grid, f), "float32", np.nan, "p", "1",
                         cog=False)]
    write_rasters(grid, outs)
    for out, ref_data in ((outs[0], f), (outs[1], c)):
        raw = tmp_path / f"ref_{out.path.name}"
        with rasterio.open(raw, "w", driver="GTiff", height=grid.shape[0], width=grid.shape[1],
                           count=1, dtype=out.dtype, crs=grid.crs, transform=grid.transform,
                           nodata=out.nodata, tiled=True, blockxsize=512, blockysize=512) as ds:
            ds.write(ref_data, 1)
        ref = tmp_path / f"cog_{out.path.name}"
        rasterio.shutil.copy(raw, ref, driver="COG", COMPRESS="DEFLATE", LEVEL="6",
                             PREDICTOR="3" if out.dtype == "float32" else "2", BLOCKSIZE="512",
                             OVERVIEW_RESAMPLING=out.overview_resampling)
        with rasterio.open(out.path) as a, rasterio.open(ref) as b:
            assert a.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert a.compression.name.upper() == out.compression  # ZSTD by default
            assert a.overviews(1) == b.overviews(1) == _overview_levels(*grid.shape)
            np.testing.assert_array_equal(a.read(1), b.read(1))
            for lvl in a.overviews(1):
                shape = (-(-grid.shape[0] // lvl), -(-grid.shape[1] // lvl))
                np.testing.assert_array_equal(a.read(1, out_shape=shape),
                                              b.read(1, out_shape=shape))
    assert not list(tmp_path.glob("*.raw.tif"))
    with rasterio.open(tmp_path / "plain.tif") as ds:
        assert ds.compression.name.lower() == "zstd" and ds.overviews(1) == []
        np.testing.assert_array_equal(ds.read(1), f)
