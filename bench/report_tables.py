#!/usr/bin/env python3
# Vendored from the shared benchmark kit (report_tables.py, shared with the peer study).
# Keep in sync by hand; local changes are marked 'gies:'.
"""Markdown tables (medians, floor, ratios) from peers.py result JSON files.

    python report_tables.py bench-data/s2000/results/final.json [more.json ...]
    python report_tables.py --project-wall 12.3 --project-cpu 20 --project-rss 900 final.json

--project-* adds a row for the project's own command (timed by the caller,
e.g. with /usr/bin/time -v) so it shows side by side, as a ratio to the floor.
"""
import argparse
import json
import os


def floor_of(d):
    s = d["median"]["stages"]
    read = min(s["read_inputs_1t"]["wall"], s["read_inputs_mt"]["wall"])
    write = min(s["write_score_1t"]["wall"], s["write_score_mt"]["wall"])
    cls = min(s["write_class_1t"]["wall"], s["write_class_mt"]["wall"])
    return {"read": read, "write": write, "class": cls, "floor": read + write,
            "floor_1t": s["read_inputs_1t"]["wall"] + s["write_score_1t"]["wall"],
            "membw_read6": s["membw_read6"]["wall"], "gb_s": s["membw_read6"].get("gb_s"),
            "membw_min6": s["membw_min6"]["wall"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--project-wall", type=float)
    ap.add_argument("--project-cpu", type=float)
    ap.add_argument("--project-rss", type=float)
    ap.add_argument("--project-label", default="gies (project)")
    a = ap.parse_args()
    for fn in a.files:
        R = json.load(open(fn))
        size = json.load(open(os.path.join(R["scenario"], "scenario.json")))["size"]
        P = R["peers"]
        print(f"\n### size {size} ({size*size/1e6:.0f} Mpx) - {os.path.basename(fn)}, started {R['started']}")
        cal = R["calibration_before"], R["calibration_after"]
        print(f"load1 before/after {R['load_before'][0]:.2f}/{R['load_after'][0]:.2f}; calibration median "
              f"{cal[0]['median']:.4f}s/{cal[1]['median']:.4f}s (spread {cal[0]['spread_pct']}%/{cal[1]['spread_pct']}%)\n")
        fl = floor_of(P["d"]) if "d" in P and "median" in P["d"] else None
        print("| peer | stage | wall s (median) | wall min-max | CPU s | peak RSS MiB | runs |")
        print("|---|---|---:|---:|---:|---:|---:|")
        totals = {}
        for peer in ("a", "b", "c"):
            if peer not in P or "median" not in P[peer]:
                if peer in P:
                    print(f"| {peer} | TIMEOUT {P[peer].get('timeout')} s | | | | | |")
                continue
            m = P[peer]["median"]
            for st, v in m["stages"].items():
                print(f"| {peer} | {st} | {v['wall']:.2f} | {min(v['wall_all']):.2f}-{max(v['wall_all']):.2f} | "
                      f"{v['cpu']:.2f} | {v['rss_mib']:.0f} | {m['n']} |")
            print(f"| {peer} | **process total** | **{m['wall']:.2f}** | {m['wall_min']:.2f}-{m['wall_max']:.2f} | "
                  f"{m['cpu']:.2f} | {m['rss_mib']:.0f} | {m['n']} |")
            totals[peer] = (m["wall"], m["cpu"], m["rss_mib"])
        if "b" in totals and "c" in totals:
            sb, sc_ = P["b"]["median"]["stages"], P["c"]["median"]["stages"]
            w = sb["warp"]["wall"] + sb["score"]["wall"] + sc_["zonal"]["wall"]
            cpu = sb["warp"]["cpu"] + sb["score"]["cpu"] + sc_["zonal"]["cpu"]
            rss = max(sb["warp"]["rss_mib"], sb["score"]["rss_mib"], sc_["zonal"]["rss_mib"])
            totals["c"] = (w, cpu, rss)
            print(f"| c | **b.warp+b.score+c.zonal** | **{w:.2f}** | | {cpu:.2f} | {rss:.0f} | |")
        if fl:
            s = P["d"]["median"]["stages"]
            for st in ("read_inputs_1t", "read_inputs_mt", "write_score_1t", "write_score_mt",
                       "write_class_1t", "write_class_mt"):
                v = s[st]
                print(f"| d | {st} | {v['wall']:.3f} | {min(v['wall_all']):.3f}-{max(v['wall_all']):.3f} | "
                      f"{v['cpu']:.3f} | {v['rss_mib']:.0f} | {P['d']['median']['n']} |")
            print(f"| d | membw: sum over 6 float32 grids (best of 5) | {fl['membw_read6']:.3f} | | | | {fl['gb_s']} GB/s |")
            print(f"| d | membw: min over 6 float32 grids (best of 5) | {fl['membw_min6']:.3f} | | | | |")
            print(f"\nI/O floor = read all inputs ({fl['read']:.3f} s) + write float32 score ({fl['write']:.3f} s) "
                  f"= **{fl['floor']:.3f} s** (single-threaded {fl['floor_1t']:.3f} s; + uint8 class {fl['class']:.3f} s)\n")
            if a.project_wall:
                totals["project"] = (a.project_wall, a.project_cpu or float("nan"), a.project_rss or float("nan"))
            print("| peer | total wall s | CPU s | peak RSS MiB | wall / floor |")
            print("|---|---:|---:|---:|---:|")
            names = {"a": "a GDAL CLI + numpy + exactextract", "b": "b rioxarray + numpy + rasterstats",
                     "c": "c = b with xarray-spatial zonal", "project": a.project_label}
            for k, (w, cpu, rss) in totals.items():
                print(f"| {names[k]} | {w:.2f} | {cpu:.2f} | {rss:.0f} | {w/fl['floor']:.1f}x |")
        if R.get("score_pixels_a_vs_b"):
            print(f"\nscore a vs b pixels: {json.dumps(R['score_pixels_a_vs_b'])}")
        for ag in R.get("agreement", []):
            print(f"agreement {ag['pair']}: zones {ag['zones']} (+{ag['zones_skipped_nodata']} all-nodata), "
                  f"mean rel diff max {ag['mean_rel_max']:.2e} median {ag['mean_rel_median']:.2e}, "
                  f">1e-3: {ag['zones_over_1e-3']}; class-ha diff max {100*ag['class_ha_diff_max_frac_of_zone']:.2f}% "
                  f"of zone, median {100*ag['class_ha_diff_median_frac']:.3f}%")


if __name__ == "__main__":
    main()
