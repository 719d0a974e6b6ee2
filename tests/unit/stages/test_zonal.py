"""Unit tests of gies.stages.zonal.zone_statistics on a 4x5 grid of 1 m pixels (EPSG:6933)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from gies.methods.schemes import NODATA
from gies.testing import make_grid, make_layer
from gies.stages.zonal import zone_statistics

NAN = float("nan")
CRS = "EPSG:6933"
# x from 0 to 5, y from 4 (row 0 top edge) down to 0; 1 m pixels -> 1 m^2 = 1e-4 ha
GRID = make_grid((4, 5), res=1.0, crs=CRS, origin=(0.0, 4.0))
CLASSES = np.array(
    [
        [1, 1, 2, 3, 4],
        [1, 2, 2, 3, 4],
        [2, 2, 3, NODATA, 4],
        [4, 4, 4, 4, 4],
    ],
    dtype=np.uint8,
)
SCORES = np.array(
    [
        [1.0, 0.9, 0.7, 0.5, 0.0],
        [0.8, 0.7, 0.6, 0.45, 0.1],
        [0.6, 0.65, 0.5, NAN, 0.2],
        [0.1, 0.2, 0.3, 0.0, 0.0],
    ],
    dtype=np.float32,
)
HA = 1e-4


def _stats(geoms, **kw):
    zones = gpd.GeoDataFrame({"zid": list(range(1, len(geoms) + 1)),
                              "zname": [f"z{i}" for i in range(1, len(geoms) + 1)]},
                             geometry=geoms, crs=CRS)
    classes = make_layer(CLASSES, grid=GRID, name="classes")
    score = make_layer(SCORES, grid=GRID, name="score")
    return zone_statistics(zones, classes=classes, score=score, id_field="zid",
                           name_field="zname", **kw).wide


def test_whole_and_half_pixels():
    # x 0.5..3, y 1..4: rows 0-2; column 0 half covered, columns 1 and 2 whole
    df = _stats([box(0.5, 1.0, 3.0, 4.0)])
    r = (df.wide if hasattr(df, "wide") else df).iloc[0]
    assert r.zone_id == 1 and r.zone_name == "z1"
    # S1: (0,0) half + (0,1) whole + (1,0) half = 2.0 m^2
    # S2: (0,2) + (1,1) + (1,2) + (2,1) whole + (2,0) half = 4.5 m^2
    # S3: (2,2) whole = 1 m^2
    assert r.area_ha == pytest.approx(7.5 * HA, rel=1e-9)
    assert r.S1_ha == pytest.approx(2.0 * HA, rel=1e-9)
    assert r.S2_ha == pytest.approx(4.5 * HA, rel=1e-9)
    assert r.S3_ha == pytest.approx(1.0 * HA, rel=1e-9)
    assert r.N_ha == 0 and r.nodata_ha == 0 and r.outside_ha == 0
    assert r.suitable_ha == pytest.approx(6.5 * HA, rel=1e-9)
    assert r.S1_share == pytest.approx(2.0 / 7.5, rel=1e-9)
    assert r.suitable_share == pytest.approx(6.5 / 7.5, rel=1e-9)
    assert r.valid_share == pytest.approx(1.0)
    # score mean weighted by coverage
    w = {(0, 0): 0.5, (0, 1): 1, (0, 2): 1, (1, 0): 0.5, (1, 1): 1, (1, 2): 1,
         (2, 0): 0.5, (2, 1): 1, (2, 2): 1}
    expected = sum(float(SCORES[k]) * v for k, v in w.items()) / sum(w.values())
    assert r.score_mean == pytest.approx(expected, rel=1e-6)
    assert not r["empty"]


def test_nodata_pixel_excluded_from_score_mean():
    # x 3..4, y 1..3: pixels (1,3) S3 0.45 and (2,3) NODATA / NaN; plus half of (1,4)/(2,4)
    df = _stats([box(3.0, 1.0, 4.5, 3.0)])
    r = (df.wide if hasattr(df, "wide") else df).iloc[0]
    assert r.area_ha == pytest.approx(3.0 * HA, rel=1e-9)
    assert r.S3_ha == pytest.approx(1.0 * HA, rel=1e-9)
    assert r.nodata_ha == pytest.approx(1.0 * HA, rel=1e-9)
    assert r.N_ha == pytest.approx(1.0 * HA, rel=1e-9)
    assert r.nodata_share == pytest.approx(1 / 3, rel=1e-9)
    assert r.valid_share == pytest.approx(2 / 3, rel=1e-9)
    expected = (0.45 * 1 + 0.1 * 0.5 + 0.2 * 0.5) / 2.0
    assert r.score_mean == pytest.approx(expected, rel=1e-6)


def test_triangle_coverage():
    # right triangle over pixel (3,0): half of it
    df = _stats([Polygon([(0, 0), (1, 0), (0, 1)])])
    r = (df.wide if hasattr(df, "wide") else df).iloc[0]
    assert r.area_ha == pytest.approx(0.5 * HA, rel=1e-9)
    assert r.N_ha == pytest.approx(0.5 * HA, rel=1e-9)
    assert r.score_mean == pytest.approx(0.1, rel=1e-6)


def test_empty_zones_and_sums():
    geoms = [box(0, 0, 5, 4), Polygon(), box(100, 100, 101, 101), box(4.5, 2.0, 6.0, 3.0)]
    df = _stats(geoms)
    assert list(df.zone_id) == [1, 2, 3, 4]
    whole = df.iloc[0]
    assert whole.area_ha == pytest.approx(20 * HA, rel=1e-9)
    assert whole.N_ha == pytest.approx(8 * HA, rel=1e-9)
    assert not whole["empty"]
    for i in (1, 2):
        r = df.iloc[i]
        assert bool(r["empty"]) is True
        assert r.area_ha == 0 and r.S1_ha == 0 and r.N_ha == 0 and r.suitable_ha == 0
        assert r.valid_share == 0
        assert np.isnan(r.score_mean)
    # zone 4 sticks out of the grid: only the part inside counts (half of pixel (1,4))
    assert df.iloc[3].area_ha == pytest.approx(0.5 * HA, rel=1e-9)
    class_cols = ["S1_ha", "S2_ha", "S3_ha", "N_ha", "excluded_ha", "nodata_ha", "outside_ha"]
    np.testing.assert_allclose(df[class_cols].sum(axis=1), df.area_ha, rtol=1e-12, atol=0)


def test_limiting_dominant():
    lim = np.zeros((4, 5), dtype=np.uint8)
    lim[0, :] = [0, 1, 2, 2, 2]
    zones = gpd.GeoDataFrame({"zid": [7]}, geometry=[box(0, 3, 5, 4)], crs=CRS)
    df = zone_statistics(zones, classes=make_layer(CLASSES, grid=GRID),
                         score=make_layer(SCORES, grid=GRID),
                         limiting=make_layer(lim, grid=GRID),
                         factor_names={1: "temperature", 2: "rainfall"},
                         id_field="zid", name_field=None)
    df = df.wide
    r = df.iloc[0]
    assert "zone_name" not in df.columns
    assert r.limiting_dominant == "rainfall"
    assert r.limiting_dominant_share == pytest.approx(3 / 4)
