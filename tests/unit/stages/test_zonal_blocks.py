"""Zone statistics: block invariance, quantiles, geographic areas, awkward geometries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box

from gies.methods.schemes import SCHEMES
from gies.testing import make_grid, make_layer
from gies.stages.zonal import zone_statistics

RNG = np.random.default_rng(7)


def _layers(grid, n_factors=2):
    rows, cols = grid.shape
    score = RNG.random((rows, cols)).astype(np.float32)
    score[RNG.random((rows, cols)) < 0.05] = np.nan
    classes = np.where(np.isnan(score), 254, np.where(score >= 0.8, 1, np.where(score >= 0.6, 2, np.where(score >= 0.4, 3, 4)))).astype(np.uint8)
    lim = np.where(np.isnan(score), 254, RNG.integers(0, n_factors + 1, (rows, cols))).astype(np.uint8)
    fs = {f"f{i}": make_layer(RNG.random((rows, cols)).astype(np.float32), grid=grid) for i in range(n_factors)}
    return (make_layer(classes, grid=grid), make_layer(score, grid=grid),
            make_layer(lim, grid=grid), fs, score)


ZONES_CRS = "EPSG:6933"
GRID = make_grid((40, 50), res=10.0, crs=ZONES_CRS, origin=(0.0, 400.0))


def _zones():
    holed = Polygon([(20, 20), (220, 20), (220, 220), (20, 220)], [[(60, 60), (160, 60), (160, 160), (60, 160)]])
    multi = MultiPolygon([box(300, 300, 360, 380), box(400, 10, 495, 95)])
    tiny = box(101, 101, 104, 103)                          # smaller than a pixel
    bowtie = Polygon([(250, 250), (290, 290), (290, 250), (250, 290)])  # invalid, self-crossing
    outside = box(1000, 1000, 1100, 1100)                   # off the grid
    overlap = box(0, 0, 250, 250)                           # overlaps `holed`
    geoms = [holed, multi, tiny, bowtie.buffer(0) if False else bowtie, outside, overlap]
    names = ["Thiès", "القاهرة", "ঢাকা", "Sédhiou", "nowhere", "overlap"]
    return gpd.GeoDataFrame({"id": range(6), "name": names}, geometry=geoms, crs=ZONES_CRS)


def _run(block, zones=None):
    classes, score, lim, fs, _ = LAYERS
    z = zones if zones is not None else _zones()
    z = z.assign(geometry=z.geometry.make_valid())
    return zone_statistics(z, classes=classes, score=score, limiting=lim, factor_scores=fs,
                           factor_names={1: "f0", 2: "f1"}, scheme=SCHEMES["fao"],
                           id_field="id", name_field="name", block=block)


LAYERS = _layers(GRID)


def test_results_do_not_depend_on_block_size():
    a, b = _run(1024), _run(7)
    np.testing.assert_allclose(a.wide.select_dtypes("number").to_numpy(dtype=float),
                               b.wide.select_dtypes("number").to_numpy(dtype=float), rtol=1e-9, equal_nan=True)
    assert list(a.wide["limiting_dominant"]) == list(b.wide["limiting_dominant"])
    np.testing.assert_allclose(a.factor_class_areas["hectares"], b.factor_class_areas["hectares"], rtol=1e-9)


def test_awkward_geometries():
    w = _run(16).wide.set_index("zone_id")
    z = _zones()
    # equal-area grid: zone area = polygon area (holes excluded, multipolygon parts summed)
    for i in (0, 1, 2, 5):
        assert w.loc[i, "area_ha"] == pytest.approx(z.geometry[i].area / 1e4, rel=1e-6)
    assert w.loc[2, "area_ha"] == pytest.approx(6e-4, rel=1e-6)  # 3 m x 2 m inside one pixel
    assert w.loc[3, "area_ha"] > 0                               # repaired bowtie still measured
    assert w.loc[4, "empty"] and w.loc[4, "area_ha"] == 0 and w.loc[4, "S1_ha"] == 0
    assert not w.loc[0, "empty"]
    names = list(_run(16).wide["zone_name"])
    assert names[1] == "القاهرة" and names[2] == "ঢাকা" and names[0] == "Thiès"
    parts = w[["S1_ha", "S2_ha", "S3_ha", "N_ha", "excluded_ha", "nodata_ha", "outside_ha"]].sum(axis=1)
    np.testing.assert_allclose(parts, w["area_ha"], rtol=1e-9)


def test_quantiles_and_moments_match_exact_weighted_values():
    classes, score, lim, fs, raw = LAYERS
    zone = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 500, 400)], crs=ZONES_CRS)
    r = zone_statistics(zone, classes=classes, score=score, id_field="id", name_field=None).wide.iloc[0]
    v = raw[~np.isnan(raw)].astype(np.float64)
    assert r.score_mean == pytest.approx(v.mean(), rel=1e-9)
    assert r.score_std == pytest.approx(v.std(), rel=1e-6)
    assert r.score_min == pytest.approx(v.min()) and r.score_max == pytest.approx(v.max())
    for q, col in ((0.1, "score_p10"), (0.5, "score_median"), (0.9, "score_p90")):
        assert abs(r[col] - np.quantile(v, q)) <= 0.001


def test_high_latitude_geographic_grid_uses_row_areas():
    grid = make_grid((20, 20), res=0.5, crs="EPSG:4326", origin=(20.0, 75.0))  # 65..75 N
    lyr = make_layer(np.ones((20, 20), dtype=np.float32), grid=grid)
    cls = make_layer(np.ones((20, 20), dtype=np.uint8), grid=grid)
    poly = box(21.3, 66.2, 28.7, 73.9)
    z = gpd.GeoDataFrame({"id": [1]}, geometry=[poly], crs="EPSG:4326")
    got = zone_statistics(z, classes=cls, score=lyr, id_field="id", name_field=None).wide.iloc[0]
    # the box follows parallels: densify its edges so the geodesic area measures it
    n = 4000
    lon = np.r_[np.linspace(21.3, 28.7, n), np.full(n, 28.7), np.linspace(28.7, 21.3, n), np.full(n, 21.3)]
    lat = np.r_[np.full(n, 66.2), np.linspace(66.2, 73.9, n), np.full(n, 73.9), np.linspace(73.9, 66.2, n)]
    true_m2 = abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0])
    assert got.area_ha == pytest.approx(true_m2 / 1e4, rel=1e-4)
    # a uniform cell area (that of the middle row) would be wrong by far more than 0.5 %


def test_gaez_suitability_index_per_zone():
    grid = make_grid((2, 4), res=1.0, crs=ZONES_CRS, origin=(0.0, 2.0))
    score = np.array([[0.85, 0.85, 0.7, 0.7], [0.45, 0.25, 0.1, np.nan]], dtype=np.float32)
    classes = np.array([[1, 1, 2, 2], [3, 4, 4, 254]], dtype=np.uint8)
    zones = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(0, 1, 4, 2), box(0, 0, 4, 2)], crs=ZONES_CRS)
    w = zone_statistics(zones, classes=make_layer(classes, grid=grid), score=make_layer(score, grid=grid),
                        id_field="id", name_field=None).wide
    # zone 1: half VS, half S -> 0.5*90 + 0.5*70 = 80
    assert w.loc[0, "gaez_si"] == pytest.approx(80.0, abs=1e-6)
    # zone 2: 8 cells: 2 VS, 2 S, 1 MS, 1 mS, 1 VmS, 1 no data -> (2*90 + 2*70 + 50 + 30) / 8
    assert w.loc[1, "gaez_si"] == pytest.approx((180 + 140 + 50 + 30) / 8, abs=1e-6)


def test_blocks_inside_a_zone_skip_exactextract_with_the_same_numbers(monkeypatch):
    # with 7-pixel blocks, the 250 m "overlap" box contains whole blocks (the holed square,
    # ringing a hole, none): those are summed without exactextract, the rest with it
    from gies.stages import zonal

    full, cover = [], []
    real_add, real_cov = zonal._Acc.add, zonal._block_coverage
    monkeypatch.setattr(zonal._Acc, "add", lambda self, i, *a, **k: (full.append(i), real_add(self, i, *a, **k)))
    monkeypatch.setattr(zonal, "_block_coverage", lambda *a: (cover.append(1), real_cov(*a))[1])
    small = _run(7)
    assert len(full) == 9 and cover  # the 3 x 3 blocks inside the box
    monkeypatch.setattr(zonal._Acc, "add", real_add)
    big = _run(1024)
    np.testing.assert_allclose(small.wide.select_dtypes("number").to_numpy(dtype=float),
                               big.wide.select_dtypes("number").to_numpy(dtype=float),
                               rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("crs,res,origin", [("EPSG:4326", 0.5, (20.0, 75.0)), (ZONES_CRS, 10.0, (0.0, 400.0))])
def test_whole_blocks_weighted_like_partial_cells(crs, res, origin, monkeypatch):
    from gies.stages import zonal

    # a zone covering the whole grid: every block is summed whole (row areas on the
    # geographic grid, one number on the equal-area one), or cell by cell through
    # exactextract: both must give the same sums
    grid = make_grid((20, 24), res=res, crs=crs, origin=origin)
    rng = np.random.default_rng(3)
    s = rng.random((20, 24)).astype(np.float32)
    s[rng.random((20, 24)) < 0.1] = np.nan
    c = np.where(np.isnan(s), 254, np.where(s >= 0.5, 2, 4)).astype(np.uint8)
    x0, y0 = origin
    z = gpd.GeoDataFrame({"id": [1]}, geometry=[box(x0 - res, y0 - 21 * res, x0 + 25 * res, y0 + res)], crs=crs)
    kw = dict(classes=make_layer(c, grid=grid), score=make_layer(s, grid=grid), id_field="id", name_field=None)
    whole = zone_statistics(z, block=4, **kw).wide.select_dtypes("number").to_numpy(float)
    monkeypatch.setattr(zonal, "_covers", lambda geom, bbox: False)  # every cell via exactextract
    cells = zone_statistics(z, block=4, **kw).wide.select_dtypes("number").to_numpy(float)
    np.testing.assert_allclose(whole, cells, rtol=1e-12, equal_nan=True)
