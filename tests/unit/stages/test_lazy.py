"""Every stage function only builds a dask graph: nothing is computed until outputs are written."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pytest

from gies.grid import grid_of
from gies.methods import class_limits, curves, fao, rules
from gies.stages import harmonise
from gies.methods.schemes import SCHEMES, classify_score
from gies.methods.class_limits import ClassLimits
from gies.testing import (
    ComputeForbidden,
    assert_stage_contract,
    make_grid,
    make_layer,
    no_compute,
)

SHAPE = (6, 8)
CHUNK = 3
GRID = make_grid(SHAPE)
DRY = ClassLimits.from_mapping(
    {"S1": ["1-2"], "S2": ["2-3", "1<"], "S3": ["3-4"], "N": [">4"]}, where="dry_months"
)


def _layer(values, name="f", units="1"):
    return make_layer(values, grid=GRID, name=name, units=units, chunks=CHUNK)


def _rng_values(seed, lo=0.0, hi=5.0):
    v = np.random.default_rng(seed).uniform(lo, hi, SHAPE).astype(np.float32)
    v[0, 0] = np.nan
    return v


def _assert_lazy_chunked(da):
    assert isinstance(da.data, dsa.Array), f"{da.name} is not dask-backed"
    size = da.data.chunksize
    assert size[-2:] != SHAPE and all(c < s for c, s in zip(size[-2:], SHAPE)), (
        f"{da.name} has chunks {da.data.chunks}: one chunk covers the whole layer"
    )


@pytest.fixture(name="no_compute")
def _no_compute():
    with no_compute():
        yield


def test_forbidden_scheduler_really_forbids():
    with no_compute(), pytest.raises(ComputeForbidden):
        _layer(_rng_values(0)).sum().compute()


def test_the_contract_catches_a_stage_that_changes_its_input():
    def bad(layer):
        layer.attrs["units"] = "changed"
        return layer * 1

    def worse(layer):
        layer.values[0, 0] = 99.0
        return layer

    x = make_layer(_rng_values(2))
    with pytest.raises(AssertionError, match="attrs"):
        assert_stage_contract(bad, x)
    with pytest.raises(AssertionError):
        assert_stage_contract(worse, make_layer(_rng_values(2)))
    with pytest.raises(ComputeForbidden):
        assert_stage_contract(lambda lyr: lyr.sum().compute(), _layer(_rng_values(2)))


def test_scoring_stages_lazy(no_compute):
    x = _layer(_rng_values(1, 0, 40), name="t")
    s = curves.trapezoid(x, limits=(10, 20, 30, 40))
    _assert_lazy_chunked(s)
    c, u = class_limits.class_limits_classes(_layer(_rng_values(2), name="dry"), limits=DRY)
    _assert_lazy_chunked(c)
    _assert_lazy_chunked(u)
    cs = class_limits.class_scores(c)
    _assert_lazy_chunked(cs)
    cs2 = class_limits.class_scores(c, scores={"S2": 0.75})
    _assert_lazy_chunked(cs2)


def test_combine_and_classify_lazy(no_compute):
    s1 = curves.trapezoid(_layer(_rng_values(3, 0, 40), name="t"), limits=(10, 20, 30, 40))
    s2 = curves.trapezoid(_layer(_rng_values(4, 0, 40), name="r"), limits=(None, None, 25, 35))
    total, lim = rules.minimum({"t": s1, "r": s2})
    _assert_lazy_chunked(total)
    _assert_lazy_chunked(lim)
    cls = classify_score(total, scheme=SCHEMES["fao"])
    _assert_lazy_chunked(cls)
    c1, _ = class_limits.class_limits_classes(_layer(_rng_values(5), name="a"), limits=DRY)
    c2, _ = class_limits.class_limits_classes(_layer(_rng_values(6), name="b"), limits=DRY)
    overall, lim2 = fao.maximum_limitation({"a": c1, "b": c2})
    _assert_lazy_chunked(overall)
    _assert_lazy_chunked(lim2)


def test_harmonise_stages_lazy(no_compute):
    t = _layer(_rng_values(7, 200, 300), name="temp", units="degC*10")
    out = harmonise.to_units(t, src="degC*10", dst="degC")
    _assert_lazy_chunked(out)
    same = harmonise.to_units(t, src="degC", dst="degC")
    _assert_lazy_chunked(same)
    ph = _layer(_rng_values(8, 3, 60), name="ph", units="pH")
    norm, counts = harmonise.resolve_mixed_units(
        ph, indicator=ph, readings=[((3.5, 5.5), "pH"), ((35, 55), "pH*10")], units="pH"
    )
    _assert_lazy_chunked(norm)
    for name, n in counts.items():
        assert isinstance(n.data, dsa.Array), name
    plaus, removed = harmonise.apply_plausible(norm, low=3.5, high=8.5)
    _assert_lazy_chunked(plaus)
    assert isinstance(removed.data, dsa.Array)


def test_lazy_results_are_correct_once_computed():
    """Outside the guard the same graphs compute to the hand-checked numbers."""
    vals = np.array([[np.nan, 4.0, 40.0, 50.0], [3.0, 60.0, 5.5, 45.0]], dtype=np.float32)
    g = make_grid(vals.shape)
    ph = make_layer(vals, grid=g, name="ph", units="pH", chunks=1)
    norm, counts = harmonise.resolve_mixed_units(
        ph, indicator=ph, readings=[((3.5, 5.5), "pH"), ((35, 55), "pH*10")], units="pH"
    )
    np.testing.assert_allclose(norm.values, [[np.nan, 4.0, 4.0, 5.0], [np.nan, np.nan, 5.5, 4.5]],
                               rtol=1e-6)
    assert {k: int(v) for k, v in counts.items()} == {"reading_1": 2, "reading_2": 3,
                                                      "no_reading": 2}
    plaus, removed = harmonise.apply_plausible(norm, low=4.2, high=8.5)
    np.testing.assert_allclose(plaus.values, [[np.nan, np.nan, np.nan, 5.0],
                                              [np.nan, np.nan, 5.5, 4.5]], rtol=1e-6)
    assert int(removed) == 2
    assert plaus.attrs["units"] == "pH" and grid_of(norm) == g
    k = harmonise.to_units(make_layer([[300.0]], units="K", chunks=1), src="K", dst="degC")
    assert k.dtype == np.float32 and k.attrs["units"] == "degC"
    np.testing.assert_allclose(k.values, [[26.85]], rtol=1e-6)
