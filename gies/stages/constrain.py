"""Constrain: exclusions and the AOI, as lazy masks, and their application to the results.

Exclusions (``constraints``) mark land that is not assessed: polygons (pixel-centre or
all-touched rule), codes of a categorical layer, or thresholds of a layer. Excluded cells
get class 253 and keep their score (the land's own). Cells outside the AOI (a pixel no AOI
polygon touches) get 255 and no score. Pure and lazy: masks are rasterised block by block
when computed.
"""

from __future__ import annotations

from collections.abc import Mapping

import dask.array as dsa
import numpy as np
import xarray as xr
from affine import Affine
from rasterio import features

from gies.grid import Grid

__all__ = ["rasterize_mask", "aoi_mask", "exclusions"]


def rasterize_mask(grid: Grid, geoms, chunk: int, *, all_touched: bool) -> xr.DataArray:
    """Lazy boolean layer: True in pixels of ``geoms`` (pixel-centre or all-touched rule)."""
    geoms = list(geoms)

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        if not geoms:
            return np.zeros((r1 - r0, c1 - c0), dtype=bool)
        t = grid.transform
        bt = Affine(t.a, 0, t.c + c0 * t.a, 0, t.e, t.f + r0 * t.e)
        return features.rasterize([(g, 1) for g in geoms], out_shape=(r1 - r0, c1 - c0),
                                  transform=bt, fill=0, all_touched=all_touched,
                                  dtype="uint8").astype(bool)

    data = dsa.map_blocks(block, chunks=dsa.core.normalize_chunks(chunk, grid.shape), dtype=bool,
                          meta=np.array((), dtype=bool))
    return xr.DataArray(data, dims=("y", "x"), coords=grid.coords(), name="mask")



def aoi_mask(plan) -> xr.DataArray:
    """True on every pixel an AOI polygon touches (all-touched rule, so that every pixel
    contributing to the zone statistics has a class)."""
    return rasterize_mask(plan.grid, [plan.aoi.geometry.iloc[0]], plan.chunk, all_touched=True)


def exclusions(plan, layers: Mapping[str, xr.DataArray]) -> xr.DataArray | None:
    """The union of the pipeline's exclusions (``None`` when it has none)."""
    masks = []
    for i, c in enumerate(plan.config.constraints):
        if c.type == "vector":
            shapes = plan.constraint_shapes[i]
            geoms = [g for g in shapes.geometry if g is not None and not g.is_empty]
            masks.append(rasterize_mask(plan.grid, geoms, plan.chunk,
                                        all_touched=c.rule == "all_touched"))
        elif c.type == "codes":
            masks.append(layers[c.layer].isin(c.codes))
        else:
            lyr = layers[c.layer]
            m = xr.zeros_like(lyr, dtype=bool)
            if c.above is not None:
                m = m | (lyr > c.above)
            if c.below is not None:
                m = m | (lyr < c.below)
            masks.append(m)
    if not masks:
        return None
    out = masks[0]
    for m in masks[1:]:
        out = out | m
    out.attrs = {}
    return out
