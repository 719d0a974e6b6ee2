"""Units of layers and factor limits, and the conversions between them.

Every layer declares the units its values are in; every factor of a product profile declares
the units its limits are in; :func:`convert` maps one to the other. The table is explicit
(``value_in_base = value * scale + offset``) so that every supported conversion can be read
here and nothing is guessed: a pair of units that share no quantity raises
:class:`~gies.errors.UnitError` naming both.

Mass and volume ratios (%, ‰, g/kg, dg/kg, cg/kg, cm³/dm³) are all dimensionless and share
one quantity ("ratio", base %). The SoilGrids "mapped units" are in the table
(ISRIC SoilGrids 2.0 FAQ; ``ncss-tech/soilDB:R/fetchSoilGrids.R``): pH×10, mmol(c)/kg,
cm³/dm³ (‰), dg/kg, cg/kg, g/kg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gies.errors import UnitError

__all__ = [
    "Unit", "parse_unit", "convert", "conversion", "UNITS", "PLAUSIBLE_QUANTITIES",
]


@dataclass(frozen=True)
class Unit:
    """A unit: its canonical symbol, quantity, and ``base = value * scale + offset``."""

    symbol: str
    quantity: str
    scale: float = 1.0
    offset: float = 0.0


_TABLE = [
    Unit("degC", "temperature"),
    Unit("K", "temperature", 1.0, -273.15),
    Unit("degC*10", "temperature", 0.1),
    Unit("mm", "length", 0.001),
    Unit("cm", "length", 0.01),
    Unit("dm", "length", 0.1),
    Unit("m", "length", 1.0),
    Unit("%", "ratio"),
    Unit("permille", "ratio", 0.1),
    Unit("g/kg", "ratio", 0.1),
    Unit("dg/kg", "ratio", 0.01),
    Unit("cg/kg", "ratio", 0.001),
    Unit("mg/kg", "ratio", 1e-4),
    Unit("cm3/dm3", "ratio", 0.1),
    Unit("fraction", "ratio", 100.0),
    Unit("cmol(c)/kg", "cec"),
    Unit("mmol(c)/kg", "cec", 0.1),
    Unit("meq/100g", "cec"),
    Unit("pH", "ph"),
    Unit("pH*10", "ph", 0.1),
    Unit("months", "months"),
    Unit("dS/m", "conductivity"),
    Unit("1", "dimensionless"),
    Unit("deg", "angle"),
]
UNITS: dict[str, Unit] = {u.symbol: u for u in _TABLE}

_ALIASES = {
    "°c": "degC", "c": "degC", "celsius": "degC", "degc": "degC", "deg c": "degC",
    "kelvin": "K", "k": "K", "°c*10": "degC*10", "degc*10": "degC*10", "0.1 degc": "degC*10",
    "millimetre": "mm", "millimeter": "mm", "mm/year": "mm", "mm/yr": "mm", "mm per year": "mm",
    "centimetre": "cm", "centimeter": "cm", "metre": "m", "meter": "m", "m asl": "m",
    "percent": "%", "pct": "%", "vol%": "%", "vol %": "%", "% vol": "%", "‰": "permille",
    "per mille": "permille", "cm³/dm³": "cm3/dm3", "cmol": "cmol(c)/kg", "cmol/kg": "cmol(c)/kg",
    "cmolc/kg": "cmol(c)/kg", "cmol(+)/kg": "cmol(c)/kg", "mmolc/kg": "mmol(c)/kg",
    "mmol/kg": "mmol(c)/kg", "mmol(+)/kg": "mmol(c)/kg", "me/100g": "meq/100g",
    "ph": "pH", "ph*10": "pH*10", "ph x 10": "pH*10", "ph×10": "pH*10",
    "month": "months", "bulan": "months", "ds/m": "dS/m", "ms/cm": "dS/m",
    "degree": "deg", "degrees": "deg", "°": "deg",
    "unitless": "1", "none": "1", "": "1", "-": "1",
}


def parse_unit(text: str) -> Unit:
    """The :class:`Unit` for a symbol or alias (case-insensitive), else ``UnitError``.

    >>> parse_unit("°C").symbol
    'degC'
    """
    key = str(text).strip()
    if key in UNITS:
        return UNITS[key]
    alias = _ALIASES.get(key.lower())
    if alias is None:
        for sym in UNITS:
            if sym.lower() == key.lower():
                return UNITS[sym]
        known = ", ".join(sorted(UNITS))
        raise UnitError(f"unknown unit {text!r}; known units: {known}")
    return UNITS[alias]


def conversion(src: str, dst: str) -> tuple[float, float]:
    """``(a, b)`` such that ``value_dst = value_src * a + b``.

    Raises :class:`UnitError` when the units measure different quantities.

    >>> conversion("mmol(c)/kg", "cmol(c)/kg")
    (0.1, 0.0)
    >>> conversion("dg/kg", "%")
    (0.01, 0.0)
    """
    s, d = parse_unit(src), parse_unit(dst)
    if s.quantity != d.quantity:
        raise UnitError(
            f"cannot convert {src!r} ({s.quantity}) to {dst!r} ({d.quantity}); "
            "declare the layer's units correctly or choose another factor"
        )
    a = s.scale / d.scale
    b = (s.offset - d.offset) / d.scale
    return (float(np.float64(a).round(15)), float(b))


def convert(values, src: str, dst: str):
    """Convert ``values`` (number, numpy or dask array) from ``src`` to ``dst`` units."""
    a, b = conversion(src, dst)
    if a == 1.0 and b == 0.0:
        return values
    return values * a + b


# Plausible ranges per *physical quantity of a layer* (finer than the unit quantities:
# annual and monthly rainfall are both "length"), used by
# :func:`gies.stages.preflight.check_plausible` on a small sample to catch ×10 / K / fraction
# mistakes before a run. Wide on purpose. ``degrees`` (slope angle) is not a table unit and
# is checked as given. Sources: physical limits (temperature records −89..57 °C; wettest
# stations ~12 000 mm/yr; soil pH 2..11; SoilGrids 2.0 value ranges, ISRIC FAQ).
PLAUSIBLE_QUANTITIES: dict[str, tuple[str, float, float]] = {
    "temperature": ("degC", -60.0, 60.0),
    "rainfall_annual": ("mm", 0.0, 15000.0),
    "rainfall_monthly": ("mm", 0.0, 3000.0),
    "ph": ("pH", 2.0, 11.0),
    "clay": ("%", 0.0, 100.0),
    "sand": ("%", 0.0, 100.0),
    "silt": ("%", 0.0, 100.0),
    "coarse_fragments": ("%", 0.0, 100.0),
    "base_saturation": ("%", 0.0, 100.0),
    "slope_percent": ("%", 0.0, 1000.0),
    "slope_degrees": ("degrees", 0.0, 90.0),
    "elevation": ("m", -500.0, 9000.0),
    "cec": ("cmol(c)/kg", 0.0, 200.0),
    "soc": ("g/kg", 0.0, 600.0),
    "nitrogen": ("g/kg", 0.0, 50.0),
    "soil_depth": ("cm", 0.0, 10000.0),
    "dry_months": ("months", 0.0, 12.0),
}
