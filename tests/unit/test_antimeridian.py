"""Lon/lat polygons across the antimeridian: rings made continuous when read, cut into a
geographic grid's longitudes, and the AOI grid built from them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box

from gies.grid import Grid, in_lon_frame, unwrap_all, unwrap_longitudes
from gies.io.read import read_vector
from .conftest_paths import REPO

FIJI = REPO / "tests" / "data" / "fiji" / "ne50m_admin0_fiji.geojson"
GEOD = Geod(ellps="WGS84")
RABI = Point(-179.95, -16.48)  # inside Rabi Island, the ring of Fiji that crosses ±180°


def geod_area(geom) -> float:
    """Geodesic area (m²) of the polygon parts: each shell's minus its holes', every ring
    measured on its own. Geod joins vertices the short way, so it measures a ring written
    with jumps across ±180° correctly (its plane orientation says nothing then)."""
    def ring(r) -> float:
        return abs(GEOD.geometry_area_perimeter(Polygon(r))[0])

    return sum(ring(p.exterior) - sum(ring(h) for h in p.interiors)
               for p in shapely.get_parts(geom))


def fiji_rings_area() -> float:
    return geod_area(gpd.read_file(FIJI).geometry.iloc[0])


# -- unwrap_longitudes on hand-made rings --------------------------------------------------
CROSSING = [(179.8, -16.0), (-179.9, -16.0), (-179.9, -16.2), (179.8, -16.2)]


def test_a_ring_with_a_jump_becomes_continuous():
    ring = Polygon(CROSSING)
    assert ring.bounds[2] - ring.bounds[0] == pytest.approx(359.7)  # around the world
    u = unwrap_longitudes(ring)
    assert u.is_valid
    assert u.bounds == pytest.approx((179.8, -16.2, 180.1, -16.0))
    x = np.asarray(u.exterior.coords)[:, 0]
    assert np.abs(np.diff(x)).max() == pytest.approx(0.3)
    assert u.area == pytest.approx(0.3 * 0.2)  # degrees², not a world-wide sliver
    assert geod_area(u) == pytest.approx(geod_area(ring), rel=1e-12)
    assert geod_area(u) == pytest.approx(7.10e8, rel=1e-2)  # 32.1 km x 22.1 km at 16.1° S


def test_unwrapping_does_not_depend_on_the_first_vertex():
    # starting east of 180° the unwrapped ring lies at −180.2..−179.9: moved by 360°
    u = unwrap_longitudes(Polygon(CROSSING[1:] + CROSSING[:1]))
    assert u.bounds == pytest.approx((179.8, -16.2, 180.1, -16.0))


def test_a_hole_written_east_of_the_antimeridian_stays_in_its_shell():
    shell = [(179.0, -17.0), (-179.0, -17.0), (-179.0, -15.0), (179.0, -15.0)]
    hole = [(-179.8, -16.2), (-179.5, -16.2), (-179.5, -15.8), (-179.8, -15.8)]
    u = unwrap_longitudes(Polygon(shell, [hole]))
    assert u.is_valid
    assert u.interiors[0].bounds == pytest.approx((180.2, -16.2, 180.5, -15.8))
    assert u.area == pytest.approx(2.0 * 2.0 - 0.3 * 0.4)
    assert geod_area(u) == pytest.approx(geod_area(Polygon(shell)) - geod_area(Polygon(hole)),
                                         rel=1e-12)


def test_rings_without_a_continuous_form_are_kept_as_written():
    # a ring around the south pole (Antarctica's shape): its one jump does not cancel
    polar = Polygon([(-180, -80), (-90, -80), (0, -80), (90, -80), (180, -80), (180, -90),
                     (-180, -90)])
    assert unwrap_longitudes(polar) is polar
    # a world-wide box of 4 vertices would collapse to a line
    world = box(-180, -60, 180, 85)
    assert unwrap_longitudes(world) is world
    near = MultiPolygon([box(177.0, -19.0, 180.0, -16.0), box(-180.0, -19.0, -178.0, -16.0)])
    assert unwrap_longitudes(near) is near  # parts on either side, no ring crossing
    line = shapely.LineString([(179.9, 0), (-179.9, 0)])
    assert unwrap_longitudes(line) is line


def test_unwrap_all_looks_only_at_wide_geometries():
    small, ring = box(10, 10, 11, 11), Polygon(CROSSING)
    out = unwrap_all(gpd.GeoSeries([small, ring, None]))
    assert out[0] is small and out[2] is None
    assert out[1].bounds == pytest.approx((179.8, -16.2, 180.1, -16.0))


# -- in_lon_frame -----------------------------------------------------------------------------
def test_in_lon_frame_splits_at_180_and_keeps_the_area():
    g = box(179.5, -17.0, 180.5, -16.0)
    s = in_lon_frame(g, -180.0)
    assert sorted(p.bounds for p in s.geoms) == [(-180.0, -17.0, -179.5, -16.0),
                                                 (179.5, -17.0, 180.0, -16.0)]
    # the cut adds a vertex at 180° to the 1°-long edges, which Geod measures as geodesics:
    # 1.5e-5 of the area moves (Fiji's edges are 100 times shorter)
    assert geod_area(s) == pytest.approx(geod_area(g), rel=2e-5)
    inside = box(170.0, -17.0, 175.0, -16.0)
    assert in_lon_frame(inside, -180.0) is inside
    # a 0..360 frame takes the part west of 0° across: one polygon moved by +360°
    assert in_lon_frame(box(-179.9, -17.0, -179.5, -16.0), 0.0).bounds == pytest.approx(
        (180.1, -17.0, 180.5, -16.0))


# -- Natural Earth's Fiji ---------------------------------------------------------------------
def test_the_shipped_fiji_has_the_crossing_ring():
    raw = gpd.read_file(FIJI).geometry.iloc[0]
    widths = [p.bounds[2] - p.bounds[0] for p in raw.geoms]
    assert max(widths) == 360.0 and not raw.is_valid
    assert fiji_rings_area() == pytest.approx(18_338.18e6, rel=1e-6)
    # a repair of the rings as written turns Rabi Island into a sliver around the world
    # along 16.5° S (-180..178.9), which then overlaps whatever lies at that latitude
    repaired = shapely.get_parts(shapely.make_valid(raw))
    assert max(p.bounds[2] - p.bounds[0] for p in repaired) > 350.0


def test_read_vector_unwraps_fiji():
    gdf = read_vector(FIJI, layer=None, key="zones.country")
    geom = gdf.geometry.iloc[0]
    assert geom.is_valid
    assert geod_area(geom) == pytest.approx(fiji_rings_area(), rel=1e-9)
    rabi = [p for p in geom.geoms if p.contains(Point(RABI.x + 360.0, RABI.y))]
    assert len(rabi) == 1 and geod_area(rabi[0]) == pytest.approx(65.28e6, rel=1e-3)
    assert rabi[0].bounds[0] == pytest.approx(179.9856, abs=1e-4)
    assert rabi[0].bounds[2] == pytest.approx(180.1008, abs=1e-4)
    assert gdf.crs.to_epsg() == 4326 and list(gdf.columns) == ["id", "name", "geometry"]


def _inside(grid: Grid, lon: float, lat: float) -> bool:
    x, y = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(lon, lat)
    x0, y0, x1, y1 = grid.bounds
    return x0 <= x <= x1 and y0 <= y <= y1


@pytest.mark.parametrize("crs, res", [("auto", 5000), ("EPSG:4326", 0.5)])
def test_a_grid_from_fiji_as_written_covers_both_sides(crs, res):
    # the file as written (not through read_vector): the union used to stop with a GEOS
    # TopologyException
    raw = gpd.read_file(FIJI)
    g = Grid.from_aoi(raw, crs=crs, resolution=res)
    for lon, lat in [(177.0, -12.5), (174.6, -21.7), (178.0, -17.8), (RABI.x, RABI.y),
                     (-178.72, -20.66)]:
        assert _inside(g, lon, lat), (lon, lat)
    if crs == "auto":
        assert g.shape[1] < 170  # ~770 km wide, not a world-wide strip
    else:  # the 0..360 frame of a geographic grid across ±180°
        assert g.bounds == pytest.approx((174.5, -22.0, 182.0, -12.0))
