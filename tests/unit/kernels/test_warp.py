"""gies's own nearest/bilinear warp kernels (:mod:`gies.kernels.warp`): hand-computed values,
nodata rules, the coordinate lattice's accuracy, and agreement with GDAL's warper."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer
from rasterio.crs import CRS as RioCRS

from gies.kernels import warp as warpkernel
from gies.grid import tile_spans
from gies.stages import harmonise
from gies.stages import warp as warp_mod
from gies.grid import Grid

M = CRS.from_epsg(3857).to_wkt()
LAEA = CRS.from_user_input(
    "+proj=laea +lat_0=10 +lon_0=20 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs").to_wkt()
GEO = CRS.from_epsg(4326).to_wkt()


def _lattice(src_t, src_shape, dst_t, shape, src_crs=M, dst_crs=M, geographic=False):
    return warpkernel.source_lattice(src_crs=src_crs, src_transform=src_t, src_shape=src_shape,
                                     geographic=geographic, dst_crs=dst_crs, dst_transform=dst_t,
                                     shape=shape, tolerance=1e-3)


def _warp(src, src_t, dst_t, shape, method="bilinear", **kw):
    lat = _lattice(src_t, src.shape[-2:], dst_t, shape)
    return warpkernel.warp_tile(src.reshape((-1,) + src.shape[-2:]), lat, shape,
                                method=method, **kw)


SRC_T = Affine(1, 0, 0, 0, -1, 4)  # 4×4 source of 1 m cells, top-left at (0, 4)
VALS = np.arange(16, dtype=np.float64).reshape(4, 4) * 10.0


def test_bilinear_half_cell_shift_is_the_mean_of_four():
    # target cell centres at the source's cell corners: every value is a 2×2 mean
    out = _warp(VALS, SRC_T, Affine(1, 0, 0.5, 0, -1, 3.5), (3, 3))[0]
    expect = (VALS[:-1, :-1] + VALS[1:, :-1] + VALS[:-1, 1:] + VALS[1:, 1:]) / 4
    np.testing.assert_allclose(out, expect, rtol=0, atol=1e-9)


def test_bilinear_quarter_offsets_by_hand():
    # one target cell, centre at x=1.25, y=4-1.75 → source pixel (1.25, 1.75):
    # i = floor(0.75) = 0, weight of column 0 = 1.5 - 1.25 = 0.25; row 1: 1.5 - 0.75 = 0.75
    out = _warp(VALS, SRC_T, Affine(0.5, 0, 1.0, 0, -0.5, 4 - 1.5), (1, 1))[0, 0, 0]
    expect = (0.25 * 0.75 * VALS[1, 0] + 0.75 * 0.75 * VALS[1, 1]
              + 0.25 * 0.25 * VALS[2, 0] + 0.75 * 0.25 * VALS[2, 1])
    assert out == pytest.approx(expect, abs=1e-9)


def test_bilinear_nodata_rules():
    v = VALS.copy()
    v[1, 1] = np.nan
    # centre cell (1,1) is the cell containing the point → nodata
    out = _warp(v, SRC_T, Affine(0.5, 0, 1.0, 0, -0.5, 4 - 1.5), (1, 1))[0, 0, 0]
    assert np.isnan(out)
    # point in cell (1,0) with neighbour (1,1) nodata: the other three renormalised
    # point (0.75, 1.75): i = floor(0.25) = 0 → w_col0 = 1.5-0.75 = 0.75, w_col1 = 0.25;
    # j = floor(1.25) = 1 → w_row1 = 1.5-0.75 = 0.75, w_row2 = 0.25
    out = _warp(v, SRC_T, Affine(0.5, 0, 0.5, 0, -0.5, 4 - 1.5), (1, 1))[0, 0, 0]
    w = {(1, 0): 0.75 * 0.75, (2, 0): 0.75 * 0.25, (2, 1): 0.25 * 0.25}
    expect = sum(v[k] * x for k, x in w.items()) / sum(w.values())
    assert out == pytest.approx(expect, abs=1e-9)


def test_bilinear_outside_source_is_nodata_and_edges_clamp():
    # target row of 6 cells from x=-1 to 5 along source row 0's centre line
    out = _warp(VALS, SRC_T, Affine(1, 0, -1, 0, -1, 4), (1, 6))[0, 0]
    assert np.isnan(out[0]) and np.isnan(out[5])  # centres at x=-0.5 and 4.5: outside
    # inside, on the first row's centre line: the edge row alone (no row above) →
    # exactly row 0's values at the cell centres
    np.testing.assert_allclose(out[1:5], VALS[0], atol=1e-9)


def test_nearest_codes_nodata_and_fill():
    codes = np.array([[1, 2], [3, 255]], dtype=np.uint8)
    t = Affine(1, 0, 0, 0, -1, 2)
    # 4×4 target of 0.5 m cells over the 2×2 source plus one column outside (x in 2..2.5)
    out = _warp(codes, t, Affine(0.5, 0, 0, 0, -0.5, 2), (4, 5), method="nearest",
                nodata=255, fill=0)[0]
    assert out.dtype == np.uint8
    expect = np.array([[1, 1, 2, 2, 0], [1, 1, 2, 2, 0], [3, 3, 0, 0, 0], [3, 3, 0, 0, 0]])
    np.testing.assert_array_equal(out, expect)


def test_bilinear_needs_float_bands():
    with pytest.raises(TypeError):
        _warp(np.ones((4, 4), np.int16), SRC_T, SRC_T, (4, 4))


def test_downsampling_scale_widens_the_kernel_like_gdal():
    # 0.5× scale (2 m target cells on 1 m source): triangle of half-width 2, taps i-1..i+2
    src = np.random.default_rng(1).normal(size=(40, 40))
    t = Affine(1, 0, 0, 0, -1, 40)
    lat = _lattice(t, src.shape, Affine(2, 0, 4, 0, -2, 36), (16, 16))
    assert lat[3] == pytest.approx(0.5) and lat[4] == pytest.approx(0.5)
    out = warpkernel.warp_tile(src[None], lat, (16, 16), method="bilinear")[0]
    # target cell (0, 0): centre (5, 35) → source pixel (5, 5): i = 4, δ = 0.5;
    # weights 1 - |(k - 0.5)·0.5| for k = -1..2 → 0.25, 0.75, 0.75, 0.25 on both axes
    w = np.array([0.25, 0.75, 0.75, 0.25])
    expect = (w[:, None] * w[None, :] * src[3:7, 3:7]).sum() / (w.sum() ** 2)
    assert out[0, 0] == pytest.approx(expect, abs=1e-12)


def test_scale_snaps_to_integer_reciprocals():
    assert warpkernel._snap_scale(0.51) == pytest.approx(0.5)  # 1/0.51 = 1.96
    assert warpkernel._snap_scale(0.55) == pytest.approx(0.55)  # 1.82: not within 0.05
    assert warpkernel._snap_scale(1.7) == 1.0


@settings(max_examples=25, deadline=None)
# found by this test: with only the cells' centres checked, errors along a lattice row
# (curvatures of opposite signs cancel at the centre) reached 2e-3 px
@example(lat0=0.0, lon0=0.0, res=1000.0, r0=0, c0=1387, h=1, w=4)
@given(lat0=st.floats(-60, 60), lon0=st.floats(-170, 170), res=st.sampled_from([30.0, 100.0, 1000.0]),
       r0=st.integers(0, 3000), c0=st.integers(0, 3000), h=st.integers(1, 300), w=st.integers(1, 300))
def test_lattice_is_within_tolerance_of_the_exact_transform(lat0, lon0, res, r0, c0, h, w):
    dst_crs = CRS.from_user_input(
        f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs").to_wkt()
    d = 3.0 / 3600  # a 3" source: the finest grid, the largest error in pixels
    half = 1500 * res
    dst_t = Affine(res, 0, -half + c0 * res, 0, -res, half - r0 * res)
    n = int(10 / d)  # a 10° source centred on the projection centre
    src_t = Affine(d, 0, lon0 - 5, 0, -d, lat0 + 5)
    lat = _lattice(src_t, (n, n), dst_t, (h, w), src_crs=GEO, dst_crs=dst_crs, geographic=True)
    assert lat is not None
    C, R, step = lat[:3]
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    tr = Transformer.from_crs(dst_crs, GEO, always_xy=True)
    lon, la = tr.transform(dst_t.c + jj * res, dst_t.f - ii * res)
    lon = (np.asarray(lon) - lon0 + 180.0) % 360.0 + lon0 - 180.0  # the frame around lon0
    col, row = (lon - src_t.c) / d, (np.asarray(la) - src_t.f) / -d
    i, j = np.arange(h), np.arange(w)
    li, fi, lj, fj = i // step, (i % step) / step, j // step, (j % step) / step

    def interp(L):
        rows = L[li] * (1 - fi)[:, None] + L[li + 1] * fi[:, None]
        return rows[:, lj] * (1 - fj) + rows[:, lj + 1] * fj

    assert np.abs(interp(C) - col).max() <= 1.5e-3
    assert np.abs(interp(R) - row).max() <= 1.5e-3


def test_unprojectable_points_fall_back_to_gdal():
    # a polar stereographic tile reaching the far hemisphere: some corners do not project
    # into a geographic source centred on the opposite pole
    dst_crs = CRS.from_epsg(3413).to_wkt()  # NSIDC north polar
    lat = _lattice(Affine(0.1, 0, -180, 0, -0.1, -50), (400, 3600),
                   Affine(500000, 0, -2.5e7, 0, -500000, 2.5e7), (100, 100),
                   src_crs=GEO, dst_crs=dst_crs, geographic=True)
    assert lat is None


# --- agreement with GDAL (the same tiles warped by both engines) ---------------------------

D = 7.5 / 3600


def _rough(shape, seed, holes=True):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    a = 60 + 15 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + rng.normal(0, 4, shape)
    if holes:
        a[(yy - 120) ** 2 + (xx - 140) ** 2 < 30 ** 2] = np.nan
        a[5:9, :] = np.nan
    return a.astype(np.float32)


@pytest.mark.parametrize(("res", "method"), [
    (100.0, "bilinear"),  # upsampling a 7.5" (~230 m) grid: 4-sample formula
    (200.0, "bilinear"),
    (300.0, "bilinear"),  # downsampling 0.77: widened triangle
    (400.0, "bilinear"),  # 0.57
    (100.0, "nearest"),
])
def test_engines_agree_on_a_rough_layer_with_holes(res, method):
    """Same formulas: with the kernel scale given to GDAL (XSCALE/YSCALE), every value
    agrees within what 1e-3 px of position moves on this rough layer. (GDAL's own scale
    comes from its internal warp chunks, which a WarpedVRT cuts its own way.)"""
    a = _rough((260, 300), 5)
    src = Grid(RioCRS.from_epsg(4326).to_wkt(), Affine(D, 0, 19.7, 0, -D, 10.3), a.shape)
    n = int(40000 / res)
    dst = Grid(LAEA, Affine(res, 0, -20000, 0, -res, 20000), (n, n))
    kw = dict(src_transform=src.transform, src_crs=RioCRS.from_wkt(src.crs),
              dst_transform=dst.transform, dst_crs=RioCRS.from_wkt(dst.crs), shape=dst.shape,
              method=method, src_nodata=np.nan, dst_nodata=np.nan, dtype=np.float32)
    g = warp_mod._warp_block(a, engine="gies", **kw)
    lat = warpkernel.source_lattice(src_crs=src.crs, src_transform=src.transform,
                                    src_shape=a.shape, geographic=True, dst_crs=dst.crs,
                                    dst_transform=dst.transform, shape=dst.shape, tolerance=1e-3)
    if res == 300.0:  # the kernel scale is the footprint's: ~231 m cells / 300 m
        assert 0.74 < lat[3] < 0.78 and 0.74 < lat[4] < 0.78
    r = warp_mod._warp_bands(a[None], extra={"XSCALE": lat[3], "YSCALE": lat[4]},
                              **{k: v for k, v in kw.items()})[0]
    both = np.isfinite(g) & np.isfinite(r)
    assert both.mean() > 0.9
    # nodata where GDAL has nodata (a cell centre within 1e-3 px of a hole's edge may differ)
    assert (np.isnan(g) != np.isnan(r)).mean() < 1e-3
    diff = np.abs(g - r)[both]
    if method == "nearest":
        assert (diff == 0).mean() > 0.999
    else:  # positions within 1e-3 px: values within a few thousandths of the local slope
        assert diff.max() < 0.05 and np.median(diff) < 2e-3


def test_pipeline_engine_only_changes_who_warps(monkeypatch):
    """With engine "gies", no bilinear/nearest tile reaches GDAL; cubic still does."""
    calls = []
    real = warp_mod._warp_bands

    def spy(*args, **kw):
        calls.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(warp_mod, "_warp_bands", spy)
    a = _rough((260, 300), 2, holes=False)
    src = Grid(RioCRS.from_epsg(4326).to_wkt(), Affine(D, 0, 19.7, 0, -D, 10.3), a.shape)
    dst = Grid(LAEA, Affine(100, 0, -20000, 0, -100, 20000), (400, 400))
    import xarray as xr

    da = xr.DataArray(a, dims=("y", "x"), name="t")
    for method in ("bilinear", "nearest"):
        out = harmonise.onto_grid(da, source_grid=src, grid=dst, resampling=method).values
        assert np.isfinite(out).mean() > 0.99
    assert calls == []
    harmonise.onto_grid(da, source_grid=src, grid=dst, resampling="cubic").compute()
    assert calls


@pytest.mark.parametrize("lat0", [10.0, 55.0])
@pytest.mark.parametrize("r0, c0", [(0, 0), (3584, 0), (6976, 3904)])
def test_lattice_criterion_on_the_benchmark_grid(lat0, r0, c0):
    # the benchmark's target (LAEA at lat0 N 20 E, 100 m, 8000 x 8000 cells) and its finest
    # source (a 3" DEM): one warp tile at the centre row, the west edge and the far corner.
    # The interpolated coordinates stay within the tolerance (1.5e-3 source pixels, the
    # 1e-3 target with the check points' slack) of the exact transform at 55 N as at 10 N
    from gies.grid import WARP_TILE
    from gies.stages.warp import WARP_TOLERANCE

    dst_crs = CRS.from_user_input(
        f"+proj=laea +lat_0={lat0} +lon_0=20 +datum=WGS84 +units=m +no_defs").to_wkt()
    h, w = WARP_TILE
    h, w = min(h, 8000 - r0), min(w, 8000 - c0)
    dst_t = Affine(100.0, 0, -400_000 + c0 * 100.0, 0, -100.0, 400_000 - r0 * 100.0)
    d = 1 / 1200
    src_t = Affine(d, 0, 5.0, 0, -d, lat0 + 10)
    lat = warpkernel.source_lattice(src_crs=GEO, src_transform=src_t, src_shape=(24000, 36000),
                                    geographic=True, dst_crs=dst_crs, dst_transform=dst_t,
                                    shape=(h, w), tolerance=WARP_TOLERANCE)
    assert lat is not None
    C, R, step = lat[:3]
    i = np.r_[np.arange(0, h, 13), h - 1]
    j = np.arange(w)
    jj, ii = np.meshgrid(j + 0.5, i + 0.5)
    tr = Transformer.from_crs(dst_crs, GEO, always_xy=True)
    lon, la = tr.transform(dst_t.c + jj * 100.0, dst_t.f - ii * 100.0)
    col, row = (np.asarray(lon) - src_t.c) / d, (np.asarray(la) - src_t.f) / -d
    li, fi, lj, fj = i // step, (i % step) / step, j // step, (j % step) / step

    def interp(L):
        rows = L[li] * (1 - fi)[:, None] + L[li + 1] * fi[:, None]
        return rows[:, lj] * (1 - fj) + rows[:, lj + 1] * fj

    assert np.abs(interp(C) - col).max() <= 1.5 * WARP_TOLERANCE
    assert np.abs(interp(R) - row).max() <= 1.5 * WARP_TOLERANCE
