"""Derived layers: slope/aspect on projected and geographic DEMs (raster border, nodata
neighbours, chunk seams, gdaldem as an oracle), depth weighting, monthly."""

from __future__ import annotations

import subprocess

import dask
import dask.array as dsa
import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from affine import Affine
from shapely import Polygon, contains_xy

from gies.methods.derive import (_gradients, aspect, depth_weighted_mean, dry_months,
                                 growing_season_mean, slope)
from gies.grid import Grid
from gies.stages.harmonise import onto_grid
from gies.testing import make_layer

GE, GN = 0.12, -0.05  # plane gradient east / north (m/m)
TRUE_PCT = 100 * np.hypot(GE, GN)
TRUE_ASPECT = np.degrees(np.arctan2(-GE, -GN)) % 360  # downhill direction


def _dem(grid: Grid, z: np.ndarray, chunk: int = 7) -> xr.DataArray:
    return xr.DataArray(dsa.from_array(z, chunks=chunk), dims=("y", "x"),
                        coords={"y": grid.y_coords, "x": grid.x_coords}, name="dem")


def test_slope_aspect_projected_plane():
    g = Grid.from_bounds((500_000, 5_000_000, 500_000 + 30 * 40, 5_000_000 + 30 * 30), 30,
                         crs="EPSG:32632")
    xx, yy = np.meshgrid(g.x_coords, g.y_coords)
    dem = _dem(g, 100 + GE * (xx - 500_000) + GN * (yy - 5_000_000))
    with dask.config.set(scheduler=lambda *a, **k: (_ for _ in ()).throw(AssertionError)):
        s, a = slope(dem, grid=g), aspect(dem, grid=g)  # lazy
    np.testing.assert_allclose(np.asarray(s), TRUE_PCT, rtol=1e-3)  # edges included
    np.testing.assert_allclose(np.asarray(a), TRUE_ASPECT, atol=0.05)
    deg = np.asarray(slope(dem, grid=g, units="degrees"))
    np.testing.assert_allclose(deg, np.degrees(np.arctan(np.hypot(GE, GN))), rtol=1e-3)


def test_slope_geographic_plane_near_45n():
    # plane defined in metres in a local transverse Mercator, sampled on a 3" lat/lon grid
    g = Grid.from_bounds((7.0, 45.0, 7.0 + 60 / 1200, 45.0 + 50 / 1200), 1 / 1200, crs="EPSG:4326")
    tm = "+proj=tmerc +lat_0=45.02 +lon_0=7.025 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m"
    lon, lat = np.meshgrid(g.x_coords, g.y_coords)
    e, n = Transformer.from_crs("EPSG:4326", tm, always_xy=True).transform(lon, lat)
    dem = _dem(g, 500 + GE * e + GN * n)
    s = np.asarray(slope(dem, grid=g))
    np.testing.assert_allclose(s, TRUE_PCT, rtol=1e-3)
    np.testing.assert_allclose(np.asarray(aspect(dem, grid=g)), TRUE_ASPECT, atol=0.1)
    # the classic mistake (degrees used as metres) would be off by orders of magnitude
    assert np.all(s < 2 * TRUE_PCT)


def test_slope_chunk_seams_equal_single_block():
    g = Grid.from_bounds((0, 0, 3000, 2000), 100, crs="EPSG:32748")
    rng = np.random.default_rng(3)
    z = rng.normal(0, 10, g.shape).cumsum(0).cumsum(1)
    z[rng.random(g.shape) < 0.15] = np.nan  # holes on and beside the seams of 4-cell chunks
    for f in (slope, aspect):
        one = np.asarray(f(_dem(g, z, chunk=1000), grid=g))
        assert np.isnan(one).sum() < np.isnan(z).sum() * 1.2  # the holes' neighbours have values
        for chunk in (4, 3, (5, 2)):
            np.testing.assert_array_equal(np.asarray(f(_dem(g, z, chunk=chunk), grid=g)), one)
        np.testing.assert_array_equal(np.asarray(f(_dem(g, z).compute(), grid=g)), one)  # NumPy


# -- edges: a plane clipped to a polygon with a hole --------------------------------------------
PA, PB = 0.137, -0.081  # a second plane, z = 250 + PA·x + PB·y (m/m east, north)
X0, Y0 = 501_000, 5_001_000  # multiples of 30 m: Grid.from_bounds keeps the bounds


def _clipped_plane():
    """A 30 m plane on 28 × 36 cells, valid inside a pentagon that crosses the west and south
    raster borders, minus a polygonal hole and a one-cell hole."""
    g = Grid.from_bounds((X0, Y0, X0 + 36 * 30, Y0 + 28 * 30), 30, crs="EPSG:32632")
    xx, yy = np.meshgrid(g.x_coords - X0, g.y_coords - Y0)
    outline = [(-50, 100), (300, 820), (1000, 700), (1050, 120), (400, -40)]
    hole = [(450, 300), (620, 310), (600, 480), (470, 450)]
    inside = contains_xy(Polygon(outline, [hole]), xx, yy)
    inside[20, 9] = False  # a single nodata cell among valid ones
    z = np.where(inside, 250 + PA * xx + PB * yy, np.nan)
    assert 0 < inside.sum() < inside.size and inside[:, 0].any() and inside[-1].any()
    return g, z, inside


def test_clipped_plane_gradient_exact_on_every_valid_cell():
    g, z, inside = _clipped_plane()
    for chunk in (1000, 3, (4, 5)):
        gx, gy = (np.asarray(v) for v in _gradients(_dem(g, z, chunk=chunk), grid=g))
        np.testing.assert_array_equal(np.isnan(gx), ~inside)
        np.testing.assert_array_equal(np.isnan(gy), ~inside)
        np.testing.assert_allclose(gx[inside], PA, rtol=1e-9)
        np.testing.assert_allclose(gy[inside], PB, rtol=1e-9)


def test_clipped_plane_slope_aspect_exact_on_every_valid_cell():
    g, z, inside = _clipped_plane()
    true_pct = 100 * np.hypot(PA, PB)
    true_deg = np.degrees(np.arctan(np.hypot(PA, PB)))
    true_asp = np.degrees(np.arctan2(-PA, -PB)) % 360
    for chunk in (1000, 3):
        dem = _dem(g, z, chunk=chunk)
        for out, true in ((slope(dem, grid=g), true_pct), (aspect(dem, grid=g), true_asp),
                          (slope(dem, grid=g, units="degrees"), true_deg)):
            v = np.asarray(out)
            assert v.dtype == np.float32
            np.testing.assert_array_equal(np.isnan(v), ~inside)
            np.testing.assert_allclose(v[inside], true, rtol=1e-7)  # float32 rounding


# 3×3 DEM, 10 m cells, rows north to south (hand-computed cases below)
Z3 = np.array([[10.0, 12, 16], [11, 14, 20], [13, 17, 25]])
G3 = Grid.from_bounds((0, 0, 30, 30), 10, crs="EPSG:32632")


def _pq(z, chunk=2):
    gx, gy = _gradients(_dem(G3, z, chunk=chunk), grid=G3)
    return np.asarray(gx), np.asarray(gy)


def test_border_cells_hand():
    p, q = _pq(Z3)
    # north-west corner: the outside row is 2·row0 − row1 = [9, 10, 12], the outside column
    # 2·col0 − col1 = 8 on every row; east rows (10−8)/20, (12−8)/20, (14−8)/20 = .1 .2 .3
    # -> p = (.1 + 2·.2 + .3)/4; north columns (8−8)/20, (9−11)/20, (10−14)/20 -> q = −.4/4
    assert p[0, 0] == pytest.approx(0.2) and q[0, 0] == pytest.approx(-0.1)
    # north edge, middle: rows (12−9)/20, (16−10)/20, (20−11)/20 -> p = 1.2/4; columns
    # (10−11)/10, (12−14)/10, (16−20)/10 -> q = (−.1 − .4 − .4)/4
    assert p[0, 1] == pytest.approx(0.3) and q[0, 1] == pytest.approx(-0.225)
    s = np.asarray(slope(_dem(G3, Z3), grid=G3))
    a = np.asarray(aspect(_dem(G3, Z3), grid=G3))
    assert s[0, 0] == pytest.approx(100 * np.sqrt(0.05), rel=1e-7)
    assert a[0, 0] == pytest.approx(296.56505, abs=1e-4)  # atan2(−.2, .1) + 360°


def test_nodata_neighbours_hand():
    z = Z3.copy()
    z[1, 0] = np.nan  # d
    p, q = _pq(z)
    # rows: (16−10)/20 = .3, one-sided (20−14)/10 = .6, (25−13)/20 = .6 -> p = 2.1/4
    # (a complete Horn window, d = 11, would give .45); columns keep (10−13)/20,
    # (12−17)/20, (16−25)/20 -> q = −1.1/4
    assert p[1, 1] == pytest.approx(0.525) and q[1, 1] == pytest.approx(-0.275)
    z = Z3.copy()
    z[0, :2] = np.nan  # a and b
    p, q = _pq(z)
    # north row gives nothing (a, b missing): p = (2·9/20 + 12/20)/(2 + 1); columns
    # one-sided (11−13)/10, (14−17)/10 and (16−25)/20 -> q = (−.2 − .6 − .45)/4
    assert p[1, 1] == pytest.approx(0.5) and q[1, 1] == pytest.approx(-0.3125)
    # north-east corner: the outside row 2·row0 − row1 is [nan, nan, 12], the outside column
    # 2·col2 − col1 is nan on rows −1 and 0 (col1 is nan there) and 2·20 − 14 = 26 on row 1:
    # only the south row gives an east difference, (26 − 14)/20; only the centre column a
    # north one, (12 − 20)/20 (the others have neither both ends nor a middle)
    assert p[0, 2] == pytest.approx(0.6) and q[0, 2] == pytest.approx(-0.4)
    assert np.isnan(p[0, 0]) and np.isnan(q[0, 1])  # nodata cells themselves


def test_no_valid_neighbour_in_one_direction_is_nodata():
    g = Grid.from_bounds((X0, Y0, X0 + 6 * 30, Y0 + 5 * 30), 30, crs="EPSG:32632")
    xx, yy = np.meshgrid(g.x_coords - X0, g.y_coords - Y0)
    plane = 250 + PA * xx + PB * yy
    true = 100 * np.hypot(PA, PB)

    def run(keep):
        dem = _dem(g, np.where(keep, plane, np.nan), chunk=2)
        return np.asarray(slope(dem, grid=g)), np.asarray(aspect(dem, grid=g))

    cols = np.broadcast_to(np.arange(6), (5, 6))
    rows = np.broadcast_to(np.arange(5)[:, None], (5, 6))
    for strip in (cols == 2, rows == 1, cols == 0):  # north–south, east–west, on the border
        s, a = run(strip)
        assert np.isnan(s).all() and np.isnan(a).all()  # one component unknown on every cell
    s, a = run((cols == 2) | (cols == 3))  # two cells wide: both components known
    np.testing.assert_allclose(s[:, 2:4], true, rtol=1e-7)
    assert np.isnan(s[:, [0, 1, 4, 5]]).all()
    hole = ~((rows == 2) & (cols == 3))
    s, _ = run(hole)  # a nodata cell has no slope, even with all 8 neighbours valid
    assert np.isnan(s[2, 3]) and np.isnan(s).sum() == 1
    np.testing.assert_allclose(s[hole], true, rtol=1e-7)


def test_geographic_plane_with_holes():
    g = Grid.from_bounds((7.0, 45.0, 7.0 + 60 / 1200, 45.0 + 50 / 1200), 1 / 1200, crs="EPSG:4326")
    tm = "+proj=tmerc +lat_0=45.02 +lon_0=7.025 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m"
    lon, lat = np.meshgrid(g.x_coords, g.y_coords)
    e, n = Transformer.from_crs("EPSG:4326", tm, always_xy=True).transform(lon, lat)
    inside = np.hypot(e, n) < 1500  # a disc, cut by the raster's borders
    inside[20:24, 30:33] = False
    z = np.where(inside, 500 + GE * e + GN * n, np.nan)
    for chunk in (1000, 3):
        s = np.asarray(slope(_dem(g, z, chunk=chunk), grid=g))
        a = np.asarray(aspect(_dem(g, z, chunk=chunk), grid=g))
        np.testing.assert_array_equal(np.isnan(s), ~inside)
        # the tolerance of the plane without holes: the map projection's own curvature
        np.testing.assert_allclose(s[inside], TRUE_PCT, rtol=1e-3)
        np.testing.assert_allclose(a[inside], TRUE_ASPECT, atol=0.1)


# -- gdaldem as an oracle ---------------------------------------------------------------------
def _gdaldem(exe, tmp_path, z, *, nodata=None):
    """gdaldem slope (percent) and aspect with -compute_edges on a 30 m raster of ``z``."""
    src = tmp_path / "dem.tif"
    with rasterio.open(src, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype="float64", crs="EPSG:32632", transform=Affine(30, 0, X0, 0, -30, Y0),
                       nodata=nodata) as ds:
        ds.write(z, 1)
        grid = Grid.from_raster(ds)
    out = []
    for mode, extra in (("slope", ["-p"]), ("aspect", [])):
        dst = tmp_path / f"{mode}.tif"
        subprocess.run([exe, mode, *extra, "-compute_edges", "-q", str(src), str(dst)], check=True)
        with rasterio.open(dst) as ds:
            out.append(ds.read(1, masked=True).astype(np.float64).filled(np.nan))
    return grid, *out


def test_rectangle_equals_gdaldem_compute_edges(gdaldem, tmp_path):
    z = np.random.default_rng(1).normal(0, 5, (9, 11)).cumsum(0).cumsum(1) + 100
    g, gs, ga = _gdaldem(gdaldem, tmp_path, z)
    s = np.asarray(slope(_dem(g, z, chunk=4), grid=g))
    a = np.asarray(aspect(_dem(g, z, chunk=4), grid=g))
    corners = np.zeros(z.shape, bool)
    corners[[0, 0, -1, -1], [0, -1, 0, -1]] = True
    # borders included: the same 2·edge − inner extrapolation (gdaldem writes float32)
    np.testing.assert_allclose(s[~corners], gs[~corners], rtol=1e-5)
    np.testing.assert_allclose(a[~corners], ga[~corners], atol=1e-3)
    # at the four corners gdaldem uses the corner's own column instead of the outside one,
    # which halves the east gradient of a plane; gies extrapolates there too
    yy, xx = np.mgrid[0:9, 0:11]
    plane = 100 + PA * 30 * xx - PB * 30 * yy  # rows run south: y = −30·row
    g, gs, _ = _gdaldem(gdaldem, tmp_path, plane)
    s = np.asarray(slope(_dem(g, plane, chunk=4), grid=g))
    np.testing.assert_allclose(s, 100 * np.hypot(PA, PB), rtol=1e-7)
    np.testing.assert_allclose(gs[~corners], 100 * np.hypot(PA, PB), rtol=1e-5)
    np.testing.assert_allclose(gs[corners], 100 * np.hypot(PA / 2, PB), rtol=1e-5)


def test_next_to_nodata_gdaldem_biased_gies_exact(gdaldem, tmp_path):
    yy, xx = np.mgrid[0:9, 0:11]
    plane = 100 + PA * 30 * xx - PB * 30 * yy
    plane[:, :3] = -9999.0  # the three western columns are nodata
    g, gs, ga = _gdaldem(gdaldem, tmp_path, plane, nodata=-9999.0)
    z = np.where(plane == -9999.0, np.nan, plane)
    s = np.asarray(slope(_dem(g, z, chunk=4), grid=g))
    a = np.asarray(aspect(_dem(g, z, chunk=4), grid=g))
    # gdaldem puts the centre in place of the missing west column: [(c−e) + 2(f−e) + (i−e)]
    # / 8Δx = p/2, and [(e + 2b + c) − (e + 2h + i)] / 8Δy = ¾ q
    np.testing.assert_allclose(gs[:, 3], 100 * np.hypot(PA / 2, 0.75 * PB), rtol=1e-5)
    np.testing.assert_allclose(gs[1:-1, 4:-1], 100 * np.hypot(PA, PB), rtol=1e-5)
    np.testing.assert_allclose(s[:, 3:], 100 * np.hypot(PA, PB), rtol=1e-7)
    np.testing.assert_allclose(a[:, 3:], np.degrees(np.arctan2(-PA, -PB)) % 360, rtol=1e-7)
    assert np.isnan(s[:, :3]).all() and np.isnan(gs[:, :3]).all()


def test_depth_weighted_mean_hand():
    lay = {d: make_layer(np.full((2, 2), v)) for d, v in
           {(0, 5): 10.0, (5, 15): 20.0, (15, 30): 40.0, (30, 60): 80.0}.items()}
    out = depth_weighted_mean(lay, top=0, bottom=30)
    np.testing.assert_allclose(np.asarray(out), (5 * 10 + 10 * 20 + 15 * 40) / 30, rtol=1e-6)
    out = depth_weighted_mean(lay, top=10, bottom=20)  # partial overlaps
    np.testing.assert_allclose(np.asarray(out), (5 * 20 + 5 * 40) / 10, rtol=1e-6)
    with pytest.raises(ValueError, match="do not cover"):
        depth_weighted_mean(lay, top=0, bottom=100)


def test_growing_season_and_dry_months_hand():
    rain = np.array([10, 20, 80, 150, 200, 30, 59, 60, 61, 100, 5, 0], dtype=np.float32)
    temp = np.arange(12, dtype=np.float32) + 20
    stack = lambda v: xr.DataArray(v.reshape(12, 1, 1), dims=("band", "y", "x"))  # noqa: E731
    assert float(dry_months(stack(rain))[0, 0]) == 6  # < 60: 10 20 30 59 5 0 (60 is not dry)
    assert float(growing_season_mean(stack(temp), months=[11, 12, 1, 2])[0, 0]) == pytest.approx(
        (30 + 31 + 20 + 21) / 4)
    with pytest.raises(ValueError):
        growing_season_mean(stack(temp), months=[0, 13])


def test_dry_months_counted_on_source_then_mode_stays_integer():
    from gies.methods.registry import DERIVATIONS

    assert DERIVATIONS["count_below"].runs_on == "source" and DERIVATIONS["slope"].runs_on == "source"
    src = Grid.from_bounds((0, 0, 4000, 4000), 100, crs="EPSG:32748")
    dst = Grid.from_bounds((0, 0, 4000, 4000), 500, crs="EPSG:32748")
    rng = np.random.default_rng(5)
    rain = rng.uniform(0, 150, (12, *src.shape)).astype(np.float32)
    stack = xr.DataArray(dsa.from_array(rain, chunks=(12, 16, 16)), dims=("band", "y", "x"),
                         coords={"y": src.y_coords, "x": src.x_coords}, name="dry")
    count = dry_months(stack)
    v = np.asarray(onto_grid(count, source_grid=src, grid=dst, kind="categorical", chunk=8))
    assert np.all(v == np.round(v)) and 0 <= v.min() and v.max() <= 12
    smeared = np.asarray(onto_grid(count, source_grid=src, grid=dst, kind="continuous", chunk=8))
    assert np.any(smeared != np.round(smeared))  # what a continuous warp would have done
