"""Helpers to build tiny in-memory rasters on a grid, for tests and notebooks."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.grid import Grid, assert_on_grid, grid_of

__all__ = ["make_grid", "make_layer", "assert_layer_equal", "assert_stage_contract"]


def make_grid(
    shape: tuple[int, int] = (4, 5),
    *,
    res: float = 100.0,
    crs: str = "EPSG:32748",
    origin: tuple[float, float] = (100_000.0, 9_800_000.0),
) -> Grid:
    """A small north-up grid whose top-left corner is ``origin``."""
    from affine import Affine

    from pyproj import CRS

    return Grid(CRS.from_user_input(crs).to_wkt(), Affine(res, 0, origin[0], 0, -res, origin[1]),
                tuple(shape))


def make_layer(
    values,
    *,
    grid: Grid | None = None,
    name: str = "layer",
    units: str = "1",
    chunks: int | None = None,
) -> xr.DataArray:
    """A 2-D DataArray on ``grid`` (by default a grid of the values' shape).

    ``chunks`` makes it dask-backed with square chunks of that size.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "fi" and arr.dtype != np.uint8:
        arr = arr.astype(np.float32)
    if arr.ndim != 2:
        raise ValueError("make_layer needs 2-D values")
    grid = grid or make_grid(arr.shape)
    if grid.shape != arr.shape:
        raise ValueError(f"values have shape {arr.shape}, grid has {grid.shape}")
    data = dsa.from_array(arr, chunks=chunks) if chunks else arr
    return xr.DataArray(data, dims=("y", "x"), coords=grid.coords(), name=name,
                        attrs={"units": units})


def assert_layer_equal(actual: xr.DataArray, expected, *, rtol: float = 1e-6) -> None:
    """Values equal (NaN == NaN) within ``rtol``."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, equal_nan=True)


def assert_stage_contract(inp: xr.DataArray, out: xr.DataArray) -> None:
    """The stage kept the grid, dims and coords, and left its input unchanged."""
    assert_on_grid(grid_of(inp), out)
    assert out.dims == inp.dims
    xr.testing.assert_equal(out.coords.to_dataset(), inp.coords.to_dataset())
