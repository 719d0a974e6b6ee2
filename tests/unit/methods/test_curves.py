"""Unit tests of the scoring curves (gies.methods.curves, gies.methods.arcgis)."""

from __future__ import annotations

import math

import dask
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gies.methods import arcgis, class_limits, curves
from gies.methods.registry import CURVES
from gies.methods.schemes import SCHEMES, classify_score
from gies.methods.class_limits import ClassLimits
from gies.testing import assert_stage_contract, make_layer

NAN = float("nan")
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)


def _row(values, chunks=None):
    return make_layer([list(values)], name="f", chunks=chunks)


def _vals(layer):
    return np.asarray(layer.values, dtype=np.float64)[0]




# -- registry ----------------------------------------------------------------------------
def test_registry_names():
    for name in ["trapezoid", "piecewise_linear", "lookup", "linear", "symmetric_linear",
                 "small", "large", "gaussian", "near", "logistic_growth", "logistic_decay",
                 "power", "class_interpolated"]:
        assert name in CURVES


# -- piecewise linear --------------------------------------------------------------------
PTS = [(4.5, 0.0), (5.5, 1.0), (7.0, 1.0), (8.5, 0.0)]


@pytest.mark.parametrize("x, expected", [
    (-100, 0.0), (4.4, 0.0), (4.5, 0.0), (4.6, 0.1), (5.0, 0.5), (5.4, 0.9), (5.5, 1.0),
    (6.0, 1.0), (7.0, 1.0), (7.3, 0.8), (8.5, 0.0), (9.0, 0.0), (NAN, NAN)])
def test_piecewise_linear_breakpoints(x, expected):
    v = _vals(curves.piecewise_linear(_row([x]), points=PTS))[0]
    assert (math.isnan(v) and math.isnan(expected)) or v == pytest.approx(expected, abs=1e-6)


def test_piecewise_linear_constant_beyond_ends_nonzero():
    v = _vals(curves.piecewise_linear(_row([0, 1, 2, 3]), points=[(1, 0.2), (2, 0.6)]))
    assert v == pytest.approx([0.2, 0.2, 0.6, 0.6])


@pytest.mark.parametrize("points", [[], [(1, 0.5), (1, 0.6)], [(2, 0.1), (1, 0.2)],
                                    [(1, 1.5)], [(1, -0.1)], [(NAN, 0.5)]])
def test_piecewise_linear_rejects_bad_points(points):
    with pytest.raises(ValueError):
        curves.piecewise_linear(_row([1]), points=points)


@FAST
@given(x=st.lists(finite, min_size=1, max_size=8))
def test_piecewise_linear_in_unit_interval(x):
    v = _vals(curves.piecewise_linear(_row(x), points=PTS))
    assert np.all((v >= 0) & (v <= 1))


# -- lookup -----------------------------------------------------------------------------
def test_lookup_codes_default_and_unmapped():
    lyr = _row([1, 2, 3, 7, NAN])
    table = {1: 1.0, 2: 0.5, 3: 0.0}
    assert _vals(curves.lookup(lyr, table=table))[:3].tolist() == [1.0, 0.5, 0.0]
    assert np.isnan(_vals(curves.lookup(lyr, table=table))[3:]).all()
    assert _vals(curves.lookup(lyr, table=table, default=0.25))[3] == 0.25
    assert curves.lookup_unmapped(lyr, table=table).values[0].tolist() == [False] * 3 + [True, False]


@pytest.mark.parametrize("table, default", [({}, None), ({1: 1.2}, None), ({1.5: 1}, None),
                                            ({1: 1}, 2.0)])
def test_lookup_rejects_bad_tables(table, default):
    with pytest.raises(ValueError):
        curves.lookup(_row([1]), table=table, default=default)


# -- ArcGIS continuous functions ---------------------------------------------------------
@pytest.mark.parametrize("x, expected", [
    (0, 0.0), (9.99, 0.0), (10, 0.0), (12.5, 0.25), (15, 0.5), (20, 1.0), (25, 1.0)])
def test_linear(x, expected):
    v = _vals(arcgis.linear(_row([x]), minimum=10, maximum=20, lower=10, upper=20))[0]
    assert v == pytest.approx(expected, abs=1e-6)


def test_linear_decreasing_and_threshold_values():
    v = _vals(arcgis.linear(_row([5, 10, 15, 20, 25]), minimum=20, maximum=10, lower=10, upper=20,
                        below=NAN, above=0.0))
    assert np.isnan(v[0]) and v[1:].tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])


def test_linear_rescales_over_thresholds():
    # f = (x - 0)/100 on [20, 60] -> f(20) = 0.2, f(60) = 0.6 -> stretched to 0..1
    v = _vals(arcgis.linear(_row([10, 20, 40, 60, 80]), minimum=0, maximum=100, lower=20, upper=60))
    assert v.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    raw = _vals(arcgis.linear(_row([40]), minimum=0, maximum=100, lower=20, upper=60, rescale=False))
    assert raw[0] == pytest.approx(0.4)


@pytest.mark.parametrize("x, expected", [(0, 0), (5, 0.5), (10, 1), (15, 0.5), (20, 0), (30, 0)])
def test_symmetric_linear(x, expected):
    v = _vals(arcgis.symmetric_linear(_row([x]), minimum=0, maximum=20, lower=0, upper=30))[0]
    assert v == pytest.approx(expected, abs=1e-6)


def test_gaussian_near_hand_values():
    g = _vals(arcgis.gaussian(_row([25, 30, 35]), midpoint=25, spread=0.02, lower=-1e9, upper=1e9,
                          rescale=False))
    assert g == pytest.approx([1.0, math.exp(-0.5), math.exp(-2.0)], rel=1e-6)
    n = _vals(arcgis.near(_row([25, 30, 35]), midpoint=25, spread=0.04, lower=0, upper=50,
                      rescale=False))
    assert n == pytest.approx([1.0, 0.5, 0.2], rel=1e-6)


def test_gaussian_rescaled_over_thresholds():
    # over [15, 35] the minimum of f is at the ends: exp(-0.02 * 100)
    fmin = math.exp(-2.0)
    v = _vals(arcgis.gaussian(_row([15, 25, 30, 35, 40]), midpoint=25, spread=0.02, lower=15,
                          upper=35))
    assert v[:4] == pytest.approx([0.0, 1.0, (math.exp(-0.5) - fmin) / (1 - fmin), 0.0], abs=1e-6)
    assert v[4] == 0.0  # above upper: score at upper


@pytest.mark.parametrize("fn, x, expected", [
    ("small", 10, 0.5), ("small", 20, 0.2), ("small", 5, 0.8), ("small", 0, 1.0),
    ("large", 10, 0.5), ("large", 20, 0.8), ("large", 5, 0.2), ("large", 0, 0.0)])
def test_small_large_midpoint_spread(fn, x, expected):
    v = _vals(getattr(arcgis, fn)(_row([x]), midpoint=10, spread=2, lower=0, upper=1000,
                              rescale=False))[0]
    assert v == pytest.approx(expected, abs=1e-6)


def test_logistic_growth_decay_hand_values():
    g = _vals(arcgis.logistic_growth(_row([0, 50, 100]), minimum=0, maximum=100, lower=0,
                                 upper=100, y_intercept_percent=5, rescale=False))
    assert g == pytest.approx([0.05, 0.5, 0.95], abs=1e-6)
    d = _vals(arcgis.logistic_decay(_row([0, 50, 100]), minimum=0, maximum=100, lower=0,
                                upper=100, y_intercept_percent=5))
    assert d == pytest.approx([1.0, 0.5, 0.0], abs=1e-6)


def test_power_hand_values():
    v = _vals(arcgis.power(_row([1, 2, 3, 5, 9]), shift=1, exponent=0.5, lower=1, upper=5))
    assert v == pytest.approx([0.0, 0.5, math.sqrt(2) / 2, 1.0, 1.0], abs=1e-6)


@pytest.mark.parametrize("call", [
    lambda l: arcgis.linear(l, minimum=1, maximum=1, lower=0, upper=1),
    lambda l: arcgis.linear(l, minimum=0, maximum=1, lower=5, upper=1),
    lambda l: arcgis.linear(l, minimum=0, maximum=1, lower=5, upper=6),  # flat on thresholds
    lambda l: arcgis.gaussian(l, midpoint=0, spread=-1, lower=0, upper=1),
    lambda l: arcgis.small(l, midpoint=0, spread=1, lower=0, upper=1),
    lambda l: arcgis.logistic_growth(l, minimum=0, maximum=1, lower=0, upper=1,
                                 y_intercept_percent=60),
    lambda l: arcgis.power(l, shift=2, exponent=1, lower=0, upper=5),
    lambda l: arcgis.linear(l, minimum=0, maximum=1, lower=0, upper=1, below=2.0),
])
def test_continuous_rejects_bad_parameters(call):
    with pytest.raises(ValueError):
        call(_row([0.5]))


CONT = {
    "linear": dict(minimum=0, maximum=50), "symmetric_linear": dict(minimum=0, maximum=50),
    "gaussian": dict(midpoint=20, spread=0.01), "near": dict(midpoint=20, spread=0.05),
    "small": dict(midpoint=20, spread=3), "large": dict(midpoint=20, spread=3),
    "logistic_growth": dict(minimum=10, maximum=40), "logistic_decay": dict(minimum=10, maximum=40),
    "power": dict(shift=0, exponent=2),
}
MONOTONE = {"linear": 1, "large": 1, "logistic_growth": 1, "power": 1, "small": -1,
            "logistic_decay": -1}


@FAST
@given(x=st.lists(st.floats(-100, 200, allow_nan=False, width=32), min_size=2, max_size=10),
       name=st.sampled_from(sorted(CONT)))
def test_continuous_unit_interval_and_monotone(x, name):
    x = sorted(x) + [NAN]
    v = _vals(getattr(arcgis, name)(_row(x), lower=0, upper=100, **CONT[name]))
    assert np.isnan(v[-1])
    v = v[:-1]
    assert np.all((v >= 0) & (v <= 1))
    if name in MONOTONE:
        d = np.diff(v) * MONOTONE[name]
        assert np.all(d >= -1e-6)


def test_continuous_lazy_and_contract():
    lyr = make_layer(np.linspace(-10, 110, 48).reshape(6, 8), chunks=3, name="f")
    outs = [assert_stage_contract(getattr(arcgis, n), lyr, lower=0, upper=100, **CONT[n])
            for n in CONT]
    outs.append(assert_stage_contract(curves.piecewise_linear, lyr, points=PTS))
    outs.append(assert_stage_contract(curves.lookup, lyr, table={1: 1.0}))
    for o in outs:
        assert o.attrs["units"] == "1"
    np.testing.assert_allclose(outs[0].values, arcgis.linear(lyr.compute(), lower=0, upper=100,
                                                          **CONT["linear"]).values)


# -- class-interpolated scores ----------------------------------------------------------
DEPTH = ClassLimits.from_mapping(
    {"S1": [">100"], "S2": ["75-100"], "S3": ["50-75"], "N": ["50<"]}, where="soil_depth")
TEMP = ClassLimits.from_mapping(
    {"S1": ["25-28"], "S2": ["20-25", "28-32"], "S3": ["32-35"], "N": ["20<", ">35"]},
    where="temperature")
DRY = ClassLimits.from_mapping(
    {"S1": ["1-2"], "S2": ["2-3", "1<"], "S3": ["3-4"], "N": [">4"]}, where="dry_months")
TOP = {"S2": 0.8, "S3": 0.6, "N": 0.4}


@pytest.mark.parametrize("x, expected", [
    (150, 1.0), (100.5, 1.0), (100, 0.79999995), (87.5, 0.7), (75.01, 0.6),
    (75, 0.59999996), (62.5, 0.5), (50.01, 0.4), (50, 0.0), (10, 0.0)])
def test_interpolated_depth_one_sided(x, expected):
    v = _vals(class_limits.class_interpolated_scores(_row([x]), limits=DEPTH))[0]
    assert v == pytest.approx(expected, abs=2e-4)


@pytest.mark.parametrize("x, expected", [
    (26.5, 1.0), (25.75, 0.9), (25, 0.79999995), (22.5, 0.7), (20, 0.0),  # 20 on limit -> N
    (30, 0.7), (32, 0.59999996), (33.5, 0.5), (35, 0.0), (40, 0.0), (10, 0.0)])
def test_interpolated_two_sided_tent_and_directions(x, expected):
    v = _vals(class_limits.class_interpolated_scores(_row([x]), limits=TEMP))[0]
    assert v == pytest.approx(expected, abs=2e-4)


def test_interpolated_on_limit_better():
    v = _vals(class_limits.class_interpolated_scores(_row([25, 100]), limits=TEMP, on_limit="better"))
    assert v[0] == pytest.approx(0.8, abs=1e-6)  # S1 edge (tent bottom)
    v = _vals(class_limits.class_interpolated_scores(_row([100]), limits=DEPTH, on_limit="better"))
    assert v[0] == 1.0  # S1 '>100' open: constant


def test_interpolated_open_ranges_use_step_scores():
    v = _vals(class_limits.class_interpolated_scores(_row([0.5, 5, NAN]), limits=DRY))
    assert v[0] == pytest.approx(0.7) and v[1] == 0.0 and np.isnan(v[2])


@FAST
@given(x=st.lists(st.floats(-50, 200, allow_nan=False, width=32), min_size=1, max_size=10),
       limits=st.sampled_from([DEPTH, TEMP, DRY]),
       on_limit=st.sampled_from(["worse", "better", "right_closed", "left_closed"]))
def test_interpolated_keeps_the_class(x, limits, on_limit):
    lyr = _row(x)
    classes, _ = class_limits.class_limits_classes(lyr, limits=limits, on_limit=on_limit)
    s = class_limits.class_interpolated_scores(lyr, limits=limits, on_limit=on_limit)
    v = _vals(s)
    assert np.all((v >= 0) & (v <= 1))
    assert classify_score(s, scheme=SCHEMES["fao"]).values.tolist() == classes.values.tolist()


@FAST
@given(a=st.floats(-50, 50), w=st.lists(st.floats(0.5, 20), min_size=3, max_size=3),
       t=st.floats(0, 1))
def test_trapezoid_is_exactly_one_on_its_optimum(a, w, t):
    b = a + w[0]
    c = b + w[1]
    d = c + w[2]
    x = [b, c, b + t * (c - b)]
    v = _vals(curves.trapezoid(make_layer([x], units="1"), limits=(a, b, c, d)))  # float32 data
    assert v.tolist() == [1.0, 1.0, 1.0]


# -- exponential (ArcGIS TfExponential) ----------------------------------------------------
def test_exponential_hand_values_thresholds_and_decay():
    from gies.methods.arcgis import exponential

    lyr = _row([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, NAN])
    # f = 2^x on [0, 3]: (f - 1) / 7; below/above take the ends' scores unless given
    s = _vals(exponential(lyr, shift=0, base_factor=math.log(2), lower=0, upper=3))
    np.testing.assert_allclose(s, [0, 0, 1 / 7, 3 / 7, 1, 1, np.nan], rtol=1e-6)
    s = _vals(exponential(lyr, shift=1, base_factor=math.log(2), lower=0, upper=3,
                          below=NAN, above=0.25))
    np.testing.assert_allclose(s, [np.nan, 0, 1 / 7, 3 / 7, 1, 0.25, np.nan], rtol=1e-6)
    dec = _vals(exponential(lyr, shift=0, base_factor=-math.log(2), lower=0, upper=3))
    np.testing.assert_allclose(dec, [1, 1, 3 / 7, 1 / 7, 0, 0, np.nan], rtol=1e-6, atol=1e-7)
    raw = _vals(exponential(lyr, shift=3, base_factor=1, lower=0, upper=3, rescale=False))
    np.testing.assert_allclose(raw[1:5], np.exp([-3, -2, -1, 0]), rtol=1e-6)
    with pytest.raises(ValueError, match="base_factor must be a non-zero number"):
        exponential(lyr, shift=0, base_factor=0, lower=0, upper=3)
