"""Derived layers: monthly indices, terrain (slope, aspect), soil depth ranges.

The derivations a pipeline's ``derive.stat`` selects are registered in
:data:`gies.methods.registry.DERIVATIONS` with the grid they run on (``runs_on``) and their
input (``input``: ``monthly``, the selected bands of a monthly stack, or ``dem``).
Where each derivation runs:

* **source grid** (before harmonise resamples anything): monthly statistics, dry-month
  counts, growing-season means, slope and aspect. A count must never be interpolated into
  fractions (count on the source, then ``nearest``/``mode``); slope must be computed from
  the DEM's own cells (resampling a DEM first smooths it and lowers slopes, and a
  degree-based grid needs its geodesic cell sizes, not the target's).
* **either grid** (same grid for every input): :func:`depth_weighted_mean` is a linear
  combination of layers that SoilGrids delivers on one grid; running it on the source grid
  means one warp instead of one per depth.

Pure, lazy functions on dask-backed DataArrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Literal

import numpy as np
import xarray as xr

from gies.grid import Grid
from gies.methods._layers import is_dask
from gies.methods.registry import DERIVATIONS

__all__ = [
    "monthly",
    "dry_months",
    "growing_season_mean",
    "slope",
    "aspect",
    "depth_weighted_mean",
    "SOILGRIDS_DEPTHS",
]

#: SoilGrids 2.0 standard depth intervals (cm).
SOILGRIDS_DEPTHS: tuple[tuple[int, int], ...] = (
    (0, 5), (5, 15), (15, 30), (30, 60), (60, 100), (100, 200),
)


def monthly(stack: xr.DataArray, *, stat: str, threshold: float | None = None) -> xr.DataArray:
    """Reduce a monthly stack ``(band, y, x)`` (one band per selected month) to 2-D.

    * ``mean``: mean over the months (e.g. growing-season mean temperature, °C);
    * ``total``: sum over the months (e.g. season or annual rainfall, mm);
    * ``min`` / ``max``: coldest / warmest month;
    * ``count_below``: number of months with a value ``< threshold`` (e.g. dry months with
      rainfall < 60 mm); units: months.

    A cell with NaN in any month is NaN (an incomplete year is not a year).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> s = xr.DataArray(np.array([10., 70., 30.]).reshape(3, 1, 1), dims=("band", "y", "x"))
    >>> float(monthly(s, stat="total")[0, 0]), float(monthly(s, stat="count_below", threshold=60)[0, 0])
    (110.0, 2.0)
    """
    if stat == "mean":
        out = stack.mean("band", skipna=False)
    elif stat == "total":
        out = stack.sum("band", skipna=False)
    elif stat == "min":
        out = stack.min("band", skipna=False)
    elif stat == "max":
        out = stack.max("band", skipna=False)
    elif stat == "count_below":
        if threshold is None:
            raise ValueError("count_below needs a threshold")
        out = (stack < threshold).sum("band").where(stack.notnull().all("band"))
    else:
        raise ValueError(f"unknown monthly statistic {stat!r}")
    out = out.astype(np.float32)
    out.attrs = dict(stack.attrs)
    out.name = stack.name
    return out


@DERIVATIONS.register("mean", runs_on="source", input="monthly")
def monthly_mean(stack: xr.DataArray) -> xr.DataArray:
    """Mean over the selected months, ``(1/n) Σ_m X_m`` (e.g. growing-season mean
    temperature, °C; :func:`monthly`)."""
    return monthly(stack, stat="mean")


@DERIVATIONS.register("total", runs_on="source", input="monthly")
def monthly_total(stack: xr.DataArray) -> xr.DataArray:
    """Sum over the selected months, ``Σ_m X_m`` (e.g. season or annual rainfall, mm;
    :func:`monthly`)."""
    return monthly(stack, stat="total")


@DERIVATIONS.register("min", runs_on="source", input="monthly")
def monthly_min(stack: xr.DataArray) -> xr.DataArray:
    """Lowest value of the selected months (e.g. the coldest month; :func:`monthly`)."""
    return monthly(stack, stat="min")


@DERIVATIONS.register("max", runs_on="source", input="monthly")
def monthly_max(stack: xr.DataArray) -> xr.DataArray:
    """Highest value of the selected months (e.g. the warmest month; :func:`monthly`)."""
    return monthly(stack, stat="max")


@DERIVATIONS.register("count_below", runs_on="source", input="monthly", categorical=True)
def count_below(stack: xr.DataArray, *, threshold: float) -> xr.DataArray:
    """Number of selected months with a value below ``threshold``, ``Σ_m [X_m < threshold]``
    (e.g. dry months: rainfall < 60 mm); a count, resampled as a categorical layer
    (:func:`monthly`)."""
    return monthly(stack, stat="count_below", threshold=float(threshold))


def dry_months(stack: xr.DataArray, *, threshold: float = 60.0) -> xr.DataArray:
    """Number of months with rainfall ``< threshold`` (mm) in a monthly stack
    ``(band, y, x)``: ``Σ_m [P_m < threshold]``; units: months (float32, NaN where any
    month is missing). 60 mm is the common tropical definition (Köppen; Sys et al. 1993).

    Run on the source grid; resample the result with ``nearest``/``mode`` (categorical),
    never bilinearly, so it stays a whole number of months.
    """
    out = monthly(stack, stat="count_below", threshold=threshold)
    out.attrs["units"] = "months"
    return out


def growing_season_mean(stack: xr.DataArray, *, months: Sequence[int]) -> xr.DataArray:
    """Mean over the growing-season months of a 12-band stack (band 1 = January):
    ``(1/n) Σ_{m ∈ months} X_m``. ``months`` may wrap the year (``[11, 12, 1, 2, 3]``).
    Units are the stack's (e.g. °C). NaN where any selected month is missing.
    """
    months = [int(m) for m in months]
    if not months or any(not 1 <= m <= 12 for m in months) or len(set(months)) != len(months):
        raise ValueError(f"months must be distinct values in 1..12, got {months}")
    if stack.sizes.get("band") != 12:
        raise ValueError(f"growing_season_mean needs a 12-band monthly stack, got {dict(stack.sizes)}")
    sel = stack.isel(band=[m - 1 for m in months])
    return monthly(sel, stat="mean")


# -- terrain ----------------------------------------------------------------------------------
def _spacings(grid: Grid, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground spacing (m) between neighbouring cell centres along x and y for each row.

    Projected: the nominal pixel size times the linear unit (scale distortion ignored: at
    most 4e-4 in UTM). Geographic: on the ellipsoid, ``dx = N(φ) cos φ Δλ`` and
    ``dy = M(φ) Δφ`` with ``N = a / √(1 − e² sin²φ)`` (prime vertical radius) and
    ``M = a (1 − e²) / (1 − e² sin²φ)^{3/2}`` (meridian radius), Δ in radians.
    """
    t = grid.transform
    crs = grid.pyproj_crs
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return np.full(rows.shape, t.a * unit), np.full(rows.shape, -t.e * unit)
    ell = crs.ellipsoid
    a = ell.semi_major_metre
    f = 1 / ell.inverse_flattening if ell.inverse_flattening else 0.0
    e2 = f * (2 - f)
    phi = np.radians(t.f + (rows + 0.5) * t.e)
    w = 1 - e2 * np.sin(phi) ** 2
    n = a / np.sqrt(w)
    m = a * (1 - e2) / w**1.5
    return n * np.cos(phi) * np.radians(t.a), m * np.radians(-t.e)


_HORN_WEIGHTS = (1.0, 2.0, 1.0)


def _difference(lo, mid, hi, step):
    """One line's derivative across the centre of a 3-cell line ``lo, mid, hi`` (``hi`` on
    the positive side), cells ``step`` metres apart: ``(hi − lo) / 2·step`` when both ends
    are valid, else the one-sided ``(hi − mid) / step`` or ``(mid − lo) / step`` through
    the line's middle cell, else unknown. Returns (derivative, known), 0 where unknown."""
    vlo, vmid, vhi = ~np.isnan(lo), ~np.isnan(mid), ~np.isnan(hi)
    both = vlo & vhi
    up = ~both & vmid & vhi
    down = ~both & ~up & vmid & vlo
    with np.errstate(invalid="ignore"):
        d = np.where(both, (hi - lo) / (2.0 * step),
                     np.where(up, (hi - mid) / step, np.where(down, (mid - lo) / step, 0.0)))
    return d, both | up | down


def _gradient_block(z: np.ndarray, dx: np.ndarray, dy: np.ndarray, *, east: bool) -> np.ndarray:
    """The east (``east=True``, ∂z/∂x) or north (∂z/∂y) gradient, m/m, of a block with a
    1-cell halo (halo cells NaN in the result, trimmed by the caller); see :func:`slope`."""
    z = z.astype(np.float64)
    c = z[1:-1, 1:-1]
    total = np.zeros(c.shape)
    weight = np.zeros(c.shape)
    for k, w in zip((0, 1, 2), _HORN_WEIGHTS):
        if east:  # row k of the window (north, centre, south), that row's own Δx
            rows = slice(k, z.shape[0] - 2 + k)
            d, known = _difference(z[rows, :-2], z[rows, 1:-1], z[rows, 2:], dx[rows, 1:-1])
        else:  # column k (west, centre, east); positive side north, centre row's Δy
            cols = slice(k, z.shape[1] - 2 + k)
            d, known = _difference(z[2:, cols], z[1:-1, cols], z[:-2, cols], dy[1:-1, 1:-1])
        total += w * d
        weight += w * known
    out = np.full(z.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:-1, 1:-1] = np.where((weight > 0) & ~np.isnan(c), total / weight, np.nan)
    return out


def _gradients(dem: xr.DataArray, grid: Grid):
    """East/north gradients (m/m) of a 2-D DEM on its own grid: lazy for a dask-backed DEM
    (``map_overlap``), at once for a NumPy one (the same values). See :func:`slope`."""
    if dem.ndim != 2 or tuple(dem.shape) != grid.shape:
        raise ValueError(f"DEM of shape {dem.shape} does not match its grid {grid.shape}")
    if min(grid.shape) < 2:
        raise ValueError(f"a DEM needs at least 2×2 cells for gradients, got {grid.shape}")
    lazy = is_dask(dem.data)
    if lazy:
        import dask.array as xp
    else:
        xp = np
    z = dem.data.astype(np.float64) if lazy else np.asarray(dem.data, dtype=np.float64)
    # the raster border: one cell of linear extrapolation (2·edge − inner) on every side, as
    # gdaldem -compute_edges does; exact for a plane, and NaN where edge or inner is nodata
    z = xp.concatenate([2 * z[:1] - z[1:2], z, 2 * z[-1:] - z[-2:-1]], axis=0)
    z = xp.concatenate([2 * z[:, :1] - z[:, 1:2], z, 2 * z[:, -1:] - z[:, -2:-1]], axis=1)
    dx1, dy1 = _spacings(grid, np.arange(-1, grid.shape[0] + 1))
    if not lazy:
        dx = np.broadcast_to(dx1[:, None], z.shape)
        dy = np.broadcast_to(dy1[:, None], z.shape)
        return tuple(_gradient_block(z, dx, dy, east=e)[1:-1, 1:-1] for e in (True, False))
    dx = xp.broadcast_to(xp.from_array(dx1[:, None], chunks=(z.chunks[0], 1)), z.shape,
                         chunks=z.chunks)
    dy = xp.broadcast_to(xp.from_array(dy1[:, None], chunks=(z.chunks[0], 1)), z.shape,
                         chunks=z.chunks)
    # depth 1 gives every block its neighbours' cells, so seams see the same 3×3 windows as
    # a single block; nothing beyond the padded array (boundary "none": those cells are the
    # padding's own and are trimmed below)
    out = []
    for e in (True, False):
        g = xp.map_overlap(partial(_gradient_block, east=e), z, dx, dy, depth=1,
                           boundary="none", dtype=np.float64, meta=np.array((), np.float64))
        out.append(g[1:-1, 1:-1])
    return tuple(out)


def _wrap(data, dem: xr.DataArray, units: str, name: str) -> xr.DataArray:
    out = xr.DataArray(data.astype(np.float32), dims=dem.dims, coords=dem.coords, name=name)
    out.attrs = {**dem.attrs, "units": units}
    out.attrs.pop("nodata", None)
    return out


@DERIVATIONS.register("slope", runs_on="source", input="dem")
def slope(
    dem: xr.DataArray, *, grid: Grid, units: Literal["percent", "degrees"] = "percent"
) -> xr.DataArray:
    """Slope of a DEM (elevation in metres) on its own grid, Horn (1981) 3×3 method, with
    one-sided differences at the raster border and next to nodata.

    Horn's gradients are weighted means (weights 1, 2, 1) of three central differences:
    with a..i the 3×3 window row by row from the north-west,
    ``p = ∂z/∂x = [1·(c − a)/2Δx₁ + 2·(f − d)/2Δx₂ + 1·(i − g)/2Δx₃] / 4`` (row k's own
    Δx on geographic grids) and ``q = ∂z/∂y = [1·(a − g) + 2·(b − h) + 1·(c − i)] / (4·2Δy)``,
    i.e. ``[(c + 2f + i) − (a + 2d + g)] / 8Δx`` and ``[(a + 2b + c) − (g + 2h + i)] / 8Δy``
    on a complete window; ``slope = 100 √(p² + q²)`` % or ``atan √(p² + q²)`` in degrees.

    Δx, Δy are ground distances in metres: nominal pixel size on projected grids, geodesic
    per-row spacing on geographic ones (:func:`_spacings`; Δy is the centre row's), so a
    lat/lon DEM gives true slopes without a z-factor (Horn 1981, *Proc. IEEE* 69(1):14–47;
    Burrough & McDonnell 1998, ch. 8).

    Missing cells, so that a DEM clipped to a country still gives every valid cell a slope:

    * **raster border**: the DEM is extended by one cell by linear extrapolation,
      ``2·edge − inner`` (as ``gdaldem -compute_edges`` does along the sides), exact for a
      plane;
    * **nodata neighbour**: each line of the window (a row for ``p``, a column for ``q``)
      gives the central difference ``(hi − lo)/2Δ`` when both its ends are valid, else the
      one-sided ``(hi − mid)/Δ`` or ``(mid − lo)/Δ`` through its middle cell, else nothing;
      ``p`` and ``q`` are the 1-2-1 weighted means over the lines that give a difference.
      Every difference of a plane is its exact gradient, so a plane gets its exact slope
      and aspect on every valid cell, whatever is missing around it. ``gdaldem
      -compute_edges`` instead puts the centre value in place of a missing neighbour: on a
      plane with the whole west column missing that halves ``p`` and gives ¾ of ``q``;
      gdaldem (3.6) also keeps the corner cell's own column in place of the outside one at
      the four raster corners, which halves ``p`` there.
    * **unknown**: a cell that is nodata itself, or whose three lines in one direction all
      give nothing (e.g. a strip one cell wide: no east–west difference), is NaN: a
      gradient component cannot be measured there, and a slope from the other alone would
      understate it.

    Computed lazily with ``map_overlap`` (depth 1), so chunk seams give exactly the values
    of a single-block computation. Run on the source grid, then resample (bilinear/average).
    """
    if units not in ("percent", "degrees"):
        raise ValueError(f"unknown slope units {units!r}; use 'percent' or 'degrees'")
    gx, gy = _gradients(dem, grid)
    mag = np.sqrt(gx**2 + gy**2)
    data = mag * 100.0 if units == "percent" else np.degrees(np.arctan(mag))
    return _wrap(data, dem, "%" if units == "percent" else "degrees", f"{dem.name or 'dem'}_slope")


@DERIVATIONS.register("aspect", runs_on="source", input="dem")
def aspect(dem: xr.DataArray, *, grid: Grid) -> xr.DataArray:
    """Aspect: compass direction the slope faces (downhill), degrees clockwise from north
    in [0, 360): ``atan2(−p, −q)`` with ``p``, ``q`` the Horn gradients east and north
    (see :func:`slope`). NaN on flat cells (``p = q = 0``). Same border and nodata handling
    as :func:`slope` (exact on a plane on every valid cell; NaN where ``p`` or ``q`` is
    unknown); source grid. (Categorical/circular: resample with ``nearest``.)
    """
    gx, gy = _gradients(dem, grid)
    asp = (np.degrees(np.arctan2(-gx, -gy)) + 360.0) % 360.0
    asp = np.where((gx == 0) & (gy == 0), np.nan, asp)
    return _wrap(asp, dem, "degrees", f"{dem.name or 'dem'}_aspect")


# -- soil depth ranges ------------------------------------------------------------------------
def depth_weighted_mean(
    layers: Mapping[tuple[float, float], xr.DataArray], *, top: float, bottom: float
) -> xr.DataArray:
    """Thickness-weighted mean of depth-interval layers over ``[top, bottom]`` (cm).

    ``X̄ = Σ_i w_i X_i / (bottom − top)``, ``w_i = max(0, min(b_i, bottom) − max(t_i, top))``
    for each layer ``X_i`` over ``[t_i, b_i]``; e.g. SoilGrids 0–30 cm
    ``= (5·X₀₋₅ + 10·X₅₋₁₅ + 15·X₁₅₋₃₀) / 30``, and 10–20 cm
    ``= (5·X₅₋₁₅ + 5·X₁₅₋₃₀) / 10`` (each value taken as constant over its interval).
    The intervals must cover ``[top, bottom]`` without gaps; NaN in any contributing layer
    gives NaN. All layers must share one grid (SoilGrids does): run it on the source grid.
    """
    if not bottom > top:
        raise ValueError(f"empty depth range {top}-{bottom}")
    parts = []
    for (t, b), da in sorted(layers.items()):
        w = min(b, bottom) - max(t, top)
        if w > 0:
            parts.append((float(w), (float(max(t, top)), float(min(b, bottom))), da))
    covered = sorted(iv for _, iv, _ in parts)
    edge = float(top)
    for lo, hi in covered:
        if lo > edge + 1e-9:
            break
        edge = max(edge, hi)
    if edge < bottom - 1e-9 or sum(w for w, _, _ in parts) > (bottom - top) + 1e-9:
        raise ValueError(
            f"depth layers {sorted(layers)} do not cover {top}-{bottom} cm exactly once"
        )
    first = parts[0][2]
    total = sum(np.float32(w) * da.astype(np.float32) for w, _, da in parts)
    out = (total / np.float32(bottom - top)).astype(np.float32)
    out.attrs = dict(first.attrs)
    out.attrs["depth"] = f"{top:g}-{bottom:g} cm"
    out.name = first.name
    return out
