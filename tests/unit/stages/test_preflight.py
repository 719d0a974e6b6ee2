"""Inputs as they come: scale/offset tags, nodata sentinels, missing CRS, coverage,
plausibility, AOI grids and areas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Geod
from shapely.geometry import MultiPolygon, box

from gies.area import area_method, cell_areas, is_equal_area
from gies.errors import DataQualityWarning, LayerError, UnitError
from gies.grid import Grid, laea_for
from gies.stages.preflight import check_coverage, check_plausible, coverage
from gies.io.read import open_raster, raster_info, read_sample


def _write(path, arr, *, crs="EPSG:4326", nodata=None, scale=None, offset=None):
    t = Affine(0.01, 0, 100.0, 0, -0.01, 0.0)
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0],
                       count=1, dtype=arr.dtype, crs=crs, transform=t, nodata=nodata) as ds:
        ds.write(arr, 1)
        if scale is not None:
            ds.scales, ds.offsets = (scale,), (offset,)
    return path


def _open(info, **kw):
    args = dict(bands=[1], chunk=4, kind="continuous", nodata=None, scale=None, offset=None,
                key="layers.t")
    args.update(kw)
    return np.asarray(open_raster(info, **args))


def test_chelsa_k10_scale_offset_tags(tmp_path):
    raw = np.array([[2981, 3031], [2731, -32768]], dtype=np.int16)  # K×10, -32768 fill
    p = _write(tmp_path / "chelsa.tif", raw, nodata=-32768, scale=0.1, offset=-273.15)
    v = _open(raster_info(p, key="layers.t"))
    np.testing.assert_allclose(v[:1], [[24.95, 29.95]], atol=1e-4)
    assert v[1, 0] == pytest.approx(-0.05, abs=1e-4) and np.isnan(v[1, 1])


def test_float32_max_negative_sentinel(tmp_path):
    raw = np.array([[1.5, -3.4028235e38], [0.0, 2.0]], dtype=np.float32)
    p = _write(tmp_path / "wc.tif", raw, nodata=-3.4028235e38)
    v = _open(raster_info(p, key="layers.t"))
    assert np.isnan(v[0, 1]) and v[1, 0] == 0.0  # 0 is a value, not nodata
    # a rounded declaration in the pipeline still matches the float32 sentinel
    p2 = _write(tmp_path / "wc2.tif", raw)
    v = _open(raster_info(p2, key="layers.t"), nodata=-3.4e38)
    assert np.isnan(v[0, 1]) and v[1, 0] == 0.0


def test_untagged_fill_declared_in_pipeline(tmp_path):
    raw = np.array([[-32768, 5], [0, 7]], dtype=np.int16)
    p = _write(tmp_path / "soil.tif", raw)
    info = raster_info(p, key="layers.ph")
    assert info.nodata is None
    assert _open(info)[0, 0] == -32768  # undeclared: kept (the plausibility check flags it)
    v = _open(info, nodata=-32768)
    assert np.isnan(v[0, 0]) and v[1, 0] == 0.0
    v = _open(info, nodata=float("nan"))
    assert v[0, 0] == -32768


def test_no_crs_needs_declaration(tmp_path):
    p = _write(tmp_path / "nocrs.tif", np.ones((2, 2), np.float32), crs=None)
    with pytest.raises(LayerError, match="layers.dem.*no coordinate reference system"):
        raster_info(p, key="layers.dem")
    info = raster_info(p, key="layers.dem", crs="EPSG:4326")
    assert info.grid.is_geographic
    p2 = _write(tmp_path / "crs.tif", np.ones((2, 2), np.float32))
    with pytest.raises(LayerError, match="layers.dem.*declares crs"):
        raster_info(p2, key="layers.dem", crs="EPSG:32748")


def test_read_sample_is_decimated(tmp_path):
    raw = np.arange(100 * 80, dtype=np.float32).reshape(100, 80)
    p = _write(tmp_path / "big.tif", raw, nodata=0)
    arr, g = read_sample(raster_info(p, key="k"), max_pixels=500)
    assert arr.size <= 500 and g.bounds == pytest.approx(raster_info(p, key="k").grid.bounds)


# -- coverage -------------------------------------------------------------------------------
def test_coverage_full_partial_none():
    layer = Grid.from_bounds((100.0, -3.0, 102.0, -1.0), 0.01, crs="EPSG:4326")
    aoi = box(100.5, -2.5, 101.5, -1.5)
    grid = Grid.from_aoi(aoi, resolution=1000, geometry_crs="EPSG:4326")
    from shapely import ops
    from pyproj import Transformer

    to = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform
    c = check_coverage(coverage(layer, ops.transform(to, aoi), aoi_crs=grid.crs,
                                layer_name="layers.t"))
    assert c.extent == pytest.approx(1.0)
    half = ops.transform(to, box(101.5, -2.5, 102.5, -1.5))
    c = coverage(layer, half, aoi_crs=grid.crs, layer_name="layers.t")
    assert c.extent == pytest.approx(0.5, abs=0.01)
    assert "layers.t" in c.message and "layer bounds" in c.message and "AOI bounds" in c.message
    with pytest.raises(LayerError, match="layers.t: the layer covers 5.*set coverage: warn"):
        check_coverage(c, mode="require")
    with pytest.warns(DataQualityWarning, match="layers.t") as seen:
        check_coverage(c, mode="warn")
    # already accepted: the warning does not tell to set what is set
    assert "set coverage" not in str(seen[0].message)
    assert "accepted: coverage: warn" in str(seen[0].message)
    none = coverage(layer, ops.transform(to, box(110, -2, 111, -1)), aoi_crs=grid.crs,
                    layer_name="layers.t")
    with pytest.raises(LayerError, match="layers.t.*no overlap"):
        check_coverage(none, mode="warn")
    with pytest.raises(ValueError):
        check_coverage(c, mode="maybe")


def test_coverage_valid_share_and_antimeridian():
    layer = Grid.from_bounds((-180.0, -20.0, 180.0, -15.0), 0.5, crs="EPSG:4326")
    fiji = MultiPolygon([box(177.0, -19.0, 180.0, -16.0), box(-180.0, -19.0, -178.0, -16.0)])
    c = coverage(layer, fiji, aoi_crs="EPSG:4326", layer_name="layers.r")
    assert c.extent == pytest.approx(1.0)
    sample = np.ones(layer.shape)
    sample[:, : layer.shape[1] // 2] = np.nan  # western hemisphere has no data
    c = coverage(layer, fiji, aoi_crs="EPSG:4326", valid_sample=(sample, layer))
    assert c.valid == pytest.approx(0.6, abs=0.02)  # 3 of 5 degrees east of 180


# -- plausibility ---------------------------------------------------------------------------
def test_plausible_catches_x10_and_kelvin():
    ok = check_plausible(np.array([21.0, 25.0, np.nan, 30.0]), quantity="temperature",
                         layer_name="layers.tmean")
    assert ok.seen[0] == pytest.approx(21.04, abs=0.1)
    with pytest.raises(UnitError, match=r"layers.tmean: values 2\d\d.*scale: 0.1"):
        check_plausible(np.array([210.0, 250.0, 300.0]), units="degC", layer_name="layers.tmean")
    with pytest.raises(UnitError, match=r"K×10.*offset: -273.15"):
        check_plausible(np.array([2950.0, 3000.0, 3050.0]), quantity="temperature",
                        layer_name="layers.bio1")
    with pytest.raises(UnitError, match=r"layers.ph: .*scale: 0.1"):
        check_plausible(np.array([45.0, 55.0, 70.0]), quantity="ph", layer_name="layers.ph")
    check_plausible(np.array([45.0, 55.0, 70.0]), quantity="ph", units="pH*10")
    with pytest.raises(UnitError, match="layers.clay"):
        check_plausible(np.array([150.0, 300.0, 450.0]), quantity="clay", layer_name="layers.clay")
    with pytest.raises(UnitError, match="layers.rain.*rainfall_monthly"):
        check_plausible(np.array([800.0, 5000.0]), quantity="rainfall_monthly",
                        layer_name="layers.rain")
    check_plausible(np.array([800.0, 5000.0]), quantity="rainfall_annual")
    assert check_plausible(np.array([np.nan]), quantity="elevation").n == 0
    with pytest.raises(ValueError):
        check_plausible(np.array([1.0]), quantity="happiness")


# -- grids and areas ------------------------------------------------------------------------
def test_from_aoi_auto_is_equal_area_and_snapped():
    g = Grid.from_aoi(box(101.0, -2.0, 102.0, -1.0), resolution=250, geometry_crs="EPSG:4326")
    assert is_equal_area(g.crs) and area_method(g.crs) == "equal_area"
    assert all(v % 250 == 0 for v in g.bounds)
    assert not is_equal_area("EPSG:32748") and area_method("EPSG:32748") == "areal_scale"
    assert area_method("EPSG:4326") == "ellipsoidal_rows"


def test_laea_centre_across_antimeridian():
    fiji = MultiPolygon([box(177.0, -19.0, 180.0, -16.0), box(-180.0, -19.0, -178.0, -16.0)])
    d = laea_for(fiji, geometry_crs="EPSG:4326").to_dict()
    assert d["lon_0"] == pytest.approx(179.5) and d["lat_0"] == pytest.approx(-17.5)


def test_utm_areas_match_equal_area_and_geodesic():
    g = Grid.from_bounds((400_000, 9_700_000, 460_000, 9_760_000), 500, crs="EPSG:32748")
    utm_total = cell_areas(g).sum()
    from pyproj import Transformer
    import shapely

    region = shapely.segmentize(box(*g.bounds), 500)
    to_geo = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True).transform
    geo_region = shapely.ops.transform(to_geo, region)
    geod_area = abs(Geod(ellps="WGS84").geometry_area_perimeter(geo_region)[0])
    laea = laea_for(geo_region, geometry_crs="EPSG:4326")
    to_laea = Transformer.from_crs("EPSG:4326", laea, always_xy=True).transform
    laea_area = shapely.ops.transform(to_laea, geo_region).area
    assert utm_total == pytest.approx(laea_area, rel=5e-4)
    assert utm_total == pytest.approx(geod_area, rel=5e-4)


def _raster(tmp_path, data, nodata):
    import rasterio
    from affine import Affine

    path = tmp_path / "layer.tif"
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype=data.dtype, crs="EPSG:4326", nodata=nodata,
                       transform=Affine(0.1, 0, 0, 0, -0.1, 1)) as dst:
        dst.write(data, 1)
    return path


def test_a_nodata_value_among_the_valid_values_is_named(tmp_path):
    from gies.io.read import raster_info
    from gies.stages.preflight import nodata_among_values

    # dry months: 0 on 80 of 100 cells, 1..3 elsewhere, and the file says nodata = 0
    d = np.zeros((10, 10), dtype="float32")
    d[8:, :] = np.tile([1, 2, 3, 1, 2, 3, 1, 2, 3, 3], (2, 1))
    note = nodata_among_values(raster_info(_raster(tmp_path, d, 0.0), key="layers.x"), 0.0)
    assert note.startswith("80% of the sampled cells hold it")
    assert "other values are 1..3" in note


def test_a_sentinel_far_from_the_values_is_not_named(tmp_path):
    from gies.io.read import raster_info
    from gies.stages.preflight import nodata_among_values

    d = np.full((10, 10), 25.0, dtype="float32")
    d[:, :5] = 21.0
    d[0, 0] = -9999.0
    assert nodata_among_values(raster_info(_raster(tmp_path, d, -9999.0), key="layers.x"), -9999.0) == ""
    # and a value that no cell holds says nothing either
    assert nodata_among_values(raster_info(_raster(tmp_path, d, 23.0), key="layers.x"), 23.0) == ""


def test_plausibility_lists_every_reading_that_fits():
    # 25.8..28.1 °C stored ×10 (robust range 258.1..280.9): read ×10 it is 25.81..28.09, read
    # in K it is -15.03..7.735; ×100 and ×1000 give temperatures too: all four are named, in
    # the order of _FIXES, and the Kelvin reading does not win alone
    v = np.linspace(258.0, 281.0, 200)
    with pytest.raises(UnitError) as e:
        check_plausible(v, units="degC", layer_name="layers.tavg")
    text = str(e.value)
    assert "every reading that fits: with scale 0.1 (stored ×10) they would be 25.81..28.09: " \
           "declare scale: 0.1; with scale 0.01 (stored ×100) they would be 2.581..2.809: " \
           "declare scale: 0.01; with offset -273.15 (stored in K) they would be " \
           "-15.03..7.735: declare scale: 1, offset: -273.15; with scale 0.001" in text
    assert "K×10" not in text  # 258 K×10 is -247 °C
    # a single reading is given alone
    with pytest.raises(UnitError) as e:
        check_plausible(np.array([45.0, 55.0, 70.0]), quantity="ph", layer_name="layers.ph")
    assert "every reading" not in str(e.value) and "declare scale: 0.1" in str(e.value)


def test_plausibility_suggests_nodata_for_one_extreme_value():
    # temperatures 20..30 with an undeclared -9999 on 5 % of the cells: not "scale 0.001"
    v = np.concatenate([np.linspace(20.0, 30.0, 190), np.full(10, -9999.0)])
    with pytest.raises(UnitError) as e:
        check_plausible(v, units="degC", layer_name="layers.tavg")
    text = str(e.value)
    assert "one value, -9999, holds 5.0% of the sampled cells and the others are " \
           "20.05..29.95" in text
    assert text.endswith("declare nodata: -9999")
    assert "scale: 0.001" not in text
    # two different extremes are not one marker: the readings are tried instead
    v2 = np.concatenate([np.linspace(20.0, 30.0, 180), np.full(10, -9999.0), np.full(10, 9999.0)])
    with pytest.raises(UnitError) as e:
        check_plausible(v2, units="degC", layer_name="layers.tavg")
    assert "nodata" not in str(e.value).split("implausible")[1]


def test_the_plausibility_sample_is_taken_under_the_aoi(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon, box

    from gies.io.read import raster_info
    from gies.stages.preflight import aoi_sample

    # 100 x 100 cells of 0.1°: west half 2000 (a ×100 temperature), east half 20..30 °C
    d = np.full((100, 100), 2000.0, dtype="float32")
    d[:, 50:] = np.linspace(20, 30, 50, dtype="float32")
    info = raster_info(_raster(tmp_path, d, None), key="layers.t")  # x 0..10, y -9..1
    whole = aoi_sample(info, None)
    assert np.nanmax(whole) == 2000
    east = gpd.GeoDataFrame(geometry=[box(5.05, -8, 9.5, 0)], crs="EPSG:4326")
    s = aoi_sample(info, east)
    v = s[np.isfinite(s)]
    assert v.size == 45 * 80 and v.min() >= 20 and v.max() <= 30
    check_plausible(v, units="degC", layer_name="layers.t")
    # a triangle: cells it does not touch are NaN even inside its bounding box
    tri = gpd.GeoDataFrame(geometry=[Polygon([(5, -9), (10, -9), (10, 1)])], crs="EPSG:4326")
    t = aoi_sample(info, tri)
    assert np.isfinite(t).sum() < 0.6 * t.size and np.isfinite(t[-1, :]).all()
    # an AOI in another CRS is reprojected to the file's
    utm = east.to_crs("EPSG:32631")
    assert np.isfinite(aoi_sample(info, utm)).sum() >= v.size
