"""ECOCROP seasonal model on 12-band monthly climate stacks (Hijmans' dismo variant).

For every possible start month ``m`` (1..12) the growing season is the ``duration``
consecutive months ``m, m+1, ..., m+duration-1`` (wrapping over December). For each
season::

    temperature = min over the season's months of trapezoid(tavg_month; TMIN, TOPMN, TOPMX, TMAX)
    killing     = min over the season's months of [tmin_month - kill_offset > KTMP]  (1/0)
                  (only when ``tmin`` and ``ktmp`` are given)
    rainfall    (rainfall="total", the default: the rain total scored once)
                = trapezoid(rain total; RMIN, ROPMN, ROPMX, RMAX)
                  rain total = the season's total   (basis "season": annual crops)
                             = the annual total     (basis "annual": perennials)
    rainfall    (rainfall="dismo": dismo's monthly windows, basis "season" only)
                = min over the season's months k of trapezoid(W_k; RMIN, ROPMN, ROPMX, RMAX)
                  W_k = prec_(k-1) + prec_k + ... + prec_(k+duration)   (duration + 2 months,
                        circular; month k's window, whether or not k starts the season)
    season score = min(temperature, rainfall, killing)

and the cell's score is the best season's score, with the best start month (1..12; the
first on ties, as R's ``which.max`` and dismo's ``.ecoSpat``, which keeps ``maxper[1]``; 0
where the score is 0 or NaN). Any NaN month makes the cell NaN. The trapezoid is
:func:`gies.methods.curves.trapezoid`'s (0 at and beyond the absolute limits, 1 on the
optimum), the same as dismo's ``.getY``.

Variant followed: **dismo** ``ecocrop`` (Hijmans 2009, ``R/ecocrop.R``, ``.doEcocrop``, the
per-cell model that ``.ecoSpat`` runs on rasters). dismo computes, for each month ``k``::

    temp_k = getY(TMIN, TOPMN, TOPMX, TMAX; tavg_k)
    kill_k = getY(KTMP, KTMP, Inf, Inf; tmin_k - 5)
    rain_k = getY(RMIN, ROPMN, ROPMX, RMAX; movingFun(prec, duration + 1, sum, "from",
             circular)_k + prec_(k-1))
    suitability_s = movingFun(min(temp, kill, rain), duration, min, "from", circular)_s

so the suitability of start month ``s`` is the minimum of the month scores of
``s .. s + duration - 1``, and each month's rainfall score is the trapezoid of the
``duration + 2`` months from ``k - 1`` to ``k + duration`` (with ``duration`` 11 or 12 the
window wraps onto itself and counts one or two months twice, as in dismo).
``rainfall="dismo"`` computes exactly this. Common to both settings: monthly steps;
``duration = round((GMIN + GMAX) / 60)`` months (:func:`duration_months`; R's ``round``
rounds halves to even, as Python's does: sorghum (90 + 300)/60 = 6.5 -> 6); the
temperature and killing scores. Differences from dismo:

* ``rainfall="total"`` (the default) scores the rain total of the season's own months
  ``s .. s + duration - 1`` once, which is how ECOCROP defines RMIN..RMAX (rainfall during
  the growing cycle); dismo's windows start a month before each month and end a month after
  the season, and the season takes the worst of them. The best start months differ: on the
  Senegal sample tile (sorghum, 6-month season) none of the 3,370 cells gets the start
  month dismo gives under ``"total"``; all do under ``"dismo"``.
* ``basis="annual"`` (perennials) scores the annual total instead of dismo's windows
  (ECOCROP's rainfall limits of perennials are annual; domain.md §3.2); it has no dismo form.
* ``ktmp=None`` skips the killing rule (dismo always applies it). ECOCROP's KTMP 0 often
  means "unknown" (about 48 % of the Recocrop rows): callers pass ``None`` for a 0 unless
  the profile confirms it.
* dismo fails for GMIN + GMAX < 30 days (a 0-month window); the duration here is clipped
  to 1..12 months.
* Recocrop (cropmodels/Recocrop ``src/ecocrop.cpp``) differs more: 24 half-month steps
  interpolated from monthly values, KTMP as a ramp KTMP +/- 1, and annual rainfall limits
  converted to monthly ones; it is not what this module computes.

Static factors (soil pH, elevation) are scored separately and combined with the minimum
rule, as in Recocrop's limiting-factor approach.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from gies.methods.curves import trapezoid_values
from gies.methods.registry import SEASONAL

__all__ = ["RAINFALL_SCORING", "duration_months", "killing_temperature", "ecocrop_monthly",
           "ecocrop_seasonal", "ecocrop"]

#: How the season's rainfall is scored (``seasonal.rainfall``): ``"total"``, the rain total
#: of ``basis`` once; ``"dismo"``, dismo's monthly windows (see the module docstring).
RAINFALL_SCORING = ("total", "dismo")


def duration_months(gmin: float, gmax: float) -> int:
    """Growing-season length in months from ECOCROP's cycle GMIN-GMAX (days), as dismo:
    ``round((GMIN + GMAX) / 60)`` (mean cycle in 30-day months, halves to even), clipped
    to 1..12.

    >>> duration_months(90, 300), duration_months(180, 365), duration_months(365, 365)
    (6, 9, 12)
    """
    if not (0 < gmin <= gmax):
        raise ValueError(f"need 0 < GMIN <= GMAX (days), got {gmin}, {gmax}")
    return int(min(max(round((gmin + gmax) / 60.0), 1), 12))


def killing_temperature(ktmp: float | None, *, zero_is_known: bool = False) -> float | None:
    """ECOCROP's KTMP as the ``ktmp`` argument: ``None`` (no killing rule) when missing or 0,
    since KTMP 0 means "unknown" in about half of the ECOCROP rows, unless the profile
    confirms a real 0 degC (``zero_is_known``).

    >>> killing_temperature(0), killing_temperature(0, zero_is_known=True), killing_temperature(-4)
    (None, 0.0, -4.0)
    """
    if ktmp is None or (float(ktmp) == 0.0 and not zero_is_known):
        return None
    return float(ktmp)


def _check_limits(name: str, limits: Sequence[float]) -> tuple[float, float, float, float]:
    lim = tuple(float(v) for v in limits)
    if len(lim) != 4 or not (lim[0] <= lim[1] <= lim[2] <= lim[3]):
        raise ValueError(f"{name} limits must be 4 non-decreasing numbers, got {limits}")
    return lim  # type: ignore[return-value]


def _check_scoring(rainfall_scoring: str, basis: str) -> None:
    if basis not in ("season", "annual"):
        raise ValueError(f"basis must be 'season' or 'annual', got {basis!r}")
    if rainfall_scoring not in RAINFALL_SCORING:
        known = ", ".join(map(repr, RAINFALL_SCORING))
        raise ValueError(f"rainfall_scoring must be one of {known}, got {rainfall_scoring!r}")
    if rainfall_scoring == "dismo" and basis == "annual":
        raise ValueError("rainfall_scoring 'dismo' scores windows of the season's months; "
                         "basis 'annual' (the annual total) has no dismo form")


def _seasons_np(tavg, prec, tmin, tlim, rlim, duration, basis, ktmp, kill_offset,
                rainfall_scoring="total"):
    """Scores of the 12 start months, shape (..., 12) (core dim last)."""
    idx = (np.arange(12)[:, None] + np.arange(duration)[None, :]) % 12  # (start, month)
    ts = trapezoid_values(tavg, *tlim).astype(np.float64)
    temp = ts[..., idx].min(axis=-1)
    p = np.asarray(prec, dtype=np.float64)
    if rainfall_scoring == "dismo":
        # row k: months k-1 .. k+duration, dismo's movingFun(n = duration + 1) plus the
        # shifted prec[k-1]; the totals stay float64, as R's
        window = (np.arange(12)[:, None] + np.arange(-1, duration + 1)[None, :]) % 12
        month_rain = trapezoid_values(p[..., window].sum(axis=-1), *rlim).astype(np.float64)
        rain = month_rain[..., idx].min(axis=-1)
    else:
        if basis == "season":
            total = p[..., idx].sum(axis=-1)
        else:
            total = np.repeat(p.sum(axis=-1, keepdims=True), 12, -1)
        rain = trapezoid_values(total.astype(np.float32), *rlim).astype(np.float64)
    score = np.minimum(temp, rain)
    if tmin is not None:
        tn = np.asarray(tmin, dtype=np.float64)
        alive = np.where(tn - kill_offset > ktmp, 1.0, 0.0)
        alive[np.isnan(tn)] = np.nan
        score = np.minimum(score, alive[..., idx].min(axis=-1))
    return score.astype(np.float32)


def _best_np(seasons: np.ndarray):
    best = seasons.max(axis=-1)
    month = np.argmax(np.where(np.isnan(seasons), -1.0, seasons), axis=-1) + 1
    month = np.where(np.isnan(best) | (best <= 0), 0, month).astype(np.uint8)
    return best.astype(np.float32), month


def _inputs(tavg, prec, tmin):
    band = tavg.dims[0]
    for name, lyr in (("tavg", tavg), ("prec", prec), ("tmin", tmin)):
        if lyr is None:
            continue
        if lyr.dims[0] != band or lyr.sizes[band] != 12:
            raise ValueError(f"ecocrop: {name} must be a 12-band monthly stack with "
                             f"the band dim first ({band!r}), got dims {lyr.dims}")
    return band


def ecocrop_monthly(
    tavg: xr.DataArray,
    prec: xr.DataArray,
    *,
    temperature: Sequence[float],
    rainfall: Sequence[float],
    duration: int,
    basis: str = "season",
    tmin: xr.DataArray | None = None,
    ktmp: float | None = None,
    kill_offset: float = 5.0,
    rainfall_scoring: str = "total",
) -> xr.DataArray:
    """Season score for every start month: a (12, y, x) float32 stack, band ``m - 1`` = the
    season starting in month ``m`` (see the module docstring for the model).

    Parameters
    ----------
    tavg, prec : 12-band monthly mean temperature (degC) and precipitation (mm), band dim
        first (``tavg.dims[0]``).
    temperature, rainfall : ECOCROP ``(TMIN, TOPMN, TOPMX, TMAX)`` degC and
        ``(RMIN, ROPMN, ROPMX, RMAX)`` mm.
    duration : season length in months (1..12), e.g. :func:`duration_months`.
    basis : ``"season"`` (rain total of the season; annual crops) or ``"annual"``
        (annual total; perennials).
    tmin, ktmp : monthly mean minimum temperature (degC) and ECOCROP's killing temperature
        KTMP (degC); the rule applies only when both are given.
    kill_offset : degC subtracted from ``tmin`` before comparing with KTMP (dismo: 5, the
        gap between a monthly mean minimum and the absolute minimum).
    rainfall_scoring : ``"total"`` (the rain total of ``basis``, scored once) or
        ``"dismo"`` (dismo's window of months k-1 .. k+duration scored for every month of
        the season, the minimum kept; ``basis="season"`` only).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = xr.DataArray(np.full((12, 1, 1), 30.0), dims=("band", "y", "x"))
    >>> p = xr.DataArray(np.array([0, 0, 0, 0, 0, 50, 100, 200, 150, 50, 0, 0],
    ...                  dtype=float).reshape(12, 1, 1), dims=("band", "y", "x"))
    >>> s = ecocrop_monthly(t, p, temperature=(8, 27, 35, 40), rainfall=(300, 500, 1000, 3000),
    ...                     duration=6)
    >>> [round(float(v), 2) for v in s.values[:, 0, 0]]
    [0.0, 0.0, 0.25, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0]

    dismo's windows: month k's window is the 8 months k-1 .. k+6; it holds at least ROPMN
    (500 mm) for k = 3 (Feb..Sep: 500 mm) to 8 (Jul..Feb: 500 mm), 400 mm (score 0.5) for
    k = 9 (Aug..Mar), so the season starting in March (months 3..8) is the only one scoring
    1, and April's (months 4..9) scores 0.5:

    >>> s = ecocrop_monthly(t, p, temperature=(8, 27, 35, 40), rainfall=(300, 500, 1000, 3000),
    ...                     duration=6, rainfall_scoring="dismo")
    >>> [round(float(v), 2) for v in s.values[:, 0, 0]]
    [0.0, 0.25, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    tlim = _check_limits("temperature", temperature)
    rlim = _check_limits("rainfall", rainfall)
    duration = int(duration)
    if not 1 <= duration <= 12:
        raise ValueError(f"duration must be 1..12 months, got {duration}")
    _check_scoring(rainfall_scoring, basis)
    band = _inputs(tavg, prec, tmin)
    use_kill = tmin is not None and ktmp is not None
    args = [tavg, prec] + ([tmin] if use_kill else [])

    def core(t, p, *rest):
        return _seasons_np(t, p, rest[0] if rest else None, tlim, rlim, duration, basis,
                           None if ktmp is None else float(ktmp), float(kill_offset),
                           rainfall_scoring)

    out = xr.apply_ufunc(
        core, *args,
        input_core_dims=[[band]] * len(args),
        output_core_dims=[["start_month"]],
        dask="parallelized",
        output_dtypes=[np.float32],
        dask_gufunc_kwargs={"allow_rechunk": True, "output_sizes": {"start_month": 12}},
    )
    out = out.transpose("start_month", ...).assign_coords(start_month=np.arange(1, 13))
    out.name = "ecocrop_seasons"
    out.attrs = {"units": "1"}
    return out


def ecocrop_seasonal(
    tavg: xr.DataArray,
    prec: xr.DataArray,
    *,
    temperature: Sequence[float],
    rainfall: Sequence[float],
    duration: int,
    basis: str = "season",
    tmin: xr.DataArray | None = None,
    ktmp: float | None = None,
    kill_offset: float = 5.0,
    rainfall_scoring: str = "total",
) -> tuple[xr.DataArray, xr.DataArray]:
    """ECOCROP climate score and best start month (see the module docstring).

    Returns ``(score float32 in [0, 1], best_start uint8 1..12, 0 where score is 0/NaN)``;
    parameters as in :func:`ecocrop_monthly`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = xr.DataArray(np.full((12, 1, 1), 30.0), dims=("band", "y", "x"))
    >>> p = xr.DataArray(np.array([0, 0, 0, 0, 0, 50, 100, 200, 150, 50, 0, 0],
    ...                  dtype=float).reshape(12, 1, 1), dims=("band", "y", "x"))
    >>> s, m = ecocrop_seasonal(t, p, temperature=(8, 27, 35, 40),
    ...                         rainfall=(300, 500, 1000, 3000), duration=6)
    >>> float(s[0, 0]), int(m[0, 0])
    (1.0, 4)
    """
    seasons = ecocrop_monthly(tavg, prec, temperature=temperature, rainfall=rainfall,
                              duration=duration, basis=basis, tmin=tmin, ktmp=ktmp,
                              kill_offset=kill_offset, rainfall_scoring=rainfall_scoring)
    score, month = xr.apply_ufunc(
        _best_np, seasons, input_core_dims=[["start_month"]],
        output_core_dims=[[], []], dask="parallelized",
        output_dtypes=[np.float32, np.uint8],
        dask_gufunc_kwargs={"allow_rechunk": True},
    )
    score = score.drop_vars("start_month", errors="ignore")
    month = month.drop_vars("start_month", errors="ignore")
    score.name, month.name = "ecocrop_score", "best_start_month"
    score.attrs = {"units": "1", "duration_months": int(duration), "basis": basis,
                   "rainfall": rainfall_scoring}
    month.attrs = {"units": "month", "nodata_meaning": "0 = no suitable start"}
    return score, month


# The section's ``rainfall`` key names the rainfall scoring; ``rainfall`` the parameter is
# the limit set's trapezoid, so the key reaches the function under another name.
@SEASONAL.register("ecocrop", limits=("temperature", "rainfall"), limit_method="trapezoid",
                   config_keys={"rainfall": "rainfall_scoring"})
def ecocrop(
    tavg: xr.DataArray,
    prec: xr.DataArray,
    *,
    temperature: Sequence[float],
    rainfall: Sequence[float],
    gmin: int,
    gmax: int,
    basis: str = "season",
    tmin: xr.DataArray | None = None,
    ktmp: float | None = None,
    rainfall_scoring: str = "total",
) -> tuple[xr.DataArray, xr.DataArray]:
    """ECOCROP's seasonal model as a pipeline's ``seasonal`` section configures it: the
    season's length from the crop cycle (:func:`duration_months` of ``gmin``, ``gmax`` in
    days), then :func:`ecocrop_seasonal` with the limit set's ``temperature`` and
    ``rainfall`` trapezoids. ``rainfall_scoring`` is the section's ``rainfall`` key:
    ``total`` (default) scores the rain total of the season's own months s .. s+duration-1
    (``basis: annual``: of the year) once, which is not what dismo does; ``dismo``
    reproduces dismo's ``.doEcocrop``: for every month k of the season the trapezoid of the
    rain of months k-1 .. k+duration (duration + 2 months, circular), the worst kept (see
    :mod:`gies.methods.ecocrop`). Returns ``(score, best start month)``.

    >>> import numpy as np, xarray as xr
    >>> t = xr.DataArray(np.full((12, 1, 1), 30.0), dims=("band", "y", "x"))
    >>> p = xr.DataArray(np.full((12, 1, 1), 100.0), dims=("band", "y", "x"))
    >>> s, m = ecocrop(t, p, temperature=(8, 27, 35, 40), rainfall=(300, 500, 1000, 3000),
    ...                gmin=90, gmax=300)
    >>> float(s[0, 0]), int(m[0, 0]), s.attrs["duration_months"]
    (1.0, 1, 6)
    """
    _check_scoring(rainfall_scoring, basis)
    return ecocrop_seasonal(tavg, prec, temperature=temperature, rainfall=rainfall,
                            duration=duration_months(gmin, gmax), basis=basis, tmin=tmin,
                            ktmp=ktmp, rainfall_scoring=rainfall_scoring)
