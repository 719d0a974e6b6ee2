"""Writing outputs computed on a Dask cluster: window by window, streamed to this process.

On a distributed cluster the workers cannot write into the files this process is building,
so the grid is cut into windows of whole chunks and whole warp tiles (a tile shared by two
windows would be warped twice); a few windows at a time are
computed on the cluster (all outputs of a window in one request, so the work they share is
done once) and written here as they arrive. Memory in this process is bounded by
``in_flight`` windows, never the whole grid. Cell counts requested with ``counted`` (boolean
layers) are summed window by window in the same pass.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import dask
import dask.array
import numpy as np
import xarray as xr
from rasterio.windows import Window

from gies.errors import ExportError
from gies.grid import WARP_TILE, Grid, tile_shape
from gies.io.rasters import RasterOutput, open_raw, pass_windows, progress_bar, to_cog

__all__ = ["write_windows", "windows"]


def windows(grid: Grid, size: int, tile=WARP_TILE) -> list[tuple[slice, slice]]:
    """Row-major windows covering the grid, made of whole ``size`` chunks and whole warp
    tiles (``tile``: rows, cols; :data:`gies.grid.WARP_TILE`), so that no warp tile is
    computed for two windows: the local pass's windows
    (:func:`gies.io.rasters.pass_windows`) at their smallest, one tile each."""
    chunks = dask.array.core.normalize_chunks(size, grid.shape)
    rows, cols = (np.cumsum((0,) + c) for c in chunks)
    return [(slice(int(rows[r.start]), int(rows[r.stop])),
             slice(int(cols[c.start]), int(cols[c.stop])))
            for r, c in pass_windows(chunks, tile_shape(tile), 1)]


def write_windows(grid: Grid, outputs: list[RasterOutput], *, counted: Mapping[str, xr.DataArray],
                  client, progress=None, in_flight: int | None = None) -> dict[str, int]:
    """Compute every output on ``client`` window by window and write them here.

    Returns the number of True cells of each ``counted`` layer.
    """
    from distributed import as_completed

    first = outputs[0].data
    size = int(max(first.data.chunksize)) if hasattr(first.data, "chunksize") else 1024
    wins = windows(grid, size)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    in_flight = in_flight or 2 * n_workers
    names = list(counted)
    totals = dict.fromkeys(names, 0)
    tmp_paths = [o.path.with_suffix(".raw.tif") for o in outputs]
    datasets = []
    lock = threading.Lock()
    bar = progress_bar(progress, len(wins), "cluster windows")
    try:
        for out, tmp in zip(outputs, tmp_paths):
            datasets.append(open_raw(grid, out, tmp))

        def submit(win):
            rs, cs = win
            parts = [o.data.data[rs, cs] for o in outputs]
            parts += [counted[k].data[rs, cs].sum() for k in names]
            # one task graph per window: the work its outputs share is done once
            fut = client.compute(dask.delayed(tuple)(parts))
            return fut, win

        pending = {}
        queue = list(wins)
        while queue and len(pending) < in_flight:
            fut, win = submit(queue.pop(0))
            pending[fut] = win
        ac = as_completed(list(pending))
        for fut in ac:
            win = pending.pop(fut)
            values = fut.result()
            rs, cs = win
            w = Window.from_slices(rs, cs)
            with lock:
                for ds, out, block in zip(datasets, outputs, values[: len(outputs)]):
                    ds.write(np.asarray(block).astype(out.dtype, copy=False), 1, window=w)
            for k, v in zip(names, values[len(outputs):]):
                totals[k] += int(v)
            bar.advance()
            if queue:
                nf, nw = submit(queue.pop(0))
                pending[nf] = nw
                ac.add(nf)
    except OSError as exc:
        raise ExportError(f"cannot write rasters in {outputs[0].path.parent}: {exc}") from exc
    finally:
        for ds in datasets:
            ds.close()
        bar.close()
    for out, tmp in zip(outputs, tmp_paths):
        to_cog(tmp, out)
        Path(tmp).unlink()
    return totals
