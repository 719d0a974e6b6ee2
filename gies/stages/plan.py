"""Plan: everything a run needs before any pixel is computed.

Reads layer metadata, the AOI, the zones and the constraint polygons; builds the target
grid; checks that every layer covers the AOI. :func:`check_data` adds cheap sampled checks
(a decimated read of each layer: readable, not all no data, plausible for its quantity),
which ``gies validate`` and ``gies run`` both perform before computing.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from rasterio.errors import RasterioError
from shapely.ops import unary_union

from gies.config import LoadedPipeline
from gies.errors import ConfigError, GiesWarning, LayerError, UnitError
from gies.grid import Grid
from gies.io.read import RasterInfo, raster_info, read_sample, read_vector
from gies.stages import harmonise as hz

__all__ = ["Plan", "plan", "check_data", "parse_where"]


@dataclass
class Plan:
    """What a run needs before any pixel is read."""

    pipeline: LoadedPipeline
    grid: Grid
    infos: dict[str, RasterInfo]
    aoi: gpd.GeoDataFrame
    zones: dict[str, gpd.GeoDataFrame]
    factors: dict[str, str]  # factor -> layer
    warnings: list[str] = field(default_factory=list)
    depth_infos: dict[str, dict[tuple[float, float], RasterInfo]] = field(default_factory=dict)
    constraint_shapes: dict[int, gpd.GeoDataFrame] = field(default_factory=dict)


def layers_needed(p: LoadedPipeline) -> list[str]:
    """The layers a run reads: factors', the grid's, indicators', constraints', seasonal."""
    cfg = p.config
    need = {spec.layer for spec in cfg.factors.values()}
    if cfg.grid.like:
        need.add(cfg.grid.like)
    need |= {c.layer for c in cfg.constraints if c.layer}
    if cfg.seasonal:
        need |= {n for n in (cfg.seasonal.tavg, cfg.seasonal.prec, cfg.seasonal.tmin) if n}
    for name in list(need):
        mu = cfg.layers[name].mixed_units
        if mu:
            need.add(mu.indicator)
    return [n for n in cfg.layers if n in need]


_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>|not in|in)\s*(.+?)\s*$")


def parse_where(text: str):
    """A whitelisted attribute filter ``FIELD OP VALUE`` (no code is evaluated).

    OP is one of ``== != < <= > >= in "not in"``; VALUE is a quoted string, a number, or
    for ``in`` a bracketed list (YAML flow syntax). Returns ``(field, op, value)``.

    >>> parse_where("STATUS != 'Proposed'")
    ('STATUS', '!=', 'Proposed')
    >>> parse_where("IUCN_CAT in ['Ia', 'Ib', 'II']")
    ('IUCN_CAT', 'in', ['Ia', 'Ib', 'II'])
    """
    import yaml

    m = _WHERE.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not FIELD OP VALUE (e.g. \"STATUS != 'Proposed'\")")
    fld, op, raw = m.groups()
    value = yaml.safe_load(raw)
    if op in ("in", "not in") and not isinstance(value, list):
        raise ValueError(f"{text!r}: '{op}' needs a list, e.g. ['a', 'b']")
    if op not in ("in", "not in") and isinstance(value, (list, dict)):
        raise ValueError(f"{text!r}: '{op}' needs a single value")
    return fld, op, value


def _filter(gdf: gpd.GeoDataFrame, where: str, key: str) -> gpd.GeoDataFrame:
    try:
        fld, op, value = parse_where(where)
    except ValueError as exc:
        raise ConfigError(f"{key}.where: {exc}") from None
    if fld not in gdf.columns:
        raise LayerError(f"{key}.where: no field {fld!r} (fields: {', '.join(map(str, gdf.columns.drop('geometry')))})")
    col = gdf[fld]
    try:
        if op in ("in", "not in"):
            mask = col.isin(value)
            mask = ~mask if op == "not in" else mask
        else:
            import operator

            fn = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                  ">": operator.gt, ">=": operator.ge}[op]
            mask = fn(col, value)
    except TypeError as exc:
        raise LayerError(f"{key}.where: cannot compare field {fld!r} with {value!r}: {exc}") from None
    return gdf[mask.fillna(False).astype(bool)]


def _read_zones(pipeline: LoadedPipeline, name: str, warn: list[str]) -> gpd.GeoDataFrame:
    spec = pipeline.config.zones[name]
    key = f"zones.{name}"
    zones = read_vector(pipeline.resolve(spec.path), layer=spec.layer, key=key)
    for label, fld in (("id_field", spec.id_field), ("name_field", spec.name_field)):
        if fld is not None and fld not in zones.columns:
            raise LayerError(
                f"{key}.{label}: field {fld!r} not in {spec.path} "
                f"(fields: {', '.join(map(str, zones.columns.drop('geometry')))})"
            )
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
    if invalid:
        msg = (f"{key}: {invalid} invalid geometr{'y' if invalid == 1 else 'ies'} in "
               f"{spec.path} repaired (make_valid)")
        warnings.warn(msg, GiesWarning, stacklevel=2)
        warn.append(msg)
    return zones


#: Smallest radius of curvature (m) assumed for the image of a lon/lat edge in a projected
#: grid: parallels at latitude φ bend with radius ≈ 6371 km / tan φ in conformal and
#: equal-area projections (≥ 1100 km up to 80°).
_MIN_EDGE_RADIUS_M = 1.0e6


def densify_step(grid: Grid) -> float:
    """Longest segment (degrees) a lon/lat edge keeps before projection onto ``grid``.

    A chord of length ``L`` on a curve of radius ``R`` strays ``L² / 8R`` from it; the step is
    the chord straying at most 1 % of a cell (``R`` = :data:`_MIN_EDGE_RADIUS_M`), within
    [0.0001°, 0.01°]: 0.01° (~1.1 km, ≤ 0.16 m off) for cells of 100 m and more. Densifying to
    the cell size instead gave the 300 zones of a 1600 km country 819,000 vertices (37 MB
    at the peak of the pass) for no measurable change of area.

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
    true area."""
    from pyproj import CRS

    src = CRS.from_user_input(gdf.crs)
    if src.equals(grid.pyproj_crs):
        return gdf
    if src.is_geographic and not grid.is_geographic:
        gdf = gdf.set_geometry(gdf.geometry.segmentize(densify_step(grid)))
    return gdf.to_crs(grid.crs)


def _grid(p: LoadedPipeline, infos, aoi: gpd.GeoDataFrame) -> Grid:
    cfg = p.config
    if cfg.grid.like:
        return infos[cfg.grid.like].grid
    try:
        return Grid.from_aoi(aoi, crs=cfg.grid.crs, resolution=cfg.grid.resolution,
                             geometry_crs=aoi.crs)
    except ValueError as exc:
        raise ConfigError(f"grid: {exc}") from None


def plan(pipeline: LoadedPipeline) -> Plan:
    """Open metadata only: layer grids, AOI, zones, constraints; build the target grid."""
    cfg = pipeline.config
    factors = {f: spec.layer for f, spec in cfg.factors.items()}
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
    warn: list[str] = []
    zones = {name: _read_zones(pipeline, name, warn) for name in cfg.zones}
    grid = _grid(pipeline, infos, aoi)
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
            if c.where:
                gdf = _filter(gdf, c.where, key)
            shapes[i] = to_grid_crs(gdf, grid)[["geometry"]]
    _check_coverage(pipeline, grid, infos, depth_infos, aoi_geom, warn)
    return Plan(pipeline, grid, infos, aoi, zones, factors, warn, depth_infos, shapes)


def _check_coverage(p, grid, infos, depth_infos, aoi_geom, warn: list[str]) -> None:
    from shapely.geometry import box

    if not box(*grid.bounds).intersects(aoi_geom):
        raise LayerError(f"grid: the grid {grid.bounds} does not overlap the AOI {aoi_geom.bounds}")
    for name, info in infos.items():
        spec = p.config.layers[name]
        for sub in (depth_infos.get(name) or {None: info}).values():
            res = hz.coverage(sub.grid, aoi_geom, aoi_crs=grid.crs,
                              layer_name=f"layers.{name} ({sub.path})")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                hz.check_coverage(res, mode=spec.coverage)
            warn.extend(str(w.message) for w in caught)


def _plausibility_quantity(spec) -> str | None:
    if spec.quantity:
        return spec.quantity
    from gies.units import parse_unit

    by_quantity = {"temperature": "temperature", "ph": "ph", "cec": "cec"}
    try:
        return by_quantity.get(parse_unit(spec.units).quantity)
    except UnitError:
        return None


def _lookup_codes(pl: Plan, layer: str, sample: np.ndarray) -> list[str]:
    """Codes of a categorical layer (in a sample) that a lookup factor does not map."""
    cfg = pl.pipeline.config
    out = []
    codes = {int(v) for v in np.unique(sample[np.isfinite(sample)])}
    for fname, f in cfg.factors.items():
        if f.layer != layer or f.method != "lookup" or f.params.get("default") is not None:
            continue
        table = {int(k) for k in (f.params.get("table") or {})}
        missing = sorted(codes - table)
        if missing:
            out.append(f"factors.{fname}.params.table: codes {missing[:20]} of layers.{layer} "
                       "are not in the lookup table; add them or give a 'default'")
    return out


def check_data(pl: Plan) -> list[str]:
    """Sampled data checks (see module docstring). Returns problems; never computes a layer.

    Layers with mixed units or derived values are checked for readability and data only:
    their raw values are not in the declared units by design.
    """
    problems = []
    for name, info in pl.infos.items():
        spec = pl.pipeline.config.layers[name]
        key = f"layers.{name}"
        bands = spec.derive.months if spec.derive and spec.derive.stat not in ("slope", "aspect") \
            else list(range(1, 13)) if spec.monthly else [spec.band]
        if max(bands) > info.count:
            problems.append(
                f"{key}: {info.path} has {info.count} band(s), not band(s) "
                f"{[b for b in bands if b > info.count]}"
                + (" (a monthly layer needs a 12-band file)" if len(bands) > 1 else ""))
            continue
        try:
            sample, _ = read_sample(info, band=bands[0], nodata=spec.nodata, key=key)
        except (LayerError, RasterioError, ValueError) as exc:
            problems.append(f"{key}: cannot read {info.path}: {exc}; the file may be truncated "
                            "or corrupted")
            continue
        if spec.scale is not None or spec.offset is not None:
            sample = sample * (spec.scale if spec.scale is not None else 1.0) + (spec.offset or 0.0)
        if not np.isfinite(sample).any():
            problems.append(f"{key}: no valid cell in {info.path} (all no data); check its "
                            "nodata value and the layer's nodata key")
            continue
        problems += _lookup_codes(pl, name, sample)
        quantity = _plausibility_quantity(spec)
        same_quantity = not spec.derive or spec.derive.stat in ("mean", "min", "max")
        if quantity and same_quantity and not spec.mixed_units and not spec.plausible:
            try:
                hz.check_plausible(sample, quantity=quantity, units=spec.units, layer_name=key)
            except UnitError as exc:
                problems.append(str(exc))
            except ValueError as exc:
                problems.append(f"{key}.quantity: {exc}")
    return problems
