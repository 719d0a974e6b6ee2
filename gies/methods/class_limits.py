"""FAO class limits: S1/S2/S3/N tables of value ranges, and the scores derived from them.

A factor's limits give each class one or more value ranges in the notation of the
LUMENS/LaSEM tables (FAO 1976; Sys et al. 1993)::

    "25-28"            range 25 to 28
    ">35"   "35<"      above 35; below 35 ("<35" too)
    ">=35"  "<=35"     35 and above; 35 and below ("≥35", "≤35" too)
    "25"               exactly 25 (``bare_number="value"``, the default), or 25 and below
                       (``bare_number="upper"``, how LaSEM reads the bare numbers of its tables)

Anything else (e.g. ``20-Oct``, a spreadsheet that turned "10-20" into a date) is rejected,
naming the factor and class.

Class-limit semantics, decided once for all of gies:

* **Matching.** A value's class is the class of the range that holds it; a value in no range
  takes the class of the *nearest* range (the distance to its nearer end).
* **On a limit** (a value exactly on an end shared by two classes, e.g. 2 dry months with
  S1 ``1-2`` and S2 ``2-3``, or soil depth 100 cm with S1 ``>100`` and S2 ``75-100``) the tie
  is broken by ``on_limit``:

  - ``"worse"`` (default; the conservative reading, which never overstates suitable land):
    the less suitable class;
  - ``"better"``: the more suitable class;
  - ``"right_closed"``: the range that *ends* there on the value axis, i.e. every range is
    the interval (a, b] of the number line, as R ``cut(right = TRUE)`` and
    ``terra::classify(right = TRUE)`` (LaSEM/LUMENS classify its tables so);
  - ``"left_closed"``: the range that *starts* there, [a, b), as ``cut(right = FALSE)``.

  "Ends" and "starts" are on the number line, not in the direction of suitability. Worked
  example, soil depth (S1 at high values) S1 ``>100``, S2 ``75-100``, S3 ``50-75``, N
  ``50<``: with ``right_closed`` the ranges are N (-inf, 50], S3 (50, 75], S2 (75, 100],
  S1 (100, inf), so 50 is N, 75 S3 and 100 S2; with ``left_closed`` they are N (-inf, 50),
  S3 [50, 75), S2 [75, 100), S1 [100, inf), so 50 is S3, 75 S2 and 100 S1. For dry months
  (S1 at low values) S2 ``1<``, S1 ``1-2``, S2 ``2-3``, S3 ``3-4``, N ``>4``, ``right_closed``
  gives 1 S2, 2 S1, 3 S2 and 4 S3. A limit that no other range shares (the 0 of a slope
  range ``0-8``) stays inside its range under every rule (terra's ``include.lowest``), so
  the four rules differ only on shared limits. A single value written at the end of a range
  (S3 ``25`` beside S2 ``20-25``) lies in both under ``right_closed``; that tie, and a value
  equally far from two ranges under ``right_closed``/``left_closed``, falls back to the range
  below/above the value and then to the less suitable class.
* **Written strictness wins.** ``>=a``/``<=a`` (and a bare number read as an upper bound)
  hold ``a`` whatever ``on_limit`` says, so the other range at ``a`` gives it up; with
  ``signs="strict"`` ``>a`` and ``<a`` exclude ``a`` whatever ``on_limit`` says. By default
  (``signs="shared"``) ``>a``, ``<a`` and ``a<`` are how the LUMENS/FAO tables mark the side
  of a limit they share with the next range (``>100`` beside ``75-100``), so ``on_limit``
  decides where ``a`` goes. ``a<`` is always shared: LaSEM reads it as "a and below". Two
  ranges that both hold a limit in writing (``>=25`` and ``<=25`` in different classes) are
  rejected.
* **Values matched by no range** (in a gap such as 20.5 between ``11-20`` and ``21-40``,
  beyond the outermost range, or on a limit both of whose ranges exclude it) take the class
  of the nearest range, with the same tie rule; the number of such cells is reported per
  factor as a warning.
* **Score.** Step per class: S1 1.0, S2 0.7, S3 0.5, N 0.0 by default (``class_scores``),
  chosen inside the FAO class scheme's score bands so that classifying the minimum score
  reproduces FAO's maximum-limitation rule; or interpolated within the class
  (:func:`class_interpolated_scores`).

References: FAO (1976) A framework for land evaluation; R Core Team, ``base::cut``;
Hijmans, ``terra::classify``; ICRAF LUMENS LaSEM (``classify_suitability_predictors``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from gies.errors import ProfileError
from gies.methods._layers import blockwise, like, limits_like
from gies.methods.registry import CURVES

__all__ = [
    "CLASSES",
    "Interval",
    "parse_range",
    "ClassLimits",
    "class_limits",
    "class_limits_classes",
    "class_scores",
    "class_interpolated_scores",
    "DEFAULT_CLASS_SCORES",
    "CLASS_SCORE_BANDS",
    "NODATA_CLASS",
    "ON_LIMIT",
    "BARE_NUMBER",
    "SIGNS",
]

CLASSES = ("S1", "S2", "S3", "N")
"""FAO suitability classes from best to worst; their codes are 1, 2, 3, 4."""
DEFAULT_CLASS_SCORES: dict[str, float] = {"S1": 1.0, "S2": 0.7, "S3": 0.5, "N": 0.0}
NODATA_CLASS = 0
"""Factor class code for a cell without data (classes are 1=S1 ... 4=N)."""
ON_LIMIT = ("worse", "better", "right_closed", "left_closed")
"""How a value exactly on a limit shared by two classes is classed (see the module docstring)."""
BARE_NUMBER = ("value", "upper")
"""How a bare number such as ``"25"`` is read: that single value, or 25 and below."""
SIGNS = ("shared", "strict")
"""How ``>a`` and ``<a`` are read: a limit shared with the next range, or excluding ``a``."""

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"^({_NUM})\s*[-–]\s*({_NUM})$")
_GE = re.compile(rf"^(?:>=|≥)\s*({_NUM})$")
_GT = re.compile(rf"^>\s*({_NUM})$")
_LE = re.compile(rf"^(?:<=|≤)\s*({_NUM})$")
_LT_PREFIX = re.compile(rf"^<\s*({_NUM})$")
_LT_SUFFIX = re.compile(rf"^({_NUM})\s*<$")
_BARE = re.compile(rf"^{_NUM}$")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"


@dataclass(frozen=True)
class Interval:
    """A value range from ``lo`` to ``hi`` (``-inf``/``inf`` for open ends) and its source
    text. ``lo_closed``/``hi_closed`` say what the text writes about an end: ``True`` it holds
    the limit (``>=``, ``<=``), ``False`` it excludes it (``>``, ``<`` with
    ``signs="strict"``), ``None`` nothing (the end is a limit shared with the next range)."""

    lo: float
    hi: float
    text: str
    lo_closed: bool | None = None
    hi_closed: bool | None = None

    def distance(self, value: float) -> float:
        """0 from ``lo`` to ``hi`` (ends included), else the distance to the nearer end."""
        return max(self.lo - value, 0.0, value - self.hi)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def parse_range(text: Any, *, bare_number: str = "value", signs: str = "shared") -> Interval:
    """Parse one cell of a class-limit table into an :class:`Interval`.

    ``bare_number``: ``"value"`` reads ``"25"`` as exactly 25, ``"upper"`` as 25 and below
    (held in writing, as LaSEM's tables mean it). ``signs``: ``"shared"`` reads ``>a``/``<a``
    as a limit ``a`` shared with the next range, ``"strict"`` as excluding ``a``.

    >>> parse_range("25-28")
    Interval(lo=25.0, hi=28.0, text='25-28', lo_closed=None, hi_closed=None)
    >>> parse_range("20<").hi, parse_range(">35").lo, parse_range(">=35").lo_closed
    (20.0, 35.0, True)
    >>> parse_range("2500", bare_number="upper")
    Interval(lo=-inf, hi=2500.0, text='2500', lo_closed=None, hi_closed=True)
    >>> parse_range(">25", signs="strict").lo_closed
    False

    Raises ``ValueError`` with a reason for anything else (``"20-Oct"``, ``"abc"``, ``"5-3"``).
    """
    _choice("bare_number", bare_number, BARE_NUMBER)
    _choice("signs", signs, SIGNS)
    strict = False if signs == "strict" else None
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a value range")
    if isinstance(text, (int, float)):
        return _bare(float(text), str(text), bare_number)
    s = str(text).strip()
    if m := _RANGE.match(s):
        lo, hi = float(m.group(1)), float(m.group(2))
        if not lo < hi:
            raise ValueError(f"{s!r}: the lower end must be below the upper end")
        return Interval(lo, hi, s)
    if m := _GE.match(s):
        return Interval(float(m.group(1)), math.inf, s, lo_closed=True)
    if m := _GT.match(s):
        return Interval(float(m.group(1)), math.inf, s, lo_closed=strict)
    if m := _LE.match(s):
        return Interval(-math.inf, float(m.group(1)), s, hi_closed=True)
    if m := _LT_PREFIX.match(s):
        return Interval(-math.inf, float(m.group(1)), s, hi_closed=strict)
    if m := _LT_SUFFIX.match(s):
        # LaSEM reads "a<" as "a and below" (-inf, a]: never a strict sign
        return Interval(-math.inf, float(m.group(1)), s)
    if _BARE.match(s):
        return _bare(float(s), s, bare_number)
    if re.search(rf"\b({_MONTHS})\b", s, re.IGNORECASE):
        raise ValueError(
            f"{s!r} looks like a spreadsheet date, not a value range (was it 'a-b' before a "
            "spreadsheet converted it?); fix the cell in the source table"
        )
    raise ValueError(f"{s!r} is not a value range ('a-b', '>a', '>=a', 'a<', '<a', '<=a' "
                     "or a number)")


def _bare(v: float, text: str, bare_number: str) -> Interval:
    if bare_number == "upper":
        return Interval(-math.inf, v, text, hi_closed=True)
    return Interval(v, v, text)


@dataclass(frozen=True)
class ClassLimits:
    """Parsed S1/S2/S3/N ranges of one factor: ``intervals[i] = (Interval, class_code)``."""

    intervals: tuple[tuple[Interval, int], ...]

    @classmethod
    def coerce(cls, limits: ClassLimits | Mapping[str, Any], *, where: str = "limits",
               bare_number: str = "value", signs: str = "shared") -> ClassLimits:
        """``limits`` itself, or parsed from a mapping (:meth:`from_mapping`)."""
        if isinstance(limits, ClassLimits):
            return limits
        return cls.from_mapping(limits, where=where, bare_number=bare_number, signs=signs)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, where: str = "limits",
                     bare_number: str = "value", signs: str = "shared") -> ClassLimits:
        """Build from ``{"S1": ["25-28"], "S2": ["20-25", "28-32"], ...}`` (cells read by
        :func:`parse_range` with ``bare_number`` and ``signs``); strict: every problem
        (unknown class, unreadable range, overlapping ranges, two ranges that both hold a
        limit in writing) is a :class:`~gies.errors.ProfileError` naming ``where`` and the
        class."""
        if not isinstance(mapping, Mapping) or not mapping:
            raise ProfileError(f"{where}: expected a mapping of classes to ranges")
        _choice("bare_number", bare_number, BARE_NUMBER)
        _choice("signs", signs, SIGNS)
        out: list[tuple[Interval, int]] = []
        problems = []
        for name, cells in mapping.items():
            if name not in CLASSES:
                problems.append(f"{where}.{name}: unknown class (use {', '.join(CLASSES)})")
                continue
            for cell in cells if isinstance(cells, list) else [cells]:
                try:
                    out.append((parse_range(cell, bare_number=bare_number, signs=signs),
                                CLASSES.index(name) + 1))
                except ValueError as exc:
                    problems.append(f"{where}.{name}: {exc}")
        if problems:
            raise ProfileError(problems)
        for i, (a, ca) in enumerate(out):
            for b, cb in out[i + 1 :]:
                lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
                # ranges may share an end, never more (a single value inside a range counts)
                shared_end_only = (lo == hi and lo in (a.lo, a.hi) and lo in (b.lo, b.hi)
                                   and not (a.lo == a.hi and b.lo == b.hi))
                if ca != cb and lo <= hi and not shared_end_only:
                    raise ProfileError(
                        f"{where}: ranges {a.text!r} ({CLASSES[ca - 1]}) and {b.text!r} "
                        f"({CLASSES[cb - 1]}) overlap; a value would be in two classes"
                    )
                if ca != cb and shared_end_only and _holds(a, lo) and _holds(b, lo):
                    raise ProfileError(
                        f"{where}: ranges {a.text!r} ({CLASSES[ca - 1]}) and {b.text!r} "
                        f"({CLASSES[cb - 1]}) both hold the limit {lo:g} in writing; "
                        "a value on it would be in two classes (write '>' or '<' on one side)"
                    )
        return cls(tuple(out))

    def as_table(self) -> dict[str, list[str]]:
        """``{class: [range text, ...]}`` as written in the profile (for the manifest)."""
        table: dict[str, list[str]] = {}
        for interval, code in self.intervals:
            table.setdefault(CLASSES[code - 1], []).append(interval.text)
        return table


def _holds(iv: Interval, v: float) -> bool:
    """Whether ``iv``'s text holds ``v`` in writing (``>=``/``<=`` or a bare upper bound)."""
    return (v == iv.lo and iv.lo_closed is True) or (v == iv.hi and iv.hi_closed is True)


def _ends(intervals) -> list[tuple[float, float, bool, bool, int]]:
    """Per interval: ``(lo, hi, lo_in, hi_in, code)``, whether each end lies inside it.

    A written end is as written; an unwritten end lies inside unless another range holds
    that limit in writing (written strictness wins over ``on_limit``); ties between two
    ranges holding a limit are then broken by the ``on_limit`` rule."""
    claimed = {v for iv, _ in intervals for v, c in ((iv.lo, iv.lo_closed), (iv.hi, iv.hi_closed))
               if c is True}
    out = []
    for iv, code in intervals:
        lo_in = iv.lo_closed if iv.lo_closed is not None else iv.lo not in claimed
        hi_in = iv.hi_closed if iv.hi_closed is not None else iv.hi not in claimed
        out.append((iv.lo, iv.hi, lo_in, hi_in, code))
    return out


def _distance(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 inside [lo, hi], else the distance to the nearer end (safe for ±inf)."""
    return np.where(x < lo, lo - x, np.where(x > hi, x - hi, 0.0))


def _tie_rank(x: np.ndarray, lo: float, hi: float, code: int, on_limit: str) -> np.ndarray:
    """Preference of a range among those equally good for ``x`` (lower is preferred).

    ``worse``/``better``: by class. ``right_closed``: the range lying at or below ``x`` (it
    ends there: (a, b]), then a range holding ``x`` within, then one above; ``left_closed``
    the mirror image ([a, b)). Equal positions fall back to the less suitable class."""
    if on_limit == "worse":
        return np.full(x.shape, 5 - code, dtype=np.int64)
    if on_limit == "better":
        return np.full(x.shape, code, dtype=np.int64)
    below, above = (x >= hi), (x <= lo)
    if on_limit == "left_closed":
        below, above = above, below
    pos = np.where(below, 0, np.where(above, 2, 1))
    return pos * 10 + (5 - code)


def _match_np(x: np.ndarray, ends, on_limit: str) -> tuple[np.ndarray, np.ndarray]:
    """``(index of the matched range, whether x lies inside some range)``; index -1 for NaN.

    Key per range, smallest wins: (not inside, distance, tie rank). A later range only
    wins with a strictly smaller key, so equal keys keep the first range of the table."""
    dtype = np.asarray(x).dtype
    # ±inf is treated as a very large finite value so that it still has a nearest range
    xc = np.clip(np.asarray(x, dtype=np.float64), -1e300, 1e300)
    best_out = np.ones(xc.shape, dtype=bool)
    best_d = np.full(xc.shape, np.inf)
    best_r = np.full(xc.shape, np.iinfo(np.int64).max)
    best_i = np.full(xc.shape, -1, dtype=np.int64)
    for i, (lo0, hi0, lo_in, hi_in, code) in enumerate(ends):
        lo, hi = limits_like(np.empty(0, dtype), lo0, hi0)
        with np.errstate(invalid="ignore"):
            dist = _distance(xc, lo, hi)
            inside = (((xc > lo) | ((xc == lo) & lo_in)) & ((xc < hi) | ((xc == hi) & hi_in)))
        rank = _tie_rank(xc, lo, hi, code, on_limit)
        out = ~inside
        take = (out < best_out) | ((out == best_out) & (
            (dist < best_d) | ((dist == best_d) & (rank < best_r))))
        best_out = np.where(take, out, best_out)
        best_d = np.where(take, dist, best_d)
        best_r = np.where(take, rank, best_r)
        best_i = np.where(take, i, best_i)
    nan = np.isnan(np.asarray(x, dtype=np.float64))
    best_i[nan] = -1
    return best_i, ~best_out | nan


def _classes_np(x: np.ndarray, ends, on_limit: str) -> np.ndarray:
    idx, _ = _match_np(x, ends, on_limit)
    lut = np.array([c for *_, c in ends] + [NODATA_CLASS], dtype=np.uint8)
    return lut[idx]  # index -1 (NaN) picks the trailing NODATA_CLASS


def _unmatched_np(x: np.ndarray, ends, on_limit: str) -> np.ndarray:
    _, inside = _match_np(x, ends, on_limit)
    return ~inside


def _on_limit(on_limit: str) -> str:
    return _choice("on_limit", on_limit, ON_LIMIT)


def class_limits_classes(
    layer: xr.DataArray,
    *,
    limits: ClassLimits | Mapping[str, Any],
    on_limit: str = "worse",
    bare_number: str = "value",
    signs: str = "shared",
) -> tuple[xr.DataArray, xr.DataArray]:
    """FAO class of every cell: uint8 1=S1, 2=S2, 3=S3, 4=N, 0=no data.

    See the module docstring for the matching, on-limit (``on_limit``: ``worse``,
    ``better``, ``right_closed`` = intervals (a, b], ``left_closed`` = [a, b)), written
    strictness (``signs``), bare-number (``bare_number``) and unmatched-value rules.
    Returns ``(classes, unmatched)`` where ``unmatched`` is a boolean layer of valid cells
    that fell in no range (classed by the nearest range).

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> lim = {"S1": ["1-2"], "S2": ["2-3"], "S3": ["3-4"], "N": [">4"]}
    >>> lyr = make_layer([[0.5, 2, 2.5, 3, 4, 5, float("nan")]])
    >>> class_limits_classes(lyr, limits=lim, on_limit="worse")[0].values
    array([[1, 2, 2, 3, 4, 4, 0]], dtype=uint8)
    >>> class_limits_classes(lyr, limits=lim, on_limit="right_closed")[0].values
    array([[1, 1, 2, 2, 3, 4, 0]], dtype=uint8)
    """
    on_limit = _on_limit(on_limit)
    ends = _ends(ClassLimits.coerce(limits, bare_number=bare_number, signs=signs).intervals)
    classes = blockwise(layer, _classes_np, ends, on_limit, dtype=np.uint8)
    unmatched = blockwise(layer, _unmatched_np, ends, on_limit, dtype=bool)
    c = like(layer, classes, name=f"{layer.name}_class", units="class")
    c.attrs["classes"] = {str(i + 1): name for i, name in enumerate(CLASSES)}
    return c, like(layer, unmatched, name=f"{layer.name}_unmatched", units="1")


def class_scores(
    classes: xr.DataArray, *, scores: Mapping[str, float] | None = None
) -> xr.DataArray:
    """Step score of a class layer: ``scores[class]`` per cell, NaN where class is 0.

    ``scores`` overrides :data:`DEFAULT_CLASS_SCORES` (S1 1.0, S2 0.7, S3 0.5, N 0.0) for
    some classes; the scores must fall from S1 to N within [0, 1].

    >>> from gies.testing import make_layer
    >>> import numpy as np
    >>> class_scores(make_layer(np.array([[1, 2, 3, 4, 0]], dtype="uint8"))).values
    array([[1. , 0.7, 0.5, 0. , nan]], dtype=float32)
    """
    scores = {**DEFAULT_CLASS_SCORES, **(scores or {})}
    unknown = sorted(set(scores) - set(CLASSES))
    if unknown:
        raise ValueError(f"class scores for unknown classes {unknown} (classes: {', '.join(CLASSES)})")
    values = [float(scores[c]) for c in CLASSES]
    if not all(0 <= v <= 1 for v in values) or values != sorted(values, reverse=True):
        raise ValueError(f"class scores must fall from S1 to N within [0, 1], got {scores}")
    lut = np.array([np.nan] + values, dtype=np.float32)
    scored = blockwise(classes, lambda b: lut[b], dtype=np.float32)
    name = str(classes.name).removesuffix("_class")
    return like(classes, scored, name=f"{name}_score", units="1")


@CURVES.register("class_limits", classes=class_limits_classes, from_classes=class_scores,
                 profile_param="limits")
def class_limits(layer: xr.DataArray, *, limits: ClassLimits | Mapping[str, Any],
                 on_limit: str = "worse", bare_number: str = "value", signs: str = "shared",
                 scores: Mapping[str, float] | None = None) -> xr.DataArray:
    """FAO class limits scored by a step per class: the class of each cell
    (:func:`class_limits_classes`: nearest range; ``on_limit`` on a shared limit:
    ``worse``, ``better``, ``right_closed`` (a, b] or ``left_closed`` [a, b); ``signs``:
    ``shared``/``strict`` reading of ``>a``/``<a``; ``bare_number``: ``value``/``upper``
    reading of a bare number), then its step
    score (:func:`class_scores`: S1 1.0, S2 0.7, S3 0.5, N 0.0 unless ``scores`` says
    otherwise). ``limits``: ``{"S1": ["25-28"], "S2": ["20-25", "28-32"], ...}`` (see the
    module docstring). Reference: FAO (1976); Sys, Van Ranst, Debaveye & Beernaert (1993)
    Land Evaluation Part III.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = class_limits(make_layer([[0.5, 2, 2.5, 4, 5]]),
    ...                  limits={"S1": ["1-2"], "S2": ["2-3"], "S3": ["3-4"], "N": [">4"]})
    >>> s.values.tolist()
    [[1.0, 0.699999988079071, 0.699999988079071, 0.0, 0.0]]
    """
    classes, _ = class_limits_classes(layer, limits=limits, on_limit=on_limit,
                                      bare_number=bare_number, signs=signs)
    return class_scores(classes, scores=scores)


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


def _interpolated_np(x: np.ndarray, ends, plan, on_limit: str) -> np.ndarray:
    idx, _ = _match_np(x, ends, on_limit)
    x64 = np.asarray(x, dtype=np.float64)
    out = np.full(x64.shape, np.nan)
    for i, (lo, hi, kind, s_lo, s_hi) in enumerate(plan):
        sel = idx == i
        if not sel.any():
            continue
        if kind == "const":
            out[sel] = s_lo
            continue
        lo_, hi_ = limits_like(np.empty(0, np.asarray(x).dtype), lo, hi)
        t = (np.clip(x64[sel], lo_, hi_) - lo_) / (hi_ - lo_)
        if kind == "linear":
            out[sel] = s_lo + t * (s_hi - s_lo)
        else:  # tent: band bottom at both ends, band top at the middle
            out[sel] = s_lo + (1.0 - np.abs(2.0 * t - 1.0)) * (s_hi - s_lo)
    return out.astype(np.float32)


@CURVES.register("class_interpolated", classes=class_limits_classes, profile_param="limits")
def class_interpolated_scores(
    layer: xr.DataArray, *, limits: ClassLimits | Mapping[str, Any], on_limit: str = "worse",
    bare_number: str = "value", signs: str = "shared",
) -> xr.DataArray:
    """FAO class limits scored continuously within each class (Sys's parametric approach).

    A cell is matched to a range exactly as in :func:`class_limits_classes` (nearest range,
    ``on_limit`` tie rule, ``signs`` and ``bare_number`` readings), so its class never
    changes; its score is then interpolated linearly *within* the range, between the class's score band edges
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
    >>> lim = {"S1": [">100"], "S2": ["75-100"], "S3": ["50-75"], "N": ["50<"]}
    >>> s = class_interpolated_scores(make_layer([[150, 100, 87.5, 75, 62.5, 50, 20]]),
    ...                               limits=lim)
    >>> [round(float(v), 3) for v in s.values[0]]
    [1.0, 0.8, 0.7, 0.6, 0.5, 0.0, 0.0]
    """
    on_limit = _on_limit(on_limit)
    intervals = ClassLimits.coerce(limits, bare_number=bare_number, signs=signs).intervals
    plan = _interval_plan(intervals)
    data = blockwise(layer, _interpolated_np, _ends(intervals), plan, on_limit)
    return like(layer, data, name=f"{layer.name}_score", units="1")

