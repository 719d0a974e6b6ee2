"""numba kernel behind :class:`gies.stages.zonal._Acc`: every per-zone sum of a block in one pass
over its cells (definitions in :mod:`gies.stages.zonal`). Imported on first use only."""

from __future__ import annotations

from gies.kernels import numba_cache_ready

numba_cache_ready()  # before numba: a cache folder it can write
from numba import njit  # noqa: E402


@njit(nogil=True, cache=True, error_model="numpy")
def accumulate(seg_zone, seg_len, cells, identity, w, wconst, uniform,
               cls, sc, lim, has_lim, fsc, fcls, xcls,
               o_cls, o_sw, o_s1, o_s2, o_smin, o_smax, o_hist, o_lim, o_fw, o_fs, o_fcls, o_x):
    """Add the cells of each segment ``s`` (``seg_len[s]`` consecutive entries of ``cells``,
    or of the block itself when ``identity``) to zone ``seg_zone[s]`` with weight ``w[q]``
    (``wconst`` for all when ``uniform``): class and limiting-factor weights, the weighted
    score sums (Σw, Σw·s, Σw·s²), extrema and 1000-bin histogram, factor sums and classes,
    extra class layers. Scores are accumulated in float64."""
    bins = o_hist.shape[1]
    nf = fsc.shape[0]
    nx = xcls.shape[0]
    pos = 0
    for s in range(seg_zone.size):
        z = seg_zone[s]
        for q in range(pos, pos + seg_len[s]):
            c = q if identity else cells[q]
            wi = wconst if uniform else w[q]
            o_cls[z, cls[c]] += wi
            v = sc[c]
            if v == v:
                dv = float(v)
                o_sw[z] += wi
                o_s1[z] += wi * dv
                o_s2[z] += wi * dv * dv
                if dv < o_smin[z]:
                    o_smin[z] = dv
                if dv > o_smax[z]:
                    o_smax[z] = dv
                b = int(dv * bins)
                if b < 0:
                    b = 0
                elif b > bins - 1:
                    b = bins - 1
                o_hist[z, b] += wi
            if has_lim:
                o_lim[z, lim[c]] += wi
            for k in range(nf):
                o_fcls[z, k, fcls[k, c]] += wi
                f = fsc[k, c]
                if f == f:
                    o_fw[z, k] += wi
                    o_fs[z, k] += wi * float(f)
            for k in range(nx):
                o_x[k, z, xcls[k, c]] += wi
        pos += seg_len[s]
