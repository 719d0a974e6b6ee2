"""Open a gies output folder in a real, headless QGIS and check what an analyst would see.

Run with the system Python that has QGIS (Debian: python3-qgis), not the project's venv::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py OUTPUT_DIR [--png out.png]

Checks: every raster and vector output loads and is valid; each ``.qml`` sidecar and each
GeoPackage default style is applied with the renderer it declares (the renderer type of the
loaded layer is compared to the one in the style document, and class / factor labels must be
present: ``loadNamedStyle`` reports success even for a style it could not use); the classified
attribute exists; GDAL reads the category names; the rasters are valid COGs (GDAL's
validator); ``project.qgz`` opens with every layer valid, CRS and extent set, relative paths;
and the project renders to a non-blank image. Prints a JSON report; exits 1 on any failure.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

REPORT: dict = {"rasters": {}, "vectors": {}, "project": {}, "failures": []}


def fail(msg: str) -> None:
    REPORT["failures"].append(msg)


def declared_raster_renderer(qml: Path) -> str | None:
    root = ET.parse(qml).getroot()
    r = root.find("./pipe/rasterrenderer")
    return None if r is None else r.get("type")


def raster_labels(layer) -> list[str]:
    r = layer.renderer()
    if r.type() == "paletted":
        return [c.label for c in r.classes()]
    if r.type() == "singlebandpseudocolor":
        return [i.label for i in r.shader().rasterShaderFunction().colorRampItemList()]
    return []


def check_raster(path: Path) -> None:
    rep: dict = {}
    REPORT["rasters"][path.name] = rep
    layer = QgsRasterLayer(str(path), path.stem, "gdal")
    rep["valid"] = layer.isValid()
    if not layer.isValid():
        fail(f"{path.name}: raster not valid in QGIS")
        return
    qml = path.with_suffix(".qml")
    if not qml.is_file():
        fail(f"{path.name}: no .qml sidecar")
        return
    # QGIS applies a same-named .qml when a layer is added through the GUI
    # (loadDefaultStyle); do the same here and check the result, not the return flag
    msg, ok = layer.loadDefaultStyle()
    want = declared_raster_renderer(qml)
    got = layer.renderer().type() if layer.renderer() else None
    labels = raster_labels(layer)
    rep.update({"style_loaded": ok, "declared": want, "renderer": got, "labels": labels[:12]})
    if not ok or got != want:
        fail(f"{path.name}: style declares {want!r}, QGIS applied {got!r} ({msg})")
    if got == "paletted" and (not labels or not all(labels)):
        fail(f"{path.name}: paletted renderer without class labels")
    # category names from the PAM sidecar, as GDAL reads them
    try:
        from osgeo import gdal

        ds = gdal.Open(str(path))
        b = ds.GetRasterBand(1)
        # (Band.GetCategoryNames returns None in GDAL 3.6's bindings; gdalinfo's view is what
        # matters, and gdal.Info gives exactly that)
        cats = gdal.Info(ds, format="json")["bands"][0].get("categories") or []
        rep["gdal_categories"] = {i: c for i, c in enumerate(cats) if c}
        rat = b.GetDefaultRAT()
        rep["gdal_rat_rows"] = rat.GetRowCount() if rat is not None else 0
        rep["band_description"] = b.GetDescription()
        rep["unit"] = b.GetUnitType()
        rep["scale"] = b.GetScale()
        if path.stem in ("classes", "limiting_factor") and not rep["gdal_categories"]:
            fail(f"{path.name}: GDAL reads no category names")
        if not rep["band_description"]:
            fail(f"{path.name}: no band description")
        try:
            from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate

            warnings, errors, _ = validate(str(path), full_check=True)
            rep["cog_errors"] = errors
            if errors:
                fail(f"{path.name}: not a valid COG: {errors}")
        except ImportError:
            rep["cog_errors"] = "validator not available"
    except ImportError:
        rep["gdal_categories"] = "osgeo not available"


def check_gpkg(path: Path) -> None:
    from osgeo import ogr

    ds = ogr.Open(str(path))
    names = [ds.GetLayerByIndex(i).GetName() for i in range(ds.GetLayerCount())]
    spatial = [n for n in names if ds.GetLayerByName(n).GetGeomType() != ogr.wkbNone]
    import sqlite3

    with sqlite3.connect(path) as con:
        user_version = con.execute("PRAGMA user_version").fetchone()[0]
        styles = {r[0]: r[1] for r in con.execute(
            "SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault")}
    REPORT["vectors"]["gpkg_version"] = user_version
    if user_version != 10200:
        fail(f"{path.name}: GeoPackage version {user_version}, expected 10200 (1.2)")
    for name in spatial:
        rep: dict = {}
        REPORT["vectors"][f"{path.name}|{name}"] = rep
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        rep["valid"] = layer.isValid()
        if not layer.isValid():
            fail(f"{path.name}|{name}: not valid")
            continue
        rep["features"] = layer.featureCount()
        qml = styles.get(name)
        if qml is None:
            fail(f"{path.name}|{name}: no default style in layer_styles")
            continue
        # what QGIS does when the layer is added: the provider's default style
        msg, ok = layer.loadDefaultStyle()
        want = ET.fromstring(qml.split("\n", 1)[1]).find("./renderer-v2").get("type")
        r = layer.renderer()
        got = r.type() if r else None
        rep.update({"style_loaded": ok, "declared": want, "renderer": got})
        if got != want:
            fail(f"{path.name}|{name}: style declares {want!r}, QGIS applied {got!r} ({msg})")
            continue
        if got == "graduatedSymbol":
            attr = r.classAttribute()
            rep["attribute"] = attr
            rep["ranges"] = [x.label() for x in r.ranges()]
            if layer.fields().indexOf(attr) < 0:
                fail(f"{path.name}|{name}: classified attribute {attr!r} missing")
            if not rep["ranges"] or not all(rep["ranges"]):
                fail(f"{path.name}|{name}: graduated renderer without range labels")
        rep["labels_enabled"] = layer.labelsEnabled()
        if layer.labelsEnabled():
            field = layer.labeling().settings().fieldName
            rep["label_field"] = field
            if layer.fields().indexOf(field) < 0:
                fail(f"{path.name}|{name}: label field {field!r} missing")


def check_project(out: Path, png: Path | None) -> None:
    rep = REPORT["project"]
    qgz = out / "project.qgz"
    if not qgz.is_file():
        fail("project.qgz missing")
        return
    # open a copy in another folder: proves the paths are relative
    with tempfile.TemporaryDirectory() as tmp:
        import shutil

        moved = Path(tmp) / "moved"
        shutil.copytree(out, moved)
        with zipfile.ZipFile(moved / "project.qgz") as zf:
            qgs = zf.read(zf.namelist()[0]).decode("utf-8")
        rep["absolute_paths_in_xml"] = str(out) in qgs
        if str(out) in qgs:
            fail("project.qgz contains absolute paths of the output folder")
        proj = QgsProject.instance()
        ok = proj.read(str(moved / "project.qgz"))
        rep["read"] = ok
        if not ok:
            fail(f"project.qgz could not be read: {proj.error()}")
            return
        layers = list(proj.mapLayers().values())
        rep["layers"] = {lyr.name(): {"valid": lyr.isValid(),
                                      "renderer": lyr.renderer().type() if lyr.renderer() else None,
                                      "source": lyr.source().replace(str(moved), ".")}
                         for lyr in layers}
        declared = {}
        for ml in ET.fromstring(qgs.split("\n", 1)[1]).iter("maplayer"):
            r = ml.find("./pipe/rasterrenderer")
            if r is None:
                r = ml.find("./renderer-v2")
            declared[ml.findtext("id")] = None if r is None else r.get("type")
        for lyr in layers:
            if not lyr.isValid():
                fail(f"project layer {lyr.name()!r} not valid ({lyr.source()})")
            got = lyr.renderer().type() if lyr.renderer() else None
            rep["layers"][lyr.name()]["declared"] = declared.get(lyr.id())
            if got != declared.get(lyr.id()):
                fail(f"project layer {lyr.name()!r}: declares {declared.get(lyr.id())!r}, "
                     f"QGIS applied {got!r}")
        expected = {p.name for p in out.glob("*.tif")}
        in_proj = {Path(lyr.source().split("|")[0]).name for lyr in layers}
        missing = expected - in_proj
        if missing:
            fail(f"project.qgz lacks {sorted(missing)}")
        root = proj.layerTreeRoot()
        rep["groups"] = [g.name() for g in root.children() if g.nodeType() == 0]
        rep["crs"] = proj.crs().authid() or proj.crs().description()
        if not proj.crs().isValid():
            fail("project CRS not valid")
        ext = proj.viewSettings().defaultViewExtent()
        rep["default_extent"] = [ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()]
        if ext.isEmpty():
            fail("project has no default view extent")
        # render what the analyst sees: visible layers, in tree order, at the default extent
        visible = [n.layer() for n in root.findLayers() if n.isVisible() and n.layer()]
        rep["visible_layers"] = [lyr.name() for lyr in visible]
        ms = QgsMapSettings()
        ms.setLayers(visible)
        ms.setDestinationCrs(proj.crs())
        ms.setExtent(ext)
        ms.setOutputSize(QSize(1000, 800))
        ms.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererParallelJob(ms)
        job.start()
        job.waitForFinished()
        img = job.renderedImage()
        step = 4
        colours = {img.pixel(x, y) for x in range(0, img.width(), step)
                   for y in range(0, img.height(), step)}
        rep["rendered_distinct_colours"] = len(colours)
        if len(colours) < 5:
            fail(f"project render looks blank ({len(colours)} colours)")
        if png is not None:
            img.save(str(png))
            rep["png"] = str(png)
        proj.clear()


def main(argv: list[str]) -> int:
    args = list(argv)
    png = None
    if "--png" in args:
        i = args.index("--png")
        png = Path(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(args[0]).resolve()
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    try:
        from qgis.core import Qgis

        REPORT["qgis"] = Qgis.QGIS_VERSION
        for tif in sorted(out.glob("*.tif")):
            check_raster(tif)
        for gpkg in sorted(out.glob("*.gpkg")):
            check_gpkg(gpkg)
        check_project(out, png)
    except Exception as exc:  # report, do not crash without JSON
        fail(f"exception: {type(exc).__name__}: {exc}")
    REPORT["ok"] = not REPORT["failures"]
    print(json.dumps(REPORT, indent=2, ensure_ascii=False, default=str))
    app.exitQgis()
    return 0 if REPORT["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
