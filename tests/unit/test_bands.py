"""The pass runs band by band (:func:`gies.io.rasters._run_in_bands`): every chunk of every
output and sink is computed exactly once, whatever the band size, and the files equal those
of a single band."""

from __future__ import annotations

import io
import threading
from collections import Counter

import dask.array as dsa
import numpy as np
import pytest
import rasterio
import xarray as xr
from rich.console import Console

from gies.grid import Grid
from gies.io.rasters import RasterOutput, _bands, write_rasters


class _Sum:
    """A store target summing what it receives, and counting the blocks."""

    def __init__(self):
        self.total, self.blocks, self.lock = 0.0, 0, threading.Lock()

    def __setitem__(self, key, value):
        with self.lock:
            self.total += float(np.asarray(value).sum())
            self.blocks += 1


def _case(tmp_path, name):
    grid = Grid.from_bounds((0, 0, 70_000, 90_000), 100, crs="EPSG:32748")  # 900 x 700
    rng = np.random.default_rng(7)
    v = rng.random(grid.shape).astype(np.float32)
    calls = Counter()

    def once(block, block_info=None):
        calls[tuple(block_info[0]["chunk-location"])] += 1
        return block * 2

    data = dsa.from_array(v, chunks=128).map_blocks(once, dtype=np.float32)
    layer = xr.DataArray(data, dims=("y", "x"), coords={"y": grid.y_coords, "x": grid.x_coords})
    out = RasterOutput(tmp_path / f"{name}.tif", layer, "float32", np.nan, "x2", "1")
    parts = data.map_blocks(lambda b: np.full((1, 1), b.sum(dtype=np.float64)),
                            chunks=((1,) * data.numblocks[0], (1,) * data.numblocks[1]),
                            dtype=np.float64)
    return grid, v, out, parts, calls


@pytest.mark.parametrize("band_chunks", [1, 6, 10_000])
def test_every_chunk_once_and_same_file_whatever_the_bands(tmp_path, band_chunks):
    grid, v, out, parts, calls = _case(tmp_path, f"b{band_chunks}")
    total = _Sum()
    write_rasters(grid, [out], sinks=[(parts, total)], band_chunks=band_chunks)
    # 8 x 6 chunks of 128: each computed once, though output and sink both need it
    assert sorted(calls) == [(i, j) for i in range(8) for j in range(6)]
    assert set(calls.values()) == {1}
    assert total.blocks == 48
    assert total.total == pytest.approx(float((v.astype(np.float64) * 2).sum()), rel=1e-9)
    with rasterio.open(out.path) as ds:
        np.testing.assert_array_equal(ds.read(1), v * 2)


def test_bands_end_on_warp_tile_rows_and_hold_at_most_the_budget():
    rows = (128,) * 7 + (4,)
    # tile rows of 256 px = 2 chunk rows: a band never ends between them
    assert _bands(rows, 6, 256, 12) == [range(0, 2), range(2, 4), range(4, 6), range(6, 8)]
    assert _bands(rows, 6, 256, 24) == [range(0, 4), range(4, 8)]
    # a tile row wider than the budget is still one band, never cut
    assert _bands(rows, 100, 256, 12) == [range(0, 2), range(2, 4), range(4, 6), range(6, 8)]
    for bands in (_bands(rows, 6, 256, b) for b in (1, 12, 30, 10**6)):
        assert [i for b in bands for i in b] == list(range(8))  # every row, once, in order


def test_a_sink_with_other_blocks_is_refused(tmp_path):
    grid, v, out, parts, calls = _case(tmp_path, "odd")
    with pytest.raises(ValueError, match="rows of blocks"):
        write_rasters(grid, [out], sinks=[(parts.rechunk((2, 1)), _Sum())])


def test_progress_bar_counts_every_stored_chunk(tmp_path, monkeypatch):
    grid, v, out, parts, calls = _case(tmp_path, "bar")
    seen = {}
    import gies.io.rasters as rasters

    class Recording(rasters.ChunkBar):
        def close(self):
            seen["done"] = self.bar.tasks[0].completed
            seen["total"] = self.bar.tasks[0].total
            super().close()

    monkeypatch.setattr(rasters, "ChunkBar", Recording)

    class Progress:
        quiet = False
        console = Console(file=io.StringIO(), force_terminal=True)

    write_rasters(grid, [out], sinks=[(parts, _Sum())], progress=Progress(), band_chunks=6)
    assert seen == {"done": 96, "total": 96}  # 48 chunks of the file + 48 sink blocks
