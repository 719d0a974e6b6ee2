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
