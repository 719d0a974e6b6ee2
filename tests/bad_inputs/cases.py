"""The bad-input catalogue: every mistake a user can make, and what gies must answer.

Each case builds a broken pipeline (from the small Senegal sample, with absolute paths) in a
temporary folder. ``kind`` is ``error`` (exit code 2, one message per problem naming the
file/key, no traceback, no new output, the previous output intact) or ``warning`` (the run
succeeds and the warning is printed and recorded in the manifest). ``docs/bad_inputs.md``
lists the same cases; a test keeps the two in step.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SEN = REPO / "data" / "sample" / "senegal"
BASE = (REPO / "pipelines" / "senegal-sorghum.yaml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "error" | "warning"
    what: str
    build: Callable[[Path], str]  # tmp folder -> pipeline YAML text
    expect: tuple[str, ...]
    command: str = "validate"  # validate | run


def base(tmp: Path) -> str:
    text = BASE.replace("../", f"{REPO}/")
    return text.replace(f"dir: {REPO}/outputs", f"dir: {tmp / 'out'}")


def sub(old: str, new: str, *more: tuple[str, str]) -> Callable[[Path], str]:
    def build(tmp: Path) -> str:
        text = base(tmp)
        for a, b in ((old, new),) + more:
            assert a in text, a
            text = text.replace(a, b, 1)
        return text
    return build


def with_seasonal(keys: str) -> Callable[[Path], str]:
    """The base pipeline with the Senegal sample's monthly stacks and a ``seasonal`` section
    (``keys``: its keys besides the layers)."""
    return sub("combine: {rule: minimum}",
               f"seasonal: {{tavg: tavg, prec: prec, {keys}}}\ncombine: {{rule: minimum}}",
               ("layers:\n", "layers:\n"
                f"  tavg: {{path: {SEN / 'ta.tif'}, units: degC, monthly: true}}\n"
                f"  prec: {{path: {SEN / 'pr.tif'}, units: mm, monthly: true}}\n"))


def with_file(make: Callable[[Path], Path], old: str) -> Callable[[Path], str]:
    """Replace the path ``old`` (a file name in the Senegal sample) by a file made in tmp."""
    def build(tmp: Path) -> str:
        made = make(tmp)
        return base(tmp).replace(str(SEN / old), str(made))
    return build


def _copy(tmp: Path, name: str) -> Path:
    dst = tmp / name
    shutil.copy(SEN / name, dst)
    return dst


def truncated(tmp: Path) -> Path:
    p = _copy(tmp, "pr.tif")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    return p


def not_a_raster(tmp: Path) -> Path:
    p = tmp / "pr.tif"
    p.write_text("this is not a GeoTIFF\n")
    return p


def _rewrite(tmp: Path, name: str, fn, **profile) -> Path:
    import rasterio

    with rasterio.open(SEN / name) as src:
        prof = src.profile
        data = src.read()
    prof.update(profile)
    out = tmp / name
    with rasterio.open(out, "w", **prof) as dst:
        dst.write(fn(data).astype(prof["dtype"]))
    return out


def no_crs(tmp: Path) -> Path:
    return _rewrite(tmp, "ph.tif", lambda d: d, crs=None)


def elsewhere(tmp: Path) -> Path:
    from affine import Affine

    return _rewrite(tmp, "ph.tif", lambda d: d, transform=Affine(1 / 60, 0, 100, 0, -1 / 60, 50))


def all_nodata(tmp: Path) -> Path:
    return _rewrite(tmp, "ph.tif", lambda d: np.full_like(d, np.nan))


def ph_whole_tagged(tmp: Path) -> Path:
    """ph.tif in whole pH units (92 % of the tile is 6), tagged nodata = 6."""
    return _rewrite(tmp, "ph.tif", lambda d: np.round(d), nodata=6.0)


def ph_band_tagged(tmp: Path) -> Path:
    """ph.tif whose northern third holds exactly 6.0, tagged nodata = 6."""
    def fn(d):
        d = d.copy()
        d[:, :20, :] = 6.0
        return d
    return _rewrite(tmp, "ph.tif", fn, nodata=6.0)


def _sentinel(d):
    """The first three rows (5 % of the tile) set to -9999, without a nodata tag."""
    d = d.copy()
    d[:, :3, :] = -9999
    return d


def ph_times_ten(tmp: Path) -> Path:
    return _rewrite(tmp, "ph.tif", lambda d: d * 10)


def half_tile(tmp: Path) -> Path:
    """ph.tif cut to its western half (the AOI is the whole tile)."""
    import rasterio

    with rasterio.open(SEN / "ph.tif") as src:
        prof, data = src.profile, src.read()
    prof.update(width=30)
    out = tmp / "ph.tif"
    with rasterio.open(out, "w", **prof) as dst:
        dst.write(data[:, :, :30])
    return out


def codes_raster(tmp: Path) -> Path:
    """A uint8 land-cover-like layer on the tile with codes 10, 20 and 50."""
    import rasterio

    with rasterio.open(SEN / "ph.tif") as src:
        prof = src.profile
    prof.update(dtype="uint8", nodata=0)
    data = np.full((1, 60, 60), 10, dtype="uint8")
    data[:, 30:, :] = 20
    data[:, 50:, 50:] = 50
    out = tmp / "landcover.tif"
    with rasterio.open(out, "w", **prof) as dst:
        dst.write(data)
    return out


def zones_file(tmp: Path, fn) -> Path:
    import geopandas as gpd

    z = gpd.read_file(SEN / "ne10m_admin1_SEN.geojson")
    z = fn(z)
    out = tmp / "zones.gpkg"
    z.to_file(out, driver="GPKG")
    return out


def empty_zones(tmp):
    return zones_file(tmp, lambda z: z.iloc[0:0])


def dup_ids(tmp):
    return zones_file(tmp, lambda z: z.assign(iso_3166_2="SN-XX"))


def invalid_geoms(tmp):
    from shapely.geometry import Polygon

    def fn(z):
        z = z.copy()
        z.loc[z.index[5], "geometry"] = Polygon([(-16.9, 14.1), (-16.2, 14.9), (-16.2, 14.1), (-16.9, 14.9)])
        return z
    return zones_file(tmp, fn)


def folder_layer(tmp: Path) -> Path:
    p = tmp / "ph.tif"
    p.mkdir()
    (p / "readme.txt").write_text("a folder named like a raster\n")
    return p


def looping_link(tmp: Path) -> Path:
    a, b = tmp / "ph.tif", tmp / "other.tif"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def no_geotransform(tmp: Path) -> Path:
    from affine import Affine

    return _rewrite(tmp, "ph.tif", lambda d: d, transform=Affine.identity())


def point_zones(tmp):
    return zones_file(tmp, lambda z: z.set_geometry(z.geometry.representative_point()))


def null_geometry_zone(tmp):
    def fn(z):
        z = z.copy()
        z.loc[z.index[3], "geometry"] = None
        return z
    return zones_file(tmp, fn)


def csv_table(tmp: Path) -> Path:
    p = tmp / "regions.csv"
    p.write_text("iso_3166_2,name\nSN-TH,Thies\n", encoding="utf-8")
    return p


def profile_with(tmp: Path, old: str, new: str) -> Path:
    text = (REPO / "gies/data/products/sorghum.yaml").read_text(encoding="utf-8")
    assert old in text, old
    p = tmp / "sorghum.yaml"
    p.write_text(text.replace(old, new), encoding="utf-8")
    return p


def with_profile(old: str, new: str) -> Callable[[Path], str]:
    def build(tmp: Path) -> str:
        p = profile_with(tmp, old, new)
        text = base(tmp)
        assert "profile: sorghum" in text
        return text.replace("profile: sorghum", f"profile: {p}")
    return build


def cocoa_table_profile(tmp: Path) -> str:
    # the LUMENS cacao table's corrupted cell, as a user would paste it into a profile
    fao = ('limit_sets:\n  fao:\n    method: class_limits\n    source: ecocrop\n    limits:\n'
           '      rainfall: {S1: ["500-1000"], S2: ["21-40"], S3: ["20-Oct"]}\n')
    return with_profile("limit_sets:\n", fao)(tmp)


LAYER_PR = "../data/sample/senegal/pr.tif"

#: (curve, what is wrong, params, the message) for every parameterised scoring curve of
#: gies.methods.registry.CURVES (a test checks that none is missing).
CURVE_CASES = [
    ("trapezoid", "limits out of order", "{limits: [7, 6, 5, 4]}", "a trapezoid needs 4 non-decreasing numbers"),
    ("class_limits", "a spreadsheet date as a range", "{limits: {S1: ['6-7'], S2: ['5-Oct']}}", "spreadsheet date"),
    ("class_interpolated", "overlapping class ranges", "{limits: {S1: ['5-7'], S2: ['6-8']}}", "overlap"),
    ("piecewise_linear", "x values that fall", "{points: [[6, 1], [5, 0]]}", "strictly increasing"),
    ("lookup", "a score above 1", "{table: {1: 2.0}}", "scores must be in [0, 1]"),
    ("linear", "minimum equal to maximum", "{minimum: 5, maximum: 5, lower: 4, upper: 9}", "must differ"),
    ("symmetric_linear", "minimum above maximum", "{minimum: 9, maximum: 4, lower: 4, upper: 9}", "minimum must be below maximum"),
    ("gaussian", "a negative spread", "{midpoint: 5, spread: -1, lower: 0, upper: 60}", "spread must be > 0"),
    ("near", "a spread of 0", "{midpoint: 6.5, spread: 0, lower: 4, upper: 9}", "spread must be > 0"),
    ("small", "a midpoint of 0", "{midpoint: 0, spread: 5, lower: 4, upper: 9}", "midpoint and spread must be > 0"),
    ("large", "a negative spread", "{midpoint: 6.5, spread: -2, lower: 4, upper: 9}", "midpoint and spread must be > 0"),
    ("logistic_growth", "a y intercept above 50 %", "{minimum: 4, maximum: 9, lower: 4, upper: 9, y_intercept_percent: 60}", "y_intercept_percent must be in (0, 50)"),
    ("logistic_decay", "minimum above maximum", "{minimum: 9, maximum: 4, lower: 4, upper: 9}", "minimum must be below maximum"),
    ("power", "an exponent of 0", "{shift: 0, exponent: 0, lower: 4, upper: 9}", "exponent must be > 0"),
    ("exponential", "a base factor of 0", "{shift: 0, base_factor: 0, lower: 4, upper: 9}", "base_factor must be a non-zero number"),
]

# -- origin analysis --------------------------------------------------------------------------
#: Inland cells of the Senegal tile (1 arc-minute): a 5 x 4 lattice of production points.
ORIGIN_POINTS = [(-16.45 + 0.05 * i, 14.35 + 0.05 * j) for i in range(5) for j in range(4)]


def points_csv(tmp: Path, points=ORIGIN_POINTS, header="id,lon,lat") -> Path:
    p = tmp / "farms.csv"
    p.write_text(header + "\n" + "".join(f"f{i},{x},{y}\n" for i, (x, y) in enumerate(points)),
                 encoding="utf-8")
    return p


def with_origin(origin: str, *, points=ORIGIN_POINTS, layers: str = "", header="id,lon,lat",
                model: str = "") -> Callable[[Path], str]:
    """The base pipeline with extra ``layers`` and an origin block; ``{points}`` in
    ``origin`` is the path of a CSV of ``points`` written in tmp."""
    def build(tmp: Path) -> str:
        text = base(tmp)
        if layers:
            text = text.replace("\nproduct:", layers.format(sen=SEN) + "\nproduct:", 1)
        csv = points_csv(tmp, points, header)
        return text + "\n" + origin.format(points=csv, sen=SEN) + model
    return build


def constant_layer(tmp: Path) -> Path:
    return _rewrite(tmp, "ph.tif", lambda d: np.where(np.isfinite(d), 7.0, d))


ORIGIN = """origin:
  points: {{path: {points}, x: lon, y: lat, crs: EPSG:4326, id: id}}
  variables: [temperature, rainfall, ph]
similarity:
  methods: [mess]
"""


CASES: list[Case] = [
    # -- the pipeline file itself -----------------------------------------------------------
    Case("missing-pipeline", "error", "pipeline file does not exist", None, ("file not found",)),
    Case("pipeline-is-folder", "error", "a folder given instead of a file", None, ("is a folder",)),
    Case("empty-file", "error", "empty pipeline file", lambda t: "", ("the file is empty",)),
    Case("yaml-syntax", "error", "YAML syntax error, reported with its line",
         sub("combine: {rule: minimum}", "combine: {rule: minimum"), ("YAML syntax error", ":")),
    Case("top-level-list", "error", "a list instead of a mapping", lambda t: "- a\n- b\n",
         ("expected a mapping",)),
    Case("unknown-key", "error", "unknown top-level key, with a suggestion",
         sub("combine:", "combin:"), ("combin", "did you mean 'combine'")),
    Case("unknown-nested-key", "error", "misspelt key inside a layer",
         sub("    units: mm\n", "    unit: mm\n"), ("layers.rainfall.unit", "did you mean 'units'")),
    Case("missing-required", "error", "required key missing",
         sub("name: senegal-sorghum\n", ""), ("name", "required key is missing")),
    Case("wrong-type", "error", "wrong value type",
         sub("combine: {rule: minimum}", "combine: {rule: minimum}\nprocessing: {chunk: big}"),
         ("processing.chunk", "integer")),
    Case("format-version", "error", "unsupported format_version",
         sub("format_version: 1", "format_version: 2"), ("format_version",)),
    Case("bad-name", "error", "output name with a slash", sub("name: senegal-sorghum", "name: a/b"),
         ("name",)),
    Case("duplicate-key", "error", "the same key twice",
         sub("combine: {rule: minimum}", "combine: {rule: minimum}\ncombine: {rule: minimum}"),
         ("duplicate key 'combine'",)),
    Case("alias-bomb", "error", "YAML alias bomb (billion laughs)",
         lambda t: 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
             f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n'
             for p, c in zip("abcdefgh", "bcdefghi")), ("alias bomb",)),
    Case("python-tag", "error", "a YAML tag that would construct Python objects",
         sub("combine: {rule: minimum}", "combine: !!python/object/apply:os.system ['echo hi']"),
         ("YAML",)),
    Case("unknown-unit", "error", "unknown unit", sub("    units: mm\n", "    units: furlongs\n"),
         ("furlongs", "unknown unit")),
    Case("incompatible-units", "error", "layer units that cannot convert to the factor's",
         sub("    units: mm\n", "    units: degC\n"), ("cannot convert 'degC'",)),
    Case("grid-like-unknown", "error", "grid snapped to a layer that does not exist",
         sub("grid: {like: temperature}", "grid: {like: temp}"), ("grid.like", "did you mean 'temperature'")),
    Case("grid-both-forms", "error", "grid with both forms",
         sub("grid: {like: temperature}", "grid: {like: temperature, crs: 'EPSG:4326', resolution: 1}"),
         ("grid", "not both")),
    Case("grid-negative-resolution", "error", "negative resolution",
         sub("grid: {like: temperature}", "grid: {crs: 'EPSG:4326', resolution: -1}"), ("grid.resolution",)),
    Case("grid-too-large", "error",
         "a resolution in the wrong units: 1e-6° asks for 1e12 cells (processing.max_cells)",
         sub("grid: {like: temperature}", "grid: {crs: 'EPSG:4326', resolution: 0.000001}"),
         ("grid: 1,000,000 × 1,000,000 cells", "processing.max_cells", "TB of output rasters")),
    Case("aoi-inverted-bounds", "error", "AOI bounds in the wrong order",
         sub("bounds: [-17, 14, -16, 15]", "bounds: [-16, 15, -17, 14]"), ("aoi", "xmin < xmax")),
    Case("factor-unknown-layer", "error", "a factor fed by a layer that does not exist",
         sub("  rainfall: {layer: rainfall}", "  rainfall: {layer: rain}"), ("factors.rainfall.layer", "no layer 'rain'")),
    Case("factor-not-in-product", "error", "a factor the product does not have",
         sub("  ph: {layer: ph}", "  ph: {layer: ph}\n  slope: {layer: ph}"), ("factors.slope", "no factor 'slope'")),
    Case("unknown-limit-set", "error", "a limit set the profile does not have",
         sub("limit_set: ecocrop", "limit_set: ecocorp"), ("product.limit_set", "did you mean 'ecocrop'")),
    Case("profile-missing", "error", "product profile file not found",
         sub("profile: sorghum", "profile: sorgum"), ("product.profile", "not found")),
    Case("max-limitation-trapezoid", "error", "maximum limitation with a trapezoid limit set",
         sub("combine: {rule: minimum}", "combine: {rule: maximum_limitation}"), ("combine.rule", "class_limits")),
    Case("override-unknown-factor", "error", "an override for a factor the product lacks",
         sub("  limit_set: ecocrop", "  limit_set: ecocrop\n  overrides: {slope: [0, 0, 8, 30]}"),
         ("product.overrides.slope",)),
    Case("override-bad-trapezoid", "error", "an override that is not a valid trapezoid",
         sub("  limit_set: ecocrop", "  limit_set: ecocrop\n  overrides: {ph: [7, 6, 5, 4]}"),
         ("product.overrides.ph", "non-decreasing")),
    Case("class-scores-out-of-band", "error", "step scores that disagree with the class scheme",
         sub("combine: {rule: minimum}", "combine: {rule: minimum}\nscoring: {class_scores: {S2: 0.9}}"),
         ("scoring.class_scores.S2", "score band")),
    Case("scoring-unknown-on-limit", "error", "an on-limit rule that does not exist",
         sub("combine: {rule: minimum}", "combine: {rule: minimum}\nscoring: {on_limit: closest}"),
         ("scoring.on_limit", "closest", "right_closed")),
    Case("factor-unknown-on-limit", "error", "a factor's own on-limit rule that does not exist",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, method: class_limits, params: {limits: {S1: ['6-7'], S2: ['5-6']}}, on_limit: closest}"),
         ("factors.ph.on_limit", "closest", "left_closed")),
    Case("factor-on-limit-without-class-limits", "error", "an on-limit rule for a factor scored by a trapezoid",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, on_limit: right_closed}"),
         ("factors.ph.on_limit", "'trapezoid'", "class-limit curves only")),
    Case("factor-on-limit-twice", "error", "a factor's on-limit rule given both as its key and in its params",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, method: class_limits, params: {limits: {S1: ['6-7'], S2: ['5-6']}, on_limit: worse}, on_limit: better}"),
         ("factors.ph.on_limit", "given twice")),
    Case("scoring-unknown-bare-number", "error", "a reading of bare numbers that does not exist",
         sub("combine: {rule: minimum}", "combine: {rule: minimum}\nscoring: {bare_number: lower}"),
         ("scoring.bare_number", "lower", "upper")),
    Case("mixed-units-unknown-indicator", "error", "mixed units driven by a layer that does not exist",
         sub("    plausible: [3, 10]", "    plausible: [3, 10]\n    mixed_units: {indicator: soil, readings: [{indicator_range: [3, 10], units: pH}]}"),
         ("layers.ph.mixed_units.indicator", "no layer 'soil'")),
    Case("derive-bad-month", "error", "a month number out of range",
         sub("months: [6, 7, 8, 9, 10]}", "months: [6, 7, 13]}"), ("layers.temperature.derive", "months")),
    Case("seasonal-rainfall-unknown", "error", "an unknown way of scoring the season's rainfall",
         with_seasonal("gmin: 90, gmax: 300, rainfall: dismoo"),
         ("seasonal.rainfall", "'total' or 'dismo'", "dismoo")),
    Case("seasonal-rainfall-dismo-annual", "error", "dismo's rainfall windows with an annual basis",
         with_seasonal("gmin: 90, gmax: 300, basis: annual, rainfall: dismo"),
         ("seasonal.rainfall", "basis: annual", "rainfall: total")),
    # -- the product profile ----------------------------------------------------------------
    Case("profile-corrupted-cell", "error", "a spreadsheet-corrupted cell such as 20-Oct",
         cocoa_table_profile, ("20-Oct", "spreadsheet date")),
    Case("profile-non-monotone-trapezoid", "error", "trapezoid limits out of order",
         with_profile("ph: [5.0, 6.0, 7.0, 8.5]", "ph: [5.0, 7.0, 6.0, 8.5]"),
         ("sorghum.yaml:29: limit_sets.ecocrop.limits.ph", "non-decreasing")),
    Case("profile-wrong-type", "error", "a trapezoid limit that is text",
         with_profile("ph: [5.0, 6.0, 7.0, 8.5]", "ph: [5.0, six, 7.0, 8.5]"), ("ph", "4 non-decreasing numbers")),
    Case("profile-unknown-method", "error", "an unknown scoring method",
         with_profile("method: trapezoid", "method: trapezium"), ("method",)),
    Case("profile-unknown-unit", "error", "an unknown unit in a profile",
         with_profile("units: mm", "units: inches of rain"), ("units", "unknown unit")),
    Case("profile-overlapping-classes", "error", "class ranges that overlap",
         with_profile('rainfall: [300, 500, 1000, 3000]', 'rainfall: {S1: ["500-1000"], S2: ["300-600"]}'),
         ("overlap",)),
    Case("profile-limit-held-twice", "error", "two classes that both hold a limit in writing (>= and <=)",
         with_profile("limit_sets:\n", 'limit_sets:\n  fao:\n    method: class_limits\n    source: ecocrop\n'
                      '    limits:\n      rainfall: {S1: [">=500"], S2: ["<=500"]}\n'),
         ("rainfall", "'>=500' (S1) and '<=500' (S2) both hold the limit 500 in writing")),
    Case("factor-limit-held-twice-bare-upper", "error",
         "a bare number read as an upper bound that holds a limit another class holds",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, method: class_limits, params: {limits: {S1: ['>=6'], S2: ['6']}}}",
             ("combine: {rule: minimum}", "combine: {rule: minimum}\nscoring: {bare_number: upper}")),
         ("factors.ph.params", "both hold the limit 6 in writing")),
    # -- a bad value of every parameterised scoring curve, caught by `gies validate` ----------
    *[Case(f"curve-{name}-bad-value", "error", f"a {name} factor with {what}",
           sub("  ph: {layer: ph}", f"  ph: {{layer: ph, method: {name}, params: {params}}}"),
           (".yaml:45: factors.ph.params", f"{name}:", expect))
      for name, what, params, expect in CURVE_CASES],
    Case("curve-parameter-not-a-number", "error", "a curve parameter given as text",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, method: gaussian, params: {midpoint: six, spread: 1, lower: 4, upper: 9}}"),
         ("factors.ph.params", "'midpoint' must be a number")),
    # -- data files -------------------------------------------------------------------------
    Case("missing-layer-file", "error", "a layer file that does not exist",
         sub("senegal/pr.tif", "senegal/prr.tif"), ("layers.rainfall", "file not found")),
    Case("truncated-geotiff", "error", "a GeoTIFF cut short by a broken download",
         with_file(truncated, "pr.tif"), ("layers.rainfall",), command="run"),
    Case("not-a-raster", "error", "a text file named .tif", with_file(not_a_raster, "pr.tif"),
         ("layers.rainfall", "cannot read")),
    Case("raster-without-crs", "error", "a raster without a coordinate reference system",
         with_file(no_crs, "ph.tif"), ("layers.ph", "no coordinate reference system")),
    Case("layer-is-folder", "error", "a layer path that is a folder",
         with_file(folder_layer, "ph.tif"), ("layers.ph", "is a folder")),
    Case("layer-symlink-loop", "error", "a layer path that is a symbolic link looping on itself",
         with_file(looping_link, "ph.tif"), ("layers.ph", "loops back")),
    Case("raster-no-geotransform", "error", "a raster with a CRS but no geotransform",
         with_file(no_geotransform, "ph.tif"), ("layers.ph", "no georeferencing")),
    Case("zero-overlap", "error", "a layer that does not overlap the AOI",
         with_file(elsewhere, "ph.tif"), ("layers.ph", "no overlap at all")),
    Case("all-nodata", "error", "a layer with no valid value in the AOI",
         with_file(all_nodata, "ph.tif"), ("layers.ph", "no valid cell")),
    Case("all-nodata-run", "error", "the same, found while running",
         with_file(all_nodata, "ph.tif"), ("layers.ph", "no valid cell"), command="run"),
    Case("nodata-tag-common-value", "error",
         "a nodata tag equal to a common valid value: no data on most of the AOI",
         with_file(ph_whole_tagged, "ph.tif"),
         ("layers.ph", "quality.nodata_above = 0.5", "nodata value is 6", "real value"),
         command="run"),
    Case("nodata-tag-some-cells", "warning",
         "a nodata tag that blanks a third of the AOI, far more than the other layers",
         with_file(ph_band_tagged, "ph.tif"),
         ("layers.ph", "median", "nodata value is 6"), command="run"),
    Case("band-out-of-range", "error", "a band the file does not have",
         sub("    units: pH\n", "    units: pH\n    band: 3\n"), ("layers.ph", "band")),
    Case("derive-single-band", "error", "a monthly derivation on a single-band file",
         sub("senegal/ta.tif", "senegal/ph.tif"), ("layers.temperature", "12-band")),
    Case("implausible-values", "warning", "pH stored ×10: every cell outside the plausible range",
         with_file(ph_times_ten, "ph.tif"), ("layers.ph",), command="run"),
    Case("temperature-times-ten", "error", "temperature stored ×10 (WorldClim 1.4 style) declared as °C",
         with_file(lambda t: _rewrite(t, "ta.tif", lambda d: d * 10), "ta.tif"),
         ("layers.temperature", "implausible", "declare scale", "accept_implausible: true")),
    Case("temperature-times-ten-accepted", "warning",
         "the same, accepted after review (accept_implausible: true)",
         lambda t: with_file(lambda t2: _rewrite(t2, "ta.tif", lambda d: d * 10), "ta.tif")(t)
         .replace("    units: degC\n", "    units: degC\n    accept_implausible: true\n", 1),
         ("layers.temperature", "implausible", "accepted: layers.temperature.accept_implausible"),
         command="run"),
    Case("temperature-undeclared-sentinel", "error",
         "temperature with an undeclared -9999 no-data marker on some cells",
         with_file(lambda t: _rewrite(t, "ta.tif", _sentinel), "ta.tif"),
         ("layers.temperature", "implausible", "declare nodata: -9999")),
    Case("partial-overlap", "error", "a layer covering only part of the AOI (coverage: require)",
         with_file(half_tile, "ph.tif"), ("layers.ph", "coverage: warn")),
    Case("partial-overlap-warn", "warning", "the same with coverage: warn",
         lambda t: with_file(half_tile, "ph.tif")(t).replace("plausible: [3, 10]", "plausible: [3, 10]\n    coverage: warn"),
         ("layers.ph", "accepted: layers.ph.coverage: warn"), command="run"),
    Case("unmapped-codes", "error", "a categorical layer with codes missing from the lookup table",
         lambda t: base(t).replace("  ph: {layer: ph}", "  ph: {layer: ph}\n  landcover: {layer: landcover, method: lookup, units: '1', params: {table: {10: 1.0, 20: 0.5}}}")
         .replace("layers:\n", f"layers:\n  landcover: {{path: {codes_raster(t)}, units: '1', kind: categorical}}\n"),
         ("factors.landcover.params.table", "not in the lookup table")),
    Case("unknown-scoring-function", "error", "a factor scored by a function that does not exist",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, method: trapezoidal, params: {limits: [4, 5, 7, 8]}}"),
         ("factors.ph.method", "unknown scoring curve", "did you mean 'trapezoid'")),
    Case("wrong-parameter", "error", "a scoring parameter the function does not take",
         sub("  ph: {layer: ph}", "  ph: {layer: ph, method: gaussian, params: {mid: 6.5, spread: 1, lower: 4, upper: 9}}"),
         ("factors.ph.params", "gaussian")),
    Case("weights-not-normalisable", "error", "weights that are all zero",
         sub("combine: {rule: minimum}", "combine: {rule: weighted_mean, weights: {temperature: 0, rainfall: 0, ph: 0}}"),
         ("combine.weights", "positive sum")),
    Case("weights-missing-factor", "error", "weights that miss a factor",
         sub("combine: {rule: minimum}", "combine: {rule: weighted_mean, weights: {temperature: 1, rainfall: 1}}"),
         ("combine.weights", "exactly once")),
    Case("ahp-inconsistent", "error", "an inconsistent AHP matrix (CR > 0.1)",
         sub("combine: {rule: minimum}", "combine:\n  rule: weighted_mean\n  ahp:\n    factors: [temperature, rainfall, ph]\n    matrix: [[1, 9, 1/9], [1/9, 1, 9], [9, 1/9, 1]]"),
         ("combine.ahp", "consistency ratio")),
    Case("ahp-not-reciprocal", "error", "an AHP matrix that is not reciprocal",
         sub("combine: {rule: minimum}", "combine:\n  rule: weighted_mean\n  ahp:\n    factors: [temperature, rainfall, ph]\n    matrix: [[1, 3, 5], [3, 1, 3], [1/5, 1/3, 1]]"),
         ("combine.ahp", "reciprocal")),
    Case("where-not-parsable", "error", "an exclusion filter that is not FIELD OP VALUE",
         sub("combine: {rule: minimum}", "combine: {rule: minimum}\nconstraints: [{type: vector, path: " + str(SEN / "ne10m_admin1_SEN.geojson") + ", where: \"__import__('os')\"}]"),
         ("constraints.0.where", "FIELD OP VALUE")),
    # -- zones ------------------------------------------------------------------------------
    Case("zones-missing-file", "error", "zones file not found",
         sub("ne10m_admin1_SEN.geojson", "nope.geojson"), ("zones.regions", "file not found")),
    Case("zones-empty", "error", "a zones layer without features",
         with_file(empty_zones, "ne10m_admin1_SEN.geojson"), ("zones.regions", "no features")),
    Case("zones-no-id-field", "error", "zones without the id field",
         sub("id_field: iso_3166_2", "id_field: iso"), ("zones.regions.id_field", "'iso'")),
    Case("zones-duplicate-ids", "error", "duplicate zone ids",
         with_file(dup_ids, "ne10m_admin1_SEN.geojson"), ("zones.regions.id_field", "not unique")),
    Case("zones-not-polygons", "error", "zones that are points (they cover no pixel)",
         with_file(point_zones, "ne10m_admin1_SEN.geojson"), ("zones.regions", "Point", "polygons")),
    Case("zones-csv-table", "error", "a CSV table given as zones",
         with_file(csv_table, "ne10m_admin1_SEN.geojson"), ("zones.regions", "no geometries")),
    Case("zones-null-geometry", "warning", "a zone without geometry (kept, flagged empty, named)",
         with_file(null_geometry_zone, "ne10m_admin1_SEN.geojson"), ("have no geometry",),
         command="run"),
    Case("zones-invalid-geometry", "warning", "a self-crossing polygon, repaired",
         with_file(invalid_geoms, "ne10m_admin1_SEN.geojson"), ("invalid geometr",), command="run"),
    Case("zones-outside", "warning", "zones that fall outside the AOI (kept, flagged empty)",
         lambda t: base(t), ("have no pixel inside the AOI",), command="run"),
    # -- origin analysis --------------------------------------------------------------------
    Case("origin-no-points-in-grid", "error", "origin points that all fall outside the grid",
         with_origin(ORIGIN, points=[(-10.0 - 0.1 * i, 20.0) for i in range(6)]),
         ("origin", "0 reference", "6 records, 0 inside the grid"), command="run"),
    Case("origin-one-point", "error", "a single origin point (too few to describe an environment)",
         with_origin(ORIGIN, points=[(-16.3, 14.5)]),
         ("origin", "1 reference", "at least 5"), command="run"),
    Case("origin-points-wrong-crs", "error", "points in UTM metres declared as EPSG:4326",
         with_origin(ORIGIN, points=[(330000 + 1000 * i, 1600000.0) for i in range(8)]),
         ("origin.points.crs", "not EPSG:4326"), command="run"),
    Case("origin-points-missing-column", "error", "a CSV without the declared coordinate column",
         with_origin(ORIGIN, header="id,x,lat"), ("origin.points.x", "no column 'lon'"),
         command="run"),
    Case("origin-unknown-variable", "error", "an origin variable that is not a layer",
         with_origin(ORIGIN.replace("[temperature, rainfall, ph]", "[temperature, rain]")),
         ("origin.variables.1", "did you mean 'rainfall'")),
    Case("origin-both-forms", "error", "origin with both an area and points",
         with_origin(ORIGIN.replace("  variables:", "  area: {{path: {sen}/ne10m_admin1_SEN.geojson}}\n  variables:"))
         , ("origin", "either 'area'")),
    Case("origin-area-no-match", "error", "an origin area filter that matches no feature",
         with_origin(ORIGIN.replace("  points: {{path: {points}, x: lon, y: lat, crs: EPSG:4326, id: id}}",
                                    "  area: {{path: {sen}/ne10m_admin1_SEN.geojson, where: \"name == 'Atlantis'\"}}")),
         ("origin.area.where", "no feature"), command="run"),
    Case("similarity-unknown-method", "error", "a misspelt similarity method",
         with_origin(ORIGIN.replace("[mess]", "[mes]")), ("similarity.methods.0", "did you mean 'mess'")),
    Case("similarity-bad-parameter", "error", "a similarity parameter value that is not allowed",
         with_origin(ORIGIN.replace("[mess]", "[gower]\n  params: {{gower: {{reduce: max}}}}")),
         ("similarity.methods.0", "gower: reduce")),
    Case("mahalanobis-categorical", "error", "Mahalanobis on a categorical variable (Gower takes it)",
         with_origin(ORIGIN.replace("[temperature, rainfall, ph]", "[temperature, rainfall, soil]")
                     .replace("[mess]", "[gower, mahalanobis]"),
                     layers="  soil: {{path: {sen}/ph.tif, units: '1', kind: categorical}}\n"),
         ("similarity.methods.1", "mahalanobis", "categorical")),
    Case("origin-collinear", "warning", "two origin variables that are the same field (collinear)",
         with_origin(ORIGIN.replace("[temperature, rainfall, ph]", "[temperature, rainfall, ph, ph_again]"),
                     layers="  ph_again: {{path: {sen}/ph.tif, units: pH}}\n"),
         ("collinear",), command="run"),
    Case("origin-constant", "error", "an origin variable constant over the origin (MESS cannot scale it)",
         lambda t: with_origin(ORIGIN.replace("[temperature, rainfall, ph]", "[temperature, rainfall, ph, flat]"),
                               layers=f"  flat: {{{{path: {constant_layer(t)}, units: pH}}}}\n")(t),
         ("similarity.methods", "mess", "constant"), command="run"),
    Case("model-without-points", "error", "a data-driven model on an origin area (it needs presence points)",
         with_origin(ORIGIN.replace("  points: {{path: {points}, x: lon, y: lat, crs: EPSG:4326, id: id}}",
                                    "  area: {{path: {sen}/ne10m_admin1_SEN.geojson}}"),
                     model="model:\n  algorithms: [maxent]\n"),
         ("learns from presence points",)),
    Case("model-background-too-large", "warning", "more background cells asked for than the AOI has",
         with_origin(ORIGIN, model="model:\n  algorithms: [random_forest]\n  params: {random_forest: {n_trees: 20}}\n  background: {n: 50000}\n  cv: {method: random, folds: 3}\n"),
         ("background cells asked for",), command="run"),
    # -- outputs ----------------------------------------------------------------------------
    Case("output-parent-is-file", "error", "output folder whose parent is a file",
         None, ("outputs.dir",), command="run"),
    Case("disk-full", "error", "disk full while writing (injected ENOSPC)", None,
         ("No space left",), command="run"),
    Case("permission-denied", "error", "output not writable (injected EACCES)", None,
         ("Permission denied",), command="run"),
]
