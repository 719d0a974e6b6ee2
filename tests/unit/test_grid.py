"""Unit tests of gies.grid and gies.area."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS

from gies.area import band_area, cell_areas
from gies.errors import GridMismatchError
from gies.grid import Grid, assert_on_grid, grid_of
from gies.testing import make_grid, make_layer

WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563


# -- Grid -----------------------------------------------------------------------------------
def test_from_bounds_snaps_outwards():
    g = Grid.from_bounds((10, 0, 250, 95), 100, crs="EPSG:32748")
    assert (g.transform.c, g.transform.f) == (0.0, 100.0)
    assert g.shape == (1, 3)
    assert g.resolution == (100.0, 100.0)
    assert g.bounds == (0.0, 0.0, 300.0, 100.0)


def test_from_bounds_exact_multiples_add_no_pixel():
    g = Grid.from_bounds((0, 0, 500, 400), 100, crs="EPSG:32748")
    assert g.shape == (4, 5)
    assert g.bounds == (0.0, 0.0, 500.0, 400.0)
    g = Grid.from_bounds((-0.3, -0.3, 0.3, 0.3), 0.1, crs="EPSG:4326")
    assert g.shape == (6, 6)


def test_from_bounds_rejects_empty():
    with pytest.raises(ValueError):
        Grid.from_bounds((10, 0, 10, 95), 100, crs="EPSG:32748")


def test_coords_are_pixel_centres():
    g = make_grid((2, 3), res=100, origin=(1000.0, 5000.0))
    np.testing.assert_array_equal(g.x_coords, [1050.0, 1150.0, 1250.0])
    np.testing.assert_array_equal(g.y_coords, [4950.0, 4850.0])


def test_grid_hashable_and_equal():
    a = Grid.from_bounds((10, 0, 250, 95), 100, crs="EPSG:32748")
    b = Grid.from_bounds((10, 0, 250, 95), 100, crs="EPSG:32748")
    assert a == b and hash(a) == hash(b)
    _ = a.pyproj_crs  # a cached property must not change equality or hash
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != Grid.from_bounds((10, 0, 350, 95), 100, crs="EPSG:32748")
    assert a.same_as(b)
    assert make_grid() == make_grid()


def test_grid_crs_normalised():
    a = Grid.from_bounds((0, 0, 1, 1), 0.5, crs="EPSG:4326")
    b = Grid.from_bounds((0, 0, 1, 1), 0.5, crs=CRS.from_epsg(4326))
    assert a == b
    assert a.is_geographic
    with pytest.raises(ValueError):
        Grid.from_bounds((0, 0, 1, 1), 0.5, crs="not a crs")


@pytest.mark.parametrize(
    "transform",
    [
        Affine(100, 0.5, 0, 0, -100, 0),  # rotated / sheared
        Affine(100, 0, 0, 0.5, -100, 0),
        Affine(100, 0, 0, 0, 100, 0),  # south-up
        Affine(-100, 0, 0, 0, -100, 0),
        Affine.rotation(10) @ Affine.scale(100, -100),
    ],
)
def test_non_north_up_rejected(transform):
    with pytest.raises(ValueError):
        Grid(CRS.from_epsg(32748).to_wkt(), transform, (2, 2))


def test_bad_shape_rejected():
    with pytest.raises(ValueError):
        Grid(CRS.from_epsg(32748).to_wkt(), Affine(100, 0, 0, 0, -100, 0), (0, 2))


def test_assert_on_grid():
    g = make_grid((2, 2))
    assert_on_grid(g, make_layer(np.zeros((2, 2)), grid=g))
    with pytest.raises(GridMismatchError):
        assert_on_grid(g, make_layer(np.zeros((2, 2)), grid=make_grid((2, 2), res=50)))
    bare = make_layer(np.zeros((2, 2))).drop_vars("spatial_ref")
    with pytest.raises(GridMismatchError):
        grid_of(bare)


# -- areas ----------------------------------------------------------------------------------
def _geo_cell_area_numeric(lat1, lat2, dlon_deg, a=WGS84_A, f=WGS84_F, n=20001):
    """Independent check: integrate M(phi) N(phi) cos(phi) dphi dlambda (Simpson)."""
    e2 = f * (2 - f)
    phi = np.radians(np.linspace(lat1, lat2, n))
    w = 1 - e2 * np.sin(phi) ** 2
    m = a * (1 - e2) / w**1.5
    nn = a / np.sqrt(w)
    y = m * nn * np.cos(phi)
    h = (phi[-1] - phi[0]) / (n - 1)
    simpson = h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum())
    return abs(simpson) * math.radians(dlon_deg)


def test_geographic_cell_area_equator_and_60n():
    # 1 deg x 1 deg cells centred on the equator and on 60 N
    eq = Grid(CRS.from_epsg(4326).to_wkt(), Affine(1, 0, 0, 0, -1, 0.5), (1, 1))
    n60 = Grid(CRS.from_epsg(4326).to_wkt(), Affine(1, 0, 0, 0, -1, 60.5), (1, 1))
    a_eq = cell_areas(eq)[0, 0]
    a60 = cell_areas(n60)[0, 0]
    # hand formula (ellipsoid integral)
    assert a_eq == pytest.approx(_geo_cell_area_numeric(-0.5, 0.5, 1), rel=1e-9)
    assert a60 == pytest.approx(_geo_cell_area_numeric(59.5, 60.5, 1), rel=1e-9)
    # roughly 111.3 km x 110.6 km at the equator
    assert a_eq / 1e6 == pytest.approx(12308.8, rel=1e-3)
    # On the ellipsoid the ratio is cos(60) * M(60)N(60) / (M(0)N(0))
    # = 0.5 / (1 - e^2 sin^2 60)^2 = 0.50506: 1 % above cos(60), so within 0.5 % of the
    # ellipsoid formula, not of cos(60) itself (a sphere gives 0.5: see the next test).
    e2 = WGS84_F * (2 - WGS84_F)
    ratio = a60 / a_eq
    assert ratio == pytest.approx(0.5 / (1 - e2 * 0.75) ** 2, rel=1e-4)
    assert ratio == pytest.approx(math.cos(math.radians(60)), rel=1.5e-2)


def test_geographic_cell_area_on_sphere_ratio_is_cos60():
    sphere = CRS.from_proj4("+proj=longlat +R=6371000 +no_defs").to_wkt()
    eq = Grid(sphere, Affine(1, 0, 0, 0, -1, 0.5), (1, 1))
    n60 = Grid(sphere, Affine(1, 0, 0, 0, -1, 60.5), (1, 1))
    r = 6371000.0
    # hand: R^2 * dlon * (sin(phi2) - sin(phi1))
    expected_eq = r**2 * math.radians(1) * 2 * math.sin(math.radians(0.5))
    assert cell_areas(eq)[0, 0] == pytest.approx(expected_eq, rel=1e-9)
    assert cell_areas(n60)[0, 0] / cell_areas(eq)[0, 0] == pytest.approx(0.5, rel=1e-9)


def test_geographic_cell_areas_shape_and_symmetry():
    g = Grid.from_bounds((10, -2, 13, 2), 1, crs="EPSG:4326")
    a = cell_areas(g)
    assert a.shape == (4, 3)
    assert np.all(a[:, 0] == a[:, 2])  # one value per row
    np.testing.assert_allclose(a[0], a[3], rtol=1e-12)  # north/south symmetric
    np.testing.assert_allclose(a[1], a[2], rtol=1e-12)
    assert a[1, 0] > a[0, 0]  # nearer the equator is larger
    np.testing.assert_allclose(cell_areas(g, slice(1, 3), slice(0, 2)), a[1:3, 0:2])


def test_whole_earth_area():
    g = Grid.from_bounds((-180, -90, 180, 90), 1, crs="EPSG:4326")
    assert g.shape == (180, 360)
    total_km2 = cell_areas(g).sum() / 1e6
    assert total_km2 == pytest.approx(510_065_622, rel=1e-4)


def test_band_area_sphere_and_pole():
    # on a sphere S(phi) = R^2 sin(phi)
    assert band_area(np.array([30.0]), 1000.0, 0.0)[0] == pytest.approx(500_000.0)
    # area of a hemisphere: 2 pi S(90) = half the WGS84 ellipsoid area
    assert 2 * math.pi * band_area(np.array([90.0]), WGS84_A, WGS84_F)[0] * 2 / 1e6 == (
        pytest.approx(510_065_621.7, rel=1e-8))


def test_equal_area_crs_cells_are_nominal():
    g = make_grid((4, 5), res=1000.0, crs="EPSG:6933", origin=(1_000_000.0, 3_000_000.0))
    np.testing.assert_allclose(cell_areas(g), 1000.0**2, rtol=1e-9)
    g = make_grid((3, 3), res=1.0, crs="EPSG:6933", origin=(0.0, 3.0))
    np.testing.assert_allclose(cell_areas(g), 1.0, rtol=1e-9)


def test_utm_central_meridian():
    k0 = 0.9996
    g = make_grid((2, 2), res=100.0, crs="EPSG:32748", origin=(499_900.0, 9_800_000.0))
    # centres at x = 499950 and 500050: 50 m from the central meridian
    np.testing.assert_allclose(cell_areas(g), 100.0**2 / k0**2, rtol=1e-5)
    # 200 km east of the central meridian the scale is larger: cells are smaller on the ground
    far = make_grid((1, 1), res=100.0, crs="EPSG:32748", origin=(700_000.0, 9_800_000.0))
    # areal scale ~ k0^2 (1 + x^2/R^2), x = 200 km: about 1e-3 less than on the meridian
    shrink = 1 - cell_areas(far)[0, 0] / (100.0**2 / k0**2)
    assert 0.9e-3 < shrink < 1.1e-3


# -- the grid travels in the spatial_ref coordinate -----------------------------------------------
def test_the_grid_survives_arithmetic_where_and_concat():
    import xarray as xr
    from affine import Affine

    from gies.grid import Grid

    # a transform whose numbers have no short decimal form (Bungo's is like this)
    g = Grid(make_grid((3, 4)).crs, Affine(99.98016592873559, 0, 103841.23504113499, 0,
                                          -99.98016592873557, 9875402.980182344), (3, 4))
    a = make_layer(np.arange(12.0).reshape(3, 4), grid=g)
    for derived in (a * 2 + 1, xr.where(a > 3, a, np.nan), a.where(a > 2), -a,
                    xr.concat([a, a], dim="factor").max("factor")):
        assert grid_of(derived) == g
        assert grid_of(derived).transform == g.transform  # bit for bit
    assert grid_of(a) is grid_of(a * 1)  # rebuilt once, then reused


def test_the_grid_survives_netcdf(tmp_path):
    import xarray as xr

    g = make_grid((2, 3), res=30.0, crs="EPSG:4326", origin=(-16.98765432101, 14.0123456789))
    ds = xr.Dataset({"score": make_layer(np.ones((2, 3)), grid=g),
                     "classes": make_layer(np.full((2, 3), 2, dtype="uint8"), grid=g)})
    ds.to_netcdf(tmp_path / "x.nc")
    with xr.open_dataset(tmp_path / "x.nc") as back:
        assert grid_of(back.score) == g and grid_of(back["classes"]) == g
        assert back["classes"].dtype == np.uint8
        # rioxarray reads the same grid from it
        import rioxarray  # noqa: F401

        assert tuple(back.score.rio.transform()) == tuple(g.transform)


# -- how a grid and its CRS are named for people ----------------------------------------------
def test_crs_labels():
    from pyproj import CRS
    from shapely.geometry import box

    from gies.grid import crs_label, laea_for

    assert crs_label("EPSG:32748") == "EPSG:32748 (WGS 84 / UTM zone 48S)"
    # PROJ calls a CRS made from a PROJ string "unknown": it is described by its parameters
    bare = CRS.from_proj4("+proj=laea +lat_0=14.5 +lon_0=-16.5 +datum=WGS84 +units=m")
    assert bare.name == "unknown"
    assert crs_label(bare) == "LAEA centred on 14.5°N 16.5°W"
    assert crs_label(CRS.from_proj4("+proj=tmerc +lat_0=-10 +lon_0=120 +datum=WGS84")) == \
        "Transverse Mercator centred on 10°S 120°E"
    # the automatic equal-area grid carries that name in its CRS (GeoTIFFs, QGIS), and is
    # the same CRS as the unnamed one
    auto = laea_for(box(-17, 14, -16, 15), geometry_crs="EPSG:4326")
    assert auto.name == "LAEA centred on 14.5°N 16.5°W" and auto == bare
    assert 'BASEGEOGCRS["WGS 84"' in auto.to_wkt()


def test_grids_describe_themselves_width_by_height():
    from affine import Affine

    g = Grid(CRS.from_epsg(4326).to_wkt(), Affine(1 / 60, 0, -17, 0, -1 / 60, 15), (60, 80))
    assert g.describe() == "80 × 60 cells of 0.0166667°, EPSG:4326 (WGS 84)"
    u = Grid(CRS.from_epsg(32628).to_wkt(), Affine(30, 0, 0, 0, -20, 0), (10, 20))
    assert u.describe() == "20 × 10 cells of 30 × 20 m, EPSG:32628 (WGS 84 / UTM zone 28N)"
