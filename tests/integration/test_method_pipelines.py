"""The method switches of the shipped pipelines: AHP-weighted groups, the Ecocrop seasonal
model, and a derived equal-area grid with a slope derived from a DEM."""

import json

import numpy as np
import pytest
import rasterio
from pyproj import CRS

from gies.methods.schemes import SCHEMES


def test_ahp_grouped_pipeline(run_pipeline):
    r = run_pipeline("bungo-cocoa-ahp.yaml")
    m = json.loads((r.output_dir / "manifest.json").read_text())
    ahp = m["combination"]["ahp"]
    # Saaty's classic 3x3 example: weights 0.637 / 0.258 / 0.105, CR 0.033
    assert ahp["weights"]["climate"] == pytest.approx(0.6370, abs=5e-4)
    assert ahp["weights"]["soil"] == pytest.approx(0.2583, abs=5e-4)
    assert ahp["weights"]["terrain"] == pytest.approx(0.1047, abs=5e-4)
    assert ahp["cr"] == pytest.approx(0.0332, abs=5e-4)
    # the limiting layer names groups, and its codes say so wherever they are named
    assert m["factor_codes"] == {"1": "climate", "2": "terrain", "3": "soil"}  # groups met in factor order
    with rasterio.open(r.output_dir / "limiting_factor.tif") as lim:
        codes, tags = lim.read(1), lim.tags(1)
    assert {tags[f"FACTOR_{k}"] for k in (1, 2, 3)} == {"climate", "soil", "terrain"}
    assert "FACTOR_4" not in tags
    assert set(np.unique(codes)) <= {0, 1, 2, 3, 254, 255}
    assert set(r.aoi_summary["limiting_dominant"]) <= {"climate", "soil", "terrain", ""}
    with rasterio.open(r.output_dir / "suitability.tif") as s, \
         rasterio.open(r.output_dir / "classes.tif") as c:
        score, classes = s.read(1), c.read(1)
    ok = ~np.isnan(score)
    fao = SCHEMES["fao"]
    expected = np.where(score >= fao.s1, 1, np.where(score >= fao.s2, 2, np.where(score >= fao.s3, 3, 4)))
    assert np.array_equal(classes[ok], expected[ok])
    # the interpolated scores are continuous, not four steps
    assert np.unique(np.round(score[ok], 4)).size > 1000
    # factor scores and weights reproduce the overall score at a pixel
    f = {n: rasterio.open(r.output_dir / f"score_{n}.tif").read(1) for n in
         ("temperature", "rainfall", "dry_months", "humidity", "slope", "soil_depth", "base_saturation")}
    rr, cc = np.argwhere(ok)[len(np.argwhere(ok)) // 2]
    climate = min(f[n][rr, cc] for n in ("temperature", "rainfall", "dry_months", "humidity"))
    soil = min(f["soil_depth"][rr, cc], f["base_saturation"][rr, cc])
    w = ahp["weights"]
    assert score[rr, cc] == pytest.approx(w["climate"] * climate + w["soil"] * soil
                                          + w["terrain"] * f["slope"][rr, cc], abs=1e-5)


def test_seasonal_pipeline_best_start_month(run_pipeline, repo):
    r = run_pipeline("senegal-sorghum-seasonal.yaml")
    out = r.output_dir
    with rasterio.open(out / "score_seasonal.tif") as s, rasterio.open(out / "best_start_month.tif") as b:
        seasonal, best = s.read(1), b.read(1)
    ph = rasterio.open(repo / "data/sample/senegal/ph.tif").read(1)
    with rasterio.open(out / "suitability.tif") as ds:
        score = ds.read(1)
    # hand computation (see tests/unit/methods/test_ecocrop.py): a 6-month season
    assert seasonal[5, 5] == pytest.approx(0.73125, abs=1e-5) and best[5, 5] == 6
    assert seasonal[30, 40] == pytest.approx(1.0) and best[30, 40] == 5
    ph_score = np.interp(ph[30, 40], [5.0, 6.0, 7.0, 8.5], [0, 1, 1, 0])
    assert score[30, 40] == pytest.approx(min(1.0, ph_score), abs=1e-5)
    assert set(np.unique(best)) <= set(range(0, 13)) | {254}
    assert (out / "best_start_month.qml").is_file()


def test_equal_area_grid_with_derived_slope(run_pipeline):
    laea = run_pipeline("senegal-sorghum-laea.yaml")
    geo = run_pipeline("senegal-sorghum.yaml")
    with rasterio.open(laea.output_dir / "classes.tif") as ds:
        crs = CRS.from_wkt(ds.crs.to_wkt())
        assert ds.res == (1000.0, 1000.0)
    params = crs.to_dict()
    assert params["proj"] == "laea" and params["lat_0"] == pytest.approx(14.5) and params["lon_0"] == pytest.approx(-16.5)
    a, g = laea.aoi_summary.iloc[0], geo.aoi_summary.iloc[0]
    assert a["area_ha"] == pytest.approx(g["area_ha"], rel=5e-4)  # same tile, two CRSs
    za = laea.zone_stats["regions"].set_index("zone_id")
    zg = geo.zone_stats["regions"].set_index("zone_id")
    for zid in ("SN-TH", "SN-DB", "SN-FK", "SN-KL"):
        assert za.loc[zid, "area_ha"] == pytest.approx(zg.loc[zid, "area_ha"], rel=0.005)
    with rasterio.open(laea.output_dir / "score_slope.tif") as ds:
        slope_score = ds.read(1)
    v = slope_score[~np.isnan(slope_score)]
    assert v.size > 10_000 and v.min() >= 0 and v.max() <= 1


def test_code_and_threshold_constraints(tmp_path, repo):
    """Exclusions from raster codes (WorldCover-like built-up 50, water 80) and a threshold."""
    import gies

    with rasterio.open(repo / "data/sample/senegal/ph.tif") as src:
        prof = src.profile
    prof.update(dtype="uint8", nodata=0)
    lc = np.full((1, 60, 60), 40, dtype="uint8")        # cropland
    lc[:, :10, :] = 50                                   # built-up: top 10 rows
    lc[:, 10:15, :20] = 80                               # water
    with rasterio.open(tmp_path / "landcover.tif", "w", **prof) as dst:
        dst.write(lc)
    text = (repo / "pipelines/senegal-sorghum.yaml").read_text().replace("../", f"{repo}/")
    text = text.replace(f"dir: {repo}/outputs", f"dir: {tmp_path / 'out'}")
    text = text.replace("layers:\n", f"layers:\n  landcover: {{path: {tmp_path / 'landcover.tif'}, units: '1', kind: categorical}}\n")
    text += ("constraints:\n  - {type: codes, layer: landcover, codes: [50, 80]}\n"
             "  - {type: threshold, layer: ph, above: 7.2}\n")
    (tmp_path / "p.yaml").write_text(text)
    r = gies.run(tmp_path / "p.yaml", output_root=tmp_path / "out")
    with rasterio.open(r.output_dir / "classes.tif") as ds:
        classes = ds.read(1)
    ph = rasterio.open(repo / "data/sample/senegal/ph.tif").read(1)
    expected = (lc[0] == 50) | (lc[0] == 80) | (ph > 7.2)
    assert np.array_equal(classes == 253, expected)
    a = r.aoi_summary.iloc[0]
    assert a["excluded_ha"] > 0
    assert r.manifest["combination"]["excluded_cells"] == int(expected.sum())
