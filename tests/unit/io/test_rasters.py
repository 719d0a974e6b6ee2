"""The pass runs window by window (:func:`gies.io.rasters._run_in_windows`): every chunk of
every output and sink is computed exactly once, whatever the window size, and the files
equal those of a single window."""

from __future__ import annotations

import threading
from collections import Counter

import dask.array as dsa
import numpy as np
import pytest
import rasterio
import xarray as xr

from gies.grid import Grid
from gies.io.rasters import RasterOutput, _groups, write_rasters
from gies.io.rasters import pass_windows as _windows


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


@pytest.mark.parametrize("window_chunks", [1, 6, 10_000])
def test_every_chunk_once_and_same_file_whatever_the_windows(tmp_path, window_chunks):
    grid, v, out, parts, calls = _case(tmp_path, f"b{window_chunks}")
    total = _Sum()
    write_rasters(grid, [out], sinks=[(parts, total)], window_chunks=window_chunks)
    # 8 x 6 chunks of 128: each computed once, though output and sink both need it
    assert sorted(calls) == [(i, j) for i in range(8) for j in range(6)]
    assert set(calls.values()) == {1}
    assert total.blocks == 48
    assert total.total == pytest.approx(float((v.astype(np.float64) * 2).sum()), rel=1e-9)
    with rasterio.open(out.path) as ds:
        np.testing.assert_array_equal(ds.read(1), v * 2)


def test_groups_end_on_warp_tiles_and_hold_at_most_the_budget():
    rows = (128,) * 7 + (4,)
    # tiles of 256 px = 2 chunks: a group never ends inside one
    assert _groups(rows, 256, 2) == [range(0, 2), range(2, 4), range(4, 6), range(6, 8)]
    assert _groups(rows, 256, 5) == [range(0, 4), range(4, 8)]
    assert _groups(rows, 256, 1) == _groups(rows, 256, 2)  # a tile wider than the budget
    for most in (1, 3, 4, 8, 100):
        groups = _groups(rows, 256, most)
        assert [i for g in groups for i in g] == list(range(8))  # every block once, in order
        assert all(len(g) <= max(most, 2) for g in groups)


def test_windows_cover_the_grid_once_within_the_budget():
    chunks = ((128,) * 7 + (4,), (128,) * 11)  # 8 x 11 blocks; tiles of 128 x 512 px
    for most in (1, 8, 16, 64, 10**6):
        wins = _windows(chunks, (128, 512), most)
        cells = [(i, j) for r, c in wins for i in r for j in c]
        assert sorted(cells) == [(i, j) for i in range(8) for j in range(11)]
        assert len(cells) == len(set(cells))
        # within the budget unless one tile alone exceeds it: 1 x 4 blocks, 2 x 4 for the
        # last row of tiles, which absorbs the 4-px remainder
        assert all(len(r) * len(c) <= max(most, 4 if r.stop < 7 else 8) for r, c in wins)
    assert _windows(chunks, (128, 512), 10**6) == [(range(0, 8), range(0, 11))]
    # a grid 4x as large as an 8x8-chunk one: four windows of 8x8 with the same tiles
    assert _windows(((1024,) * 16, (1024,) * 16), (1024, 4096), 64) == [
        (range(0, 8), range(0, 8)), (range(0, 8), range(8, 16)),
        (range(8, 16), range(0, 8)), (range(8, 16), range(8, 16))]


def test_a_sink_with_other_blocks_is_refused(tmp_path):
    grid, v, out, parts, calls = _case(tmp_path, "odd")
    with pytest.raises(ValueError, match="blocks"):
        write_rasters(grid, [out], sinks=[(parts.rechunk((2, 1)), _Sum())])


def test_progress_bar_counts_every_stored_chunk(tmp_path):
    grid, v, out, parts, calls = _case(tmp_path, "bar")
    seen = {"done": 0}

    class Bar:
        def advance(self, n=1):
            seen["done"] += n

        def close(self):
            seen["closed"] = True

    class Progress:
        def stage(self, name):
            pass

        def bar(self, total, what):
            seen["total"] = total
            return Bar()

    write_rasters(grid, [out], sinks=[(parts, _Sum())], progress=Progress(), window_chunks=6)
    # 48 chunks of the file + 48 sink blocks
    assert seen == {"done": 96, "total": 96, "closed": True}
