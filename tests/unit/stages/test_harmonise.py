"""Pixel placement after harmonise, proven with coordinate-encoding images (each source
pixel stores its own x and y), and agreement with ``gdalwarp`` on the same grid."""

from __future__ import annotations

import subprocess

import dask.array as dsa
import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from shapely.geometry import MultiPolygon, box

from gies.errors import LayerError
from gies.grid import Grid
from gies.stages.harmonise import choose_resampling, onto_grid

IGH = "+proj=igh +lat_0=0 +lon_0=0 +datum=WGS84 +units=m +no_defs"


def _coord_layers(grid: Grid, chunk: int = 64, wrap: bool = False):
    """Two lazy float64 layers: x and y of each pixel centre, in the grid's CRS (with
    ``wrap``, longitudes in 0..360 so the encoding itself has no jump at ±180)."""
    xc = grid.x_coords % 360.0 if wrap else grid.x_coords
    x = np.broadcast_to(xc[None, :], grid.shape)
    y = np.broadcast_to(grid.y_coords[:, None], grid.shape)
    out = []
    for name, v in (("cx", x), ("cy", y)):
        out.append(xr.DataArray(dsa.from_array(np.ascontiguousarray(v), chunks=chunk),
                                dims=("y", "x"), coords={"y": grid.y_coords, "x": grid.x_coords},
                                name=name, attrs={}))
    return out


def _placement_error(src: Grid, dst: Grid, *, resampling="bilinear", wrap=False):
    """Per target pixel: |encoded − expected source coordinate| in source pixels."""
    cx, cy = _coord_layers(src, wrap=wrap)
    ox = np.asarray(onto_grid(cx, source_grid=src, grid=dst, resampling=resampling, chunk=32))
    oy = np.asarray(onto_grid(cy, source_grid=src, grid=dst, resampling=resampling, chunk=32))
    xx, yy = np.meshgrid(dst.x_coords, dst.y_coords)
    t = Transformer.from_crs(dst.pyproj_crs, src.pyproj_crs, always_xy=True)
    ex, ey = t.transform(xx, yy)
    dx = ox - ex
    if wrap:
        dx = (dx + 180.0) % 360.0 - 180.0
    rx, ry = src.resolution
    return np.abs(dx) / rx, np.abs(oy - ey) / ry


def _assert_placed(ex, ey, *, tol=0.1, min_valid=0.95):
    ok = np.isfinite(ex) & np.isfinite(ey)
    assert ok.mean() >= min_valid, f"only {ok.mean():.1%} of the target has data"
    assert np.nanmax(ex[ok]) < tol and np.nanmax(ey[ok]) < tol, (np.nanmax(ex), np.nanmax(ey))


def test_geographic_to_auto_laea():
    src = Grid.from_bounds((100.0, -3.0, 103.0, 0.0), 0.01, crs="EPSG:4326")
    dst = Grid.from_aoi(box(101.0, -2.0, 102.0, -1.0), resolution=2000, geometry_crs="EPSG:4326")
    assert dst.pyproj_crs.to_dict()["proj"] == "laea"
    ex, ey = _placement_error(src, dst, resampling=None)  # 2 km from ~1.1 km: average
    _assert_placed(ex, ey, tol=0.05)
    # forced bilinear at 0.55× scale: GDAL's widened triangle (taps at whole source pixels)
    # has its centre of mass up to ~0.075 px off the point; no half-pixel shift
    ex, ey = _placement_error(src, dst, resampling="bilinear")
    _assert_placed(ex, ey, tol=0.08)


def test_utm_to_geographic():
    src = Grid.from_bounds((400_000, 9_700_000, 430_000, 9_730_000), 250, crs="EPSG:32748")
    dst = Grid.from_aoi(box(104.15, -2.65, 104.3, -2.5), crs="EPSG:4326", resolution=0.001,
                        geometry_crs="EPSG:4326")
    ex, ey = _placement_error(src, dst)
    _assert_placed(ex, ey, tol=0.05)


def test_igh_to_laea():
    # SoilGrids' Interrupted Goode Homolosine, inside one lobe (Sumatra)
    t = Transformer.from_crs("EPSG:4326", IGH, always_xy=True)
    x0, y0 = t.transform(101.0, -3.0)
    src = Grid.from_bounds((x0, y0, x0 + 60_000, y0 + 60_000), 250, crs=IGH)
    aoi = box(101.1, -2.9, 101.4, -2.6)
    dst = Grid.from_aoi(aoi, resolution=500, geometry_crs="EPSG:4326")
    ex, ey = _placement_error(src, dst)
    _assert_placed(ex, ey, tol=0.05)


FIJI = MultiPolygon([box(177.0, -19.0, 180.0, -16.0), box(-180.0, -19.0, -178.0, -16.0)])


def test_antimeridian_aoi_auto_laea():
    src = Grid.from_bounds((-180.0, -20.0, 180.0, -15.0), 0.05, crs="EPSG:4326")
    dst = Grid.from_aoi(FIJI, resolution=10_000, geometry_crs="EPSG:4326")
    assert dst.shape[1] < 70  # ~530 km wide, not a world-wide strip
    ex, ey = _placement_error(src, dst, wrap=True)
    _assert_placed(ex, ey, tol=0.1, min_valid=1.0)


def test_antimeridian_aoi_geographic_frame():
    src = Grid.from_bounds((-180.0, -20.0, 180.0, -15.0), 0.05, crs="EPSG:4326")
    dst = Grid.from_aoi(FIJI, crs="EPSG:4326", resolution=0.1, geometry_crs="EPSG:4326")
    assert dst.bounds == pytest.approx((177.0, -19.0, 182.0, -16.0))
    ex, ey = _placement_error(src, dst, wrap=True)
    _assert_placed(ex, ey, tol=0.1, min_valid=1.0)


# -- resampling choice ----------------------------------------------------------------------
def test_choose_resampling():
    fine = Grid.from_bounds((0, 0, 10_000, 10_000), 100, crs="EPSG:32748")
    coarse = Grid.from_bounds((0, 0, 10_000, 10_000), 1000, crs="EPSG:32748")
    assert choose_resampling("continuous", coarse, fine) == "bilinear"
    assert choose_resampling("continuous", fine, coarse) == "average"
    assert choose_resampling("categorical", coarse, fine) == "nearest"
    assert choose_resampling("categorical", fine, coarse) == "mode"
    assert choose_resampling("continuous", fine, fine) == "bilinear"
    assert choose_resampling("continuous", fine, coarse, "Cubic") == "cubic"
    with pytest.raises(LayerError, match="layers.soil.*unknown resampling method 'bicubic' .did you mean 'cubic'"):
        choose_resampling("continuous", fine, coarse, "bicubic", layer_name="layers.soil")
    with pytest.raises(LayerError, match="layers.lc.*invent codes"):
        choose_resampling("categorical", fine, coarse, "bilinear", layer_name="layers.lc")
    with pytest.raises(ValueError):
        choose_resampling("ordinal", fine, coarse)


def test_categorical_keeps_codes_and_dtype():
    src = Grid.from_bounds((0, 0, 4000, 4000), 100, crs="EPSG:32748")
    dst = Grid.from_bounds((-1000, 0, 4000, 4000), 500, crs="EPSG:32748")
    codes = np.random.default_rng(0).choice([10, 20, 40, 255], size=src.shape).astype(np.uint8)
    da = xr.DataArray(dsa.from_array(codes, chunks=16), dims=("y", "x"),
                      coords={"y": src.y_coords, "x": src.x_coords}, name="lc",
                      attrs={"nodata": 255})
    out = onto_grid(da, source_grid=src, grid=dst, kind="categorical", chunk=4)
    v = np.asarray(out)
    assert v.dtype == np.uint8
    assert set(np.unique(v)) <= {10, 20, 40, 255}
    assert np.all(v[:, :2] == 255)  # outside the source: the nodata value, never 0


# -- agreement with gdalwarp ----------------------------------------------------------------
@pytest.mark.parametrize(("res", "method"), [(150.0, "bilinear"), (700.0, "average")])
def test_matches_gdalwarp(tmp_path, res, method, gdalwarp):
    exe = gdalwarp
    src = Grid.from_bounds((400_000, 9_700_000, 430_000, 9_730_000), 250, crs="EPSG:32748")
    yy, xx = np.mgrid[0:src.shape[0], 0:src.shape[1]]
    rng = np.random.default_rng(1)
    v = (20 + 5 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 0.5, src.shape))
    v = v.astype(np.float32)
    v[10:14, 30:40] = np.nan
    path = tmp_path / "src.tif"
    with rasterio.open(path, "w", driver="GTiff", width=src.shape[1], height=src.shape[0],
                       count=1, dtype="float32", crs=src.crs, transform=src.transform,
                       nodata=np.nan) as ds:
        ds.write(v, 1)
    aoi = box(104.15, -2.65, 104.3, -2.5)
    dst = Grid.from_aoi(aoi, resolution=res, geometry_crs="EPSG:4326")
    assert choose_resampling("continuous", src, dst) == method
    da = xr.DataArray(dsa.from_array(v, chunks=40), dims=("y", "x"),
                      coords={"y": src.y_coords, "x": src.x_coords}, name="t", attrs={})
    ours = np.asarray(onto_grid(da, source_grid=src, grid=dst, chunk=64))
    out = tmp_path / "gdal.tif"
    b = dst.bounds
    (tmp_path / "dst.wkt").write_text(dst.crs)
    subprocess.run(
        [exe, "-q", "-overwrite", "-t_srs", str(tmp_path / "dst.wkt"), "-te", *map(str, b),
         "-ts", str(dst.shape[1]), str(dst.shape[0]), "-r", method, "-dstnodata", "nan",
         "-ot", "Float32", str(path), str(out)],
        check=True,
    )
    with rasterio.open(out) as ds:
        ref = ds.read(1)
    both = np.isfinite(ours) & np.isfinite(ref)
    assert (np.isfinite(ours) == np.isfinite(ref)).mean() >= 0.99
    rel = np.abs(ours[both] - ref[both]) / np.maximum(np.abs(ref[both]), 1e-12)
    share = float((rel <= 1e-4).mean())
    print(f"gdalwarp agreement ({method}, {res} m): {share:.4%} of {both.sum()} pixels")
    assert share >= 0.99
