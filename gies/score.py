"""Scoring: one factor layer -> one score layer in [0, 1] (NaN stays NaN).

Pure functions on (lazy) ``xarray.DataArray`` s; they keep dims, coords and attrs and never
compute. Each is registered under the name a limit set's ``method`` uses.

Class-limit semantics (FAO S1/S2/S3/N tables), decided once for all of gies:

* **Matching.** Each class has one or more closed ranges (see :mod:`gies.profile`). A value's
  class is the class of the range *nearest* to it: distance 0 inside a range (ends
  included), otherwise the distance to the nearer end.
* **On a limit** (a value exactly on an end shared by two classes, e.g. 2 dry months with
  S1 ``1-2`` and S2 ``2-3``, or soil depth 100 cm with S1 ``>100`` and S2 ``75-100``) the tie
  is broken by ``on_limit``: ``"worse"`` (default; the conservative reading, which never
  overstates suitable land) gives the less suitable class, ``"better"`` the more suitable.
* **Values matched by no range** (in a gap such as 20.5 between ``11-20`` and ``21-40``, or
  beyond the outermost range) take the class of the nearest range, with the same tie rule;
  the number of such cells is reported per factor as a warning.
* **Score.** Step per class: S1 1.0, S2 0.7, S3 0.5, N 0.0 by default (``class_scores``),
  chosen inside the FAO class scheme's score bands so that classifying the minimum score
  reproduces FAO's maximum-limitation rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from gies.profile import CLASSES, ClassLimits

__all__ = [
    "trapezoid",
    "class_limits_classes",
    "class_scores",
    "DEFAULT_CLASS_SCORES",
    "SCORERS",
    "NODATA_CLASS",
]

DEFAULT_CLASS_SCORES: dict[str, float] = {"S1": 1.0, "S2": 0.7, "S3": 0.5, "N": 0.0}
NODATA_CLASS = 0
"""Factor class code for a cell without data (classes are 1=S1 ... 4=N)."""


def _like(template: xr.DataArray, data, *, name: str, units: str, dtype=None) -> xr.DataArray:
    out = template.copy(data=data)
    out.name = name
    out.attrs = {**template.attrs, "units": units}
    out.attrs.pop("_FillValue", None)
    return out


def _limits_like(x: np.ndarray, *limits: float) -> list[float]:
    """Limits rounded to the data's precision: a float32 cell holding 0.7 equals limit 0.7."""
    if np.asarray(x).dtype == np.float32:
        return [float(np.float32(v)) for v in limits]
    return [float(v) for v in limits]


def _trapezoid_np(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    # min(1, rise, fall) clipped at 0: the same float64 expressions as the piecewise
    # definition (bit for bit), one compiled pass (gies._scorejit.trapezoid)
    from gies import _scorejit

    a, b, c, d = _limits_like(x, a, b, c, d)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, dtype=np.float32)
    _scorejit.trapezoid(flat, a, b, c, d, not math.isinf(a), not math.isinf(d), out)
    return out.reshape(x.shape)


def _trapezoid_np_reference(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """The piecewise definition, kept as the reference of :func:`_trapezoid_np` in tests."""
    a, b, c, d = _limits_like(x, a, b, c, d)
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.float64)
    rise = (x > a) & (x < b)
    out[rise] = (x[rise] - a) / (b - a)
    out[(x >= b) & (x <= c)] = 1.0
    fall = (x > c) & (x < d)
    out[fall] = (d - x[fall]) / (d - c)
    out[np.isnan(x)] = np.nan
    return out.astype(np.float32)


def trapezoid(
    layer: xr.DataArray,
    *,
    limits: Sequence[float | None],
) -> xr.DataArray:
    """ECOCROP trapezoid score.

    With ``limits = (a, b, c, d)`` = (absolute min, optimal min, optimal max, absolute max)::

        score = 0                   x <= a  or  x >= d
              = (x - a) / (b - a)   a < x < b
              = 1                   b <= x <= c
              = (d - x) / (d - c)   c < x < d

    so the score is exactly 1 on the optimum and 0 at and beyond the absolute limits
    (Hijmans' dismo ``ecocrop`` ``.getY``; Recocrop ``approx4``). ``None`` for ``a`` and
    ``b`` (or ``c`` and ``d``) makes the curve one-sided (no lower/upper limit);
    ``a == b`` or ``c == d`` makes a step. Units: those of the layer, which must match the
    limits'. NaN stays NaN.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = trapezoid(make_layer([[10, 15, 21, 32, 35, 38]]), limits=(10, 21, 32, 38))
    >>> [round(float(v), 4) for v in s.values[0]]
    [0.0, 0.4545, 1.0, 1.0, 0.5, 0.0]
    """
    lo = [(-math.inf if v is None else float(v)) for v in limits[:2]]
    hi = [(math.inf if v is None else float(v)) for v in limits[2:]]
    a, b, c, d = lo[0], lo[1], hi[0], hi[1]
    if not (a <= b <= c <= d):
        raise ValueError(f"trapezoid limits must be non-decreasing, got {tuple(limits)}")
    if (math.isinf(a) != math.isinf(b)) or (math.isinf(c) != math.isinf(d)):
        raise ValueError(
            f"trapezoid limits {tuple(limits)}: leave out both limits of a side or neither"
        )
    data = layer.data
    if hasattr(data, "map_blocks"):
        scored = data.map_blocks(_trapezoid_np, a, b, c, d, dtype=np.float32)
    else:
        scored = _trapezoid_np(data, a, b, c, d)
    return _like(layer, scored, name=f"{layer.name}_score", units="1")


def _distance(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 inside [lo, hi], else the distance to the nearer end (safe for ±inf)."""
    return np.where(x < lo, lo - x, np.where(x > hi, x - hi, 0.0))


def _classes_np(x: np.ndarray, intervals, worse: bool) -> np.ndarray:
    dtype = np.asarray(x).dtype
    # ±inf is treated as a very large finite value so that it still has a nearest range
    x = np.clip(np.asarray(x, dtype=np.float64), -1e300, 1e300)
    best_d = np.full(x.shape, np.inf)
    best_c = np.zeros(x.shape, dtype=np.uint8)
    # Visit intervals from the preferred class of a tie to the other: a later interval only
    # wins with a strictly smaller distance, so ties keep the first visited.
    order = sorted(intervals, key=lambda ic: ic[1], reverse=worse)
    for interval, code in order:
        lo, hi = _limits_like(np.empty(0, dtype), interval.lo, interval.hi)
        with np.errstate(invalid="ignore"):
            dist = _distance(x, lo, hi)
        take = dist < best_d
        best_d = np.where(take, dist, best_d)
        best_c = np.where(take, np.uint8(code), best_c)
    best_c[np.isnan(x)] = NODATA_CLASS
    return best_c


def _unmatched_np(x: np.ndarray, intervals) -> np.ndarray:
    dtype = np.asarray(x).dtype
    x = np.asarray(x, dtype=np.float64)
    inside = np.zeros(x.shape, dtype=bool)
    for interval, _ in intervals:
        lo, hi = _limits_like(np.empty(0, dtype), interval.lo, interval.hi)
        inside |= (x >= lo) & (x <= hi)
    return ~inside & ~np.isnan(x)


def class_limits_classes(
    layer: xr.DataArray,
    *,
    limits: ClassLimits,
    on_limit: str = "worse",
) -> tuple[xr.DataArray, xr.DataArray]:
    """FAO class of every cell: uint8 1=S1, 2=S2, 3=S3, 4=N, 0=no data.

    See the module docstring for the matching, on-limit and unmatched-value rules.
    Returns ``(classes, unmatched)`` where ``unmatched`` is a boolean layer of valid cells
    that fell in no range (classed by the nearest range).

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> from gies.profile import ClassLimits
    >>> lim = ClassLimits.from_mapping({"S1": ["1-2"], "S2": ["2-3"], "S3": ["3-4"],
    ...                                 "N": [">4"]}, where="dry_months")
    >>> c, _ = class_limits_classes(make_layer([[0.5, 2, 2.5, 4, 5, float("nan")]]),
    ...                             limits=lim, on_limit="worse")
    >>> c.values
    array([[1, 2, 2, 4, 4, 0]], dtype=uint8)
    """
    if on_limit not in ("worse", "better"):
        raise ValueError(f"on_limit must be 'worse' or 'better', got {on_limit!r}")
    worse = on_limit == "worse"
    intervals = limits.intervals
    data = layer.data
    if hasattr(data, "map_blocks"):
        classes = data.map_blocks(_classes_np, intervals, worse, dtype=np.uint8)
        unmatched = data.map_blocks(_unmatched_np, intervals, dtype=bool)
    else:
        classes = _classes_np(data, intervals, worse)
        unmatched = _unmatched_np(data, intervals)
    c = _like(layer, classes, name=f"{layer.name}_class", units="class")
    c.attrs["classes"] = {str(i + 1): name for i, name in enumerate(CLASSES)}
    return c, _like(layer, unmatched, name=f"{layer.name}_unmatched", units="1")


def class_scores(
    classes: xr.DataArray, *, scores: dict[str, float] | None = None
) -> xr.DataArray:
    """Step score of a class layer: ``scores[class]`` per cell, NaN where class is 0.

    >>> from gies.testing import make_layer
    >>> import numpy as np
    >>> class_scores(make_layer(np.array([[1, 2, 3, 4, 0]], dtype="uint8"))).values
    array([[1. , 0.7, 0.5, 0. , nan]], dtype=float32)
    """
    scores = {**DEFAULT_CLASS_SCORES, **(scores or {})}
    lut = np.array([np.nan] + [scores[c] for c in CLASSES], dtype=np.float32)
    data = classes.data
    if hasattr(data, "map_blocks"):
        scored = data.map_blocks(lambda b: lut[b], dtype=np.float32)
    else:
        scored = lut[np.asarray(data)]
    name = str(classes.name).removesuffix("_class")
    return _like(classes, scored, name=f"{name}_score", units="1")


SCORERS: dict[str, Callable[..., xr.DataArray]] = {"trapezoid": trapezoid}


# =========================================================================================
# Method library (issue 4): more scorers. Every parameter is explicit; none depends on the
# run's data (no min/max/mean of "this raster"), so a cell's score is the same in a district
# run and a national run. NaN stays NaN; scores are float32 in [0, 1].
# =========================================================================================

__all__ += [
    "piecewise_linear",
    "lookup",
    "lookup_unmapped",
    "linear",
    "symmetric_linear",
    "small",
    "large",
    "gaussian",
    "near",
    "logistic_growth",
    "logistic_decay",
    "power",
    "class_interpolated_scores",
    "CLASS_SCORE_BANDS",
]


def _apply(layer: xr.DataArray, fn: Callable[..., np.ndarray], *args, dtype=np.float32):
    """``fn(block, *args)`` on the layer's data, lazily (dask ``map_blocks``) when dask-backed."""
    data = layer.data
    if hasattr(data, "map_blocks"):
        return data.map_blocks(fn, *args, dtype=dtype)
    return fn(np.asarray(data), *args)


# -- piecewise linear (GAEZ soil-quality rating tables) ----------------------------------
def _check_points(points) -> tuple[np.ndarray, np.ndarray]:
    pts = [(float(x), float(s)) for x, s in points]
    if len(pts) < 1:
        raise ValueError("piecewise_linear needs at least one (x, score) point")
    xs = np.array([p[0] for p in pts])
    ss = np.array([p[1] for p in pts])
    if not np.all(np.isfinite(xs)) or not np.all(np.isfinite(ss)):
        raise ValueError(f"piecewise_linear points must be finite numbers, got {pts}")
    if np.any(np.diff(xs) <= 0):
        raise ValueError(
            f"piecewise_linear x values must be strictly increasing, got {xs.tolist()}"
        )
    if np.any((ss < 0) | (ss > 1)):
        raise ValueError(f"piecewise_linear scores must be in [0, 1], got {ss.tolist()}")
    return xs, ss


def _interp_np(x: np.ndarray, xs: np.ndarray, ss: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.interp(x, xs, ss)
    out[np.isnan(x)] = np.nan
    return out.astype(np.float32)


def piecewise_linear(layer: xr.DataArray, *, points: Sequence[tuple[float, float]]) -> xr.DataArray:
    """Piecewise-linear rating table (GAEZ soil-quality style).

    With breakpoints ``points = [(x_1, s_1), ..., (x_n, s_n)]``, ``x_1 < ... < x_n``::

        score = s_1                                             x <= x_1
              = s_k + (x - x_k) (s_{k+1} - s_k) / (x_{k+1} - x_k)   x_k <= x <= x_{k+1}
              = s_n                                             x >= x_n

    i.e. linear between breakpoints and constant beyond the ends (``numpy.interp``), as
    PyAEZ's ``SoilConstraints`` rates numeric soil attributes (value breakpoints -> rating %,
    here as a fraction). Units of ``x``: those of the layer. Scores must lie in [0, 1].
    Reference: Fischer et al. (2021) GAEZ v4 Model documentation, ch. agro-edaphic
    constraints; gicait/PyAEZ ``SoilConstraints.py``.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = piecewise_linear(make_layer([[3.0, 4.5, 5.0, 5.5, 7.0, 9.0, float("nan")]]),
    ...                      points=[(4.5, 0.0), (5.5, 1.0), (7.0, 1.0), (8.5, 0.0)])
    >>> [round(float(v), 3) for v in s.values[0]]
    [0.0, 0.0, 0.5, 1.0, 1.0, 0.0, nan]
    """
    xs, ss = _check_points(points)
    return _like(layer, _apply(layer, _interp_np, xs, ss), name=f"{layer.name}_score", units="1")


# -- categorical lookup ------------------------------------------------------------------
def _check_table(table: dict) -> tuple[np.ndarray, np.ndarray]:
    if not table:
        raise ValueError("lookup needs a non-empty table {code: score}")
    codes, scores = [], []
    for code, s in table.items():
        if isinstance(code, bool) or float(code) != int(float(code)):
            raise ValueError(f"lookup code {code!r} is not an integer category code")
        s = float(s)
        if not (0.0 <= s <= 1.0):
            raise ValueError(f"lookup score of code {code!r} is {s}; scores must be in [0, 1]")
        codes.append(int(float(code)))
        scores.append(s)
    return np.array(codes, dtype=np.float64), np.array(scores, dtype=np.float64)


def _lookup_np(x: np.ndarray, codes: np.ndarray, scores: np.ndarray, default: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, default, dtype=np.float64)
    for c, s in zip(codes, scores):
        out[x == c] = s
    out[np.isnan(x)] = np.nan
    return out.astype(np.float32)


def _unmapped_codes_np(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return ~np.isin(x, codes) & ~np.isnan(x)


def lookup(
    layer: xr.DataArray, *, table: dict[int, float], default: float | None = None
) -> xr.DataArray:
    """Score of a categorical layer (texture, drainage, soil phase codes) by a code table.

    ``score = table[code]``; a code missing from the table scores ``default``. With
    ``default=None`` (the default) an unmapped code scores **NaN** (no data), never a guess.

    Design: whether the data holds an unmapped code is a property of the data, so a pure,
    lazy function cannot raise on it without computing. Instead the pipeline validates it:
    :func:`lookup_unmapped` gives the lazy boolean layer of valid cells whose code is not in
    the table; the pipeline counts it in its quality pass (as it does for class-limit
    ``unmatched`` cells) and raises a ``ConfigError`` naming the layer and the unmapped codes
    when ``default`` is None and the count is > 0. Reference: ArcGIS Pro Suitability Modeler
    "Unique Categories" transformation; PyAEZ categorical soil ratings.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> lyr = make_layer([[1.0, 2.0, 3.0, 9.0, float("nan")]])
    >>> lookup(lyr, table={1: 1.0, 2: 0.5, 3: 0.0}).values.tolist()
    [[1.0, 0.5, 0.0, nan, nan]]
    >>> lookup(lyr, table={1: 1.0}, default=0.0).values.tolist()
    [[1.0, 0.0, 0.0, 0.0, nan]]
    >>> lookup_unmapped(lyr, table={1: 1.0, 2: 0.5, 3: 0.0}).values.tolist()
    [[False, False, False, True, False]]
    """
    codes, scores = _check_table(table)
    if default is None:
        fill = np.nan
    else:
        fill = float(default)
        if not 0.0 <= fill <= 1.0:
            raise ValueError(f"lookup default must be in [0, 1] or None, got {default!r}")
    return _like(layer, _apply(layer, _lookup_np, codes, scores, fill),
                 name=f"{layer.name}_score", units="1")


def lookup_unmapped(layer: xr.DataArray, *, table: dict[int, float]) -> xr.DataArray:
    """Boolean layer: valid cells whose code is not a key of ``table`` (see :func:`lookup`)."""
    codes, _ = _check_table(table)
    return _like(layer, _apply(layer, _unmapped_codes_np, codes, dtype=bool),
                 name=f"{layer.name}_unmapped", units="1")


# -- ArcGIS Pro Suitability Modeler continuous functions ---------------------------------
#
# Shared semantics (ArcGIS Pro "Rescale by Function", evaluation scale 0-1):
#   * below ``lower`` the score is ``below``; above ``upper`` it is ``above``;
#   * on [lower, upper] the function value f(x) is mapped linearly onto [0, 1]:
#       score = (f(x) - f_min) / (f_max - f_min)
#     where f_min, f_max are the extremes of f over [lower, upper], computed analytically
#     from the parameters (never from the data);
#   * ``below``/``above`` default to the score at the threshold itself (constant beyond the
#     ends); pass ``float("nan")`` for ArcGIS's "NoData".
#   * ``rescale=False`` skips the stretch and returns f(x) itself (ArcGIS "Fuzzy
#     Membership"), for the functions whose f is already in [0, 1].


def _shape_np(x: np.ndarray, kind: str, p: tuple) -> np.ndarray:
    """Raw transformation function f(x) (float64)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "linear":
            lo, hi = p
            return np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        if kind == "symmetric_linear":
            lo, hi = p
            mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
            return np.clip(1.0 - np.abs(x - mid) / half, 0.0, 1.0)
        if kind == "gaussian":
            mid, spread = p
            return np.exp(-spread * (x - mid) ** 2)
        if kind == "near":
            mid, spread = p
            return 1.0 / (1.0 + spread * (x - mid) ** 2)
        if kind in ("small", "large"):
            mid, spread = p
            ratio = np.where(x > 0, x, 0.0) / mid
            e = spread if kind == "small" else -spread
            out = 1.0 / (1.0 + np.power(ratio, e))
            # x <= 0: the limit of the formula as x -> 0+ (1 for small, 0 for large)
            return np.where(x > 0, out, 1.0 if kind == "small" else 0.0)
        if kind in ("logistic_growth", "logistic_decay"):
            lo, hi, pct = p
            mid = (lo + hi) / 2.0
            k = 2.0 * math.log(100.0 / pct - 1.0) / (hi - lo)
            g = 1.0 / (1.0 + np.exp(-k * (x - mid)))
            return g if kind == "logistic_growth" else 1.0 - g
        if kind == "power":
            shift, exponent = p
            return np.power(np.maximum(x - shift, 0.0), exponent)
    raise ValueError(f"unknown function {kind!r}")  # pragma: no cover


_PEAKED = {"symmetric_linear", "gaussian", "near"}


def _extremes(kind: str, p: tuple, lower: float, upper: float) -> tuple[float, float]:
    ends = _shape_np(np.array([lower, upper], dtype=np.float64), kind, p)
    lo_v, hi_v = float(ends.min()), float(ends.max())
    if kind in _PEAKED:
        mid = (p[0] + p[1]) / 2.0 if kind == "symmetric_linear" else p[0]
        peak = float(_shape_np(np.array([min(max(mid, lower), upper)]), kind, p)[0])
        hi_v = max(hi_v, peak)
    return lo_v, hi_v


def _rescaled_np(x, kind, p, lower, upper, below, above, f_lo, f_hi, rescale):
    x64 = np.asarray(x, dtype=np.float64)
    f = _shape_np(x64, kind, p)
    s = (f - f_lo) / (f_hi - f_lo) if rescale else f
    s = np.clip(s, 0.0, 1.0)
    s = np.where(x64 < lower, below, np.where(x64 > upper, above, s))
    s[np.isnan(x64)] = np.nan
    return s.astype(np.float32)


def _continuous(layer, kind, p, *, lower, upper, below, above, rescale):
    lower, upper = float(lower), float(upper)
    if not lower < upper:
        raise ValueError(f"{kind}: lower threshold {lower} must be below upper threshold {upper}")
    if rescale and not (math.isfinite(lower) and math.isfinite(upper)):
        raise ValueError(f"{kind}: rescaling needs finite thresholds, got [{lower}, {upper}]")
    f_lo, f_hi = _extremes(kind, p, lower if math.isfinite(lower) else -1e300,
                           upper if math.isfinite(upper) else 1e300)
    if rescale and not f_hi > f_lo:
        raise ValueError(
            f"{kind}{p}: the function is constant on [{lower}, {upper}]; choose thresholds "
            "where it changes"
        )
    ends = _rescaled_np(np.array([lower, upper]), kind, p, -math.inf, math.inf, 0.0, 0.0,
                        f_lo, f_hi, rescale)
    b = float(ends[0]) if below is None else float(below)
    a = float(ends[1]) if above is None else float(above)
    for what, v in (("below", b), ("above", a)):
        if not (math.isnan(v) or 0.0 <= v <= 1.0):
            raise ValueError(f"{kind}: value {what} threshold must be in [0, 1] or NaN, got {v}")
    data = _apply(layer, _rescaled_np, kind, p, lower, upper, b, a, f_lo, f_hi, bool(rescale))
    out = _like(layer, data, name=f"{layer.name}_score", units="1")
    return out


_THRESHOLDS_DOC = """
    lower, upper : float
        Thresholds (layer units) of the range the function applies to; required (ArcGIS
        defaults them to the data's min/max, which gies never does).
    below, above : float or None
        Score below ``lower`` / above ``upper`` (``nan`` = no data). ``None``: the score at
        the threshold (constant beyond the ends).
"""


def linear(layer, *, minimum: float, maximum: float, lower: float, upper: float,
           below: float | None = None, above: float | None = None,
           rescale: bool = True) -> xr.DataArray:
    """ArcGIS Linear: ``f = clip((x - minimum) / (maximum - minimum), 0, 1)``.

    Increasing when ``minimum < maximum``, decreasing when ``minimum > maximum``; then
    stretched to [0, 1] over [lower, upper] (see the shared semantics above).
    Reference: ArcGIS Pro, Rescale by Function, ``TfLinear(minimum, maximum, lowerThreshold,
    valueBelowThreshold, upperThreshold, valueAboveThreshold)``.

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
    return _continuous(layer, "linear", (float(minimum), float(maximum)), lower=lower,
                       upper=upper, below=below, above=above, rescale=rescale)


def symmetric_linear(layer, *, minimum: float, maximum: float, lower: float, upper: float,
                     below: float | None = None, above: float | None = None,
                     rescale: bool = True) -> xr.DataArray:
    """ArcGIS Symmetric Linear: a tent, ``f = max(0, 1 - |x - m| / h)``,
    ``m = (minimum + maximum)/2``, ``h = (maximum - minimum)/2``: 1 at the midpoint, 0 at
    ``minimum`` and ``maximum``. Reference: ArcGIS Pro ``TfSymmetricLinear``.

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
    return _continuous(layer, "symmetric_linear", (float(minimum), float(maximum)),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


def gaussian(layer, *, midpoint: float, spread: float, lower: float, upper: float,
             below: float | None = None, above: float | None = None,
             rescale: bool = True) -> xr.DataArray:
    """ArcGIS Gaussian: ``f = exp(-spread * (x - midpoint)^2)`` (1 at the midpoint).

    ``spread`` > 0 in 1/(layer units)^2. Reference: ArcGIS Pro Fuzzy Membership
    ``FuzzyGaussian(midpoint, spread)`` / Rescale by Function ``TfGaussian``.

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
    return _continuous(layer, "gaussian", (float(midpoint), float(spread)), lower=lower,
                       upper=upper, below=below, above=above, rescale=rescale)


def near(layer, *, midpoint: float, spread: float, lower: float, upper: float,
         below: float | None = None, above: float | None = None,
         rescale: bool = True) -> xr.DataArray:
    """ArcGIS Near: ``f = 1 / (1 + spread * (x - midpoint)^2)`` (1 at the midpoint).

    Reference: ArcGIS Pro ``FuzzyNear(midpoint, spread)`` / ``TfNear``.

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
    return _continuous(layer, "near", (float(midpoint), float(spread)), lower=lower,
                       upper=upper, below=below, above=above, rescale=rescale)


def small(layer, *, midpoint: float, spread: float, lower: float, upper: float,
          below: float | None = None, above: float | None = None,
          rescale: bool = True) -> xr.DataArray:
    """ArcGIS Small: ``f = 1 / (1 + (x / midpoint)^spread)``: 0.5 at the midpoint, towards 1
    for small values (decreasing). Defined for x >= 0 (x <= 0 gives 1, the limit at 0+).
    ``midpoint`` > 0, ``spread`` > 0 (ArcGIS default 5). Reference: ArcGIS Pro
    ``FuzzySmall(midpoint, spread)`` / ``TfSmall``.

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
    return _continuous(layer, "small", (float(midpoint), float(spread)), lower=lower,
                       upper=upper, below=below, above=above, rescale=rescale)


def large(layer, *, midpoint: float, spread: float, lower: float, upper: float,
          below: float | None = None, above: float | None = None,
          rescale: bool = True) -> xr.DataArray:
    """ArcGIS Large: ``f = 1 / (1 + (x / midpoint)^-spread)``: 0.5 at the midpoint, towards 1
    for large values (increasing). Defined for x >= 0 (x <= 0 gives 0). Reference: ArcGIS
    Pro ``FuzzyLarge(midpoint, spread)`` / ``TfLarge``.

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
    return _continuous(layer, "large", (float(midpoint), float(spread)), lower=lower,
                       upper=upper, below=below, above=above, rescale=rescale)


def logistic_growth(layer, *, minimum: float, maximum: float, lower: float, upper: float,
                    y_intercept_percent: float = 1.0, below: float | None = None,
                    above: float | None = None, rescale: bool = True) -> xr.DataArray:
    """Logistic growth: ``f = 1 / (1 + exp(-k (x - m)))``, ``m = (minimum + maximum)/2``,
    ``k = 2 ln(100/p - 1) / (maximum - minimum)`` with ``p = y_intercept_percent``
    (0 < p < 50), so ``f(minimum) = p/100`` and ``f(maximum) = 1 - p/100``.

    ArcGIS Pro ``TfLogisticGrowth(minimum, maximum, yInterceptPercent, ...)`` documents the
    parameters (the curve starts at ``minimum`` at ``yInterceptPercent`` % of the range and
    ends at ``maximum``) but not a closed formula; this symmetric logistic through those two
    points is gies's reading of it (verify against ArcGIS before claiming identical output).

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
    return _continuous(layer, "logistic_growth",
                       (float(minimum), float(maximum), float(y_intercept_percent)),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


def logistic_decay(layer, *, minimum: float, maximum: float, lower: float, upper: float,
                   y_intercept_percent: float = 1.0, below: float | None = None,
                   above: float | None = None, rescale: bool = True) -> xr.DataArray:
    """Logistic decay: ``1 -`` the logistic growth curve (see :func:`logistic_growth`):
    ``f(minimum) = 1 - p/100``, ``f(maximum) = p/100``. Reference: ArcGIS Pro
    ``TfLogisticDecay`` (same caveat on the closed formula).

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
    return _continuous(layer, "logistic_decay",
                       (float(minimum), float(maximum), float(y_intercept_percent)),
                       lower=lower, upper=upper, below=below, above=above, rescale=rescale)


def power(layer, *, shift: float, exponent: float, lower: float, upper: float,
          below: float | None = None, above: float | None = None) -> xr.DataArray:
    """ArcGIS Power: ``f = (x - shift)^exponent`` (``x - shift`` clipped at 0), always
    stretched to [0, 1] over [lower, upper] (f is not a score by itself); ``exponent > 0``
    makes it increasing. Reference: ArcGIS Pro ``TfPower(shift, exponent, ...)``.

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
    return _continuous(layer, "power", (float(shift), float(exponent)), lower=lower,
                       upper=upper, below=below, above=above, rescale=True)


for _f in (linear, symmetric_linear, gaussian, near, small, large, logistic_growth,
           logistic_decay, power):
    _f.__doc__ = (_f.__doc__ or "") + "\n    Thresholds\n    ----------" + _THRESHOLDS_DOC


# -- class limits, interpolated within classes (Sys et al. 1993 parametric approach) -----
CLASS_SCORE_BANDS: dict[str, tuple[float, float]] = {
    "S1": (0.8, 1.0), "S2": (0.6, 0.8), "S3": (0.4, 0.6), "N": (0.0, 0.4),
}
"""Score band of each class, matching the ``fao`` scheme (S1 >= 0.8, S2 >= 0.6, S3 >= 0.4)."""


def _below_top(band_top: float) -> float:
    """The largest float32 below ``band_top``: an S2 score never classifies as S1."""
    return float(np.nextafter(np.float32(band_top), np.float32(0)))


def _interval_plan(intervals) -> list[tuple[float, float, str, float, float]]:
    """Per interval: (lo, hi, kind, score at lo, score at hi); kind const/linear/tent."""
    plan = []
    for k, (iv, code) in enumerate(intervals):
        name = CLASSES[code - 1]
        b_lo, b_hi = CLASS_SCORE_BANDS[name]
        top = 1.0 if code == 1 else _below_top(b_hi)
        if not (math.isfinite(iv.lo) and math.isfinite(iv.hi)) or iv.lo == iv.hi:
            const = DEFAULT_CLASS_SCORES[name]
            plan.append((iv.lo, iv.hi, "const", const, const))
            continue
        if code > 1:
            ref = [o for o, c in intervals if c < code]  # better classes
            d_lo = min((o.distance(iv.lo) for o in ref), default=math.inf)
            d_hi = min((o.distance(iv.hi) for o in ref), default=math.inf)
            better_lo = d_lo < d_hi
            better_hi = d_hi < d_lo
        else:
            ref = [o for o, c in intervals if c > code]  # worse classes: S1's far edge is best
            d_lo = min((o.distance(iv.lo) for o in ref), default=math.inf)
            d_hi = min((o.distance(iv.hi) for o in ref), default=math.inf)
            better_lo = d_lo > d_hi
            better_hi = d_hi > d_lo
        if better_lo:
            plan.append((iv.lo, iv.hi, "linear", top, b_lo))
        elif better_hi:
            plan.append((iv.lo, iv.hi, "linear", b_lo, top))
        else:
            plan.append((iv.lo, iv.hi, "tent", b_lo, top))
    return plan


def _nearest_interval_np(x: np.ndarray, intervals, worse: bool) -> np.ndarray:
    """Index of the matched interval (same tie rule as :func:`_classes_np`); -1 for NaN."""
    dtype = np.asarray(x).dtype
    xc = np.clip(np.asarray(x, dtype=np.float64), -1e300, 1e300)
    best_d = np.full(xc.shape, np.inf)
    best_i = np.full(xc.shape, -1, dtype=np.int64)
    order = sorted(range(len(intervals)), key=lambda i: intervals[i][1], reverse=worse)
    for i in order:
        iv = intervals[i][0]
        lo, hi = _limits_like(np.empty(0, dtype), iv.lo, iv.hi)
        with np.errstate(invalid="ignore"):
            dist = _distance(xc, lo, hi)
        take = dist < best_d
        best_d = np.where(take, dist, best_d)
        best_i = np.where(take, i, best_i)
    best_i[np.isnan(np.asarray(x, dtype=np.float64))] = -1
    return best_i


def _interpolated_np(x: np.ndarray, intervals, plan, worse: bool) -> np.ndarray:
    idx = _nearest_interval_np(x, intervals, worse)
    x64 = np.asarray(x, dtype=np.float64)
    out = np.full(x64.shape, np.nan)
    for i, (lo, hi, kind, s_lo, s_hi) in enumerate(plan):
        sel = idx == i
        if not sel.any():
            continue
        if kind == "const":
            out[sel] = s_lo
            continue
        lo_, hi_ = _limits_like(np.empty(0, np.asarray(x).dtype), lo, hi)
        t = (np.clip(x64[sel], lo_, hi_) - lo_) / (hi_ - lo_)
        if kind == "linear":
            out[sel] = s_lo + t * (s_hi - s_lo)
        else:  # tent: band bottom at both ends, band top at the middle
            out[sel] = s_lo + (1.0 - np.abs(2.0 * t - 1.0)) * (s_hi - s_lo)
    return out.astype(np.float32)


def class_interpolated_scores(
    layer: xr.DataArray, *, limits: ClassLimits, on_limit: str = "worse"
) -> xr.DataArray:
    """FAO class limits scored continuously within each class (Sys's parametric approach).

    A cell is matched to a range exactly as in :func:`class_limits_classes` (nearest range,
    ``on_limit`` tie rule), so its class never changes; its score is then interpolated
    linearly *within* the range, between the class's score band edges
    (:data:`CLASS_SCORE_BANDS`: S1 [0.8, 1], S2 [0.6, 0.8), S3 [0.4, 0.6), N [0, 0.4), the
    ``fao`` scheme), so ``classify_score(min(scores))`` still gives the FAO
    maximum-limitation class.

    Direction within a range: the **better edge** gets the top of the band, the other edge
    the bottom. For S2/S3/N the better edge is the end nearer to a range of a better class
    (e.g. soil depth S2 ``75-100`` next to S1 ``>100``: 0.6 at 75 rising to just below 0.8
    at 100). For S1 it is the end farther from any worse range. When both ends are equally
    near (an S1 ``25-28`` with S2 on both sides) the score is a tent: band top at the middle,
    band bottom at both ends. Open-ended ranges (``>100``, ``20<``) and single values have
    no width to interpolate over and get the class's default step score (S1 1.0, S2 0.7,
    S3 0.5, N 0.0; :data:`DEFAULT_CLASS_SCORES`). Values outside every range take the score
    of the nearest edge of the matched range. The top of the S2/S3/N bands is exclusive
    (the largest float32 below 0.8/0.6/0.4). Reference: Sys, Van Ranst & Debaveye (1991)
    Land Evaluation Part I/II (parametric methods); Sys et al. (1993) Part III.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> from gies.profile import ClassLimits
    >>> lim = ClassLimits.from_mapping({"S1": [">100"], "S2": ["75-100"], "S3": ["50-75"],
    ...                                 "N": ["50<"]}, where="soil_depth")
    >>> s = class_interpolated_scores(make_layer([[150, 100, 87.5, 75, 62.5, 50, 20]]),
    ...                               limits=lim)
    >>> [round(float(v), 3) for v in s.values[0]]
    [1.0, 0.8, 0.7, 0.6, 0.5, 0.0, 0.0]
    """
    if on_limit not in ("worse", "better"):
        raise ValueError(f"on_limit must be 'worse' or 'better', got {on_limit!r}")
    intervals = limits.intervals
    plan = _interval_plan(intervals)
    data = _apply(layer, _interpolated_np, intervals, plan, on_limit == "worse")
    return _like(layer, data, name=f"{layer.name}_score", units="1")


SCORERS.update({
    "piecewise_linear": piecewise_linear,
    "lookup": lookup,
    "linear": linear,
    "symmetric_linear": symmetric_linear,
    "small": small,
    "large": large,
    "gaussian": gaussian,
    "near": near,
    "logistic_growth": logistic_growth,
    "logistic_decay": logistic_decay,
    "power": power,
    "class_interpolated": class_interpolated_scores,
})
