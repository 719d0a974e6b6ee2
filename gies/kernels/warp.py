"""Nearest and bilinear warp kernels, compiled with numba: one source block onto one target tile.

GDAL's warper is general (per-chunk validity and density masks, type dispatch, a source
window and a kernel scale worked out per chunk) and it is the largest cost of a national
run: the benchmark's warp floor (every source grid warped once by GDAL, both cores) is
~60 % of the fastest peer's whole job. For the two methods gies picks by default for
upsampling (bilinear for continuous layers, nearest for categorical ones) this module
computes GDAL's own formulas (``alg/gdalwarpkernel.cpp``, GDAL 3.10) directly, 5–10× less
CPU per tile; everything else (cubic, lanczos, average, mode, ..., or a tile whose
coordinates cannot be interpolated) goes to GDAL (:mod:`gies.stages.warp`).
``processing.warp_engine: gdal`` sends everything to GDAL.

Coordinates
    Every target cell centre ``(c + ½, r + ½)`` is mapped to the source block's pixel space
    (0 at its left/top edge). PROJ is called on a lattice every ``step`` target cells and
    the coordinates in between are interpolated bilinearly, as GDAL's approximate
    transformer does along each row (``gdalwarp -et``). ``step`` halves from 64 until the
    interpolation error at the midpoints of every lattice cell's edges and at its centre
    is at most ``tolerance`` source pixels (:data:`gies.stages.warp.WARP_TOLERANCE`, 1e-3):
    the error of linear interpolation is largest there. A point is outside the source when ``x < 0`` or
    ``x + 1e-10 > width`` (the same for rows); its target cell is nodata.

Nearest
    The source cell containing the point, ``floor(x + 1e-10)``; nodata when that cell is.

Bilinear, scale ≥ 0.95 on both axes (``GWKBilinearResample4Sample``)
    ``i = floor(x − ½)``; column ``i`` weighs ``1.5 − (x − i)``, column ``i + 1`` the rest;
    the same for rows. Neighbours outside the block or nodata get no weight and the others
    are renormalised by their weight sum; the target cell is nodata when the cell
    containing the point is nodata or the valid weight is below 1e-5.

Bilinear, downsampling (scale < 0.95 on an axis; ``GWKResample``)
    GDAL widens the triangle so that it averages over the target cell's footprint:
    taps ``i − R + 1 … i + R`` with ``R = ⌈1/s⌉`` and weight ``1 − |(k − δ)·s|``, where
    ``δ = x − ½ − i`` and ``s`` the axis scale (an axis with ``s ≥ 1`` keeps ``R = 1``,
    ``s = 1``); the valid taps' weights are renormalised (nodata below 1e-6). ``s`` is the
    tile's target size over the source extent it spans (the bounding box of its edges,
    clamped to the block), snapped to ``1/n`` when ``1/s`` is within 0.05 of an integer
    ``n``, as GDAL does per warp chunk.

Values agree with GDAL's on the same tile within the transformer tolerance; the tests
compare both engines pixel by pixel. Nodata is NaN for float bilinear; nearest keeps the
dtype and a given nodata code. The kernels release the GIL: dask's threads run them in
parallel.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from affine import Affine

__all__ = ["METHODS", "source_lattice", "warp_tile"]

#: Methods this module computes; others go to GDAL.
METHODS = ("nearest", "bilinear")
_MAX_STEP = 64
_local = threading.local()


def _transformer(src_crs: str, dst_crs: str):
    """A pyproj Transformer from the target CRS to the source CRS, cached per thread (a
    Transformer must not be shared between threads)."""
    cache = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    key = (src_crs, dst_crs)
    tr = cache.get(key)
    if tr is None:
        from pyproj import Transformer

        tr = cache[key] = Transformer.from_crs(dst_crs, src_crs, always_xy=True)
    return tr


def _to_pixels(tr, x, y, src_transform: Affine, src_width: int, geographic: bool):
    """Target CRS coordinates → source pixel coordinates (col, row) of the block.

    Longitudes go into the 360° frame centred on the block (its seam is then as far from
    the block as can be; for a global block the seam is the block's own edge)."""
    sx, sy = (np.asarray(v, dtype=np.float64) for v in tr.transform(x, y))
    st = src_transform
    if geographic:
        west = st.c + st.a * src_width / 2.0 - 180.0
        sx = sx - 360.0 * np.floor((sx - west) / 360.0)
    return (sx - st.c) / st.a, (sy - st.f) / st.e


def _snap_scale(s: float) -> float:
    """GDAL's per-chunk kernel scale rule: ``min(s, 1)`` snapped to ``1/n`` when ``1/s`` is
    within 0.05 of an integer ``n``."""
    if s >= 1.0:
        return 1.0
    r = 1.0 / s
    n = int(r + 0.5)
    return 1.0 / n if abs(r - n) < 0.05 else s


def source_lattice(*, src_crs: str, src_transform: Affine, src_shape, geographic: bool,
                   dst_crs: str, dst_transform: Affine, shape, tolerance: float):
    """Source pixel coordinates of the target cell centres on a lattice every ``step``
    cells, and the kernel scales: ``(C, R, step, xscale, yscale)``, or ``None`` when the
    coordinates cannot be computed (non-finite points, a longitude seam inside the tile);
    the caller then uses GDAL. Where no step meets ``tolerance`` every cell is transformed
    (``step`` 1), as GDAL's approximate transformer ends up doing.

    ``C[k, l]``, ``R[k, l]``: column and row (source pixel space) of the centre of target
    cell ``(k·step, l·step)``; the lattice extends past the tile's last cell.
    """
    th, tw = int(shape[0]), int(shape[1])
    tr = _transformer(src_crs, dst_crs)
    t = dst_transform
    step = _MAX_STEP
    while True:
        ny, nx = (th - 1) // step + 2, (tw - 1) // step + 2
        jj, ii = np.meshgrid(np.arange(nx) * step + 0.5, np.arange(ny) * step + 0.5)
        # check points (none at step 1: every target cell is a node): the midpoints of the
        # lattice cells' edges and their centres, where linear interpolation errs most (the
        # centre alone can hide it: curvatures of opposite signs along x and y cancel there)
        h2 = step / 2
        checks = [(jj[:, :-1] + h2, ii[:, :-1]), (jj[:-1, :], ii[:-1, :] + h2),
                  (jj[:-1, :-1] + h2, ii[:-1, :-1] + h2)] if step > 1 else []
        mj = np.concatenate([c[0].ravel() for c in checks]) if checks else np.empty(0)
        mi = np.concatenate([c[1].ravel() for c in checks]) if checks else np.empty(0)
        n = jj.size
        xs = t.c + np.r_[jj.ravel(), mj] * t.a + np.r_[ii.ravel(), mi] * t.b
        ys = t.f + np.r_[jj.ravel(), mj] * t.d + np.r_[ii.ravel(), mi] * t.e
        col, row = _to_pixels(tr, xs, ys, src_transform, int(src_shape[1]), geographic)
        if not (np.isfinite(col).all() and np.isfinite(row).all()):
            return None
        C, R = col[:n].reshape(ny, nx), row[:n].reshape(ny, nx)
        seam = 90.0 / abs(src_transform.a)
        if geographic and (np.abs(np.diff(C, axis=1)).max(initial=0) > seam
                           or np.abs(np.diff(C, axis=0)).max(initial=0) > seam):
            return None  # the tile crosses the longitude frame's seam (see _to_pixels)
        if step == 1:
            break
        err = 0.0
        for L, exact in ((C, col[n:]), (R, row[n:])):
            interp = np.r_[((L[:, :-1] + L[:, 1:]) / 2).ravel(),
                           ((L[:-1, :] + L[1:, :]) / 2).ravel(),
                           ((L[:-1, :-1] + L[1:, :-1] + L[:-1, 1:] + L[1:, 1:]) / 4).ravel()]
            err = max(err, np.abs(interp - exact).max(initial=0))
        if err <= tolerance:
            break
        step //= 2
    # kernel scale: target cells over the source extent the tile's edges span (GDAL's rule)
    u = np.linspace(0.0, 1.0, 21)
    ec = np.r_[u * tw, u * tw, np.zeros(21), np.full(21, float(tw))]
    er = np.r_[np.zeros(21), np.full(21, float(th)), u * th, u * th]
    h, w = int(src_shape[0]), int(src_shape[1])
    ecol, erow = _to_pixels(tr, t.c + ec * t.a + er * t.b, t.f + ec * t.d + er * t.e,
                            src_transform, w, geographic)
    xspan = min(np.nanmax(ecol), w) - max(np.nanmin(ecol), 0.0)
    yspan = min(np.nanmax(erow), h) - max(np.nanmin(erow), 0.0)
    xscale = _snap_scale(tw / xspan) if xspan > 0 else 1.0
    yscale = _snap_scale(th / yspan) if yspan > 0 else 1.0
    return C, R, step, xscale, yscale


def warp_tile(a3: np.ndarray, lattice, shape, *, method: str, nodata=None, fill=0,
              dtype=None) -> np.ndarray:
    """Resample the bands ``a3`` ``(band, y, x)`` of one source block onto the target tile of
    ``shape`` whose cell centres ``lattice`` (:func:`source_lattice`) locates: an array
    ``(band, *shape)`` of ``dtype`` (default: ``a3``'s).

    ``nearest``: any dtype; source cells equal to ``nodata`` (and NaN) are nodata, nodata
    target cells get ``fill``. ``bilinear``: float bands, NaN is nodata on both sides.
    """
    from gies.kernels import warp_jit as _warpjit

    C, R, step, xscale, yscale = lattice
    dtype = np.dtype(dtype or a3.dtype)
    out = np.empty((a3.shape[0], int(shape[0]), int(shape[1])), dtype=dtype)
    if a3.shape[1] == 0 or a3.shape[2] == 0:
        out[...] = fill if method == "nearest" else np.nan
        return out
    src = np.ascontiguousarray(np.moveaxis(a3, 0, -1))  # (row, col, band): see _warpjit
    if method == "nearest":
        has_nd = nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata))
        _warpjit.nearest(src, C, R, step, has_nd, float(nodata) if has_nd else 0.0,
                         fill, out)
    elif method == "bilinear":
        if src.dtype.kind != "f" or dtype.kind != "f":
            raise TypeError("bilinear warp kernel needs float bands")
        if xscale >= 0.95 and yscale >= 0.95:
            _warpjit.bilinear4(src, C, R, step, out)
        else:
            _warpjit.bilinear_scaled(src, C, R, step, min(xscale, 1.0), min(yscale, 1.0), out)
    else:
        raise ValueError(f"warp kernel {method!r}: only {', '.join(METHODS)}")
    return out
