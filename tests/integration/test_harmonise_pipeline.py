"""Harmonise features through a whole pipeline, on synthetic files made like real downloads:
SoilGrids-like int16 depth layers (pH×10, nodata −32768) averaged over 0–30 cm, a lat/lon DEM
whose slope is derived on its own grid, and a derived equal-area grid."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Geod
from shapely.geometry import box

import gies

REPO = Path(__file__).resolve().parents[2]


def _write(path, arr, transform, crs="EPSG:4326", nodata=None, dtype=None):
    arr = np.asarray(arr)
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1,
                       dtype=dtype or arr.dtype, crs=crs, transform=transform, nodata=nodata) as ds:
        ds.write(arr.astype(dtype or arr.dtype), 1)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("harm")
    # 0.01° cells over 10.0–10.6 E, 45.0–45.5 N
    t = Affine(0.01, 0, 10.0, 0, -0.01, 45.5)
    shape = (50, 60)
    for depth, value in (("0-5", 50), ("5-15", 60), ("15-30", 70)):  # pH 5.0, 6.0, 7.0 (×10)
        a = np.full(shape, value, dtype="int16")
        a[20:25, 20:25] = -32768                                   # a nodata "lake"
        _write(d / f"phh2o_{depth}cm_mean.tif", a, t, nodata=-32768)
    # a DEM plane rising 5 m per 100 m eastwards (5 %), sampled on the lat/lon grid
    geod = Geod(ellps="WGS84")
    lon = 10.0 + (np.arange(60) + 0.5) * 0.01
    lat = 45.5 - (np.arange(50) + 0.5) * 0.01
    east = np.array([[geod.inv(10.0, la, lo, la)[2] for lo in lon] for la in lat])
    _write(d / "dem.tif", (0.05 * east).astype("float32"), t)
    aoi = box(10.05, 45.05, 10.55, 45.45)
    gpd.GeoDataFrame({"id": ["A", "B"], "name": ["West", "East"]},
                     geometry=[box(10.05, 45.05, 10.30, 45.45), box(10.30, 45.05, 10.55, 45.45)],
                     crs="EPSG:4326").to_file(d / "zones.geojson", driver="GeoJSON")
    profile = (REPO / "gies/data/products/sorghum.yaml").read_text()
    profile = profile.replace("  ph: {description: Soil pH in water, units: pH, group: soil}",
                              "  ph: {description: Soil pH in water, units: pH, group: soil}\n"
                              "  slope: {description: Terrain slope, units: '%', group: terrain}")
    profile = profile.replace("      ph: [5.0, 6.0, 7.0, 8.5]",
                              "      ph: [5.0, 6.0, 7.0, 8.5]\n      slope: [null, null, 4, 8]")
    (d / "sorghum.yaml").write_text(profile)
    text = f"""
format_version: 1
name: synthetic
title: Synthetic study
aoi: {{bounds: [{aoi.bounds[0]}, {aoi.bounds[1]}, {aoi.bounds[2]}, {aoi.bounds[3]}], crs: "EPSG:4326"}}
zones:
  parts: {{path: zones.geojson, id_field: id, name_field: name}}
grid: {{crs: auto, resolution: 250}}
layers:
  ph:
    units: pH
    scale: 0.1
    depth_mean:
      top: 0
      bottom: 30
      paths: {{"0-5": phh2o_0-5cm_mean.tif, "5-15": phh2o_5-15cm_mean.tif, "15-30": phh2o_15-30cm_mean.tif}}
  slope: {{path: dem.tif, units: "%", derive: {{stat: slope}}}}
product: {{profile: sorghum.yaml, limit_set: ecocrop}}
factors:
  ph: {{layer: ph}}
  slope: {{layer: slope}}
combine: {{rule: minimum}}
outputs: {{dir: out}}
"""
    (d / "p.yaml").write_text(text)
    return gies.run(d / "p.yaml", output_root=d / "out"), d


def test_depth_mean_scale_and_nodata(study):
    result, d = study
    with rasterio.open(result.output_dir / "score_ph.tif") as ds:
        ph_score = ds.read(1)
    # 0–30 cm pH = (5·5.0 + 10·6.0 + 15·7.0) / 30 = 6.333 -> optimal (6–7) -> score 1
    valid = ph_score[~np.isnan(ph_score)]
    assert valid.size > 1000
    assert np.allclose(valid, 1.0)
    # the nodata lake (never 0, never -3276.8) stays no data in the middle of the grid
    assert np.isnan(ph_score).sum() > 0
    with rasterio.open(result.output_dir / "classes.tif") as ds:
        classes = ds.read(1)
    assert (classes == 254).sum() > 0 and (classes == 0).sum() == 0


def test_slope_from_latlon_dem(study):
    result, d = study
    with rasterio.open(result.output_dir / "score_slope.tif") as ds:
        s = ds.read(1)
    # a 5 % plane: score = (8 - 5) / (8 - 4) = 0.75 everywhere away from the edges
    inner = s[5:-5, 5:-5]
    inner = inner[~np.isnan(inner)]
    assert inner.size > 500
    assert np.median(inner) == pytest.approx(0.75, abs=0.01)


def test_equal_area_grid_areas(study):
    result, d = study
    z = result.zone_stats["parts"].set_index("zone_id")
    for zid, b in (("A", (10.05, 45.05, 10.30, 45.45)), ("B", (10.30, 45.05, 10.55, 45.45))):
        n = 2000
        lon = np.r_[np.linspace(b[0], b[2], n), np.full(n, b[2]), np.linspace(b[2], b[0], n), np.full(n, b[0])]
        lat = np.r_[np.full(n, b[1]), np.linspace(b[1], b[3], n), np.full(n, b[3]), np.linspace(b[3], b[1], n)]
        true = abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0]) / 1e4
        assert z.loc[zid, "area_ha"] == pytest.approx(true, rel=1e-4)
