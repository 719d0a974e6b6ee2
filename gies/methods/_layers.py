"""Helpers shared by the method modules: apply a block function to a NumPy- or dask-backed
layer, and build result layers that keep the input's dims, coords and grid.

Nothing here imports dask: a layer is dask-backed only if dask.array is already imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from gies.grid import assert_on_grid, grid_of


def is_dask(data: Any) -> bool:
    """Whether ``data`` is a dask array (without importing dask)."""
    dsa = sys.modules.get("dask.array")
    return dsa is not None and isinstance(data, dsa.Array)


def blockwise(layer: xr.DataArray, fn: Callable[..., np.ndarray], *args, dtype=np.float32):
    """``fn(block, *args)`` on the layer's data, lazily (dask ``map_blocks``) when it is
    dask-backed, at once on NumPy data."""
    data = layer.data
    if is_dask(data):
        return data.map_blocks(fn, *args, dtype=dtype)
    return fn(np.asarray(data), *args)


def like(template: xr.DataArray, data, *, name: str, units: str) -> xr.DataArray:
    """A layer with ``template``'s dims, coords and attrs (units replaced) holding ``data``."""
    out = template.copy(data=data)
    out.name = name
    out.attrs = {**template.attrs, "units": units}
    out.attrs.pop("_FillValue", None)
    return out


def limits_like(x: np.ndarray, *limits: float) -> list[float]:
    """Limits rounded to the data's precision: a float32 cell holding 0.7 equals limit 0.7."""
    if np.asarray(x).dtype == np.float32:
        return [float(np.float32(v)) for v in limits]
    return [float(v) for v in limits]


def stack_layers(layers: Mapping[str, xr.DataArray]) -> xr.DataArray:
    """The layers (one grid) along a new ``factor`` dimension, in the mapping's order."""
    if not layers:
        raise ValueError("nothing to combine: no factors")
    first = next(iter(layers.values()))
    assert_on_grid(grid_of(first), *layers.values())
    return xr.concat(list(layers.values()), dim="factor", coords="minimal", compat="override")


def finish(template: xr.DataArray, data, name: str, units: str, extra: dict) -> xr.DataArray:
    """A combined result on ``template``'s grid and coordinates (attrs: units and ``extra``)."""
    out = template.copy(data=data)
    out.name = name
    out.attrs = {"units": units, **extra}
    return out
