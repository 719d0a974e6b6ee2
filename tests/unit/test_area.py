"""cell_areas fast paths: equal-area grids skip PROJ, other projected grids interpolate PROJ's
areal scale from a per-grid lattice; both agree with the direct per-cell computation."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Proj, Transformer

from gies import area
from gies.grid import Grid


def _direct(grid: Grid) -> np.ndarray:
    t = grid.transform
    crs = grid.pyproj_crs
    x = t.c + (np.arange(grid.shape[1]) + 0.5) * t.a
    y = t.f + (np.arange(grid.shape[0]) + 0.5) * t.e
    xx, yy = np.meshgrid(x, y)
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(xx, yy)
    return abs(t.a * t.e) / np.asarray(Proj(crs).get_factors(lon, lat).areal_scale)


@pytest.mark.parametrize(("crs", "bounds", "res"), [
    ("EPSG:32748", (200_000, 9_000_000, 260_000, 9_050_000), 100),
    ("EPSG:3857", (0, 6_000_000, 600_000, 6_500_000), 1000),
    ("+proj=laea +lat_0=10 +lon_0=20 +datum=WGS84 +units=m", (-30_000, -20_000, 30_000, 20_000), 100),
])
def test_matches_direct_and_window_independent(crs, bounds, res):
    g = Grid.from_bounds(bounds, res, crs=crs)
    full = area.cell_areas(g)
    np.testing.assert_allclose(full, _direct(g), rtol=1e-6, atol=0)
    rows, cols = slice(37, 311), slice(5, 419)
    np.testing.assert_array_equal(area.cell_areas(g, rows, cols), full[rows, cols])


def test_equal_area_is_nominal_without_proj(monkeypatch):
    g = Grid.from_bounds((-10_000, -10_000, 10_000, 10_000), 100,
                         crs="+proj=laea +lat_0=10 +lon_0=20 +datum=WGS84 +units=m")
    area.cell_areas(g)  # decides the method once
    monkeypatch.setattr(area, "Proj", None)  # any PROJ factor call would now fail
    out = area.cell_areas(g, slice(0, 50), slice(10, 20))
    assert out.shape == (50, 10) and np.all(out == 10_000.0)
