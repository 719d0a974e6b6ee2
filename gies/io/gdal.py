"""GDAL settings used around reads and writes."""

from __future__ import annotations

import rasterio


def block_cache(mb: float) -> rasterio.Env:
    """A ``rasterio.Env`` bounding GDAL's block cache to ``mb`` megabytes (0: no cache).

    The size is given to GDAL in bytes: rasterio passes a bare number to
    ``GDALSetCacheMax`` as bytes, so ``GDAL_CACHEMAX=64`` meant a 64-*byte* cache, which
    made every later decimated read decode each block once per output row (a 1 Mpx map
    preview took 2 s instead of 10 ms), and it stayed so after the ``with`` block when a
    dataset was open on entry.
    """
    return rasterio.Env(GDAL_CACHEMAX=int(mb * 2**20))
