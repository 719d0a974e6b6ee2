"""Harmonise: every input layer onto the pipeline's grid, in the units its factor needs.

This is the only stage that reprojects or resamples. A layer already on the grid is passed
through untouched (no resampling); any other is warped lazily by GDAL through odc-geo
(bilinear for continuous layers, nearest for categorical ones, unless overridden). Mixed-unit
layers are normalised here cell by cell (see :func:`resolve_mixed_units`), and implausible
values become NaN. Outputs are lazy, dask-chunked DataArrays carrying ``attrs['grid']``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gies.grid import Grid
from gies.units import conversion

__all__ = ["onto_grid", "resolve_mixed_units", "apply_plausible", "to_units"]


def _geobox(grid: Grid):
    from odc.geo.geobox import GeoBox

    return GeoBox(grid.shape, grid.transform, grid.crs)


def onto_grid(
    layer: xr.DataArray,
    *,
    source_grid: Grid,
    grid: Grid,
    kind: str = "continuous",
    resampling: str | None = None,
    chunk: int = 1024,
) -> xr.DataArray:
    """Put a lazy layer read on ``source_grid`` onto ``grid``.

    Identical grids: the data is only re-labelled with the grid's coordinates and rechunked
    to the pipeline's fixed chunking. Otherwise GDAL warps it (odc-geo ``xr_reproject``,
    dask-aware). Continuous layers use ``bilinear`` by default, categorical ``nearest``.
    """
    if source_grid.same_as(grid):
        out = layer
    else:
        from odc.geo.xr import assign_crs, xr_reproject

        method = resampling or ("nearest" if kind == "categorical" else "bilinear")
        src = assign_crs(layer, source_grid.crs)
        nodata = layer.attrs.get("nodata") if kind == "categorical" else np.nan
        out = xr_reproject(src, _geobox(grid), resampling=method, dst_nodata=nodata)
        out = out.rename({d: n for d, n in zip(out.dims[-2:], ("y", "x"))})
        out = out.drop_vars([c for c in out.coords if c not in ("x", "y")])
    out = out.assign_coords(y=grid.y_coords, x=grid.x_coords).chunk({"y": chunk, "x": chunk})
    out.attrs = {**layer.attrs, "grid": grid}
    out.name = layer.name
    return out


def to_units(layer: xr.DataArray, *, src: str, dst: str) -> xr.DataArray:
    """Convert a continuous layer from ``src`` to ``dst`` units (see :mod:`gies.units`)."""
    a, b = conversion(src, dst)
    out = layer if (a, b) == (1.0, 0.0) else (layer * np.float32(a) + np.float32(b))
    out = out.astype(np.float32)
    out.attrs = {**layer.attrs, "units": dst}
    out.name = layer.name
    return out


def resolve_mixed_units(
    layer: xr.DataArray,
    *,
    indicator: xr.DataArray,
    readings: list[tuple[tuple[float, float], str]],
    units: str,
) -> tuple[xr.DataArray, dict[str, xr.DataArray]]:
    """Normalise a layer stored in several units, cell by cell.

    For each reading ``((lo, hi), reading_units)``: cells whose raw ``indicator`` value lies
    in ``[lo, hi]`` are converted from ``reading_units`` to ``units``. Cells whose indicator
    matches no reading are implausible under every reading and become NaN.

    Returns the normalised layer and lazy 0-d counts: ``reading_<i>`` cells per reading and
    ``no_reading`` (valid cells set to NaN).
    """
    out = xr.full_like(layer, np.nan, dtype=np.float32)
    matched = xr.zeros_like(layer, dtype=bool)
    counts: dict[str, xr.DataArray] = {}
    valid = layer.notnull() & indicator.notnull()
    for i, ((lo, hi), reading_units) in enumerate(readings):
        sel = valid & (indicator >= lo) & (indicator <= hi) & ~matched
        a, b = conversion(reading_units, units)
        out = xr.where(sel, layer * np.float32(a) + np.float32(b), out)
        matched = matched | sel
        counts[f"reading_{i + 1}"] = sel.sum()
    counts["no_reading"] = (layer.notnull() & ~matched).sum()
    out = out.astype(np.float32)
    out.attrs = {**layer.attrs, "units": units}
    out.name = layer.name
    return out, counts


def apply_plausible(
    layer: xr.DataArray, *, low: float, high: float
) -> tuple[xr.DataArray, xr.DataArray]:
    """NaN outside ``[low, high]``; returns the layer and the lazy count of cells removed."""
    bad = layer.notnull() & ((layer < low) | (layer > high))
    out = layer.where(~bad)
    out.attrs = dict(layer.attrs)
    out.name = layer.name
    return out, bad.sum()
