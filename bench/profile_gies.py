#!/usr/bin/env python3
"""Profile one gies run across all threads (cProfile in the main thread and in every worker
thread: dask's thread pool, GDAL callbacks), and print the top functions by own time and by
cumulative time. py-spy is the better tool where it works (``py-spy record -o profile.svg --
python bench/gies_child.py PIPELINE.yaml``); on this machine py-spy 0.4.3 stopped sampling
after the imports, hence this fallback.

    python bench/profile_gies.py PIPELINE.yaml [--top 25] [--out prof.pstats]
"""
import argparse
import cProfile
import io
import pstats
import sys
import threading
import time

_profiles = []
_orig_run = threading.Thread.run


def _profiled_run(self):
    p = cProfile.Profile()
    _profiles.append(p)
    p.enable()
    try:
        _orig_run(self)
    finally:
        p.disable()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pipeline")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    threading.Thread.run = _profiled_run
    main_p = cProfile.Profile()
    main_p.enable()
    t0 = time.perf_counter()
    import warnings

    import gies

    warnings.simplefilter("ignore")
    import inspect

    kw = {"force": True} if "force" in inspect.signature(gies.run).parameters else {}
    res = gies.run(a.pipeline, **kw)  # cold: no harmonised layer reused from the cache
    wall = time.perf_counter() - t0
    main_p.disable()
    st = pstats.Stats(main_p)
    for p in _profiles:
        try:
            p.disable()
            st.add(p)
        except Exception:
            pass
    print(f"wall {wall:.2f} s (profiled); gies timings {res.timings}")
    if a.out:
        st.dump_stats(a.out)
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        st.stream = buf
        st.sort_stats(key).print_stats(a.top)
        txt = buf.getvalue()
        print(f"\n===== top {a.top} by {key} (all threads summed) =====")
        print(txt[txt.find("   ncalls"):])


if __name__ == "__main__":
    sys.exit(main())
