"""True ground area of grid cells, in square metres, for any grid CRS.

* Geographic grids (degrees): exact cell area on the CRS's ellipsoid, per row. The area of
  the band between the equator and latitude φ per radian of longitude is
  ``S(φ) = b²/2 · [ sinφ / (1 − e² sin²φ) + 1/(2e) · ln((1 + e sinφ) / (1 − e sinφ)) ]``
  (authalic-sphere identity; Snyder 1987, eq. 3-12), so a cell spanning latitudes φ₁..φ₂
  and Δλ radians has area ``Δλ · (S(φ₂) − S(φ₁))``.
* Projected grids: nominal area ``|res_x · res_y|`` divided by PROJ's areal scale factor at
  the cell centre (``pyproj.Proj.get_factors``), so UTM, Web Mercator and other
  non-equal-area grids give true areas; equal-area projections have a factor of 1.
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS, Proj, Transformer

from gies.grid import Grid

__all__ = ["cell_areas", "band_area"]


def band_area(lat_deg: np.ndarray, a: float, f: float) -> np.ndarray:
    """``S(φ)``: ellipsoid area between the equator and latitude φ per radian of longitude (m²)."""
    phi = np.radians(np.asarray(lat_deg, dtype=np.float64))
    e2 = f * (2 - f)
    b = a * (1 - f)
    if e2 == 0:
        return a * a * np.sin(phi)
    e = np.sqrt(e2)
    s = np.sin(phi)
    return b * b / 2 * (s / (1 - e2 * s * s) + np.log((1 + e * s) / (1 - e * s)) / (2 * e))


def cell_areas(grid: Grid, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
    """Area in m² of every cell of ``grid[rows, cols]`` (float64, 2-D)."""
    r0, r1, _ = rows.indices(grid.shape[0])
    c0, c1, _ = cols.indices(grid.shape[1])
    t = grid.transform
    crs: CRS = grid.pyproj_crs
    if crs.is_geographic:
        ell = crs.ellipsoid
        a = ell.semi_major_metre
        f = 1 / ell.inverse_flattening if ell.inverse_flattening else 0.0
        edges = t.f + np.arange(r0, r1 + 1) * t.e
        per_row = np.abs(np.diff(band_area(edges, a, f))) * np.radians(abs(t.a))
        return np.repeat(per_row[:, None], c1 - c0, axis=1)
    x = t.c + (np.arange(c0, c1) + 0.5) * t.a
    y = t.f + (np.arange(r0, r1) + 0.5) * t.e
    xx, yy = np.meshgrid(x, y)
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(xx, yy)
    factors = Proj(crs).get_factors(lon, lat)
    nominal = abs(t.a * t.e)
    return nominal / np.asarray(factors.areal_scale, dtype=np.float64)
