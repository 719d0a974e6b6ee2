"""Readers of the small tables a pipeline or a profile is built from: LUMENS/LaSEM crop
requirement tables (to write product profiles) and LaSEM intervention tables (the class
steps of improvement rules, read when a pipeline is loaded).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from gies.errors import ProfileError
from gies.methods.class_limits import CLASSES, parse_range
from gies.methods.improve import LEVELS

__all__ = ["read_lumens_table", "read_intervention_table"]

_COLUMNS = {"low": "low", "medium": "med", "high": "high"}


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



def _steps(cell: str, *, where: str) -> int:
    s = cell.strip()
    if s.upper() in ("NA", ""):
        return 0
    if set(s) == {"+"} and len(s) <= 3:
        return len(s)
    raise ValueError(f"{where}: {cell!r} is not NA, '+', '++' or '+++'")


def read_intervention_table(path: str | Path) -> dict[str, dict]:
    """Parse a LaSEM intervention table (``no,land_characteristics,name_parameter,
    intervention,low,med,high``) into ``{name_parameter: {"label", "intervention",
    "low", "medium", "high"}}`` with the class steps as integers 0..3. A row with
    ``intervention`` FALSE must have NA at every level.

    >>> t = read_intervention_table("data/sample/bungo/tables/lasem_lookup_intervention.csv")
    >>> t["soil_ph"]["medium"], t["soil_nitrogen"]["high"], t["clim_temperature_avg"]["high"]
    (1, 3, 0)
    """
    path = Path(path)
    out: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for rowno, row in enumerate(csv.DictReader(fh), start=2):
            where = f"{path}:{rowno}"
            name = row["name_parameter"].strip()
            flag = row["intervention"].strip().upper()
            if flag not in ("TRUE", "FALSE"):
                raise ValueError(f"{where}: intervention must be TRUE or FALSE, got {flag!r}")
            entry = {"label": row["land_characteristics"].strip(), "intervention": flag == "TRUE"}
            for level, col in _COLUMNS.items():
                entry[level] = _steps(row[col], where=f"{where} {name} {col}")
            if not entry["intervention"] and any(entry[lv] for lv in LEVELS):
                raise ValueError(f"{where}: {name} has intervention FALSE but class steps")
            if name in out:
                raise ValueError(f"{where}: {name} appears twice")
            out[name] = entry
    return out

