"""Unit tests of gies.units: the conversion table, aliases and errors."""

from __future__ import annotations

import numpy as np
import pytest

from gies.errors import UnitError
from gies.testing import make_layer
from gies.units import conversion, convert, parse_unit


@pytest.mark.parametrize(
    "src, dst, a, b",
    [
        ("mmol(c)/kg", "cmol(c)/kg", 0.1, 0.0),
        ("dg/kg", "%", 0.01, 0.0),
        ("cg/kg", "%", 0.001, 0.0),
        ("g/kg", "%", 0.1, 0.0),
        ("K", "degC", 1.0, -273.15),
        ("degC", "K", 1.0, 273.15),
        ("degC*10", "degC", 0.1, 0.0),
        ("pH*10", "pH", 0.1, 0.0),
        ("cm3/dm3", "%", 0.1, 0.0),
        ("%", "g/kg", 10.0, 0.0),
        ("cm", "m", 0.01, 0.0),
        ("mm", "cm", 0.1, 0.0),
        ("meq/100g", "cmol(c)/kg", 1.0, 0.0),
        ("fraction", "%", 100.0, 0.0),
        ("degC", "degC", 1.0, 0.0),
    ],
)
def test_conversion_factors(src, dst, a, b):
    ca, cb = conversion(src, dst)
    assert ca == pytest.approx(a, rel=1e-12)
    assert cb == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_convert_values():
    assert convert(300.0, "K", "degC") == pytest.approx(26.85, abs=1e-9)
    assert convert(0.0, "degC", "K") == pytest.approx(273.15, abs=1e-9)
    assert convert(255.0, "degC*10", "degC") == pytest.approx(25.5)
    assert convert(55.0, "pH*10", "pH") == pytest.approx(5.5)
    assert convert(123.0, "mmol(c)/kg", "cmol(c)/kg") == pytest.approx(12.3)
    np.testing.assert_allclose(convert(np.array([10.0, 200.0]), "dg/kg", "%"), [0.1, 2.0])
    x = np.array([1.0, 2.0])
    assert convert(x, "%", "%") is x  # identity returns the input unchanged


def test_convert_lazy_layer():
    layer = make_layer([[250.0, 300.0]], chunks=1)
    out = convert(layer, "degC*10", "degC")
    assert hasattr(out.data, "dask")
    np.testing.assert_allclose(out.values, [[25.0, 30.0]], rtol=1e-6)


@pytest.mark.parametrize(
    "alias, symbol",
    [
        ("°C", "degC"),
        ("celsius", "degC"),
        ("cmol", "cmol(c)/kg"),
        ("bulan", "months"),
        ("unitless", "1"),
        ("", "1"),
        ("‰", "permille"),
        ("cm³/dm³", "cm3/dm3"),
        ("PH", "pH"),
        ("MM", "mm"),
        ("  degC  ", "degC"),
    ],
)
def test_aliases(alias, symbol):
    assert parse_unit(alias).symbol == symbol


def test_alias_conversions():
    assert conversion("°C", "degC") == (1.0, 0.0)
    assert conversion("bulan", "months") == (1.0, 0.0)
    assert conversion("cmol", "mmol(c)/kg") == (10.0, 0.0)


def test_unknown_unit():
    with pytest.raises(UnitError) as exc:
        parse_unit("furlong")
    assert "'furlong'" in str(exc.value)
    assert "degC" in str(exc.value)  # lists the known units
    with pytest.raises(UnitError, match="furlong"):
        conversion("furlong", "m")
    with pytest.raises(UnitError, match="furlong"):
        convert(1.0, "mm", "furlong")


@pytest.mark.parametrize("src, dst", [("mm", "degC"), ("pH", "%"), ("months", "mm")])
def test_cross_quantity_conversion(src, dst):
    with pytest.raises(UnitError) as exc:
        conversion(src, dst)
    msg = str(exc.value)
    assert repr(src) in msg and repr(dst) in msg
    assert isinstance(exc.value, ValueError)
