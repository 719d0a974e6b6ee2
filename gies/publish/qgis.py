"""QGIS styling without QGIS: ``.qml`` sidecars, GeoPackage default styles, ``project.qgz``.

Everything here is plain XML / SQLite written from Python; the documents follow QGIS 3.22's
format (the oldest LTR still in Debian stable) and are checked against a real QGIS by
``tests/qgis_check.py``.

* A ``<name>.qml`` beside ``<name>.tif`` is loaded by QGIS automatically when the raster is
  added to a map.
* A GeoPackage's ``layer_styles`` row with ``useAsDefault = 1`` is loaded automatically when the
  layer is added.
* ``project.qgz`` is a zip holding one ``.qgs`` XML document with relative data sources, so the
  output folder can be zipped and moved.
"""

from __future__ import annotations

import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from gies.grid import crs_label

__all__ = [
    "QGIS_VERSION",
    "rgba",
    "paletted_renderer",
    "pseudocolor_renderer",
    "graduated_renderer",
    "simple_labeling",
    "outline_renderer",
    "raster_qml",
    "vector_qml",
    "ProjectLayer",
    "write_project",
    "RDYLGN",
]

QGIS_VERSION = "3.22.16-Białowieża"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"

# ColorBrewer RdYlGn (5 classes), low = red, high = green.
RDYLGN = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]


def rgba(colour: str, alpha: int = 255) -> str:
    """``'#rrggbb'`` -> QGIS ``'r,g,b,a'``."""
    h = colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _a(v) -> str:
    return quoteattr(str(v))


def _gradient_ramp(colours: list[str]) -> str:
    n = len(colours) - 1
    stops = ":".join(f"{i / n:g};{rgba(c)}" for i, c in enumerate(colours[1:-1], start=1))
    return (
        '<colorramp type="gradient" name="[source]">'
        f'<prop k="color1" v={_a(rgba(colours[0]))}/>'
        f'<prop k="color2" v={_a(rgba(colours[-1]))}/>'
        '<prop k="discrete" v="0"/><prop k="rampType" v="gradient"/>'
        f'<prop k="stops" v={_a(stops)}/>'
        "</colorramp>"
    )


def _raster_pipe(renderer: str, *, resampling: str = "nearestNeighbour") -> str:
    return (
        "<pipe>"
        f'<provider><resampling enabled="false" maxOversampling="2" '
        f'zoomedInResamplingMethod="{resampling}" zoomedOutResamplingMethod="{resampling}"/>'
        "</provider>"
        f"{renderer}"
        '<brightnesscontrast brightness="0" contrast="0" gamma="1"/>'
        '<huesaturation colorizeBlue="128" colorizeGreen="128" colorizeOn="0" colorizeRed="255" '
        'colorizeStrength="100" grayscaleMode="0" invertColors="0" saturation="0"/>'
        '<rasterresampler maxOversampling="2"/>'
        "<resamplingStage>resamplingFilter</resamplingStage>"
        "</pipe>"
    )


def paletted_renderer(entries: list[tuple[int, str, str]], *, band: int = 1) -> str:
    """A paletted / unique-values renderer: ``entries`` are ``(value, '#rrggbb', label)``."""
    items = "".join(
        f'<paletteEntry value="{int(v)}" color={_a(c)} alpha="255" label={_a(lab)}/>'
        for v, c, lab in entries
    )
    return (
        f'<rasterrenderer type="paletted" band="{band}" opacity="1" alphaBand="-1" '
        'nodataColor="">'
        "<rasterTransparency/>"
        "<minMaxOrigin><limits>None</limits><extent>WholeRaster</extent>"
        "<statAccuracy>Estimated</statAccuracy><cumulativeCutLower>0.02</cumulativeCutLower>"
        "<cumulativeCutUpper>0.98</cumulativeCutUpper><stdDevFactor>2</stdDevFactor>"
        "</minMaxOrigin>"
        f"<colorPalette>{items}</colorPalette>"
        "</rasterrenderer>"
    )


def pseudocolor_renderer(*, vmin: float = 0.0, vmax: float = 1.0, colours=RDYLGN,
                         labels: dict[float, str] | None = None, band: int = 1) -> str:
    """A continuous (interpolated) single-band pseudocolour renderer on [vmin, vmax]."""
    n = len(colours) - 1
    labels = labels or {}
    items = []
    for i, c in enumerate(colours):
        v = vmin + (vmax - vmin) * i / n
        lab = labels.get(round(v, 6), f"{v:g}")
        items.append(f'<item alpha="255" value="{v:g}" label={_a(lab)} color={_a(c)}/>')
    return (
        f'<rasterrenderer type="singlebandpseudocolor" band="{band}" opacity="1" alphaBand="-1" '
        f'classificationMin="{vmin:g}" classificationMax="{vmax:g}" nodataColor="">'
        "<rasterTransparency/>"
        "<minMaxOrigin><limits>None</limits><extent>WholeRaster</extent>"
        "<statAccuracy>Estimated</statAccuracy><cumulativeCutLower>0.02</cumulativeCutLower>"
        "<cumulativeCutUpper>0.98</cumulativeCutUpper><stdDevFactor>2</stdDevFactor>"
        "</minMaxOrigin>"
        "<rastershader>"
        f'<colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" '
        f'minimumValue="{vmin:g}" maximumValue="{vmax:g}" labelPrecision="2">'
        f"{_gradient_ramp(list(colours))}"
        f"{''.join(items)}"
        "</colorrampshader>"
        "</rastershader>"
        "</rasterrenderer>"
    )


def _fill_symbol(name: str, colour: str, *, outline: str = "#232323", width: float = 0.3,
                 alpha: int = 255) -> str:
    return (
        f'<symbol type="fill" name={_a(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
        f'<prop k="color" v={_a(rgba(colour, alpha))}/>'
        '<prop k="joinstyle" v="bevel"/>'
        f'<prop k="outline_color" v={_a(rgba(outline))}/>'
        '<prop k="outline_style" v="solid"/>'
        f'<prop k="outline_width" v="{width:g}"/>'
        '<prop k="outline_width_unit" v="MM"/>'
        '<prop k="style" v="solid"/>'
        "</layer></symbol>"
    )


def graduated_renderer(attr: str, ranges: list[tuple[float, float, str, str]], *,
                       alpha: int = 200) -> str:
    """A graduated renderer on ``attr``: ``ranges`` are ``(lower, upper, '#rrggbb', label)``."""
    rng = "".join(
        f'<range lower="{lo:g}" upper="{hi:g}" symbol="{i}" label={_a(lab)} render="true"/>'
        for i, (lo, hi, _, lab) in enumerate(ranges)
    )
    syms = "".join(_fill_symbol(str(i), c, alpha=alpha) for i, (_, _, c, _) in enumerate(ranges))
    return (
        f'<renderer-v2 type="graduatedSymbol" attr={_a(attr)} graduatedMethod="GraduatedColor" '
        'symbollevels="0" enableorderby="0" forceraster="0">'
        f"<ranges>{rng}</ranges>"
        f"<symbols>{syms}</symbols>"
        f"<source-symbol>{_fill_symbol('0', ranges[0][2], alpha=alpha)}</source-symbol>"
        f"{_gradient_ramp([r[2] for r in ranges])}"
        '<classificationMethod id="EqualInterval"><symmetricMode enabled="0" symmetrypoint="0" '
        'astride="0"/><labelFormat format="%1 - %2" labelprecision="2" trimtrailingzeroes="1"/>'
        "<parameters/><extraInformation/></classificationMethod>"
        '<rotation/><sizescale/>'
        "</renderer-v2>"
    )


def outline_renderer(colour: str = "#232323", width: float = 0.5) -> str:
    """A single-symbol renderer drawing polygon outlines only (no fill)."""
    sym = (
        '<symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
        '<prop k="color" v="255,255,255,0"/><prop k="joinstyle" v="bevel"/>'
        f'<prop k="outline_color" v={_a(rgba(colour))}/><prop k="outline_style" v="solid"/>'
        f'<prop k="outline_width" v="{width:g}"/><prop k="outline_width_unit" v="MM"/>'
        '<prop k="style" v="no"/></layer></symbol>'
    )
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{sym}</symbols><rotation/><sizescale/></renderer-v2>"
    )


def simple_labeling(field_name: str, *, size: float = 9.0, font: str = "DejaVu Sans") -> str:
    """Labels from ``field_name``, black with a white buffer, placed inside polygons."""
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={_a(field_name)} isExpression="0" fontFamily={_a(font)} '
        f'fontSize="{size:g}" fontSizeUnit="Point" fontWeight="50" fontItalic="0" '
        'fontUnderline="0" fontStrikeout="0" fontKerning="1" textColor="0,0,0,255" '
        'textOpacity="1" namedStyle="Book" blendMode="0" multilineHeight="1" '
        'capitalization="0" allowHtml="0" previewBkgrdColor="255,255,255,255" '
        'useSubstitutions="0" fontLetterSpacing="0" fontWordSpacing="0" textOrientation="horizontal">'
        '<families/>'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.8" bufferNoFill="1" bufferJoinStyle="128" '
        'bufferBlendMode="0"/>'
        '<text-mask maskEnabled="0"/>'
        '<background shapeDraw="0"/><shadow shadowDraw="0"/><substitutions/>'
        "</text-style>"
        '<text-format wrapChar="" autoWrapLength="20" useMaxLineLengthForAutoWrap="1" '
        'multilineAlign="1" addDirectionSymbol="0" formatNumbers="0" decimals="3" plussign="0" '
        'reverseDirectionSymbol="0" placeDirectionSymbol="0" leftDirectionSymbol="&lt;" '
        'rightDirectionSymbol="&gt;"/>'
        '<placement placement="1" placementFlags="10" centroidWhole="0" centroidInside="1" '
        'fitInPolygonOnly="0" dist="0" distUnits="MM" offsetType="0" quadOffset="4" xOffset="0" '
        'yOffset="0" offsetUnits="MM" priority="5" maxCurvedCharAngleIn="25" '
        'maxCurvedCharAngleOut="-25" repeatDistance="0" repeatDistanceUnits="MM" '
        'overrunDistance="0" overrunDistanceUnit="MM" polygonPlacementFlags="2" '
        'layerType="PolygonGeometry" geometryGenerator="" geometryGeneratorEnabled="0" '
        'geometryGeneratorType="PointGeometry" rotationAngle="0" preserveRotation="1" '
        'predefinedPositionOrder="TR,TL,BR,BL,R,L,TSR,BSR" lineAnchorPercent="0.5" '
        'lineAnchorType="0" lineAnchorClipping="0" allowDegraded="0"/>'
        '<rendering obstacle="1" obstacleFactor="1" obstacleType="1" scaleVisibility="0" '
        'scaleMin="0" scaleMax="0" fontLimitPixelSize="0" fontMinPixelSize="3" '
        'fontMaxPixelSize="10000" upsidedownLabels="0" labelPerPart="0" mergeLines="0" '
        'minFeatureSize="0" limitNumLabels="0" maxNumLabels="2000" drawLabels="1" '
        'displayAll="1" zIndex="0" unplacedVisibility="0"/>'
        '<dd_properties><Option type="Map"><Option type="QString" name="name" value=""/>'
        '<Option name="properties"/><Option type="QString" name="type" value="collection"/>'
        "</Option></dd_properties>"
        "</settings></labeling>"
    )


def raster_qml(renderer: str, *, resampling: str = "nearestNeighbour") -> str:
    """A complete raster ``.qml`` document around ``renderer``."""
    return (
        f"{_DOCTYPE}\n"
        f'<qgis version={_a(QGIS_VERSION)} styleCategories="AllStyleCategories" '
        'hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">'
        f"{_raster_pipe(renderer, resampling=resampling)}"
        "<blendMode>0</blendMode>"
        "</qgis>\n"
    )


def vector_qml(renderer: str, labeling: str = "") -> str:
    """A complete vector ``.qml`` document (renderer and optional labeling)."""
    return (
        f"{_DOCTYPE}\n"
        f'<qgis version={_a(QGIS_VERSION)} styleCategories="AllStyleCategories" '
        f'labelsEnabled="{1 if labeling else 0}" hasScaleBasedVisibilityFlag="0" '
        'minScale="1e+08" maxScale="0" simplifyDrawingHints="1" simplifyLocal="1" '
        'simplifyAlgorithm="0" simplifyMaxScale="1" simplifyDrawingTol="1">'
        f"{renderer}{labeling}"
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerOpacity>1</layerOpacity>"
        "</qgis>\n"
    )


# ---------------------------------------------------------------------------------------------
# Project


@dataclass
class ProjectLayer:
    """One layer of ``project.qgz``: ``source`` is relative to the project folder."""

    name: str
    source: str
    kind: str  # 'raster' | 'vector'
    style: str  # renderer XML (raster: <rasterrenderer>; vector: <renderer-v2> + <labeling>)
    group: str
    visible: bool = True
    layer_name: str | None = None  # GeoPackage layer
    geometry: str = "Polygon"
    wkb_type: str = "MultiPolygon"
    labels: bool = False
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            stem = "".join(ch if ch.isalnum() else "_" for ch in self.name)
            self.id = f"{stem}_{uuid.uuid5(uuid.NAMESPACE_URL, self.source + (self.layer_name or '')).hex}"

    @property
    def datasource(self) -> str:
        src = self.source if self.source.startswith(".") else f"./{self.source}"
        return f"{src}|layername={self.layer_name}" if self.layer_name else src


def _srs(crs_wkt: str) -> str:
    from pyproj import CRS

    crs = CRS.from_user_input(crs_wkt)
    auth = crs.to_authority(min_confidence=90)
    authid = f"{auth[0]}:{auth[1]}" if auth else ""
    wkt = crs.to_wkt("WKT2_2019")
    import warnings

    with warnings.catch_warnings():  # QGIS wants a proj string; the WKT stays authoritative
        warnings.simplefilter("ignore")
        proj4 = crs.to_proj4() or ""
    return (
        '<spatialrefsys nativeFormat="Wkt">'
        f"<wkt>{escape(wkt)}</wkt>"
        f"<proj4>{escape(proj4)}</proj4>"
        f"<srsid>0</srsid><srid>{auth[1] if auth and auth[0] == 'EPSG' else 0}</srid>"
        f"<authid>{escape(authid)}</authid>"
        f"<description>{escape(crs.name if crs.name.lower() != 'unknown' else crs_label(crs))}</description>"
        f"<projectionacronym></projectionacronym>"
        f"<ellipsoidacronym></ellipsoidacronym>"
        f"<geographicflag>{'true' if crs.is_geographic else 'false'}</geographicflag>"
        "</spatialrefsys>"
    )


def _extent(b, tag: str = "extent") -> str:
    return (f"<{tag}><xmin>{b[0]!r}</xmin><ymin>{b[1]!r}</ymin><xmax>{b[2]!r}</xmax>"
            f"<ymax>{b[3]!r}</ymax></{tag}>")


def _maplayer(lyr: ProjectLayer, srs: str, bounds) -> str:
    common = (
        f"{_extent(bounds)}<id>{escape(lyr.id)}</id>"
        f"<datasource>{escape(lyr.datasource)}</datasource>"
        f"<layername>{escape(lyr.name)}</layername><srs>{srs}</srs>"
    )
    if lyr.kind == "raster":
        return (
            '<maplayer type="raster" hasScaleBasedVisibilityFlag="0" refreshOnNotifyEnabled="0" '
            'autoRefreshEnabled="0" autoRefreshTime="0" minScale="1e+08" maxScale="0" '
            'styleCategories="AllStyleCategories">'
            f'{common}<provider>gdal</provider><noData><noDataList bandNo="1" useSrcNoData="1"/>'
            f"</noData>{_raster_pipe(lyr.style)}<blendMode>0</blendMode></maplayer>"
        )
    return (
        f'<maplayer type="vector" geometry={_a(lyr.geometry)} wkbType={_a(lyr.wkb_type)} '
        f'labelsEnabled="{1 if lyr.labels else 0}" hasScaleBasedVisibilityFlag="0" '
        'refreshOnNotifyEnabled="0" autoRefreshEnabled="0" autoRefreshTime="0" minScale="1e+08" '
        'maxScale="0" simplifyDrawingHints="1" simplifyLocal="1" simplifyAlgorithm="0" '
        'simplifyMaxScale="1" simplifyDrawingTol="1" readOnly="0" '
        'styleCategories="AllStyleCategories">'
        f'{common}<provider encoding="UTF-8">ogr</provider>{lyr.style}'
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerOpacity>1</layerOpacity></maplayer>"
    )


def write_project(path: Path, layers: list[ProjectLayer], *, title: str, crs_wkt: str,
                  extent: tuple[float, float, float, float], groups: list[str]) -> None:
    """Write ``project.qgz``: ``layers`` (top first) in ``groups`` (top first), project CRS
    ``crs_wkt``, default view ``extent`` (in that CRS), relative paths."""
    path = Path(path)
    srs = _srs(crs_wkt)
    tree = []
    for g in groups:
        members = [lyr for lyr in layers if lyr.group == g]
        if not members:
            continue
        rows = "".join(
            f'<layer-tree-layer id={_a(lyr.id)} name={_a(lyr.name)} '
            f'source={_a(lyr.datasource)} providerKey={_a("gdal" if lyr.kind == "raster" else "ogr")} '
            f'checked="{"Qt::Checked" if lyr.visible else "Qt::Unchecked"}" expanded="{1 if lyr.visible else 0}" '
            'legend_exp=""><customproperties/></layer-tree-layer>'
            for lyr in members
        )
        checked = "Qt::Checked" if any(lyr.visible for lyr in members) else "Qt::Unchecked"
        tree.append(f'<layer-tree-group name={_a(g)} checked="{checked}" expanded="1">'
                    f"<customproperties/>{rows}</layer-tree-group>")
    order = "".join(f"<layer id={_a(lyr.id)}/>" for lyr in layers)
    maplayers = "".join(_maplayer(lyr, srs, extent) for lyr in layers)
    from pyproj import CRS

    units = "degrees" if CRS.from_user_input(crs_wkt).is_geographic else "meters"
    x0, y0, x1, y1 = extent
    qgs = (
        f"{_DOCTYPE}\n"
        f'<qgis projectname={_a(title)} version={_a(QGIS_VERSION)} saveUser="gies" '
        'saveUserFull="gies">'
        '<homePath path=""/>'
        f"<title>{escape(title)}</title>"
        '<transaction mode="Disabled"/><autotransaction active="0"/>'
        '<evaluateDefaultValues active="0"/><trust active="0"/>'
        f"<projectCrs>{srs}</projectCrs>"
        '<layer-tree-group><customproperties/>'
        f"{''.join(tree)}"
        f'<custom-order enabled="0">{"".join(f"<item>{escape(lyr.id)}</item>" for lyr in layers)}</custom-order>'
        "</layer-tree-group>"
        '<snapping-settings enabled="0" mode="2" type="1" tolerance="12" unit="1" '
        'intersection-snapping="0"/>'
        '<relations/><polymorphicRelations/>'
        '<mapcanvas annotationsVisible="1" name="theMapCanvas">'
        f"<units>{units}</units>{_extent(extent)}<rotation>0</rotation>"
        f"<destinationsrs>{srs}</destinationsrs><rendermaptile>0</rendermaptile>"
        "<expressionContextScope/></mapcanvas>"
        '<legend updateDrawingOrder="true"/>'
        f"<projectlayers>{maplayers}</projectlayers>"
        f"<layerorder>{order}</layerorder>"
        "<properties>"
        '<Paths><Absolute type="bool">false</Absolute></Paths>'
        '<SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled></SpatialRefSys>'
        '<Measurement><DistanceUnits type="QString">meters</DistanceUnits>'
        '<AreaUnits type="QString">ha</AreaUnits></Measurement>'
        "</properties>"
        '<ProjectViewSettings UseProjectScales="0" rotation="0"><Scales/>'
        f'<DefaultViewExtent xmin="{x0!r}" ymin="{y0!r}" xmax="{x1!r}" ymax="{y1!r}">{srs}'
        "</DefaultViewExtent></ProjectViewSettings>"
        "</qgis>\n"
    )
    tmp = path.with_suffix(".qgz.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{path.stem}.qgs", qgs.encode("utf-8"))
    tmp.replace(path)
