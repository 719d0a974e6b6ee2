"""Unit tests of gies.config.products: range cells, class limits, LUMENS tables, profiles."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gies.errors import ProfileError
from gies.config.products import load_profile
from gies.config.tables import read_lumens_table
from gies.methods.class_limits import ClassLimits, Interval, parse_range

ROOT = Path(__file__).resolve().parents[3]
CACAO_CSV = ROOT / "data/sample/tables/land_suitability_parameters_cacao.csv"
COCOA_YAML = ROOT / "gies/data/products/cocoa.yaml"


@pytest.mark.parametrize(
    "text, lo, hi",
    [
        ("25-28", 25.0, 28.0),
        (">35", 35.0, math.inf),
        ("20<", -math.inf, 20.0),
        ("<5", -math.inf, 5.0),
        ("25", 25.0, 25.0),
        ("0.10-0.20", 0.10, 0.20),
        ("-2-5", -2.0, 5.0),
        (" 25 - 28 ", 25.0, 28.0),
        (25, 25.0, 25.0),
        (0.5, 0.5, 0.5),
    ],
)
def test_parse_range_valid(text, lo, hi):
    iv = parse_range(text)
    assert isinstance(iv, Interval)
    assert (iv.lo, iv.hi) == (lo, hi)


def test_parse_range_keeps_text():
    assert parse_range("25-28").text == "25-28"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("20-Oct", "spreadsheet date"),
        ("abc", "not a value range"),
        ("5-3", "lower end must be below the upper end"),
        ("", "not a value range"),
        (True, "not a value range"),
    ],
)
def test_parse_range_rejects(text, fragment):
    with pytest.raises(ValueError) as exc:
        parse_range(text)
    assert fragment in str(exc.value)
    if isinstance(text, str) and text:
        assert repr(text) in str(exc.value)  # names the offending cell


def test_interval_distance():
    iv = parse_range("10-20")
    assert iv.distance(15) == 0 and iv.distance(10) == 0 and iv.distance(20) == 0
    assert iv.distance(7) == 3 and iv.distance(26) == 6
    assert parse_range(">35").distance(1e9) == 0


def test_class_limits_from_mapping():
    lim = ClassLimits.from_mapping(
        {"S1": ["25-28"], "S2": ["20-25", "28-32"], "S3": "32-35", "N": ["20<", ">35"]},
        where="t",
    )
    codes = sorted(code for _, code in lim.intervals)
    assert codes == [1, 2, 2, 3, 4, 4]
    assert lim.as_table() == {"S1": ["25-28"], "S2": ["20-25", "28-32"], "S3": ["32-35"],
                              "N": ["20<", ">35"]}


@pytest.mark.parametrize(
    "mapping",
    [
        {"S1": ["20-30"], "S2": ["25-35"]},
        {"S1": [">35"], "S2": [">40"]},
        {"S1": ["<20"], "S3": ["<10"]},
        {"S1": ["20-30"], "S2": ["10-40"]},
    ],
)
def test_class_limits_rejects_overlap(mapping):
    with pytest.raises(ProfileError, match="overlap"):
        ClassLimits.from_mapping(mapping, where="factor_x")


def test_class_limits_allows_shared_ends_and_same_class_overlap():
    ClassLimits.from_mapping({"S1": ["1-2"], "S2": ["2-3", "1<"]}, where="dry")
    ClassLimits.from_mapping({"S1": ["1-3", "2-4"]}, where="dry")


@pytest.mark.parametrize(
    "mapping",
    [{"S1": ["20-30"], "S2": ["25"]}, {"S1": [">35"], "N": ["40"]}, {"S2": ["<10"], "S3": ["0"]}],
)
def test_class_limits_rejects_single_value_inside_other_class(mapping):
    # a single value inside another class's range is a zero-width overlap, still an overlap
    with pytest.raises(ProfileError, match="overlap"):
        ClassLimits.from_mapping(mapping, where="factor_x")


def test_class_limits_allows_single_value_on_shared_end():
    ClassLimits.from_mapping({"S1": ["20-25"], "S2": ["25"]}, where="factor_x")


def test_class_limits_rejects_same_single_value_in_two_classes():
    with pytest.raises(ProfileError, match="overlap"):
        ClassLimits.from_mapping({"S1": ["25"], "S2": ["25"]}, where="factor_x")


def test_class_limits_rejects_unknown_class_and_bad_cells_together():
    with pytest.raises(ProfileError) as exc:
        ClassLimits.from_mapping({"S4": ["1-2"], "S1": ["20-Oct"]}, where="factor_x")
    probs = exc.value.problems
    assert len(probs) == 2
    assert "factor_x.S4" in probs[0] and "unknown class" in probs[0]
    assert "factor_x.S1" in probs[1] and "20-Oct" in probs[1]


def test_class_limits_rejects_empty():
    with pytest.raises(ProfileError):
        ClassLimits.from_mapping({}, where="f")


def test_read_lumens_table_reports_corrupted_cell():
    with pytest.raises(ProfileError) as exc:
        read_lumens_table(CACAO_CSV)
    msg = str(exc.value)
    assert str(CACAO_CSV) in msg
    assert f"{CACAO_CSV}:55:" in msg
    assert "soil_k2o" in msg and "'20-Oct'" in msg
    assert len(exc.value.problems) == 1


def test_read_lumens_table_drop_invalid():
    params, dropped = read_lumens_table(CACAO_CSV, drop_invalid=True)
    assert "soil_k2o" not in params
    assert len(dropped) == 1 and "soil_k2o" in dropped[0] and ":55:" in dropped[0]
    t = params["clim_temperature_avg"]
    assert t["units"] == "°C"
    assert t["limits"]["S1"] == ["25-28"]
    assert t["limits"]["S2"] == ["20-25", "28-32"]
    assert t["limits"]["N"] == ["20<", ">35"]
    assert params["clim_dry_months"]["limits"]["S1"] == ["1-2"]
    # every kept range parses
    for p in params.values():
        for cells in p["limits"].values():
            for c in cells:
                parse_range(c)


def test_read_lumens_table_bad_class(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("name_common,name_sp,class,name_parameter,value,unit\n"
                 "x,y,S1,temp,25-28,C\nx,y,S5,temp,20-25,C\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"t\.csv:3: class 'S5'"):
        read_lumens_table(f)


def test_load_profile_cocoa():
    p = load_profile(COCOA_YAML)
    assert p.product == "cocoa"
    assert set(p.limit_sets) >= {"lumens", "ecocrop"}
    lim = p.class_limits("lumens", "dry_months")
    assert lim.as_table() == {"S1": ["1-2"], "S2": ["2-3", "1<"], "S3": ["3-4"], "N": [">4"]}
    assert p.trapezoid("ecocrop", "temperature") == (10, 21, 32, 38)
    assert p.factors["cec"].units == "cmol(c)/kg"


def test_load_profile_bad_cell_names_factor(tmp_path):
    text = COCOA_YAML.read_text(encoding="utf-8")
    old = 'soil_depth: {S1: [">100"], S2: ["75-100"]'
    assert old in text
    bad = tmp_path / "cocoa.yaml"
    bad.write_text(text.replace(old, 'soil_depth: {S1: [">100"], S2: ["75-Oct"]'),
                   encoding="utf-8")
    with pytest.raises(ProfileError) as exc:
        load_profile(bad)
    msg = str(exc.value)
    assert "limit_sets.lumens.limits.soil_depth" in msg
    assert "75-Oct" in msg
    assert str(bad) in msg
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if "75-Oct" in ln)
    assert f"{bad}:{line}:" in msg


def test_load_profile_bad_trapezoid_and_unit(tmp_path):
    text = COCOA_YAML.read_text(encoding="utf-8")
    old = "units: cmol(c)/kg"
    assert old in text
    bad = tmp_path / "cocoa.yaml"
    bad.write_text(text.replace(old, "units: furlongs"), encoding="utf-8")
    with pytest.raises(ProfileError, match="furlongs"):
        load_profile(bad)
