"""Warping: a lazy layer on its own grid onto the pipeline's grid, tile by tile.

The engines behind :func:`gies.stages.harmonise.onto_grid`:

* the source is first cropped lazily to what the target grid needs
  (:func:`source_window`, which also re-wraps a geographic source for grids straddling the
  antimeridian);
* the target grid is cut into fixed tiles (:data:`WARP_TILE`, aligned to the grid's origin
  and independent of the processing chunk, so values never depend on the chunking); each
  tile is one task reading only its source window (:func:`tile_windows`);
* a tile is warped by gies's own kernels (:mod:`gies.kernels.warp`: nearest and bilinear
  with GDAL's formulas) or by GDAL's warper (every other method, any tile the kernels cannot
  do, or ``processing.warp_engine: gdal``), with a transformer exact to
  :data:`WARP_TOLERANCE` source pixels.

:func:`choose_resampling` picks the method from the layer's kind and the two pixel sizes
when the pipeline does not name one (:data:`gies.methods.registry.RESAMPLING`).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import xarray as xr
from affine import Affine
from pyproj import Transformer

from gies.errors import LayerError
from gies.grid import WARP_TILE, Grid, lon_arc, tile_shape, tile_spans, wrapped_geographic
from gies.methods.registry import RESAMPLING
from gies.methods.resampling import CATEGORICAL, GIES_KERNELS, KERNELS

__all__ = ["choose_resampling", "pixel_area_ratio", "source_window", "warp", "WARP_TILE",
           "WARP_TOLERANCE"]

Kind = Literal["continuous", "categorical"]
#: Area ratio band (target cell / source cell) treated as "same resolution".
_SAME_RES = 1.1


def pixel_area_ratio(source_grid: Grid, target_grid: Grid) -> float:
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
    :func:`pixel_area_ratio`):

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
            raise LayerError(f"{layer_name}: {RESAMPLING.unknown(override)}")
        if kind == "categorical" and name not in CATEGORICAL:
            raise LayerError(
                f"{layer_name}: resampling {override!r} would invent codes in a categorical "
                f"layer; use one of {', '.join(CATEGORICAL)}"
            )
        return name
    down = pixel_area_ratio(source_grid, target_grid) > _SAME_RES
    if kind == "categorical":
        return "mode" if down else "nearest"
    return "average" if down else "bilinear"


def source_window(
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




#: Largest error (in source pixels) allowed to GDAL's approximate transformer. GDAL's
#: default (0.125 px, ``gdalwarp -et``) shifts the sampling point by up to an eighth of a
#: source pixel, differently for every warp window: on a rough 7.5″ soil layer that moved
#: values by up to 0.6 pH×10 between chunkings. 1e-3 px (0.2 m on a 7.5″ grid) agrees
#: with the exact transform (``gdalwarp -et 0``) within 3e-4 relative on every pixel of the
#: tests' rough soil layer, at ~1.3× the default's CPU (1e-4 px: 1.85×; exact: ~4×).
WARP_TOLERANCE = 1e-3


#: GDAL's default warp memory limit (MB); a stacked warp gets this much per band.
_WARP_MEM_MB = 64


def tile_windows(src_grid: Grid, grid: Grid, tile, pad: int):
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
    th, tw = tile_shape(tile)
    for ti, (r0, r1) in enumerate(tile_spans(rows, th)):
        for tj, (c0, c1) in enumerate(tile_spans(cols, tw)):
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
    NaN for nodata (:func:`gies.stages.harmonise.onto_grid_many`). Layers whose nodata masks are identical in this
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
    :mod:`gies.kernels.warp` (GDAL's formulas, 2–5× less CPU), each band with its own nodata
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
    """The bands ``a3`` warped by :mod:`gies.kernels.warp`, or ``None`` when it does not
    apply (a method it does not compute, bilinear on non-float bands, coordinates it cannot
    interpolate): the caller then uses GDAL."""
    from gies.kernels import warp as warpkernel

    if method not in GIES_KERNELS or (method == "bilinear" and (
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
    if not inside or method not in KERNELS or a3.dtype.kind != "f":
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
    # narrower than half a tile (:func:`gies.grid.tile_spans`), so the window's padding barely moves it.
    extras = {} if method in KERNELS else {"XSCALE": 1, "YSCALE": 1}
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


def warp(data, src_grid: Grid, grid: Grid, *, method: str, src_nodata, dst_nodata, pad: int,
          tile: int | None = None, stacked: bool = False, engine: str = "gies"):
    """Lazy warp of a dask array ``(..., y, x)`` on ``src_grid`` onto ``grid``: one task per
    fixed target tile (:data:`WARP_TILE`), each reading only its source window
    (:func:`_warp_block`)."""
    import dask
    import dask.array as dsa
    from rasterio.crs import CRS as RioCRS

    tile = tile or WARP_TILE
    th, tw = tile_shape(tile)
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=(th, tw))
    dtype = data.dtype
    lead = data.shape[:-2]
    fill = dst_nodata if dst_nodata is not None else 0
    windows, inside = tile_windows(src_grid, grid, tile, pad)
    src_crs, dst_crs = RioCRS.from_wkt(src_grid.crs), RioCRS.from_wkt(grid.crs)
    st, t = src_grid.transform, grid.transform
    rows, cols = grid.shape
    warp = dask.delayed(_warp_block, pure=True)
    grid_rows = []
    for ti, (r0, r1) in enumerate(tile_spans(rows, th)):
        row = []
        for tj, (c0, c1) in enumerate(tile_spans(cols, tw)):
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

