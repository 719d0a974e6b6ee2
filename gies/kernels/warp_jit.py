"""numba kernels behind :mod:`gies.kernels.warp` (formulas and references there).

Sources are band-interleaved, ``(row, col, band)``: the bands of one neighbourhood then
share cache lines (a 3-band bilinear warp is ~1.6× faster than from ``(band, row, col)``).

Imported on first use only: numba's import and the loading of the compiled kernels
(``cache=True``: compiled once per machine and dtype, then read from ``__pycache__``) cost
nothing to runs that warp nothing.
"""

from __future__ import annotations

import math

import numpy as np
from gies.kernels import numba_cache_ready

numba_cache_ready()  # before numba: a cache folder it can write
from numba import njit  # noqa: E402

_EPS = 1e-10


@njit(nogil=True, cache=True, error_model="numpy")
def _row(C, R, step, i, rowc, rowr):
    """Source coordinates of the lattice columns interpolated to target row ``i``."""
    li = i // step
    f = (i - li * step) / step
    for k in range(C.shape[1]):
        rowc[k] = C[li, k] + f * (C[li + 1, k] - C[li, k])
        rowr[k] = R[li, k] + f * (R[li + 1, k] - R[li, k])


@njit(nogil=True, cache=True, error_model="numpy")
def _columns(tw, step):
    """Lattice column of each target column and its fraction towards the next one."""
    cl = np.empty(tw, np.int64)
    cf = np.empty(tw)
    for j in range(tw):
        cl[j] = j // step
        cf[j] = (j - cl[j] * step) / step
    return cl, cf


@njit(inline="always")
def _scratch(C, tw, step):
    """Per-kernel buffers: one row of lattice coordinates and the column tables."""
    cl, cf = _columns(tw, step)
    return np.empty(C.shape[1]), np.empty(C.shape[1]), cl, cf


@njit(inline="always")
def _cells(sx, sy, w, h):
    """The cell holding the point (GDAL's ``floor(x + 1e-10)``) and the upper-left cell of
    the bilinear neighbourhood (``floor(x − ½)``)."""
    return (min(int(sx + _EPS), w - 1), min(int(sy + _EPS), h - 1),
            int(math.floor(sx - 0.5)), int(math.floor(sy - 0.5)))


@njit(inline="always")
def _point(rowc, rowr, cl, cf, j):
    """Source coordinates of target column ``j`` on the current row (:func:`_row`)."""
    lj = cl[j]
    f = cf[j]
    return rowc[lj] + f * (rowc[lj + 1] - rowc[lj]), rowr[lj] + f * (rowr[lj + 1] - rowr[lj])


@njit(inline="always")
def _outside(sx, sy, w, h):
    """GDAL's test of a point outside the source: ``x < 0`` or ``x + 1e-10 > width``."""
    return sx < 0.0 or sy < 0.0 or sx + _EPS > w or sy + _EPS > h


@njit(nogil=True, cache=True, error_model="numpy")
def nearest(src, C, R, step, has_nd, nd, fill, out):
    """Nearest neighbour: the source cell containing the point (``floor(x + 1e-10)``)."""
    h, w, nb = src.shape
    th, tw = out.shape[1], out.shape[2]
    rowc, rowr, cl, cf = _scratch(C, tw, step)
    for i in range(th):
        _row(C, R, step, i, rowc, rowr)
        for j in range(tw):
            sx, sy = _point(rowc, rowr, cl, cf, j)
            if _outside(sx, sy, w, h):
                for b in range(nb):
                    out[b, i, j] = fill
                continue
            cx, cy, _, _ = _cells(sx, sy, w, h)
            for b in range(nb):
                v = src[cy, cx, b]
                fv = float(v)
                if fv != fv or (has_nd and fv == nd):
                    out[b, i, j] = fill
                else:
                    out[b, i, j] = v


@njit(nogil=True, cache=True, error_model="numpy")
def bilinear4(src, C, R, step, out):
    """Bilinear on the 2×2 neighbours (GDAL's ``GWKBilinearResample4Sample``); NaN nodata."""
    h, w, nb = src.shape
    th, tw = out.shape[1], out.shape[2]
    rowc, rowr, cl, cf = _scratch(C, tw, step)
    for i in range(th):
        _row(C, R, step, i, rowc, rowr)
        for j in range(tw):
            sx, sy = _point(rowc, rowr, cl, cf, j)
            if _outside(sx, sy, w, h):
                for b in range(nb):
                    out[b, i, j] = np.nan
                continue
            cx, cy, ix, iy = _cells(sx, sy, w, h)
            rx = 1.5 - (sx - ix)
            ry = 1.5 - (sy - iy)
            if ix >= 0 and iy >= 0 and ix + 1 < w and iy + 1 < h:
                for b in range(nb):
                    if src[cy, cx, b] != src[cy, cx, b]:  # the cell holding the point: nodata
                        out[b, i, j] = np.nan
                        continue
                    v = ((src[iy, ix, b] * rx + src[iy, ix + 1, b] * (1.0 - rx)) * ry
                         + (src[iy + 1, ix, b] * rx + src[iy + 1, ix + 1, b] * (1.0 - rx))
                         * (1.0 - ry))
                    if v == v:  # no NaN among the four
                        out[b, i, j] = v
                    else:
                        out[b, i, j] = _bilinear_masked(src, b, ix, iy, rx, ry)
                continue
            for b in range(nb):
                if src[cy, cx, b] != src[cy, cx, b]:
                    out[b, i, j] = np.nan
                else:
                    out[b, i, j] = _bilinear_masked(src, b, ix, iy, rx, ry)


@njit(nogil=True, cache=True, error_model="numpy")
def _bilinear_masked(src, b, ix, iy, rx, ry):
    """One band at one point: the neighbours inside the block and not NaN, in GDAL's order
    (UL, UR, LL, LR), renormalised unless their weights sum to exactly 1 (NaN below 1e-5)."""
    h, w = src.shape[0], src.shape[1]
    acc = 0.0
    div = 0.0
    for dy in range(2):
        y = iy + dy
        if y < 0 or y >= h:
            continue
        wy = ry if dy == 0 else 1.0 - ry
        for dx in range(2):
            x = ix + dx
            if x < 0 or x >= w:
                continue
            v = src[y, x, b]
            if v != v:
                continue
            wgt = (rx if dx == 0 else 1.0 - rx) * wy
            acc += v * wgt
            div += wgt
    if div < 1e-5:
        return np.nan
    return acc if div == 1.0 else acc / div


@njit(inline="always")
def _tri(d):
    """GDAL's bilinear weight ``1 − |d|`` on [−1, 1]."""
    d = abs(d)
    return 1.0 - d if d <= 1.0 else 0.0


@njit(nogil=True, cache=True, error_model="numpy")
def _scaled_masked(src, b, x0, y0, kx0, kx1, ky0, ky1, ddx, ddy, xs, ys, wx, wy):
    """One band at one point: the taps in range and not NaN, renormalised (NaN below 1e-6);
    ``wx``, ``wy``: scratch arrays of the taps' weights."""
    rx_ = wx.size // 2
    ry_ = wy.size // 2
    for k in range(wx.size):
        wx[k] = _tri((k + 1 - rx_ - ddx) * xs)
    for k in range(wy.size):
        wy[k] = _tri((k + 1 - ry_ - ddy) * ys)
    acc = 0.0
    wsum = 0.0
    for ky in range(ky0, ky1):
        wyk = wy[ky]
        if wyk == 0.0:
            continue
        y = y0 + ky
        racc = 0.0
        rw = 0.0
        for kx in range(kx0, kx1):
            v = src[y, x0 + kx, b]
            if v != v:
                continue
            racc += v * wx[kx]
            rw += wx[kx]
        acc += racc * wyk
        wsum += rw * wyk
    return acc / wsum if wsum >= 1e-6 else np.nan


@njit(nogil=True, cache=True, error_model="numpy")
def bilinear_scaled(src, C, R, step, xs, ys, out):
    """Bilinear widened for downsampling (GDAL's ``GWKResample`` with scales ``xs``, ``ys``
    ≤ 1): taps ``i − r + 1 … i + r``, ``r = ⌈1/s⌉``, weight ``1 − |(k − δ)·s|``. Radius 2
    on both axes (scales 0.5–1, the common case) has an unrolled path for points whose 16
    taps are inside the block and valid: the same sums in the same order."""
    h, w, nb = src.shape
    th, tw = out.shape[1], out.shape[2]
    rx_ = int(math.ceil(1.0 / xs - 1e-12)) if xs < 1.0 else 1
    ry_ = int(math.ceil(1.0 / ys - 1e-12)) if ys < 1.0 else 1
    r2 = rx_ == 2 and ry_ == 2
    wx = np.empty(2 * rx_)
    wy = np.empty(2 * ry_)
    rowc, rowr, cl, cf = _scratch(C, tw, step)
    for i in range(th):
        _row(C, R, step, i, rowc, rowr)
        for j in range(tw):
            sx, sy = _point(rowc, rowr, cl, cf, j)
            if _outside(sx, sy, w, h):
                for b in range(nb):
                    out[b, i, j] = np.nan
                continue
            cx, cy, ix, iy = _cells(sx, sy, w, h)
            ddx = sx - 0.5 - ix
            ddy = sy - 0.5 - iy
            x0 = ix + 1 - rx_
            y0 = iy + 1 - ry_
            if r2 and x0 >= 0 and y0 >= 0 and x0 + 3 < w and y0 + 3 < h:
                # weights in registers: ~1.6x faster than through the arrays
                wx0 = _tri((-1.0 - ddx) * xs)
                wx1 = _tri(-ddx * xs)
                wx2 = _tri((1.0 - ddx) * xs)
                wx3 = _tri((2.0 - ddx) * xs)
                wy0 = _tri((-1.0 - ddy) * ys)
                wy1 = _tri(-ddy * ys)
                wy2 = _tri((1.0 - ddy) * ys)
                wy3 = _tri((2.0 - ddy) * ys)
                norm = (wx0 + wx1 + wx2 + wx3) * (wy0 + wy1 + wy2 + wy3)
                for b in range(nb):
                    if src[cy, cx, b] != src[cy, cx, b]:
                        out[b, i, j] = np.nan
                        continue
                    r0 = (src[y0, x0, b] * wx0 + src[y0, x0 + 1, b] * wx1
                          + src[y0, x0 + 2, b] * wx2 + src[y0, x0 + 3, b] * wx3)
                    r1 = (src[y0 + 1, x0, b] * wx0 + src[y0 + 1, x0 + 1, b] * wx1
                          + src[y0 + 1, x0 + 2, b] * wx2 + src[y0 + 1, x0 + 3, b] * wx3)
                    r2_ = (src[y0 + 2, x0, b] * wx0 + src[y0 + 2, x0 + 1, b] * wx1
                           + src[y0 + 2, x0 + 2, b] * wx2 + src[y0 + 2, x0 + 3, b] * wx3)
                    r3 = (src[y0 + 3, x0, b] * wx0 + src[y0 + 3, x0 + 1, b] * wx1
                          + src[y0 + 3, x0 + 2, b] * wx2 + src[y0 + 3, x0 + 3, b] * wx3)
                    v = r0 * wy0 + r1 * wy1 + r2_ * wy2 + r3 * wy3
                    if v == v:  # no NaN among the taps
                        out[b, i, j] = v / norm
                    else:
                        out[b, i, j] = _scaled_masked(src, b, x0, y0, 0, 4, 0, 4, ddx, ddy,
                                                      xs, ys, wx, wy)
                continue
            kx0 = max(0, -x0)
            kx1 = min(2 * rx_, w - x0)
            ky0 = max(0, -y0)
            ky1 = min(2 * ry_, h - y0)
            for b in range(nb):
                if src[cy, cx, b] != src[cy, cx, b]:
                    out[b, i, j] = np.nan
                else:
                    out[b, i, j] = _scaled_masked(src, b, x0, y0, kx0, kx1, ky0, ky1, ddx, ddy,
                                                  xs, ys, wx, wy)
