"""Orchestration: validate, plan, harmonise, model, write, zone statistics, publish.

Stages are pure functions in their own modules (:mod:`gies.plan`, :mod:`gies.model` and the
stage modules they call); this module orders them, does the output I/O through
:mod:`gies.io`, reports progress, times each pass, collects warnings, and publishes the run
folder atomically (:mod:`gies.io.runs`).
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import dask
import dask.array as dsa
import dask.threaded
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from rasterio import features
from rasterio.errors import RasterioError

from gies.methods import schemes as cls_mod
from gies.config import LoadedPipeline, load_pipeline
from gies.errors import DataQualityWarning, ExportError, GiesError, GiesWarning, LayerError
from gies.grid import Grid
from gies.io.rasters import RasterOutput, open_output, write_rasters
from gies.io.stream import write_windows
from gies.io.runs import file_digest, new_run, publish_run
from gies.io.tables import write_tables
from gies.io.cache import LayerCache, folder_size, layer_key
from gies.methods.class_limits import CLASSES
from gies.publish import context_from_manifest, publish
from gies.stages.model import Model, build_model, cacheable, harmonise_layers, scheme_of
from gies.stages.plan import Plan, check_data, plan
from gies.resources import release_freed_memory
from gies.stages.zonal import ZoneSums

__all__ = ["run", "plan", "check_data", "RunResult", "Plan", "rasterize_mask"]

log = logging.getLogger("gies")


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


def rasterize_mask(grid: Grid, geoms, chunk: int, *, all_touched: bool) -> xr.DataArray:
    """Lazy boolean layer: True in pixels of ``geoms`` (pixel-centre or all-touched rule)."""
    geoms = list(geoms)

    def block(block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        if not geoms:
            return np.zeros((r1 - r0, c1 - c0), dtype=bool)
        t = grid.transform
        bt = Affine(t.a, 0, t.c + c0 * t.a, 0, t.e, t.f + r0 * t.e)
        return features.rasterize([(g, 1) for g in geoms], out_shape=(r1 - r0, c1 - c0),
                                  transform=bt, fill=0, all_touched=all_touched,
                                  dtype="uint8").astype(bool)

    data = dsa.map_blocks(block, chunks=dsa.core.normalize_chunks(chunk, grid.shape), dtype=bool,
                          meta=np.array((), dtype=bool))
    return xr.DataArray(data, dims=("y", "x"), coords={"y": grid.y_coords, "x": grid.x_coords},
                        name="mask", attrs={"grid": grid})


def _warm_kernels() -> None:
    """Get numba ready in a background thread while the run validates and plans: the first
    compiled kernel a process calls costs ~0.3 s (numba's import and code generator set-up,
    then its cached machine code), most of it outside the GIL; later ones load in
    milliseconds."""
    import threading

    def warm():
        try:
            from gies.kernels import cells as _scorejit

            _scorejit.count_valid(np.zeros(1, dtype=np.float32))
        except Exception:  # noqa: BLE001 - only a head start; the run reports real errors
            pass

    threading.Thread(target=warm, name="gies-warm-kernels", daemon=True).start()


class CellCounts:
    """The True cells of each boolean layer and the non-NaN cells of each float layer,
    counted in the pass that writes the outputs.

    :attr:`parts` is a lazy ``int64`` array with one vector of counts per chunk, counted by
    one compiled loop per layer and chunk (:func:`gies._scorejit.count_true`,
    :func:`~gies._scorejit.count_valid`) instead of a mask and a sum; stored into this object
    (a :func:`dask.array.store` target, like :class:`gies.zonal.ZoneSums`) its vectors add
    up in :attr:`totals`. No reduction spans the grid, so the pass can run window by window.
    """

    def __init__(self, layers: list[xr.DataArray], chunks=None):
        """``chunks``: the blocks to count by (those of the outputs written in the same
        pass, which must have as many); default: the first layer's."""
        self.totals = np.zeros(len(layers), dtype=np.int64)
        self._lock = threading.Lock()
        self.parts = None
        if not layers:
            return
        datas = [da.data if isinstance(da.data, dsa.Array)
                 else dsa.from_array(np.asarray(da.data)) for da in layers]
        chunks = (dsa.core.normalize_chunks(chunks, datas[0].shape) if chunks is not None
                  else datas[0].chunks)
        datas = [d.rechunk(chunks) for d in datas]
        self.parts = dsa.map_blocks(_count_block, *datas, dtype=np.int64, new_axis=0,
                                    chunks=((len(datas),),) + tuple((1,) * len(c)
                                                                    for c in chunks),
                                    meta=np.empty((0, 0, 0), dtype=np.int64))

    def __setitem__(self, key, value) -> None:
        counts = np.asarray(value).reshape(self.totals.size, -1).sum(axis=1)
        with self._lock:
            self.totals += counts


def _count_block(*blocks):
    from gies.kernels import cells as _scorejit

    out = np.empty((len(blocks), 1, 1), dtype=np.int64)
    for i, b in enumerate(blocks):
        flat = np.ascontiguousarray(b).reshape(-1)
        out[i, 0, 0] = (_scorejit.count_true(flat) if flat.dtype == bool
                        else _scorejit.count_valid(flat))
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


def _digests(pl: Plan) -> dict[Path, str]:
    """SHA-256 of every input file (used by the cache keys and the manifest)."""
    return {f: file_digest(f) for f in _input_files(pl)}


def _layer_files(pl: Plan, name: str) -> list[Path]:
    depth = pl.depth_infos.get(name)
    return [i.path for i in depth.values()] if depth else [pl.infos[name].path]


def _cache_keys(pl: Plan, digests: dict[Path, str]) -> dict[str, str]:
    from gies import __version__

    cfg = pl.pipeline.config
    keys = {}
    for name in pl.infos:
        spec = cfg.layers[name]
        if not cacheable(spec):
            continue
        files = _layer_files(pl, name)
        extra = []
        if spec.mixed_units:
            ind = spec.mixed_units.indicator
            files = files + _layer_files(pl, ind)
            extra.append(cfg.layers[ind].model_dump(mode="json"))
        keys[name] = layer_key(version=__version__, spec=spec.model_dump(mode="json"),
                               extra_specs=extra, grid=pl.grid, chunk=cfg.processing.chunk,
                               engine=cfg.processing.warp_engine,
                               digests=[digests[f] for f in files])
    return keys


def run(pipeline, *, progress=None, output_root: Path | None = None, force: bool = False,
        scheduler: str | None = None, workers: int | None = None,
        memory_limit: int | str | None = None) -> RunResult:
    """Run a pipeline file end to end and return its summary.

    ``pipeline`` is a path or a :class:`LoadedPipeline`. ``progress`` is an object with
    ``stage(name)`` and an optional rich ``console`` for the bar of chunks done (see
    :mod:`gies.cli`). The result is published as ``<outputs.dir>/<name>`` (or
    ``output_root/<name>``) only on success.
    With ``processing.layer_cache: true``, harmonised layers are kept in
    ``<outputs.dir>/.cache`` and reused by later runs unless ``force``.

    ``scheduler`` is the address of an existing Dask cluster (``tcp://host:8786``; default
    ``$DASK_SCHEDULER_ADDRESS``) whose workers see the same file paths: every chunk is then
    computed on the cluster and streamed back window by window to be written here. Otherwise
    the local threaded scheduler runs with ``workers`` threads (default: one per core), fewer
    when ``memory_limit`` (bytes, or text such as ``"2GB"``) would not hold them
    (:mod:`gies.resources`). Chunking is fixed by the pipeline, so results depend on none
    of these.
    """
    import os

    _warm_kernels()
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address and (memory_limit is not None or workers):
        raise GiesError("--memory-limit and --workers size the local scheduler; on a cluster "
                        f"({address}) the workers' own limits apply: drop them, or run "
                        "locally without --scheduler/DASK_SCHEDULER_ADDRESS")
    if address:
        return _run_on_cluster(pipeline, address, progress=progress, output_root=output_root,
                               force=force)
    limit = None
    if memory_limit is not None:
        from gies.resources import parse_size

        limit = parse_size(memory_limit)
    return _run(pipeline, progress=progress, output_root=output_root, force=force,
                workers=workers, memory_limit=limit)


def _run_on_cluster(pipeline, address: str, **kw) -> RunResult:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise GiesError("running on a cluster needs the 'distributed' package") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise GiesError(f"--scheduler: cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        return _run(pipeline, client=client, **kw)
    finally:
        client.close()


def _threads(pl: Plan, workers: int | None, memory_limit: int | None) -> dict:
    """The local scheduler's threads for this plan (see :mod:`gies.resources`)."""
    import os

    from gies import resources
    from gies.stages import harmonise as hz

    cfg = pl.pipeline.config
    grids: dict = {}
    for info in pl.infos.values():
        key = (info.grid.crs, tuple(info.grid.transform)[:6], info.grid.shape)
        grids[key] = grids.get(key, 0) + 1
    base, per = resources.estimate(
        chunk=cfg.processing.chunk, tile_cells=int(np.prod(hz._tile_hw(hz.WARP_TILE))),
        largest_group=max(grids.values(), default=1),
        n_zones=len(pl.aoi) + sum(len(z) for z in pl.zones.values()))
    threads = int(workers or os.cpu_count() or 1)
    if memory_limit is not None:
        threads = resources.threads_within(memory_limit, base=base, per_thread=per,
                                           requested=workers)
    return {"threads": threads, "memory_limit_mb": None if memory_limit is None
            else round(memory_limit / 1e6), "estimated_peak_mb": round((base + threads * per) / 1e6)}


def _run(pipeline, *, progress=None, output_root: Path | None = None, force: bool = False,
         client=None, workers: int | None = None, memory_limit: int | None = None) -> RunResult:
    """:func:`run` on the chosen scheduler (``client``: a distributed Client or None)."""
    t_all = time.perf_counter()
    timer = _Timer()
    warn: list[str] = []
    with timer("validate", progress):
        p = pipeline if isinstance(pipeline, LoadedPipeline) else load_pipeline(pipeline)
    with timer("plan", progress):
        pl = plan(p)
        problems = check_data(pl)
        if problems:
            raise LayerError("\n".join(problems))
    factors = dict(pl.factors)
    warn.extend(pl.warnings)
    release_freed_memory()  # the planning reads
    resources = {"scheduler": "distributed"} if client is not None else \
        {"scheduler": "threads", **_threads(pl, workers, memory_limit)}
    # the local scheduler as a function, and rechunking by tasks: otherwise dask imports
    # distributed to look for a client first (0.15 s of every run)
    local = {} if client is not None else {"scheduler": dask.threaded.get,
                                           "array.rechunk.method": "tasks"}
    with dask.config.set(local, num_workers=resources.get("threads")):
        return _run_planned(p, pl, factors, warn, timer, t_all, progress=progress,
                            output_root=output_root, force=force, client=client,
                            resources=resources)


def _run_planned(p, pl: Plan, factors, warn, timer, t_all, *, progress, output_root, force,
                 client, resources) -> RunResult:
    cfg = p.config
    out_root = output_root or p.output_dir.parent
    use_cache = cfg.processing.layer_cache
    cache = LayerCache(out_root / ".cache", enabled=use_cache and not force)
    with timer("checksums", progress):
        digests = _digests(pl)
        keys = _cache_keys(pl, digests) if use_cache else {}
        cached = {n: hit for n, k in keys.items() if (hit := cache.get(k))}
    with timer("harmonise", progress):
        layers, qcounts = harmonise_layers(pl, cached=cached)
    quality = {}
    if qcounts:
        with timer("quality", progress):
            lazy_q = {k: {c: v for c, v in d.items() if hasattr(v, "compute")} for k, d in qcounts.items()}
            done = (client.compute(lazy_q, sync=True) if client is not None
                    else dask.compute(lazy_q)[0])
            computed = {k: {**qcounts[k], **done.get(k, {})} for k in qcounts}
            quality = _decide_quality(pl, computed, factors, warn)
    with timer("model", progress):
        inside = rasterize_mask(pl.grid, [pl.aoi.geometry.iloc[0]], cfg.processing.chunk,
                                all_touched=True)
        model = build_model(pl, layers, factors, inside)
    stage = new_run(out_root, cfg.name)
    store = _CacheWrite(cache, keys, cached, layers, quality, factors, pl)
    try:
        return _export(pl, model, stage, out_root, timer, progress, warn, quality, t_all,
                       digests, store, client, resources)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        store.abort()
        if isinstance(exc, OSError) and not isinstance(exc, GiesError):
            raise ExportError(f"outputs.dir: cannot write the result in {out_root}: "
                              f"{exc.strerror or exc}") from None
        raise


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


def _colormap(colours: dict[int, str]) -> dict[int, tuple[int, int, int, int]]:
    cmap = {}
    for code, hexcol in colours.items():
        h = hexcol.lstrip("#")
        cmap[code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    cmap[cls_mod.OUTSIDE] = (255, 255, 255, 0)
    return cmap


def _raster_outputs(stage: Path, model: Model, factor_codes: dict, name: str, *,
                    write_factors: bool = True, compression: str = "zstd") -> list[RasterOutput]:
    cat = dict(overview_resampling="NEAREST")
    codes = "1 S1, 2 S2, 3 S3, 4 N (N1 with improvement rules), 5 N2, 253 excluded, 254 no data"
    out = [
        RasterOutput(stage / "suitability.tif", model.score, "float32", np.nan,
                     f"{name} suitability score (0-1)", "1"),
        RasterOutput(stage / "classes.tif", model.classes, "uint8", cls_mod.OUTSIDE,
                     f"suitability class ({codes})", "class",
                     colormap=_colormap(cls_mod.CLASS_COLOURS),
                     tags={f"CLASS_{k}": v for k, v in cls_mod.CLASS_NAMES.items()}, **cat),
        RasterOutput(stage / "limiting_factor.tif", model.limiting, "uint8", cls_mod.OUTSIDE,
                     "limiting factor (0 none, 254 no data; other codes in tags)", "class",
                     tags={f"FACTOR_{k}": v for k, v in factor_codes.items()}, **cat),
    ]
    if model.potential is not None:
        out.append(RasterOutput(stage / "classes_potential.tif", model.potential, "uint8",
                                cls_mod.OUTSIDE, f"potential suitability class ({codes})",
                                "class", colormap=_colormap(cls_mod.CLASS_COLOURS),
                                tags={f"CLASS_{k}": v for k, v in cls_mod.CLASS_NAMES.items()},
                                **cat))
    if model.subclasses is not None:
        out.append(RasterOutput(stage / "subclasses.tif", model.subclasses, "uint8",
                                cls_mod.OUTSIDE, "FAO suitability subclass (codes in tags)",
                                "class", tags={f"SUBCLASS_{k}": v for k, v in
                                               model.subclass_table.items()}, **cat))
        out.append(RasterOutput(stage / "n_limiting.tif", model.n_limiting, "uint8",
                                cls_mod.OUTSIDE, "number of factors at the worst class",
                                "count", **cat))
    if model.best_month is not None:
        out.append(RasterOutput(stage / "best_start_month.tif", model.best_month, "uint8",
                                cls_mod.OUTSIDE, "best start month of the growing season "
                                "(1 January .. 12 December, 0 none, 254 no data)", "month",
                                **cat))
    if write_factors:
        for f, s in model.factor_scores.items():
            out.append(RasterOutput(stage / f"score_{f}.tif", s, "float32", np.nan,
                                    f"score of factor {f} (0-1)", "1"))
    for o in out:
        o.compression = compression.upper()
    return out


def _write(pl: Plan, model: Model, stage: Path, factor_codes, progress, warn,
           cache_outputs: list[RasterOutput], client=None, sinks=()) -> None:
    outputs = _raster_outputs(stage, model, factor_codes, pl.pipeline.profile.name,
                              write_factors=pl.pipeline.config.outputs.factor_scores,
                              compression=pl.pipeline.config.outputs.compression)
    outputs += cache_outputs
    # layers whose cells are counted in the same pass: True cells of boolean layers,
    # non-NaN cells of the factor scores
    counted = dict(model.counts)
    counted.update({f"valid_{f}": s for f, s in model.factor_scores.items()})
    if model.excluded is not None:
        counted["excluded"] = model.excluded & (model.classes != cls_mod.OUTSIDE)
    try:
        if client is not None:
            extra = write_windows(pl.grid, outputs, client=client, progress=progress,
                                  counted={k: v if v.dtype == bool else v.notnull()
                                           for k, v in counted.items()})
        else:
            names = list(counted)
            first = outputs[0].data.data
            counts = CellCounts([counted[k] for k in names],
                                chunks=first.chunks if isinstance(first, dsa.Array) else None)
            if counts.parts is not None:
                sinks = [*sinks, (counts.parts, counts)]
            write_rasters(pl.grid, outputs, sinks=sinks, progress=progress)
            extra = {k: int(n) for k, n in zip(names, counts.totals)}
    except (RasterioError, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc, ExportError) else exc
        if isinstance(cause, RasterioError):
            raise _read_failure(pl, cause) from None
        if isinstance(exc, ExportError):
            raise
        raise ExportError(f"outputs.dir: cannot write the result: {exc}") from None
    cfg = pl.pipeline.config
    empty = [f for f in model.factor_scores if int(extra[f"valid_{f}"]) == 0]
    if empty:
        raise LayerError("; ".join(
            f"layers.{cfg.factors[f].layer if f in cfg.factors else f}: no valid cell inside "
            "the AOI (all no data); check the file's nodata value and the layer's nodata/scale "
            "keys" for f in empty))
    for key, n in extra.items():
        n = int(n)
        if key.startswith("unmatched_") and n:
            f = key.removeprefix("unmatched_")
            method = cfg.factors[f].method or pl.pipeline.limit_set.method
            if method == "lookup":
                raise LayerError(f"factors.{f}: {n} cells have codes missing from the lookup "
                                 "table; add them or give a 'default'")
            msg = (f"factors.{f}: {n} cells matched no class range and were classed by the "
                   "nearest range (see docs/design.md)")
            warn.append(msg)
            warnings.warn(msg, GiesWarning, stacklevel=2)
    if "excluded" in extra:
        model.info["excluded_cells"] = int(extra["excluded"])


class _CacheWrite:
    """The harmonised layers a run adds to the cache, written in the main pass."""

    def __init__(self, cache: LayerCache, keys, cached, layers, quality, factors, pl: Plan):
        cfg = pl.pipeline.config
        used = set(factors.values()) | {c.layer for c in cfg.constraints if c.layer}
        self.cache = cache
        self.todo = {n: keys[n] for n in keys if n not in cached and n in used and n in layers}
        self.layers, self.quality, self.staging = layers, quality, None
        self.reused = sorted(cached)

    def outputs(self) -> list[RasterOutput]:
        if not self.todo:
            return []
        self.staging = self.cache.staging()
        # internal files: compressed tiled GeoTIFFs written in the pass, no COG copy
        return [RasterOutput(self.staging / f"{k}.tif", self.layers[n], "float32", np.nan,
                             f"harmonised layer {n}", str(self.layers[n].attrs.get("units", "")),
                             cog=False)
                for n, k in self.todo.items()]

    def commit(self) -> None:
        if self.staging is None:
            return
        for n, k in self.todo.items():
            counts = {c: v for c, v in self.quality.get(n, {}).items()
                      if c not in ("action", "removed_share")}
            (self.staging / f"{k}.json").write_text(json.dumps(counts or {"valid": -1}),
                                                    encoding="utf-8")
        self.cache.commit(self.staging)

    def abort(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)


def _all_zones(pl: Plan) -> gpd.GeoDataFrame:
    """The AOI and every zones layer as one table (``zone_id``, ``zone_name``, ``_layer``:
    ``""`` for the AOI, else the zones layer's name), summed in one block-wise pass."""
    cfg = pl.pipeline.config
    parts = {"": pl.aoi.assign(zone_id="AOI", zone_name=cfg.title)}
    for zname, zones in pl.zones.items():
        spec = cfg.zones[zname]
        parts[zname] = zones.assign(zone_id=zones[spec.id_field],
                                    zone_name=zones[spec.name_field] if spec.name_field else "")
    allz = pd.concat([p[["zone_id", "zone_name", "geometry"]].assign(_layer=k)
                      for k, p in parts.items()], ignore_index=True)
    return gpd.GeoDataFrame(allz, geometry="geometry", crs=pl.grid.crs)


def _export(pl: Plan, model: Model, stage: Path, out_root: Path, timer, progress, warn,
            quality, t_all, digests, store: _CacheWrite, client=None,
            resources: dict | None = None) -> RunResult:
    grid, cfg = pl.grid, pl.pipeline.config
    factor_codes = {i + 1: f for i, f in enumerate(model.factor_scores)}
    if cfg.combine.rule == "grouped":
        factor_codes = {int(k): v for k, v in model.limiting.attrs.get("factors", {}).items()} \
            or factor_codes
    scheme = scheme_of(cfg)
    suitable = tuple(CLASSES.index(c) + 1 for c in cfg.zonal.suitable)
    allz = _all_zones(pl)
    extra_classes = {"potential": model.potential} if model.potential is not None else {}
    zone_kw = dict(factor_scores=model.factor_scores if cfg.outputs.factor_scores else {},
                   extra_classes=extra_classes, scheme=scheme, block=cfg.processing.chunk)
    sums = None
    if client is None:
        # the zone sums are taken from the blocks as they are computed for the rasters, in
        # the same pass: no raster is read back
        sums = ZoneSums(allz, classes=model.classes, score=model.score,
                        limiting=model.limiting, **zone_kw)
    with timer("compute+write rasters, zone sums", progress):
        _write(pl, model, stage, factor_codes, progress, warn, store.outputs(), client,
               sinks=[(sums.parts, sums)] if sums is not None else ())
    store.commit()
    with timer("zone statistics", progress):
        if sums is None:
            # on a cluster the blocks live on the workers: the sums read the written files
            chunk = cfg.processing.chunk
            opened = {n: open_output(stage / f"{n}.tif", grid, chunk=chunk)
                      for n in ("classes", "suitability", "limiting_factor")}
            if extra_classes:
                zone_kw["extra_classes"] = {"potential": open_output(
                    stage / "classes_potential.tif", grid, chunk=chunk)}
            if zone_kw["factor_scores"]:
                zone_kw["factor_scores"] = {f: open_output(stage / f"score_{f}.tif", grid,
                                                           chunk=chunk)
                                            for f in model.factor_scores}
            sums = ZoneSums(allz, classes=opened["classes"], score=opened["suitability"],
                            limiting=opened["limiting_factor"], **zone_kw)
            sums.compute()
        res = sums.result(allz, id_field="zone_id", name_field="zone_name",
                          factor_names=factor_codes, suitable=suitable)
        aoi, results = res.subset(allz["_layer"] == ""), {}
        for zname in pl.zones:
            sub = res.subset(allz["_layer"] == zname)
            if not cfg.zones[zname].name_field:
                sub = sub.drop_columns(["zone_name"])
            results[zname] = sub
            wide = sub.wide
            empty = [str(z) for z in wide.loc[wide["empty"], "zone_id"]]
            if empty:
                msg = (f"zones.{zname}: {len(empty)} zone(s) have no pixel inside the AOI and "
                       f"grid (rows kept with empty=True): {', '.join(empty)}")
                warn.append(msg)
                warnings.warn(msg, GiesWarning, stacklevel=2)
    with timer("tables", progress):
        write_tables(stage, results, aoi, pl)
    manifest = _manifest(pl, model, quality, warn, scheme, factor_codes, digests)
    manifest["processing"] = {"chunk": cfg.processing.chunk, **(resources or {})}
    manifest["cache"] = {"enabled": cfg.processing.layer_cache,
                         "folder": str(store.cache.folder), "reused": store.reused,
                         "added": sorted(store.todo), "bytes": folder_size(store.cache.folder)}
    if cfg.outputs.publish:
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
    return RunResult(out_root / cfg.name, aoi.wide, {k: v.wide for k, v in results.items()},
                     warn, timings, quality, manifest)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("gies", "numpy", "xarray", "dask", "rasterio", "rioxarray", "odc-geo",
                "geopandas", "shapely", "pyproj", "numba", "pydantic"):
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
    files += [i.path for d in pl.depth_infos.values() for i in d.values()]
    files += [pl.pipeline.resolve(c.path) for c in cfg.constraints if c.path]
    if cfg.improve:
        files.append(pl.pipeline.resolve(cfg.improve.table))
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


def _manifest(pl: Plan, model: Model, quality, warn, scheme, factor_codes, digests) -> dict:
    p = pl.pipeline
    cfg = p.config
    ls = p.limit_set
    files = [{"path": str(f), "bytes": f.stat().st_size, "sha256": digests[f]}
             for f in _input_files(pl)]
    used = [f for f in model.factor_scores if f in cfg.factors]
    limits = {f: (cfg.factors[f].params if cfg.factors[f].method else ls.limits[f]) for f in used}
    return {
        "gies_manifest": 1,
        "pipeline": cfg.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": cfg.model_dump(mode="json"),
        "product": {"profile": str(p.profile.path), "product": p.profile.product,
                    "species": p.profile.species,
                    "limit_set": cfg.product.limit_set, "method": ls.method,
                    "source": p.profile.sources.get(ls.source, ls.source),
                    "overrides": cfg.product.overrides, "limits_used": limits},
        "factors_used": list(model.factor_scores),
        "factor_codes": {str(k): v for k, v in factor_codes.items()},
        "combination": {"rule": cfg.combine.rule, **model.info},
        "class_scheme": {"name": scheme.name, "S1": scheme.s1, "S2": scheme.s2, "S3": scheme.s3,
                         "reference": scheme.reference},
        "class_codes": {str(k): v for k, v in cls_mod.CLASS_NAMES.items()},
        "subclass_codes": {str(k): v for k, v in model.subclass_table.items()},
        "grid": {"crs": pl.grid.pyproj_crs.to_string(), "transform": list(pl.grid.transform)[:6],
                 "shape": list(pl.grid.shape)},
        "quality": quality,
        "warnings": warn,
        "inputs": files,
        "versions": _versions(),
    }
