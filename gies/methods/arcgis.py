"""ArcGIS Pro's rescale-by-function curves (Suitability Modeler, "Rescale by Function";
Fuzzy Membership), each registered in :data:`gies.methods.registry.CURVES`.

Shared semantics (evaluation scale 0-1), the same for every curve here:

* below ``lower`` the score is ``below``; above ``upper`` it is ``above``;
* on [lower, upper] the function value f(x) is mapped linearly onto [0, 1]::

      score = (f(x) - f_min) / (f_max - f_min)

  where f_min, f_max are the extremes of f over [lower, upper], computed analytically from
  the parameters (never from the data);
* ``lower`` and ``upper`` (layer units) are required: ArcGIS defaults them to the data's
  min/max, which gies never does;
* ``below``/``above`` default to the score at the threshold itself (constant beyond the
  ends); pass ``float("nan")`` for ArcGIS's "NoData";
* ``rescale=False`` skips the stretch and returns f(x) itself (ArcGIS "Fuzzy
  Membership"), for the functions whose f is already in [0, 1].

NaN stays NaN; scores are float32 in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from gies.methods._layers import blockwise, like
from gies.methods.registry import CURVES

__all__ = ["linear", "symmetric_linear", "gaussian", "near", "small", "large",
           "logistic_growth", "logistic_decay", "power", "exponential"]


# -- the formulas: f(x) of each curve, float64 in, float64 out ------------------------------------
def _linear_f(x, lo, hi):
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _symmetric_linear_f(x, lo, hi):
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    return np.clip(1.0 - np.abs(x - mid) / half, 0.0, 1.0)


def _gaussian_f(x, mid, spread):
    return np.exp(-spread * (x - mid) ** 2)


def _near_f(x, mid, spread):
    return 1.0 / (1.0 + spread * (x - mid) ** 2)


def _small_large_f(x, mid, spread, small):
    ratio = np.where(x > 0, x, 0.0) / mid
    out = 1.0 / (1.0 + np.power(ratio, spread if small else -spread))
    # x <= 0: the limit of the formula as x -> 0+ (1 for small, 0 for large)
    return np.where(x > 0, out, 1.0 if small else 0.0)


def _logistic_f(x, lo, hi, pct, growth):
    mid = (lo + hi) / 2.0
    k = 2.0 * math.log(100.0 / pct - 1.0) / (hi - lo)
    g = 1.0 / (1.0 + np.exp(-k * (x - mid)))
    return g if growth else 1.0 - g


def _power_f(x, shift, exponent):
    return np.power(np.maximum(x - shift, 0.0), exponent)


def _shape_np(x: np.ndarray, f, p: tuple) -> np.ndarray:
    """The curve's formula ``f(x, *p)`` (float64), with floating-point warnings silenced."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return f(x, *p)


def _extremes(f, p: tuple, lower: float, upper: float, peak: float | None) -> tuple[float, float]:
    """Lowest and highest f on [lower, upper]: at the ends, or at an interior ``peak``."""
    ends = _shape_np(np.array([lower, upper], dtype=np.float64), f, p)
    lo_v, hi_v = float(ends.min()), float(ends.max())
    if peak is not None:
        top = float(_shape_np(np.array([min(max(peak, lower), upper)]), f, p)[0])
        hi_v = max(hi_v, top)
    return lo_v, hi_v


def _rescaled_np(x, f, p, lower, upper, below, above, f_lo, f_hi, rescale):
    x64 = np.asarray(x, dtype=np.float64)
    fx = _shape_np(x64, f, p)
    s = (fx - f_lo) / (f_hi - f_lo) if rescale else fx
    s = np.clip(s, 0.0, 1.0)
    s = np.where(x64 < lower, below, np.where(x64 > upper, above, s))
    s[np.isnan(x64)] = np.nan
    return s.astype(np.float32)


def _continuous(layer, kind: str, f, p: tuple, *, lower, upper, below, above, rescale,
                peak: float | None = None):
    """The score of ``layer`` by the formula ``f(x, *p)`` with the shared thresholds (module
    docstring); ``peak``: where f has an interior maximum (``None``: monotonic)."""
    lower, upper = float(lower), float(upper)
    if not lower < upper:
        raise ValueError(f"{kind}: lower threshold {lower} must be below upper threshold {upper}")
    if rescale and not (math.isfinite(lower) and math.isfinite(upper)):
        raise ValueError(f"{kind}: rescaling needs finite thresholds, got [{lower}, {upper}]")
    f_lo, f_hi = _extremes(f, p, lower if math.isfinite(lower) else -1e300,
                           upper if math.isfinite(upper) else 1e300, peak)
    if rescale and not f_hi > f_lo:
        raise ValueError(
            f"{kind}: the function is constant on [{lower}, {upper}]; choose thresholds "
            "where it changes"
        )
    ends = _rescaled_np(np.array([lower, upper]), f, p, -math.inf, math.inf, 0.0, 0.0,
                        f_lo, f_hi, rescale)
    b = float(ends[0]) if below is None else float(below)
    a = float(ends[1]) if above is None else float(above)
    for what, v in (("below", b), ("above", a)):
        if not (math.isnan(v) or 0.0 <= v <= 1.0):
            raise ValueError(f"{kind}: value {what} threshold must be in [0, 1] or NaN, got {v}")
    data = blockwise(layer, _rescaled_np, f, p, lower, upper, b, a, f_lo, f_hi, bool(rescale))
    return like(layer, data, name=f"{layer.name}_score", units="1")


@CURVES.register("linear")
def linear(layer: xr.DataArray, *, minimum: float, maximum: float, lower: float, upper: float,
           below: float | None = None, above: float | None = None,
           rescale: bool = True) -> xr.DataArray:
    """ArcGIS Linear: ``f = clip((x - minimum) / (maximum - minimum), 0, 1)``.

    Increasing when ``minimum < maximum``, decreasing when ``minimum > maximum``; then
    stretched to [0, 1] over [lower, upper] (the shared thresholds: module docstring).
    Reference: ArcGIS Pro, Rescale by Function, ``TfLinear(minimum, maximum, lowerThreshold,
    valueBelowThreshold, upperThreshold, valueAboveThreshold)``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = linear(make_layer([[0.0, 10.0, 15.0, 20.0, 30.0]]), minimum=10, maximum=20,
    ...            lower=10, upper=20)
    >>> s.values.tolist()
    [[0.0, 0.0, 0.5, 1.0, 1.0]]
    """
    if minimum == maximum:
        raise ValueError("linear: minimum and maximum must differ")
    return _continuous(layer, "linear", _linear_f, (float(minimum), float(maximum)), lower=lower,
                       upper=upper, below=below, above=above, rescale=rescale)


@CURVES.register("symmetric_linear")
def symmetric_linear(layer: xr.DataArray, *, minimum: float, maximum: float, lower: float, upper: float,
                     below: float | None = None, above: float | None = None,
                     rescale: bool = True) -> xr.DataArray:
    """ArcGIS Symmetric Linear: a tent, ``f = max(0, 1 - |x - m| / h)``,
    ``m = (minimum + maximum)/2``, ``h = (maximum - minimum)/2``: 1 at the midpoint, 0 at
    ``minimum`` and ``maximum``. Reference: ArcGIS Pro ``TfSymmetricLinear``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = symmetric_linear(make_layer([[0.0, 5.0, 10.0, 15.0, 20.0, 25.0]]),
    ...                      minimum=0, maximum=20, lower=0, upper=20)
    >>> s.values.tolist()
    [[0.0, 0.5, 1.0, 0.5, 0.0, 0.0]]
    """
    if not minimum < maximum:
        raise ValueError("symmetric_linear: minimum must be below maximum")
    return _continuous(layer, "symmetric_linear", _symmetric_linear_f,
                       (float(minimum), float(maximum)), lower=lower, upper=upper, below=below,
                       above=above, rescale=rescale, peak=(float(minimum) + float(maximum)) / 2.0)


@CURVES.register("gaussian")
def gaussian(layer: xr.DataArray, *, midpoint: float, spread: float, lower: float, upper: float,
             below: float | None = None, above: float | None = None,
             rescale: bool = True) -> xr.DataArray:
    """ArcGIS Gaussian: ``f = exp(-spread * (x - midpoint)^2)`` (1 at the midpoint).

    ``spread`` > 0 in 1/(layer units)^2. Reference: ArcGIS Pro Fuzzy Membership
    ``FuzzyGaussian(midpoint, spread)`` / Rescale by Function ``TfGaussian``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = gaussian(make_layer([[20.0, 25.0, 30.0]]), midpoint=25, spread=0.1,
    ...              lower=0, upper=50, rescale=False)
    >>> [round(float(v), 4) for v in s.values[0]]
    [0.0821, 1.0, 0.0821]
    """
    if not spread > 0:
        raise ValueError("gaussian: spread must be > 0")
    return _continuous(layer, "gaussian", _gaussian_f, (float(midpoint), float(spread)),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale,
                       peak=float(midpoint))


@CURVES.register("near")
def near(layer: xr.DataArray, *, midpoint: float, spread: float, lower: float, upper: float,
         below: float | None = None, above: float | None = None,
         rescale: bool = True) -> xr.DataArray:
    """ArcGIS Near: ``f = 1 / (1 + spread * (x - midpoint)^2)`` (1 at the midpoint).

    Reference: ArcGIS Pro ``FuzzyNear(midpoint, spread)`` / ``TfNear``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = near(make_layer([[20.0, 25.0, 30.0]]), midpoint=25, spread=0.04,
    ...          lower=0, upper=50, rescale=False)
    >>> s.values.tolist()
    [[0.5, 1.0, 0.5]]
    """
    if not spread > 0:
        raise ValueError("near: spread must be > 0")
    return _continuous(layer, "near", _near_f, (float(midpoint), float(spread)),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale,
                       peak=float(midpoint))


@CURVES.register("small")
def small(layer: xr.DataArray, *, midpoint: float, spread: float, lower: float, upper: float,
          below: float | None = None, above: float | None = None,
          rescale: bool = True) -> xr.DataArray:
    """ArcGIS Small: ``f = 1 / (1 + (x / midpoint)^spread)``: 0.5 at the midpoint, towards 1
    for small values (decreasing). Defined for x >= 0 (x <= 0 gives 1, the limit at 0+).
    ``midpoint`` > 0, ``spread`` > 0 (ArcGIS default 5). Reference: ArcGIS Pro
    ``FuzzySmall(midpoint, spread)`` / ``TfSmall``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = small(make_layer([[0.0, 10.0, 20.0]]), midpoint=10, spread=2,
    ...           lower=0, upper=100, rescale=False)
    >>> s.values.tolist()
    [[1.0, 0.5, 0.20000000298023224]]
    """
    if not (midpoint > 0 and spread > 0):
        raise ValueError("small: midpoint and spread must be > 0")
    return _continuous(layer, "small", _small_large_f, (float(midpoint), float(spread), True),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


@CURVES.register("large")
def large(layer: xr.DataArray, *, midpoint: float, spread: float, lower: float, upper: float,
          below: float | None = None, above: float | None = None,
          rescale: bool = True) -> xr.DataArray:
    """ArcGIS Large: ``f = 1 / (1 + (x / midpoint)^-spread)``: 0.5 at the midpoint, towards 1
    for large values (increasing). Defined for x >= 0 (x <= 0 gives 0). Reference: ArcGIS
    Pro ``FuzzyLarge(midpoint, spread)`` / ``TfLarge``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = large(make_layer([[0.0, 10.0, 20.0]]), midpoint=10, spread=2,
    ...           lower=0, upper=100, rescale=False)
    >>> s.values.tolist()
    [[0.0, 0.5, 0.800000011920929]]
    """
    if not (midpoint > 0 and spread > 0):
        raise ValueError("large: midpoint and spread must be > 0")
    return _continuous(layer, "large", _small_large_f, (float(midpoint), float(spread), False),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


@CURVES.register("logistic_growth")
def logistic_growth(layer: xr.DataArray, *, minimum: float, maximum: float, lower: float, upper: float,
                    y_intercept_percent: float = 1.0, below: float | None = None,
                    above: float | None = None, rescale: bool = True) -> xr.DataArray:
    """Logistic growth: ``f = 1 / (1 + exp(-k (x - m)))``, ``m = (minimum + maximum)/2``,
    ``k = 2 ln(100/p - 1) / (maximum - minimum)`` with ``p = y_intercept_percent``
    (0 < p < 50), so ``f(minimum) = p/100`` and ``f(maximum) = 1 - p/100``.

    ArcGIS Pro ``TfLogisticGrowth(minimum, maximum, yInterceptPercent, ...)`` documents the
    parameters (the curve starts at ``minimum`` at ``yInterceptPercent`` % of the range and
    ends at ``maximum``) but not a closed formula; this symmetric logistic through those two
    points is gies's reading of it (verify against ArcGIS before claiming identical output).

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = logistic_growth(make_layer([[0.0, 50.0, 100.0]]), minimum=0, maximum=100,
    ...                     lower=0, upper=100, rescale=False)
    >>> [round(float(v), 4) for v in s.values[0]]
    [0.01, 0.5, 0.99]
    """
    if not minimum < maximum:
        raise ValueError("logistic_growth: minimum must be below maximum")
    if not 0 < y_intercept_percent < 50:
        raise ValueError("logistic_growth: y_intercept_percent must be in (0, 50)")
    return _continuous(layer, "logistic_growth", _logistic_f,
                       (float(minimum), float(maximum), float(y_intercept_percent), True),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


@CURVES.register("logistic_decay")
def logistic_decay(layer: xr.DataArray, *, minimum: float, maximum: float, lower: float, upper: float,
                   y_intercept_percent: float = 1.0, below: float | None = None,
                   above: float | None = None, rescale: bool = True) -> xr.DataArray:
    """Logistic decay: ``1 -`` the logistic growth curve (see :func:`logistic_growth`):
    ``f(minimum) = 1 - p/100``, ``f(maximum) = p/100``. Reference: ArcGIS Pro
    ``TfLogisticDecay`` (same caveat on the closed formula).

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = logistic_decay(make_layer([[0.0, 50.0, 100.0]]), minimum=0, maximum=100,
    ...                    lower=0, upper=100)
    >>> [round(float(v), 4) for v in s.values[0]]
    [1.0, 0.5, 0.0]
    """
    if not minimum < maximum:
        raise ValueError("logistic_decay: minimum must be below maximum")
    if not 0 < y_intercept_percent < 50:
        raise ValueError("logistic_decay: y_intercept_percent must be in (0, 50)")
    return _continuous(layer, "logistic_decay", _logistic_f,
                       (float(minimum), float(maximum), float(y_intercept_percent), False),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


@CURVES.register("power")
def power(layer: xr.DataArray, *, shift: float, exponent: float, lower: float, upper: float,
          below: float | None = None, above: float | None = None) -> xr.DataArray:
    """ArcGIS Power: ``f = (x - shift)^exponent`` (``x - shift`` clipped at 0), always
    stretched to [0, 1] over [lower, upper] (f is not a score by itself); ``exponent > 0``
    makes it increasing. Reference: ArcGIS Pro ``TfPower(shift, exponent, ...)``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = power(make_layer([[0.0, 5.0, 10.0]]), shift=0, exponent=2, lower=0, upper=10)
    >>> s.values.tolist()
    [[0.0, 0.25, 1.0]]
    """
    if not exponent > 0:
        raise ValueError("power: exponent must be > 0")
    if lower < shift:
        raise ValueError("power: lower threshold must be >= shift (x - shift >= 0)")
    return _continuous(layer, "power", _power_f, (float(shift), float(exponent)), lower=lower,
                       upper=upper, below=below, above=above, rescale=True)



#: The largest value ArcGIS lets an exponential reach: half of float32's largest.
_EXP_CAP = 1.701411733e38


def _exponential_f(x, shift, base_factor):
    return np.minimum(np.exp((x - shift) * base_factor), _EXP_CAP)


@CURVES.register("exponential")
def exponential(layer: xr.DataArray, *, shift: float, base_factor: float, lower: float,
                upper: float, below: float | None = None, above: float | None = None,
                rescale: bool = True) -> xr.DataArray:
    """ArcGIS Exponential: ``f = exp((x - shift) * base_factor)`` on [lower, upper],
    stretched to [0, 1] between f(lower) and f(upper) (increasing for ``base_factor`` > 0,
    decreasing for < 0). ``base_factor = ln(b)`` gives the base-``b`` exponential
    ``b^(x - shift)``; f is capped at half of float32's largest value (1.7e38), as ArcGIS
    does. Reference: ArcGIS Pro ``TfExponential(shift, baseFactor, lowerThreshold,
    valueBelowThreshold, upperThreshold, valueAboveThreshold)``.

    ``lower``, ``upper``, ``below``, ``above`` (and ``rescale``): the shared thresholds of
    the module docstring.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = exponential(make_layer([[0.0, 1.0, 2.0, 3.0]]), shift=0, base_factor=math.log(2),
    ...                 lower=0, upper=3)
    >>> [round(float(v), 4) for v in s.values[0]]   # (2^x - 1) / (2^3 - 1)
    [0.0, 0.1429, 0.4286, 1.0]
    """
    if not (math.isfinite(base_factor) and base_factor != 0):
        raise ValueError(f"exponential: base_factor must be a non-zero number, got {base_factor}")
    return _continuous(layer, "exponential", _exponential_f, (float(shift), float(base_factor)),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)
