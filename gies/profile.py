"""Product profiles: a product's factors, their units, and named sets of limits.

A profile (``config/products/<product>.yaml``) lists the factors a product responds to (each
with the units its limits are in and a factor group: climate, soil or terrain) and one or
more *limit sets*, each tied to a scoring method and a source:

* ``class_limits``: FAO land-evaluation classes S1/S2/S3/N (FAO 1976; Sys et al. 1993), each
  class a list of value ranges in the notation of the LUMENS/LaSEM tables::

      "25-28"   closed range 25 to 28
      ">35"     above 35            "35<" / "<35"   below 35
      "25"      exactly 25 (a bare number is a single value, never a guess at a range)

  Cells that are not one of these (e.g. ``20-Oct``, a spreadsheet that turned "10-20" into a
  date) are rejected with :class:`~gies.errors.ProfileError` naming the file, factor and class.
* ``trapezoid``: ECOCROP's four limits ``[absolute min, optimal min, optimal max, absolute max]``.

How a value exactly on a limit shared by two classes is classed is decided by the pipeline
(``scoring.on_limit``), not by the profile; see :mod:`gies.score`.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gies.errors import ProfileError, UnitError
from gies.units import parse_unit
from gies.yamlio import LoadedYaml, load_yaml

__all__ = [
    "CLASSES",
    "Interval",
    "parse_range",
    "ClassLimits",
    "Profile",
    "LimitSet",
    "load_profile",
    "read_lumens_table",
]

CLASSES = ("S1", "S2", "S3", "N")
"""FAO suitability classes from best to worst; their codes are 1, 2, 3, 4."""

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"^({_NUM})\s*[-–]\s*({_NUM})$")
_GT = re.compile(rf"^>=?\s*({_NUM})$")
_LT_PREFIX = re.compile(rf"^<=?\s*({_NUM})$")
_LT_SUFFIX = re.compile(rf"^({_NUM})\s*<$")
_BARE = re.compile(rf"^{_NUM}$")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"


@dataclass(frozen=True)
class Interval:
    """A closed value range ``[lo, hi]`` (``-inf``/``inf`` for open ends) and its source text."""

    lo: float
    hi: float
    text: str

    def distance(self, value: float) -> float:
        """0 inside the range (ends included), else the distance to the nearer end."""
        return max(self.lo - value, 0.0, value - self.hi)


def parse_range(text: Any) -> Interval:
    """Parse one cell of a class-limit table into an :class:`Interval`.

    >>> parse_range("25-28")
    Interval(lo=25.0, hi=28.0, text='25-28')
    >>> parse_range("20<").hi, parse_range(">35").lo
    (20.0, 35.0)

    Raises ``ValueError`` with a reason for anything else (``"20-Oct"``, ``"abc"``, ``"5-3"``).
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a value range")
    if isinstance(text, (int, float)):
        v = float(text)
        return Interval(v, v, str(text))
    s = str(text).strip()
    if m := _RANGE.match(s):
        lo, hi = float(m.group(1)), float(m.group(2))
        if not lo < hi:
            raise ValueError(f"{s!r}: the lower end must be below the upper end")
        return Interval(lo, hi, s)
    if m := _GT.match(s):
        return Interval(float(m.group(1)), math.inf, s)
    if m := (_LT_PREFIX.match(s) or _LT_SUFFIX.match(s)):
        return Interval(-math.inf, float(m.group(1)), s)
    if _BARE.match(s):
        v = float(s)
        return Interval(v, v, s)
    if re.search(rf"\b({_MONTHS})\b", s, re.IGNORECASE):
        raise ValueError(
            f"{s!r} looks like a spreadsheet date, not a value range (was it 'a-b' before a "
            "spreadsheet converted it?); fix the cell in the source table"
        )
    raise ValueError(f"{s!r} is not a value range ('a-b', '>a', 'a<', '<a' or a number)")


@dataclass(frozen=True)
class ClassLimits:
    """Parsed S1/S2/S3/N ranges of one factor: ``intervals[i] = (Interval, class_code)``."""

    intervals: tuple[tuple[Interval, int], ...]

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any], *, where: str) -> ClassLimits:
        """Build from ``{"S1": ["25-28"], "S2": ["20-25", "28-32"], ...}``; strict."""
        if not isinstance(mapping, dict) or not mapping:
            raise ProfileError(f"{where}: expected a mapping of classes to ranges")
        out: list[tuple[Interval, int]] = []
        problems = []
        for name, cells in mapping.items():
            if name not in CLASSES:
                problems.append(f"{where}.{name}: unknown class (use {', '.join(CLASSES)})")
                continue
            for cell in cells if isinstance(cells, list) else [cells]:
                try:
                    out.append((parse_range(cell), CLASSES.index(name) + 1))
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
        return cls(tuple(out))

    def as_table(self) -> dict[str, list[str]]:
        """``{class: [range text, ...]}`` as written in the profile (for the manifest)."""
        table: dict[str, list[str]] = {}
        for interval, code in self.intervals:
            table.setdefault(CLASSES[code - 1], []).append(interval.text)
        return table


class FactorDef(BaseModel):
    """One factor a product responds to."""

    model_config = ConfigDict(extra="forbid")
    description: str
    units: str
    group: Literal["climate", "soil", "terrain"]

    @field_validator("units")
    @classmethod
    def _known_units(cls, v: str) -> str:
        try:
            parse_unit(v)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return v


class LimitSet(BaseModel):
    """A named set of limits for one scoring method, with its source."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["class_limits", "trapezoid"]
    source: str
    notes: str | None = None
    limits: dict[str, Any]


class Profile(BaseModel):
    """A product profile (see module docstring)."""

    model_config = ConfigDict(extra="forbid")
    format_version: Literal[1]
    product: str
    name: str
    species: str
    life_form: Literal["perennial", "annual"]
    sources: dict[str, str]
    factors: dict[str, FactorDef]
    limit_sets: dict[str, LimitSet] = Field(min_length=1)
    caveats: list[str] = []
    path: Path | None = None

    def class_limits(self, set_name: str, factor: str) -> ClassLimits:
        """Parsed class limits of ``factor`` in limit set ``set_name``."""
        ls = self.limit_sets[set_name]
        return ClassLimits.from_mapping(
            ls.limits[factor], where=f"{self.path}: limit_sets.{set_name}.limits.{factor}"
        )

    def trapezoid(self, set_name: str, factor: str) -> tuple[float | None, ...]:
        """ECOCROP limits ``(abs min, opt min, opt max, abs max)`` of ``factor``."""
        return tuple(self.limit_sets[set_name].limits[factor])  # type: ignore[return-value]


def _valid_trapezoid(value: Any) -> bool:
    """Four numbers, non-decreasing; ``None`` allowed for both ends of one side."""
    if not (isinstance(value, list) and len(value) == 4):
        return False
    if any(isinstance(v, bool) or not (v is None or isinstance(v, (int, float))) for v in value):
        return False
    if (value[0] is None) != (value[1] is None) or (value[2] is None) != (value[3] is None):
        return False
    nums = [v for v in value if v is not None]
    return bool(nums) and all(a <= b for a, b in zip(nums, nums[1:]))


def _check_limit_set(profile: Profile, name: str, ls: LimitSet, y: LoadedYaml) -> list[str]:
    problems = []
    for factor, value in ls.limits.items():
        loc = ("limit_sets", name, "limits", factor)
        where = f"{y.where(loc)}: limit_sets.{name}.limits.{factor}"
        if factor not in profile.factors:
            problems.append(f"{where}: not a factor of this profile ({', '.join(profile.factors)})")
            continue
        if ls.source not in profile.sources:
            problems.append(f"{y.where(('limit_sets', name))}: source {ls.source!r} is not in 'sources'")
        if ls.method == "class_limits":
            try:
                ClassLimits.from_mapping(value, where=where)
            except ProfileError as exc:
                problems.extend(exc.problems)
        else:
            if not _valid_trapezoid(value):
                problems.append(
                    f"{where}: a trapezoid needs 4 non-decreasing numbers "
                    f"[absolute min, optimal min, optimal max, absolute max] (null for both "
                    f"limits of an open side), got {value!r}"
                )
    return problems


def load_profile(path: str | Path) -> Profile:
    """Load and fully validate a product profile; all problems are reported together."""
    y = load_yaml(path)
    try:
        profile = Profile.model_validate({**y.data, "path": Path(path)} if isinstance(y.data, dict) else y.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(f"{y.where(loc)}: {'.'.join(map(str, loc))}: {err['msg']}")
        raise ProfileError(problems) from None
    problems = []
    for name, ls in profile.limit_sets.items():
        problems += _check_limit_set(profile, name, ls, y)
    if problems:
        raise ProfileError(problems)
    return profile


def read_lumens_table(path: str | Path, *, drop_invalid: bool = False) -> tuple[dict, list[str]]:
    """Read a LUMENS/LaSEM crop table (``name_common,name_sp,class,name_parameter,value,unit``).

    Returns ``({parameter: {"units": unit, "limits": {class: [ranges]}}}, dropped)``.
    Category rows (texture, drainage, peat maturity codes) are skipped: they need a lookup
    layer, not ranges. A corrupted numeric cell raises :class:`ProfileError` naming the file,
    row and cell, unless ``drop_invalid`` is set, in which case the whole parameter is dropped
    and listed in ``dropped`` (never guessed).
    """
    path = Path(path)
    params: dict[str, dict] = {}
    bad: dict[str, str] = {}
    categorical = re.compile(r"^[a-z_;]+$")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for rowno, row in enumerate(csv.DictReader(fh), start=2):
            name, cls, value = row["name_parameter"], row["class"].strip(), row["value"].strip()
            if cls not in CLASSES:
                raise ProfileError(f"{path}:{rowno}: class {cls!r} is not one of {CLASSES}")
            if categorical.match(value):
                continue
            try:
                parse_range(value)
            except ValueError as exc:
                bad.setdefault(name, f"{path}:{rowno}: {name} {cls}: {exc}")
                continue
            entry = params.setdefault(name, {"units": row["unit"].strip(), "limits": {}})
            entry["limits"].setdefault(cls, []).append(value)
    if bad and not drop_invalid:
        raise ProfileError(list(bad.values()))
    for name in bad:
        params.pop(name, None)
    return params, list(bad.values())
