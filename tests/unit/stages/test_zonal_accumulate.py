"""The compiled per-block accumulation of zone statistics (``_Acc``) equals plain numpy sums
per zone, through every entry point (cells by index, consecutive segments, one weight)."""

from __future__ import annotations

import numpy as np

from gies.methods.schemes import SCHEMES
from gies.stages.zonal import _BINS, _Acc, _factor_class

FAO_75 = SCHEMES["fao"].with_bounds({"S1": 0.75, "S2": 0.5, "S3": 0.25})


def _reference(n, nf, blocks):
    """Per-zone sums with numpy, one zone at a time (the definitions of gies.stages.zonal)."""
    ref = {k: np.zeros(s) for k, s in [("cls", (n, 256)), ("sw", n), ("s1", n), ("s2", n),
                                        ("hist", (n, _BINS)), ("fw", (n, nf)), ("fs", (n, nf)),
                                        ("fcls", (n, nf, 5)), ("lim", (n, 256)),
                                        ("potential", (n, 256))]}
    ref["smin"], ref["smax"] = np.full(n, np.inf), np.full(n, -np.inf)
    for zone, w, cls, sc, lim, fsc, fcl, ex in blocks:
        i = zone
        ref["cls"][i] += np.bincount(cls, weights=w, minlength=256)
        ref["lim"][i] += np.bincount(lim, weights=w, minlength=256)
        ref["potential"][i] += np.bincount(ex, weights=w, minlength=256)
        ok = ~np.isnan(sc)
        if ok.any():
            sv = sc[ok].astype(np.float64)
            ref["sw"][i] += w[ok].sum()
            ref["s1"][i] += (w[ok] * sv).sum()
            ref["s2"][i] += (w[ok] * sv * sv).sum()
            ref["smin"][i] = min(ref["smin"][i], sv.min())
            ref["smax"][i] = max(ref["smax"][i], sv.max())
            b = np.clip((sv * _BINS).astype(np.int64), 0, _BINS - 1)
            ref["hist"][i] += np.bincount(b, weights=w[ok], minlength=_BINS)
        for k, (f, fc) in enumerate(zip(fsc, fcl)):
            okf = ~np.isnan(f)
            ref["fw"][i, k] += w[okf].sum()
            ref["fs"][i, k] += (w[okf] * f[okf]).sum()
            ref["fcls"][i, k] += np.bincount(fc, weights=w, minlength=5)[:5]
    return ref


def test_accumulation_equals_numpy_sums_per_zone():
    rng = np.random.default_rng(11)
    n, nf, size = 40, 3, 500
    acc = _Acc(n, nf, ["potential"])
    seen = []
    for blk in range(4):  # several blocks, zones met again in later blocks
        cls = rng.choice([1, 2, 3, 4, 5, 253, 254, 255], size=size).astype(np.uint8)
        sc = rng.random(size).astype(np.float32)
        sc[rng.random(size) < 0.1] = np.nan
        sc[:3] = (0.0, 1.0, 0.9995)  # bin edges: first, clipped last, last
        lim = rng.integers(0, 4, size=size).astype(np.uint8)
        fsc = [np.where(rng.random(size) < 0.1, np.nan, rng.random(size)).astype(np.float32)
               for _ in range(nf)]
        fcl = [_factor_class(f, FAO_75) for f in fsc]
        ex = rng.choice([1, 2, 255], size=size).astype(np.uint8)
        if blk == 3:  # one zone covering the whole block with one weight
            acc.add(7, 2.5, cls, sc, lim, fsc, fcl, {"potential": ex})
            seen.append((7, np.full(size, 2.5), cls, sc, lim, fsc, fcl, ex))
            continue
        zs = rng.choice(n, size=9, replace=False)
        lens = rng.integers(1, 60, size=zs.size)
        cells = rng.integers(0, size, size=int(lens.sum()))  # any cells, repeats allowed
        w = rng.random(cells.size)
        acc.add_cells(zs, lens, cells, w, cls, sc, lim, fsc, fcl, {"potential": ex})
        for z, s0, ln in zip(zs, np.r_[0, np.cumsum(lens)[:-1]], lens):
            c = cells[s0:s0 + ln]
            seen.append((z, w[s0:s0 + ln], cls[c], sc[c], lim[c], [f[c] for f in fsc],
                         [f[c] for f in fcl], ex[c]))
    ref = _reference(n, nf, seen)
    for name in ("cls", "sw", "s1", "s2", "smin", "smax", "hist", "fw", "fs", "fcls", "lim"):
        np.testing.assert_allclose(getattr(acc, name), ref[name], rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(acc.extra["potential"], ref["potential"], rtol=1e-12)
    assert acc.hist[:, -1].sum() > 0  # the clipped 1.0 landed in the last bin


def test_add_block_segments_equal_add_per_zone():
    rng = np.random.default_rng(3)
    a, b = _Acc(10, 0), _Acc(10, 0)
    lens = np.array([5, 0, 7])
    zs = np.array([2, 4, 9])
    cls = rng.integers(1, 5, 12).astype(np.uint8)
    sc = rng.random(12).astype(np.float32)
    w = rng.random(12)
    keep = lens > 0
    a.add_block(zs[keep], lens[keep], w, cls, sc, None, [], [])
    b.add(2, w[:5], cls[:5], sc[:5], None, [], [])
    b.add(9, w[5:], cls[5:], sc[5:], None, [], [])
    for name in ("cls", "sw", "s1", "s2", "smin", "smax", "hist"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lim.sum() == 0 and a.sw[4] == 0


def test_factor_class_codes():
    s = np.array([np.nan, 0.0, 0.25, 0.49, 0.5, 0.7, 0.75, 1.0], dtype=np.float32)
    assert _factor_class(s, FAO_75).tolist() == [0, 4, 3, 3, 2, 2, 1, 1]


def test_factor_class_codes_of_the_gaez_scheme():
    s = np.array([np.nan, 0.0, 1e-6, 0.2, 0.45, 0.6, 0.8, 1.0], dtype=np.float32)
    assert _factor_class(s, SCHEMES["gaez"]).tolist() == [0, 6, 5, 4, 3, 2, 1, 1]
