"""Writing rasters: one dask pass into tiled GeoTIFFs, then Cloud-Optimised GeoTIFFs.

All outputs of a run are written by a single :func:`dask.array.store` call, so the graph
they share (reading, harmonising, scoring) is computed once, chunk by chunk, and no output
ever needs the whole grid in memory. Each file is then copied into a COG by GDAL's COG
driver (DEFLATE with a predictor, internal overviews), which streams.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.array as dsa
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.windows import Window

from gies.errors import ExportError
from gies.grid import Grid

__all__ = ["RasterOutput", "write_rasters", "open_output"]


@dataclass
class RasterOutput:
    """One single-band output raster."""

    path: Path
    data: xr.DataArray
    dtype: str
    nodata: float | int
    description: str
    units: str
    colormap: dict[int, tuple[int, int, int, int]] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    overview_resampling: str = "AVERAGE"


class _BandWriter:
    """A ``da.store`` target writing blocks into band 1 of an open dataset."""

    def __init__(self, ds, lock: threading.Lock, dtype: str):
        self.ds, self.lock, self.dtype = ds, lock, dtype

    def __setitem__(self, key, value) -> None:
        rows, cols = key
        win = Window.from_slices(rows, cols, height=self.ds.height, width=self.ds.width)
        block = np.asarray(value).astype(self.dtype, copy=False)
        with self.lock:
            self.ds.write(block, 1, window=win)


def _profile(grid: Grid, out: RasterOutput) -> dict:
    return {
        "driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1], "count": 1,
        "dtype": out.dtype, "crs": grid.crs, "transform": grid.transform, "nodata": out.nodata,
        "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "NONE",
        "BIGTIFF": "IF_SAFER",
    }


def write_rasters(grid: Grid, outputs: list[RasterOutput], *, extra: dict | None = None,
                  callbacks=()) -> dict:
    """Write every output in one pass; also compute the lazy values in ``extra``.

    Returns the computed ``extra`` values.
    """
    tmp_paths, datasets, targets, sources = [], [], [], []
    lock = threading.Lock()
    try:
        for out in outputs:
            tmp = out.path.with_suffix(".raw.tif")
            ds = rasterio.open(tmp, "w", **_profile(grid, out))
            ds.set_band_description(1, out.description)
            ds.set_band_unit(1, out.units)
            if out.tags:
                ds.update_tags(1, **out.tags)
            if out.colormap:
                ds.write_colormap(1, out.colormap)
            tmp_paths.append(tmp)
            datasets.append(ds)
            data = out.data.data
            if not isinstance(data, dsa.Array):
                data = dsa.from_array(np.asarray(data), chunks=512)
            sources.append(data)
            targets.append(_BandWriter(ds, lock, out.dtype))
        stored = dsa.store(sources, targets, lock=False, compute=False)
        keys = list((extra or {}).keys())
        with dask.config.set(scheduler="threads"):
            for cb in callbacks:
                cb.register()
            try:
                _, *values = dask.compute(stored, *[(extra or {})[k] for k in keys])
            finally:
                for cb in callbacks:
                    cb.unregister()
    except OSError as exc:
        raise ExportError(f"cannot write rasters in {outputs[0].path.parent}: {exc}") from exc
    finally:
        for ds in datasets:
            ds.close()
    for out, tmp in zip(outputs, tmp_paths):
        _to_cog(tmp, out)
        tmp.unlink()
    return dict(zip(keys, values))


def _to_cog(src: Path, out: RasterOutput) -> None:
    predictor = "3" if np.dtype(out.dtype).kind == "f" else "2"
    try:
        rasterio.shutil.copy(
            src, out.path, driver="COG", COMPRESS="DEFLATE", PREDICTOR=predictor, LEVEL="6",
            BLOCKSIZE="512", OVERVIEW_RESAMPLING=out.overview_resampling, NUM_THREADS="ALL_CPUS",
            BIGTIFF="IF_SAFER",
        )
    except rasterio.errors.RasterioError as exc:
        raise ExportError(f"cannot write {out.path}: {exc}") from exc


def open_output(path: Path, grid: Grid, *, chunk: int) -> xr.DataArray:
    """Re-open a written output lazily on ``grid`` (for zone statistics and maps)."""
    import rioxarray

    da = rioxarray.open_rasterio(path, chunks={"y": chunk, "x": chunk}, masked=False,
                                 lock=False).sel(band=1, drop=True)
    da = da.drop_vars([c for c in da.coords if c not in ("x", "y")])
    da.attrs = {"grid": grid}
    return da
