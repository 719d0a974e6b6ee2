"""Helpers to build tiny in-memory rasters on a grid and to check the stage contract, for
tests and notebooks.

>>> g = make_grid((2, 3))
>>> layer = make_layer([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], grid=g, chunks=2)
>>> from gies.methods.curves import trapezoid
>>> out = assert_stage_contract(trapezoid, layer, limits=(0, 2, 4, 6))
>>> out.values.tolist()
[[0.5, 1.0, 1.0], [1.0, 0.5, 0.0]]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import xarray as xr

from gies.grid import Grid, assert_on_grid, grid_of

__all__ = ["make_grid", "make_layer", "assert_layer_equal", "assert_stage_contract",
           "no_compute", "ComputeForbidden"]


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
    """A 2-D DataArray on ``grid`` (by default a grid of the values' shape), carrying the grid
    in its ``spatial_ref`` coordinate like a harmonised layer. Numbers become float32
    (``uint8`` stays: class codes). ``chunks`` makes it dask-backed with square chunks of
    that size."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fi" and arr.dtype != np.uint8:
        arr = arr.astype(np.float32)
    if arr.ndim != 2:
        raise ValueError("make_layer needs 2-D values")
    grid = grid or make_grid(arr.shape)
    if grid.shape != arr.shape:
        raise ValueError(f"values have shape {arr.shape}, grid has {grid.shape}")
    if chunks:
        import dask.array as dsa

        data = dsa.from_array(arr, chunks=chunks)
    else:
        data = arr
    return xr.DataArray(data, dims=("y", "x"), coords=grid.coords(), name=name,
                        attrs={"units": units})


def assert_layer_equal(actual: xr.DataArray, expected, *, rtol: float = 1e-6) -> None:
    """Values equal (NaN == NaN) within ``rtol``."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, equal_nan=True)


class ComputeForbidden(AssertionError):
    """Raised by the scheduler of :func:`no_compute` when something computes."""


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise ComputeForbidden("a stage computed a dask graph: stages must stay lazy")


@contextlib.contextmanager
def no_compute() -> Iterator[None]:
    """Within this block any dask computation raises :class:`ComputeForbidden`: the purity
    contract of the stages (they build graphs, the runner's pass computes them)."""
    import dask

    with dask.config.set(scheduler=_forbidden):
        yield


def _snapshot(obj: Any) -> Any:
    if isinstance(obj, xr.DataArray):
        return obj.copy(deep=True), dict(obj.attrs), obj.name
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    return None


def _unchanged(obj: Any, snap: Any, where: str) -> None:
    if isinstance(obj, xr.DataArray):
        before, attrs, name = snap
        assert obj.name == name, f"{where}: the stage renamed its input"
        assert dict(obj.attrs) == attrs, f"{where}: the stage changed its input's attrs"
        xr.testing.assert_identical(obj, before)
    elif isinstance(obj, dict):
        assert set(obj) == set(snap), f"{where}: the stage changed its input mapping"
        for k in obj:
            _unchanged(obj[k], snap[k], f"{where}[{k!r}]")


def _layers(obj: Any) -> list[xr.DataArray]:
    if isinstance(obj, xr.DataArray):
        return [obj]
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in _layers(x)]
    if isinstance(obj, (tuple, list)):
        return [v for x in obj for v in _layers(x)]
    return []


def assert_stage_contract(stage: Callable[..., Any], *inputs: Any, **kwargs: Any) -> Any:
    """Run ``stage(*inputs, **kwargs)`` and check the contract of a stage or method: it
    computes nothing (:func:`no_compute`, for dask-backed inputs), every result layer sits
    on the inputs' grid with their spatial dims and coordinates, and every input (a layer or
    a mapping of layers) is left unchanged: values, coordinates, attrs and name. Returns
    the stage's result."""
    snaps = [_snapshot(i) for i in inputs]
    with no_compute():
        out = stage(*inputs, **kwargs)
    for k, (i, snap) in enumerate(zip(inputs, snaps)):
        _unchanged(i, snap, f"input {k}")
    ref = _layers(inputs)[0]
    grid = grid_of(ref)
    for o in _layers(out):
        assert_on_grid(grid, o)
        assert o.dims[-2:] == ref.dims[-2:], (o.dims, ref.dims)
        for c in ("y", "x"):
            np.testing.assert_array_equal(o[c].values, ref[c].values)
    return out
