"""True ground area of grid cells, in square metres, for any grid CRS.

* Geographic grids (degrees): exact cell area on the CRS's ellipsoid, per row. The area of
  the band between the equator and latitude φ per radian of longitude is
  ``S(φ) = b²/2 · [ sinφ / (1 − e² sin²φ) + 1/(2e) · ln((1 + e sinφ) / (1 − e sinφ)) ]``
  (authalic-sphere identity; Snyder 1987, eq. 3-12), so a cell spanning latitudes φ₁..φ₂
  and Δλ radians has area ``Δλ · (S(φ₂) − S(φ₁))``.
* Projected grids: nominal area ``|res_x · res_y|`` divided by PROJ's areal scale factor at
  the cell centre (``pyproj.Proj.get_factors``), so UTM, Web Mercator and other
  non-equal-area grids give true areas; equal-area projections have a factor of 1.

Which method applies (:func:`area_method`):

=====================  =====================================================  ============
grid CRS               cell area                                              exactness
=====================  =====================================================  ============
equal-area projected   nominal ``res_x · res_y`` (areal scale is 1)           exact
(LAEA, EPSG:6933, …)   (``Grid.from_aoi(crs="auto")`` builds one)
other projected        nominal / PROJ areal scale ``h·k`` at the cell centre  < 1e-6 rel.
(UTM, Mercator, …)                                                            for ≤ 1 km
geographic             ``Δλ · (S(φ₂) − S(φ₁))`` per row (ellipsoid)          exact
=====================  =====================================================  ============

:func:`is_equal_area` decides the first case from PROJ's areal scale at a few points
(Snyder 1987, *Map Projections: A Working Manual*, USGS PP 1395, §4 "scale factors").
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from pyproj import CRS, Proj, Transformer

from gies.grid import Grid

__all__ = ["cell_areas", "areas_at", "uniform_cell_area", "band_area", "is_equal_area", "area_method"]


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
    """Area in m² of every cell of ``grid[rows, cols]`` (float64, 2-D).

    The method is decided once per CRS (:func:`area_method`, cached): equal-area grids get
    the nominal area without any projection call; other projected grids divide it by PROJ's
    areal scale, evaluated once per grid on a lattice of cell centres (every ``s`` cells,
    ``s`` ≤ 16 chosen so that interpolating between lattice nodes is exact to 1e-7
    relative, checked against PROJ at the lattice midpoints) and interpolated bilinearly.
    Values depend only on the cell, never on the window asked for.
    """
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
    nominal = abs(t.a * t.e)
    if _method_of(grid.crs) == "equal_area":
        return np.full((r1 - r0, c1 - c0), nominal)
    ri, ci, scale = _scale_lattice(grid)
    return nominal / _interp2(ri, ci, scale, np.arange(r0, r1), np.arange(c0, c1))


def areas_at(grid: Grid, rows, cols) -> np.ndarray:
    """Areas in m² of the cells ``(rows[i], cols[i])`` (float64, 1-D), as :func:`cell_areas`
    gives them."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.size == 0:
        return np.empty(0)
    uniform = uniform_cell_area(grid)
    if uniform is not None:
        return np.full(rows.size, uniform)
    if grid.is_geographic:  # the area depends on the row only
        r0, r1 = int(rows.min()), int(rows.max()) + 1
        return cell_areas(grid, slice(r0, r1), slice(0, 1))[:, 0][rows - r0]
    return np.array([cell_areas(grid, slice(r, r + 1), slice(c, c + 1))[0, 0]
                     for r, c in zip(rows, cols)])


def uniform_cell_area(grid: Grid) -> float | None:
    """The area in m² shared by every cell of an equal-area grid (nominal ``|res_x · res_y|``,
    exact), ``None`` when cells differ (:func:`area_method`, cached per CRS)."""
    if _method_of(grid.crs) == "equal_area":
        return float(abs(grid.transform.a * grid.transform.e))
    return None


def _areal_scale(grid: Grid, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """PROJ's areal scale at the centres of cells (row ``rr``, column ``cc``), broadcast."""
    t = grid.transform
    crs = grid.pyproj_crs
    x = t.c + (np.asarray(cc, dtype=np.float64) + 0.5) * t.a
    y = t.f + (np.asarray(rr, dtype=np.float64) + 0.5) * t.e
    x, y = np.broadcast_arrays(x, y)
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    return np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype=np.float64)


def _nodes(n: int, step: int) -> np.ndarray:
    return np.unique(np.r_[np.arange(0, n, step), n - 1])


def _interp2(ri, ci, v, rows, cols) -> np.ndarray:
    """Bilinear interpolation of lattice values ``v[ri, ci]`` at integer ``rows × cols``."""
    def weights(nodes, q):
        k = np.clip(np.searchsorted(nodes, q, side="right") - 1, 0, max(len(nodes) - 2, 0))
        if len(nodes) == 1:
            return k, k, np.zeros(q.shape)
        span = nodes[k + 1] - nodes[k]
        return k, k + 1, (q - nodes[k]) / span

    i0, i1, wy = weights(ri, rows)
    j0, j1, wx = weights(ci, cols)
    by_row = v[i0] * (1 - wy)[:, None] + v[i1] * wy[:, None]  # (rows, lattice columns)
    return by_row[:, j0] * (1 - wx) + by_row[:, j1] * wx


@lru_cache(maxsize=16)
def _scale_lattice(grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = grid.shape
    step = 16
    while True:
        ri, ci = _nodes(rows, step), _nodes(cols, step)
        scale = _areal_scale(grid, ri[:, None], ci[None, :])
        if step == 1:
            return ri, ci, scale
        # check the interpolation at lattice midpoints (a subset of at most 25×25)
        mr = ((ri[:-1] + ri[1:]) // 2)[:: max(1, len(ri) // 25)] if len(ri) > 1 else ri
        mc = ((ci[:-1] + ci[1:]) // 2)[:: max(1, len(ci) // 25)] if len(ci) > 1 else ci
        exact = _areal_scale(grid, mr[:, None], mc[None, :])
        approx = _interp2(ri, ci, scale, mr, mc)
        ok = np.isfinite(exact)
        if not ok.any() or np.max(np.abs(approx[ok] / exact[ok] - 1.0)) <= 1e-7:
            return ri, ci, scale
        step //= 2


@lru_cache(maxsize=64)
def _method_of(crs_text: str) -> str:
    return area_method(crs_text)


def _sample_lonlat(crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """A 5×5 lon/lat lattice inside the CRS's area of use, or ±10° around its origin."""
    aou = crs.area_of_use
    if aou is not None and aou.west < aou.east:
        w, s, e, n = aou.west, aou.south, aou.east, aou.north
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            d = crs.to_dict()
        lon0 = float(d.get("lon_0", d.get("lonc", 0.0)) or 0.0)
        lat0 = float(d.get("lat_0", 0.0) or 0.0)
        w, e = lon0 - 10, lon0 + 10
        s, n = max(lat0 - 10, -80), min(lat0 + 10, 80)
    lon, lat = np.meshgrid(np.linspace(w, e, 5), np.linspace(s, n, 5))
    return lon.ravel(), lat.ravel()


def is_equal_area(crs, *, rtol: float = 1e-6) -> bool:
    """True when a projected CRS preserves area: PROJ's areal scale ``h·k`` is 1 (within
    ``rtol``) at every point of a 5×5 lattice over its area of use (or ±10° around its
    origin). Geographic CRSs are never equal-area (a degree cell shrinks with cos φ).

    >>> is_equal_area("EPSG:6933"), is_equal_area("EPSG:32748"), is_equal_area("EPSG:4326")
    (True, False, False)
    """
    c = CRS.from_user_input(crs)
    if not c.is_projected:
        return False
    lon, lat = _sample_lonlat(c)
    try:
        f = np.asarray(Proj(c).get_factors(lon, lat).areal_scale, dtype=np.float64)
    except Exception:  # noqa: BLE001 - PROJ cannot give factors for this CRS
        return False
    f = f[np.isfinite(f)]
    return bool(f.size) and bool(np.all(np.abs(f - 1.0) <= rtol))


def area_method(crs) -> str:
    """Which cell-area method :func:`cell_areas` uses for ``crs``:
    ``"ellipsoidal_rows"`` (geographic), ``"equal_area"`` (exact nominal area) or
    ``"areal_scale"`` (projected, nominal area corrected by PROJ's areal scale)."""
    c = CRS.from_user_input(crs)
    if c.is_geographic:
        return "ellipsoidal_rows"
    return "equal_area" if is_equal_area(c) else "areal_scale"
