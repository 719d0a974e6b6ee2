"""The origin stage: sampling passes, reference cells, fingerprint, layers (hand-computed)."""

import dask
import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from gies.errors import DataError
from gies.methods.registry import SIMILARITY
from gies.methods.similarity import Reference
from gies.stages import origin as og
from gies.testing import assert_stage_contract, make_grid, make_layer

GRID = make_grid((4, 6), res=100.0, origin=(0.0, 400.0))  # x 0..600, y 0..400


def _layers(chunks=2):
    a = np.arange(24, dtype=float).reshape(4, 6)
    b = np.full((4, 6), 5.0)
    b[0, 0] = np.nan
    return {"a": make_layer(a, grid=GRID, name="a", chunks=chunks),
            "b": make_layer(b, grid=GRID, name="b", chunks=chunks)}


def _inside(chunks=2):
    m = np.ones((4, 6), bool)
    m[:, 5] = False  # the last column is outside the AOI
    return make_layer(m, grid=GRID, name="inside", chunks=chunks)


def _stack():
    return og.variable_stack(_layers(), ["a", "b"], _inside())


def test_stack_is_lazy_on_the_grid_and_nan_outside():
    stack = assert_stage_contract(og.variable_stack, _layers(), ["a", "b"], _inside())
    v = stack.values
    assert v.shape == (2, 4, 6) and stack.data.chunks[0] == (2,)
    assert np.isnan(v[:, :, 5]).all() and np.isnan(v[1, 0, 0]) and v[0, 1, 2] == 8.0


def _sample(n, seed=5, bias=None, ref=((1, 3), (2, 0))):
    rows, cols = np.array([r for r, _ in ref]), np.array([c for _, c in ref])
    return og.SamplePass(_stack(), n=n, seed=seed, ref_rows=rows, ref_cols=cols,
                         bias=bias).compute()


def test_sample_pass_counts_extrema_and_reference_values():
    s = _sample(5)
    # 4 x 5 inside cells, minus (0, 0) where b has no value
    assert s.valid == 19
    assert s.aoi_min.tolist() == [1.0, 5.0] and s.aoi_max.tolist() == [22.0, 5.0]
    assert s.reference.tolist() == [[9.0, 5.0], [12.0, 5.0]]
    nan = _sample(5, ref=((0, 0), (0, 5)))  # no value of b / outside the AOI
    assert np.isnan(nan.reference[0, 1]) and np.isnan(nan.reference[1]).all()


def test_background_is_seeded_valid_distinct_and_order_free():
    with dask.config.set(scheduler="threads"):
        s1 = _sample(12)
    with dask.config.set(scheduler="sync"):
        s2 = _sample(12)
    assert len(s1.rows) == 12 and (s1.rows == s2.rows).all() and (s1.cols == s2.cols).all()
    assert len(set(zip(s1.rows, s1.cols))) == 12  # without replacement
    assert (s1.cols < 5).all() and not ((s1.rows == 0) & (s1.cols == 0)).any()  # valid only
    np.testing.assert_array_equal(s1.values[:, 0], s1.rows * 6 + s1.cols)
    assert not np.array_equal(_sample(12, seed=6).rows * 6 + _sample(12, seed=6).cols,
                              s1.rows * 6 + s1.cols)
    everything = _sample(100)
    assert len(everything.rows) == 19  # more asked for than there are valid cells


def test_background_is_uniform_over_valid_cells():
    # 300 seeded draws of 3 of the 19 valid cells: each cell is expected 300 * 3 / 19 = 47
    # times (binomial sd 6.3); a sampler favouring some blocks would be far off
    hits = {}
    for seed in range(300):
        s = _sample(3, seed=seed)
        for rc in zip(s.rows.tolist(), s.cols.tolist()):
            hits[rc] = hits.get(rc, 0) + 1
    assert len(hits) == 19 and min(hits.values()) > 25 and max(hits.values()) < 70


def test_background_with_bias_avoids_zero_weight_cells():
    bias = np.zeros((4, 6))
    bias[2:, :] = 1.0  # only the lower half may be drawn
    bl = make_layer(bias, grid=GRID, name="bias", chunks=2)
    s = _sample(6, seed=2, bias=bl)
    assert len(s.rows) == 6 and (s.rows >= 2).all()
    assert len(_sample(50, seed=2, bias=bl).rows) == 10  # the positive-weight valid cells


def test_point_cells_edge_rule_duplicates_and_outside():
    inside = box(0, 0, 480, 400)  # touches the cells of columns 0-4
    pts = gpd.GeoDataFrame({"point_id": ["a", "b", "c", "d", "e", "f"]}, geometry=[
        Point(150, 350),   # row 0, col 1
        Point(160, 340),   # same cell as a: a duplicate
        Point(200, 300),   # on a corner: the cell east and south of it: row 1, col 2
        Point(700, 50),    # outside the grid
        Point(550, 50),    # inside the grid, on a cell the AOI does not touch
        Point(0, 400),     # the grid's top-left corner: row 0, col 0
    ], crs=GRID.crs)
    ref = og.reference_cells(GRID, pts, inside, kind="points", max_samples=100, seed=1)
    assert list(zip(ref.rows.tolist(), ref.cols.tolist())) == [(0, 0), (0, 1), (1, 2)]
    r = ref.report
    assert r["records"] == 6 and r["cells"] == 3 and r["duplicates"] == 1
    assert r["outside_grid"] == ["d"] and r["outside_aoi"] == ["e"]
    assert r["on_cell_edge"] == 3  # c, d (outside, but on a grid line) and f
    assert ref.point_ids == (("f",), ("a", "b"), ("c",))
    from gies.area import cell_areas

    true = cell_areas(GRID)  # UTM: the true area of a 100 m cell differs from 1 ha
    np.testing.assert_allclose(ref.weights, [true[0, 0], true[0, 1], true[1, 2]])


def test_point_cells_are_capped_at_random():
    inside = box(0, 0, 600, 400)
    pts = gpd.GeoDataFrame({"point_id": [str(i) for i in range(24)]}, geometry=[
        Point(50 + 100 * (i % 6), 50 + 100 * (i // 6)) for i in range(24)], crs=GRID.crs)
    ref = og.reference_cells(GRID, pts, inside, kind="points", max_samples=5, seed=1)
    assert len(ref.rows) == 5 and ref.report["capped"] and ref.report["cells"] == 24


def test_area_cells_have_coverage_weights():
    # a polygon covering the cell (1, 1) fully and half of (1, 2)
    poly = gpd.GeoDataFrame(geometry=[box(100, 200, 250, 300)], crs=GRID.crs)
    ref = og.reference_cells(GRID, poly, box(0, 0, 600, 400), kind="area", max_samples=100,
                             seed=1)
    assert list(zip(ref.rows.tolist(), ref.cols.tolist())) == [(1, 1), (1, 2)]
    from gies.area import cell_areas

    area = cell_areas(GRID)  # coverage x the true area of the cell
    np.testing.assert_allclose(ref.weights, [area[1, 1], 0.5 * area[1, 2]], rtol=1e-9)
    assert ref.report["cells"] == 2 and not ref.report["capped"]


def test_area_outside_the_aoi_is_an_error():
    poly = gpd.GeoDataFrame(geometry=[box(1000, 1000, 1100, 1100)], crs=GRID.crs)
    with pytest.raises(DataError, match="do not overlap the AOI"):
        og.reference_cells(GRID, poly, box(0, 0, 600, 400), kind="area", max_samples=10, seed=1)


def test_fingerprint_weighted_percentiles_by_hand():
    # weights 1, 1, 2 on 0, 10, 20: cumulative centres 0.125, 0.375, 0.75 -> median 14
    fp = og.fingerprint(["t"], np.array([[0.0], [10.0], [20.0]]), np.array([1.0, 1.0, 2.0]),
                        np.array([[0.0], [100.0]]), np.ones(2))[0]
    assert fp["origin_p50"] == pytest.approx(10 + 10 * (0.5 - 0.375) / (0.75 - 0.375))
    assert fp["origin_p5"] == 0.0 and fp["origin_p95"] == 20.0
    assert fp["aoi_p50"] == pytest.approx(50.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=30))
def test_fingerprint_percentiles_are_ordered_and_inside_the_range(values):
    v = np.array(values)[:, None]
    fp = og.fingerprint(["x"], v, np.ones(len(v)), v, np.ones(len(v)))[0]
    qs = [fp[f"origin_p{q}"] for q in og.PERCENTILES]
    assert qs == sorted(qs) and v.min() <= qs[0] and qs[-1] <= v.max()


def test_agreement_codes_by_hand():
    ref = Reference(np.array([[5.0, 1.0], [7.0, 2.0], [9.0, 3.0]]), ("a", "c"), (False, False),
                    np.array([0.0, 1.0]), np.array([23.0, 3.0]))
    fitted = SIMILARITY["bioclim"].func(ref)
    fit = og.OriginFit({"bioclim": fitted}, {}, ("similarity_bioclim", 0.5), {"variables": ["a", "c"]})
    a = np.arange(24, dtype=float).reshape(4, 6)
    c = np.full((4, 6), 2.0)
    layers = {"a": make_layer(a, grid=GRID, name="a", chunks=2),
              "c": make_layer(c, grid=GRID, name="c", chunks=2)}
    inside = _inside()
    stack = og.variable_stack(layers, ["a", "c"], inside)
    classes = np.full((4, 6), 3, np.uint8)
    classes[1, 1] = 1  # suitable (a = 7: bioclim 1 -> similar): both
    classes[0, 1] = 1  # suitable, a = 1 outside the reference: requirements only
    classes[1, 3] = 253  # excluded
    cl = make_layer(classes, grid=GRID, name="classes", chunks=2)
    out = assert_stage_contract(og.origin_layers, fit, stack, inside=inside, classes=cl,
                                suitable=(1, 2))
    code = out.agreement.values
    assert code[1, 1] == 1 and code[0, 1] == 2 and code[1, 3] == 253
    assert code[1, 0] == 3   # a = 6, bioclim 2 * (1.5/3) = 1 -> similar, class S3
    assert code[3, 0] == 4   # a = 18: outside the reference range: neither
    assert (code[:, 5] == 255).all()
    s = out.surfaces["similarity_bioclim"].values
    assert s[1, 1] == pytest.approx(1.0) and np.isnan(s[:, 5]).all()
    no_req = og.origin_layers(fit, stack, inside=inside)
    assert no_req.agreement.values[1, 1] == 1 and no_req.agreement.values[3, 0] == 2
    assert dict(no_req.agreement_codes) == og.SIMILAR


def test_reference_found_names_records_on_no_data_and_warns():
    pts = gpd.GeoDataFrame({"point_id": ["a", "b", "c", "d"]}, geometry=[
        Point(150, 350), Point(160, 340), Point(250, 250), Point(900, 50)], crs=GRID.crs)
    ref = og.reference_cells(GRID, pts, box(0, 0, 600, 400), kind="points", max_samples=10,
                             seed=1)
    values = np.array([[1.0, 2.0], [np.nan, 2.0]])  # the second cell has no value
    ok, report, found = og.reference_found(ref, values)
    assert ok.tolist() == [True, False] and report["reference_cells"] == 1
    assert report["on_nodata"] == ["c"]
    text = " | ".join(map(str, found))
    assert "1 of 4 records share a grid cell" in text and "outside the grid, left out: d" in text
    assert "on cells without a value of every variable, left out: c" in text


def test_cell_centres():
    xy = og.cell_centres(GRID, np.array([0, 3]), np.array([0, 5]))
    assert xy.tolist() == [[50.0, 350.0], [550.0, 50.0]]
