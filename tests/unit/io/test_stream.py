"""Cluster windows are made of whole chunks and whole warp tiles (a property test)."""

from __future__ import annotations

from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from gies.grid import Grid
from gies.grid import tile_spans as _tile_starts
from gies.io.stream import windows


def _inside(span, ranges):
    return sum(1 for a, b in ranges if a <= span[0] and span[1] <= b)


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(1, 5000), cols=st.integers(1, 5000),
       chunk=st.sampled_from([64, 128, 256, 512, 1024, 1536, 2048]),
       th=st.sampled_from([96, 256, 1024, 2048]), tw=st.sampled_from([96, 1024, 4096]))
def test_windows_tile_the_grid_without_splitting_tiles(rows, cols, chunk, th, tw):
    g = Grid("EPSG:3857", Affine(100, 0, 0, 0, -100, 0), (rows, cols))
    wins = windows(g, chunk, (th, tw))
    r_ranges = sorted({(w[0].start, w[0].stop) for w in wins})
    c_ranges = sorted({(w[1].start, w[1].stop) for w in wins})
    # a partition of each axis
    assert r_ranges[0][0] == 0 and r_ranges[-1][1] == rows and c_ranges[-1][1] == cols
    assert all(a[1] == b[0] for a, b in zip(r_ranges, r_ranges[1:]))
    assert len(wins) == len(r_ranges) * len(c_ranges)
    # every warp tile in exactly one window range; window edges on chunk edges
    assert all(_inside(t, r_ranges) == 1 for t in _tile_starts(rows, th))
    assert all(_inside(t, c_ranges) == 1 for t in _tile_starts(cols, tw))
    assert all(a % chunk == 0 for a, _ in r_ranges + c_ranges)
