"""The target grid: one immutable value shared by every stage after harmonise.

A :class:`Grid` is a CRS, an affine transform (pixel corner to map coordinates, north up)
and a shape ``(rows, cols)``. It is computed once when a pipeline is planned and passed
explicitly; stages check that their inputs sit on it (:func:`assert_on_grid`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from gies.errors import GridMismatchError

__all__ = ["Grid", "assert_on_grid", "grid_of"]


def _canonical_crs(crs: Any) -> str:
    try:
        return CRS.from_user_input(crs).to_wkt()
    except Exception as exc:  # pyproj raises CRSError, a plain exception
        raise ValueError(f"not a coordinate reference system: {crs!r} ({exc})") from exc


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Parameters
    ----------
    crs : str
        WKT of the coordinate reference system (any input accepted by
        ``pyproj.CRS.from_user_input`` is normalised to WKT by the constructors).
    transform : affine.Affine
        Maps (col, row) of pixel corners to (x, y); ``transform.e`` is negative.
    shape : tuple[int, int]
        ``(rows, cols)``.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 500, 400), 100, crs="EPSG:32748")
    >>> g.shape
    (4, 5)
    """

    crs: str
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        rows, cols = self.shape
        if rows <= 0 or cols <= 0:
            raise ValueError(f"grid shape must be positive, got {self.shape}")
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ValueError(f"only north-up, unrotated grids are supported, got {t!r}")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_bounds(
        cls, bounds: tuple[float, float, float, float], resolution: float, *, crs: Any
    ) -> Grid:
        """Grid covering ``bounds`` (xmin, ymin, xmax, ymax), snapped outwards to whole
        multiples of ``resolution`` (in CRS units) so that grids of one resolution align."""
        xmin, ymin, xmax, ymax = bounds
        if not (xmax > xmin and ymax > ymin):
            raise ValueError(f"empty bounds {bounds}")
        res = float(resolution)
        x0 = math.floor(xmin / res) * res
        y1 = math.ceil(ymax / res) * res
        cols = max(1, math.ceil(round((xmax - x0) / res, 9)))
        rows = max(1, math.ceil(round((y1 - ymin) / res, 9)))
        return cls(_canonical_crs(crs), Affine(res, 0.0, x0, 0.0, -res, y1), (rows, cols))

    @classmethod
    def from_raster(cls, dataset: Any) -> Grid:
        """Grid of an open rasterio dataset (or anything with ``crs``/``transform``/``shape``)."""
        if dataset.crs is None:
            raise ValueError("raster has no CRS")
        shape = (int(dataset.height), int(dataset.width))
        return cls(_canonical_crs(dataset.crs), Affine(*tuple(dataset.transform)[:6]), shape)

    # -- properties -----------------------------------------------------------------------
    @cached_property
    def pyproj_crs(self) -> CRS:
        """The CRS as a :class:`pyproj.CRS`."""
        return CRS.from_wkt(self.crs)

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size ``(x, y)`` in CRS units, both positive."""
        return (self.transform.a, -self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the pixel edges."""
        rows, cols = self.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @property
    def x_coords(self) -> np.ndarray:
        """Pixel-centre x coordinates, one per column."""
        t = self.transform
        return t.c + (np.arange(self.shape[1]) + 0.5) * t.a

    @property
    def y_coords(self) -> np.ndarray:
        """Pixel-centre y coordinates, one per row (decreasing)."""
        t = self.transform
        return t.f + (np.arange(self.shape[0]) + 0.5) * t.e

    @property
    def is_geographic(self) -> bool:
        """True when the CRS is longitude/latitude."""
        return bool(self.pyproj_crs.is_geographic)

    def __repr__(self) -> str:
        epsg = self.pyproj_crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else self.pyproj_crs.name
        t = self.transform
        return (
            f"Grid(crs={crs!r}, shape={self.shape}, res=({t.a!r}, {-t.e!r}), "
            f"origin=({t.c!r}, {t.f!r}))"
        )

    def same_as(self, other: Grid, *, rtol: float = 1e-9) -> bool:
        """Equal shape and CRS, and transforms equal within ``rtol`` of a pixel."""
        if self.shape != other.shape:
            return False
        if self.crs != other.crs and not self.pyproj_crs.equals(other.pyproj_crs):
            return False
        a, b = self.transform, other.transform
        px = min(abs(a.a), abs(a.e))
        return all(math.isclose(u, v, rel_tol=0, abs_tol=rtol * px * 1e3) for u, v in zip(a, b))


def grid_of(da: Any) -> Grid:
    """The :class:`Grid` a harmonised DataArray sits on (stored in ``attrs['grid']``)."""
    grid = da.attrs.get("grid")
    if not isinstance(grid, Grid):
        raise GridMismatchError(f"layer {da.name!r} carries no grid: it was not harmonised")
    return grid


def assert_on_grid(grid: Grid, *layers: Any) -> None:
    """Raise :class:`GridMismatchError` unless every layer sits on ``grid``."""
    for da in layers:
        g = grid_of(da)
        if not (g is grid or g == grid or g.same_as(grid)):
            raise GridMismatchError(
                f"layer {da.name!r} is on {g!r}, not on the pipeline grid {grid!r}; "
                "only harmonise may reproject or resample"
            )
        if tuple(da.shape[-2:]) != grid.shape:
            raise GridMismatchError(
                f"layer {da.name!r} has shape {da.shape[-2:]}, grid has {grid.shape}"
            )
