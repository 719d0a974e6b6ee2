"""Orchestration: plan, harmonise, score, combine, classify, export, zone statistics.

Stages are pure functions in their own modules; this module orders them, does the I/O
through :mod:`gies.io`, reports progress, times each pass, collects warnings, and writes the
run folder atomically (a new result replaces the old one only once it is complete).
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import dask.array as dsa
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio import features
from shapely.ops import unary_union

from gies import classify as cls_mod
from gies import combine as comb
from gies import derive as derive_mod
from gies import harmonise as hz
from gies import score as sc
from gies.config import LoadedPipeline, load_pipeline
from gies.errors import DataQualityWarning, ExportError, GiesWarning, LayerError
from gies.grid import Grid
from rasterio.errors import RasterioError

from gies.io.publish import context_from_manifest, publish
from gies.io.rasters import RasterOutput, open_output, write_rasters
from gies.io.runs import file_digest, new_run, publish_run
from gies.io.read import open_raster, raster_info, read_vector
from gies.io.tables import write_tables
from gies.profile import CLASSES
from gies.zonal import zone_statistics

__all__ = ["run", "plan", "RunResult", "Plan"]

log = logging.getLogger("gies")


@dataclass
class Plan:
    """What a run needs before any pixel is read."""

    pipeline: LoadedPipeline
    grid: Grid
    infos: dict
    aoi: gpd.GeoDataFrame
    zones: dict[str, gpd.GeoDataFrame]
    factors: dict[str, str]  # factor -> layer
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """What :func:`run` returns."""

    output_dir: Path
    aoi_summary: pd.DataFrame
    zone_stats: dict[str, pd.DataFrame]
    warnings: list[str]
    timings: dict[str, float]
    quality: dict
    manifest: dict = field(repr=False, default_factory=dict)


class _Timer:
    def __init__(self):
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str, progress=None):
        t0 = time.perf_counter()
        if progress is not None:
            progress.stage(name)
        yield
        self.times[name] = round(time.perf_counter() - t0, 3)
        log.debug("%s: %.2f s", name, self.times[name])


def _layers_needed(p: LoadedPipeline, factors: dict[str, str]) -> list[str]:
    cfg = p.config
    need = set(factors.values())
    if cfg.grid.like:
        need.add(cfg.grid.like)
    for name in list(need):
        mu = cfg.layers[name].mixed_units
        if mu:
            need.add(mu.indicator)
    return [n for n in cfg.layers if n in need]


def plan(pipeline: LoadedPipeline) -> Plan:
    """Open metadata only: layer grids, AOI and zones; build the target grid."""
    cfg = pipeline.config
    factors = {f: spec.layer for f, spec in cfg.factors.items()}
    infos = {}
    for name in _layers_needed(pipeline, factors):
        spec = cfg.layers[name]
        infos[name] = raster_info(pipeline.resolve(spec.path), key=f"layers.{name}")
    if cfg.aoi.bounds:
        from shapely.geometry import box

        aoi = gpd.GeoDataFrame(geometry=[box(*cfg.aoi.bounds)], crs=cfg.aoi.crs)
    else:
        aoi = read_vector(pipeline.resolve(cfg.aoi.path), layer=cfg.aoi.layer, key="aoi")
    plan_warnings: list[str] = []
    zones = {name: _read_zones(pipeline, name, plan_warnings) for name in cfg.zones}
    if cfg.grid.like:
        grid = infos[cfg.grid.like].grid
    else:
        bounds = aoi.to_crs(cfg.grid.crs).total_bounds
        grid = Grid.from_bounds(tuple(bounds), cfg.grid.resolution, crs=cfg.grid.crs)
    aoi = aoi.to_crs(grid.crs)
    aoi_geom = unary_union([g.buffer(0) if not g.is_valid else g for g in aoi.geometry])
    aoi = gpd.GeoDataFrame({"name": ["AOI"]}, geometry=[aoi_geom], crs=grid.crs)
    for name, z in zones.items():
        z = z.to_crs(grid.crs)
        z["geometry"] = z.geometry.make_valid().intersection(aoi_geom)
        zones[name] = z.reset_index(drop=True)
    _check_overlap(grid, infos, aoi_geom)
    return Plan(pipeline, grid, infos, aoi, zones, factors, plan_warnings)


def _read_zones(pipeline: LoadedPipeline, name: str, warn: list[str]) -> gpd.GeoDataFrame:
    spec = pipeline.config.zones[name]
    key = f"zones.{name}"
    zones = read_vector(pipeline.resolve(spec.path), layer=spec.layer, key=key)
    for label, fld in (("id_field", spec.id_field), ("name_field", spec.name_field)):
        if fld and fld not in zones.columns:
            raise LayerError(
                f"{key}.{label}: field {fld!r} not in {spec.path} "
                f"(fields: {', '.join(map(str, zones.columns.drop('geometry')))})"
            )
    ids = zones[spec.id_field]
    if ids.isna().any():
        raise LayerError(f"{key}.id_field: {spec.id_field!r} is empty for {int(ids.isna().sum())} zone(s) in {spec.path}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise LayerError(
            f"{key}.id_field: {spec.id_field!r} is not unique in {spec.path}: "
            f"{sorted(map(str, dup.unique()))[:5]}; choose a unique id field"
        )
    invalid = int((~zones.geometry.is_valid & zones.geometry.notna()).sum())
    if invalid:
        msg = f"{key}: {invalid} invalid geometr{'y' if invalid == 1 else 'ies'} in {spec.path} repaired (make_valid)"
        warnings.warn(msg, GiesWarning, stacklevel=2)
        warn.append(msg)
    return zones


def _check_overlap(grid: Grid, infos: dict, aoi_geom) -> None:
    from pyproj import Transformer
    from shapely.geometry import box

    gx0, gy0, gx1, gy1 = grid.bounds
    if not box(gx0, gy0, gx1, gy1).intersects(aoi_geom):
        raise LayerError(f"grid: the grid {grid.bounds} does not overlap the AOI {aoi_geom.bounds}")
    for name, info in infos.items():
        t = Transformer.from_crs(info.grid.crs, grid.crs, always_xy=True)
        b = t.transform_bounds(*info.grid.bounds, densify_pts=21)
        if not box(*b).intersects(aoi_geom):
            raise LayerError(
                f"layers.{name}: {info.path} covers {tuple(round(v, 4) for v in b)} (in the "
                f"grid's CRS), which does not overlap the AOI {tuple(round(v, 4) for v in aoi_geom.bounds)}"
            )


def check_data(pl: Plan, *, max_side: int = 256) -> list[str]:
    """Cheap data checks for ``gies validate``: each layer's AOI window, read decimated to at
    most ``max_side`` pixels a side, opens, decodes and holds valid data. Returns problems."""
    import rasterio
    from pyproj import Transformer
    from rasterio.enums import Resampling
    from rasterio.windows import from_bounds

    problems = []
    aoi_bounds = pl.aoi.total_bounds
    for name, info in pl.infos.items():
        spec = pl.pipeline.config.layers[name]
        t = Transformer.from_crs(pl.grid.crs, info.grid.crs, always_xy=True)
        b = t.transform_bounds(*aoi_bounds, densify_pts=21)
        try:
            with rasterio.open(info.path) as ds:
                win = from_bounds(*b, transform=ds.transform).intersection(
                    rasterio.windows.Window(0, 0, ds.width, ds.height))
                scale = max(1.0, max(win.height, win.width) / max_side)
                shape = (max(1, int(win.height / scale)), max(1, int(win.width / scale)))
                bands = spec.derive.months if spec.derive else [spec.band]
                if max(bands) > ds.count:
                    problems.append(
                        f"layers.{name}: {info.path} has {ds.count} band(s), not band(s) "
                        f"{[b for b in bands if b > ds.count]}"
                        + (" (a monthly derivation needs a 12-band file)" if spec.derive else ""))
                    continue
                arr = ds.read(bands[0], window=win, out_shape=shape, masked=True,
                              resampling=Resampling.nearest)
        except (RasterioError, ValueError) as exc:
            problems.append(f"layers.{name}: cannot read {info.path}: {exc}; the file may be "
                            "truncated or corrupted")
            continue
        data = arr.astype("float64").filled(np.nan)
        if spec.nodata is not None:
            data[data == spec.nodata] = np.nan
        if not np.isfinite(data).any():
            problems.append(f"layers.{name}: no valid cell in the AOI window of {info.path} "
                            "(all no data); check its nodata value and the layer's nodata key")
    return problems


def _aoi_mask(grid: Grid, aoi_geom, chunk: int) -> xr.DataArray:
    """Lazy boolean layer: True where a pixel touches the AOI (all-touched rule)."""

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        t = grid.transform
        from affine import Affine

        bt = Affine(t.a, 0, t.c + c0 * t.a, 0, t.e, t.f + r0 * t.e)
        return features.rasterize([(aoi_geom, 1)], out_shape=(r1 - r0, c1 - c0), transform=bt,
                                  fill=0, all_touched=True, dtype="uint8").astype(bool)

    data = dsa.map_blocks(block, chunks=dsa.core.normalize_chunks(chunk, grid.shape), dtype=bool,
                          meta=np.array((), dtype=bool))
    return xr.DataArray(data, dims=("y", "x"), coords={"y": grid.y_coords, "x": grid.x_coords},
                        name="aoi", attrs={"grid": grid})


def harmonise_layers(pl: Plan) -> tuple[dict[str, xr.DataArray], dict[str, dict]]:
    """Every needed layer on the grid, in its declared units, with quality counts (lazy)."""
    cfg = pl.pipeline.config
    chunk = cfg.processing.chunk
    raw: dict[str, xr.DataArray] = {}
    for name, info in pl.infos.items():
        spec = cfg.layers[name]
        bands = spec.derive.months if spec.derive else [spec.band]
        da = open_raster(info, bands=bands, chunk=chunk, kind=spec.kind, nodata=spec.nodata,
                         scale=spec.scale, offset=spec.offset, key=f"layers.{name}")
        if spec.derive:
            # derived on the source grid, before any resampling (a count must not be smeared)
            da = derive_mod.monthly(da, stat=spec.derive.stat, threshold=spec.derive.threshold)
        raw[name] = hz.onto_grid(da, source_grid=info.grid, grid=pl.grid, kind=spec.kind,
                                 chunk=chunk)
        raw[name].attrs["units"] = spec.units
    out: dict[str, xr.DataArray] = {}
    quality: dict[str, dict] = {}
    for name, da in raw.items():
        spec = cfg.layers[name]
        counts: dict[str, xr.DataArray] = {"valid": da.notnull().sum()}
        if spec.mixed_units:
            readings = [(tuple(r.indicator_range), r.units) for r in spec.mixed_units.readings]
            da, c = hz.resolve_mixed_units(da, indicator=raw[spec.mixed_units.indicator],
                                           readings=readings, units=spec.units)
            counts.update(c)
        if spec.plausible:
            da, bad = hz.apply_plausible(da, low=spec.plausible[0], high=spec.plausible[1])
            counts["implausible"] = bad
        out[name] = da
        if len(counts) > 1:
            quality[name] = counts
    return out, quality


def _score_factors(pl: Plan, layers: dict[str, xr.DataArray], factors: dict[str, str]):
    p = pl.pipeline
    cfg = p.config
    ls = p.limit_set
    scores, classes, unmatched = {}, {}, {}
    for fname, lname in factors.items():
        units = p.profile.factors[fname].units
        layer = hz.to_units(layers[lname], src=cfg.layers[lname].units, dst=units)
        layer.name = fname
        if ls.method == "class_limits":
            from gies.profile import ClassLimits

            lim = ClassLimits.from_mapping(ls.limits[fname], where=f"limits.{fname}")
            c, u = sc.class_limits_classes(layer, limits=lim, on_limit=cfg.scoring.on_limit)
            classes[fname] = c
            scores[fname] = sc.class_scores(c, scores=cfg.scoring.class_scores)
            unmatched[fname] = u.sum()
        else:
            scores[fname] = sc.trapezoid(layer, limits=ls.limits[fname])
    return scores, classes, unmatched


def _scheme(cfg) -> cls_mod.ClassScheme:
    base = cls_mod.SCHEMES[cfg.classify.scheme]
    t = cfg.classify.thresholds
    return cls_mod.ClassScheme(base.name, t.get("S1", base.s1), t.get("S2", base.s2),
                               t.get("S3", base.s3), base.reference)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("gies", "numpy", "xarray", "dask", "rasterio", "rioxarray", "odc-geo",
                "geopandas", "shapely", "pyproj", "exactextract", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    import rasterio

    out["GDAL"] = rasterio.__gdal_version__
    out["PROJ"] = __import__("pyproj").proj_version_str
    return out


def _input_files(pl: Plan) -> list[Path]:
    cfg = pl.pipeline.config
    files = [info.path for info in pl.infos.values()]
    files += [pl.pipeline.resolve(z.path) for z in cfg.zones.values()]
    if cfg.aoi.path:
        files.append(pl.pipeline.resolve(cfg.aoi.path))
    for base in list(files):
        if base.suffix.lower() == ".shp":
            files += [base.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg") if base.with_suffix(s).exists()]
    files.append(pl.pipeline.path)
    if pl.pipeline.profile.path:
        files.append(Path(pl.pipeline.profile.path).resolve())
    seen, out = set(), []
    for f in files:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


def _decide_quality(pl: Plan, qcounts: dict, factors: dict[str, str], warn: list[str]) -> dict:
    cfg = pl.pipeline.config
    report: dict = {}
    for name, counts in qcounts.items():
        valid = int(counts["valid"])
        removed = int(counts.get("no_reading", 0)) + int(counts.get("implausible", 0))
        share = removed / valid if valid else 0.0
        entry = {k: int(v) for k, v in counts.items()}
        entry["removed_share"] = round(share, 6)
        used_by = [f for f, lname in factors.items() if lname == name]
        if used_by and share > cfg.quality.drop_factor_above:
            entry["action"] = f"dropped factor(s) {', '.join(used_by)}"
            for f in used_by:
                factors.pop(f)
            msg = (f"layers.{name}: {removed} of {valid} cells ({share:.1%}) are implausible "
                   f"under every declared reading; factor(s) {', '.join(used_by)} dropped "
                   f"(quality.drop_factor_above = {cfg.quality.drop_factor_above})")
        else:
            entry["action"] = "implausible cells set to no data" if removed else "none"
            msg = (f"layers.{name}: {removed} of {valid} cells ({share:.1%}) set to no data "
                   "by unit/plausibility checks") if removed else ""
        if "reading_1" in counts:
            parts = ", ".join(f"{r.units}: {int(counts[f'reading_{i + 1}'])}" for i, r in
                              enumerate(cfg.layers[name].mixed_units.readings))
            msg = (msg + "; " if msg else f"layers.{name}: ") + f"cells per reading ({parts})"
        if msg:
            warn.append(msg)
            warnings.warn(msg, DataQualityWarning, stacklevel=2)
        report[name] = entry
    if not factors:
        raise LayerError("quality: every factor was dropped by the quality checks; nothing to score")
    return report


def run(pipeline, *, progress=None, output_root: Path | None = None) -> RunResult:
    """Run a pipeline file end to end and return its summary.

    ``pipeline`` is a path or a :class:`LoadedPipeline`. ``progress`` is an object with
    ``stage(name)`` and optional dask ``callbacks`` (see :mod:`gies.cli`). Outputs go to
    ``<outputs.dir>/<name>/`` (or ``output_root/<name>``), replaced only on success.
    """
    t_all = time.perf_counter()
    timer = _Timer()
    warn: list[str] = []
    with timer("validate", progress):
        p = pipeline if isinstance(pipeline, LoadedPipeline) else load_pipeline(pipeline)
    cfg = p.config
    with timer("plan", progress):
        pl = plan(p)
    grid = pl.grid
    factors = dict(pl.factors)
    warn.extend(pl.warnings)
    with timer("harmonise", progress):
        layers, qcounts = harmonise_layers(pl)
    quality = {}
    if qcounts:
        with timer("quality", progress):
            import dask

            computed = dask.compute({k: dict(v) for k, v in qcounts.items()})[0]
            quality = _decide_quality(pl, computed, factors, warn)
    with timer("score", progress):
        scores, fclasses, unmatched = _score_factors(pl, layers, factors)
        score, limiting = comb.minimum(scores)
        scheme = _scheme(cfg)
        if cfg.combine.rule == "maximum_limitation":
            classes, limiting = comb.maximum_limitation(fclasses)
            classes = xr.where(classes == 0, cls_mod.NODATA, classes).astype(np.uint8)
            classes.attrs = {"grid": grid}
        else:
            classes = cls_mod.classify_score(score, scheme=scheme)
        inside = _aoi_mask(grid, pl.aoi.geometry.iloc[0], cfg.processing.chunk)
        classes = xr.where(inside, classes, cls_mod.OUTSIDE).astype(np.uint8)
        score = score.where(inside)
        limiting = xr.where(inside, xr.where(score.isnull(), cls_mod.NODATA, limiting),
                            cls_mod.OUTSIDE).astype(np.uint8)
        fscores = {f: s.where(inside) for f, s in scores.items()}

    out_root = output_root or p.output_dir.parent
    stage = new_run(out_root, cfg.name)
    try:
        result = _export(pl, stage, out_root, timer, progress, warn, quality, factors, score,
                         classes, limiting, fscores, unmatched, scheme, t_all)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return result


def _unreadable(pl: Plan) -> list[str]:
    """Layers whose file fails a full block-by-block read (only called after a failure)."""
    import rasterio

    bad = []
    for name, info in pl.infos.items():
        try:
            with rasterio.open(info.path) as ds:
                for _, win in ds.block_windows(1):
                    ds.read(window=win)
        except (RasterioError, ValueError):
            bad.append(name)
    return bad


def _read_failure(pl: Plan, exc: BaseException) -> LayerError:
    """A LayerError naming the layer(s) whose file a GDAL read error mentions."""
    text, e = "", exc
    while e is not None:
        text += f" {e}"
        e = e.__cause__ or e.__context__
    names = [n for n, info in pl.infos.items() if str(info.path) in text] or _unreadable(pl)
    where = ", ".join(f"layers.{n} ({pl.infos[n].path})" for n in names) or "layers"
    return LayerError(
        f"{where}: reading failed while computing ({str(exc).strip()}); the file may be "
        "truncated or corrupted: re-download it ('gies inspect FILE' describes it)"
    )


def _colormap_classes() -> dict[int, tuple[int, int, int, int]]:
    cmap = {}
    for code, hexcol in cls_mod.CLASS_COLOURS.items():
        h = hexcol.lstrip("#")
        cmap[code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    cmap[cls_mod.OUTSIDE] = (255, 255, 255, 0)
    return cmap


def _export(pl, stage, out_root, timer, progress, warn, quality, factors, score, classes,
            limiting, fscores, unmatched, scheme, t_all) -> RunResult:
    p, grid, cfg = pl.pipeline, pl.grid, pl.pipeline.config
    factor_codes = {i + 1: f for i, f in enumerate(factors)}
    outputs = [
        RasterOutput(stage / "suitability.tif", score, "float32", np.nan,
                     f"{p.profile.name} suitability score (0-1)", "1"),
        RasterOutput(stage / "classes.tif", classes, "uint8", cls_mod.OUTSIDE,
                     "suitability class (1 S1, 2 S2, 3 S3, 4 N, 253 excluded, 254 no data)",
                     "class", colormap=_colormap_classes(), overview_resampling="NEAREST",
                     tags={f"CLASS_{k}": v for k, v in cls_mod.CLASS_NAMES.items()}),
        RasterOutput(stage / "limiting_factor.tif", limiting, "uint8", cls_mod.OUTSIDE,
                     "limiting factor (0 none, 254 no data; other codes in tags)", "class",
                     overview_resampling="NEAREST",
                     tags={f"FACTOR_{k}": v for k, v in factor_codes.items()}),
    ]
    for f, s in fscores.items():
        outputs.append(RasterOutput(stage / f"score_{f}.tif", s, "float32", np.nan,
                                    f"score of factor {f} (0-1)", "1"))
    lazy = {f"unmatched_{k}": v for k, v in unmatched.items()}
    lazy.update({f"valid_{f}": s.notnull().sum() for f, s in fscores.items()})
    with timer("compute+write rasters", progress):
        try:
            extra = write_rasters(grid, outputs, extra=lazy,
                                  callbacks=getattr(progress, "callbacks", ()))
        except (RasterioError, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc, ExportError) else exc
            if isinstance(cause, RasterioError):
                raise _read_failure(pl, cause) from None
            if isinstance(exc, ExportError):
                raise
            raise ExportError(f"outputs.dir: cannot write the result: {exc}") from None
    empty = [f for f in factors if int(extra[f"valid_{f}"]) == 0]
    if empty:
        raise LayerError(
            "; ".join(f"layers.{cfg.factors[f].layer}: no valid cell inside the AOI (all no "
                      "data); check the file's nodata value and the layer's nodata/scale keys"
                      for f in empty)
        )
    for f in factors:
        n = int(extra.get(f"unmatched_{f}", 0))
        if n:
            msg = (f"factors.{f}: {n} cells matched no class range and were classed by the "
                   "nearest range (see docs/outputs.md)")
            warn.append(msg)
            warnings.warn(msg, GiesWarning, stacklevel=2)
    with timer("zone statistics", progress):
        chunk = cfg.processing.chunk
        opened = {n: open_output(stage / f"{n}.tif", grid, chunk=chunk)
                  for n in ("classes", "suitability", "limiting_factor")}
        kw = dict(classes=opened["classes"], score=opened["suitability"],
                  limiting=opened["limiting_factor"], factor_names=factor_codes, scheme=scheme,
                  factor_scores={f: open_output(stage / f"score_{f}.tif", grid, chunk=chunk)
                                 for f in factors},
                  suitable=tuple(CLASSES.index(c) + 1 for c in cfg.zonal.suitable),
                  block=chunk)
        results = {}
        for zname, zones in pl.zones.items():
            spec = cfg.zones[zname]
            results[zname] = zone_statistics(zones, id_field=spec.id_field,
                                             name_field=spec.name_field, **kw)
            empty = [str(z) for z in results[zname].wide.loc[results[zname].wide["empty"], "zone_id"]]
            if empty:
                msg = (f"zones.{zname}: {len(empty)} zone(s) have no pixel inside the AOI and "
                       f"grid (rows kept with empty=True): {', '.join(empty)}")
                warn.append(msg)
                warnings.warn(msg, GiesWarning, stacklevel=2)
        aoi = zone_statistics(pl.aoi.assign(zone_id="AOI", zone_name=cfg.title),
                              id_field="zone_id", name_field="zone_name", **kw)
    with timer("tables", progress):
        write_tables(stage, results, aoi, pl)
    timings = dict(timer.times)
    timings["total"] = round(time.perf_counter() - t_all, 3)
    manifest = _manifest(pl, factors, quality, warn, timings, scheme, factor_codes)
    with timer("maps, styles, report", progress):
        ctx = context_from_manifest(stage, manifest, language=cfg.outputs.language)
        if cfg.outputs.disclaimer is not None:
            ctx["disclaimer"] = cfg.outputs.disclaimer
        licences = sorted({cfg.layers[n].licence for n in pl.infos if cfg.layers[n].licence})
        ctx["licences"] = "; ".join(licences)
        publish(stage, ctx)
    timings = {**timer.times, "total": round(time.perf_counter() - t_all, 3)}
    manifest["timings_s"] = timings
    manifest["outputs"] = [
        {"path": f.name, "bytes": f.stat().st_size, "sha256": file_digest(f)}
        for f in sorted(stage.iterdir()) if f.is_file()
    ]
    (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                         encoding="utf-8")
    publish_run(stage, out_root, cfg.name, keep=cfg.outputs.keep_runs)
    final = out_root / cfg.name
    return RunResult(final, aoi.wide, {k: v.wide for k, v in results.items()}, warn, timings,
                     quality, manifest)


def _manifest(pl, factors, quality, warn, timings, scheme, factor_codes) -> dict:
    p = pl.pipeline
    ls = p.limit_set
    files = []
    for f in _input_files(pl):
        files.append({"path": str(f), "bytes": f.stat().st_size, "sha256": file_digest(f)})
    return {
        "gies_manifest": 1,
        "pipeline": p.config.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": p.config.model_dump(mode="json"),
        "product": {"profile": str(p.profile.path), "product": p.profile.product,
                    "limit_set": p.config.product.limit_set, "method": ls.method,
                    "source": p.profile.sources.get(ls.source, ls.source),
                    "overrides": p.config.product.overrides,
                    "limits_used": {f: ls.limits[f] for f in factors}},
        "factors_used": list(factors),
        "factor_codes": {str(k): v for k, v in factor_codes.items()},
        "class_scheme": {"name": scheme.name, "S1": scheme.s1, "S2": scheme.s2, "S3": scheme.s3,
                         "reference": scheme.reference},
        "class_codes": {str(k): v for k, v in cls_mod.CLASS_NAMES.items()},
        "grid": {"crs": pl.grid.pyproj_crs.to_string(), "transform": list(pl.grid.transform)[:6],
                 "shape": list(pl.grid.shape)},
        "quality": quality,
        "warnings": warn,
        "inputs": files,
        "versions": _versions(),
        "timings_s": timings,
    }
