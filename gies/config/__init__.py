"""Pipeline files: pydantic models, validation with file/line/key messages, JSON Schema.

A pipeline file is YAML (see ``pipelines/bungo-cocoa.yaml`` and ``docs/pipeline.md``). It is
loaded with a safe loader that keeps the line of every key (:mod:`gies.yamlio`), validated
against :class:`Pipeline`, then cross-checked (layers referenced by factors exist, the
product profile covers the factors, ...). All problems are collected and raised together in
one :class:`~gies.errors.ConfigError`, each as ``file:line: key.path: what is wrong``.
Relative paths resolve against the pipeline file's folder, not the working directory.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gies.errors import ConfigError, ProfileError, UnitError
from gies.config.products import Profile, find_profile, load_profile
from gies.config.yamlio import LoadedYaml, load_yaml
from gies.methods.class_limits import CLASSES
from gies.units import conversion

__all__ = ["Pipeline", "load_pipeline", "json_schema", "FORMAT_VERSION", "LoadedPipeline"]

FORMAT_VERSION = 1
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reading(_Model):
    """Cells whose indicator value lies in ``indicator_range`` are stored in ``units``."""

    indicator_range: tuple[float, float]
    units: str


class MixedUnits(_Model):
    """A layer whose cells are stored in different units (see docs/design.md).

    The raw value of the ``indicator`` layer decides, cell by cell, which reading applies;
    each reading is converted to the layer's declared ``units``. A cell whose indicator falls
    in no reading's range is implausible under every reading and becomes no data.
    """

    indicator: str
    readings: list[Reading] = Field(min_length=1)


class DeriveSpec(_Model):
    """A layer derived on its own (source) grid, before any resampling.

    From a 12-band monthly stack (band 1 = January): ``mean`` or ``total`` over ``months``
    (default all twelve), ``min``/``max`` over ``months``, or ``count_below`` = number of
    months with a value below ``threshold`` (e.g. dry months: rainfall < 60 mm). From a DEM:
    ``slope`` (units ``%`` or ``deg``) or ``aspect`` (``deg``, clockwise from north), Horn's
    method with true cell sizes (geodesic on geographic DEMs).
    """

    stat: Literal["mean", "total", "min", "max", "count_below", "slope", "aspect"]
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))
    threshold: float | None = None

    @model_validator(mode="after")
    def _check(self) -> DeriveSpec:
        if self.stat in ("slope", "aspect"):
            return self
        if not self.months or any(not 1 <= m <= 12 for m in self.months):
            raise ValueError("months must be numbers 1 (January) to 12 (December)")
        if len(set(self.months)) != len(self.months):
            raise ValueError("months are listed twice")
        if (self.stat == "count_below") != (self.threshold is not None):
            raise ValueError("'threshold' goes with stat 'count_below', and only with it")
        return self


class DepthMeanSpec(_Model):
    """Thickness-weighted mean of depth-interval rasters (e.g. SoilGrids 0-5, 5-15, 15-30 cm)."""

    top: float = Field(ge=0, description="cm")
    bottom: float = Field(gt=0, description="cm")
    paths: dict[str, str] = Field(min_length=1, description='{"0-5": file, "5-15": file, ...} (cm)')

    @model_validator(mode="after")
    def _check(self) -> DepthMeanSpec:
        if not self.bottom > self.top:
            raise ValueError("bottom must be deeper than top")
        for key in self.paths:
            parts = key.split("-")
            if len(parts) != 2 or not all(p.strip().replace(".", "", 1).isdigit() for p in parts):
                raise ValueError(f"depth interval {key!r} must look like '0-5' (cm)")
        return self

    def intervals(self) -> dict[tuple[float, float], str]:
        """``{(top, bottom): path}`` in cm."""
        return {tuple(float(v) for v in k.split("-")): p for k, p in self.paths.items()}


class LayerSpec(_Model):
    """One input raster (or a depth-weighted mean of several)."""

    path: str | None = None
    units: str
    kind: Literal["continuous", "categorical"] = "continuous"
    band: int = Field(1, ge=1, description="1-based band number")
    nodata: float | None = Field(None, description="overrides the file's nodata value")
    scale: float | None = Field(None, description="value = stored * scale + offset")
    offset: float | None = None
    description: str | None = None
    source: str | None = None
    licence: str | None = None
    mixed_units: MixedUnits | None = None
    derive: DeriveSpec | None = None
    plausible: tuple[float, float] | None = Field(
        None, description="plausible range in `units`; values outside become no data"
    )
    crs: str | None = Field(None, description="CRS of a file that has none (never overrides one)")
    resampling: Literal["nearest", "bilinear", "cubic", "average", "mode", "min", "max", "med",
                        "q1", "q3", "sum"] | None = Field(
        None, description="default: bilinear/average (continuous), nearest/mode (categorical)"
    )
    coverage: Literal["require", "warn"] = Field(
        "require", description="a layer not covering the whole AOI is an error, or a warning"
    )
    quantity: str | None = Field(
        None, description="physical quantity for the plausibility check (e.g. rainfall_annual)"
    )
    depth_mean: DepthMeanSpec | None = None
    monthly: bool = Field(False, description="keep all 12 bands (for the seasonal model)")

    @model_validator(mode="after")
    def _source(self) -> LayerSpec:
        if bool(self.path) == bool(self.depth_mean):
            raise ValueError("give either 'path' or 'depth_mean'")
        if self.monthly and (self.derive or self.depth_mean):
            raise ValueError("'monthly' keeps the 12 bands: no 'derive' or 'depth_mean' with it")
        return self


class VectorSpec(_Model):
    """A vector file (GeoPackage, shapefile, GeoJSON, ...)."""

    path: str
    layer: str | None = None


class AoiSpec(_Model):
    """The area of interest: polygons from a vector file, or a bounding box."""

    path: str | None = None
    layer: str | None = None
    bounds: tuple[float, float, float, float] | None = Field(
        None, description="xmin, ymin, xmax, ymax in `crs`"
    )
    crs: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> AoiSpec:
        if bool(self.path) == bool(self.bounds):
            raise ValueError("give either 'path' or 'bounds' (+ 'crs')")
        if self.bounds and not self.crs:
            raise ValueError("'bounds' needs 'crs'")
        if self.bounds and not (self.bounds[0] < self.bounds[2] and self.bounds[1] < self.bounds[3]):
            raise ValueError("bounds must be xmin < xmax and ymin < ymax")
        if self.bounds:
            from pyproj import CRS
            from pyproj.exceptions import CRSError

            try:
                geographic = CRS.from_user_input(self.crs).is_geographic
            except CRSError:
                geographic = False  # an unknown CRS is reported where the grid is built
            if geographic and not (-90 <= self.bounds[1] and self.bounds[3] <= 90):
                raise ValueError(f"bounds {list(self.bounds)} in {self.crs}: latitudes (ymin, "
                                 "ymax) must lie within -90..90 (is the order xmin, ymin, "
                                 "xmax, ymax?)")
        return self


class ZonesSpec(VectorSpec):
    """A zones layer for statistics: one row per feature."""

    id_field: str = Field(min_length=1)
    name_field: str | None = Field(None, min_length=1)


class GridSpec(_Model):
    """Target grid: ``{like: <layer>}`` or ``{crs: ..., resolution: ...}`` from the AOI."""

    like: str | None = None
    crs: str | None = None
    resolution: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_form(self) -> GridSpec:
        if self.like and (self.crs or self.resolution):
            raise ValueError("give either 'like' or 'crs' + 'resolution', not both")
        if not self.like and not (self.crs and self.resolution):
            raise ValueError("give 'like: <layer>' or both 'crs' and 'resolution'")
        return self


class ProductSpec(_Model):
    """The product profile, the limit set to use, and single-limit overrides."""

    profile: str = Field(description=(
        "a profile name (looked up in the profiles shipped with gies, then in "
        "config/products/ of the working folder, then in search_path) or the path of a "
        "profile file (relative to the pipeline file)"))
    limit_set: str
    overrides: dict[str, Any] = {}
    search_path: list[str] = Field(default_factory=list, description=(
        "more folders of profiles for bare names (relative to the pipeline file)"))


class FactorSpec(_Model):
    """A factor, fed by one input layer; scored by the product's limit set unless ``method``
    (with ``params``) is given here."""

    layer: str
    method: str | None = Field(None, description="a scoring function name (see gies/score.py)")
    params: dict[str, Any] = {}
    units: str | None = Field(None, description="units of params (default: the profile's)")
    subclass: Literal["c", "n", "s", "t", "w"] | None = Field(
        None, description="FAO subclass letter (default from the profile group: c, s, t)"
    )


class ScoringSpec(_Model):
    """How class limits are applied (see :mod:`gies.score`)."""

    on_limit: Literal["worse", "better"] = "worse"
    mode: Literal["step", "interpolated"] = Field(
        "step", description="class-limit score: a step per class, or linear within the class"
    )
    class_scores: dict[Literal["S1", "S2", "S3", "N"], float] = {}


class AhpSpec(_Model):
    """A pairwise comparison matrix (Saaty 1980) over ``factors`` (rows and columns)."""

    factors: list[str] = Field(min_length=2)
    matrix: list[list[float | str]]
    allow_inconsistent: bool = False


class CombineSpec(_Model):
    """How factor scores combine (see :mod:`gies.combine`)."""

    rule: Literal["minimum", "maximum_limitation", "weighted_mean", "weighted_geometric_mean",
                  "product", "fuzzy_or", "fuzzy_and", "fuzzy_sum", "fuzzy_product",
                  "fuzzy_gamma", "owa", "grouped"] = "minimum"
    weights: dict[str, float] | None = None
    ahp: AhpSpec | None = None
    gamma: float | None = Field(None, ge=0, le=1)
    order_weights: list[float] | None = None
    groups: dict[str, list[str]] | None = Field(
        None, description="for 'grouped': group -> factors (default: the profile's groups)"
    )
    within: Literal["minimum", "weighted_mean", "weighted_geometric_mean", "product"] = "minimum"
    across: Literal["minimum", "weighted_mean", "weighted_geometric_mean", "product"] = "weighted_mean"
    group_weights: dict[str, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> CombineSpec:
        if self.weights is not None and self.ahp is not None:
            raise ValueError("give 'weights' or 'ahp', not both")
        if self.rule == "fuzzy_gamma" and self.gamma is None:
            raise ValueError("rule 'fuzzy_gamma' needs 'gamma'")
        if self.rule == "owa" and not self.order_weights:
            raise ValueError("rule 'owa' needs 'order_weights'")
        return self


class ConstraintSpec(_Model):
    """An exclusion: excluded pixels get class 253 and their own hectares.

    * ``vector``: polygons of ``path`` (optionally filtered by ``where``, e.g.
      ``"STATUS != 'Proposed'"``), rasterised by ``rule``: ``centre`` (a pixel is excluded
      when its centre is inside) or ``all_touched``;
    * ``codes``: pixels of categorical ``layer`` whose code is in ``codes``;
    * ``threshold``: pixels of ``layer`` (in the layer's units) ``above`` and/or ``below``.
    """

    type: Literal["vector", "codes", "threshold"]
    name: str | None = None
    path: str | None = None
    layer: str | None = None
    where: str | None = None
    rule: Literal["centre", "all_touched"] = "centre"
    codes: list[int] | None = None
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _check(self) -> ConstraintSpec:
        need = {"vector": ("path",), "codes": ("layer", "codes"), "threshold": ("layer",)}[self.type]
        missing = [k for k in need if getattr(self, k) in (None, [])]
        if missing:
            raise ValueError(f"a {self.type!r} constraint needs {', '.join(missing)}")
        if self.type == "threshold" and self.above is None and self.below is None:
            raise ValueError("a 'threshold' constraint needs 'above' and/or 'below'")
        return self


class ImproveSpec(_Model):
    """Potential suitability: factor classes improved by management at an input level."""

    level: Literal["low", "medium", "high"]
    table: str = Field(description="LaSEM-style intervention table (CSV)")
    parameters: dict[str, str] = Field(
        min_length=1, description="factor -> the table's name_parameter"
    )


class SeasonalSpec(_Model):
    """Ecocrop's seasonal model on 12-band monthly layers (see gies/ecocrop.py)."""

    tavg: str
    prec: str
    tmin: str | None = None
    gmin: int = Field(ge=1, le=365, description="shortest crop cycle, days")
    gmax: int = Field(ge=1, le=365, description="longest crop cycle, days")
    ktmp: float | None = Field(None, description="killing temperature, degC (None: unknown)")
    basis: Literal["season", "annual"] = "season"


class ClassifySpec(_Model):
    """Absolute score thresholds for classes."""

    scheme: Literal["fao"] = "fao"
    subclasses: bool = Field(
        True, description="write FAO subclasses and the count of limiting factors "
        "(class-limit methods only)"
    )
    thresholds: dict[Literal["S1", "S2", "S3"], float] = {}


class ZonalSpec(_Model):
    """Zone statistics options."""

    suitable: list[Literal["S1", "S2", "S3", "N"]] = Field(
        default_factory=lambda: ["S1", "S2"], min_length=1,
        description="classes counted as suitable land",
    )


class OutputSpec(_Model):
    """Where outputs go (relative to the pipeline file)."""

    dir: str = "../outputs"
    language: Literal["en", "fr"] = Field("en", description="language of maps and report")
    disclaimer: str | None = Field(
        None, description="boundary disclaimer on maps and report (default: FAO's)"
    )
    keep_runs: int = Field(3, ge=1, description="complete runs kept under <dir>/.runs/<name>")
    factor_scores: bool = Field(
        True, description="write score_<factor>.tif and the per-factor zone statistics"
    )
    publish: bool = Field(
        True, description="write styles, project.qgz, maps and report.html (QGIS-ready folder)"
    )
    xlsx: bool = Field(True, description="write zone_stats.xlsx")
    compression: Literal["zstd", "deflate"] = Field("zstd", description=(
        "codec of the output COGs (with a predictor): 'zstd' writes about twice as fast as "
        "'deflate' for files of the same size; 'deflate' for software whose GDAL lacks ZSTD "
        "(GDAL before 2.3, some older ArcGIS releases)"))


class QualitySpec(_Model):
    """What to do with a factor whose layer lost many cells to unit and plausibility checks."""

    drop_factor_above: float = Field(
        0.5, ge=0, le=1,
        description="share of a layer's valid cells set to no data by quality checks above "
        "which the factors using it are dropped (with a warning) instead of turning the "
        "cells into no data; 1 never drops",
    )


class ProcessingSpec(_Model):
    """Chunking (fixed by the pipeline, so results never depend on memory settings)."""

    chunk: int = Field(1024, ge=64, le=16384)
    layer_cache: bool = Field(False, description=(
        "keep the harmonised layers in <outputs.dir>/.cache and reuse them in later runs "
        "whose inputs, layer settings, grid and chunk are unchanged (re-runs after a change "
        "of requirements, weights or classes skip the warp); writing them costs about half "
        "the warp's time on the first run"))
    warp_engine: Literal["gies", "gdal"] = Field("gies", description=(
        "who resamples layers onto the grid: 'gies' computes nearest and bilinear with "
        "GDAL's formulas in compiled kernels (2-5x less CPU; GDAL still does every other "
        "method), 'gdal' sends every layer to GDAL's warper; values agree within 1e-3 "
        "source pixels of position"))


class Pipeline(_Model):
    """A suitability study (see ``docs/pipeline.md``)."""

    format_version: Literal[1]
    name: str = Field(pattern=_NAME)
    title: str
    country: str | None = None
    aoi: AoiSpec
    zones: dict[str, ZonesSpec] = Field(
        min_length=1, description="zones layers by name (e.g. admin1, admin2), each with its statistics"
    )
    grid: GridSpec
    layers: dict[str, LayerSpec] = Field(min_length=1)
    product: ProductSpec
    factors: dict[str, FactorSpec] = Field(min_length=1)
    scoring: ScoringSpec = ScoringSpec()
    combine: CombineSpec = CombineSpec()
    classify: ClassifySpec = ClassifySpec()
    outputs: OutputSpec = OutputSpec()
    quality: QualitySpec = QualitySpec()
    constraints: list[ConstraintSpec] = []
    improve: ImproveSpec | None = None
    seasonal: SeasonalSpec | None = None
    zonal: ZonalSpec = ZonalSpec()
    processing: ProcessingSpec = ProcessingSpec()


class LoadedPipeline:
    """A validated pipeline with its resolved paths and product profile."""

    def __init__(self, config: Pipeline, path: Path, profile: Profile, raw: dict):
        self.config = config
        self.path = path
        self.base = path.parent
        self.profile = profile
        self.raw = raw

    def resolve(self, p: str) -> Path:
        """A path from the file, resolved against the pipeline file's folder."""
        q = Path(p).expanduser()
        return q if q.is_absolute() else (self.base / q).resolve()

    @property
    def limit_set(self):
        """The profile's limit set chosen by the pipeline, with overrides applied."""
        ls = self.profile.limit_sets[self.config.product.limit_set]
        limits = {**ls.limits, **self.config.product.overrides}
        return ls.model_copy(update={"limits": limits})

    @property
    def output_dir(self) -> Path:
        """The folder holding this pipeline's current result."""
        return self.resolve(self.config.outputs.dir) / self.config.name


def _did_you_mean(word: str, options) -> str:
    options = [str(o) for o in options]
    match = difflib.get_close_matches(str(word), options, n=1)
    if not match:  # a truncated name ("temp" for "temperature") is a likely slip too
        match = [o for o in options if len(str(word)) >= 3 and o.startswith(str(word))][:1]
    return f" (did you mean {match[0]!r}?)" if match else ""


def _pydantic_problems(exc: ValidationError, y: LoadedYaml) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(map(str, loc)) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            parent = loc[:-1]
            fields = _fields_at(Pipeline, parent)
            msg = f"unknown key{_did_you_mean(loc[-1], fields)}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("missing",):
            msg = f"{msg} (got {err['input']!r})"
        out.append(f"{y.where(loc)}: {key}: {msg}")
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found at key path ``loc`` (user keys of dicts skipped)."""
    import typing

    skip_next = False
    for part in loc:
        if skip_next or isinstance(part, int):
            skip_next = False
            continue
        if model is None:
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        args = typing.get_args(ann)
        origin = typing.get_origin(ann)
        if origin is dict:
            skip_next = True
            args = args[1:]
        flat = []
        for a in (ann, *args):
            flat += [a, *typing.get_args(a)]
        model = next((a for a in flat if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(model.model_fields) if model else []


def _cross_check(cfg: Pipeline, y: LoadedYaml, profile: Profile | None) -> list[str]:
    problems = []

    def at(*loc) -> str:
        return f"{y.where(loc)}: {'.'.join(map(str, loc))}"

    for name, spec in cfg.layers.items():
        units = [(("units",), spec.units)]
        if spec.mixed_units:
            units += [(("mixed_units", "readings", i, "units"), r.units)
                      for i, r in enumerate(spec.mixed_units.readings)]
        for loc, unit in units:
            try:
                conversion(unit, spec.units)
            except UnitError as exc:
                problems.append(f"{at('layers', name, *loc)}: {exc}")
        if spec.mixed_units and spec.mixed_units.indicator not in cfg.layers:
            problems.append(
                f"{at('layers', name, 'mixed_units', 'indicator')}: no layer "
                f"{spec.mixed_units.indicator!r}{_did_you_mean(spec.mixed_units.indicator, cfg.layers)}"
            )
    if cfg.grid.like and cfg.grid.like not in cfg.layers:
        problems.append(f"{at('grid', 'like')}: no layer {cfg.grid.like!r}{_did_you_mean(cfg.grid.like, cfg.layers)}")
    for fname, f in cfg.factors.items():
        if f.layer not in cfg.layers:
            problems.append(f"{at('factors', fname, 'layer')}: no layer {f.layer!r}{_did_you_mean(f.layer, cfg.layers)}")
    if profile is None:
        return problems
    sets = profile.limit_sets
    if cfg.product.limit_set not in sets:
        problems.append(
            f"{at('product', 'limit_set')}: profile {profile.product!r} has no limit set "
            f"{cfg.product.limit_set!r} (it has {', '.join(sets)})"
            f"{_did_you_mean(cfg.product.limit_set, sets)}"
        )
        return problems
    ls = sets[cfg.product.limit_set]
    for fname, fspec in cfg.factors.items():
        if fspec.method:
            continue  # scored by its own method and params (checked in _check_methods)
        if fname not in profile.factors:
            problems.append(
                f"{at('factors', fname)}: product {profile.product!r} has no factor {fname!r}"
                f"{_did_you_mean(fname, profile.factors)}"
            )
        elif fname not in ls.limits and fname not in cfg.product.overrides:
            problems.append(
                f"{at('factors', fname)}: limit set {cfg.product.limit_set!r} of {profile.product!r} "
                f"has no limits for {fname!r} (it has {', '.join(ls.limits)}); remove the factor "
                "or give limits under product.overrides"
            )
        else:
            layer = cfg.layers.get(cfg.factors[fname].layer)
            if layer is not None:
                try:
                    conversion(layer.units, profile.factors[fname].units)
                except UnitError as exc:
                    problems.append(f"{at('layers', cfg.factors[fname].layer, 'units')}: factor {fname!r}: {exc}")
    for fname, value in cfg.product.overrides.items():
        where = f"{at('product', 'overrides', fname)}"
        if fname not in profile.factors:
            problems.append(f"{where}: not a factor of {profile.product!r}{_did_you_mean(fname, profile.factors)}")
            continue
        try:
            from gies.methods.registry import CURVES, check_call, sample_layer

            param = CURVES[ls.method].profile_param
            problem = check_call(CURVES[ls.method], sample_layer(),
                                 {param: value} if param else dict(value))
            if problem:
                raise ProfileError([f"{where}: {p}" for p in problem.splitlines()])
        except ProfileError as exc:
            problems.extend(exc.problems)
    if cfg.combine.rule == "maximum_limitation" and ls.method != "class_limits":
        problems.append(
            f"{at('combine', 'rule')}: 'maximum_limitation' needs a class_limits limit set; "
            f"{cfg.product.limit_set!r} uses {ls.method!r} (use rule: minimum)"
        )
    import re

    for zname in cfg.zones:
        if not re.match(_NAME, zname):
            problems.append(f"{at('zones', zname)}: zones layer names use letters, digits, '-', '_' or '.'")
    problems += _check_methods(cfg, y, profile, ls)
    if cfg.scoring.class_scores:
        scores = {**{"S1": 1.0, "S2": 0.7, "S3": 0.5, "N": 0.0}, **cfg.scoring.class_scores}
        vals = [scores[c] for c in CLASSES]
        if not all(0 <= v <= 1 for v in vals) or vals != sorted(vals, reverse=True):
            problems.append(f"{at('scoring', 'class_scores')}: scores must fall from S1 to N within [0, 1], got {scores}")
        from gies.methods.schemes import SCHEMES

        base = SCHEMES[cfg.classify.scheme]
        t = {"S1": base.s1, "S2": base.s2, "S3": base.s3, **cfg.classify.thresholds}
        bands = {"S1": (t["S1"], 1.0), "S2": (t["S2"], t["S1"]), "S3": (t["S3"], t["S2"]), "N": (0.0, t["S3"])}
        for c, v in scores.items():
            lo, hi = bands[c]
            if not (lo <= v <= hi) or (c != "S1" and v == hi):
                problems.append(
                    f"{at('scoring', 'class_scores', c)}: {v} is outside the {c} score band "
                    f"[{lo}, {hi}{']' if c == 'S1' else ')'} of the class scheme, so classes "
                    "derived from scores would disagree with the factor classes"
                )
    return problems


def _check_methods(cfg: Pipeline, y: LoadedYaml, profile: Profile, ls) -> list[str]:
    """Scoring methods and parameters, weights, AHP, groups, constraints, improvement rules
    and the seasonal model: every reference resolved before any pixel is read."""
    import inspect

    from gies.methods.registry import CURVES as SCORERS

    problems: list[str] = []

    def at(*loc) -> str:
        return f"{y.where(loc)}: {'.'.join(map(str, loc))}"

    names = list(cfg.factors) + (["seasonal"] if cfg.seasonal else [])
    for fname, f in cfg.factors.items():
        if not f.method:
            continue
        if f.method in ("class_limits", "class_interpolated", "trapezoid"):
            if "limits" not in f.params:
                problems.append(f"{at('factors', fname, 'params')}: method {f.method!r} needs params.limits")
        elif f.method not in SCORERS:
            problems.append(f"{at('factors', fname, 'method')}: unknown scoring function {f.method!r}"
                            f"{_did_you_mean(f.method, SCORERS)} (known: {', '.join(sorted(SCORERS))})")
            continue
        else:
            sig = inspect.signature(SCORERS[f.method].func)
            try:
                sig.bind(None, **f.params)
            except TypeError as exc:
                problems.append(f"{at('factors', fname, 'params')}: {f.method}: {exc}")
        if fname not in profile.factors and not f.units:
            problems.append(f"{at('factors', fname)}: {fname!r} is not a factor of {profile.product!r}: "
                            "give its 'units'")
        units = f.units or (profile.factors[fname].units if fname in profile.factors else None)
        layer = cfg.layers.get(f.layer)
        if units and layer is not None:
            try:
                conversion(layer.units, units)
            except UnitError as exc:
                problems.append(f"{at('factors', fname, 'units')}: {exc}")
    c = cfg.combine
    if c.weights is not None:
        target = sorted(set(c.groups or {}) or {profile.factors[f].group for f in cfg.factors if f in profile.factors}) \
            if c.rule == "grouped" else sorted(names)
        if sorted(c.weights) != target:
            problems.append(f"{at('combine', 'weights')}: weights must name each of {target} exactly once, "
                            f"got {sorted(c.weights)}")
        elif any(w < 0 for w in c.weights.values()) or sum(c.weights.values()) <= 0:
            problems.append(f"{at('combine', 'weights')}: weights must be >= 0 with a positive sum "
                            "(they are normalised to sum 1)")
    if c.ahp is not None:
        from gies.methods.ahp import ahp

        try:
            ahp(c.ahp.factors, c.ahp.matrix, allow_inconsistent=c.ahp.allow_inconsistent)
        except ValueError as exc:
            problems.append(f"{at('combine', 'ahp')}: {exc}")
    if c.weights is None and c.ahp is None and c.rule in ("weighted_mean", "weighted_geometric_mean"):
        pass  # equal weights
    if c.groups:
        listed = [f for fs in c.groups.values() for f in fs]
        unknown = sorted(set(listed) - set(names))
        if unknown:
            problems.append(f"{at('combine', 'groups')}: not factors of this pipeline: {unknown}")
        missing = sorted(set(names) - set(listed))
        if missing and c.rule == "grouped":
            problems.append(f"{at('combine', 'groups')}: factors in no group: {missing}")
    if c.order_weights is not None and len(c.order_weights) != len(names):
        problems.append(f"{at('combine', 'order_weights')}: {len(names)} factors need "
                        f"{len(names)} order weights, got {len(c.order_weights)}")
    for i, con in enumerate(cfg.constraints):
        if con.layer and con.layer not in cfg.layers:
            problems.append(f"{at('constraints', i, 'layer')}: no layer {con.layer!r}{_did_you_mean(con.layer, cfg.layers)}")
        if con.type == "codes" and con.layer in cfg.layers and cfg.layers[con.layer].kind != "categorical":
            problems.append(f"{at('constraints', i, 'layer')}: a 'codes' constraint needs a categorical layer")
        if con.where:
            from gies.stages.plan import parse_where

            try:
                parse_where(con.where)
            except ValueError as exc:
                problems.append(f"{at('constraints', i, 'where')}: {exc}")
    if cfg.improve:
        if ls.method != "class_limits" or cfg.combine.rule != "maximum_limitation":
            problems.append(f"{at('improve')}: improvement rules need a class_limits limit set "
                            "and combine.rule: maximum_limitation")
        unknown = sorted(set(cfg.improve.parameters) - set(cfg.factors))
        if unknown:
            problems.append(f"{at('improve', 'parameters')}: not factors of this pipeline: {unknown}")
        table = (y.path.parent / cfg.improve.table) if not Path(cfg.improve.table).is_absolute() \
            else Path(cfg.improve.table)
        try:
            from gies.methods.improve import read_intervention_table

            rows = read_intervention_table(table)
            bad = sorted(r for r in cfg.improve.parameters.values() if r not in rows)
            if bad:
                problems.append(f"{at('improve', 'parameters')}: no row {bad} in {table}")
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{at('improve', 'table')}: cannot read {table}: {exc}")
    if cfg.seasonal:
        for key in ("tavg", "prec", "tmin"):
            name = getattr(cfg.seasonal, key)
            if name is None:
                continue
            if name not in cfg.layers:
                problems.append(f"{at('seasonal', key)}: no layer {name!r}{_did_you_mean(name, cfg.layers)}")
            elif not cfg.layers[name].monthly:
                problems.append(f"{at('seasonal', key)}: layer {name!r} needs 'monthly: true' (12 bands)")
        if ls.method != "trapezoid" or not {"temperature", "rainfall"} <= set(ls.limits):
            problems.append(f"{at('seasonal')}: the seasonal model needs a trapezoid limit set with "
                            "'temperature' and 'rainfall' limits")
        if cfg.seasonal.gmin > cfg.seasonal.gmax:
            problems.append(f"{at('seasonal', 'gmin')}: gmin is longer than gmax")
    return problems


def load_pipeline(path: str | Path) -> LoadedPipeline:
    """Load, validate and cross-check a pipeline file (no pixel is read).

    Raises :class:`ConfigError` listing every problem found.
    """
    path = Path(path).resolve() if Path(path).exists() else Path(path)
    y = load_yaml(path)
    if not isinstance(y.data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    try:
        cfg = Pipeline.model_validate(y.data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, y)
        lenient = _without_bad_keys(y.data, exc)
        if lenient is not None:  # report the later checks too, on what was valid
            try:
                cfg = Pipeline.model_validate(lenient)
                problems += _later_problems(cfg, y, path.parent)
            except ValidationError:
                pass
        raise ConfigError(problems) from None
    problems = _later_problems(cfg, y, path.parent)
    if problems:
        raise ConfigError(problems)
    return LoadedPipeline(cfg, path, load_profile(find_profile(
        cfg.product.profile, base=path.parent, extra=cfg.product.search_path)), y.data)


def _without_bad_keys(data: dict, exc: ValidationError) -> dict | None:
    """A copy of ``data`` without unknown keys and with optional sections that failed removed,
    or None when a required part is broken (nothing more can be checked)."""
    import copy

    out = copy.deepcopy(data)
    for err in exc.errors():
        loc = tuple(err["loc"])
        if not loc:
            return None
        if err["type"] == "extra_forbidden":
            parent = out
            try:
                for part in loc[:-1]:
                    parent = parent[part]
            except (KeyError, IndexError, TypeError):
                continue  # already removed with its section
            if not isinstance(parent, dict):
                continue
            value = parent.pop(loc[-1], None)
            # a misspelt key most likely means its suggestion: check the rest as if it did
            match = difflib.get_close_matches(str(loc[-1]), _fields_at(Pipeline, loc[:-1]), n=1)
            if match and match[0] not in parent:
                parent[match[0]] = value
        elif loc[0] in Pipeline.model_fields and not Pipeline.model_fields[loc[0]].is_required():
            out.pop(loc[0], None)
        else:
            return None
    return out


def _later_problems(cfg: Pipeline, y: LoadedYaml, base: Path) -> list[str]:
    """Checks that need a schema-valid file: profile, references between keys, units."""
    profile = None
    problems: list[str] = []
    try:
        profile = load_profile(find_profile(cfg.product.profile, base=base,
                                            extra=cfg.product.search_path))
    except ProfileError as exc:
        problems += [f"{y.where(('product', 'profile'))}: product.profile: {p}" for p in exc.problems]
    return problems + _cross_check(cfg, y, profile)


def json_schema() -> dict:
    """JSON Schema of pipeline files, for editors (``gies schema``)."""
    schema = Pipeline.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gies pipeline file"
    return schema
