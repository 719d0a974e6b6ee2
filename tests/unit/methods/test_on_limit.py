"""Where a value on a class limit goes: the four on_limit rules on the LUMENS cacao table,
written strictness (>=, <=, strict > and <), bare numbers as upper bounds, and LaSEM's own
reading of its tables (terra::classify with right-closed intervals)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest

from gies.config.tables import read_lumens_table
from gies.errors import ProfileError
from gies.methods.class_limits import (
    CLASSES,
    ClassLimits,
    class_interpolated_scores,
    class_limits_classes,
    parse_range,
)
from gies.testing import make_layer

ROOT = Path(__file__).resolve().parents[3]
CACAO_CSV = ROOT / "data/sample/tables/land_suitability_parameters_cacao.csv"
RULES = ("worse", "better", "right_closed", "left_closed")

# Every limit of every numeric factor of the LUMENS cacao table, classed by hand: the class
# under worse, better, right_closed ((a, b]: the range that ends at the value on the number
# line) and left_closed ([a, b): the range that starts there). soil_k2o is not here: its
# S3 cell "20-Oct" is corrupted and the factor is dropped.
CACAO_AT_LIMITS = {
    "clim_dry_months": {1: "S2 S1 S2 S1", 2: "S2 S1 S1 S2", 3: "S3 S2 S2 S3", 4: "N S3 S3 N"},
    "clim_humidity": {30: "N S3 N S3", 35: "S3 S2 S3 S2", 40: "S2 S1 S2 S1",
                      65: "S2 S1 S1 S2", 75: "S3 S2 S2 S3", 85: "N S3 S3 N"},
    "clim_precipitation_tot": {1250: "N S3 N S3", 1500: "S3 S1 S3 S1", 2500: "S2 S1 S1 S2",
                               3000: "S3 S2 S2 S3", 4000: "N S3 S3 N"},
    "clim_temperature_avg": {20: "N S2 N S2", 25: "S2 S1 S2 S1", 28: "S2 S1 S1 S2",
                             32: "S3 S2 S2 S3", 35: "N S3 S3 N"},
    "soil_base_saturation": {20: "S3 S2 S3 S2", 35: "S2 S1 S2 S1"},
    "soil_cec": {5: "S3 S2 S3 S2", 16: "S2 S1 S2 S1"},
    "soil_coarse_fragments": {15: "S2 S1 S1 S2", 35: "S3 S2 S2 S3", 55: "N S3 S3 N"},
    "soil_depth": {50: "N S3 N S3", 75: "S3 S2 S3 S2", 100: "S2 S1 S2 S1"},
    "soil_erosion_risk": {0.15: "S2 S1 S1 S2", 0.9: "S2 S2 S2 S2", 1.8: "S3 S2 S2 S3",
                          4.8: "N S3 S3 N"},
    # S3 "25" is the single value 25 (bare_number: value): it and N ">25" both hold 25;
    # right_closed takes the range lying at 25 (S3), left_closed has two ranges starting
    # at 25 and falls back to the less suitable class
    "soil_flood_height": {25: "N S3 S3 N"},
    "soil_flood_length": {7: "N S3 S3 N"},
    "soil_nitrogen": {0.1: "S3 S2 S3 S2", 0.2: "S2 S1 S2 S1"},
    "soil_organic_c": {0.8: "S3 S2 S3 S2", 1.2: "S2 S1 S2 S1"},
    "soil_outcrop": {5: "S2 S1 S1 S2", 15: "S3 S2 S2 S3", 25: "N S3 S3 N"},
    "soil_p2o5": {15: "S3 S2 S3 S2", 20: "S2 S1 S2 S1"},
    "soil_peat_depth": {100: "S2 S1 S1 S2", 200: "S3 S2 S2 S3", 300: "N S3 S3 N"},
    "soil_ph": {5.5: "S3 S2 S3 S2", 6.0: "S2 S1 S2 S1", 7.0: "S2 S1 S1 S2", 7.6: "S3 S2 S2 S3"},
    "soil_salinity": {1.1: "S2 S1 S1 S2", 1.8: "S3 S2 S2 S3", 2.2: "N S3 S3 N"},
    "soil_slope": {8: "S2 S1 S1 S2", 15: "S3 S2 S2 S3", 30: "N S3 S3 N"},
    "soil_sulfidic_depth": {60: "N S3 N S3", 100: "S3 S2 S3 S2", 125: "S2 S1 S2 S1"},
    "soil_surface_rocks": {5: "S2 S1 S1 S2", 15: "S3 S2 S2 S3", 40: "N S3 S3 N"},
}


@pytest.fixture(scope="module")
def cacao():
    params, dropped = read_lumens_table(CACAO_CSV, drop_invalid=True)
    assert len(dropped) == 1 and "soil_k2o" in dropped[0]
    return {name: p["limits"] for name, p in params.items()}


def _classes(values, limits, on_limit="worse", **kw):
    c, u = class_limits_classes(make_layer([list(values)]), limits=limits, on_limit=on_limit,
                                **kw)
    return [CLASSES[v - 1] if v else "-" for v in c.values[0]], u.values[0].tolist()


def test_every_numeric_factor_of_the_cacao_table_is_classed_at_every_limit(cacao):
    assert set(cacao) == set(CACAO_AT_LIMITS)
    for name, limits in cacao.items():
        ends = {e for iv, _ in ClassLimits.from_mapping(limits).intervals
                for e in (iv.lo, iv.hi) if math.isfinite(e)}
        assert ends == {float(v) for v in CACAO_AT_LIMITS[name]}, name


@pytest.mark.parametrize("rule_index, on_limit", list(enumerate(RULES)))
def test_cacao_table_at_every_limit(cacao, rule_index, on_limit):
    for name, at in CACAO_AT_LIMITS.items():
        values = list(at)
        expected = [classes.split()[rule_index] for classes in at.values()]
        got, unmatched = _classes(values, cacao[name], on_limit)
        assert got == expected, (name, on_limit)
        assert not any(unmatched), name  # every limit lies in a range


def test_cacao_table_just_off_every_limit_every_rule_agrees(cacao):
    # a hair off a limit there is no tie: the four rules class alike (float32 steps). The
    # flood height's bare "25" is read as an upper bound: as a single value, 24.99 would be
    # as far from it as from ">25", a tie again
    for name, at in CACAO_AT_LIMITS.items():
        xs = [float(np.nextafter(np.float32(v), np.float32(s * math.inf)))
              for v in at for s in (-1, 1)]
        got = {rule: _classes(xs, cacao[name], rule, bare_number="upper")[0] for rule in RULES}
        assert len({tuple(g) for g in got.values()}) == 1, name


def test_right_closed_on_the_shipped_bungo_dry_months_moves_only_cells_at_2_and_3(cacao):
    # the layer is in months, the table's units: no conversion between file and classes
    import rasterio

    with rasterio.open(ROOT / "data/sample/bungo/climate/clim_dry_months.tif") as src:
        x = src.read(1, masked=True).filled(np.nan).astype(np.float32)
    lyr = make_layer(x)
    worse = class_limits_classes(lyr, limits=cacao["clim_dry_months"], on_limit="worse")[0].values
    right = class_limits_classes(lyr, limits=cacao["clim_dry_months"],
                                 on_limit="right_closed")[0].values
    moved = worse != right
    assert moved.sum() == 5_745 + 49_738
    assert (moved & (x == 2)).sum() == 5_745 and (moved & (x == 3)).sum() == 49_738
    assert np.all(right[x == 2] == 1) and np.all(worse[x == 2] == 2)  # S2 -> S1
    assert np.all(right[x == 3] == 2) and np.all(worse[x == 3] == 3)  # S3 -> S2
    assert np.all(right[x == 1] == worse[x == 1])  # 1 month: "1<" ends there, S2 both


# -- LaSEM's reading of its own tables, as an independent oracle -----------------------------
def _lasem_rows(limits):
    """(lower, upper, class) as LaSEM's classify_suitability_predictors derives them from the
    value cells: '>a' -> (a, Inf), 'a-b' -> (a, b), 'a<' -> (-Inf, a), a bare 'n' -> (-Inf, n)."""
    rows = []
    for cls, cells in limits.items():
        for cell in cells:
            nums = re.findall(r"\d+\.?\d*", cell)
            if cell.startswith(">"):
                lower, upper = float(nums[-1]), math.inf
            elif re.search(r"\d+-\d+", cell):
                lower, upper = float(nums[0]), float(nums[-1])
            else:
                lower, upper = -math.inf, float(nums[-1])
            rows.append((lower, upper, cls))
    return rows


def _terra_classify_right(x, rows):
    """terra::classify(right = TRUE, include.lowest = TRUE): the first row with
    lower < x <= upper; x equal to the lowest lower bound goes to that row."""
    lowest = min(r[0] for r in rows)
    for lower, upper, cls in rows:
        if lower < x <= upper or (x == lower == lowest):
            return cls
    return None


def test_right_closed_with_bare_upper_bounds_reproduces_lasem_on_the_cacao_table(cacao):
    for name, limits in cacao.items():
        rows = _lasem_rows(limits)
        ends = sorted({e for lo, hi, _ in rows for e in (lo, hi) if math.isfinite(e)})
        # every limit, midpoints between limits, and values beyond the outer limits
        xs = sorted(set(ends) | {(a + b) / 2 for a, b in zip(ends, ends[1:])}
                    | {ends[0] - 1, ends[-1] + 1})
        xs = [float(np.float32(x)) for x in xs]
        rows32 = [(float(np.float32(lo)), float(np.float32(hi)), c) for lo, hi, c in rows]
        expected = [_terra_classify_right(x, rows32) for x in xs]
        got, _ = _classes(xs, limits, "right_closed", bare_number="upper")
        assert got == expected, name


def test_bare_number_as_upper_bound_on_the_flood_height_row(cacao):
    # S3 "25", N ">25": LaSEM reads "25" as 25 and below
    lim = cacao["soil_flood_height"]
    for rule in RULES:
        got, unmatched = _classes([0, 10, 25, 26], lim, rule, bare_number="upper")
        assert got == ["S3", "S3", "S3", "N"], rule  # "<= 25" is written: it holds 25
        assert not any(unmatched)
    # read as the single value 25, 10 cm is no range's and takes the nearer (equally near:
    # the less suitable under worse)
    got, unmatched = _classes([10, 25], lim, "worse")
    assert got == ["N", "N"] and unmatched == [True, False]


# -- written strictness ------------------------------------------------------------------------
DEPTH = {"S1": [">100"], "S2": ["75-100"], "S3": ["50-75"], "N": ["50<"]}


def test_strict_signs_exclude_the_limit_under_every_rule():
    # S1 ">100" strict: 100 is S2 under every rule; "50<" is LaSEM's "50 and below" and
    # never strict, so 50 still follows on_limit
    for rule, at_50 in zip(RULES, ["N", "S3", "N", "S3"]):
        got, _ = _classes([100, 100.5, 75, 50], DEPTH, rule, signs="strict")
        assert got[:2] == ["S2", "S1"], rule
        assert got[3] == at_50, rule
    assert _classes([100], DEPTH, "better")[0] == ["S1"]  # shared by default


def test_strict_prefix_less_than():
    lim = {"S1": ["<8"], "S2": ["8-15"]}
    assert _classes([8], lim, "better", signs="strict")[0] == ["S2"]
    assert _classes([8], lim, "better")[0] == ["S1"]


@pytest.mark.parametrize("rule", RULES)
def test_greater_equal_holds_its_limit_whatever_on_limit(rule):
    # ">=25" holds 25; "20-25" gives it up, so 25 is S1 even under worse / right_closed
    lim = {"S1": [">=25"], "S2": ["20-25"], "S3": ["20<"]}
    got, unmatched = _classes([25, 24.5, 20], lim, rule)
    assert got[:2] == ["S1", "S2"]
    assert got[2] == {"worse": "S3", "better": "S2", "right_closed": "S3",
                      "left_closed": "S2"}[rule]
    assert not any(unmatched)
    # and "<=20" holds 20 for S3 the same way
    lim = {"S1": [">=25"], "S2": ["20-25"], "S3": ["<=20"]}
    assert _classes([20, 25], lim, rule)[0] == ["S3", "S1"]


def test_greater_equal_beside_strict_greater_is_no_contradiction():
    lim = {"S1": [">=25"], "S2": ["<25"]}
    for rule in RULES:
        assert _classes([25, 24.9], lim, rule, signs="strict")[0] == ["S1", "S2"]


def test_both_strict_leave_the_limit_unmatched_and_the_rule_picks_a_side():
    lim = {"S1": ["<25"], "S2": [">25"]}
    for rule, cls in zip(RULES, ["S2", "S1", "S1", "S2"]):
        got, unmatched = _classes([25], lim, rule, signs="strict")
        assert got == [cls] and unmatched == [True], rule


def test_two_ranges_holding_one_limit_in_writing_are_rejected():
    with pytest.raises(ProfileError, match=r"both hold the limit 25 in writing"):
        ClassLimits.from_mapping({"S1": [">=25"], "S2": ["<=25"]}, where="temperature")
    with pytest.raises(ProfileError, match=r"temperature: ranges '>=25' \(S1\) and '25' \(S2\)"):
        ClassLimits.from_mapping({"S1": [">=25"], "S2": ["25"]}, where="temperature",
                                 bare_number="upper")


def test_parse_range_writes_what_each_end_says():
    assert parse_range(">=3").lo_closed is True and parse_range("≥3").lo_closed is True
    assert parse_range("<=3").hi_closed is True and parse_range("≤3").hi_closed is True
    assert parse_range(">3").lo_closed is None and parse_range("<3").hi_closed is None
    assert parse_range(">3", signs="strict").lo_closed is False
    assert parse_range("<3", signs="strict").hi_closed is False
    assert parse_range("3<", signs="strict").hi_closed is None
    iv = parse_range(2500, bare_number="upper")
    assert (iv.lo, iv.hi, iv.hi_closed) == (-math.inf, 2500.0, True)
    iv = parse_range("2500")
    assert (iv.lo, iv.hi, iv.lo_closed, iv.hi_closed) == (2500.0, 2500.0, None, None)
    for bad, key in [({"bare_number": "lower"}, "bare_number"), ({"signs": "loose"}, "signs")]:
        with pytest.raises(ValueError, match=key):
            parse_range("3", **bad)


# -- tiny arrays: the rules themselves ---------------------------------------------------------
DRY = {"S1": ["1-2"], "S2": ["2-3", "1<"], "S3": ["3-4"], "N": [">4"]}
GAP = {"S1": [">40"], "S2": ["21-40"], "S3": ["11-20"]}


def test_right_and_left_closed_on_a_row_of_dry_months_with_dask():
    vals = [[0.0, 1.0, 1.5, 2.0], [2.5, 3.0, 3.5, 4.0], [5.0, float("nan"), 0.5, 3.2]]
    expected = {"right_closed": [[2, 2, 1, 1], [2, 2, 3, 3], [4, 0, 2, 3]],
                "left_closed": [[2, 1, 1, 2], [2, 3, 3, 4], [4, 0, 2, 3]]}
    for rule, exp in expected.items():
        cn, un = class_limits_classes(make_layer(vals), limits=DRY, on_limit=rule)
        cd, ud = class_limits_classes(make_layer(vals, chunks=2), limits=DRY, on_limit=rule)
        assert isinstance(cd.data, dsa.Array)
        assert cn.values.tolist() == exp and cd.values.tolist() == exp
        assert not un.values.any() and not ud.values.any()


def test_outer_ends_stay_inside_under_closed_rules():
    # "0-8" starts at 0 and no range shares 0: slope 0 is S1 and not unmatched (terra's
    # include.lowest); likewise the top end 30 of "15-30"
    lim = {"S1": ["0-8"], "S2": ["8-15"], "S3": ["15-30"]}
    for rule in ("right_closed", "left_closed"):
        got, unmatched = _classes([0, 30], lim, rule)
        assert got == ["S1", "S3"] and unmatched == [False, False]


def test_gap_midpoint_goes_below_under_right_closed_and_above_under_left_closed():
    # 20.5 is 0.5 from 11-20 (S3, below) and 21-40 (S2, above)
    assert _classes([20.5, 20.2, 5.0], GAP, "right_closed") == (["S3", "S3", "S3"], [True] * 3)
    assert _classes([20.5, 20.8, 41.0], GAP, "left_closed") == (["S2", "S2", "S1"],
                                                                [True, True, False])


def test_unknown_on_limit_names_the_choices():
    with pytest.raises(ValueError, match="on_limit must be one of worse, better, right_closed, "
                                         "left_closed; got 'middle'"):
        class_limits_classes(make_layer([[1.0]]), limits=DRY, on_limit="middle")


def test_interpolated_scores_follow_the_class_of_the_rule():
    # right_closed: soil depth 100 is the top edge of S2 75-100 (just below 0.8), 75 the top
    # edge of S3 50-75 (just below 0.6); left_closed: 100 is S1 ">100" (an open range: its
    # step 1.0), 75 the bottom edge of S2 75-100 (0.6, the bottom of the S2 band)
    below = [float(np.nextafter(np.float32(v), np.float32(0))) for v in (0.8, 0.6)]
    lyr = make_layer([[100.0, 75.0]])
    s = class_interpolated_scores(lyr, limits=DEPTH, on_limit="right_closed")
    assert s.values[0].tolist() == below
    s = class_interpolated_scores(lyr, limits=DEPTH, on_limit="left_closed")
    assert s.values[0].tolist() == [1.0, float(np.float32(0.6))]
