"""Unit tests of gies.methods.class_limits: class limits and class scores."""

from __future__ import annotations

import math

import dask.array as dsa
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gies.methods.class_limits import ClassLimits
from gies.methods.class_limits import class_limits_classes, class_scores
from gies.methods.curves import trapezoid
from gies.testing import assert_layer_equal, assert_stage_contract, make_layer

NAN = float("nan")
LIMITS = (10.0, 20.0, 30.0, 40.0)

DRY = ClassLimits.from_mapping(
    {"S1": ["1-2"], "S2": ["2-3", "1<"], "S3": ["3-4"], "N": [">4"]}, where="dry_months"
)
DEPTH = ClassLimits.from_mapping(
    {"S1": [">100"], "S2": ["75-100"], "S3": ["50-75"], "N": ["50<"]}, where="soil_depth"
)
GAP = ClassLimits.from_mapping({"S1": [">40"], "S2": ["21-40"], "S3": ["11-20"]}, where="k2o")


def _row(values, chunks=None):
    return make_layer([list(values)], chunks=chunks, name="f")


def _scores(values, limits=LIMITS, chunks=None):
    return np.asarray(trapezoid(_row(values, chunks), limits=limits).values)[0]


# -- trapezoid ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, expected",
    [
        (-1e6, 0.0),
        (9.0, 0.0),
        (10.0, 0.0),  # a: zero at the absolute limit
        (10.5, 0.05),  # just inside a
        (15.0, 0.5),
        (19.5, 0.95),  # just below b
        (20.0, 1.0),  # b
        (25.0, 1.0),
        (30.0, 1.0),  # c
        (30.5, 0.95),  # just above c
        (35.0, 0.5),
        (39.5, 0.05),  # just inside d
        (40.0, 0.0),  # d
        (41.0, 0.0),
        (1e6, 0.0),
    ],
)
def test_trapezoid_breakpoints(x, expected):
    assert _scores([x])[0] == pytest.approx(expected, abs=1e-6)


def test_trapezoid_nan_stays_nan_and_dtype():
    out = trapezoid(_row([NAN, 25.0]), limits=LIMITS)
    assert math.isnan(float(out.values[0, 0]))
    assert float(out.values[0, 1]) == 1.0
    assert out.dtype == np.float32
    assert out.attrs["units"] == "1"
    assert out.name == "f_score"


def test_trapezoid_keeps_grid_and_coords():
    layer = _row([5.0, 15.0, 25.0])
    assert_stage_contract(trapezoid, layer, limits=LIMITS)


def test_trapezoid_docstring_example():
    s = trapezoid(make_layer([[10, 15, 21, 32, 35, 38]]), limits=(10, 21, 32, 38))
    assert_layer_equal(s, [[0.0, 5 / 11, 1.0, 1.0, 0.5, 0.0]])


def test_trapezoid_open_lower_side():
    xs = [-1e9, -5.0, 0.0, 30.0, 35.0, 40.0, 50.0]
    assert_layer_equal(
        trapezoid(_row(xs), limits=(None, None, 30, 40)), [[1, 1, 1, 1, 0.5, 0, 0]]
    )


def test_trapezoid_open_upper_side():
    xs = [0.0, 10.0, 15.0, 20.0, 1e9]
    assert_layer_equal(
        trapezoid(_row(xs), limits=(10, 20, None, None)), [[0, 0, 0.5, 1, 1]]
    )


def test_trapezoid_step_up_and_down():
    # a == b: a step up at 10 (10 itself is already optimal); c == d: step down after 30
    xs = [9.99, 10.0, 20.0, 30.0, 30.01]
    assert_layer_equal(trapezoid(_row(xs), limits=(10, 10, 30, 30)), [[0, 1, 1, 1, 0]])


def test_trapezoid_step_only_upper_limit():
    # ECOCROP altitude: only an absolute maximum, as a step at 900 m
    xs = [0.0, 899.0, 900.0, 900.5]
    assert_layer_equal(trapezoid(_row(xs), limits=(None, None, 900, 900)), [[1, 1, 1, 0]])


@pytest.mark.parametrize(
    "limits",
    [
        (20, 10, 30, 40),  # a > b
        (10, 20, 15, 40),  # b > c
        (10, 20, 30, 25),  # c > d
        (None, 20, 30, 40),  # only one limit of the lower side left out
        (10, None, 30, 40),
        (10, 20, None, 40),
        (10, 20, 30, None),
    ],
)
def test_trapezoid_invalid_limits(limits):
    with pytest.raises(ValueError):
        trapezoid(_row([1.0]), limits=limits)


def test_trapezoid_numpy_and_dask_identical_and_lazy():
    vals = [[NAN, 9.0, 10.0, 12.5, 20.0], [25.0, 30.0, 33.0, 40.0, 99.0],
            [15.0, 15.0, 35.0, 35.0, 0.0], [10.5, 39.5, 20.0, 30.0, NAN]]
    np_out = trapezoid(make_layer(vals), limits=LIMITS)
    dk_layer = make_layer(vals, chunks=2)
    dk_out = trapezoid(dk_layer, limits=LIMITS)
    assert isinstance(dk_out.data, dsa.Array)
    assert dk_out.data.chunks == dk_layer.data.chunks
    assert dk_out.dtype == np_out.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(dk_out.values), np.asarray(np_out.values))
    assert_layer_equal(
        np_out,
        [[NAN, 0, 0, 0.25, 1], [1, 1, 0.7, 0, 0], [0.5, 0.5, 0.5, 0.5, 0], [0.05, 0.05, 1, 1, NAN]],
    )


# -- class limits --------------------------------------------------------------------------
def _classes(values, limits, on_limit="worse", chunks=None):
    c, u = class_limits_classes(_row(values, chunks), limits=limits, on_limit=on_limit)
    return np.asarray(c.values)[0].tolist(), np.asarray(u.values)[0].tolist()


@pytest.mark.parametrize(
    "value, worse, better",
    [
        (2.0, 2, 1),  # on the S1/S2 limit 1-2 | 2-3
        (1.0, 2, 1),  # on the S1/S2 limit 1-2 | 1<
        (1.5, 1, 1),
        (0.0, 2, 2),
        (2.5, 2, 2),
        (3.0, 3, 2),  # S2/S3 limit
        (4.0, 4, 3),  # S3/N limit
        (6.0, 4, 4),
    ],
)
def test_dry_months_on_limit(value, worse, better):
    assert _classes([value], DRY, "worse")[0] == [worse]
    assert _classes([value], DRY, "better")[0] == [better]


@pytest.mark.parametrize(
    "value, worse, better",
    [(100.0, 2, 1), (100.5, 1, 1), (99.5, 2, 2), (75.0, 3, 2), (50.0, 4, 3), (10.0, 4, 4)],
)
def test_soil_depth_on_limit(value, worse, better):
    assert _classes([value], DEPTH, "worse")[0] == [worse]
    assert _classes([value], DEPTH, "better")[0] == [better]


def test_gap_value_tie_and_beyond_outer_range():
    vals = [20.5, 20.2, 20.8, 5.0, 30.0, 41.0, NAN]
    cw, uw = _classes(vals, GAP, "worse")
    cb, ub = _classes(vals, GAP, "better")
    # 20.5 is 0.5 from both 11-20 (S3) and 21-40 (S2): a tie
    assert cw == [3, 3, 2, 3, 2, 1, 0]
    assert cb == [2, 3, 2, 3, 2, 1, 0]
    # unmatched: the gap values and 5 (beyond S3's range); never NaN, never in-range values
    assert uw == ub == [True, True, True, True, False, False, False]


def test_class_limits_nan_is_class_zero_and_attrs():
    c, u = class_limits_classes(_row([NAN, 1.5]), limits=DRY)
    assert c.dtype == np.uint8
    assert c.values.tolist() == [[0, 1]]
    assert u.values.tolist() == [[False, False]]
    assert c.attrs["classes"] == {"1": "S1", "2": "S2", "3": "S3", "4": "N"}
    assert c.attrs["units"] == "class"


def test_class_limits_invalid_on_limit():
    with pytest.raises(ValueError):
        class_limits_classes(_row([1.0]), limits=DRY, on_limit="middle")


def test_class_limits_dask_identical_and_lazy():
    vals = [[0.0, 1.0, 1.5, 2.0], [2.5, 3.0, 3.5, 4.0], [5.0, NAN, 0.5, 3.2]]
    expected = {
        "worse": [[2, 2, 1, 2], [2, 3, 3, 4], [4, 0, 2, 3]],
        "better": [[2, 1, 1, 1], [2, 2, 3, 3], [4, 0, 2, 3]],
    }
    for on_limit, exp in expected.items():
        cn, un = class_limits_classes(make_layer(vals), limits=DRY, on_limit=on_limit)
        cd, ud = class_limits_classes(make_layer(vals, chunks=2), limits=DRY, on_limit=on_limit)
        assert isinstance(cd.data, dsa.Array) and isinstance(ud.data, dsa.Array)
        assert cd.dtype == np.uint8
        np.testing.assert_array_equal(cd.values, cn.values)
        np.testing.assert_array_equal(ud.values, un.values)
        assert cn.values.tolist() == exp
        assert not un.values.any()  # every value of this table is in some range


def test_class_limits_infinite_values_take_open_range_class():
    # +inf and -inf take the class of the open range on their side (inf - inf is no distance)
    c, u = class_limits_classes(_row([math.inf, -math.inf]), limits=DEPTH)
    assert c.values.tolist() == [[1, 4]]
    assert u.values.tolist() == [[False, False]]


CLOSED = ClassLimits.from_mapping({"S1": ["25-28"], "S2": ["20-25", "28-32"]}, where="t")


def test_class_limits_far_beyond_closed_outer_range_takes_nearest():
    c, u = class_limits_classes(_row([1e30, -1e30]), limits=CLOSED)
    assert c.values.tolist() == [[2, 2]]
    assert u.values.tolist() == [[True, True]]


def test_class_limits_infinite_beyond_closed_outer_range_takes_nearest():
    c, _ = class_limits_classes(_row([math.inf, -math.inf]), limits=CLOSED)
    assert c.values.tolist() == [[2, 2]]


# Layers are float32 (make_layer, harmonise.to_units); limits are Python floats. A cell that
# holds "the limit" in float32 (e.g. 0.2 -> 0.20000000298) is compared in float64 with the
# limit 0.2 and lands on the wrong side of it.
NITROGEN = ClassLimits.from_mapping(
    {"S1": [">0.2"], "S2": ["0.10-0.20"], "S3": ["0.10<"]}, where="nitrogen"
)
OC = ClassLimits.from_mapping({"S1": [">1.2"], "S2": ["0.8-1.2"], "S3": ["0.8<"]}, where="oc")


def test_on_limit_with_float32_exact_limits_works():
    # 0.5, 8, 100 are exact in float32: the documented on-limit rule holds
    lim = ClassLimits.from_mapping({"S1": ["0.5-8"], "S2": ["8-15", "0.5<"]}, where="x")
    assert _classes([0.5, 8.0], lim, "worse")[0] == [2, 2]
    assert _classes([0.5, 8.0], lim, "better")[0] == [1, 1]


def test_on_limit_with_decimal_limits_on_float32_layer():
    # float32 cells are compared with decimal limits in the layer's own precision
    # nitrogen 0.2 % and 0.1 %, organic carbon 1.2 %: on the limit -> worse class
    assert _classes([0.2, 0.1], NITROGEN, "worse")[0] == [2, 3]
    assert _classes([1.2], OC, "worse")[0] == [2]
    assert _classes([0.2, 0.1, 1.2], NITROGEN, "better")[0] == [1, 2, 1]
    # the same decimals on a float64 layer
    f64 = make_layer([[0.0, 0.0]]).copy(data=np.array([[0.2, 0.1]], dtype=np.float64))
    c, _ = class_limits_classes(f64, limits=NITROGEN)
    assert c.values.tolist() == [[2, 3]]


def test_trapezoid_decimal_limit_on_float32_layer():
    # a float32 value on a decimal limit is on the limit (float32(0.7) is not below 0.7)
    assert _scores([0.7], limits=(0.5, 0.7, 1.0, 1.2))[0] == 1.0
    assert _scores([0.1, 1.2], limits=(0.1, 0.7, 1.0, 1.2)).tolist() == [0.0, 0.0]


# -- class scores --------------------------------------------------------------------------
def test_class_scores_default_mapping():
    classes = make_layer(np.array([[1, 2, 3, 4, 0]], dtype="uint8"), name="ph_class")
    s = class_scores(classes)
    assert s.dtype == np.float32
    assert s.name == "ph_score"
    assert_layer_equal(s, [[1.0, 0.7, 0.5, 0.0, NAN]])


def test_class_scores_custom_scores_and_dask():
    arr = np.array([[1, 2], [3, 4], [0, 2]], dtype="uint8")
    custom = {"S2": 0.75, "N": 0.1}
    expected = [[1.0, 0.75], [0.5, 0.1], [NAN, 0.75]]
    assert_layer_equal(class_scores(make_layer(arr), scores=custom), expected)
    lazy = class_scores(make_layer(arr, chunks=2), scores=custom)
    assert isinstance(lazy.data, dsa.Array)
    assert_layer_equal(lazy, expected)


# -- properties ----------------------------------------------------------------------------
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# float32-representable limits: layers are float32, and a decimal limit like 0.7 is not
# (see test_trapezoid_decimal_limit_on_float32_layer for what happens then)
finite32 = st.floats(min_value=-1e6, max_value=1e6, width=32, allow_nan=False,
                     allow_infinity=False)
any_float = st.floats(width=32)


@st.composite
def sorted_limits(draw, elements=finite):
    return tuple(sorted(draw(st.lists(elements, min_size=4, max_size=4))))


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(limits=sorted_limits(), xs=st.lists(any_float, min_size=1, max_size=8))
def test_prop_trapezoid_in_unit_interval_or_nan(limits, xs):
    layer = _row(xs)
    out = np.asarray(trapezoid(layer, limits=limits).values)
    nan_in = np.isnan(np.asarray(layer.values))
    assert np.array_equal(np.isnan(out), nan_in)
    assert np.all((out[~nan_in] >= 0) & (out[~nan_in] <= 1))


@SETTINGS
@given(limits=sorted_limits(finite32), t=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_prop_trapezoid_one_on_optimum(limits, t):
    a, b, c, d = limits
    xs = np.clip(np.float32(b) + (np.float32(c) - np.float32(b)) * np.asarray(t, np.float32),
                 np.float32(b), np.float32(c))
    xs = xs[(xs.astype(np.float64) >= b) & (xs.astype(np.float64) <= c)]
    if xs.size:
        assert np.all(_scores(xs, limits) == 1.0)


@SETTINGS
@given(limits=sorted_limits(), xs=st.lists(finite, min_size=2, max_size=12))
def test_prop_trapezoid_monotone_outside_optimum(limits, xs):
    a, b, c, d = limits
    x = np.sort(np.asarray(xs, dtype=np.float32))
    s = _scores(x, limits)
    below, above = x < b, x > c
    assert np.all(np.diff(s[below]) >= 0)
    assert np.all(np.diff(s[above]) <= 0)


@SETTINGS
@given(xs=st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False) | st.just(NAN), min_size=1, max_size=10),
       on_limit=st.sampled_from(["worse", "better", "right_closed", "left_closed"]),
       table=st.sampled_from([DRY, DEPTH, GAP]))
def test_prop_class_codes_valid(xs, on_limit, table):
    c, _ = _classes(xs, table, on_limit)
    for x, code in zip(xs, c):
        if math.isnan(x):
            assert code == 0
        else:
            assert code in (1, 2, 3, 4)
