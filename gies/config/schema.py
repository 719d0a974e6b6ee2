"""The pipeline file's schema: pydantic models of every section (see ``docs/pipeline.md``).

Names of methods (scoring curves, combination rules, class schemes, derivations, the
seasonal model, resampling methods) are checked against their registries
(:mod:`gies.methods.registry`), which also give the JSON Schema its enums: the registries are
the one list of names. Cross-checks between sections and the dry runs of the methods'
parameters are in :mod:`gies.config.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gies.config.where import parse_where
from gies.methods.registry import (
    CLASS_RULES,
    CURVES,
    DERIVATIONS,
    RESAMPLING,
    RULES,
    SCHEMES,
    SEASONAL,
    SIMILARITY,
    ALGORITHMS,
    Registry,
)

__all__ = ["Reading", "MixedUnits", "DeriveSpec", "DepthMeanSpec", "LayerSpec", "VectorSpec", "AoiSpec", "ZonesSpec", "GridSpec", "ProductSpec", "FactorSpec", "ScoringSpec", "AhpSpec", "CombineSpec", "ConstraintSpec", "ImproveSpec", "SeasonalSpec", "ClassifySpec", "ZonalSpec", "OutputSpec", "QualitySpec", "ProcessingSpec", "OriginAreaSpec", "OriginPointsSpec", "OriginSpec", "AgreementSpec", "SimilaritySpec", "BackgroundSpec", "CvSpec", "ModelSpec", "Pipeline",
           "FORMAT_VERSION", "NAME_PATTERN", "registered"]

FORMAT_VERSION = 1
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_NAME = NAME_PATTERN


def registered(*registries: Registry, exclude: tuple[str, ...] = ()) -> Any:
    """A ``str`` field holding a name of one of ``registries`` (aliases included, ``exclude``
    left out): an unknown name is an error with did-you-mean and the known names; the JSON
    Schema lists the names as an enum."""
    def names() -> list[str]:
        return [n for r in registries for n in r.names(with_aliases=True)
                if n not in exclude and r.canonical(n) not in exclude]

    def check(value: str) -> str:
        if value not in names():
            reg = next((r for r in registries if value in r), registries[0])
            text = reg.unknown(value) if value not in reg else \
                f"{reg.what} {value!r} is not allowed here (allowed: {', '.join(names())})"
            if len(registries) > 1 and value not in reg:
                from gies.methods.registry import did_you_mean

                text = (f"unknown {' or '.join(r.what for r in registries)} {value!r}"
                        f"{did_you_mean(value, names())} (known: {', '.join(names())})")
            raise PydanticCustomError("unknown_name", "{text}", {"text": text})
        return value

    return Annotated[str, AfterValidator(check),
                     WithJsonSchema({"type": "string", "enum": names()})]


class _Model(BaseModel):
    # frozen: a loaded pipeline is a value (LoadedPipeline.replace returns a new one)
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    stat: registered(DERIVATIONS)
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))
    threshold: float | None = None

    @model_validator(mode="after")
    def _check(self) -> DeriveSpec:
        if DERIVATIONS[self.stat].extra.get("input") == "dem":
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
    resampling: registered(RESAMPLING) | None = Field(
        None, description="default: bilinear/average (continuous), nearest/mode (categorical)"
    )
    coverage: Literal["require", "warn"] = Field(
        "require", description="a layer not covering the whole AOI is an error, or a warning"
    )
    quantity: str | None = Field(
        None, description="physical quantity for the plausibility check (e.g. rainfall_annual)"
    )
    accept_implausible: bool = Field(
        False, description="after review, accept values that fail the plausibility check of "
        "the layer's quantity (a warning, recorded in the manifest, instead of an error)"
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
            from pyproj import CRS  # noqa: PLC0415 - pyproj only for a bounds AOI
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


OnLimit = Literal["worse", "better", "right_closed", "left_closed"]


class FactorSpec(_Model):
    """A factor, fed by one input layer; scored by the product's limit set unless ``method``
    (with ``params``) is given here."""

    layer: str
    method: registered(CURVES) | None = Field(
        None, description="a scoring curve (docs/methods.md); default: the limit set's")
    params: dict[str, Any] = {}
    units: str | None = Field(None, description="units of params (default: the profile's)")
    subclass: Literal["c", "n", "s", "t", "w"] | None = Field(
        None, description="FAO subclass letter (default from the profile group: c, s, t)"
    )
    on_limit: OnLimit | None = Field(
        None, description="class limits: this factor's on-limit rule (default: scoring.on_limit)")


class ScoringSpec(_Model):
    """How class limits are applied (see :mod:`gies.methods.class_limits`)."""

    on_limit: OnLimit = Field("worse", description=(
        "a value on a limit shared by two classes: worse / better class, or the range that "
        "ends (right_closed, (a, b]) or starts (left_closed, [a, b)) there on the value axis"))
    bare_number: Literal["value", "upper"] = Field("value", description=(
        "a bare number in a class-limit table: that value, or an upper bound (n and below, "
        "as in LaSEM tables)"))
    signs: Literal["shared", "strict"] = Field("shared", description=(
        "'>a' and '<a' in a class-limit table: a limit shared with the next range (on_limit "
        "decides), or strict (a is not in the range, whatever on_limit says)"))
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
    """How factor scores combine (see :mod:`gies.methods.rules`)."""

    rule: registered(RULES, CLASS_RULES) = "minimum"
    weights: dict[str, float] | None = None
    ahp: AhpSpec | None = None
    gamma: float | None = Field(None, ge=0, le=1)
    order_weights: list[float] | None = None
    groups: dict[str, list[str]] | None = Field(
        None, description="for 'grouped': group -> factors (default: the profile's groups)"
    )
    within: registered(RULES, exclude=("grouped",)) = "minimum"
    across: registered(RULES, exclude=("grouped",)) = "weighted_mean"
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

    @field_validator("where")
    @classmethod
    def _where(cls, v: str | None) -> str | None:
        if v is not None:
            parse_where(v)  # a ValueError names what is wrong
        return v

    @property
    def filter(self) -> tuple[str, str, Any] | None:
        """``where`` parsed into ``(field, operator, value)`` (:func:`gies.config.where.parse_where`)."""
        return None if self.where is None else parse_where(self.where)


class ImproveSpec(_Model):
    """Potential suitability: factor classes improved by management at an input level."""

    level: Literal["low", "medium", "high"]
    table: str = Field(description="LaSEM-style intervention table (CSV)")
    parameters: dict[str, str] = Field(
        min_length=1, description="factor -> the table's name_parameter"
    )


class SeasonalSpec(_Model):
    """A seasonal model on 12-band monthly layers (``ecocrop``: gies.methods.ecocrop)."""

    model: registered(SEASONAL) = "ecocrop"
    tavg: str
    prec: str
    tmin: str | None = None
    gmin: int = Field(ge=1, le=365, description="shortest crop cycle, days")
    gmax: int = Field(ge=1, le=365, description="longest crop cycle, days")
    ktmp: float | None = Field(None, description="killing temperature, degC (None: unknown)")
    basis: Literal["season", "annual"] = "season"
    rainfall: Literal["total", "dismo"] = Field("total", description=(
        "how the season's rainfall is scored: 'total' (the rain total of basis, once) or "
        "'dismo' (dismo's .doEcocrop: the window of months k-1 .. k+duration for every month "
        "k of the season, the worst kept; basis: season only)"))


class ClassifySpec(_Model):
    """Absolute score thresholds for classes."""

    scheme: registered(SCHEMES) = "fao"
    subclasses: bool = Field(
        True, description="write FAO subclasses and the count of limiting factors "
        "(class-limit methods only)"
    )
    thresholds: dict[str, float] = Field(default_factory=dict, description=(
        "lowest score of some classes of the scheme, e.g. {S1: 0.75, S2: 0.5, S3: 0.25}"))


class ZonalSpec(_Model):
    """Zone statistics options."""

    suitable: list[str] | None = Field(
        None, min_length=1,
        description="classes counted as suitable land (default: the scheme's, fao: S1, S2)",
    )


class OutputSpec(_Model):
    """Where outputs go (relative to the pipeline file)."""

    dir: str = "../outputs"
    language: Literal["en", "fr"] = Field("en", description="language of maps and report")
    disclaimer: str | None = Field(
        None, description="boundary disclaimer on maps and report (default: FAO's)"
    )
    keep_runs: int = Field(3, ge=1, description="complete runs kept: the current one in "
                           "<dir>/<name> and the earlier ones under <dir>/.runs/<name>")
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
    """What to do with a factor whose layer lost many cells to unit and plausibility checks,
    and with a layer that is no data over much of the AOI."""

    drop_factor_above: float = Field(
        0.5, ge=0, le=1,
        description="share of a layer's valid cells set to no data by quality checks above "
        "which the factors using it are dropped (with a warning) instead of turning the "
        "cells into no data; 1 never drops",
    )
    nodata_above: float = Field(
        0.5, ge=0, le=1,
        description="share of the AOI's cells on which a scored factor's layer is no data "
        "above which the run stops (a wrong nodata tag, e.g. 0 on a layer where 0 is a real "
        "value, looks like this); cells set to no data by the unit and plausibility checks "
        "count too; a factor dropped under drop_factor_above is not checked; 1 never stops",
    )


class ProcessingSpec(_Model):
    """Chunking (fixed by the pipeline, so results never depend on memory settings)."""

    chunk: int = Field(1024, ge=64, le=16384)
    layer_cache: bool = Field(False, description=(
        "keep the harmonised layers in <outputs.dir>/.cache and reuse them in later runs "
        "whose inputs, layer settings, grid and chunk are unchanged (re-runs after a change "
        "of requirements, weights or classes skip the warp); writing them costs about half "
        "the warp's time on the first run"))
    max_cells: float = Field(2e9, gt=0, description=(
        "largest grid (rows × columns) a run accepts; a bigger one is refused with the cells, "
        "output size and time it would take (a resolution in the wrong units, e.g. 0.001 on "
        "a grid in metres, asks for 1e16 cells); national grids and 1 Gpx fit the default"))
    warp_engine: Literal["gies", "gdal"] = Field("gies", description=(
        "who resamples layers onto the grid: 'gies' computes nearest and bilinear with "
        "GDAL's formulas in compiled kernels (2-5x less CPU; GDAL still does every other "
        "method), 'gdal' sends every layer to GDAL's warper; values agree within 1e-3 "
        "source pixels of position"))


class OriginAreaSpec(VectorSpec):
    """The origin as polygons: the recognised area of a geographical indication, a land-use
    zone, ... (``where`` selects features by attribute)."""

    where: str | None = Field(None, description="attribute filter, e.g. \"id == 'Plantation'\"")

    @field_validator("where")
    @classmethod
    def _parsable(cls, v: str | None) -> str | None:
        if v is not None:
            parse_where(v)
        return v

    @property
    def filter(self) -> tuple[str, str, Any] | None:
        """``where`` parsed into ``(field, operator, value)``."""
        return None if self.where is None else parse_where(self.where)


class OriginPointsSpec(_Model):
    """The origin as production points (farms, cooperatives, presence records): a CSV file
    with coordinate columns, or a vector file of points."""

    path: str
    x: str | None = Field(None, description="CSV: column of x / longitude")
    y: str | None = Field(None, description="CSV: column of y / latitude")
    crs: str | None = Field(None, description="CRS of the coordinates (CSV: required)")
    id: str | None = Field(None, description="column naming each point in messages (default: its row number)")
    layer: str | None = None

    @model_validator(mode="after")
    def _csv_columns(self) -> OriginPointsSpec:
        if self.path.lower().endswith((".csv", ".txt")):
            missing = [k for k in ("x", "y", "crs") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a CSV of points needs {', '.join(map(repr, missing))} "
                                 "(the coordinate columns and their CRS)")
        return self


class OriginSpec(_Model):
    """Where the product comes from, and the layers that describe its environment."""

    area: OriginAreaSpec | None = None
    points: OriginPointsSpec | None = None
    variables: list[str] = Field(min_length=1, description="layers of this pipeline")
    max_samples: int = Field(10_000, ge=10, description=(
        "cap of the reference sample (origin cells or distinct presence cells), drawn at "
        "random with `seed`"))
    min_samples: int = Field(5, ge=2, description="fewest distinct reference cells accepted")
    seed: int = Field(1, description="seed of every random draw of the origin analysis")

    @model_validator(mode="after")
    def _one_form(self) -> OriginSpec:
        if (self.area is None) == (self.points is None):
            raise ValueError("give either 'area' (polygons) or 'points'")
        if len(set(self.variables)) != len(self.variables):
            raise ValueError("variables are listed twice")
        return self


class AgreementSpec(_Model):
    """The cut that makes a similarity layer a "similar to the origin" map."""

    method: str | None = Field(None, description=(
        "similarity output to cut (a method of `similarity.methods`, or `mess`); default: "
        "mess if computed, else the first method"))
    threshold: float | None = Field(None, description=(
        "cells at or above it are similar; default: 0 for mess (inside the origin's "
        "range of every variable), else the 10th percentile of the layer over the origin's "
        "own cells"))


class SimilaritySpec(_Model):
    """Surfaces of similarity to the origin's environment."""

    methods: list[registered(SIMILARITY)] = Field(min_length=1)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict, description=(
        "parameters per method, e.g. {gower: {reduce: mean}, bioclim: {tails: both}}"))
    agreement: AgreementSpec = AgreementSpec()


class BackgroundSpec(_Model):
    """Background cells of a presence-background model, drawn in the AOI."""

    n: int = Field(10_000, ge=100)
    seed: int = 1
    bias: str | None = Field(None, description=(
        "a layer of this pipeline whose values weight the draw (sampling-effort bias, "
        "Phillips et al. 2009); none: uniform over valid cells"))

    @field_validator("bias")
    @classmethod
    def _none(cls, v: str | None) -> str | None:
        return None if v is not None and v.lower() == "none" else v


class CvSpec(_Model):
    """Cross-validation of the models."""

    method: Literal["spatial_blocks", "random"] = "spatial_blocks"
    folds: int = Field(5, ge=2, le=20)
    block_size: float | Literal["auto"] = Field("auto", description=(
        "side of the square blocks in the grid's CRS units; auto: the median range of "
        "variograms fitted to the predictors at the sampled points"))
    buffer: float = Field(0.0, ge=0, description=(
        "training points within this distance (grid CRS units) of a test point are dropped"))


class ModelSpec(_Model):
    """Data-driven suitability learnt from the origin's points (presence vs background)."""

    algorithms: list[registered(ALGORITHMS)] = Field(min_length=1)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    background: BackgroundSpec = BackgroundSpec()
    cv: CvSpec = CvSpec()


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
    product: ProductSpec | None = None
    factors: dict[str, FactorSpec] = Field(default_factory=dict)
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
    origin: OriginSpec | None = None
    similarity: SimilaritySpec | None = None
    model: ModelSpec | None = None

    @model_validator(mode="after")
    def _a_question(self) -> Pipeline:
        if self.product is None and self.factors:
            raise ValueError("factors need a 'product' (its profile gives their limits)")
        if self.product is not None and not self.factors:
            raise ValueError("'factors' is empty: a product is scored on at least one factor")
        if self.product is None and self.origin is None:
            raise ValueError("give a 'product' with 'factors' (requirements), or an 'origin' "
                             "with 'similarity' and/or 'model' (or both)")
        if (self.similarity or self.model) and self.origin is None:
            raise ValueError("'similarity' and 'model' need an 'origin'")
        if self.origin is not None and not (self.similarity or self.model):
            raise ValueError("'origin' needs 'similarity' and/or 'model'")
        if self.model is not None and self.origin is not None and self.origin.points is None:
            raise ValueError("'model' learns from presence points: give 'origin.points'")
        return self
