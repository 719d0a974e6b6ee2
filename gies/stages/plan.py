"""Plan: everything a run needs before any pixel is computed, resolved once.

Reads layer metadata (never pixels), the AOI, the zones and the constraint polygons; builds
the target grid; resolves every layer into a :class:`LayerPlan` (its files and bands, its
kind after derivation, the resampling method onto the grid) and checks that it covers the
AOI. The result is a frozen :class:`Plan`; the factors, combination and class scheme were
resolved when the pipeline was loaded (:class:`~gies.config.LoadedPipeline`).
"""

from __future__ import annotations

import math
import operator
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
from shapely.ops import unary_union

from gies.config import LoadedPipeline, LayerSpec
from gies.errors import (
    ConfigError,
    DiskSpaceWarning,
    EmptyZoneWarning,
    GeometryRepairedWarning,
    GiesWarning,
    LayerError,
)
from gies.grid import Grid, in_lon_frame, unwrap_all
from gies.io.read import RasterInfo, raster_info, read_vector
from gies.methods.registry import DERIVATIONS
from gies.stages.preflight import coverage, coverage_problem
from gies.stages.warp import choose_resampling

__all__ = ["Plan", "LayerPlan", "plan", "layers_needed", "to_grid_crs", "densify_step"]


@dataclass(frozen=True)
class LayerPlan:
    """One input layer, resolved.

    ``info``: metadata of its (first) file; ``depths``: ``{(top, bottom): info}`` of a
    depth-weighted mean's files; ``bands``: the 1-based bands read; ``kind``: continuous or
    categorical after any derivation (a count of months is categorical); ``resampling``: the
    method that puts it onto the grid (``None`` when it is already on it); ``derivation``:
    the name in :data:`~gies.methods.registry.DERIVATIONS`, or ``None``.
    """

    name: str
    spec: LayerSpec
    info: RasterInfo
    depths: Mapping[tuple[float, float], RasterInfo] | None
    bands: tuple[int, ...]
    kind: str
    resampling: str | None
    derivation: str | None

    @property
    def key(self) -> str:
        """The layer's key in the pipeline file (``layers.<name>``)."""
        return f"layers.{self.name}"

    @property
    def units(self) -> str:
        """The units the layer is harmonised to (its declared ``units``)."""
        return self.spec.units

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file the layer is read from."""
        return tuple(i.path for i in self.depths.values()) if self.depths else (self.info.path,)

    @property
    def cacheable(self) -> bool:
        """Whether its harmonised form can be kept in the layer cache: continuous, one band."""
        return self.spec.kind == "continuous" and not self.spec.monthly


@dataclass(frozen=True)
class Plan:
    """What a run needs before any pixel is read (see the module docstring).

    ``zones``: each zones layer in the grid's CRS, clipped to the AOI; ``constraint_shapes``:
    the polygons of each vector constraint (by its index), filtered and in the grid's CRS;
    ``warnings``: what planning found (invalid zone geometries repaired, partial coverage);
    ``origin``: the origin's polygons (filtered) or points (``point_id``), in the grid's CRS;
    ``size``: the cells, output bytes and time the grid asks for (:func:`estimate_size`).
    """

    pipeline: LoadedPipeline
    grid: Grid
    layers: Mapping[str, LayerPlan]
    aoi: gpd.GeoDataFrame
    zones: Mapping[str, gpd.GeoDataFrame]
    constraint_shapes: Mapping[int, gpd.GeoDataFrame]
    warnings: tuple[GiesWarning, ...] = ()
    origin: gpd.GeoDataFrame | None = None
    size: SizeEstimate | None = None

    @property
    def config(self):
        """The validated configuration."""
        return self.pipeline.config

    @property
    def chunk(self) -> int:
        """The processing chunk (``processing.chunk``)."""
        return self.pipeline.config.processing.chunk

    def __repr__(self) -> str:
        return (f"<Plan {self.config.name!r}: {self.grid!r}; {len(self.layers)} layers; zones "
                f"{', '.join(f'{k} ({len(v)})' for k, v in self.zones.items())}>")


def layers_needed(p: LoadedPipeline) -> list[str]:
    """The layers a run reads: factors', the grid's, indicators', constraints', seasonal."""
    cfg = p.config
    need = {spec.layer for spec in cfg.factors.values()}
    if cfg.grid.like:
        need.add(cfg.grid.like)
    need |= {c.layer for c in cfg.constraints if c.layer}
    if cfg.seasonal:
        need |= {n for n in (cfg.seasonal.tavg, cfg.seasonal.prec, cfg.seasonal.tmin) if n}
    if cfg.origin is not None:
        need |= set(cfg.origin.variables)
        if cfg.model is not None and cfg.model.background.bias:
            need.add(cfg.model.background.bias)
    for name in list(need):
        mu = cfg.layers[name].mixed_units
        if mu:
            need.add(mu.indicator)
    return [n for n in cfg.layers if n in need]


def _filter(gdf: gpd.GeoDataFrame, where: tuple, key: str) -> gpd.GeoDataFrame:
    fld, op, value = where
    if fld not in gdf.columns:
        raise LayerError(f"{key}.where: no field {fld!r} (fields: "
                         f"{', '.join(map(str, gdf.columns.drop('geometry')))})")
    col = gdf[fld]
    try:
        if op in ("in", "not in"):
            mask = col.isin(value)
            mask = ~mask if op == "not in" else mask
        else:
            fn = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                  ">": operator.gt, ">=": operator.ge}[op]
            mask = fn(col, value)
    except TypeError as exc:
        raise LayerError(f"{key}.where: cannot compare field {fld!r} with {value!r}: {exc}") from None
    return gdf[mask.fillna(False).astype(bool)]


def _require_polygons(gdf: gpd.GeoDataFrame, key: str, path) -> None:
    """Zones and the AOI are areas: points or lines (which cover no pixel) are an error."""
    kinds = set(gdf.geometry.dropna().geom_type) - {"Polygon", "MultiPolygon"}
    if kinds:
        raise LayerError(f"{key}: {path} holds {', '.join(sorted(kinds))} geometries; "
                         "zones and the AOI must be polygons")


def _read_zones(pipeline: LoadedPipeline, name: str) -> tuple[gpd.GeoDataFrame, list[GiesWarning]]:
    spec = pipeline.config.zones[name]
    key = f"zones.{name}"
    zones = read_vector(pipeline.resolve(spec.path), layer=spec.layer, key=key)
    for label, fld in (("id_field", spec.id_field), ("name_field", spec.name_field)):
        if fld is not None and fld not in zones.columns:
            raise LayerError(
                f"{key}.{label}: field {fld!r} not in {spec.path} "
                f"(fields: {', '.join(map(str, zones.columns.drop('geometry')))})"
            )
    _require_polygons(zones, key, spec.path)
    ids = zones[spec.id_field]
    if ids.isna().any():
        raise LayerError(f"{key}.id_field: {spec.id_field!r} is empty for "
                         f"{int(ids.isna().sum())} zone(s) in {spec.path}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise LayerError(
            f"{key}.id_field: {spec.id_field!r} is not unique in {spec.path}: "
            f"{sorted(map(str, dup.unique()))[:5]}; choose a unique id field"
        )
    invalid = int((~zones.geometry.is_valid & zones.geometry.notna()).sum())
    found = []
    empty = zones.geometry.isna() | zones.geometry.is_empty
    if empty.any():
        names = [str(v) for v in zones.loc[empty, spec.id_field]]
        found.append(EmptyZoneWarning(
            f"{key}: {len(names)} zone(s) of {spec.path} have no geometry (rows kept with "
            f"empty=True): {', '.join(names[:10])}{', ...' if len(names) > 10 else ''}"))
    if invalid:
        found.append(GeometryRepairedWarning(
            f"{key}: {invalid} invalid geometr{'y' if invalid == 1 else 'ies'} in "
            f"{spec.path} repaired (make_valid)"))
    return zones, found


#: Smallest radius of curvature (m) assumed for the image of a lon/lat edge in a projected
#: grid: parallels at latitude φ bend with radius ≈ 6371 km / tan φ in conformal and
#: equal-area projections (≥ 1100 km up to 80°).
_MIN_EDGE_RADIUS_M = 1.0e6


def densify_step(grid: Grid) -> float:
    """Longest segment (degrees) a lon/lat edge keeps before projection onto ``grid``.

    A chord of length ``L`` on a curve of radius ``R`` strays ``L² / 8R`` from it; the step is
    the chord straying at most 1 % of a cell (``R`` = :data:`_MIN_EDGE_RADIUS_M`), within
    [0.0001°, 0.01°]: 0.01° (~1.1 km, ≤ 0.16 m off) for cells of 100 m and more (densifying
    to the cell size instead multiplies the vertices of national zones tenfold for no
    measurable change of area; ``docs/design.md``).

    >>> round(densify_step(Grid.from_bounds((0, 0, 1000, 1000), 10, crs="EPSG:3035")), 5)
    0.00803
    """
    cell = min(grid.resolution)
    chord = math.sqrt(8.0 * _MIN_EDGE_RADIUS_M * 0.01 * cell)
    return min(0.01, max(1e-4, chord / 111_320.0))


def to_grid_crs(gdf: gpd.GeoDataFrame, grid: Grid) -> gpd.GeoDataFrame:
    """Polygons in the grid's CRS. Edges of lon/lat polygons follow meridians and parallels,
    which are curves in most projections: they are densified first (:func:`densify_step`:
    the chords stray at most 1 % of a cell from the curves), so a 4-vertex box keeps its
    true area.

    On a geographic grid the polygons are then put in the grid's longitudes
    (:func:`in_grid_longitudes`): an AOI or zone that crosses the antimeridian is split at
    ±180° on a −180..180 grid."""
    from pyproj import CRS

    src = CRS.from_user_input(gdf.crs)
    if not src.equals(grid.pyproj_crs):
        if src.is_geographic and not grid.is_geographic:
            gdf = gdf.set_geometry(gdf.geometry.segmentize(densify_step(grid)))
        gdf = gdf.to_crs(grid.crs)
    return in_grid_longitudes(gdf, grid) if grid.is_geographic else gdf


def in_grid_longitudes(gdf: gpd.GeoDataFrame, grid: Grid) -> gpd.GeoDataFrame:
    """Geometries (in the CRS of the geographic ``grid``) in the grid's 360° of longitude.

    The frame is −180..180 for a grid inside those longitudes, otherwise (a grid across the
    antimeridian, in ``+lon_wrap=180`` longitudes, or a 0..360 raster) the 360° centred on
    the grid. PROJ puts every vertex in its CRS's longitudes one by one, which cuts a
    polygon across the CRS's edge into a ring around the world: rings are made continuous
    again (:func:`unwrap_all`), then what lies beyond the frame is cut at its edges and
    moved by ∓360° (:func:`in_lon_frame`), so each part keeps its place and its area, e.g.
    Fiji's Rabi Island (180.0..180.1 once unwrapped) at −180..−179.9 on a −180..180 grid.
    Geometries inside the frame are kept as they are."""
    import shapely

    x0, _, x1, _ = grid.bounds
    eps = 1e-9 * max(1.0, x1 - x0)
    west = -180.0 if x0 >= -180.0 - eps and x1 <= 180.0 + eps else 0.5 * (x0 + x1) - 180.0
    geoms = unwrap_all(gdf.geometry)
    bounds = shapely.bounds(geoms)
    out = (bounds[:, 0] < west) | (bounds[:, 2] > west + 360.0)
    if out.any():
        # cutting needs valid polygons (zones are repaired, and reported, in any case)
        bad = out & ~shapely.is_valid(geoms)
        geoms[bad] = shapely.make_valid(geoms[bad])
        for i in np.flatnonzero(out):
            geoms[i] = in_lon_frame(geoms[i], west)
    if all(new is old for new, old in zip(geoms, gdf.geometry.array)):
        return gdf
    gdf = gdf.copy()
    gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return gdf


#: Layer-cells per second and thread of the plain benchmark job (bench/README.md: 64 Mpx × 6
#: layers in about 16 s on 2 threads), for the order of magnitude of a run's time.
CELLS_PER_SECOND_PER_THREAD = 12e6
#: The smallest share of the uncompressed size that the output COGs of the shipped runs take
#: (0.016 on Bungo, whose class-step scores compress well; 0.18 on the Senegal LAEA tile, 0.37
#: on the benchmark's smooth scores): less free disk than this cannot hold a run.
COMPRESSED_SHARE = 0.01
#: Below this share of the uncompressed size free, the run may not fit: a warning.
TIGHT_SHARE = 0.5


@dataclass(frozen=True)
class SizeEstimate:
    """What a grid asks for: ``cells`` (rows × columns), ``output_bytes`` (the output
    rasters uncompressed, overviews included) and ``seconds`` (order of magnitude, from the
    benchmark's throughput on ``threads`` threads)."""

    cells: int
    output_bytes: float
    seconds: float
    threads: int

    def describe(self) -> str:
        cells = f"{self.cells:,}" if self.cells < 1e12 else f"{self.cells:.3g}"
        return (f"{cells} cells, about {_bytes(self.output_bytes)} of output rasters before "
                f"compression and about {_duration(self.seconds)} of computing on "
                f"{self.threads} thread(s)")


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} EB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h"
    if s < 2 * 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365 * 86400):.3g} years"


def estimate_size(p: LoadedPipeline, grid: Grid, threads: int | None = None) -> SizeEstimate:
    """The cells, output bytes and time of a run on ``grid``: float32 suitability and factor
    scores (with ``outputs.factor_scores``), uint8 classes and limiting factors, one float32
    layer per origin-similarity method and model; × 4/3 for the overviews. The time is
    cells × layers read / (:data:`CELLS_PER_SECOND_PER_THREAD` × threads)."""
    import os

    cfg = p.config
    rows, cols = grid.shape
    cells = int(rows) * int(cols)
    n_factors = len(cfg.factors) + (1 if cfg.seasonal else 0)
    per_cell = 2.0 + (4.0 * (1 + (n_factors if cfg.outputs.factor_scores else 0))
                      if p.has_requirements else 0.0)
    if cfg.similarity is not None:
        per_cell += 4.0 * len(cfg.similarity.methods) + 1
    if cfg.model is not None:
        per_cell += 4.0 * len(cfg.model.algorithms)
    threads = int(threads or os.cpu_count() or 1)
    n_layers = max(len(layers_needed(p)), 1)
    return SizeEstimate(cells, cells * per_cell * 4 / 3,
                        cells * n_layers / (CELLS_PER_SECOND_PER_THREAD * threads), threads)


def check_size(p: LoadedPipeline, grid: Grid) -> tuple[SizeEstimate, list[GiesWarning]]:
    """Refuse a grid above ``processing.max_cells``, and a run whose outputs the free disk of
    ``outputs.dir`` cannot hold (less than :data:`COMPRESSED_SHARE` of their uncompressed
    size), before anything is allocated; both messages give the numbers. Less free space
    than :data:`TIGHT_SHARE` of it is a warning. Returns ``(estimate, warnings)``."""
    cfg = p.config
    est = estimate_size(p, grid)
    rows, cols = grid.shape
    limit = cfg.processing.max_cells
    if est.cells > limit:
        t = grid.transform
        units = "degrees" if grid.pyproj_crs.is_geographic else "metres"
        raise ConfigError(
            f"grid: {cols:,} × {rows:,} cells at a resolution of {abs(t.a):g} {units} is "
            f"{est.describe()}, above processing.max_cells = {limit:g}; check grid.resolution "
            f"(in the grid CRS's units, {units} here), or raise processing.max_cells")
    folder = p.output_dir.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return est, []
    need = est.output_bytes * COMPRESSED_SHARE
    if free < need:
        raise ConfigError(
            f"outputs.dir: {folder} has {_bytes(free)} free, and the run's outputs need at "
            f"least about {_bytes(need)} ({est.describe()}; compressed, they take more than "
            f"{COMPRESSED_SHARE:.0%} of that); free space, or choose another outputs.dir")
    if free < est.output_bytes * TIGHT_SHARE:
        return est, [DiskSpaceWarning(
            f"outputs.dir: {folder} has {_bytes(free)} free; the run's output rasters take "
            f"up to {_bytes(est.output_bytes)} before compression and may not fit")]
    return est, []


def _grid(p: LoadedPipeline, infos: Mapping[str, RasterInfo], aoi: gpd.GeoDataFrame) -> Grid:
    cfg = p.config
    if cfg.grid.like:
        return infos[cfg.grid.like].grid
    try:
        return Grid.from_aoi(aoi, crs=cfg.grid.crs, resolution=cfg.grid.resolution,
                             geometry_crs=aoi.crs)
    except ValueError as exc:
        raise ConfigError(f"grid: {exc}") from None


def _bands(spec: LayerSpec) -> tuple[int, ...]:
    if spec.monthly:
        return tuple(range(1, 13))
    if spec.derive is not None and DERIVATIONS[spec.derive.stat].extra.get("input") == "monthly":
        return tuple(spec.derive.months)
    return (spec.band,)


def _layer_plan(name: str, spec: LayerSpec, info: RasterInfo, depths, grid: Grid) -> LayerPlan:
    derivation = None if spec.derive is None else DERIVATIONS.canonical(spec.derive.stat)
    categorical = derivation is not None and DERIVATIONS[derivation].extra.get("categorical")
    kind = "categorical" if categorical else spec.kind
    resampling = None
    if not info.grid.same_as(grid):
        resampling = choose_resampling(kind, info.grid, grid, spec.resampling,
                                       layer_name=name)
    return LayerPlan(name, spec, info, None if depths is None else MappingProxyType(depths),
                     _bands(spec), kind, resampling, derivation)


def plan(pipeline: LoadedPipeline) -> Plan:
    """Open metadata only: layer grids, AOI, zones, constraints; build the target grid and
    resolve every layer (see the module docstring)."""
    cfg = pipeline.config
    infos: dict[str, RasterInfo] = {}
    depth_infos: dict[str, dict] = {}
    for name in layers_needed(pipeline):
        spec = cfg.layers[name]
        key = f"layers.{name}"
        if spec.depth_mean:
            depth_infos[name] = {
                iv: raster_info(pipeline.resolve(path), key=f"{key}.depth_mean", crs=spec.crs)
                for iv, path in spec.depth_mean.intervals().items()
            }
            infos[name] = next(iter(depth_infos[name].values()))
        else:
            infos[name] = raster_info(pipeline.resolve(spec.path), key=key, crs=spec.crs)
    if cfg.aoi.bounds:
        from shapely.geometry import box

        aoi = gpd.GeoDataFrame(geometry=[box(*cfg.aoi.bounds)], crs=cfg.aoi.crs)
    else:
        aoi = read_vector(pipeline.resolve(cfg.aoi.path), layer=cfg.aoi.layer, key="aoi")
        _require_polygons(aoi, "aoi", cfg.aoi.path)
    found: list[GiesWarning] = []
    zones = {}
    for name in cfg.zones:
        zones[name], w = _read_zones(pipeline, name)
        found += w
    grid = _grid(pipeline, infos, aoi)
    size, w = check_size(pipeline, grid)
    found += w
    aoi = to_grid_crs(aoi, grid)
    aoi_geom = unary_union([g if g.is_valid else g.buffer(0) for g in aoi.geometry])
    aoi = gpd.GeoDataFrame({"name": ["AOI"]}, geometry=[aoi_geom], crs=grid.crs)
    for name, z in zones.items():
        z = to_grid_crs(z, grid)
        z["geometry"] = z.geometry.make_valid().intersection(aoi_geom)
        zones[name] = z.reset_index(drop=True)
    shapes = {}
    for i, c in enumerate(cfg.constraints):
        if c.type == "vector":
            key = f"constraints.{i}"
            gdf = read_vector(pipeline.resolve(c.path), layer=None, key=key)
            if c.filter is not None:
                gdf = _filter(gdf, c.filter, key)
            shapes[i] = to_grid_crs(gdf, grid)[["geometry"]]
    found += _check_coverage(pipeline, grid, infos, depth_infos, aoi_geom)
    layers = {n: _layer_plan(n, cfg.layers[n], infos[n], depth_infos.get(n), grid)
              for n in infos}
    origin = _read_origin(pipeline, grid) if cfg.origin is not None else None
    return Plan(pipeline, grid, MappingProxyType(layers), aoi, MappingProxyType(zones),
                MappingProxyType(shapes), tuple(found), origin, size)


def _read_origin(pipeline: LoadedPipeline, grid: Grid) -> gpd.GeoDataFrame:
    """The origin polygons (filtered by ``where``, valid, in the grid's CRS) or points
    (``point_id``, in the grid's CRS)."""
    from gies.io.read import read_points

    o = pipeline.config.origin
    if o.area is not None:
        key = "origin.area"
        gdf = read_vector(pipeline.resolve(o.area.path), layer=o.area.layer, key=key)
        if o.area.filter is not None:
            gdf = _filter(gdf, o.area.filter, key)
            if gdf.empty:
                raise LayerError(f"{key}.where: no feature of {o.area.path} matches "
                                 f"{o.area.where!r}")
        kinds = set(gdf.geometry.geom_type.dropna())
        if not kinds <= {"Polygon", "MultiPolygon"}:
            raise LayerError(f"{key}: {o.area.path} holds {', '.join(sorted(kinds))} "
                             "geometries; polygons are needed (or give points as origin.points)")
        gdf = to_grid_crs(gdf, grid)
        return gpd.GeoDataFrame(geometry=gdf.geometry.make_valid().to_numpy(), crs=grid.crs)
    pt = o.points
    pts = read_points(pipeline.resolve(pt.path), key="origin.points", x=pt.x, y=pt.y,
                      crs=pt.crs, id=pt.id, layer=pt.layer)
    return pts.to_crs(grid.crs)


def _check_coverage(p: LoadedPipeline, grid: Grid, infos, depth_infos, aoi_geom) -> list[GiesWarning]:
    from shapely.geometry import box

    if not box(*grid.bounds).intersects(aoi_geom):
        raise LayerError(f"grid: the grid {grid.bounds} does not overlap the AOI {aoi_geom.bounds}")
    found = []
    for name, info in infos.items():
        spec = p.config.layers[name]
        for sub in (depth_infos.get(name) or {None: info}).values():
            res = coverage(sub.grid, aoi_geom, aoi_crs=grid.crs,
                           layer_name=f"layers.{name} ({sub.path})")
            problem = coverage_problem(res, mode=spec.coverage)
            if problem is not None:
                found.append(problem)
    return found
