"""Unit tests of gies.methods.ecocrop (ECOCROP seasonal model, dismo variant)."""

from __future__ import annotations

import dask
import numpy as np

from gies.testing import no_compute
import pytest
import rasterio
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gies.methods.registry import SEASONAL
from gies.methods.ecocrop import (duration_months, ecocrop_monthly, ecocrop_seasonal,
                          killing_temperature)

# Sorghum (low altitude), ECOCROP via Recocrop: see gies/data/products/sorghum.yaml
T = (8, 27, 35, 40)
R = (300, 500, 1000, 3000)
DUR = duration_months(90, 300)


def _stack(values, chunks=None):
    a = np.asarray(values, dtype=np.float32)
    if a.ndim == 1:
        a = a.reshape(12, 1, 1)
    da = xr.DataArray(a, dims=("band", "y", "x"))
    return da.chunk({"band": 4, "y": chunks, "x": chunks}) if chunks else da


def _read(repo, name):
    with rasterio.open(repo / f"data/sample/senegal/{name}.tif") as src:
        return src.read().astype(np.float32)


def test_duration_dismo_rounding():
    assert DUR == 6  # (90 + 300) / 60 = 6.5, rounded half to even as R's round
    assert duration_months(365, 365) == 12 and duration_months(10, 20) == 1
    with pytest.raises(ValueError):
        duration_months(300, 90)


def test_senegal_pixels_against_hand_computation(repo):
    """Hand computation (months Jan..Dec, season of 6 months):

    pixel (row 5, col 5): ta = 23.1 24.45 25.5 25.325 26.2 27.6 27.8 27.325 27.525 28.025
    26.7 23.9; pr = 1 1 0 0 0 14 80 176.5 140.5 33 2.25 1.
      start Jun: temperature min month Nov 26.7 -> (26.7-8)/19 = 0.98421; rain Jun-Nov
      = 446.25 -> (446.25-300)/200 = 0.73125; season = 0.73125
      start May: Nov not in season, May 26.2 -> 0.95789; rain May-Oct 444 -> 0.72
      start Jul: Dec 23.9 -> 0.83684; rain Jul-Dec 433.25 -> 0.66625
      start Apr: Apr 25.325 -> 0.91184; rain Apr-Sep 411 -> 0.555
      best = 0.73125 in June (6)
    pixel (row 30, col 40): ta all >= 27 from Mar to Nov; pr = 1 1 0 0 1 30 105 198.5
      148.75 27.75 2 1
      start Apr: rain Apr-Sep 483.25 -> 0.91625; start May: May-Oct 511 -> 1.0;
      start Jun: Jun-Nov 512 -> 1.0; best 1.0, first best start month May (5)
    """
    ta, pr = _read(repo, "ta"), _read(repo, "pr")
    t = xr.DataArray(ta, dims=("band", "y", "x")).chunk({"band": 12, "y": 20, "x": 20})
    p = xr.DataArray(pr, dims=("band", "y", "x")).chunk({"band": 12, "y": 20, "x": 20})
    seasons = ecocrop_monthly(t, p, temperature=T, rainfall=R, duration=DUR)
    score, month = ecocrop_seasonal(t, p, temperature=T, rainfall=R, duration=DUR)
    s55 = seasons.values[:, 5, 5]
    assert s55[5] == pytest.approx(0.73125, abs=1e-5)
    assert s55[4] == pytest.approx(0.72, abs=1e-5)
    assert s55[6] == pytest.approx(0.66625, abs=1e-5)
    assert s55[3] == pytest.approx(0.555, abs=1e-5)
    assert s55[2] == 0.0  # Mar-Aug rain 270.5 < RMIN
    assert float(score[5, 5]) == pytest.approx(0.73125, abs=1e-5) and int(month[5, 5]) == 6
    s = seasons.values[:, 30, 40]
    assert s[3] == pytest.approx(0.91625, abs=1e-5)
    assert s[4] == 1.0 and s[5] == 1.0
    assert float(score[30, 40]) == 1.0 and int(month[30, 40]) == 5


def test_independent_reimplementation_on_the_whole_tile(repo):
    ta, pr = _read(repo, "ta")[:, :10, :10], _read(repo, "pr")[:, :10, :10]
    score, month = ecocrop_seasonal(_stack(ta), _stack(pr), temperature=T, rainfall=R,
                                    duration=DUR)

    def trap(x, a, b, c, d):
        return 0.0 if x <= a or x >= d else (x - a) / (b - a) if x < b else \
            1.0 if x <= c else (d - x) / (d - c)

    for i in range(10):
        for j in range(10):
            best, bm = -1.0, 0
            for m in range(12):
                months = [(m + k) % 12 for k in range(DUR)]
                tt = min(trap(float(ta[k, i, j]), *T) for k in months)
                rr = trap(float(sum(np.float64(pr[k, i, j]) for k in months)), *R)
                if min(tt, rr) > best + 1e-12:
                    best, bm = min(tt, rr), m + 1
            assert float(score[i, j]) == pytest.approx(best, abs=1e-5)
            assert int(month[i, j]) == (bm if best > 0 else 0)


def test_annual_basis_and_killing_temperature():
    t = _stack([30.0] * 12)
    p = _stack([100.0] * 12)  # annual 1200 -> season of 6 months 600
    s_season = ecocrop_monthly(t, p, temperature=T, rainfall=(300, 500, 1000, 3000), duration=6)
    s_annual = ecocrop_monthly(t, p, temperature=T, rainfall=(300, 500, 1000, 3000), duration=6,
                               basis="annual")
    assert np.allclose(s_season.values, 1.0)
    assert np.allclose(s_annual.values, (3000 - 1200) / 2000)
    tmin = _stack([2.0] + [10.0] * 11)
    # KTMP -4: tmin - 5 = -3 > -4 everywhere -> no effect; KTMP 0: January kills
    ok = ecocrop_monthly(t, p, temperature=T, rainfall=(100, 300, 1000, 3000), duration=3,
                         tmin=tmin, ktmp=-4)
    assert np.allclose(ok.values, 1.0)
    kill = ecocrop_monthly(t, p, temperature=T, rainfall=(100, 300, 1000, 3000), duration=3,
                           tmin=tmin, ktmp=0)
    # seasons containing January: starts Nov, Dec, Jan
    assert kill.values[:, 0, 0].tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    none = ecocrop_monthly(t, p, temperature=T, rainfall=(100, 300, 1000, 3000), duration=3,
                           tmin=tmin, ktmp=None)
    assert np.allclose(none.values, 1.0)
    edge = ecocrop_monthly(t, p, temperature=T, rainfall=(100, 300, 1000, 3000), duration=1,
                           tmin=_stack([5.0] * 12), ktmp=0)  # 5 - 5 = 0 <= KTMP: killed
    assert np.allclose(edge.values, 0.0)


def test_nan_and_zero_give_month_zero():
    t = _stack([[[30.0, 30.0]]] * 12)
    p = np.zeros((12, 1, 2), dtype=np.float32)
    p[3, 0, 1] = np.nan
    score, month = ecocrop_seasonal(t, _stack(p), temperature=T, rainfall=R, duration=4)
    assert score.values[0, 0] == 0.0 and np.isnan(score.values[0, 1])
    assert month.values.tolist() == [[0, 0]] and month.dtype == np.uint8


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=st.lists(st.floats(-10, 50, width=32), min_size=12, max_size=12),
       p=st.lists(st.floats(0, 600, width=32), min_size=12, max_size=12),
       d=st.integers(1, 12))
def test_properties(t, p, d):
    seasons = ecocrop_monthly(_stack(t), _stack(p), temperature=T, rainfall=R, duration=d)
    v = seasons.values[:, 0, 0]
    assert np.all((v >= 0) & (v <= 1))
    score, month = ecocrop_seasonal(_stack(t), _stack(p), temperature=T, rainfall=R, duration=d)
    assert float(score[0, 0]) == pytest.approx(v.max())
    m = int(month[0, 0])
    assert (m == 0) == (v.max() == 0)
    if m:
        assert v[m - 1] == v.max() and np.all(v[: m - 1] < v.max())


def test_validation_and_laziness():
    t = _stack(np.full((12, 4, 4), 25.0), chunks=2)
    p = _stack(np.full((12, 4, 4), 80.0), chunks=2)

    with no_compute():
        score, month = SEASONAL["ecocrop"](t, p, temperature=T, rainfall=R, gmin=90, gmax=300)
    assert isinstance(score.data, dask.array.Array) and score.dims == ("y", "x")
    assert month.dims == ("y", "x")
    with pytest.raises(ValueError):
        ecocrop_monthly(t, p, temperature=(5, 4, 3, 2), rainfall=R, duration=6)
    with pytest.raises(ValueError):
        ecocrop_monthly(t, p, temperature=T, rainfall=R, duration=13)
    with pytest.raises(ValueError):
        ecocrop_monthly(t, p, temperature=T, rainfall=R, duration=6, basis="year")
    with pytest.raises(ValueError):
        ecocrop_monthly(t.isel(band=slice(0, 6)), p, temperature=T, rainfall=R, duration=6)


def test_killing_temperature_zero_is_unknown():
    assert killing_temperature(0) is None and killing_temperature(None) is None
    assert killing_temperature(0, zero_is_known=True) == 0.0
    assert killing_temperature(7) == 7.0
