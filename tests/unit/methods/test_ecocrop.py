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


def _ecocrop(prec, gmin, gmax, scoring, tavg=30.0, **kw):
    t = _stack(tavg if np.ndim(tavg) else [tavg] * 12)
    return SEASONAL["ecocrop"](t, _stack(prec), temperature=T, rainfall=R, gmin=gmin, gmax=gmax,
                               rainfall_scoring=scoring, **kw)


def test_dismo_rainfall_windows_by_hand():
    """A 3-month season (gmin 60, gmax 120: 180 / 60 = 3), flat 30 degC (temperature score
    1), sorghum's rainfall trapezoid 300, 500, 1000, 3000 mm; prec Jan..Dec:
    0 0 10 40 90 150 200 180 100 30 0 0.

    dismo: month k's window is months k-1 .. k+3 (5 months):
      k=1 Dec..Apr 50 -> 0      k=2 Jan..May 140 -> 0       k=3 Feb..Jun 290 -> 0
      k=4 Mar..Jul 490 -> 0.95  k=5 Apr..Aug 660 -> 1       k=6 May..Sep 720 -> 1
      k=7 Jun..Oct 660 -> 1     k=8 Jul..Nov 510 -> 1       k=9 Aug..Dec 310 -> 0.05
      k=10 Sep..Jan 130 -> 0    k=11 Oct..Feb 30 -> 0       k=12 Nov..Mar 10 -> 0
    season s = min of months s, s+1, s+2: s4 0.95, s5 1, s6 1, s7 0.05, every other 0;
    best 1 in May and June (dismo's which: 5 6), the first kept: May.
    total: the season's own 3 months: s4 Apr..Jun 280 -> 0, s5 May..Jul 440 -> 0.7,
    s6 Jun..Aug 530 -> 1, s7 Jul..Sep 480 -> 0.9, s8 Aug..Oct 310 -> 0.05, others < 300;
    best 1 in June.
    """
    prec = [0, 0, 10, 40, 90, 150, 200, 180, 100, 30, 0, 0]
    dismo = ecocrop_monthly(_stack([30.0] * 12), _stack(prec), temperature=T, rainfall=R,
                            duration=3, rainfall_scoring="dismo").values[:, 0, 0]
    np.testing.assert_allclose(dismo, [0, 0, 0, 0.95, 1, 1, 0.05, 0, 0, 0, 0, 0], atol=1e-6)
    total = ecocrop_monthly(_stack([30.0] * 12), _stack(prec), temperature=T, rainfall=R,
                            duration=3).values[:, 0, 0]
    np.testing.assert_allclose(total, [0, 0, 0, 0, 0.7, 1, 0.9, 0.05, 0, 0, 0, 0], atol=1e-6)
    s, m = _ecocrop(prec, 60, 120, "dismo")
    assert float(s[0, 0]) == 1.0 and int(m[0, 0]) == 5
    assert s.attrs["rainfall"] == "dismo" and s.attrs["duration_months"] == 3
    s, m = _ecocrop(prec, 60, 120, "total")
    assert float(s[0, 0]) == 1.0 and int(m[0, 0]) == 6 and s.attrs["rainfall"] == "total"
    # the killing temperature is one more month score: May's tmin 3 - 5 = -2 <= KTMP 0
    # kills the seasons holding May (s3, s4, s5), leaving June the only season scoring 1
    tmin = _stack([10.0] * 4 + [3.0] + [10.0] * 7)
    s, m = _ecocrop(prec, 60, 120, "dismo", tmin=tmin, ktmp=0.0)
    assert float(s[0, 0]) == 1.0 and int(m[0, 0]) == 6
    # a cold month lowers the month scores it is in: August 20 degC -> (20 - 8) / 19
    cold = [30.0] * 7 + [20.0] + [30.0] * 4
    seasons = ecocrop_monthly(_stack(cold), _stack(prec), temperature=T, rainfall=R, duration=3,
                              rainfall_scoring="dismo").values[:, 0, 0]
    np.testing.assert_allclose(seasons[3:8], [0.95, 1, 12 / 19, 0.05, 0], atol=1e-6)


def test_dismo_windows_wrap_over_the_year():
    """A rainy season from November to March and a 2-month season (gmin 30, gmax 60:
    90 / 60 = 1.5, rounded half to even as R: 2); prec Jan..Dec:
    150 120 60 10 0 0 0 0 0 20 90 140.

    dismo windows, months k-1 .. k+2: k=1 Dec..Mar 470 -> 0.85, k=2 Jan..Apr 340 -> 0.2,
    k=11 Oct..Jan 400 -> 0.5, k=12 Nov..Feb 500 -> 1, every other window < 300 -> 0.
    Seasons min(k, k+1): s11 0.5, s12 (Dec, Jan) 0.85, s1 0.2, others 0: best December.
    total: no 2 months reach 300 mm (Dec + Jan 290): every season 0, best month 0.
    """
    prec = [150, 120, 60, 10, 0, 0, 0, 0, 0, 20, 90, 140]
    seasons = ecocrop_monthly(_stack([30.0] * 12), _stack(prec), temperature=T, rainfall=R,
                              duration=2, rainfall_scoring="dismo").values[:, 0, 0]
    np.testing.assert_allclose(seasons, [0.2] + [0] * 9 + [0.5, 0.85], atol=1e-6)
    s, m = _ecocrop(prec, 30, 60, "dismo")
    assert s.attrs["duration_months"] == 2
    assert float(s[0, 0]) == pytest.approx(0.85) and int(m[0, 0]) == 12
    s, m = _ecocrop(prec, 30, 60, "total")
    assert float(s[0, 0]) == 0.0 and int(m[0, 0]) == 0


def test_dismo_windows_of_long_seasons_count_months_twice():
    """prec 400 mm in January, 100 in every other month (1500 a year).

    12 months (gmin 330, gmax 360: 690 / 60 = 11.5 -> 12): window k-1 .. k+12 is 14 months,
    the year plus months k-1 and k again: k=1 1500 + 100 + 400 = 2000 -> (3000 - 2000) /
    2000 = 0.5, k=2 2000 -> 0.5, others 1700 -> 0.65; every 12-month season holds January
    and February: 0.5 for every start, January first. total: 1500 -> 0.75.
    11 months (gmin 300, gmax 365: 11.08 -> 11): window k-1 .. k+11 is 13 months, month
    k-1 twice: k=2 1900 -> 0.55, others 1600 -> 0.7; only the season starting in March
    (March .. January) leaves February out: 0.7 in March, 0.55 elsewhere.
    """
    prec = [400.0] + [100.0] * 11
    s, m = _ecocrop(prec, 330, 360, "dismo")
    assert s.attrs["duration_months"] == 12
    assert float(s[0, 0]) == pytest.approx(0.5) and int(m[0, 0]) == 1
    s, m = _ecocrop(prec, 330, 360, "total")
    assert float(s[0, 0]) == pytest.approx(0.75)
    seasons = ecocrop_monthly(_stack([30.0] * 12), _stack(prec), temperature=T, rainfall=R,
                              duration=11, rainfall_scoring="dismo").values[:, 0, 0]
    np.testing.assert_allclose(seasons, [0.55, 0.55, 0.7] + [0.55] * 9, atol=1e-6)


def test_default_rainfall_scoring_is_the_season_total():
    prec = [0, 0, 10, 40, 90, 150, 200, 180, 100, 30, 0, 0]
    t = _stack([30.0] * 12)
    default = SEASONAL["ecocrop"](t, _stack(prec), temperature=T, rainfall=R, gmin=60, gmax=120)
    total = _ecocrop(prec, 60, 120, "total")
    dismo = _ecocrop(prec, 60, 120, "dismo")
    assert default[0].attrs["rainfall"] == "total"
    assert int(default[1][0, 0]) == int(total[1][0, 0]) == 6 != int(dismo[1][0, 0])


def test_the_pipeline_key_takes_the_scorings_the_model_knows():
    import typing

    from gies.config.schema import SeasonalSpec
    from gies.methods.ecocrop import RAINFALL_SCORING

    assert typing.get_args(SeasonalSpec.model_fields["rainfall"].annotation) == RAINFALL_SCORING
    assert SeasonalSpec.model_fields["rainfall"].default == "total"


def test_dismo_nan_month_makes_the_cell_nan():
    prec = np.full((12, 1, 2), 100.0, dtype=np.float32)
    prec[3, 0, 1] = np.nan
    s, m = SEASONAL["ecocrop"](_stack(np.full((12, 1, 2), 30.0)), _stack(prec), temperature=T,
                               rainfall=R, gmin=60, gmax=120, rainfall_scoring="dismo")
    # 5 months of 100 mm in every window: 500 -> 1
    assert s.values[0, 0] == 1.0 and np.isnan(s.values[0, 1])
    assert m.values.tolist() == [[1, 0]]


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
    with pytest.raises(ValueError, match="rainfall_scoring must be one of 'total', 'dismo'"):
        ecocrop_monthly(t, p, temperature=T, rainfall=R, duration=6, rainfall_scoring="window")
    with pytest.raises(ValueError, match="basis 'annual'"):
        SEASONAL["ecocrop"](t, p, temperature=T, rainfall=R, gmin=90, gmax=300, basis="annual",
                            rainfall_scoring="dismo")
    with no_compute():
        score, _ = SEASONAL["ecocrop"](t, p, temperature=T, rainfall=R, gmin=90, gmax=300,
                                       rainfall_scoring="dismo")
    assert isinstance(score.data, dask.array.Array)
    # 8-month windows of 640 mm score 1; 25 degC scores (25 - 8) / 19
    np.testing.assert_allclose(score.values, 17 / 19, rtol=1e-6)


def test_killing_temperature_zero_is_unknown():
    assert killing_temperature(0) is None and killing_temperature(None) is None
    assert killing_temperature(0, zero_is_known=True) == 0.0
    assert killing_temperature(7) == 7.0
