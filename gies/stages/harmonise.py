"""Harmonise: every input layer onto the pipeline's grid, in its declared units.

This is the only stage that reprojects or resamples. A layer already on the grid is passed
through untouched (no resampling); any other is warped lazily, tile by tile
(:mod:`gies.stages.warp`), with the method the plan resolved (continuous: bilinear up /
average down; categorical: nearest up / mode down, unless the pipeline names one).
Derivations that must see the source cells (monthly counts, slope) run before the warp;
mixed-unit layers are normalised here cell by cell (:func:`resolve_mixed_units`) and
implausible values become NaN (:func:`apply_plausible`). Outputs are lazy, dask-chunked
DataArrays on the grid; nothing here computes a layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from gies.errors import LayerError
from gies.grid import Grid
from gies.methods import derive as derive_mod
from gies.methods.registry import DERIVATIONS
from gies.stages.warp import choose_resampling, pixel_area_ratio, source_window, warp
from gies.units import conversion

__all__ = ["harmonise", "onto_grid", "onto_grid_many", "to_units", "resolve_mixed_units",
           "apply_plausible"]


def onto_grid(
    layer: xr.DataArray,
    *,
    source_grid: Grid,
    grid: Grid,
    kind: str = "continuous",
    resampling: str | None = None,
    chunk: int = 1024,
    engine: str = "gies",
) -> xr.DataArray:
    """Put a lazy layer read on ``source_grid`` onto ``grid``.

    Identical grids: the data is only re-labelled with the grid's coordinates and rechunked
    to the pipeline's fixed chunking. Otherwise it is warped (:func:`gies.stages.warp.warp`: lazily, tile by
    tile, with a transformer exact to :data:`WARP_TOLERANCE` source pixels, so that values
    agree with ``gdalwarp -et 0`` and do not depend on ``chunk``) with ``resampling`` (a GDAL
    name), or, when ``None``, the method :func:`~gies.stages.warp.choose_resampling` picks from the layer kind
    and the two pixel sizes.

    Continuous layers are float with NaN as nodata (NaN source cells are ignored by the
    kernels). Categorical layers keep their integer codes and dtype; ``attrs['nodata']``
    is the mask value on both sides (source cells with it are ignored by ``mode``/
    ``nearest``; cells outside the source get it). A float categorical layer (e.g. a
    month count with NaN) uses NaN.

    The source is first cropped lazily to the part the grid needs (:func:`~gies.stages.warp.source_window`),
    which also makes a geographic source usable for grids straddling the antimeridian.
    """
    if source_grid.same_as(grid):
        out = layer
    else:
        name = layer.name or "layer"
        method = choose_resampling(kind, source_grid, grid, resampling, layer_name=str(name))
        try:
            ratio = pixel_area_ratio(source_grid, grid)
        except LayerError:
            ratio = 1.0
        pad = 2 + int(math.ceil(math.sqrt(max(ratio, 1.0))))
        win, win_grid = source_window(layer, source_grid, grid, pad=pad)
        if kind == "categorical":
            nodata = layer.attrs.get("nodata")
            if nodata is None and np.issubdtype(layer.dtype, np.floating):
                nodata = np.nan
            src_nodata, dst_nodata = nodata, nodata
        else:
            src_nodata, dst_nodata = np.nan, np.nan
        data = warp(win.data, win_grid, grid, method=method, src_nodata=src_nodata,
                     dst_nodata=dst_nodata, pad=pad, engine=engine)
        dims = tuple(layer.dims[:-2]) + ("y", "x")
        out = xr.DataArray(data, dims=dims)
    out = out.assign_coords(grid.coords()).chunk({"y": chunk, "x": chunk})
    out.attrs = dict(layer.attrs)
    out.name = layer.name
    return out


def onto_grid_many(
    layers: list[xr.DataArray],
    *,
    source_grid: Grid,
    grid: Grid,
    kind: str = "continuous",
    resampling: str | None = None,
    chunk: int = 1024,
    engine: str = "gies",
) -> list[xr.DataArray]:
    """:func:`onto_grid` for several continuous 2-D layers read on one ``source_grid``
    (e.g. the bands of one product, or files sharing a grid): one multi-band warp per fixed
    target tile, so the source window and the coordinate transformation are computed once
    for all of them. Every layer is bit-identical to its own :func:`onto_grid` (per-band
    nodata, see :func:`gies.stages.warp.warp`); laziness and the grid-aligned tiles are unchanged.

    Categorical layers, a single layer, layers of other shapes or layers already on the
    grid go through :func:`onto_grid` one by one. ``resampling`` and ``kind`` apply to all;
    the method is chosen from the first layer's name for error messages.
    """
    def one(da):
        return onto_grid(da, source_grid=source_grid, grid=grid, kind=kind,
                         resampling=resampling, chunk=chunk, engine=engine)

    if (len(layers) < 2 or kind != "continuous" or source_grid.same_as(grid)
            or any(da.ndim != 2 for da in layers)
            or len({da.shape for da in layers}) > 1 or len({da.dtype for da in layers}) > 1
            or any(not np.issubdtype(da.dtype, np.floating) for da in layers)):
        return [one(da) for da in layers]
    import dask.array as dsa

    names = [str(da.name or "layer") for da in layers]
    method = choose_resampling(kind, source_grid, grid, resampling, layer_name=names[0])
    try:
        ratio = pixel_area_ratio(source_grid, grid)
    except LayerError:
        ratio = 1.0
    pad = 2 + int(math.ceil(math.sqrt(max(ratio, 1.0))))
    ydim, xdim = layers[0].dims
    datas = [da.data if isinstance(da.data, dsa.Array) else dsa.from_array(np.asarray(da.data))
             for da in layers]
    stack = xr.DataArray(dsa.stack(datas, axis=0), dims=("layer", ydim, xdim),
                         coords={ydim: layers[0][ydim], xdim: layers[0][xdim]}
                         if ydim in layers[0].coords and xdim in layers[0].coords else None)
    win, win_grid = source_window(stack, source_grid, grid, pad=pad)
    data = warp(win.data, win_grid, grid, method=method, src_nodata=np.nan,
                 dst_nodata=np.nan, pad=pad, stacked=True, engine=engine)
    out = []
    for i, layer in enumerate(layers):
        da = xr.DataArray(data[i], dims=("y", "x"))
        da = da.assign_coords(grid.coords()).chunk({"y": chunk, "x": chunk})
        da.attrs = dict(layer.attrs)
        da.name = layer.name
        out.append(da)
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



def _derived(lp, raw) -> xr.DataArray:
    """The layer read on its own grid, derived there when it has a derivation (a count must
    never be smeared by resampling; slope needs the DEM's own cells)."""
    spec = lp.spec
    if lp.depths:
        return derive_mod.depth_weighted_mean(raw, top=spec.depth_mean.top,
                                              bottom=spec.depth_mean.bottom)
    if lp.derivation is None:
        return raw
    from gies.config.checks import derive_params

    method = DERIVATIONS[lp.derivation]
    params = derive_params(spec)
    if method.extra.get("input") == "dem":
        return method(raw, grid=lp.info.grid, **params)
    return method(raw, **params)


def harmonise(plan, raw: Mapping[str, Any], *, cached: Mapping[str, xr.DataArray] | None = None,
              cached_counts: Mapping[str, Mapping[str, int]] | None = None
              ) -> tuple[dict[str, xr.DataArray], dict[str, dict]]:
    """Every layer of ``raw`` (name -> the lazy layer read on its own grid, or for a
    depth-weighted mean ``{(top, bottom): layer}``, as :func:`gies.io.read.open_inputs`
    gives them) onto the plan's grid, in its declared units, with its quality counts.

    ``cached`` holds layers already harmonised (from the layer cache) and ``cached_counts``
    their counts (plain ints): they are returned as they are. Returns ``(layers, counts)``:
    ``counts[name]`` holds lazy 0-d counts (``valid``, ``reading_<i>``, ``no_reading``,
    ``implausible``) of every layer with unit or plausibility checks.
    """
    cfg = plan.config
    chunk, engine, grid = cfg.processing.chunk, cfg.processing.warp_engine, plan.grid
    on_grid: dict[str, xr.DataArray | None] = {}
    groups: dict[tuple, list] = {}
    for name, lp in plan.layers.items():
        if name not in raw:
            continue
        spec = lp.spec
        da = _derived(lp, raw[name])
        da.name = name
        g = lp.info.grid
        if (lp.kind == "continuous" and not spec.mixed_units and not lp.depths
                and not spec.monthly and lp.derivation is None):
            # plain layers sharing a source grid are warped together (one warp per tile)
            gkey = (g.crs, tuple(g.transform)[:6], g.shape, lp.resampling)
            groups.setdefault(gkey, []).append((name, da, g, lp))
            on_grid[name] = None  # keeps the order of the plan's layers
            continue
        out = onto_grid(da, source_grid=g, grid=grid, kind=lp.kind, resampling=lp.resampling,
                        chunk=chunk, engine=engine)
        out.attrs["units"] = spec.units
        on_grid[name] = out
    for members in groups.values():
        _, _, g, lp = members[0]
        warped = onto_grid_many([m[1] for m in members], source_grid=g, grid=grid,
                                kind="continuous", resampling=lp.resampling, chunk=chunk,
                                engine=engine)
        for (name, _, _, mlp), da in zip(members, warped):
            da.attrs["units"] = mlp.spec.units
            on_grid[name] = da
    out: dict[str, xr.DataArray] = {}
    quality: dict[str, dict] = {}
    for name, da in (cached or {}).items():
        out[name] = da
        counts = dict((cached_counts or {}).get(name, {}))
        if len(counts) > 1:
            quality[name] = counts
    for name, da in on_grid.items():
        if name in out or name not in plan.layers:
            continue
        spec = plan.layers[name].spec
        counts: dict[str, Any] = {"valid": da.notnull().sum()}
        if spec.mixed_units:
            readings = [(tuple(r.indicator_range), r.units) for r in spec.mixed_units.readings]
            da, c = resolve_mixed_units(da, indicator=on_grid[spec.mixed_units.indicator],
                                        readings=readings, units=spec.units)
            counts.update(c)
        if spec.plausible:
            da, bad = apply_plausible(da, low=spec.plausible[0], high=spec.plausible[1])
            counts["implausible"] = bad
        out[name] = da
        if len(counts) > 1:
            quality[name] = counts
    return out, quality
