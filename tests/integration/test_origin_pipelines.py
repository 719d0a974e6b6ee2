"""The origin analysis on shipped data, end to end: Bungo's plantation zone as the origin of
cocoa, and the GBIF records of Bradypus variegatus in South America (no product)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bungo_origin(shipped):
    return shipped("bungo-cocoa-origin")


@pytest.fixture(scope="module")
def bradypus(shipped):
    return shipped("bradypus-origin")


def _read(folder, name):
    with rasterio.open(folder / name) as ds:
        return ds.read(1), ds.tags(1), ds.nodata


def test_bradypus_records_cells_duplicates_and_edges(bradypus):
    ref = bradypus.manifest["origin"]["reference"]
    assert ref["records"] == 116 and ref["cells"] == 94 and ref["duplicates"] == 22
    assert ref["on_cell_edge"] == 12 and ref["rows"] == 94
    assert ref["outside_grid"] == [] and ref["outside_aoi"] == [] and ref["on_nodata"] == []
    assert any("22 of 116 records share a grid cell" in w for w in bradypus.warnings)


def test_bradypus_spatial_cv_is_below_the_random_split(bradypus):
    m = bradypus.manifest["origin"]["model"]
    assert m["presences"] == 94 and m["background"] > 9000
    cv = m["cv"]
    assert cv["variogram_range"] > cv["block_size"] > 0  # halved until the folds hold presences
    assert cv["assignment"]["n_blocks_with_presence"] >= 10
    assert all(n > 0 for n in cv["assignment"]["test_presence"])
    for alg in ("maxent", "random_forest"):
        d = m["algorithms"][alg]
        spatial, random = d["cv"]["mean"]["auc"], d["random_split_cv"]["mean"]["auc"]
        assert 0.75 < spatial < random < 0.95, (alg, spatial, random)
        assert len(d["cv"]["folds"]) == 5
        assert set(d["importance"]) == set(bradypus.manifest["origin"]["variables"])


def test_bradypus_layers_and_tables_agree(bradypus):
    out = bradypus.output_dir
    mess, tags, _ = _read(out, "mess.tif")
    similar, stags, nodata = _read(out, "similar.tif")
    assert stags["CLASS_1"] == "similar" and "mess >= 0" in stags["CUT"]
    land = similar != nodata
    # the cut is the MESS layer's: similar exactly where MESS >= 0
    assert np.array_equal(similar[land & np.isfinite(mess)] == 1,
                          mess[land & np.isfinite(mess)] >= 0)
    for name in ("similarity_bioclim.tif", "similarity_gower.tif", "similarity_mahalanobis.tif",
                 "model_maxent.tif", "model_random_forest.tif"):
        v, _, _ = _read(out, name)
        v = v[np.isfinite(v)]
        assert v.size > 9000 and v.min() >= 0 and v.max() <= 1, name
    var, vtags, _ = _read(out, "mess_variable.tif")
    assert vtags["VARIABLE_1"] == "bio1" and set(np.unique(var)) <= set(range(0, 8)) | {255}
    aoi = bradypus.aoi_summary.iloc[0]
    assert "S1_ha" not in aoi.index  # no requirement classes without a product
    total = aoi["origin_similar_ha"] + aoi["origin_not_similar_ha"] + aoi["origin_nodata_ha"]
    assert total == pytest.approx(aoi["area_ha"], rel=1e-9)
    countries = bradypus.zone_stats["countries"].set_index("zone_name")
    assert countries.loc["Brazil", "origin_similar_share"] > 0.5
    assert countries.loc["Chile", "origin_similar_share"] < 0.1
    assert not (out / "classes.tif").exists() and (out / "report.html").is_file()
    ref = pd.read_csv(out / "origin_reference.csv")
    assert len(ref) == 94 and ref["cv_fold"].between(0, 4).all()


def test_bungo_agreement_follows_classes_and_mess(bungo_origin):
    out = bungo_origin.output_dir
    agree, tags, _ = _read(out, "agreement.tif")
    classes, _, _ = _read(out, "classes.tif")
    mess, _, _ = _read(out, "mess.tif")
    assert tags["CLASS_1"] == "both" and tags["CUT"] == "mess >= 0"
    ok = np.isfinite(mess) & (classes <= 5)
    suitable = np.isin(classes, (1, 2))
    expect = np.where(suitable, np.where(mess >= 0, 1, 2), np.where(mess >= 0, 3, 4))
    assert np.array_equal(agree[ok], expect[ok])
    assert (agree[classes == 253] == 253).all() and (agree[classes == 255] == 255).all()
    a = bungo_origin.aoi_summary.iloc[0]
    parts = sum(a[f"agreement_{k}_ha"] for k in ("both", "requirements_only", "similarity_only",
                                                  "neither", "excluded", "nodata"))
    assert parts == pytest.approx(a["area_ha"], rel=1e-9)
    zones = bungo_origin.zone_stats["planning_units"].set_index("zone_name")
    # the origin resembles itself: most of the plantation zone is similar
    plantation = zones.loc["Plantation"]
    similar = plantation["agreement_both_ha"] + plantation["agreement_similarity_only_ha"]
    assert similar / plantation["area_ha"] > 0.95


def test_bungo_fingerprint_and_reference(bungo_origin):
    o = bungo_origin.manifest["origin"]
    ref = o["reference"]
    assert ref["kind"] == "area" and ref["capped"] and ref["sampled"] == 10000
    assert ref["cells"] > 70000 and ref["rows"] + ref["on_nodata_cells"] == 10000
    fp = {r["variable"]: r for r in o["fingerprint"]}
    assert list(fp) == o["variables"]
    t = fp["temperature"]
    assert t["origin_p5"] <= t["origin_p50"] <= t["origin_p95"]
    # the plantation zone is lowland: its elevations sit below the regency's upper tail
    assert fp["elevation"]["origin_p95"] < fp["elevation"]["aoi_p95"]
    table = pd.read_csv(bungo_origin.output_dir / "origin_fingerprint.csv")
    assert table["variable"].tolist() == o["variables"]
    assert table.loc[0, "origin_p50"] == pytest.approx(t["origin_p50"])
    assert o["agreement"]["threshold"] == 0.0 and o["agreement"]["layer"] == "mess"
    assert set(o["similarity"]) == {"bioclim", "mess", "gower", "exdet"}


def test_origin_outputs_have_styles_and_the_report_section(bungo_origin):
    out = bungo_origin.output_dir
    for name in ("similarity_bioclim", "similarity_gower", "mess", "mess_variable", "exdet_nt1",
                 "exdet_nt2", "agreement"):
        assert (out / f"{name}.qml").is_file(), name
    assert "mess_variable" in (out / "mess_variable.tif.aux.xml").read_text() or \
        "temperature" in (out / "mess_variable.tif.aux.xml").read_text()
    html = (out / "report.html").read_text(encoding="utf-8")
    for text in ("Origin environment", "Environmental fingerprint", "Requirements against origin "
                 "similarity", "mess &gt;= 0"):
        assert text in html, text
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"origin_reference.csv", "origin_background.csv", "origin.gpkg",
            "agreement.png", "origin_maps.png", "origin_fingerprint.png"} <= {
        f["path"] for f in manifest["outputs"]}
