"""Style documents, GeoPackage default styles and category names, without QGIS."""

import sqlite3
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from gies.publish.i18n import catalogue
from gies.io import gpkg
from gies.publish import qgis
from gies.io.rasters import read_categories, write_categories


def _doc(text: str) -> ET.Element:
    return ET.fromstring(text.split("\n", 1)[1])


def test_raster_qml_declares_renderers():
    pal = _doc(qgis.raster_qml(qgis.paletted_renderer([(1, "#1a9641", "S1 très apte")])))
    r = pal.find("./pipe/rasterrenderer")
    assert r.get("type") == "paletted"
    assert r.find("./colorPalette/paletteEntry").get("label") == "S1 très apte"
    ps = _doc(qgis.raster_qml(qgis.pseudocolor_renderer()))
    r = ps.find("./pipe/rasterrenderer")
    assert r.get("type") == "singlebandpseudocolor"
    items = r.findall(".//colorrampshader/item")
    assert [float(i.get("value")) for i in items] == [0, 0.25, 0.5, 0.75, 1]


def test_gpkg_is_version_1_2_with_default_style(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["Thiès", "Sédhiou"], "suitable_share": [0.2, 0.9]},
                           geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    path = tmp_path / "zones.gpkg"
    gpkg.write_gpkg(gdf, path, "regions")
    gpkg.write_gpkg(gdf, path, "other")
    assert gpkg.gpkg_version(path) == 10200
    rend = qgis.graduated_renderer("suitable_share", [(0, 0.5, "#d7191c", "low"),
                                                       (0.5, 1, "#1a9641", "high")])
    qml = qgis.vector_qml(rend, qgis.simple_labeling("name"))
    gpkg.set_gpkg_default_style(path, "regions", qml, name="a")
    gpkg.set_gpkg_default_style(path, "regions", qml, name="b")
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT styleName, useAsDefault, f_geometry_column FROM layer_styles "
                           "WHERE f_table_name = 'regions' ORDER BY id").fetchall()
    assert rows == [("a", 0, "geom"), ("b", 1, "geom")]
    assert set(gpd.read_file(path, layer="regions")["name"]) == {"Thiès", "Sédhiou"}
    doc = _doc(qml)
    assert doc.get("labelsEnabled") == "1"
    assert doc.find("./renderer-v2").get("attr") == "suitable_share"


def test_category_names_sidecar(tmp_path):
    path = tmp_path / "c.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=1, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(0, 1, 1, 1)) as ds:
        ds.write(np.array([[1, 254]], dtype="uint8"), 1)
    write_categories(path, {1: "S1", 254: "pas de données"}, {1: "#1a9641"})
    assert read_categories(path) == {1: "S1", 254: "pas de données"}
    with rasterio.open(path) as ds:  # GDAL still opens the file with its sidecar
        assert ds.read(1).tolist() == [[1, 254]]


def test_project_is_zip_with_relative_sources(tmp_path):
    lyr = qgis.ProjectLayer(name="classes", source="classes.tif", kind="raster",
                            style=qgis.paletted_renderer([(1, "#1a9641", "S1")]),
                            group="Suitability")
    qgis.write_project(tmp_path / "project.qgz", [lyr], title="t", crs_wkt="EPSG:32748",
                       extent=(0, 0, 10, 10), groups=["Zones", "Suitability"])
    with zipfile.ZipFile(tmp_path / "project.qgz") as zf:
        (name,) = zf.namelist()
        doc = _doc(zf.read(name).decode("utf-8"))
    assert name == "project.qgs"
    assert doc.find(".//maplayer/datasource").text == "./classes.tif"
    assert doc.find("./properties/Paths/Absolute").text == "false"
    assert doc.find("./projectCrs/spatialrefsys/authid").text == "EPSG:32748"
    assert [g.get("name") for g in doc.findall("./layer-tree-group/layer-tree-group")] == \
        ["Suitability"]


def test_catalogues_have_the_same_keys():
    en, fr = catalogue("en"), catalogue("fr")
    assert set(en) == set(fr)
    import json
    from pathlib import Path

    import gies.publish.i18n as i18n

    raw_fr = json.loads((Path(i18n.__file__).parent / "fr.json").read_text(encoding="utf-8"))
    assert set(raw_fr) == set(en), set(en) ^ set(raw_fr)
