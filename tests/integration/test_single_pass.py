"""One pass: every warp tile is computed once, although the rasters, the quality counts
and the zone sums all consume it, and the zone statistics equal those of the written files."""

from __future__ import annotations

import collections
import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd

from gies.grid import tile_spans
from gies.stages import harmonise
from gies.stages import warp as warp_mod
from gies.methods.schemes import SCHEMES
from gies.grid import Grid
from gies.io.rasters import open_output
from gies.stages.zonal import zone_statistics


def test_each_warp_tile_once_and_zone_sums_equal_the_files(run_pipeline, monkeypatch):
    calls = collections.Counter()
    real = warp_mod._warp_block

    def spy(arr, **kw):
        a = np.ascontiguousarray(arr)
        calls[(tuple(kw["dst_transform"]), tuple(kw["shape"]),
               hashlib.sha1(a.tobytes()).hexdigest())] += 1
        return real(arr, **kw)

    monkeypatch.setattr(warp_mod, "_warp_block", spy)
    # (without the pH plausibility check: its counts decide, before the model is built,
    # whether the factor is kept, so they are a pass of their own over that layer)
    res = run_pipeline("senegal-sorghum-laea.yaml",
                       layers={"ph": {"plausible": None}})
    assert calls and max(calls.values()) == 1, calls.most_common(3)

    # the in-pass sums against a separate pass over the published files
    out = res.output_dir
    import rasterio

    with rasterio.open(out / "classes.tif") as ds:
        grid = Grid(ds.crs.to_wkt(), ds.transform, ds.shape)
    opened = {n: open_output(out / f"{n}.tif", grid, chunk=1024)
              for n in ("classes", "suitability", "limiting_factor")}
    zones = gpd.read_file(out / "zones.gpkg", layer=gpd.list_layers(out / "zones.gpkg")["name"][0])
    wide = pd.read_csv(next(out.glob("zone_stats_*.csv")))
    again = zone_statistics(zones.to_crs(grid.crs), classes=opened["classes"],
                            score=opened["suitability"], limiting=opened["limiting_factor"],
                            scheme=SCHEMES["fao"], id_field=zones.columns[0], name_field=None)
    mine = again.wide.set_index("zone_id")
    theirs = wide.set_index("zone_id")
    for col in ("area_ha", "S1_ha", "S2_ha", "S3_ha", "N_ha", "nodata_ha", "score_mean"):
        np.testing.assert_allclose(mine[col].to_numpy(float), theirs.loc[mine.index, col].to_numpy(float),
                                   rtol=1e-6, atol=1e-6, err_msg=col)
