#!/usr/bin/env python3
# Vendored from /work/shared/bench/peers.py (the national benchmark, shared with the peer study).
# Keep in sync by hand; local changes are marked 'gies:'.
"""Peer baselines for the gies suitability job on a make_scenario.py scenario.

Job: put 6 layers on the 100 m target grid, score = min of 6 trapezoid
memberships, classify into 4 classes, write compressed GeoTIFF(s), and per
adm2 zone: mean score and hectares per class.

    python peers.py --scenario bench-data/s2000 --peers a,b,c,d --repeat 3

Peers (each run in a fresh Python process, stages timed inside it):
  a  GDAL CLI gdalwarp x6 (-r bilinear -ot Float32 -multi -wo NUM_THREADS=ALL_CPUS,
     DEFLATE tiled; without -ot the int16 soil layers are rounded, score error <= 0.05) -> numpy score/class -> exactextract (python) zonal stats
  b  analyst script: rioxarray reproject_match x6 -> numpy -> rasterstats
  c  zonal stage only, on b's outputs: rasterio.features.rasterize zones ->
     xarray-spatial zonal.stats + zonal.crosstab   (c total = b.warp + b.score + c.zonal)
  d  I/O floor: decompress every input once, write one DEFLATE float32 grid
     (+ uint8 class grid), and one memory pass over six target-grid float32 arrays

Per stage: wall s, CPU s (self + waited children), peak RSS MiB (VmHWM reset
per stage via /proc/self/clear_refs, max'ed with children's ru_maxrss).
Whole process: wall, CPU, peak RSS via os.wait4 in the driver.
Results: <scenario>/results/peers-<timestamp>.json and a summary on stdout.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)
LAYERS = ["tavg", "prec", "phh2o", "clay", "soc", "dem"]
SCORE_NODATA = -9999.0


# ----------------------------------------------------------------- stage timing
class Stages:
    def __init__(self):
        self.rows = {}
        self.child_maxrss_kb = 0

    def run(self, cmd):
        """Run a child process, account its rusage to the current stage."""
        p = subprocess.Popen(cmd)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        self.child_maxrss_kb = max(self.child_maxrss_kb, ru.ru_maxrss)
        if p.returncode != 0:
            raise RuntimeError(f"command failed ({p.returncode}): {' '.join(cmd)}")

    def stage(self, name):
        return _Stage(self, name)


def _hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class _Stage:
    def __init__(self, owner, name):
        self.o, self.name = owner, name

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.o.child_maxrss_kb = 0
        self.r0 = resource.getrusage(resource.RUSAGE_SELF)
        self.c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - self.r0.ru_utime + r1.ru_stime - self.r0.ru_stime
               + c1.ru_utime - self.c0.ru_utime + c1.ru_stime - self.c0.ru_stime)
        peak = max(_hwm_kb(), self.o.child_maxrss_kb) / 1024.0
        self.o.rows[self.name] = {"wall": round(wall, 3), "cpu": round(cpu, 3), "rss_mib": round(peak, 1)}
        return False


# ----------------------------------------------------------------- shared helpers
def load_scenario(sdir):
    with open(os.path.join(sdir, "scenario.json")) as f:
        return json.load(f)


def membership(x, a, b, c, d):
    import numpy as np
    up = (x - a) * np.float32(1.0 / (b - a))
    down = (d - x) * np.float32(1.0 / (d - c))
    m = np.minimum(up, down)
    np.clip(m, 0, 1, out=m)
    return m


def score_arrays(arrays, sc):
    """arrays: dict layer -> float32 2-D with NaN as nodata. Returns score, class."""
    import numpy as np
    score = None
    for k in LAYERS:
        m = membership(arrays[k], *sc["trapezoids"][k])
        score = m if score is None else np.minimum(score, m, out=score)  # NaN propagates
    cls = np.digitize(score, sc["class_breaks"]).astype(np.uint8) + 1
    bad = np.isnan(score)
    cls[bad] = 0
    score[bad] = SCORE_NODATA
    return score, cls


def grid_profile(sc, dtype, nodata):
    from affine import Affine
    g = sc["grid"]
    return dict(driver="GTiff", width=g["width"], height=g["height"], count=1, dtype=dtype,
                crs=g["crs"], transform=Affine(*g["transform"]), nodata=nodata,
                tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE", BIGTIFF="IF_SAFER")


def write_outputs(sc, work, score, cls, **open_kw):
    import rasterio
    with rasterio.open(os.path.join(work, "score.tif"), "w", **grid_profile(sc, "float32", SCORE_NODATA), **open_kw) as d:
        d.write(score, 1)
    with rasterio.open(os.path.join(work, "class.tif"), "w", **grid_profile(sc, "uint8", 0), **open_kw) as d:
        d.write(cls, 1)


def load_zones(sc, sdir):
    import geopandas as gpd
    z = gpd.read_file(os.path.join(sdir, sc["aoi"]), layer=sc["aoi_layers"]["zones"], engine="pyogrio")
    return z.to_crs(sc["grid"]["crs"])


# ----------------------------------------------------------------- peer a: GDAL CLI
def peer_a(sdir, work, st):
    sc = load_scenario(sdir)
    g = sc["grid"]
    with st.stage("warp"):
        for k in LAYERS:
            st.run(["gdalwarp", "-q", "-overwrite", "-t_srs", g["crs"],
                    "-te", str(g["xmin"]), str(g["ymin"]), str(g["xmax"]), str(g["ymax"]),
                    "-tr", "100", "100", "-r", "bilinear", "-ot", "Float32",
                    "-multi", "-wo", "NUM_THREADS=ALL_CPUS",
                    "-co", "COMPRESS=DEFLATE", "-co", "TILED=YES", "-co", "BIGTIFF=IF_SAFER",
                    os.path.join(sdir, sc["inputs"][k]), os.path.join(work, f"w_{k}.tif")])
    with st.stage("score"):
        import numpy as np
        import rasterio
        arrays = {}
        for k in LAYERS:
            with rasterio.open(os.path.join(work, f"w_{k}.tif")) as ds:
                a = ds.read(1).astype(np.float32, copy=False)
                if ds.nodata is not None:
                    a[a == np.float32(ds.nodata)] = np.nan
                arrays[k] = a
        score, cls = score_arrays(arrays, sc)
        del arrays
        write_outputs(sc, work, score, cls)
        del score, cls
    with st.stage("zonal"):
        from exactextract import exact_extract
        zones = load_zones(sc, sdir)
        m = exact_extract(os.path.join(work, "score.tif"), zones, ["mean"],
                          include_cols=["adm2_id"], output="pandas")
        c = exact_extract(os.path.join(work, "class.tif"), zones, ["count", "unique", "frac"],
                          include_cols=["adm2_id"], output="pandas")
        rows = []
        for (_, r1), (_, r2) in zip(m.iterrows(), c.iterrows()):
            row = {"adm2_id": int(r1["adm2_id"]), "mean": float(r1["mean"])}
            for u, fr in zip(r2["unique"], r2["frac"]):
                row[f"ha_{int(u)}"] = float(fr) * float(r2["count"]) * sc["pixel_area_ha"]
            rows.append(row)
        _write_zonal(work, rows)


def _write_zonal(work, rows):
    with open(os.path.join(work, "zonal.json"), "w") as f:
        json.dump(rows, f)


# ----------------------------------------------------------------- peer b: rioxarray + rasterstats
def peer_b(sdir, work, st):
    sc = load_scenario(sdir)
    g = sc["grid"]
    with st.stage("warp"):
        import numpy as np
        import rioxarray  # noqa: F401
        import xarray as xr
        from rasterio.enums import Resampling
        from affine import Affine
        tr = Affine(*g["transform"])
        xs = g["xmin"] + (np.arange(g["width"]) + 0.5) * g["res"]
        ys = g["ymax"] - (np.arange(g["height"]) + 0.5) * g["res"]
        template = xr.DataArray(np.zeros((g["height"], g["width"]), np.uint8),
                                coords={"y": ys, "x": xs}, dims=("y", "x"))
        template = template.rio.write_crs(g["crs"]).rio.write_transform(tr)
        arrays = {}
        for k in LAYERS:
            da = rioxarray.open_rasterio(os.path.join(sdir, sc["inputs"][k]), masked=True).squeeze("band", drop=True)
            out = da.rio.reproject_match(template, resampling=Resampling.bilinear)
            arrays[k] = out.values.astype(np.float32, copy=False)
            del da, out
    with st.stage("score"):
        score, cls = score_arrays(arrays, sc)
        del arrays
        sda = xr.DataArray(score, coords={"y": ys, "x": xs}, dims=("y", "x")).rio.write_crs(g["crs"])
        sda = sda.rio.write_transform(tr).rio.write_nodata(SCORE_NODATA)
        sda.rio.to_raster(os.path.join(work, "score.tif"), compress="DEFLATE", tiled=True)
        cda = xr.DataArray(cls, coords={"y": ys, "x": xs}, dims=("y", "x")).rio.write_crs(g["crs"])
        cda = cda.rio.write_transform(tr).rio.write_nodata(0)
        cda.rio.to_raster(os.path.join(work, "class.tif"), compress="DEFLATE", tiled=True)
        del score, cls, sda, cda
    with st.stage("zonal"):
        from rasterstats import zonal_stats
        zones = load_zones(sc, sdir)
        m = zonal_stats(zones, os.path.join(work, "score.tif"), stats=["mean"])
        c = zonal_stats(zones, os.path.join(work, "class.tif"), categorical=True)
        rows = []
        for zid, r1, r2 in zip(zones["adm2_id"], m, c):
            row = {"adm2_id": int(zid), "mean": r1["mean"]}
            for u, n in r2.items():
                row[f"ha_{int(u)}"] = float(n) * sc["pixel_area_ha"]
            rows.append(row)
        _write_zonal(work, rows)


# ----------------------------------------------------------------- peer c: xarray-spatial zonal
def peer_c(sdir, work, st, src_work):
    sc = load_scenario(sdir)
    g = sc["grid"]
    with st.stage("zonal"):
        import numpy as np
        import rasterio
        import xarray as xr
        from affine import Affine
        from rasterio import features
        from xrspatial import zonal
        zones = load_zones(sc, sdir)
        zid = features.rasterize(zip(zones.geometry, zones["adm2_id"]), out_shape=(g["height"], g["width"]),
                                 transform=Affine(*g["transform"]), fill=0, dtype="int32")
        with rasterio.open(os.path.join(src_work, "score.tif")) as ds:
            score = ds.read(1)
        score[score == np.float32(SCORE_NODATA)] = np.nan
        with rasterio.open(os.path.join(src_work, "class.tif")) as ds:
            cls = ds.read(1)
        zda = xr.DataArray(zid, dims=("y", "x"))
        ids = [int(i) for i in zones["adm2_id"]]
        s = zonal.stats(zones=zda, values=xr.DataArray(score, dims=("y", "x")), zone_ids=ids,
                        stats_funcs=["mean", "count"])
        # NB: xarray-spatial 0.5.3 crosstab(cat_ids=[1,2,3,4]) adds the pixels of categories
        # not listed (class 0 = nodata) to the first listed one, so count all and drop 0
        ct = zonal.crosstab(zones=zda, values=xr.DataArray(cls, dims=("y", "x")), zone_ids=ids)
        s = s.set_index("zone")
        ct = ct.set_index("zone")
        rows = []
        for i in ids:
            row = {"adm2_id": i, "mean": float(s.loc[i, "mean"])}
            for k in (1, 2, 3, 4):
                v = float(ct.loc[i, k]) if k in ct.columns else 0.0
                if v:
                    row[f"ha_{k}"] = v * sc["pixel_area_ha"]
            rows.append(row)
        _write_zonal(work, rows)


# ----------------------------------------------------------------- peer d: I/O floor
def peer_d(sdir, work, st, src_work):
    sc = load_scenario(sdir)
    g = sc["grid"]
    import numpy as np
    import rasterio
    # content to write: a real score/class grid (loaded before timing)
    if os.path.exists(os.path.join(src_work, "score.tif")):
        with rasterio.open(os.path.join(src_work, "score.tif")) as ds:
            score = ds.read(1)
        with rasterio.open(os.path.join(src_work, "class.tif")) as ds:
            cls = ds.read(1)
    else:
        rng = np.random.default_rng(0)
        score = rng.random((g["height"], g["width"]), dtype=np.float32)
        cls = (score * 4).astype(np.uint8) + 1
    paths = [os.path.join(sdir, sc["inputs"][k]) for k in LAYERS]
    for p in paths:  # warm the page cache so we time decompression, not the disk
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    for label, kw in (("read_inputs_1t", {}), ("read_inputs_mt", {"num_threads": "ALL_CPUS"})):
        with st.stage(label):
            for p in paths:
                with rasterio.open(p, **kw) as ds:
                    ds.read(1)
    for label, kw in (("write_score_1t", {}), ("write_score_mt", {"num_threads": "ALL_CPUS"})):
        with st.stage(label):
            with rasterio.open(os.path.join(work, "floor_score.tif"), "w",
                               **grid_profile(sc, "float32", SCORE_NODATA), **kw) as d:
                d.write(score, 1)
    for label, kw in (("write_class_1t", {}), ("write_class_mt", {"num_threads": "ALL_CPUS"})):
        with st.stage(label):
            with rasterio.open(os.path.join(work, "floor_class.tif"), "w",
                               **grid_profile(sc, "uint8", 0), **kw) as d:
                d.write(cls, 1)
    # memory bandwidth: one pass over six float32 target-grid arrays (best of 5)
    arrs = [np.full((g["height"], g["width"]), i + 0.5, np.float32) for i in range(6)]
    out = np.empty_like(arrs[0])
    best_sum, best_min = 1e9, 1e9
    for _ in range(5):
        t = time.perf_counter()
        for a in arrs:
            a.sum()
        best_sum = min(best_sum, time.perf_counter() - t)
        t = time.perf_counter()
        np.minimum(arrs[0], arrs[1], out=out)
        for a in arrs[2:]:
            np.minimum(out, a, out=out)
        best_min = min(best_min, time.perf_counter() - t)
    nbytes = sum(a.nbytes for a in arrs)
    st.rows["membw_read6"] = {"wall": round(best_sum, 4), "cpu": round(best_sum, 4), "rss_mib": 0,
                              "gb_s": round(nbytes / best_sum / 1e9, 2)}
    st.rows["membw_min6"] = {"wall": round(best_min, 4), "cpu": round(best_min, 4), "rss_mib": 0}


# ----------------------------------------------------------------- driver
def child_main(args):
    st = Stages()
    t0 = time.perf_counter()
    work = os.path.join(args.scenario, f"work_{args.run_peer}")
    os.makedirs(work, exist_ok=True)
    if args.run_peer == "a":
        peer_a(args.scenario, work, st)
    elif args.run_peer == "b":
        peer_b(args.scenario, work, st)
    elif args.run_peer == "c":
        peer_c(args.scenario, work, st, os.path.join(args.scenario, "work_b"))
    elif args.run_peer == "d":
        peer_d(args.scenario, work, st, os.path.join(args.scenario, "work_a"))
    print("@@RESULT " + json.dumps({"stages": st.rows, "inner_wall": time.perf_counter() - t0}), flush=True)


def run_once(scenario, peer, timeout):
    cmd = [sys.executable, HERE, "--scenario", scenario, "--run-peer", peer]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return {"timeout": timeout}
    finally:
        pass
    wall = time.perf_counter() - t0
    # process already reaped by communicate(); rusage of that child via RUSAGE_CHILDREN deltas
    res = None
    for line in out.splitlines():
        if line.startswith("@@RESULT "):
            res = json.loads(line[9:])
    if res is None or p.returncode != 0:
        raise RuntimeError(f"peer {peer} failed rc={p.returncode}")
    res["wall"] = round(wall, 3)
    res["load1_before"] = load
    return res


def run_measured(scenario, peer, timeout):
    """Like run_once but with whole-process CPU and peak RSS from getrusage(CHILDREN)."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = run_once(scenario, peer, timeout)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if "timeout" in res:
        return res
    res["cpu"] = round(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime, 3)
    # ru_maxrss of RUSAGE_CHILDREN is the max over all reaped descendants so far: monotonic, so
    # use the per-stage figures (VmHWM reset per stage) for the peak of this run
    res["rss_mib"] = max(s["rss_mib"] for s in res["stages"].values())
    return res


def calibrate(n=8):
    """Fixed single-thread CPU + memory workload, to show the machine's noise."""
    import numpy as np
    a = np.arange(20_000_000, dtype=np.float64)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        s = 0
        for i in range(2_000_000):
            s += i * i
        np.sqrt(a).sum()
        ts.append(time.perf_counter() - t)
    ts = ts[1:]  # first run is warm-up
    return {"runs": [round(x, 4) for x in ts], "median": round(statistics.median(ts), 4),
            "spread_pct": round(100 * (max(ts) - min(ts)) / statistics.median(ts), 1)}


def median_of(runs):
    out = {"n": len(runs)}
    for key in ("wall", "cpu", "rss_mib"):
        out[key] = round(statistics.median(r[key] for r in runs), 3)
    out["wall_min"] = round(min(r["wall"] for r in runs), 3)
    out["wall_max"] = round(max(r["wall"] for r in runs), 3)
    stages = {}
    for name in runs[0]["stages"]:
        stages[name] = {k: round(statistics.median(r["stages"][name][k] for r in runs), 4)
                        for k in runs[0]["stages"][name]}
        stages[name]["wall_all"] = [r["stages"][name]["wall"] for r in runs]
    out["stages"] = stages
    return out


def compare(scenario, pa, pb, label):
    fa, fb = (os.path.join(scenario, f"work_{p}", "zonal.json") for p in (pa, pb))
    if not (os.path.exists(fa) and os.path.exists(fb)):
        return None
    A = {r["adm2_id"]: r for r in json.load(open(fa))}
    B = {r["adm2_id"]: r for r in json.load(open(fb))}
    rel, ha_rel, n_bad, n_nan = [], [], 0, 0
    for i, ra in A.items():
        rb = B.get(i)
        if rb is None or ra["mean"] is None or rb["mean"] is None or ra["mean"] != ra["mean"] or rb["mean"] != rb["mean"]:
            n_nan += 1  # all-nodata zone (under the lake) or no pixel centre inside
            continue
        r = abs(ra["mean"] - rb["mean"]) / max(abs(ra["mean"]), 1e-9)
        rel.append(r)
        n_bad += r > 1e-3
        tot = max(sum(v for k, v in ra.items() if k.startswith("ha_")),
                  sum(v for k, v in rb.items() if k.startswith("ha_")), 1.0)
        for k in ("ha_1", "ha_2", "ha_3", "ha_4"):
            ha_rel.append(abs(ra.get(k, 0) - rb.get(k, 0)) / tot)
    rel.sort()
    ha_rel.sort()
    return {"pair": label, "zones": len(rel), "zones_skipped_nodata": n_nan, "mean_rel_max": rel[-1], "mean_rel_median": rel[len(rel) // 2],
            "zones_over_1e-3": int(n_bad), "class_ha_diff_max_frac_of_zone": ha_rel[-1],
            "class_ha_diff_median_frac": ha_rel[len(ha_rel) // 2]}


def compare_pixels(scenario):
    import numpy as np
    import rasterio
    fa, fb = (os.path.join(scenario, f"work_{p}", "score.tif") for p in "ab")
    if not (os.path.exists(fa) and os.path.exists(fb)):
        return None
    a = rasterio.open(fa).read(1)
    b = rasterio.open(fb).read(1)
    va, vb = a != SCORE_NODATA, b != SCORE_NODATA
    both = va & vb
    d = np.abs(a[both] - b[both])
    return {"valid_a": int(va.sum()), "valid_b": int(vb.sum()), "nodata_mismatch": int((va != vb).sum()),
            "absdiff_max": float(d.max()), "absdiff_mean": float(d.mean()),
            "frac_over_1e-3": float((d > 1e-3).mean())}


def driver(args):
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    results = {"scenario": args.scenario, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
               "load_before": os.getloadavg(), "calibration_before": calibrate(), "peers": {}}
    for peer in args.peers.split(","):
        runs = []
        for i in range(args.repeat):
            r = run_measured(args.scenario, peer, args.timeout)
            if "timeout" in r:
                print(f"peer {peer}: TIMEOUT after {args.timeout}s", flush=True)
                results["peers"][peer] = {"timeout": args.timeout}
                break
            runs.append(r)
            st = " ".join(f"{k}={v['wall']:.2f}s/{v['cpu']:.1f}c/{v['rss_mib']:.0f}M" for k, v in r["stages"].items())
            print(f"peer {peer} run {i+1}: wall {r['wall']:.2f}s cpu {r['cpu']:.1f}s peak {r['rss_mib']:.0f} MiB | {st}",
                  flush=True)
            if r["wall"] > args.single_above:
                break
        if runs:
            results["peers"][peer] = {"median": median_of(runs), "runs": runs}
    results["calibration_after"] = calibrate()
    results["load_after"] = os.getloadavg()
    results["agreement"] = [x for x in (compare(args.scenario, "a", "b", "exactextract vs rasterstats"),
                                        compare(args.scenario, "a", "c", "exactextract vs xrspatial"),
                                        compare(args.scenario, "b", "c", "rasterstats vs xrspatial")) if x]
    results["score_pixels_a_vs_b"] = compare_pixels(args.scenario)
    print("score pixels a vs b:", results["score_pixels_a_vs_b"])
    for a in results["agreement"]:
        print("agreement:", json.dumps(a))
    print("calibration before/after:", results["calibration_before"], results["calibration_after"])
    os.makedirs(os.path.join(args.scenario, "results"), exist_ok=True)
    path = args.json or os.path.join(args.scenario, "results", f"peers-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--peers", default="a,b,c,d")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--single-above", type=float, default=60.0,
                    help="do not repeat a peer whose first run took longer than this (s)")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--run-peer", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.scenario = os.path.abspath(args.scenario)
    if args.run_peer:
        child_main(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
