"""gies's exact cell coverage (:func:`gies.stages.zonal._block_coverage`) equals exactextract's
``cell_id``/``coverage`` on the same block, and sums to the polygon's area."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon, box

from gies.grid import Grid
from gies.stages.zonal import _block_coverage

exactextract = pytest.importorskip("exactextract")
LAEA = CRS.from_user_input("+proj=laea +lat_0=10 +lon_0=20 +datum=WGS84 +units=m").to_wkt()


def _reference(grid: Grid, r0, r1, c0, c1, geoms):
    """exactextract on the same block (its GeoPandas input)."""
    import geopandas as gpd
    from exactextract.raster import NumPyRasterSource

    t = grid.transform
    xmin, ymax = t.c + c0 * t.a, t.f + r0 * t.e
    xmax, ymin = t.c + c1 * t.a, t.f + r1 * t.e
    src = NumPyRasterSource(np.zeros((r1 - r0, c1 - c0)), xmin, ymin, xmax, ymax,
                            srs_wkt=grid.crs)
    res = exactextract.exact_extract(src, gpd.GeoDataFrame(geometry=list(geoms), crs=grid.crs),
                                     ["cell_id", "coverage"], output="pandas")
    return list(res["cell_id"]), list(res["coverage"])


def _assert_same(grid, block, geoms, atol=1e-12):
    got_c, got_v = _block_coverage(grid, *block, geoms)
    ref_c, ref_v = _reference(grid, *block, geoms)
    cell_area = abs(grid.transform.a * grid.transform.e)
    for g, gc, gv, rc, rv in zip(geoms, got_c, got_v, ref_c, ref_v):
        ref = dict(zip(np.asarray(rc).tolist(), np.asarray(rv).tolist()))
        got = dict(zip(gc.tolist(), gv.tolist()))
        # every cell exactextract covers by more than a sliver, with the same fraction
        for c in set(ref) | set(got):
            # (exactextract returns float32 fractions: within 6e-8 of the exact ones)
            assert got.get(c, 0.0) == pytest.approx(ref.get(c, 0.0), abs=max(atol, 1e-7)), c
        assert gv.sum() * cell_area == pytest.approx(g.area, rel=1e-9)


GRID = Grid(LAEA, Affine(100, 0, 0, 0, -100, 10_000), (100, 100))


def test_square_half_cells_and_hole():
    outer = box(150, 1_230, 4_020, 8_775)  # edges through cells at 0.5, 0.3, 0.2, 0.75
    hole = box(1_010, 3_005, 2_990, 4_995)
    poly = Polygon(outer.exterior.coords, [hole.exterior.coords])
    _assert_same(GRID, (0, 100, 0, 100), [poly])
    cells, cov = _block_coverage(GRID, 0, 100, 0, 100, [poly])
    by = dict(zip(cells[0].tolist(), cov[0].tolist()))
    # cell (row 12, col 1): x 100..200, y 8_700..8_800 → x from 150 (half), y below 8_775
    assert by[12 * 100 + 1] == pytest.approx(0.5 * 0.75)
    assert by[20 * 100 + 20] == pytest.approx(1.0)  # interior
    assert by[50 * 100 + 20] == pytest.approx(0.05)  # y 4_900..5_000, hole up to 4_995
    assert 60 * 100 + 20 not in by  # inside the hole


def test_multipolygon_orientation_and_touching_block_edges():
    a = Polygon([(0, 10_000), (3_333.3, 10_000), (3_333.3, 6_666.6), (0, 6_666.6)])  # CW
    b = Polygon([(5_000, 0), (10_000, 0), (10_000, 5_000.5), (5_000, 0)])  # touches 2 edges
    _assert_same(GRID, (0, 100, 0, 100), [MultiPolygon([a, b]), a, b])


def test_geographic_grid_non_square_cells():
    g = Grid(CRS.from_epsg(4326).to_wkt(), Affine(0.01, 0, 20.0, 0, -0.02, 11.0), (50, 80))
    poly = Polygon([(20.013, 10.97), (20.63, 10.41), (20.2, 10.04), (20.001, 10.5)])
    _assert_same(g, (0, 50, 0, 80), [poly])


def test_sub_block_and_polygon_outside():
    poly = box(1_234, 1_234, 7_890, 7_890)
    _assert_same(GRID, (20, 60, 10, 90), [poly.intersection(box(1_000, 4_000, 9_000, 8_000))])
    cells, cov = _block_coverage(GRID, 0, 10, 0, 10, [box(50_000, 50_000, 60_000, 60_000)])
    assert cells[0].size == 0


@settings(max_examples=40, deadline=None)
# found by this test: a denormal x made a near-vertical edge step a hair left of the window
@example(points=[(0.0, 0.0), (1.0, 0.0), (2.2250738585072014e-308, 201.0)], shrink=0.0)
@given(st.lists(st.tuples(st.floats(0, 10_000), st.floats(0, 10_000)), min_size=3, max_size=12),
       st.floats(0.0, 0.45))
def test_random_polygons_match_exactextract(points, shrink):
    poly = shapely.convex_hull(shapely.MultiPoint(points))
    if poly.geom_type != "Polygon" or poly.area < 1.0:
        return
    c = poly.centroid
    hole = shapely.affinity.scale(poly, shrink, shrink, origin=c) if shrink > 0.05 else None
    geom = Polygon(poly.exterior.coords, [hole.exterior.coords]) if hole is not None else poly
    _assert_same(GRID, (0, 100, 0, 100), [geom])
