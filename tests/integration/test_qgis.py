"""The published run folder in a real QGIS (headless): styles, GeoPackage, project, render.

Needs Debian's QGIS (``apt-get install qgis python3-qgis``) under /usr/bin/python3; skipped
when it is missing, except under CI (env ``CI`` set), where a missing QGIS fails.
"""

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"


def _qgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return r.returncode == 0


@pytest.fixture(scope="module")
def published(bungo):
    return bungo.output_dir


@pytest.mark.slow
def test_publish_writes_every_file(published):
    out = published
    for name in ("classes.qml", "limiting_factor.qml", "suitability.qml",
                 "classes.tif.aux.xml", "limiting_factor.tif.aux.xml", "project.qgz",
                 "map.png", "map.pdf", "factors.png", "limiting.png", "report.html"):
        assert (out / name).is_file(), name
    for tif in out.glob("score_*.tif"):
        assert tif.with_suffix(".qml").is_file()
    with zipfile.ZipFile(out / "project.qgz") as zf:
        qgs = zf.read(zf.namelist()[0]).decode("utf-8")
    assert str(out) not in qgs and "./classes.tif" in qgs
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "src=\"http" not in html
    assert "Protected Forest" in html and "temperature" in html


@pytest.mark.slow
def test_outputs_open_in_qgis(published):
    if not _qgis_available():
        if os.environ.get("CI"):
            pytest.fail("QGIS (python3-qgis) is not installed for /usr/bin/python3 under CI")
        pytest.skip("QGIS not available for /usr/bin/python3")
    r = subprocess.run(
        [SYSTEM_PYTHON, str(REPO / "tests" / "qgis_check.py"), str(published)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert r.stdout.strip(), r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["ok"], json.dumps(report["failures"], indent=2)
    assert r.returncode == 0
    rasters = report["rasters"]
    assert rasters["classes.tif"]["renderer"] == "paletted"
    assert "S1 highly suitable" in rasters["classes.tif"]["labels"]
    assert rasters["suitability.tif"]["renderer"] == "singlebandpseudocolor"
    assert rasters["limiting_factor.tif"]["gdal_categories"]["1"] == "temperature"
    vec = [v for k, v in report["vectors"].items() if "|" in k]
    assert vec and all(v["renderer"] == "graduatedSymbol" for v in vec)
    assert report["vectors"]["gpkg_version"] == 10200
    assert report["project"]["groups"] == ["Zones", "Suitability", "Factors"]
    assert report["project"]["crs"] == "EPSG:32748"
    assert report["project"]["rendered_distinct_colours"] >= 5


@pytest.mark.slow
def test_senegal_in_french_opens_in_qgis(run_pipeline):
    out = run_pipeline("senegal-sorghum.yaml").output_dir
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'lang="fr"' in html or "lang='fr'" in html
    assert "Thiès" in html
    report = _qgis_report(out)
    assert report["project"]["crs"] == "EPSG:4326"


def _qgis_report(out):
    if not _qgis_available():
        if os.environ.get("CI"):
            pytest.fail("QGIS (python3-qgis) is not installed for /usr/bin/python3 under CI")
        pytest.skip("QGIS not available for /usr/bin/python3")
    r = subprocess.run([SYSTEM_PYTHON, str(REPO / "tests" / "qgis_check.py"), str(out)],
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.stdout.strip(), r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["ok"] and r.returncode == 0, json.dumps(report["failures"], indent=2)
    return report


@pytest.mark.slow
def test_origin_rasters_open_in_qgis_with_their_styles(shipped):
    out = shipped("bungo-cocoa-origin").output_dir
    report = _qgis_report(out)
    rasters = report["rasters"]
    for name in ("similarity_bioclim.tif", "similarity_gower.tif", "mess.tif",
                 "exdet_nt1.tif", "exdet_nt2.tif"):
        assert rasters[name]["renderer"] == "singlebandpseudocolor", name
    assert rasters["mess_variable.tif"]["renderer"] == "paletted"
    assert "temperature" in rasters["mess_variable.tif"]["labels"]
    assert rasters["agreement.tif"]["renderer"] == "paletted"
    assert "both suitable" in rasters["agreement.tif"]["labels"]
    assert rasters["agreement.tif"]["gdal_categories"]["3"] == "similarity only"
    assert report["project"]["groups"] == ["Zones", "Origin", "Suitability", "Factors"]


@pytest.mark.slow
def test_a_pipeline_without_product_opens_in_qgis(shipped):
    out = shipped("bradypus-origin").output_dir
    report = _qgis_report(out)
    rasters = report["rasters"]
    assert rasters["similar.tif"]["renderer"] == "paletted"
    assert rasters["model_maxent.tif"]["renderer"] == "singlebandpseudocolor"
    assert rasters["mess_variable.tif"]["gdal_categories"]["1"] == "bio1"
    assert report["project"]["groups"] == ["Zones", "Origin"]
    assert report["project"]["crs"] == "EPSG:4326"
