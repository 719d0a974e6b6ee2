"""Harmonise: every input layer onto the pipeline's grid, in the units its factor needs.

This is the only stage that reprojects or resamples. A layer already on the grid is passed
through untouched (no resampling); any other is warped lazily by GDAL, tile by tile, with
the method :func:`choose_resampling` picks (continuous: bilinear up / average down;
categorical: nearest up / mode down), unless overridden. Mixed-unit layers are normalised
here cell by cell (see :func:`resolve_mixed_units`), and implausible values become NaN.
Outputs are lazy, dask-chunked DataArrays carrying ``attrs['grid']``.

Before any pixel is read, :func:`coverage` tells how much of the AOI a layer covers and
:func:`check_plausible` checks a small sample against the physical range of its quantity
(the classic ×10 mistakes).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer

from gies.errors import DataQualityWarning, LayerError, UnitError
from gies.grid import Grid, lon_arc, wrapped_geographic
from gies.units import PLAUSIBLE_QUANTITIES, conversion, parse_unit

__all__ = [
    "onto_grid",
    "onto_grid_many",
    "resolve_mixed_units",
    "apply_plausible",
    "to_units",
    "RESAMPLING",
    "choose_resampling",
    "Coverage",
    "coverage",
    "check_coverage",
    "Plausibility",
    "check_plausible",
]

#: GDAL warp resampling names accepted as overrides (``gdalwarp -r``).
RESAMPLING = (
    "nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode",
    "min", "max", "med", "q1", "q3", "sum", "rms",
)
#: Methods that never invent values, hence the only ones allowed for categorical layers.
_CATEGORICAL_SAFE = ("nearest", "mode", "min", "max", "med", "q1", "q3")
Kind = Literal["continuous", "categorical"]
#: Area ratio band (target cell / source cell) treated as "same resolution".
_SAME_RES = 1.1


def _geobox(grid: Grid):
    from odc.geo.geobox import GeoBox

    return GeoBox(grid.shape, grid.transform, grid.crs)


def _pixel_area_ratio(source_grid: Grid, target_grid: Grid) -> float:
    """Area of one target cell measured in source cells, at the target grid's centre.

    The target cell is transformed corner by corner into the source CRS (shoelace area);
    > 1 means the target is coarser (downsampling).
    """
    rows, cols = target_grid.shape
    t = target_grid.transform
    c0, r0 = cols / 2.0, rows / 2.0
    corners = [(c0, r0), (c0 + 1, r0), (c0 + 1, r0 + 1), (c0, r0 + 1)]
    xs = np.array([t.c + c * t.a for c, _ in corners])
    ys = np.array([t.f + r * t.e for _, r in corners])
    tr = Transformer.from_crs(target_grid.pyproj_crs, source_grid.pyproj_crs, always_xy=True)
    sx, sy = (np.asarray(v, dtype=float) for v in tr.transform(xs, ys))
    if source_grid.is_geographic:
        sx = np.unwrap(sx, period=360.0)
    area = 0.5 * abs(np.dot(sx, np.roll(sy, -1)) - np.dot(sy, np.roll(sx, -1)))
    rx, ry = source_grid.resolution
    ratio = area / (rx * ry)
    if not math.isfinite(ratio) or ratio <= 0:
        raise LayerError(
            f"cannot relate the pixel sizes of {source_grid!r} and {target_grid!r}: the "
            "grid centre does not project into the layer's CRS"
        )
    return float(ratio)


def choose_resampling(
    kind: Kind,
    source_grid: Grid,
    target_grid: Grid,
    override: str | None = None,
    *,
    layer_name: str = "layer",
) -> str:
    """The GDAL resampling method for warping a layer from ``source_grid`` to
    ``target_grid``.

    With ``r`` = area of one target cell in source cells (at the target grid's centre, see
    :func:`_pixel_area_ratio`):

    ==============  =========================  ======================
    kind            r ≤ 1.1 (up / same res.)   r > 1.1 (downsampling)
    ==============  =========================  ======================
    continuous      ``bilinear``               ``average``
    categorical     ``nearest``                ``mode``
    ==============  =========================  ======================

    ``average`` weights every source cell by its overlap with the target cell (GDAL ≥ 3.1),
    so no source cell is skipped when aggregating; ``mode`` keeps existing codes. The 10 %
    band around 1 keeps a reprojection at nominally the same resolution interpolating.

    Parameters
    ----------
    kind : {"continuous", "categorical"}
    source_grid, target_grid : Grid
    override : str, optional
        A GDAL name from :data:`RESAMPLING` (``gdalwarp -r``); categorical layers only
        accept methods that return existing values (nearest, mode, min, max, med, q1, q3).
    layer_name : str
        Names the layer in errors.

    Raises
    ------
    ValueError
        Unknown ``kind``.
    LayerError
        Unknown ``override``, or one that would invent codes in a categorical layer; the
        message names the layer and lists the valid names.
    """
    if kind not in ("continuous", "categorical"):
        raise ValueError(f"unknown layer kind {kind!r}; use 'continuous' or 'categorical'")
    if override is not None:
        name = str(override).strip().lower().replace("-", "_")
        if name not in RESAMPLING:
            raise LayerError(
                f"{layer_name}: unknown resampling {override!r}; use one of "
                f"{', '.join(RESAMPLING)}"
            )
        if kind == "categorical" and name not in _CATEGORICAL_SAFE:
            raise LayerError(
                f"{layer_name}: resampling {override!r} would invent codes in a categorical "
                f"layer; use one of {', '.join(_CATEGORICAL_SAFE)}"
            )
        return name
    down = _pixel_area_ratio(source_grid, target_grid) > _SAME_RES
    if kind == "categorical":
        return "mode" if down else "nearest"
    return "average" if down else "bilinear"


def _source_window(
    layer: xr.DataArray, source_grid: Grid, grid: Grid, *, pad: int
) -> tuple[xr.DataArray, Grid]:
    """Lazily crop (and, for a geographic layer the target straddles at ±180°, re-wrap) the
    source to the part the target grid needs, plus ``pad`` cells.

    The target grid's edges and a 21×21 lattice of its points are transformed into the
    source CRS. For a geographic source whose needed longitudes cross the antimeridian
    (:func:`~gies.grid.lon_arc` east > 180) the eastern and western pieces are concatenated
    into one 0..360 frame with ``+lon_wrap=180`` so that GDAL sees one contiguous source
    (odc-geo's per-chunk source selection cannot see across the seam otherwise).
    """
    rows, cols = grid.shape
    t = grid.transform
    u = np.linspace(0, 1, 21)
    cc, rr = np.meshgrid(u * cols, u * rows)
    xs, ys = t.c + cc.ravel() * t.a, t.f + rr.ravel() * t.e
    tr = Transformer.from_crs(grid.pyproj_crs, source_grid.pyproj_crs, always_xy=True)
    sx, sy = (np.asarray(v, dtype=float) for v in tr.transform(xs, ys))
    ok = np.isfinite(sx) & np.isfinite(sy)
    if not ok.any():
        return layer, source_grid
    sx, sy = sx[ok], sy[ok]
    st = source_grid.transform
    srows, scols = source_grid.shape
    r0 = max(int(math.floor((sy.max() - st.f) / st.e)) - pad, 0)
    r1 = min(int(math.ceil((sy.min() - st.f) / st.e)) + pad, srows)
    x0, x1 = float(sx.min()), float(sx.max())
    wrap = False
    if source_grid.is_geographic:
        west, east = lon_arc(sx)
        sb = source_grid.bounds
        global_x = abs(sb[2] - sb[0] - 360.0) < st.a * 0.5
        if east > 180.0 and global_x:
            wrap = True
        elif east > 180.0:
            x0, x1 = sb[0], sb[2]  # partial source at the seam: keep all its columns
        else:
            x0, x1 = west, east
    if r1 <= r0:
        return layer, source_grid
    ydim, xdim = layer.dims[-2], layer.dims[-1]
    if not wrap:
        c0 = max(int(math.floor((x0 - st.c) / st.a)) - pad, 0)
        c1 = min(int(math.ceil((x1 - st.c) / st.a)) + pad, scols)
        if c1 <= c0:
            return layer, source_grid
        if (r0, r1, c0, c1) == (0, srows, 0, scols):
            return layer, source_grid
        win = layer.isel({ydim: slice(r0, r1), xdim: slice(c0, c1)})
        from affine import Affine

        g = Grid(source_grid.crs, Affine(st.a, 0, st.c + c0 * st.a, 0, st.e, st.f + r0 * st.e),
                 (r1 - r0, c1 - c0))
        return win, g
    # antimeridian: columns west..180 then -180..east-360 shifted by +360
    west, east = lon_arc(sx)
    ce0 = max(int(math.floor((west - st.c) / st.a)) - pad, 0)
    cw1 = min(int(math.ceil((east - 360.0 - st.c) / st.a)) + pad, scols)
    if cw1 >= ce0:  # the pieces overlap: the whole width is needed anyway
        ce0, cw1 = scols // 2, scols // 2
    east_part = layer.isel({ydim: slice(r0, r1), xdim: slice(ce0, scols)})
    west_part = layer.isel({ydim: slice(r0, r1), xdim: slice(0, cw1)})
    win = xr.concat([east_part, west_part], dim=xdim)
    from affine import Affine

    x_origin = st.c + ce0 * st.a
    g = Grid(wrapped_geographic(source_grid.pyproj_crs).to_wkt(),
             Affine(st.a, 0, x_origin, 0, st.e, st.f + r0 * st.e),
             (r1 - r0, scols - ce0 + cw1))
    win = win.assign_coords({xdim: x_origin + (np.arange(g.shape[1]) + 0.5) * st.a})
    return win, g


#: ``(rows, cols)`` of the warp tiles (target pixels; a single number: square tiles). Tiles
#: are aligned to the target grid's origin and independent of ``processing.chunk``, so a
#: layer's values never depend on the chunk size; the result is rechunked to the
#: pipeline's chunks afterwards. Wide and one default chunk tall: a row of chunks then
#: consumes a row of tiles, which is released before the next row starts. Square 2048²
#: tiles were as fast, but the threaded scheduler finished a whole row of 1024² chunks
#: before starting the next, so every tile of a tile row stayed in memory: peak memory grew
#: with the grid's width (0.64 GB at 8000², 1.06 GB at 16000²; now 0.76 and 0.85 GB in the
#: benchmark; the remaining growth is in the COG copies, which work in full-width block rows).
WARP_TILE = (1024, 4096)
#: Largest error (in source pixels) allowed to GDAL's approximate transformer. GDAL's
#: default (0.125 px, ``gdalwarp -et``) shifts the sampling point by up to an eighth of a
#: source pixel, differently for every warp window: on a rough 7.5″ soil layer that moved
#: values by up to 0.6 pH×10 between chunkings. 1e-3 px (0.2 m on a 7.5″ grid) agrees
#: with the exact transform (``gdalwarp -et 0``) within 3e-4 relative on every pixel of the
#: tests' rough soil layer, at ~1.3× the default's CPU (1e-4 px: 1.85×; exact: ~4×).
WARP_TOLERANCE = 1e-3
#: GDAL's default warp memory limit (MB); a stacked warp gets this much per band.
_WARP_MEM_MB = 64
_KERNEL_METHODS = ("nearest", "bilinear", "cubic", "cubic_spline", "lanczos")


def _tile_starts(n: int, tile: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the tiles along an axis of ``n`` pixels: multiples of ``tile``,
    the last tile absorbing a remainder narrower than half a tile."""
    starts = list(range(0, n, tile))
    if len(starts) > 1 and n - starts[-1] < tile // 2:
        starts.pop()
    return [(a, b) for a, b in zip(starts, starts[1:] + [n])]


def _tile_hw(tile) -> tuple[int, int]:
    """``(rows, cols)`` of a warp tile given as one side or as a pair."""
    return (int(tile), int(tile)) if np.ndim(tile) == 0 else (int(tile[0]), int(tile[1]))


def _tile_windows(src_grid: Grid, grid: Grid, tile, pad: int):
    """Source window ``(r0, r1, c0, c1)`` (or ``None`` when the tile misses the source) of
    every target tile, keyed by tile index; ``"all"`` when it cannot be bounded. Also the
    set of tiles lying wholly inside the source (every sampled point at least one source
    cell from its edges), for which no target cell can fall outside it.

    Each tile's edges (every ≤ 16 pixels) and a 5×5 interior lattice are transformed into
    the source CRS in one call; the window is their bounding box plus ``pad`` cells.
    """
    rows, cols = grid.shape
    t = grid.transform
    st = src_grid.transform
    srows, scols = src_grid.shape
    tiles, xs, ys, owner = [], [], [], []
    th, tw = _tile_hw(tile)
    for ti, (r0, r1) in enumerate(_tile_starts(rows, th)):
        for tj, (c0, c1) in enumerate(_tile_starts(cols, tw)):
            ce = np.unique(np.r_[np.arange(c0, c1, 16), c1, np.linspace(c0, c1, 5)])
            re = np.unique(np.r_[np.arange(r0, r1, 16), r1, np.linspace(r0, r1, 5)])
            cc = np.r_[ce, ce, np.full(re.size, c0), np.full(re.size, c1)]
            rr = np.r_[np.full(ce.size, r0), np.full(ce.size, r1), re, re]
            gi, gj = np.meshgrid(np.linspace(c0, c1, 5), np.linspace(r0, r1, 5))
            cc, rr = np.r_[cc, gi.ravel()], np.r_[rr, gj.ravel()]
            xs.append(t.c + cc * t.a)
            ys.append(t.f + rr * t.e)
            owner.append(np.full(cc.size, len(tiles)))
            tiles.append((ti, tj))
    tr = Transformer.from_crs(grid.pyproj_crs, src_grid.pyproj_crs, always_xy=True)
    sx, sy = (np.asarray(v, dtype=float) for v in tr.transform(np.concatenate(xs),
                                                                np.concatenate(ys)))
    owner = np.concatenate(owner)
    if src_grid.is_geographic:  # into the source's own longitude frame
        sx = sx - 360.0 * np.floor((sx - st.c) / 360.0)
    col = (sx - st.c) / st.a
    row = (sy - st.f) / st.e
    out, inside = {}, set()
    for k, key in enumerate(tiles):
        m = owner == k
        c, r = col[m], row[m]
        if not (np.isfinite(c).all() and np.isfinite(r).all()):
            out[key] = "all"
            continue
        if src_grid.is_geographic and c.max() - c.min() > 180.0 / abs(st.a):
            out[key] = "all"  # the tile's longitudes wrap around the frame's seam
            continue
        r0 = max(int(math.floor(r.min())) - pad, 0)
        r1 = min(int(math.ceil(r.max())) + pad, srows)
        c0 = max(int(math.floor(c.min())) - pad, 0)
        c1 = min(int(math.ceil(c.max())) + pad, scols)
        out[key] = (r0, r1, c0, c1) if (r1 > r0 and c1 > c0) else None
        if r.min() >= 1 and c.min() >= 1 and r.max() <= srows - 1 and c.max() <= scols - 1:
            inside.add(key)
    return out, inside


def _warp_block(arr, *, src_transform, src_crs, dst_transform, dst_crs, shape, method,
                src_nodata, dst_nodata, dtype, stacked=False, inside=False, engine="gies"):
    """GDAL-warp one numpy block ``(..., y, x)`` onto one target tile (a WarpedVRT over an
    in-memory copy, transformer tolerance :data:`WARP_TOLERANCE`).

    ``stacked``: the leading axis holds independent float layers sharing the source grid,
    NaN for nodata (:func:`onto_grid_many`). Layers whose nodata masks are identical in this
    block are warped as the bands of one warp, so the coordinate transformation is computed
    once for all of them. GDAL's one-band warp skips a target cell whose centre source cell
    is nodata; with several bands it does the same only with one mask for all bands
    (``UNIFIED_SRC_NODATA=YES``, exact when the masks are identical), hence the grouping by
    mask. The warp memory limit grows with the band count (:data:`_WARP_MEM_MB` per band),
    so GDAL never cuts the tile into more chunks than for one layer: every layer equals its
    own single-layer warp bit for bit.

    ``inside``: the target tile lies wholly inside the source block. Bands with NaN nodata
    but no NaN in the block are then warped without declaring a nodata value: no target
    cell can be nodata, and GDAL takes its kernels' fast paths (no validity masks), 1.7–2.5×
    less CPU for the same values bit for bit (:func:`_fast_path`).

    ``engine="gies"``: nearest and bilinear (on float bands) are computed by
    :mod:`gies.warpkernel` (GDAL's formulas, 2–5× less CPU), each band with its own nodata
    mask; GDAL takes every other method and any tile whose coordinates cannot be computed
    (unprojectable points, a longitude seam). ``"gdal"``: GDAL warps everything."""
    arr = np.asarray(arr)
    lead = arr.shape[:-2]
    a3 = arr.reshape((-1,) + arr.shape[-2:])
    if engine == "gies":
        out = _kernel_warp(a3, src_transform=src_transform, src_crs=src_crs,
                           dst_transform=dst_transform, dst_crs=dst_crs, shape=shape,
                           method=method, src_nodata=src_nodata, dst_nodata=dst_nodata,
                           dtype=dtype)
        if out is not None:
            return out.reshape(lead + tuple(shape))
    if not (stacked and a3.shape[0] > 1):
        out = _warp_bands(a3, src_transform=src_transform, src_crs=src_crs,
                          dst_transform=dst_transform, dst_crs=dst_crs, shape=shape,
                          method=method, src_nodata=src_nodata, dst_nodata=dst_nodata,
                          dtype=dtype, fast=_fast_path(a3, method, src_nodata, inside))
        return out.reshape(lead + tuple(shape))
    masks = np.isnan(a3)
    groups: list[list[int]] = []
    for b in range(a3.shape[0]):
        for g in groups:
            if np.array_equal(masks[g[0]], masks[b]):
                g.append(b)
                break
        else:
            groups.append([b])
    out = np.empty((a3.shape[0],) + tuple(shape), dtype=np.dtype(dtype))
    for g in groups:
        extra = {"UNIFIED_SRC_NODATA": "YES", "warp_mem_limit": _WARP_MEM_MB * len(g)} \
            if len(g) > 1 else {}
        fast = _fast_path(a3[g[:1]], method, src_nodata, inside, mask=masks[g[0]])
        if fast:
            extra.pop("UNIFIED_SRC_NODATA", None)
        out[g] = _warp_bands(a3[g], src_transform=src_transform, src_crs=src_crs,
                             dst_transform=dst_transform, dst_crs=dst_crs, shape=shape,
                             method=method, src_nodata=src_nodata, dst_nodata=dst_nodata,
                             dtype=dtype, extra=extra, fast=fast)
    return out.reshape(lead + tuple(shape))


def _kernel_warp(a3, *, src_transform, src_crs, dst_transform, dst_crs, shape, method,
                 src_nodata, dst_nodata, dtype):
    """The bands ``a3`` warped by :mod:`gies.warpkernel`, or ``None`` when it does not
    apply (a method it does not compute, bilinear on non-float bands, coordinates it cannot
    interpolate): the caller then uses GDAL."""
    from gies.kernels import warp as warpkernel

    if method not in warpkernel.METHODS or (method == "bilinear" and (
            a3.dtype.kind != "f" or np.dtype(dtype).kind != "f")):
        return None
    lattice = warpkernel.source_lattice(
        src_crs=src_crs.to_wkt(), src_transform=src_transform, src_shape=a3.shape[1:],
        geographic=bool(src_crs.is_geographic), dst_crs=dst_crs.to_wkt(),
        dst_transform=dst_transform, shape=shape, tolerance=WARP_TOLERANCE)
    if lattice is None:
        return None
    is_bool = a3.dtype == np.bool_
    src = a3.view(np.uint8) if is_bool else a3
    fill = dst_nodata if dst_nodata is not None else 0
    out = warpkernel.warp_tile(src, lattice, shape, method=method, nodata=src_nodata,
                               fill=fill, dtype=np.uint8 if is_bool else dtype)
    return out.astype(bool) if is_bool else out


def _fast_path(a3, method, src_nodata, inside, mask=None) -> bool:
    """Whether a block can be warped without a nodata value: NaN is its nodata but it holds
    none, the target tile lies inside it, and the method is a kernel (nearest, bilinear,
    cubic, ...). GDAL's warper then skips its per-cell validity and density bookkeeping
    (its ``GWK*NoMasks*`` kernels); with no invalid source cell and no target cell outside
    the source that bookkeeping changes no value. A NaN elsewhere in a band keeps the masked
    path: there GDAL re-weights the valid neighbours of a nodata cell, as ``gdalwarp`` does.
    """
    if not inside or method not in _KERNEL_METHODS or a3.dtype.kind != "f":
        return False
    if src_nodata is None or not (isinstance(src_nodata, float) and math.isnan(src_nodata)):
        return False
    return not (mask.any() if mask is not None else np.isnan(a3).any())


def _warp_bands(a3, *, src_transform, src_crs, dst_transform, dst_crs, shape, method,
                src_nodata, dst_nodata, dtype, extra=None, fast=False):
    """One WarpedVRT warp of the bands ``a3`` ``(band, y, x)``: ``(band, *shape)``.

    ``fast``: warp with no nodata value on either side (see :func:`_fast_path`)."""
    from rasterio.enums import Resampling
    from rasterio.io import MemoryFile
    from rasterio.vrt import WarpedVRT

    is_bool = a3.dtype == np.bool_
    if is_bool:
        a3 = a3.astype(np.uint8)
    wdtype = np.dtype(np.uint8) if is_bool else np.dtype(dtype)
    nb = a3.shape[0]
    fill = dst_nodata if dst_nodata is not None else 0
    if fast:
        src_nodata = fill = None
    # Footprint methods (average, mode, ...): XSCALE/YSCALE=1 change no value inside the
    # source but stop GDAL from filling target cells lying wholly outside it (seen with mode
    # at 5x downsampling). Kernel methods keep GDAL's own scale (dst/src pixels of the
    # window), as gdalwarp does: it widens the kernel when downsampling. Tiles are never
    # narrower than half a tile (:func:`_tile_starts`), so the window's padding barely moves it.
    extras = {} if method in _KERNEL_METHODS else {"XSCALE": 1, "YSCALE": 1}
    extras.update(extra or {})
    with MemoryFile() as mf:
        with mf.open(driver="GTiff", width=a3.shape[2], height=a3.shape[1], count=nb,
                     dtype=a3.dtype, crs=src_crs, transform=src_transform,
                     nodata=src_nodata) as ds:
            ds.write(a3)
        # the CRS is given again: GeoTIFF keys cannot hold e.g. +lon_wrap=180
        with mf.open() as ds, WarpedVRT(
            ds, src_crs=src_crs, src_transform=src_transform, crs=dst_crs,
            transform=dst_transform, width=shape[1], height=shape[0],
            resampling=Resampling[method], tolerance=WARP_TOLERANCE, src_nodata=src_nodata,
            nodata=fill, dtype=wdtype.name, **extras,
        ) as vrt:
            out = vrt.read()
    if is_bool:
        out = out.astype(bool)
    return out.astype(dtype, copy=False)


def _warp(data, src_grid: Grid, grid: Grid, *, method: str, src_nodata, dst_nodata, pad: int,
          tile: int | None = None, stacked: bool = False, engine: str = "gies"):
    """Lazy warp of a dask array ``(..., y, x)`` on ``src_grid`` onto ``grid``: one task per
    fixed target tile (:data:`WARP_TILE`), each reading only its source window
    (:func:`_warp_block`)."""
    import dask
    import dask.array as dsa
    from rasterio.crs import CRS as RioCRS

    tile = tile or WARP_TILE
    th, tw = _tile_hw(tile)
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=(th, tw))
    dtype = data.dtype
    lead = data.shape[:-2]
    fill = dst_nodata if dst_nodata is not None else 0
    windows, inside = _tile_windows(src_grid, grid, tile, pad)
    src_crs, dst_crs = RioCRS.from_wkt(src_grid.crs), RioCRS.from_wkt(grid.crs)
    st, t = src_grid.transform, grid.transform
    rows, cols = grid.shape
    warp = dask.delayed(_warp_block, pure=True)
    grid_rows = []
    for ti, (r0, r1) in enumerate(_tile_starts(rows, th)):
        row = []
        for tj, (c0, c1) in enumerate(_tile_starts(cols, tw)):
            shape = (r1 - r0, c1 - c0)
            win = windows[(ti, tj)]
            if win is None:
                row.append(dsa.full(lead + shape, fill, dtype=dtype, chunks=lead + shape))
                continue
            sr0, sr1, sc0, sc1 = (0, src_grid.shape[0], 0, src_grid.shape[1]) \
                if win == "all" else win
            # the window as one optimised (culled) delayed block: handing the dask slice
            # itself to delayed kept each tile's whole unculled source graph (N=16000:
            # ~30 MB for 192 tiles, 0.3 s more graph building)
            sub = data[..., sr0:sr1, sc0:sc1]
            (sub,) = sub.rechunk(sub.shape).to_delayed(optimize_graph=True).ravel()
            block = warp(sub, src_transform=st @ Affine.translation(sc0, sr0), src_crs=src_crs,
                         dst_transform=t @ Affine.translation(c0, r0), dst_crs=dst_crs,
                         shape=shape, method=method, src_nodata=src_nodata,
                         dst_nodata=dst_nodata, dtype=dtype, stacked=stacked,
                         inside=(ti, tj) in inside, engine=engine)
            row.append(dsa.from_delayed(block, lead + shape, dtype=dtype))
        grid_rows.append(row)
    return dsa.concatenate([dsa.concatenate(r, axis=-1) for r in grid_rows], axis=-2)


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
    to the pipeline's fixed chunking. Otherwise GDAL warps it (:func:`_warp`: lazily, tile by
    tile, with a transformer exact to :data:`WARP_TOLERANCE` source pixels, so that values
    agree with ``gdalwarp -et 0`` and do not depend on ``chunk``) with ``resampling`` (a GDAL
    name), or, when ``None``, the method :func:`choose_resampling` picks from the layer kind
    and the two pixel sizes.

    Continuous layers are float with NaN as nodata (NaN source cells are ignored by the
    kernels). Categorical layers keep their integer codes and dtype; ``attrs['nodata']``
    is the mask value on both sides (source cells with it are ignored by ``mode``/
    ``nearest``; cells outside the source get it). A float categorical layer (e.g. a
    month count with NaN) uses NaN.

    The source is first cropped lazily to the part the grid needs (:func:`_source_window`),
    which also makes a geographic source usable for grids straddling the antimeridian.
    """
    if source_grid.same_as(grid):
        out = layer
    else:
        name = layer.name or "layer"
        method = choose_resampling(kind, source_grid, grid, resampling, layer_name=str(name))
        try:
            ratio = _pixel_area_ratio(source_grid, grid)
        except LayerError:
            ratio = 1.0
        pad = 2 + int(math.ceil(math.sqrt(max(ratio, 1.0))))
        win, win_grid = _source_window(layer, source_grid, grid, pad=pad)
        if kind == "categorical":
            nodata = layer.attrs.get("nodata")
            if nodata is None and np.issubdtype(layer.dtype, np.floating):
                nodata = np.nan
            src_nodata, dst_nodata = nodata, nodata
        else:
            src_nodata, dst_nodata = np.nan, np.nan
        data = _warp(win.data, win_grid, grid, method=method, src_nodata=src_nodata,
                     dst_nodata=dst_nodata, pad=pad, engine=engine)
        dims = tuple(layer.dims[:-2]) + ("y", "x")
        out = xr.DataArray(data, dims=dims)
    out = out.assign_coords(y=grid.y_coords, x=grid.x_coords).chunk({"y": chunk, "x": chunk})
    out.attrs = {**layer.attrs, "grid": grid}
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
    nodata, see :func:`_warp_block`); laziness and the grid-aligned tiles are unchanged.

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
        ratio = _pixel_area_ratio(source_grid, grid)
    except LayerError:
        ratio = 1.0
    pad = 2 + int(math.ceil(math.sqrt(max(ratio, 1.0))))
    ydim, xdim = layers[0].dims
    datas = [da.data if isinstance(da.data, dsa.Array) else dsa.from_array(np.asarray(da.data))
             for da in layers]
    stack = xr.DataArray(dsa.stack(datas, axis=0), dims=("layer", ydim, xdim),
                         coords={ydim: layers[0][ydim], xdim: layers[0][xdim]}
                         if ydim in layers[0].coords and xdim in layers[0].coords else None)
    win, win_grid = _source_window(stack, source_grid, grid, pad=pad)
    data = _warp(win.data, win_grid, grid, method=method, src_nodata=np.nan,
                 dst_nodata=np.nan, pad=pad, stacked=True, engine=engine)
    out = []
    for i, layer in enumerate(layers):
        da = xr.DataArray(data[i], dims=("y", "x"))
        da = da.assign_coords(y=grid.y_coords, x=grid.x_coords).chunk({"y": chunk, "x": chunk})
        da.attrs = {**layer.attrs, "grid": grid}
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


# -- coverage --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """How much of the AOI a layer covers.

    ``extent`` is the share of the AOI's area inside the layer's grid; ``valid`` the share
    on valid (non-nodata) cells of a low-resolution sample, or ``None`` when no sample was
    given. ``message`` names the layer, its bounds (in its CRS) and the AOI's bounds.
    """

    layer: str
    extent: float
    valid: float | None
    layer_bounds: tuple[float, float, float, float]
    aoi_bounds: tuple[float, float, float, float]
    message: str


def _aoi_points(aoi: Any, aoi_crs: CRS, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres of an ``n×n`` lattice over the AOI's bounds that fall in the AOI, and
    their weights (true areas when the AOI CRS is geographic, equal otherwise)."""
    import shapely

    x0, y0, x1, y1 = aoi.bounds
    if aoi_crs.is_geographic and x1 - x0 > 180:  # parts on both sides of ±180
        lon = shapely.get_coordinates(aoi)[:, 0]
        west, east = lon_arc(lon)
        x0, x1 = west, east
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    xx, yy = np.meshgrid(xs, ys)
    xx, yy = xx.ravel(), yy.ravel()
    if aoi_crs.is_geographic:
        xw = ((xx + 180.0) % 360.0) - 180.0
        inside = shapely.contains_xy(aoi, xw, yy) | shapely.contains_xy(aoi, xx, yy)
        w = np.cos(np.radians(yy))
    else:
        inside = shapely.contains_xy(aoi, xx, yy)
        w = np.ones_like(xx)
    return xx[inside], yy[inside], w[inside]


def coverage(
    layer_grid: Grid,
    aoi_geometry: Any,
    *,
    aoi_crs: Any,
    layer_name: str = "layer",
    valid_sample: tuple[np.ndarray, Grid] | None = None,
    n: int = 200,
) -> Coverage:
    """Share of the AOI covered by a layer's extent (and, optionally, by its valid data).

    The AOI is sampled on an ``n×n`` lattice over its bounds (points inside the AOI only,
    weighted by true area when its CRS is geographic); every point is transformed into the
    layer's CRS and counted as covered when it falls inside the layer's bounds (for a
    geographic layer, longitudes are compared modulo 360, so AOIs straddling ±180° work).
    Point sampling avoids reprojecting the layer's footprint, which is ill-defined across
    the antimeridian or interruptions (Goode Homolosine). Resolution of the share: about
    ``1/n²`` of the AOI's bounding box.

    Parameters
    ----------
    layer_grid : Grid
        The layer's own grid (from :func:`gies.io.read.raster_info`).
    aoi_geometry : shapely geometry
        The AOI, in ``aoi_crs`` (normally the target grid's CRS).
    aoi_crs : CRS-like
    layer_name : str
        Names the layer in the message (e.g. ``layers.rainfall``).
    valid_sample : (ndarray, Grid), optional
        A low-resolution read of the layer (e.g. :func:`gies.io.read.read_sample`) with its
        grid; NaN / masked cells count as not valid. Gives ``Coverage.valid``.
    n : int
        Lattice size.

    Returns
    -------
    Coverage
    """
    acrs = CRS.from_user_input(aoi_crs)
    px, py, w = _aoi_points(aoi_geometry, acrs, n)
    lb = layer_grid.bounds
    if px.size == 0:
        raise LayerError(f"{layer_name}: the AOI is empty or too thin to sample")
    tr = Transformer.from_crs(acrs, layer_grid.pyproj_crs, always_xy=True)
    lx, ly = (np.asarray(v, dtype=float) for v in tr.transform(px, py))
    ok = np.isfinite(lx) & np.isfinite(ly)

    def _inside(g: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        b = g.bounds
        iny = (y >= b[1]) & (y <= b[3])
        if g.is_geographic:
            k = np.floor((x - b[0]) / 360.0)  # move x into [b0, b0 + 360)
            x = x - 360.0 * k
        return iny & (x >= b[0]) & (x <= b[2])

    inside = ok & _inside(layer_grid, np.where(ok, lx, 0), np.where(ok, ly, 0))
    total = float(w.sum())
    extent = float(w[inside].sum() / total)
    valid = None
    if valid_sample is not None:
        arr, sg = valid_sample
        arr = np.asarray(arr)
        sx = np.where(ok, lx, 0)
        sy = np.where(ok, ly, 0)
        if sg.is_geographic:
            sx = sx - 360.0 * np.floor((sx - sg.bounds[0]) / 360.0)
        col = np.floor((sx - sg.transform.c) / sg.transform.a).astype(int)
        row = np.floor((sy - sg.transform.f) / sg.transform.e).astype(int)
        inb = inside & (row >= 0) & (row < arr.shape[0]) & (col >= 0) & (col < arr.shape[1])
        good = np.zeros_like(inb)
        vals = arr[row[inb], col[inb]]
        good[inb] = ~np.isnan(vals.astype(float)) if np.ma.getmask(vals) is np.ma.nomask else (
            ~np.ma.getmaskarray(vals))
        valid = float(w[good].sum() / total)
    ab = tuple(float(v) for v in aoi_geometry.bounds)
    msg = (
        f"{layer_name}: the layer covers {extent:.1%} of the AOI"
        + (f" ({valid:.1%} with valid data)" if valid is not None else "")
        + f"; layer bounds {tuple(round(v, 4) for v in lb)} in {layer_grid.pyproj_crs.name}, "
        f"AOI bounds {tuple(round(v, 4) for v in ab)} in {acrs.name}"
    )
    return Coverage(layer_name, extent, valid, tuple(float(v) for v in lb), ab, msg)


def check_coverage(
    result: Coverage,
    *,
    mode: Literal["require", "warn"] = "require",
    minimum: float = 0.999,
) -> Coverage:
    """Act on a :class:`Coverage`: no overlap at all is always a :class:`LayerError`; a
    share below ``minimum`` (of the extent, or of valid data when known) raises under
    ``mode="require"`` and emits a :class:`~gies.errors.DataQualityWarning` under
    ``"warn"``. ``minimum`` defaults to 99.9 % (the lattice's own resolution)."""
    if mode not in ("require", "warn"):
        raise ValueError(f"unknown coverage mode {mode!r}; use 'require' or 'warn'")
    if result.extent <= 0.0:
        raise LayerError(f"{result.message}: no overlap at all (check the file and the AOI)")
    share = result.valid if result.valid is not None else result.extent
    if share < minimum:
        text = (f"{result.message}; cells outside become no data "
                "(set coverage: warn to accept a partial layer)")
        if mode == "require":
            raise LayerError(text)
        warnings.warn(text, DataQualityWarning, stacklevel=2)
    return result


# -- plausibility ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Plausibility:
    """Result of :func:`check_plausible`: the robust range seen (0.5–99.5 percentiles of the
    sample, in the layer's units) and the plausible range it was checked against."""

    layer: str
    quantity: str
    seen: tuple[float, float]
    expected: tuple[float, float]
    units: str
    n: int


#: Candidate fixes tried, in order, when a range is implausible: (scale, offset, label).
_FIXES = (
    (0.1, 0.0, "scale 0.1 (stored ×10)"),
    (0.01, 0.0, "scale 0.01 (stored ×100)"),
    (0.1, -273.15, "scale 0.1 and offset -273.15 (stored as K×10)"),
    (1.0, -273.15, "offset -273.15 (stored in K)"),
    (10.0, 0.0, "scale 10 (stored ÷10, e.g. cm instead of mm)"),
    (0.001, 0.0, "scale 0.001 (stored ×1000)"),
    (100.0, 0.0, "scale 100 (a fraction instead of %)"),
)


def check_plausible(
    sample_values: Any,
    *,
    quantity: str | None = None,
    units: str | None = None,
    layer_name: str = "layer",
    tolerance: float = 0.0,
) -> Plausibility:
    """Check a small sample of a layer against the physical range of its quantity.

    The robust range (0.5th–99.5th percentile of the finite values, so a few outlier cells
    do not trigger it) must lie inside the plausible range of
    :data:`gies.units.PLAUSIBLE_QUANTITIES` (e.g. temperature −60..60 °C, annual rainfall
    0..15000 mm, pH 2..11, clay/sand/silt 0..100 %), converted to ``units`` when those are
    given. Otherwise :class:`~gies.errors.UnitError` names the layer, the range seen, the
    range expected, and the scale/offset that would bring it inside (e.g. "scale 0.1 and
    offset -273.15 (stored as K×10)" for raw CHELSA temperatures).

    Parameters
    ----------
    sample_values : array-like
        A cheap sample (e.g. :func:`gies.io.read.read_sample`, a decimated read); NaN and
        masked values are ignored.
    quantity : str, optional
        A key of ``PLAUSIBLE_QUANTITIES`` (``temperature``, ``rainfall_annual``,
        ``rainfall_monthly``, ``ph``, ``clay``, ``sand``, ``silt``, ``slope_percent``,
        ``slope_degrees``, ``elevation``, ``cec``, ``soc``, ...).
    units : str, optional
        The layer's declared units. Without ``quantity`` the quantity is inferred from them
        where unambiguous (degC, K → temperature; pH → ph; cmol(c)/kg → cec).
    layer_name : str
    tolerance : float
        Relative slack on both limits (0.05 = 5 % of the range width).

    Returns
    -------
    Plausibility
        Also returned (with ``n = 0``) when the sample holds no finite value.
    """
    if quantity is None:
        if units is None:
            raise ValueError("check_plausible needs quantity or units")
        q = parse_unit(units).quantity
        by_unit_quantity = {"temperature": "temperature", "ph": "ph", "cec": "cec"}
        if q not in by_unit_quantity:
            raise ValueError(
                f"{layer_name}: units {units!r} do not tell the quantity; pass quantity= "
                f"(one of {', '.join(sorted(PLAUSIBLE_QUANTITIES))})"
            )
        quantity = by_unit_quantity[q]
    if quantity not in PLAUSIBLE_QUANTITIES:
        raise ValueError(
            f"unknown quantity {quantity!r}; use one of {', '.join(sorted(PLAUSIBLE_QUANTITIES))}"
        )
    qunits, lo, hi = PLAUSIBLE_QUANTITIES[quantity]
    if units is not None and qunits not in ("degrees",):
        a, b = conversion(qunits, units)
        lo, hi = sorted((lo * a + b, hi * a + b))
    else:
        units = qunits
    slack = tolerance * (hi - lo)
    lo_t, hi_t = lo - slack, hi + slack
    v = np.ma.filled(np.ma.masked_invalid(np.asarray(sample_values, dtype=np.float64)), np.nan)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Plausibility(layer_name, quantity, (math.nan, math.nan), (lo, hi), units, 0)
    smin, smax = (float(x) for x in np.percentile(v, [0.5, 99.5]))
    res = Plausibility(layer_name, quantity, (smin, smax), (lo, hi), units, int(v.size))
    if lo_t <= smin and smax <= hi_t:
        return res
    hint = ""
    fixes = [f for f in _FIXES if f[1] == 0.0 or quantity == "temperature"]
    if quantity == "temperature":  # Kelvin readings first: CHELSA stores K×10
        fixes.sort(key=lambda f: f[1] == 0.0)
    for sc, off, label in fixes:
        a2, b2 = smin * sc + off, smax * sc + off
        if lo_t <= a2 and b2 <= hi_t:
            hint = (f"; with {label} they would be {a2:.4g}..{b2:.4g}: declare "
                    f"scale: {sc:g}" + (f", offset: {off:g}" if off else "")
                    + " (or the units the file is really in)")
            break
    raise UnitError(
        f"{layer_name}: values {smin:.4g}..{smax:.4g} (0.5-99.5 percentiles of "
        f"{v.size} sampled cells) are implausible for {quantity} in {units} "
        f"(expected {lo:g}..{hi:g}){hint or '; check the units and nodata of the file'}"
    )
