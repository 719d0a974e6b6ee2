"""End to end: the Bungo cocoa pipeline on the shipped data, checked against real numbers."""

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from gies.methods.schemes import NODATA, OUTSIDE

BUNGO = "data/sample/bungo/"


def test_outputs_exist_and_are_cogs(bungo):
    out = bungo.output_dir
    for name in ("suitability.tif", "classes.tif", "limiting_factor.tif",
                 "aoi_summary.csv", "zones.gpkg", "zone_stats_planning_units.csv", "zone_stats.xlsx",
                 "zone_class_areas_planning_units.csv", "factor_class_areas_planning_units.csv", "map.png", "manifest.json",
                 "score_temperature.tif", "score_rainfall.tif"):
        assert (out / name).is_file(), name
    with rasterio.open(out / "classes.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == OUTSIDE
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.colormap(1)[1][:3] == (0x1A, 0x96, 0x41)
        assert ds.crs.to_epsg() == 32748
    with rasterio.open(out / "suitability.tif") as ds:
        s = ds.read(1)
        v = s[~np.isnan(s)]
        assert v.size > 400_000 and v.min() >= 0 and v.max() <= 1


def test_class_areas_add_up_to_zone_area(bungo):
    z = bungo.zone_stats["planning_units"]
    parts = z[["S1_ha", "S2_ha", "S3_ha", "N_ha", "excluded_ha", "nodata_ha", "outside_ha"]].sum(axis=1)
    np.testing.assert_allclose(parts, z["area_ha"], rtol=1e-9)
    assert len(z) == 8 and not z["empty"].any()


def test_zone_areas_match_equal_area_polygons(bungo, repo):
    zones = gpd.read_file(repo / BUNGO / "vector/planning_unit_bungo.shp")
    # a local Lambert azimuthal equal-area projection centred on the regency
    laea = "+proj=laea +lat_0=-1.6 +lon_0=102.1 +datum=WGS84 +units=m"
    true_ha = zones.to_crs(laea).area.to_numpy() / 1e4
    got = bungo.zone_stats["planning_units"].set_index("zone_id").loc[zones["IDS"], "area_ha"].to_numpy()
    np.testing.assert_allclose(got, true_ha, rtol=0.005)
    assert abs(got.sum() / true_ha.sum() - 1) < 0.001
    assert bungo.aoi_summary["area_ha"].iloc[0] == pytest.approx(true_ha.sum(), rel=0.001)


def _lumens_class(f, v):
    """The cocoa LUMENS table written out by hand, with on_limit = worse (ties -> worse)."""
    if f == "temperature":
        return 1 if 25 < v < 28 else 2 if 20 < v <= 25 or 28 <= v < 32 else 3 if 32 <= v < 35 else 4
    if f == "rainfall":
        return (1 if 1500 < v < 2500 else 2 if 2500 <= v < 3000 else
                3 if 1250 < v <= 1500 or 3000 <= v < 4000 else 4)
    if f == "dry_months":
        return 1 if 1 < v < 2 else 2 if 2 <= v < 3 or v <= 1 else 3 if 3 <= v < 4 else 4
    if f == "humidity":
        return (1 if 40 < v < 65 else 2 if 65 <= v < 75 or 35 < v <= 40 else
                3 if 75 <= v < 85 or 30 < v <= 35 else 4)
    if f == "slope":
        return 1 if v < 8 else 2 if v < 15 else 3 if v < 30 else 4
    if f == "soil_depth":
        return 1 if v > 100 else 2 if v > 75 else 3 if v > 50 else 4
    if f == "base_saturation":
        return 1 if v > 35 else 2 if v > 20 else 3
    raise KeyError(f)


FILES = {"temperature": "climate/clim_temperature_avg.tif", "rainfall": "climate/clim_precipitation_tot.tif",
         "dry_months": "climate/clim_dry_months.tif", "humidity": "climate/clim_humidity.tif",
         "slope": "terrain/bungo_slope.tif", "soil_depth": "soil/bungo_soil_depth.tif",
         "base_saturation": "soil/bungo_BSAT.tif"}


def test_hand_classified_pixels(bungo, repo):
    values = {f: rasterio.open(repo / BUNGO / p).read(1) for f, p in FILES.items()}
    with rasterio.open(bungo.output_dir / "classes.tif") as ds:
        classes = ds.read(1)
    # the five SoilGrids-chemistry factors are dropped by the quality check (73 % implausible)
    assert set(bungo.manifest["factors_used"]) == set(FILES)
    valid = np.all([~np.isnan(v) for v in values.values()], axis=0)
    rows, cols = np.nonzero(valid)
    pick = np.random.default_rng(42).choice(rows.size, 300, replace=False)
    checked = 0
    for i in pick:
        r, c = rows[i], cols[i]
        if classes[r, c] == 253:  # protected areas are excluded (tested below)
            continue
        expected = max(_lumens_class(f, float(values[f][r, c])) for f in FILES)
        got = 4 if classes[r, c] == 5 else classes[r, c]  # N is split into N1 (4) / N2 (5)
        assert got == expected, (r, c, {f: float(values[f][r, c]) for f in FILES})
        checked += 1
    assert checked > 250
    # a cell with data in only some layers is "no data", not "outside AOI"
    partial = ~valid & np.any([~np.isnan(v) for v in values.values()], axis=0)
    partial &= classes != 253  # excluded land stays excluded, data or not
    assert partial.any() and np.all(classes[partial] == NODATA)


def test_soil_unit_correction_counts(bungo):
    q = bungo.quality["ph"]
    assert q["valid"] == 458_753
    assert (q["reading_1"], q["reading_2"], q["no_reading"]) == (76_222, 46_328, 336_203)
    assert q["action"].startswith("dropped")
    assert any("layers.ph" in w for w in bungo.warnings)


def test_manifest_records_inputs_and_limits(bungo):
    m = json.loads((bungo.output_dir / "manifest.json").read_text())
    assert m["product"]["limit_set"] == "lumens"
    assert m["product"]["limits_used"]["dry_months"]["S1"] == ["1-2"]
    # how each class-limit factor's table was read, as resolved from the scoring section
    assert m["product"]["limit_reading"] == dict.fromkeys(
        FILES, {"on_limit": "worse", "bare_number": "value", "signs": "shared"})
    paths = [i["path"] for i in m["inputs"]]
    assert any(p.endswith("clim_temperature_avg.tif") for p in paths)
    assert all(len(i["sha256"]) == 64 and i["bytes"] > 0 for i in m["inputs"])
    assert {"plan", "harmonise", "compute+write rasters, zone sums", "total"} <= set(m["timings_s"])


def test_boundary_rule_better_never_worse(bungo, run_pipeline):
    better = run_pipeline("bungo-cocoa.yaml", scoring={"on_limit": "better"})
    with rasterio.open(bungo.output_dir / "classes.tif") as a, \
         rasterio.open(better.output_dir / "classes.tif") as b:
        cw, cb = a.read(1), b.read(1)
    scored = cw <= 4
    assert np.all(cb[scored] <= cw[scored])          # "better" is never less suitable
    assert (cb[scored] < cw[scored]).sum() > 1_000    # and decides over a thousand cells
    assert better.aoi_summary["suitable_ha"].iloc[0] > bungo.aoi_summary["suitable_ha"].iloc[0]


def test_protected_areas_excluded_and_potential_classes(bungo):
    a = bungo.aoi_summary.iloc[0]
    z = bungo.zone_stats["planning_units"].set_index("zone_name")
    # the national park and the protected forest are (almost) entirely excluded
    for name in ("Kerinci Seblat National Park", "Protected Forest"):
        assert z.loc[name, "excluded_ha"] / z.loc[name, "area_ha"] > 0.97
    assert z.loc["Agricultural Drylands", "excluded_ha"] < 0.01 * z.loc["Agricultural Drylands", "area_ha"]
    assert a["excluded_ha"] == pytest.approx(z["excluded_ha"].sum(), rel=1e-6)
    # potential (medium input) is never worse than actual, class by class cumulatively
    for cum in (["S1"], ["S1", "S2"], ["S1", "S2", "S3"]):
        actual = sum(a[f"{c}_ha"] for c in cum)
        potential = sum(a[f"potential_{c}_ha"] for c in cum)
        assert potential >= actual - 1e-6
    # N2 (permanently not suitable) is the potential N, and part of the actual N
    assert a["N2_ha"] == pytest.approx(a["potential_N_ha"], rel=1e-6)
    assert 0 < a["N2_ha"] <= a["N_ha"]
    with rasterio.open(bungo.output_dir / "classes_potential.tif") as p, \
         rasterio.open(bungo.output_dir / "classes.tif") as c:
        pot, act = p.read(1), c.read(1)
    scored = (act >= 1) & (act <= 5)
    act4 = np.where(act == 5, 4, act)
    assert np.all(pot[scored] <= act4[scored])
    assert np.all((act == 5) == ((act4 == 4) & (pot == 4)))


def test_subclasses_name_the_limiting_groups(bungo):
    import json

    m = json.loads((bungo.output_dir / "manifest.json").read_text())
    table = {int(k): v for k, v in m["subclass_codes"].items()}
    with rasterio.open(bungo.output_dir / "subclasses.tif") as s, \
         rasterio.open(bungo.output_dir / "limiting_factor.tif") as lf:
        sub, lim = s.read(1), lf.read(1)
    codes, counts = np.unique(sub[(sub > 0) & (sub < 250)], return_counts=True)
    names = {table[int(c)]: int(n) for c, n in zip(codes, counts)}
    # rainfall/dry months/humidity are climate (c), slope terrain (t), depth soil (s)
    assert any(k.startswith("S2") and "c" in k for k in names)
    assert any(k.startswith("N") and "t" in k for k in names)
    factor_codes = {int(k): v for k, v in m["factor_codes"].items()}
    slope_code = next(k for k, v in factor_codes.items() if v == "slope")
    # wherever slope alone limits an N pixel, the subclass carries the terrain letter
    n_slope = (lim == slope_code) & np.isin(sub, [k for k, v in table.items() if v.startswith("N")])
    assert n_slope.any()
    assert all("t" in table[int(v)] for v in np.unique(sub[n_slope]))


def test_nodata_tag_on_a_common_value_stops_the_run(bungo, run_pipeline, tmp_path):
    # 0 is a real count of dry months on most of the regency; tagged as nodata it blanks 81 %
    import gies
    from gies.errors import DataError

    p = gies.load_pipeline("pipelines/bungo-cocoa.yaml").replace(
        layers={"dry_months": {"nodata": 0}})
    with pytest.raises(DataError) as e:
        gies.run(p, output_root=tmp_path)
    text = str(e.value)
    assert text.startswith("layers.dry_months: no data on 81.2% of the AOI (377,205 of 464,540 cells")
    assert "quality.nodata_above = 0.5" in text and "nodata value is 0 (81% of" in text
    assert not (tmp_path / "bungo-cocoa").exists()
    # raised above it, the run warns, and the manifest records every scored layer's share
    r = run_pipeline("bungo-cocoa.yaml", layers={"dry_months": {"nodata": 0}},
                     quality={"nodata_above": 0.9})
    warned = [m for m in r.warnings if "no data on" in m]
    assert len(warned) == 1 and warned[0].startswith("layers.dry_months: no data on 81.2%")
    assert "median of" in warned[0]
    shares = r.manifest["quality"]["nodata_in_aoi"]
    assert shares["dry_months"]["nodata_share"] == pytest.approx(0.812, abs=5e-4)
    assert shares["dry_months"]["file_nodata"] == 0


def test_shipped_bungo_records_nodata_shares_without_warning(bungo):
    m = json.loads((bungo.output_dir / "manifest.json").read_text())
    shares = m["quality"]["nodata_in_aoi"]
    assert set(shares) >= {"temperature", "dry_months", "slope", "humidity"}
    assert "organic_carbon" not in shares  # dropped by the quality checks: not scored
    assert shares["dry_months"]["nodata_share"] < 0.05
    assert not [w for w in m["warnings"] if "no data on" in w]


def test_limiting_areas_add_up_to_the_class_table(bungo):
    # the "area limited by each factor" table comes from the coverage-weighted zone sums, as
    # the class table does; excluded land is its own row, not land a factor limits
    import pandas as pd

    t = pd.read_csv(bungo.output_dir / "aoi_class_areas.csv")
    lim = t[t["kind"] == "limiting"].set_index("class")["hectares"]
    a = bungo.aoi_summary.iloc[0]
    assert lim.sum() == pytest.approx(a["area_ha"], rel=1e-9)
    assert lim["excluded"] == pytest.approx(a["excluded_ha"], rel=1e-9)
    assert lim["no data"] == pytest.approx(a["nodata_ha"], rel=1e-9)
    assert lim["excluded"] > 50_000 and lim["rainfall"] == pytest.approx(312_330, rel=1e-4)
    html = (bungo.output_dir / "report.html").read_text(encoding="utf-8")
    section = html[html.index("Area limited by each factor"):html.index("<h2>", html.index("Area limited by each factor"))]
    assert "excluded" in section and "53,672" in section
    # every zone's limiting rows add up to its area too
    z = pd.read_csv(bungo.output_dir / "zone_class_areas_planning_units.csv")
    zl = z[z["kind"] == "limiting"].groupby("zone_id")["hectares"].sum()
    area = bungo.zone_stats["planning_units"].set_index("zone_id")["area_ha"]
    np.testing.assert_allclose(zl.loc[area.index], area, rtol=1e-9)
