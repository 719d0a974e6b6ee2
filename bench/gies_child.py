#!/usr/bin/env python3
"""Run one gies pipeline in this (fresh) process and print per-pass usage for bench/run.py.

    python bench/gies_child.py PIPELINE.yaml [--out-root DIR] [--warm]

Runs are cold by default (``gies.run(..., force=True)``: no harmonised layer is reused from
gies's layer cache, which would skip the warp; the cache is still written, as on a first run).

Wall time per pass comes from gies itself (manifest.json ``timings_s``). CPU seconds and peak
RSS per pass come from ``Meter`` of ``bench/profiling.py``, attached to the pipeline's pass timer
(``gies.runner.RunContext.timed``; ``gies.pipeline._Timer`` before the runner had a
context) without changing gies: if that private hook moves, the run still
works and only the per-pass CPU/RSS columns stay empty.
"""
import argparse
import json
import sys
import time
import warnings
from contextlib import contextmanager, ExitStack
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pipeline")
    ap.add_argument("--out-root", default=None)
    ap.add_argument("--warm", action="store_true",
                    help="let gies reuse harmonised layers from its cache (default: cold run)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    import importlib
    import importlib.util

    import gies
    from profiling import Meter

    # the runner's pass timer (gies.pipeline in releases before the package layout)
    gp = importlib.import_module("gies.runner" if importlib.util.find_spec("gies.runner")
                                 else "gies.pipeline")

    meter = Meter()
    hooked = False
    # the pass timer: RunContext.timed, or _Timer.__call__ before the runner had a context
    owner, attr = ((gp.RunContext, "timed") if hasattr(gp, "RunContext")
                   else (getattr(gp, "_Timer", None), "__call__"))
    if owner is not None and hasattr(owner, attr):
        orig = getattr(owner, attr)

        @contextmanager
        def metered(self, name, *args, **kw):
            with ExitStack() as st:
                st.enter_context(meter(name))
                st.enter_context(orig(self, name, *args, **kw))
                yield

        setattr(owner, attr, metered)
        hooked = True
    warnings.simplefilter("ignore")
    kw = {"output_root": Path(a.out_root)} if a.out_root else {}
    import inspect

    if "force" in inspect.signature(gies.run).parameters and not a.warm:
        kw["force"] = True  # a cold run: harmonised layers are never reused from the cache
    res = gies.run(a.pipeline, **kw)
    manifest = json.loads((Path(res.output_dir) / "manifest.json").read_text())
    out = {"timings_s": manifest.get("timings_s", {}), "passes": meter.as_dict() if hooked else {},
           "output_dir": str(res.output_dir), "grid": manifest.get("grid"),
           "inner_wall": round(time.perf_counter() - t0, 3),
           "import_s": None}
    print("@@RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
