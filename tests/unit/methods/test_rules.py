"""Unit tests of the combination rules (gies.methods.rules, gies.methods.fao)."""

from __future__ import annotations

import math

import dask
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gies.methods import fao, rules
from gies.methods.registry import CLASS_RULES, RULES
from gies.testing import make_grid, make_layer, no_compute

NAN = float("nan")
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
unit = st.floats(0, 1, allow_nan=False, width=32)


def _s(*rows, chunks=None, grid=None):
    return {f"f{i}": make_layer([list(r)], name=f"f{i}", chunks=chunks, grid=grid)
            for i, r in enumerate(rows)}


def _v(res):
    return np.asarray(res[0].values, dtype=np.float64)[0]


def _u8(v):
    return make_layer(np.array([v], dtype="uint8"))


def test_registry_names():
    for name in ["minimum", "maximum_limitation", "weighted_mean", "weighted_geometric_mean",
                 "product", "fuzzy_or", "fuzzy_and", "fuzzy_sum", "fuzzy_product",
                 "fuzzy_gamma", "owa", "grouped"]:
        assert name in RULES or name in CLASS_RULES


def test_hand_values():
    s = _s([0.5, 1.0, 0.0, NAN], [0.8, 1.0, 0.5, 0.5])
    assert _v(rules.weighted_mean(s, weights={"f0": 1, "f1": 3}))[:3] == pytest.approx(
        [0.725, 1.0, 0.375])
    assert _v(rules.weighted_geometric_mean(s, weights={"f0": 1, "f1": 1}))[:3] == pytest.approx(
        [math.sqrt(0.4), 1.0, 0.0], abs=1e-6)
    assert _v(rules.product(s))[:3] == pytest.approx([0.4, 1.0, 0.0])
    assert _v(rules.product(s))[:3] == pytest.approx([0.4, 1.0, 0.0])
    assert _v(rules.fuzzy_or(s))[:3] == pytest.approx([0.8, 1.0, 0.5])
    assert _v(rules.fuzzy_and(s))[:3] == pytest.approx([0.5, 1.0, 0.0])
    assert _v(rules.fuzzy_sum(s))[:3] == pytest.approx([0.9, 1.0, 0.5])
    g = _v(rules.fuzzy_gamma(s, gamma=0.9))
    assert g[0] == pytest.approx(0.9**0.9 * 0.4**0.1, abs=1e-6)
    assert g[2] == 0.0
    assert _v(rules.owa(s, order_weights=[0.25, 0.75]))[:3] == pytest.approx(
        [0.25 * 0.8 + 0.75 * 0.5, 1.0, 0.125])
    for rule in ("product", "fuzzy_or", "fuzzy_and", "fuzzy_sum", "fuzzy_product"):
        assert np.isnan(_v(RULES[rule](s))[3])


def test_limiting_is_lowest_factor():
    s = _s([0.5, 1.0, 0.9, NAN], [0.8, 1.0, 0.3, 0.2])
    _, lim = rules.weighted_mean(s, weights={"f0": 1, "f1": 1})
    assert lim.values[0].tolist() == [1, rules.NO_LIMITATION, 2, 0]
    assert lim.attrs["factors"] == {"1": "f0", "2": "f1"}


@pytest.mark.parametrize("weights", [{"f0": -1, "f1": 2}, {"f0": 0, "f1": 0},
                                     {"f0": 1}, {"f0": 1, "f1": 1, "x": 1},
                                     {"f0": float("inf"), "f1": 1}])
def test_weights_that_cannot_be_normalised(weights):
    with pytest.raises(ValueError):
        rules.weighted_mean(_s([0.5], [0.5]), weights=weights)


def test_gamma_and_owa_validation():
    with pytest.raises(ValueError):
        rules.fuzzy_gamma(_s([0.5], [0.5]), gamma=1.5)
    with pytest.raises(ValueError):
        rules.owa(_s([0.5], [0.5]), order_weights=[1, 0, 0])


@FAST
@given(data=st.lists(st.tuples(unit, unit, unit), min_size=1, max_size=6),
       rule=st.sampled_from(["weighted_mean", "weighted_geometric_mean", "product", "fuzzy_or",
                             "fuzzy_and", "fuzzy_sum", "fuzzy_product", "fuzzy_gamma", "owa"]))
def test_rules_in_unit_interval(data, rule):
    rows = list(zip(*data))
    s = _s(*rows)
    kw = {}
    if rule.startswith("weighted"):
        kw = {"weights": {"f0": 1, "f1": 2, "f2": 3}}
    elif rule == "owa":
        kw = {"order_weights": [0.2, 0.3, 0.5]}
    v = _v(RULES[rule](s, **kw))
    assert np.all((v >= 0) & (v <= 1 + 1e-6))


@FAST
@given(data=st.lists(st.tuples(unit, unit, unit), min_size=1, max_size=6),
       w=st.floats(0.1, 10))
def test_equal_weights_give_plain_mean(data, w):
    rows = list(zip(*data))
    s = _s(*rows)
    expected = np.mean(np.array(rows, dtype=np.float32).astype(np.float64), axis=0)
    got = _v(rules.weighted_mean(s, weights={"f0": w, "f1": w, "f2": w}))
    assert got == pytest.approx(expected, abs=1e-5)
    got = _v(rules.owa(s, order_weights=[w, w, w]))
    assert got == pytest.approx(expected, abs=1e-5)


@FAST
@given(data=st.lists(st.tuples(unit, unit, unit), min_size=1, max_size=6))
def test_owa_extremes_are_max_and_min(data):
    rows = list(zip(*data))
    s = _s(*rows)
    arr = np.array(rows, dtype=np.float32)
    assert _v(rules.owa(s, order_weights=[1, 0, 0])) == pytest.approx(arr.max(0), abs=1e-6)
    assert _v(rules.owa(s, order_weights=[0, 0, 1])) == pytest.approx(arr.min(0), abs=1e-6)
    assert _v(rules.fuzzy_and(s)) == pytest.approx(_v(rules.minimum(s)))


@FAST
@given(data=st.lists(st.tuples(unit, unit), min_size=1, max_size=6))
def test_gamma_ends_are_sum_and_product(data):
    s = _s(*zip(*data))
    assert _v(rules.fuzzy_gamma(s, gamma=1.0)) == pytest.approx(_v(rules.fuzzy_sum(s)), abs=1e-6)
    assert _v(rules.fuzzy_gamma(s, gamma=0.0)) == pytest.approx(_v(rules.product(s)), abs=1e-6)


def test_grouped_two_levels():
    s = {"t": make_layer([[1.0, 0.2]]), "r": make_layer([[0.5, 1.0]]),
         "ph": make_layer([[0.9, 0.6]])}
    groups = {"t": "climate", "r": "climate", "ph": "soil"}
    score, lim = rules.grouped(s, groups=groups, weights={"climate": 3, "soil": 1})
    assert score.values[0].tolist() == pytest.approx([0.75 * 0.5 + 0.25 * 0.9,
                                                      0.75 * 0.2 + 0.25 * 0.6])
    assert [lim.attrs["factors"][str(c)] for c in lim.values[0]] == ["climate", "climate"]
    score, lim = rules.grouped(s, groups=groups, within="fuzzy_or", across="minimum")
    assert score.values[0].tolist() == pytest.approx([0.9, 0.6])
    assert [lim.attrs["factors"][str(c)] for c in lim.values[0]] == ["soil", "soil"]
    with pytest.raises(ValueError):
        rules.grouped(s, groups={"t": "climate"})


def test_fao_subclass_encoding_and_hand_cases():
    table = fao.subclass_code_table()
    assert table[1] == "S1" and table[0] == "no data"
    assert table[32 * 2 + 1] == "S2c" and table[32 * 3 + 2 + 8] == "S3nt"
    assert table[32 * 4 + 16] == "Nw" and max(table) == 159 < 253
    classes = {"t": _u8([1, 2, 2, 4, 3, 1]), "ph": _u8([1, 1, 2, 4, 3, 0]),
               "slope": _u8([1, 1, 3, 2, 3, 1]), "drain": _u8([1, 2, 1, 1, 3, 1])}
    groups = {"t": "c", "ph": "n", "slope": "t", "drain": "w"}
    codes, tbl = fao.fao_subclasses(classes, groups=groups)
    assert codes.dtype == np.uint8
    assert [tbl[int(c)] for c in codes.values[0]] == ["S1", "S2cw", "S3t", "Ncn", "S3cntw",
                                                       "no data"]
    n = fao.count_limiting(classes)
    assert n.values[0].tolist() == [0, 2, 1, 2, 4, 0]


def test_fao_subclasses_rejects_bad_groups():
    with pytest.raises(ValueError):
        fao.fao_subclasses({"t": _u8([1])}, groups={"t": "x"})
    with pytest.raises(ValueError):
        fao.fao_subclasses({"t": _u8([1]), "r": _u8([1])}, groups={"t": "c"})


def test_rules_lazy():
    grid = make_grid((6, 8))
    rng = np.random.default_rng(0)
    s = {f"f{i}": make_layer(rng.uniform(0, 1, (6, 8)), grid=grid, chunks=3, name=f"f{i}")
         for i in range(3)}
    c = {f"f{i}": make_layer(rng.integers(0, 5, (6, 8)).astype("uint8"), grid=grid, chunks=3)
         for i in range(3)}
    with no_compute():
        outs = [rules.weighted_mean(s, weights={"f0": 1, "f1": 1, "f2": 1}),
                rules.weighted_geometric_mean(s, weights={"f0": 1, "f1": 1, "f2": 1}),
                rules.fuzzy_gamma(s), rules.fuzzy_sum(s), rules.owa(s, order_weights=[0.5, 0.3, 0.2]),
                rules.grouped(s, groups={"f0": "a", "f1": "a", "f2": "b"},
                           weights={"a": 1, "b": 1})]
        codes, _ = fao.fao_subclasses(c, groups={"f0": "c", "f1": "s", "f2": "t"})
        n = fao.count_limiting(c)
    for score, lim in outs:
        assert isinstance(score.data, dask.array.Array) and score.dims == ("y", "x")
        assert lim.dtype == np.uint8
    assert isinstance(codes.data, dask.array.Array) and isinstance(n.data, dask.array.Array)
    got = outs[4][0].values
    arr = np.sort(np.stack([s[k].values for k in s]), axis=0)[::-1]
    np.testing.assert_allclose(got, 0.5 * arr[0] + 0.3 * arr[1] + 0.2 * arr[2], rtol=1e-5)
