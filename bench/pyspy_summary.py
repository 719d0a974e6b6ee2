#!/usr/bin/env python3
"""Summarise a py-spy ``--format raw`` (collapsed stacks) file: samples per gies pass and per
library call inside it.

    py-spy record -r 100 -f raw -o prof.txt -- python bench/gies_child.py PIPELINE.yaml
    python bench/pyspy_summary.py prof.txt [--top 12]

A "pass" is the innermost frame of gies/pipeline.py (run/_export/harmonise_layers/...);
the "library call" is the first frame outside gies, dask and the standard library
below it (e.g. ``reproject (rasterio/warp.py)``, ``exact_extract``).
"""
import argparse
import collections
import re

SKIP = re.compile(r"(/dask/|/threading\.py|/concurrent/|/contextlib\.py|/toolz/|/tlz/|<frozen|"
                  r"/queue\.py|/xarray/core/(variable|dataarray|duck_array_ops|indexing)\.py)")


def parse(line):
    stack, _, n = line.rstrip().rpartition(" ")
    return stack.split(";"), int(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=12)
    a = ap.parse_args()
    by_pass = collections.Counter()
    by_call = collections.Counter()
    leaf = collections.Counter()
    total = 0
    for line in open(a.file):
        if not line.strip():
            continue
        frames, n = parse(line)
        total += n
        gp = [f for f in frames if "gies/" in f and "bench/" not in f]
        pas = gp[-1].split(" (")[0] if gp else "(outside gies: imports, dask worker threads)"
        call = None
        for f in frames[len(frames) - 1::-1]:
            pass
        # first non-gies, non-plumbing frame after the last gies frame
        idx = max((i for i, f in enumerate(frames) if "gies/" in f and "bench/" not in f), default=-1)
        for f in frames[idx + 1:]:
            if not SKIP.search(f):
                call = re.sub(r":\d+\)", ")", f)
                break
        by_pass[pas] += n
        by_call[(pas, call or "(self)")] += n
        leaf[re.sub(r":\d+\)", ")", frames[-1])] += n
    print(f"{total} samples")
    print("\n# by innermost gies function")
    for k, v in by_pass.most_common(a.top):
        print(f"{100 * v / total:5.1f}%  {k}")
    print("\n# by (gies function, first library call below it)")
    for (p, c), v in by_call.most_common(a.top):
        print(f"{100 * v / total:5.1f}%  {p}  ->  {c}")
    print("\n# by leaf frame")
    for k, v in leaf.most_common(a.top):
        print(f"{100 * v / total:5.1f}%  {k}")


if __name__ == "__main__":
    main()
