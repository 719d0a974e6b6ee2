"""The pass's cell counts (:class:`gies.runner.CellCounts`): True cells of boolean layers,
non-NaN cells of float layers, over several chunks, as numpy counts them."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.runner import CellCounts


def _lazy(a, chunk):
    return xr.DataArray(a, dims=("y", "x")).chunk({"y": chunk, "x": chunk})


def test_counts_true_and_valid_cells_over_chunks():
    rng = np.random.default_rng(4)
    f = rng.random((70, 45)).astype(np.float32)
    f[rng.random(f.shape) < 0.3] = np.nan
    g = rng.random((70, 45))
    g[:10] = np.nan
    b = rng.random((70, 45)) < 0.2
    counts = CellCounts([_lazy(f, 16), _lazy(b, 16), _lazy(g, 32)])  # chunks aligned inside
    assert counts.parts.numblocks == (1, 5, 3)  # one vector per chunk of the first layer
    assert counts.totals.tolist() == [0, 0, 0]  # nothing counted before the pass
    dsa.store(counts.parts, counts, lock=False)
    assert counts.totals.tolist() == [int(np.isfinite(f).sum()), int(b.sum()),
                                      int(np.isfinite(g).sum())]
    assert counts.totals[2] == 60 * 45


def test_counts_by_the_blocks_asked_for():
    rng = np.random.default_rng(5)
    b = rng.random((70, 45)) < 0.4
    counts = CellCounts([_lazy(b, 16), xr.DataArray(b, dims=("y", "x"))], chunks=(35, 45))
    assert counts.parts.numblocks == (1, 2, 1)  # a numpy layer too, by the outputs' blocks
    dsa.store(counts.parts, counts, lock=False)
    assert counts.totals.tolist() == [int(b.sum())] * 2


def test_no_layers_count_nothing():
    counts = CellCounts([])
    assert counts.parts is None and counts.totals.size == 0
