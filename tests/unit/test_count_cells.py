"""The pass's cell counts (:func:`gies.pipeline.count_cells`): True cells of boolean layers,
non-NaN cells of float layers, over several chunks, as numpy counts them."""

from __future__ import annotations

import dask
import numpy as np
import xarray as xr

from gies.pipeline import count_cells


def _lazy(a, chunk):
    return xr.DataArray(a, dims=("y", "x")).chunk({"y": chunk, "x": chunk})


def test_counts_true_and_valid_cells_over_chunks():
    rng = np.random.default_rng(4)
    f = rng.random((70, 45)).astype(np.float32)
    f[rng.random(f.shape) < 0.3] = np.nan
    g = rng.random((70, 45))
    g[:10] = np.nan
    b = rng.random((70, 45)) < 0.2
    out = count_cells([_lazy(f, 16), _lazy(b, 16), _lazy(g, 32)])  # chunks aligned inside
    assert not isinstance(out, np.ndarray)  # lazy: counted in the caller's pass
    (counts,) = dask.compute(out)
    assert counts.tolist() == [int(np.isfinite(f).sum()), int(b.sum()), int(np.isfinite(g).sum())]
    assert counts[2] == 60 * 45


def test_no_layers_count_nothing():
    assert count_cells([]).size == 0
