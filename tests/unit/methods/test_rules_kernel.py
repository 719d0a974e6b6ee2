"""combine.minimum's fused block function gives what the xarray min/argmin formulation gave."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.methods.rules import NO_LIMITATION, minimum
from gies.grid import Grid


def _reference(layers):
    stack = xr.concat(list(layers.values()), dim="factor")
    score = stack.min("factor", skipna=False).astype(np.float32)
    idx = stack.fillna(np.inf).argmin("factor").astype(np.uint8) + 1
    lim = xr.where((score < 1) & score.notnull(), idx, NO_LIMITATION).astype(np.uint8)
    return score.values, lim.values


def _layers(chunks):
    rng = np.random.default_rng(3)
    grid = Grid.from_bounds((0, 0, 3000, 2000), 10, crs="EPSG:32748")
    out = {}
    for k in range(5):
        v = rng.choice([0.0, 0.25, 0.5, 1.0, np.nan], size=grid.shape,
                       p=[0.2, 0.2, 0.2, 0.35, 0.05]).astype(np.float32)
        data = dsa.from_array(v, chunks=chunks) if chunks else v
        out[f"f{k}"] = xr.DataArray(data, dims=("y", "x"),
                                    coords=grid.coords())
    return out


def test_fused_minimum_matches_reference():
    for chunks in (None, 64, (50, 77)):
        layers = _layers(chunks)
        score, lim = minimum(layers)
        assert score.dtype == np.float32 and lim.dtype == np.uint8
        ref_s, ref_l = _reference({k: v.compute() for k, v in layers.items()})
        np.testing.assert_array_equal(score.values, ref_s)
        np.testing.assert_array_equal(lim.values, ref_l)
        assert lim.attrs["factors"] == {str(i + 1): f"f{i}" for i in range(5)}
