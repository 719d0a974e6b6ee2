#!/usr/bin/env python3
"""gies's zonal step alone, on peer a's rasters: the same job as peer a's ``zonal`` stage.

    python bench/zonal_child.py --scenario bench/.cache/s2000

Peer a's ``zonal`` stage reads the admin-2 zones and runs exactextract on its own
``work_a/score.tif`` (mean) and ``work_a/class.tif`` (count, unique, frac). Here the same
zones and the same two files go through :func:`gies.stages.zonal.zone_statistics` (exact coverage,
block by block; with every statistic gies writes: weighted mean, std, min/max, percentiles,
hectares per class code), in a fresh process; wall and CPU of the stage are printed with the
largest difference to peer a's numbers (``work_a/zonal.json``): relative difference of the
zone means, and of the hectares per class code as a share of the zone's area.

In a gies run the zone sums are taken inside the raster pass (no raster is read back); this
standalone step, which reads the rasters, is what compares with exactextract's.
"""
import argparse
import json
import os
import resource
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    a = ap.parse_args()
    import numpy as np

    from peers import SCORE_NODATA, load_scenario, load_zones

    sc = load_scenario(a.scenario)
    work = os.path.join(a.scenario, "work_a")
    for f in ("score.tif", "class.tif"):  # page cache warm, as for peer a's second read
        with open(os.path.join(work, f), "rb") as fh:
            while fh.read(1 << 24):
                pass
    t0, c0 = time.perf_counter(), time.process_time()
    import rasterio

    from gies.grid import Grid
    from gies.io.rasters import open_output
    from gies.stages.zonal import zone_statistics

    zones = load_zones(sc, a.scenario)
    with rasterio.open(os.path.join(work, "score.tif")) as ds:
        grid = Grid(ds.crs.to_wkt(), ds.transform, ds.shape)
    score = open_output(os.path.join(work, "score.tif"), grid, chunk=1024)
    score = score.where(score != np.float32(SCORE_NODATA))
    score.attrs = {"grid": grid}
    classes = open_output(os.path.join(work, "class.tif"), grid, chunk=1024)
    res = zone_statistics(zones, classes=classes, score=score, id_field="adm2_id",
                          name_field=None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # agreement with peer a's exactextract numbers
    peer = {r["adm2_id"]: r for r in json.load(open(os.path.join(work, "zonal.json")))}
    wide = res.wide.set_index("zone_id")
    tidy = res.class_areas
    rel, ha = [], []
    for zid, r in wide.iterrows():
        p = peer.get(int(zid))
        if p is None or p["mean"] is None or p["mean"] != p["mean"]:
            continue
        rel.append(abs(p["mean"] - r["score_mean"]) / max(abs(p["mean"]), 1e-9))
        area = max(float(r["area_ha"]), 1.0)
        for code in (1, 2, 3, 4):
            mine = tidy.loc[(tidy["zone_id"] == zid) & (tidy["class_code"] == code), "hectares"]
            ha.append(abs(p.get(f"ha_{code}", 0.0) - float(mine.iloc[0])) / area)
    out = {"stages": {"zonal": {"wall": round(wall, 3), "cpu": round(cpu, 3),
                                "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF)
                                                 .ru_maxrss / 1024, 1)}},
           "agreement": {"n": len(rel), "mean_rel_max": max(rel) if rel else None,
                         "class_ha_diff_max_frac": max(ha) if ha else None}}
    print("@@RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
