#!/usr/bin/env python3
"""gies vs the peer workflows on the national benchmark scenario: one table.

    python bench/run.py --size 2000 [--repeat 1] [--out results.json] [--peers a,b,c,d,e]
                        [--cache bench/.cache] [--no-gies] [--no-origin] [--timeout 1800]

1. Generates the scenario of size N (bench/make_scenario.py) once per N, cached under
   ``--cache`` (default ``bench/.cache/s<N>``, git-ignored).
2. Writes the gies pipeline for it (``<scenario>/gies-bench.yaml``; profile
   ``bench/bench-profile.yaml``): the peers' job, bilinear onto the scenario's 100 m LAEA grid,
   score = minimum of the 6 ECOCROP trapezoids, classes at 0.25/0.5/0.75, score + class
   rasters, zone table (mean score, hectares per class).
3. Runs, each in a fresh process and back to back: peer a (GDAL CLI + numpy + exactextract),
   b (rioxarray + numpy + rasterstats), c (b's rasters + xarray-spatial zonal), d (I/O floor:
   decode inputs, write the score grid), e (GDAL warp floor: each distinct source grid warped
   once, in memory, both cores; bench/floor_warp.py), gies (bench/gies_child.py) and, unless
   ``--no-origin``, gies with the origin analysis (``gies-bench-origin.yaml``: the first zone as
   the origin, BIOCLIM and MESS of the six layers, the agreement map).
4. Prints one table: wall, CPU, peak RSS per pass and per process, ratios to the floors and
   to every peer, the targets, and how far gies's results are from peer a's.

Process peak RSS: the largest sum of RSS over the process and all its descendants, sampled
every 20 ms with psutil, and never less than the kernel's ru_maxrss of the process. Process CPU:
user + system of the process and its waited-for children (os.wait4).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from peers import LAYERS, calibrate  # noqa: E402

PY = sys.executable
GIES_CLASS_TO_PEER = {"N": 1, "S3": 2, "S2": 3, "S1": 4}


# ------------------------------------------------------------------ scenario + pipeline
def ensure_scenario(size: int, cache: str) -> str:
    sdir = os.path.abspath(os.path.join(cache, f"s{size}"))
    if not os.path.exists(os.path.join(sdir, "scenario.json")):
        print(f"generating scenario N={size} in {sdir} ...", flush=True)
        subprocess.run([PY, os.path.join(HERE, "make_scenario.py"), "--size", str(size),
                        "--out", sdir], check=True)
    return sdir


def _zones_block(sc) -> dict:
    """The ``zones`` key in the form the installed gies expects (one layer, or named layers)."""
    zl = sc["aoi_layers"]
    one = {"path": sc["aoi"], "layer": zl["zones"], "id_field": zl["zone_id"],
           "name_field": "adm2_name"}
    try:
        from gies.config import Pipeline

        ann = str(Pipeline.model_fields["zones"].annotation)
        if ann.startswith("dict"):
            return {"adm2": one}
    except Exception:
        pass
    return one


def _bilinear() -> dict:
    """``resampling: bilinear`` where gies would otherwise pick its own method (it averages when
    the source is finer than the grid, e.g. the 3" DEM): the peers all warp bilinear."""
    try:
        from gies.config import LayerSpec

        if "resampling" in LayerSpec.model_fields:
            return {"resampling": "bilinear"}
    except Exception:
        pass
    return {}


def _outputs_block() -> dict:
    """``outputs``: the peers' outputs only (score and class rasters, zone table): no factor
    score rasters, no maps/styles/report, no Excel workbook, where gies lets a pipeline say so."""
    out = {"dir": "gies-out"}
    try:
        from gies.config import OutputSpec

        for key in ("factor_scores", "publish", "xlsx", "map"):
            if key in OutputSpec.model_fields:
                out[key] = False
    except Exception:
        pass
    return out


def write_pipeline(sdir: str, chunk: int = 1024) -> str:
    """``<sdir>/gies-bench.yaml`` doing the peers' job on the scenario's exact grid."""
    import yaml

    with open(os.path.join(sdir, "scenario.json")) as f:
        sc = json.load(f)
    g = sc["grid"]
    profile = os.path.join(HERE, "bench-profile.yaml")
    with open(profile) as f:
        limits = yaml.safe_load(f)["limit_sets"]["scenario"]["limits"]
    for k in LAYERS:
        if [float(v) for v in limits[k]] != [float(v) for v in sc["trapezoids"][k]]:
            raise SystemExit(f"bench-profile.yaml: limits of {k} {limits[k]} differ from "
                             f"scenario.json {sc['trapezoids'][k]}")
    # The peers' grid is the box [xmin, xmax] x [ymin, ymax] at 100 m with the scenario's origin.
    # gies derives {crs, resolution} grids from the AOI bounds snapped outwards to multiples of
    # the resolution: with the AOI = that box (whose corners are multiples of 100 m for even N)
    # the grids are identical. (The peers score the whole box too: they do not mask by the
    # country polygon.) run.py checks the grid gies wrote against scenario.json.
    units = {"tavg": "degC", "prec": "mm", "phh2o": "pH*10", "clay": "g/kg", "soc": "dg/kg",
             "dem": "m"}
    p = {
        "format_version": 1,
        "name": f"bench-s{sc['size']}",
        "title": f"gies benchmark scenario N={sc['size']}",
        "aoi": {"bounds": [g["xmin"], g["ymin"], g["xmax"], g["ymax"]], "crs": g["crs"]},
        "zones": _zones_block(sc),
        "grid": {"crs": g["crs"], "resolution": g["res"]},
        "layers": {k: {"path": sc["inputs"][k], "units": units[k], **_bilinear()} for k in LAYERS},
        "product": {"profile": os.path.relpath(profile, sdir), "limit_set": "scenario"},
        "factors": {k: {"layer": k} for k in LAYERS},
        "combine": {"rule": "minimum"},
        "classify": {"scheme": "fao", "thresholds": {"S1": sc["class_breaks"][2],
                                                      "S2": sc["class_breaks"][1],
                                                      "S3": sc["class_breaks"][0]}},
        "outputs": _outputs_block(),
        "processing": {"chunk": chunk},
    }
    path = os.path.join(sdir, "gies-bench.yaml")
    with open(path, "w") as f:
        f.write("# Generated by bench/run.py from scenario.json: the peers' job (see bench/README.md).\n")
        yaml.safe_dump(p, f, sort_keys=False)
    return path


def write_origin_pipeline(sdir: str, chunk: int = 1024) -> str:
    """``<sdir>/gies-bench-origin.yaml``: the same job plus the origin analysis, the origin
    being the first zone of the scenario (its polygon), described by the six layers, with
    BIOCLIM and MESS (and the agreement map) written in the same pass."""
    import geopandas as gpd
    import yaml

    with open(os.path.join(sdir, "gies-bench.yaml")) as f:
        p = yaml.safe_load(f)
    with open(os.path.join(sdir, "scenario.json")) as f:
        sc = json.load(f)
    zl = sc["aoi_layers"]
    aoi = sc["aoi"] if os.path.isabs(sc["aoi"]) else os.path.join(sdir, sc["aoi"])
    zones = gpd.read_file(aoi, layer=zl["zones"])
    first = zones[zl["zone_id"]].iloc[0]
    value = f"'{first}'" if isinstance(first, str) else str(first)
    p["name"] = f"bench-origin-s{sc['size']}"
    p["origin"] = {"area": {"path": aoi, "layer": zl["zones"],
                            "where": f"{zl['zone_id']} == {value}"},
                   "variables": list(LAYERS), "max_samples": 10000, "seed": 1}
    p["similarity"] = {"methods": ["bioclim", "mess"]}
    path = os.path.join(sdir, "gies-bench-origin.yaml")
    with open(path, "w") as f:
        f.write("# Generated by bench/run.py: the benchmark job plus the origin analysis.\n")
        yaml.safe_dump(p, f, sort_keys=False)
    return path


# ------------------------------------------------------------------ measured child processes
def measured(cmd: list[str], timeout: float, env=None) -> dict:
    """Run ``cmd``; wall, CPU (self + waited children), peak RSS of the process tree."""
    import psutil

    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    proc = psutil.Process(p.pid)
    peak = 0
    import threading

    out_chunks, err_chunks = [], []
    th_o = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()))
    th_e = threading.Thread(target=lambda: err_chunks.append(p.stderr.read()))
    th_o.start()
    th_e.start()
    status, ru = None, None
    while True:
        pid, st, r = os.wait4(p.pid, os.WNOHANG)
        if pid:
            status, ru = st, r
            break
        try:
            tree = [proc] + proc.children(recursive=True)
            rss = 0
            for q in tree:
                try:
                    rss += q.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.perf_counter() - t0 > timeout:
            p.kill()
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    th_o.join()
    th_e.join()
    out, err = "".join(out_chunks), "".join(err_chunks)
    res = None
    for line in out.splitlines():
        if line.startswith("@@RESULT "):
            res = json.loads(line[9:])
    if p.returncode != 0 or res is None:
        raise RuntimeError(f"failed (rc={p.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    res["wall"] = round(wall, 3)
    res["cpu"] = round(ru.ru_utime + ru.ru_stime, 3)
    res["rss_mib"] = round(max(peak / 2**20, ru.ru_maxrss / 1024), 1)
    return res


def run_peer(sdir, peer, timeout):
    if peer == "e":
        return measured([PY, os.path.join(HERE, "floor_warp.py"), "--scenario", sdir], timeout)
    if peer == "z":
        return measured([PY, os.path.join(HERE, "zonal_child.py"), "--scenario", sdir], timeout)
    return measured([PY, os.path.join(HERE, "peers.py"), "--scenario", sdir, "--run-peer", peer],
                    timeout)


def run_gies(sdir, pipeline, timeout):
    res = measured([PY, os.path.join(HERE, "gies_child.py"), pipeline], timeout)
    t = res["timings_s"]
    stages = {}
    for name, wall in t.items():
        if name == "total":
            continue
        row = {"wall": wall}
        pu = res.get("passes", {}).get(name)
        if pu:
            row.update(cpu=pu["cpu"], rss_mib=pu["rss_mib"])
        stages[name] = row
    if "total" in t:
        # python start-up, imports and the manifest itself: outside gies's timed passes
        stages["(start-up, imports, untimed)"] = {"wall": round(res["wall"] - t["total"], 3)}
    res["stages"] = stages
    return res


# ------------------------------------------------------------------ checks against peer a
def exact_reference(sdir) -> str | None:
    """Peer a's score computed from ``gdalwarp -et 0`` warps (exact transformer), made once per
    scenario in ``<sdir>/ref_et0/score.tif``. Peer a itself uses gdalwarp's default
    approximate transformer (error up to 0.125 source pixel), which on the rough soil layers
    moves values by up to ~5 % (clay), so it is not a pixel-level reference."""
    import shutil

    import numpy as np
    import rasterio
    from peers import score_arrays, write_outputs

    ref = os.path.join(sdir, "ref_et0")
    if os.path.exists(os.path.join(ref, "score.tif")):
        return os.path.join(ref, "score.tif")
    if shutil.which("gdalwarp") is None:
        return None
    with open(os.path.join(sdir, "scenario.json")) as f:
        sc = json.load(f)
    g = sc["grid"]
    os.makedirs(ref, exist_ok=True)
    arrays = {}
    for k in LAYERS:
        out = os.path.join(ref, f"w_{k}.tif")
        subprocess.run(["gdalwarp", "-q", "-overwrite", "-t_srs", g["crs"], "-te", str(g["xmin"]),
                        str(g["ymin"]), str(g["xmax"]), str(g["ymax"]), "-tr", str(g["res"]),
                        str(g["res"]), "-r", "bilinear", "-ot", "Float32", "-et", "0", "-multi",
                        "-wo", "NUM_THREADS=ALL_CPUS", "-co", "TILED=YES",
                        "-co", "BIGTIFF=IF_SAFER", os.path.join(sdir, sc["inputs"][k]), out],
                       check=True)
        with rasterio.open(out) as ds:
            a = ds.read(1).astype(np.float32, copy=False)
            if ds.nodata is not None:
                a[a == np.float32(ds.nodata)] = np.nan
        arrays[k] = a
        os.remove(out)
    score, cls = score_arrays(arrays, sc)
    del arrays
    write_outputs(sc, ref, score, cls)
    return os.path.join(ref, "score.tif")


def _pixel_agreement(fa, fg) -> dict:
    import numpy as np
    import rasterio

    with rasterio.open(fa) as A, rasterio.open(fg) as G:
        if A.shape != G.shape:
            return {}
        a, gg = A.read(1), G.read(1)
    va, vg = a != np.float32(-9999.0), np.isfinite(gg)
    both = va & vg
    d = np.abs(a[both] - gg[both])
    rel = d / np.maximum(np.abs(a[both]), 1e-12)
    return {"nodata_mismatch": int((va != vg).sum()),
            "absdiff_max": float(d.max()) if d.size else None,
            "absdiff_mean": float(d.mean()) if d.size else None,
            "frac_over_1e-3": float((d > 1e-3).mean()) if d.size else None,
            "frac_within_1e-4_rel": float((rel <= 1e-4).mean()) if d.size else None}


def check_gies(sdir, gies_dir, sc) -> dict:
    """Grid, pixel and zone agreement of gies's outputs with peer a's."""
    import glob

    import numpy as np
    import pandas as pd
    import rasterio

    out = {}
    fa = os.path.join(sdir, "work_a", "score.tif")
    fg = os.path.join(gies_dir, "suitability.tif")
    if os.path.exists(fa) and os.path.exists(fg):
        with rasterio.open(fa) as A, rasterio.open(fg) as G:
            out["grid_equal"] = bool(A.shape == G.shape and A.transform.almost_equals(G.transform)
                                     and A.crs == G.crs)
            out["gies_grid"] = {"shape": G.shape, "transform": list(G.transform)[:6]}
            if A.shape == G.shape:
                a, gg = A.read(1), G.read(1)
                va, vg = a != np.float32(-9999.0), np.isfinite(gg)
                both = va & vg
                d = np.abs(a[both] - gg[both])
                out["pixels"] = {"nodata_mismatch": int((va != vg).sum()),
                                 "absdiff_max": float(d.max()) if d.size else None,
                                 "absdiff_mean": float(d.mean()) if d.size else None,
                                 "frac_over_1e-3": float((d > 1e-3).mean()) if d.size else None}
    fr = exact_reference(sdir)
    if fr and os.path.exists(fg):
        out["pixels_vs_gdalwarp_et0"] = _pixel_agreement(fr, fg)
    za = os.path.join(sdir, "work_a", "zonal.json")
    zg = sorted(glob.glob(os.path.join(gies_dir, "**", "zone_stats*.csv"), recursive=True))
    if os.path.exists(za) and zg:
        A = {r["adm2_id"]: r for r in json.load(open(za))}
        G = pd.read_csv(zg[0])
        idcol = "zone_id" if "zone_id" in G.columns else G.columns[0]
        rel, har = [], []
        for _, r in G.iterrows():
            ra = A.get(int(r[idcol]))
            if ra is None or ra["mean"] is None or ra["mean"] != ra["mean"] or r.get("score_mean") != r.get("score_mean"):
                continue
            rel.append(abs(ra["mean"] - r["score_mean"]) / max(abs(ra["mean"]), 1e-9))
            tot = max(float(r.get("area_ha", 0)), 1.0)
            for cls, code in GIES_CLASS_TO_PEER.items():
                if f"{cls}_ha" in r:
                    har.append(abs(ra.get(f"ha_{code}", 0.0) - float(r[f"{cls}_ha"])) / tot)
        if rel:
            out["zones"] = {"file": os.path.relpath(zg[0], gies_dir), "n": len(rel),
                            "mean_rel_max": max(rel), "mean_rel_median": statistics.median(rel),
                            "class_ha_diff_max_frac": max(har) if har else None}
    return out


# ------------------------------------------------------------------ table
NAMES = {"a": "a GDAL CLI+numpy+exactextract", "b": "b rioxarray+numpy+rasterstats",
         "c": "c = b.warp+b.score+c.zonal (xarray-spatial)", "d": "d I/O floor",
         "e": "e GDAL warp floor", "gies": "gies", "gies_origin": "gies + origin (BIOCLIM, MESS)",
         "z": "z gies zonal step alone (a's rasters)"}


def med(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarise(results) -> dict:
    """Median per tool: process totals and per-stage rows."""
    S = {}
    for tool, runs in results["runs"].items():
        if not runs:
            continue
        stages = {}
        for name in runs[0]["stages"]:
            stages[name] = {k: med([r["stages"][name] for r in runs if name in r["stages"]], k)
                            for k in ("wall", "cpu", "rss_mib")}
        S[tool] = {"wall": med(runs, "wall"), "cpu": med(runs, "cpu"), "rss_mib": med(runs, "rss_mib"),
                   "stages": stages, "n": len(runs)}
    if "b" in S and "c" in S:  # c's total is b's warp + score + c's zonal (as report_tables.py)
        sb, sc_ = S["b"]["stages"], S["c"]["stages"]
        c = {"warp": sb["warp"], "score": sb["score"], "zonal": sc_["zonal"]}
        S["c"]["stages"] = c
        S["c"]["wall"] = sum(v["wall"] for v in c.values())
        S["c"]["cpu"] = sum(v["cpu"] for v in c.values())
        S["c"]["rss_mib"] = max(v["rss_mib"] for v in c.values())
        S["c"]["note"] = "stage sum (b's warp+score, c's zonal); c's own process only does zonal"
    fl = {}
    if "d" in S:
        d = S["d"]["stages"]
        fl["d_read"] = min(d["read_inputs_1t"]["wall"], d["read_inputs_mt"]["wall"])
        fl["d_write_score"] = min(d["write_score_1t"]["wall"], d["write_score_mt"]["wall"])
        fl["d_write_class"] = min(d["write_class_1t"]["wall"], d["write_class_mt"]["wall"])
        fl["d"] = fl["d_read"] + fl["d_write_score"]
    if "e" in S:
        fl["e"] = sum(v["wall"] for v in S["e"]["stages"].values())
    if "a" in S:
        fl["a_zonal"] = S["a"]["stages"]["zonal"]["wall"]
    if "z" in S:
        fl["gies_zonal_alone"] = S["z"]["stages"]["zonal"]["wall"]
    if {"e", "d_write_score", "a_zonal"} <= fl.keys():
        fl["target_abs"] = fl["e"] + fl["d_write_score"] + fl["a_zonal"]
    results["floors"] = fl
    results["summary"] = S
    return S


def _f(v, fmt="{:.2f}"):
    return "" if v is None else fmt.format(v)


def table(results) -> str:
    S, fl = results["summary"], results["floors"]
    L = []
    m = results["machine"]
    L.append(f"### N={results['size']} ({results['size']**2/1e6:.0f} Mpx), {results['started']}, "
             f"repeat {results['repeat']} (medians)")
    L.append(f"machine: {m['cpus']} cores, {m['mem_gib']} GiB, {m['cpu_model']}; {m['python']}, "
             f"GDAL {m['gdal']}; load1 before/after {results['load_before']:.2f}/{results['load_after']:.2f}; "
             f"calibration {results['calibration_before']['median']:.3f}/{results['calibration_after']['median']:.3f} s")
    L.append("")
    peers = [k for k in ("a", "b", "c") if k in S]
    hdr = "| tool | pass | wall s | CPU s | CPU/wall | peak RSS MiB | wall / e | wall / d |"
    hdr += "".join(f" gies wall ÷ {k} |" for k in peers) if "gies" in S else ""
    L.append(hdr)
    L.append("|" + "---|" * (hdr.count("|") - 1))
    ratio_cols = len(peers) if "gies" in S else 0
    for tool in ("gies", "gies_origin", "z", "a", "b", "c", "d", "e"):
        if tool not in S:
            continue
        s = S[tool]
        for name, v in s["stages"].items():
            par = (v["cpu"] / v["wall"]) if v.get("cpu") is not None and v["wall"] else None
            L.append(f"| {tool} | {name} | {_f(v['wall'])} | {_f(v.get('cpu'))} | {_f(par, '{:.1f}')} | "
                     f"{_f(v.get('rss_mib'), '{:.0f}')} | | |" + " |" * ratio_cols)
        w = s["wall"]
        re_ = w / fl["e"] if fl.get("e") else None
        rd = w / fl["d"] if fl.get("d") else None
        ratios = ""
        if ratio_cols:
            ratios = "".join(f" {_f(w / S[k]['wall']) if tool.startswith('gies') else ''} |"
                             for k in peers)
        label = "**total (process)**" if tool != "c" else "**total (stage sum)**"
        if tool in ("d", "e"):
            label = "**floor**" + (" (read + write score)" if tool == "d" else " (sum of grids)")
            w_show = fl.get(tool)
        else:
            w_show = w
        L.append(f"| {NAMES[tool]} | {label} | **{_f(w_show)}** | {_f(s['cpu'])} | "
                 f"{_f(s['cpu'] / s['wall'] if s['wall'] else None, '{:.1f}')} | {_f(s['rss_mib'], '{:.0f}')} | "
                 f"{_f(re_) if tool not in ('d', 'e') else ''} | {_f(rd) if tool not in ('d', 'e') else ''} |" + ratios)
    L.append("")
    if fl:
        L.append("Floors: " + ", ".join(f"{k} = {v:.3f} s" for k, v in fl.items()))
    if "gies" in S:
        g = S["gies"]
        fastest = min((S[k]["wall"], k) for k in peers) if peers else None
        L.append("")
        L.append("Targets (stated for N=8000; shown here at this N):")
        if fastest:
            L.append(f"- ≥ 3× faster than the fastest peer ({fastest[1]}, {fastest[0]:.2f} s): "
                     f"gies is {fastest[0] / g['wall']:.2f}× → {'MET' if fastest[0] / g['wall'] >= 3 else 'not met'}")
        if fl.get("target_abs"):
            r = g["wall"] / fl["target_abs"]
            L.append(f"- within 1.3× of e + d.write_score + a.zonal = {fl['target_abs']:.2f} s: "
                     f"gies is {r:.2f}× → {'MET' if r <= 1.3 else 'not met'}")
        L.append(f"- peak ≤ 1.5 GB (1430 MiB): gies {g['rss_mib']:.0f} MiB → "
                 f"{'MET' if g['rss_mib'] <= 1430 else 'not met'}")
    if fl.get("gies_zonal_alone") and fl.get("a_zonal"):
        r = fl["gies_zonal_alone"] / fl["a_zonal"]
        agr = results["runs"]["z"][-1].get("agreement", {})
        L.append(f"- zonal step within 1.5× of exactextract on the same rasters ({fl['a_zonal']:.2f} s): "
                 f"gies {fl['gies_zonal_alone']:.2f} s = {r:.2f}× → {'MET' if r <= 1.5 else 'not met'}; "
                 f"same numbers: zone means within {agr.get('mean_rel_max', float('nan')):.1e} (relative), "
                 f"class hectares within {agr.get('class_ha_diff_max_frac', float('nan')):.1e} of the zone area")
    if "gies" in S and "gies_origin" in S:
        g, o = S["gies"], S["gies_origin"]
        L.append("")
        L.append(f"Origin analysis (BIOCLIM + MESS + agreement, origin = one zone, 10,000 reference "
                 f"cells): +{o['wall'] - g['wall']:.2f} s wall ({(o['wall'] / g['wall'] - 1):+.0%}), "
                 f"+{o['cpu'] - g['cpu']:.1f} s CPU, peak {o['rss_mib']:.0f} MiB "
                 f"({o['rss_mib'] - g['rss_mib']:+.0f} MiB); origin pass "
                 f"{o['stages'].get('origin', {}).get('wall') or 0:.2f} s")
    chk = results.get("gies_check")
    if chk:
        L.append("")
        L.append("gies vs peer a: " + json.dumps(chk))
    return "\n".join(L)


def machine() -> dict:
    import psutil
    import rasterio

    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "mem_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu_model": model, "python": platform.python_version(), "gdal": rasterio.__gdal_version__,
            "platform": platform.platform()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=None, help="results JSON (default <scenario>/results/run-<time>.json)")
    ap.add_argument("--peers", default="a,b,c,d,e,z",
                    help="subset of a,b,c,d,e,z (z: gies's zonal step alone on a's rasters)")
    ap.add_argument("--no-gies", action="store_true")
    ap.add_argument("--no-origin", action="store_true",
                    help="leave out the origin-analysis variant of the gies job")
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--chunk", type=int, default=1024, help="gies processing.chunk")
    ap.add_argument("--timeout", type=float, default=1800.0)
    a = ap.parse_args()
    if a.size % 2:
        raise SystemExit("--size must be even (the grid's corners must be multiples of 100 m)")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sdir = ensure_scenario(a.size, a.cache)
    with open(os.path.join(sdir, "scenario.json")) as f:
        sc = json.load(f)
    pipeline = write_pipeline(sdir, chunk=a.chunk)
    tools = [p for p in a.peers.split(",") if p]
    # c needs b's rasters, d and z need a's
    order = [t for t in ("a", "b", "c", "d", "e", "z") if t in tools]
    if not a.no_gies:
        order.append("gies")
        if not a.no_origin:
            order.append("gies_origin")
            origin_pipeline = write_origin_pipeline(sdir, chunk=a.chunk)
    results = {"size": a.size, "scenario": sdir, "pipeline": pipeline, "repeat": a.repeat,
               "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
               "load_before": os.getloadavg()[0], "calibration_before": calibrate(4),
               "runs": {t: [] for t in order}}
    for i in range(a.repeat):
        for tool in order:
            if tool == "gies":
                r = run_gies(sdir, pipeline, a.timeout)
            elif tool == "gies_origin":
                r = run_gies(sdir, origin_pipeline, a.timeout)
            else:
                r = run_peer(sdir, tool, a.timeout)
            results["runs"][tool].append(r)
            print(f"[{i + 1}/{a.repeat}] {tool}: wall {r['wall']:.2f} s, CPU {r['cpu']:.1f} s, "
                  f"peak {r['rss_mib']:.0f} MiB", flush=True)
    results["load_after"] = os.getloadavg()[0]
    results["calibration_after"] = calibrate(4)
    if "gies" in order:
        results["gies_check"] = check_gies(sdir, results["runs"]["gies"][-1]["output_dir"], sc)
    summarise(results)
    text = table(results)
    results["table_md"] = text
    out = a.out or os.path.join(sdir, "results", f"run-{time.strftime('%Y%m%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print()
    print(text)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
