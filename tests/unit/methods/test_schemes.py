"""Unit tests of the minimum and maximum-limitation rules and of gies.methods.schemes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gies.methods.schemes import NODATA, SCHEMES, ClassScheme, SchemeClass, classify_score
from gies.methods.fao import maximum_limitation
from gies.methods.rules import NO_LIMITATION, minimum
from gies.errors import GridMismatchError
from gies.grid import grid_of
from gies.methods.class_limits import class_scores
from gies.testing import assert_layer_equal, make_grid, make_layer

NAN = float("nan")
FAO = SCHEMES["fao"]


def _u8(values, **kw):
    return make_layer(np.asarray(values, dtype=np.uint8), **kw)


# -- minimum ------------------------------------------------------------------------------
def test_minimum_hand_example():
    t = make_layer([[1.0, 0.5, 0.2, 0.9, NAN, 1.0]], name="t")
    r = make_layer([[1.0, 0.3, 0.2, 1.0, 0.4, NAN]], name="r")
    p = make_layer([[1.0, 0.6, 0.7, 0.95, 0.4, 1.0]], name="p")
    s, lim = minimum({"t": t, "r": r, "p": p})
    assert_layer_equal(s, [[1.0, 0.3, 0.2, 0.9, NAN, NAN]])
    # tie 0.2 (t, r) -> first factor (t = 1); NaN score -> 0; all at 1 -> no limitation
    assert lim.values.tolist() == [[NO_LIMITATION, 2, 1, 1, 0, 0]]
    assert s.dtype == np.float32 and lim.dtype == np.uint8
    assert lim.attrs["factors"] == {"1": "t", "2": "r", "3": "p"}
    assert grid_of(s) == grid_of(t)
    assert s.name == "suitability" and lim.name == "limiting_factor"


def test_minimum_single_factor():
    s, lim = minimum({"only": make_layer([[0.0, 1.0, 0.5]])})
    assert_layer_equal(s, [[0.0, 1.0, 0.5]])
    assert lim.values.tolist() == [[1, 0, 1]]


def test_minimum_all_one_no_limitation():
    ones = make_layer(np.ones((2, 3)))
    _, lim = minimum({"a": ones, "b": ones.copy()})
    assert (lim.values == NO_LIMITATION).all()


def test_minimum_empty():
    with pytest.raises(ValueError):
        minimum({})


# -- maximum limitation ----------------------------------------------------------------------
def test_maximum_limitation_hand_example():
    t = _u8([[1, 2, 3, 1, 4, 2, 0]])
    r = _u8([[1, 3, 3, 0, 2, 2, 0]])
    h = _u8([[1, 1, 2, 4, 4, 1, 1]])
    c, lim = maximum_limitation({"t": t, "r": r, "h": h})
    assert c.values.tolist() == [[1, 3, 3, 0, 4, 2, 0]]
    # worst first: col1 r; col2 tie t/r -> t; col3 class 0 -> 0; col4 tie t/h -> t; col5 tie
    assert lim.values.tolist() == [[0, 2, 1, 0, 1, 1, 0]]
    assert c.dtype == np.uint8 and lim.dtype == np.uint8
    assert lim.attrs["factors"] == {"1": "t", "2": "r", "3": "h"}


def test_maximum_limitation_all_s1():
    c, lim = maximum_limitation({"a": _u8([[1, 1]]), "b": _u8([[1, 1]])})
    assert c.values.tolist() == [[1, 1]] and lim.values.tolist() == [[0, 0]]


class_arrays = hnp.arrays(np.uint8, st.tuples(st.integers(1, 3), st.integers(1, 4)),
                          elements=st.integers(1, 4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 4))
def test_law_minimum_of_class_scores_is_maximum_limitation(data, n):
    first = data.draw(class_arrays)
    arrays = [first] + [data.draw(hnp.arrays(np.uint8, first.shape, elements=st.integers(1, 4)))
                        for _ in range(n - 1)]
    grid = make_grid(first.shape)
    classes = {f"f{i}": _u8(a, grid=grid, name=f"f{i}_class") for i, a in enumerate(arrays)}
    score, lim_s = minimum({k: class_scores(v) for k, v in classes.items()})
    overall, lim_c = maximum_limitation(classes)
    np.testing.assert_array_equal(classify_score(score, scheme=FAO).values, overall.values)
    np.testing.assert_array_equal(lim_s.values, lim_c.values)
    np.testing.assert_array_equal(overall.values, np.max(arrays, axis=0))


# -- classify --------------------------------------------------------------------------------
def test_classify_thresholds_exact():
    s = make_layer([[1.0, 0.8, 0.7999, 0.6, 0.5999, 0.4, 0.3999, 0.0, NAN]])
    out = classify_score(s, scheme=FAO)
    assert out.values.tolist() == [[1, 1, 2, 2, 3, 3, 4, 4, NODATA]]
    assert out.dtype == np.uint8
    assert out.attrs["scheme"] == "fao"
    assert grid_of(out) == grid_of(s)


def test_classify_dask_and_custom_scheme():
    sch = FAO.with_bounds({"S1": 0.9, "S2": 0.7, "S3": 0.3})
    vals = [[0.95, 0.9, 0.75], [0.7, 0.5, 0.3], [0.29, NAN, 0.0]]
    exp = [[1, 1, 2], [2, 3, 3], [4, NODATA, 4]]
    assert classify_score(make_layer(vals), scheme=sch).values.tolist() == exp
    lazy = classify_score(make_layer(vals, chunks=2), scheme=sch)
    assert hasattr(lazy.data, "dask")
    assert lazy.values.tolist() == exp


def test_class_of():
    assert [FAO.class_of(v) for v in (0.8, 0.79, 0.6, 0.4, 0.39, NAN)] == [1, 2, 2, 3, 4, NODATA]


@pytest.mark.parametrize(
    "s1, s2, s3",
    [(0.6, 0.8, 0.4), (0.8, 0.8, 0.4), (0.8, 0.6, 0.6), (0.8, 0.4, 0.6), (1.2, 0.6, 0.4),
     (0.8, 0.6, 0.0), (0.8, 0.6, -0.1)],
)
def test_class_scheme_rejects_bad_thresholds(s1, s2, s3):
    with pytest.raises(ValueError, match="bounds must fall"):
        FAO.with_bounds({"S1": s1, "S2": s2, "S3": s3})


def test_with_bounds_names_an_unknown_class():
    with pytest.raises(ValueError, match=r"\['S4'\] is not a class with a bound in scheme 'fao'"):
        FAO.with_bounds({"S4": 0.2})
    with pytest.raises(ValueError, match="'N'"):
        FAO.with_bounds({"N": 0.2})  # the last class has no bound


def test_a_scheme_needs_a_bound_on_every_class_but_the_last():
    a, b = SchemeClass("A", "A", "#000000", 0.5), SchemeClass("B", "B", "#ffffff")
    with pytest.raises(ValueError, match="every class but the last"):
        ClassScheme("x", (a, SchemeClass("B", "B", "#ffffff", 0.1)), "ref", ("A",))
    with pytest.raises(ValueError, match="not classes"):
        ClassScheme("x", (a, b), "ref", ("C",))
    assert ClassScheme("x", (a, b), "ref", ("A",)).classify(np.array([0.5, 0.49])).tolist() == [1, 2]


def test_gaez_scheme_codes_and_tables():
    g = SCHEMES["gaez"]
    assert g.names == ("VS", "S", "MS", "mS", "VmS", "NS") and not g.fao
    assert g.bounds == {"VS": 0.8, "S": 0.6, "MS": 0.4, "mS": 0.2, "VmS": 0.0}
    assert list(g.table_codes) == [1, 2, 3, 4, 5, 6, 253, 254, 255]
    assert g.code("MS") == 3 and g.suitable == ("VS", "S", "MS")
    # strict lowest bound: a score of exactly 0 is NS, anything above VmS
    assert g.classify(np.array([0.0, 1e-7, 0.2], dtype=np.float32)).tolist() == [6, 5, 4]
    assert list(FAO.class_names) == [1, 2, 3, 4, 5, 253, 254, 255]  # 5 = N2


def test_bounds_are_compared_in_the_scores_precision():
    s = np.array([0.7], dtype=np.float32)  # float32(0.7) < 0.7 in float64
    assert FAO.with_bounds({"S2": 0.7}).classify(s).tolist() == [2]


# -- grids --------------------------------------------------------------------------------
def test_combining_layers_on_different_grids_raises():
    a = make_layer([[1.0, 0.5]], grid=make_grid((1, 2)))
    shifted = make_layer([[1.0, 0.5]], grid=make_grid((1, 2), origin=(100_100.0, 9_800_000.0)))
    other_crs = make_layer([[1.0, 0.5]], grid=make_grid((1, 2), crs="EPSG:32747"))
    other_res = make_layer([[1.0, 0.5]], grid=make_grid((1, 2), res=30.0))
    for b in (shifted, other_crs, other_res):
        with pytest.raises(GridMismatchError):
            minimum({"a": a, "b": b})
        with pytest.raises(GridMismatchError):
            maximum_limitation({"a": _u8([[1, 2]], grid=grid_of(a)),
                                "b": _u8([[1, 2]], grid=grid_of(b))})


def test_combining_layer_without_grid_raises():
    a = make_layer([[1.0]])
    b = a.copy().drop_vars("spatial_ref")
    with pytest.raises(GridMismatchError):
        minimum({"a": a, "b": b})


def test_combining_same_grid_different_objects_ok():
    a = make_layer([[1.0, 0.5]], grid=make_grid((1, 2)))
    b = make_layer([[0.2, 0.5]], grid=make_grid((1, 2)))
    s, _ = minimum({"a": a, "b": b})
    assert_layer_equal(s, [[0.2, 0.5]])
