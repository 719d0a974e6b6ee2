"""End to end: the Senegal sorghum pipeline classified with the GAEZ scheme."""

import json

import numpy as np
import pandas as pd
import pytest
import rasterio

from gies.methods.schemes import SCHEMES

GAEZ = SCHEMES["gaez"]
NAMES = ["VS", "S", "MS", "mS", "VmS", "NS"]
COLUMNS = ["VS", "S", "MS", "mgS", "VmS", "NS"]  # field names ignore case in a GeoPackage


@pytest.fixture(scope="module")
def gaez(run_pipeline):
    return run_pipeline("senegal-sorghum.yaml", classify={"scheme": "gaez"},
                        zonal={"suitable": ["VS", "S"]})


def test_classes_are_the_gaez_classes_of_the_score(gaez, shipped):
    with rasterio.open(gaez.output_dir / "suitability.tif") as ds:
        score = ds.read(1)
    with rasterio.open(gaez.output_dir / "classes.tif") as ds:
        classes = ds.read(1)
        tags, desc = ds.tags(1), ds.descriptions[0]
        colours = ds.colormap(1)
    with rasterio.open(shipped("senegal-sorghum").output_dir / "suitability.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), score)  # the scheme changes no score
    scored = ~np.isnan(score)
    expected = np.where(score >= 0.8, 1, np.where(score >= 0.6, 2, np.where(
        score >= 0.4, 3, np.where(score >= 0.2, 4, np.where(score > 0, 5, 6)))))
    np.testing.assert_array_equal(classes[scored], expected[scored])
    assert set(np.unique(classes[~scored])) == {254}
    assert len(np.unique(classes[scored])) >= 3  # the tile spans several classes
    assert [tags[f"CLASS_{i}"] for i in range(1, 7)] == NAMES
    assert desc.startswith("suitability class (1 VS, 2 S, 3 MS, 4 mS, 5 VmS, 6 NS, 253 excluded")
    assert colours[1][:3] == (0x00, 0x68, 0x37)


def test_zone_tables_have_the_gaez_columns(gaez):
    a = gaez.aoi_summary.iloc[0]
    assert "S1_ha" not in a.index and "N2_ha" not in a.index
    classes = sum(a[f"{n}_ha"] for n in COLUMNS)
    assert classes + a["excluded_ha"] + a["nodata_ha"] + a["outside_ha"] == pytest.approx(a["area_ha"])
    assert a["assessed_ha"] == pytest.approx(classes)
    assert a["suitable_ha"] == pytest.approx(a["VS_ha"] + a["S_ha"])
    shares = {n: a[f"{k}_ha"] / a["area_ha"] for n, k in zip(NAMES[:4], COLUMNS[:4])}
    # the index from the 1000-bin score histogram and from the written classes agree
    si = 100 * (0.9 * shares["VS"] + 0.7 * shares["S"] + 0.5 * shares["MS"] + 0.3 * shares["mS"])
    assert a["gaez_si"] == pytest.approx(si, abs=0.05)
    import pyogrio

    layer = pyogrio.list_layers(gaez.output_dir / "zones.gpkg")[0][0]
    fields = pyogrio.read_info(gaez.output_dir / "zones.gpkg", layer=layer)["fields"]
    assert {f"{k}_ha" for k in COLUMNS} <= set(fields)
    tidy = pd.read_csv(gaez.output_dir / "aoi_class_areas.csv")
    cls = tidy[tidy["kind"] == "actual"]
    assert list(cls["class"]) == NAMES + ["excluded", "no data", "outside AOI"]
    lim = tidy[tidy["kind"] == "limiting"]
    assert list(lim["class"]) == ["none", "temperature", "rainfall", "ph", "excluded", "no data"]
    assert lim["hectares"].sum() == pytest.approx(cls["hectares"].sum(), rel=1e-9)
    ftidy = pd.read_csv(gaez.output_dir / "aoi_factor_class_areas.csv")
    assert list(ftidy["class"].unique()) == NAMES + ["nodata"]
    for _, per in ftidy.groupby("factor"):
        assert per["hectares"].sum() <= a["area_ha"] + 1e-6


def test_manifest_and_report_name_the_scheme(gaez):
    m = json.loads((gaez.output_dir / "manifest.json").read_text())
    assert m["class_scheme"]["name"] == "gaez"
    assert {k: m["class_scheme"][k] for k in GAEZ.bounds} == GAEZ.bounds
    assert m["class_codes"]["5"] == "VmS" and m["class_codes"]["254"] == "no data"
    html = (gaez.output_dir / "report.html").read_text(encoding="utf-8")
    # the pipeline's report is in French
    assert "VS très apte" in html and "Superficie apte (VS + S)" in html
    assert "VS ≥ 0.8, S ≥ 0.6, MS ≥ 0.4, mS ≥ 0.2, VmS ≥ 0.0" in html
    qml = (gaez.output_dir / "classes.qml").read_text(encoding="utf-8")
    assert "VmS très marginalement apte" in qml
    assert "VS" in repr(gaez) and "S1" not in repr(gaez)
