"""The vectorised per-block accumulation of zone statistics equals the per-zone one."""

from __future__ import annotations

import numpy as np

from gies.zonal import _Acc, _factor_class


def test_add_block_equals_per_zone_add():
    rng = np.random.default_rng(11)
    n, nf = 40, 3
    a, b = _Acc(n, nf, ["potential"]), _Acc(n, nf, ["potential"])
    for _ in range(3):  # several blocks, zones met again in later blocks
        zs = rng.choice(n, size=17, replace=False)
        lens = rng.integers(0, 60, size=zs.size)
        lens[3] = 0
        tot = int(lens.sum())
        w = rng.random(tot)
        cls = rng.choice([1, 2, 3, 4, 5, 253, 254, 255], size=tot).astype(np.uint8)
        sc = rng.random(tot).astype(np.float32)
        sc[rng.random(tot) < 0.1] = np.nan
        lim = rng.integers(0, 4, size=tot).astype(np.uint8)
        fsc = [np.where(rng.random(tot) < 0.1, np.nan, rng.random(tot)).astype(np.float32)
               for _ in range(nf)]
        fcl = [_factor_class(f, (0.75, 0.5, 0.25)) for f in fsc]
        ex = {"potential": rng.choice([1, 2, 255], size=tot).astype(np.uint8)}
        keep = lens > 0
        starts = np.r_[0, np.cumsum(lens)[:-1]]
        a.add_block(zs[keep], lens[keep], w, cls, sc, lim, fsc, fcl, ex)
        for z, s0, ln in zip(zs, starts, lens):
            if ln == 0:
                continue
            sl = slice(s0, s0 + ln)
            b.add(z, w[sl], cls[sl], sc[sl], lim[sl], [f[sl] for f in fsc],
                  [f[sl] for f in fcl], {k: v[sl] for k, v in ex.items()})
    for name in ("cls", "sw", "s1", "s2", "smin", "smax", "hist", "fw", "fs", "fcls", "lim"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(a.extra["potential"], b.extra["potential"], rtol=1e-12)


def test_factor_class_codes():
    s = np.array([np.nan, 0.0, 0.25, 0.49, 0.5, 0.7, 0.75, 1.0], dtype=np.float32)
    assert _factor_class(s, (0.75, 0.5, 0.25)).tolist() == [0, 4, 3, 3, 2, 2, 1, 1]
