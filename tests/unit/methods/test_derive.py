"""Derived layers: slope/aspect on projected and geographic DEMs, depth weighting, monthly."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from gies.methods.derive import aspect, depth_weighted_mean, dry_months, growing_season_mean, slope
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
    z = np.random.default_rng(3).normal(0, 10, g.shape).cumsum(0).cumsum(1)
    a = np.asarray(slope(_dem(g, z, chunk=4), grid=g))
    b = np.asarray(slope(_dem(g, z, chunk=1000), grid=g))
    np.testing.assert_allclose(a, b, rtol=1e-6)


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
