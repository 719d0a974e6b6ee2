"""The runner: a pipeline's stages in run order, on a local or a cluster executor.

:func:`run` reads top to bottom as the run goes: load and validate, plan, checksums and the
layer cache, open the inputs, harmonise, the quality decision, the model, one pass that
writes every raster and takes every zone sum, the zone tables, the manifest, the QGIS
styles, maps and report, and the atomic publication of the run folder. The stages are pure
functions (:mod:`gies.stages`); this module only orders them, does their I/O through
:mod:`gies.io` and :mod:`gies.publish`, times each pass and collects warnings
(:class:`RunContext`). An :class:`Executor` runs the pass: :class:`LocalExecutor` (the
threaded scheduler) or :class:`ClusterExecutor` (a Dask cluster).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dask
import dask.array as dsa
import dask.threaded
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio.errors import RasterioError

from gies.config import LoadedPipeline, load_pipeline
from gies.config.resolve import LIMIT_READING, suitable_classes
from gies.errors import DataError, ExportError, GiesError, LayerError, ParameterError
from gies.io.cache import CacheWrite, LayerCache, layer_key, open_cached
from gies.io.manifest import InputFile, Manifest
from gies.io.outputs import raster_outputs
from gies.io.rasters import captured_stderr, disk_full, open_output, write_rasters
from gies.io.read import open_inputs, read_failure
from gies.io.runs import file_digest, new_run, publish_run
from gies.io.stream import write_windows
from gies.io.tables import write_tables
from gies.kernels import warm
from gies.methods.registry import SEASONAL
from gies.methods.schemes import EXCLUDED, NODATA, OUTSIDE, SCHEMES
from gies.publish import context_from_manifest, publish
from gies.resources import release_freed_memory
from gies.stages.constrain import aoi_mask
from gies.stages.harmonise import harmonise
from gies.stages.model import Model, build_model
from gies.stages.plan import Plan, plan
from gies.stages.preflight import check_data, nodata_among_values
from gies.stages.quality import CellCounts, QualityReport, after_pass, decide, nodata_shares
from gies.grid import WARP_TILE
from gies.stages.warp import WARP_TOLERANCE
from gies.stages.zonal import ZoneSums, zone_tables, zones_table

__all__ = ["run", "RunResult", "RunContext", "Executor", "LocalExecutor", "ClusterExecutor",
           "input_files", "cache_keys"]

log = logging.getLogger("gies")


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` returns: the published folder, the AOI summary and zone tables, the
    warnings (also in the manifest), seconds per pass, the quality actions and the manifest.
    :meth:`open` reads an output raster back lazily."""

    output_dir: Path
    aoi_summary: pd.DataFrame = field(repr=False)
    zone_stats: dict[str, pd.DataFrame] = field(repr=False)
    warnings: tuple[str, ...]
    timings: dict[str, float] = field(repr=False)
    quality: dict = field(repr=False)
    manifest: dict = field(repr=False, default_factory=dict)

    def open(self, name: str):
        """An output raster of the run as a lazy DataArray on the run's grid: ``"classes"``,
        ``"suitability"``, ``"score_rainfall"``, ... (or a file name such as
        ``"classes.tif"``)."""
        from gies.grid import Grid

        file = name if name.endswith(".tif") else f"{name}.tif"
        path = Path(self.output_dir) / file
        if not path.is_file():
            have = sorted(p.stem for p in Path(self.output_dir).glob("*.tif"))
            from gies.methods.registry import did_you_mean

            raise ParameterError(f"{{name}}: no output raster {name!r} in {self.output_dir}"
                                 f"{did_you_mean(name, have)} (rasters: {', '.join(have)})",
                                 parameters=("name",))
        g = self.manifest.get("grid", {})
        from affine import Affine
        from pyproj import CRS

        grid = Grid(CRS.from_user_input(g["crs"]).to_wkt(), Affine(*g["transform"]),
                    tuple(g["shape"]))
        chunk = int(self.manifest.get("processing", {}).get("chunk", 1024))
        return open_output(path, grid, chunk=chunk)

    def __repr__(self) -> str:
        a = self.aoi_summary.iloc[0] if len(self.aoi_summary) else {}
        names = SCHEMES[self.manifest.get("class_scheme", {}).get("name", "fao")].keys
        ha = ", ".join(f"{c} {a[f'{c}_ha']:,.0f} ha" for c in names if f"{c}_ha" in a)
        return (f"<RunResult {Path(self.output_dir).name!r}: {ha}; {len(self.warnings)} "
                f"warning(s); {self.timings.get('total', 0):.1f} s>")


# -- context: progress, timing, warnings --------------------------------------------------------------
class Progress(Protocol):
    """What :func:`run` reports to (the CLI's progress display implements it): ``stage(name)``
    when a pass starts; optionally ``bar(total, what)`` returning an object with
    ``advance(n)`` and ``close()`` for the chunks of the pass."""

    def stage(self, name: str) -> None:
        """A pass starts."""


class RunContext:
    """What the stages of one run share: the progress display, seconds per pass and the
    warnings, collected once (each is also emitted with :func:`warnings.warn`)."""

    def __init__(self, progress: Progress | None = None):
        self.progress = progress
        self.times: dict[str, float] = {}
        self.messages: list[str] = []
        self.t0 = time.perf_counter()

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time a pass (and tell the progress display it started)."""
        t = time.perf_counter()
        if self.progress is not None:
            self.progress.stage(name)
        yield
        self.times[name] = round(time.perf_counter() - t, 3)
        log.debug("%s: %.2f s", name, self.times[name])

    def warn(self, found) -> None:
        """Record and emit warnings (instances of :class:`~gies.errors.GiesWarning`)."""
        for w in found:
            self.messages.append(str(w))
            warnings.warn(w, stacklevel=3)

    def timings(self) -> dict[str, float]:
        """Seconds per pass and in all."""
        return {**self.times, "total": round(time.perf_counter() - self.t0, 3)}


# -- executors -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZoneJob:
    """The zone sums of a pass: every zone (AOI and zones layers as one table) and the
    layers they sum, by output name."""

    zones: gpd.GeoDataFrame
    layers: Mapping[str, Any]
    factor_scores: Mapping[str, Any]
    extra_classes: Mapping[str, Any]
    scheme: Any
    block: int
    origin_classes: Mapping[str, Any] = field(default_factory=dict)
    requirements: bool = True

    def sums(self, layers: Mapping[str, Any] | None = None, factor_scores=None,
             extra_classes=None, origin_classes=None) -> ZoneSums:
        """The :class:`~gies.stages.zonal.ZoneSums` of these layers (or of the ones given)."""
        ly = layers or self.layers
        limiting = ly.get("limiting_factor")
        if limiting is not None:
            # excluded land is its own row of the limiting areas, not land a factor limits
            limiting = (xr.where(ly["classes"] == EXCLUDED, EXCLUDED, limiting)
                        .astype(np.uint8).assign_coords(limiting.coords))
        return ZoneSums(self.zones, classes=ly["classes"], score=ly["suitability"],
                        limiting=limiting,
                        factor_scores=self.factor_scores if factor_scores is None else factor_scores,
                        extra_classes=self.extra_classes if extra_classes is None else extra_classes,
                        origin_classes=self.origin_classes if origin_classes is None
                        else origin_classes, requirements=self.requirements,
                        scheme=self.scheme, block=self.block)


class Executor(Protocol):
    """Where a run's pass runs."""

    def session(self) -> contextlib.AbstractContextManager:
        """The scheduler configuration for the whole run."""

    def compute(self, lazy: Any) -> Any:
        """Compute a (small) lazy result, e.g. quality counts."""

    def write(self, grid, outputs, counted: Mapping[str, Any], zones: ZoneJob, progress,
              folder: Path) -> tuple[dict[str, int], ZoneSums]:
        """Write every output raster, count the cells of ``counted`` (True cells of boolean
        layers, non-NaN cells of float ones) and take the zone sums."""

    def resources(self) -> dict:
        """The manifest's ``processing`` entry (besides the chunk)."""


class LocalExecutor:
    """The local threaded scheduler with ``threads`` threads: one pass over the grid, window
    by window, writes the rasters and feeds the cell counts and zone sums from the same
    blocks (no raster is read back)."""

    def __init__(self, threads: int, *, memory_limit: int | None = None,
                 estimated_peak: int | None = None):
        self.threads, self.memory_limit, self.estimated_peak = threads, memory_limit, estimated_peak

    @classmethod
    def for_plan(cls, pl: Plan, *, workers: int | None = None,
                 memory_limit: int | None = None) -> LocalExecutor:
        """As many threads as asked (default one per core), fewer when ``memory_limit``
        (bytes) would not hold them (:mod:`gies.resources`)."""
        from gies import resources
        from gies.grid import tile_shape

        grids: dict = {}
        for lp in pl.layers.values():
            g = lp.info.grid
            key = (g.crs, tuple(g.transform)[:6], g.shape)
            grids[key] = grids.get(key, 0) + 1
        base, per = resources.estimate(
            chunk=pl.chunk, tile_cells=int(np.prod(tile_shape(WARP_TILE))),
            largest_group=max(grids.values(), default=1),
            n_zones=len(pl.aoi) + sum(len(z) for z in pl.zones.values()))
        threads = int(workers or os.cpu_count() or 1)
        if memory_limit is not None:
            threads = resources.threads_within(memory_limit, base=base, per_thread=per,
                                               requested=workers)
        return cls(threads, memory_limit=memory_limit, estimated_peak=base + threads * per)

    def session(self):
        # the scheduler as a function, and rechunking by tasks: otherwise dask imports
        # distributed to look for a client first (0.15 s of every run)
        return dask.config.set({"scheduler": dask.threaded.get, "array.rechunk.method": "tasks"},
                               num_workers=self.threads)

    def compute(self, lazy):
        return dask.compute(lazy)[0]

    def write(self, grid, outputs, counted, zones: ZoneJob, progress, folder):
        sums = zones.sums()
        names = list(counted)
        first = outputs[0].data.data
        counts = CellCounts([counted[k] for k in names],
                            chunks=first.chunks if isinstance(first, dsa.Array) else None)
        sinks = [(sums.parts, sums)]
        if counts.parts is not None:
            sinks.append((counts.parts, counts))
        write_rasters(grid, outputs, sinks=sinks, progress=progress)
        return {k: int(n) for k, n in zip(names, counts.totals)}, sums

    def resources(self) -> dict:
        return {"scheduler": "threads", "threads": self.threads,
                "memory_limit_mb": None if self.memory_limit is None
                else round(self.memory_limit / 1e6),
                "estimated_peak_mb": None if self.estimated_peak is None
                else round(self.estimated_peak / 1e6)}


class ClusterExecutor:
    """A Dask cluster (``client``) whose workers see the same files: every window of the grid
    is computed there and streamed back to be written here; the zone sums then read the
    written files (the blocks stay on the workers)."""

    def __init__(self, client):
        self.client = client

    @classmethod
    def connect(cls, address: str) -> ClusterExecutor:
        """A client of the scheduler at ``address``."""
        from distributed import Client

        try:
            return cls(Client(address, timeout="10s"))
        except (OSError, TimeoutError) as exc:
            raise ParameterError(f"{{scheduler}}: cannot reach the Dask scheduler at {address}: {exc}",
                                 parameters=("scheduler",)) from None

    def close(self) -> None:
        """Close the client."""
        self.client.close()

    def session(self):
        return contextlib.nullcontext()

    def compute(self, lazy):
        return self.client.compute(lazy, sync=True)

    def write(self, grid, outputs, counted, zones: ZoneJob, progress, folder):
        totals = write_windows(grid, outputs, client=self.client, progress=progress,
                               counted={k: v if v.dtype == bool else v.notnull()
                                        for k, v in counted.items()})
        chunk = zones.block
        opened = ({n: open_output(folder / f"{n}.tif", grid, chunk=chunk)
                   for n in ("classes", "suitability", "limiting_factor")}
                  if zones.requirements else dict(zones.layers))
        extra = {k: open_output(folder / f"classes_{k}.tif", grid, chunk=chunk)
                 for k in zones.extra_classes}
        scores = {f: open_output(folder / f"score_{f}.tif", grid, chunk=chunk)
                  for f in zones.factor_scores}
        cut = "agreement.tif" if zones.requirements else "similar.tif"  # the written layer
        origin = {k: (open_output(folder / cut, grid, chunk=chunk), codes)
                  for k, (_, codes) in zones.origin_classes.items()}
        sums = zones.sums(opened, scores, extra, origin)
        sums.compute()
        return totals, sums

    def resources(self) -> dict:
        return {"scheduler": "distributed"}


# -- the run ---------------------------------------------------------------------------------------------
def run(pipeline, *, progress: Progress | None = None, output_root: str | Path | None = None,
        force: bool = False, scheduler: str | None = None, workers: int | None = None,
        memory_limit: int | str | None = None) -> RunResult:
    """Run a pipeline end to end and return its summary.

    ``pipeline`` is a path or a :class:`~gies.config.LoadedPipeline`. The result is
    published as ``<outputs.dir>/<name>`` (or ``output_root/<name>``) only on success. With
    ``processing.layer_cache: true``, harmonised layers are kept in ``<outputs.dir>/.cache``
    and reused by later runs unless ``force``.

    ``scheduler`` is the address of an existing Dask cluster (``tcp://host:8786``; default
    ``$DASK_SCHEDULER_ADDRESS``) whose workers see the same file paths. Otherwise the local
    threaded scheduler runs with ``workers`` threads (default: one per core), fewer when
    ``memory_limit`` (bytes, or text such as ``"2GB"``) would not hold them
    (:mod:`gies.resources`). Chunking is fixed by the pipeline, so results depend on none of
    these.
    """
    warm()
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address and (memory_limit is not None or workers):
        raise ParameterError(
            f"{{memory_limit}} and {{workers}} size the local scheduler; on a cluster ({address}) "
            "the workers' own limits apply: drop them, or run locally without {scheduler} (or "
            "DASK_SCHEDULER_ADDRESS)", parameters=("memory_limit", "workers", "scheduler"))
    limit = None
    if memory_limit is not None:
        from gies.resources import parse_size

        limit = parse_size(memory_limit)
    ctx = RunContext(progress)
    with ctx.timed("validate"):
        p = pipeline if isinstance(pipeline, LoadedPipeline) else load_pipeline(pipeline)
    with ctx.timed("plan"):
        pl = plan(p)
        problems, accepted = check_data(pl)
        if problems:
            raise LayerError("\n".join(problems))
    ctx.warn(pl.warnings + tuple(accepted))
    release_freed_memory()  # the planning reads
    if address:
        executor: Any = ClusterExecutor.connect(address)
        try:
            return _run(ctx, pl, executor, output_root=output_root, force=force)
        finally:
            executor.close()
    executor = LocalExecutor.for_plan(pl, workers=workers, memory_limit=limit)
    with executor.session():
        return _run(ctx, pl, executor, output_root=output_root, force=force)


def _run(ctx: RunContext, pl: Plan, executor, *, output_root: Path | None,
         force: bool) -> RunResult:
    cfg = pl.config
    out_root = Path(output_root) if output_root is not None else pl.pipeline.output_dir.parent
    cache = LayerCache(out_root / ".cache", enabled=cfg.processing.layer_cache and not force)
    with ctx.timed("checksums"):
        digests = {f: file_digest(f) for f in input_files(pl)}
        keys = cache_keys(pl, digests) if cfg.processing.layer_cache else {}
        hits = {n: hit for n, k in keys.items() if (hit := cache.get(k))}
    with ctx.timed("harmonise"):
        cached = {n: open_cached(path, pl.grid, chunk=pl.chunk, units=pl.layers[n].units, name=n)
                  for n, (path, _) in hits.items()}
        layers, qcounts = harmonise(pl, open_inputs(pl, skip=hits), cached=cached,
                                    cached_counts={n: c for n, (_, c) in hits.items()})
    quality = QualityReport({}, tuple(pl.pipeline.factors), (), ())
    if qcounts:
        with ctx.timed("quality"):
            lazy = {k: {c: v for c, v in d.items() if hasattr(v, "compute")} for k, d in qcounts.items()}
            done = executor.compute(lazy)
            quality = decide(pl, {k: {**qcounts[k], **done.get(k, {})} for k in qcounts})
        ctx.warn(quality.warnings)
    inside = aoi_mask(pl)
    with ctx.timed("model"):
        model = (build_model(pl, layers, quality.kept, inside) if pl.pipeline.has_requirements
                 else Model.without_requirements())
    if cfg.origin is not None:
        with ctx.timed("origin"):
            model = _origin(ctx, pl, layers, inside, model, executor)
    stage = new_run(out_root, cfg.name)
    used = {pl.pipeline.factors[f].layer for f in quality.kept} | {c.layer for c in cfg.constraints if c.layer}
    if cfg.origin is not None:
        used |= set(cfg.origin.variables)
    store = CacheWrite(cache, {n: keys[n] for n in keys if n not in hits and n in used and n in layers},
                       layers, quality.manifest(), list(hits))
    try:
        return _export(ctx, pl, model, quality, stage, out_root, digests, store, executor)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        store.abort()
        if isinstance(exc, OSError) and not isinstance(exc, GiesError):
            raise ExportError(f"outputs.dir: cannot write the result in {out_root}: "
                              f"{exc.strerror or exc}") from None
        raise


def _origin(ctx: RunContext, pl: Plan, layers, inside, model: Model, executor) -> Model:
    """The origin analysis (:mod:`gies.stages.origin`): the sampling pass, the fits in
    memory, and the lazy layers of the fitted methods, added to the model."""
    import dataclasses

    from gies.stages import origin as og

    cfg = pl.config
    o = cfg.origin
    names = list(o.variables)
    categorical = [pl.layers[v].kind == "categorical" for v in names]
    stack = og.variable_stack(layers, names, inside)
    bias = layers[cfg.model.background.bias] if cfg.model and cfg.model.background.bias else None
    n_bg = cfg.model.background.n if cfg.model else 10_000
    seed = cfg.model.background.seed if cfg.model else o.seed
    ref = og.reference_cells(pl.grid, pl.origin, pl.aoi.geometry.iloc[0],
                             kind="points" if o.points is not None else "area",
                             max_samples=o.max_samples, seed=o.seed)
    # one pass (threads, also with a cluster: its results are a few thousand cells)
    sample = og.SamplePass(stack, n=n_bg, seed=seed, ref_rows=ref.rows, ref_cols=ref.cols,
                          bias=bias).compute()
    valid = sample.valid
    if valid == 0:
        raise DataError("origin.variables: no cell of the AOI has a value of every variable "
                        f"({', '.join(names)}): check the layers' coverage and nodata")
    if bias is not None and sample.rows.size == 0:
        raise DataError(f"model.background.bias: layer {cfg.model.background.bias!r} is 0 or "
                        "no data on every valid cell of the AOI: choose a layer with positive "
                        "weights")
    if cfg.model and n_bg > sample.rows.size:
        ctx.warn([og.OriginWarning(
            f"model.background.n: {n_bg} background cells asked for, the AOI has "
            f"{sample.rows.size} valid cells{' with a positive bias' if bias is not None else ''}"
            f": all {sample.rows.size} are used")])
    aoi_min, aoi_max = sample.aoi_min, sample.aoi_max
    rows, cols, bg_vals = sample.rows, sample.cols, sample.values
    ref_vals = sample.reference
    ok, report, found = og.reference_found(ref, ref_vals)
    ctx.warn(found)
    from gies.area import areas_at

    bg_w = areas_at(pl.grid, rows, cols)
    fit = og.fit_origin(cfg, names, categorical, ref_values=ref_vals[ok],
                        ref_weights=ref.weights[ok],
                        ref_xy=og.cell_centres(pl.grid, ref.rows[ok], ref.cols[ok]),
                        bg_values=bg_vals.reshape(-1, len(names)), bg_weights=bg_w,
                        bg_xy=og.cell_centres(pl.grid, rows, cols), aoi_min=aoi_min,
                        aoi_max=aoi_max,
                        report=report, warn=lambda w: ctx.warn([w]))
    suitable = ()
    if model.has_requirements:
        scheme = pl.pipeline.scheme
        suitable = tuple(scheme.code(c) for c in suitable_classes(cfg, scheme))
    layers_o = og.origin_layers(fit, stack, inside=inside, classes=model.classes,
                                suitable=suitable)
    return dataclasses.replace(model, origin=layers_o)


def _write_origin(stage: Path, pl: Plan, fit) -> None:
    """The origin's samples (``origin_reference.csv``, ``origin_background.csv``), its
    fingerprint (``origin_fingerprint.csv``) and its polygons or points (``origin.gpkg``)
    beside the rasters."""
    from gies.stages.origin import samples_table

    for which in ("reference", "background"):
        samples_table(fit, which).to_csv(stage / f"origin_{which}.csv", index=False)
    pd.DataFrame(fit.info["fingerprint"]).to_csv(stage / "origin_fingerprint.csv", index=False)
    from gies.io.gpkg import write_gpkg

    write_gpkg(pl.origin, stage / "origin.gpkg", "origin")


def _export(ctx: RunContext, pl: Plan, model: Model, quality: QualityReport, stage: Path,
            out_root: Path, digests: Mapping[Path, str], store: CacheWrite, executor) -> RunResult:
    cfg = pl.config
    factor_codes = dict(model.limiting_codes)
    allz = zones_table(pl)
    extra = {"potential": model.potential} if model.potential is not None else {}
    origin_classes = {}
    if model.origin is not None and model.origin.agreement is not None:
        name = "agreement" if model.has_requirements else "origin"
        origin_classes[name] = (model.origin.agreement, model.origin.agreement_codes)
    if model.has_requirements:
        zlayers = {"classes": model.classes, "suitability": model.score,
                   "limiting_factor": model.limiting}
    else:  # no requirement classes: the zones' areas from the AOI mask alone
        inside = aoi_mask(pl)
        zlayers = {"classes": xr.where(inside, NODATA, OUTSIDE).astype(np.uint8)
                   .assign_coords(pl.grid.coords()),
                   "suitability": xr.full_like(inside, np.nan, dtype=np.float32)}
    zones = ZoneJob(allz, zlayers,
                    model.factor_scores if cfg.outputs.factor_scores else {}, extra,
                    pl.pipeline.scheme, pl.chunk, origin_classes, model.has_requirements)
    outputs = raster_outputs(stage, model, factor_codes=factor_codes,
                             product=pl.pipeline.profile.name if pl.pipeline.profile else cfg.title,
                             factor_scores=cfg.outputs.factor_scores,
                             compression=cfg.outputs.compression,
                             scheme=pl.pipeline.scheme)
    # counted in the same pass: True cells of boolean layers, non-NaN cells of the scores
    counted = dict(model.counts)
    counted.update({f"valid_{f}": s for f, s in model.factor_scores.items()})
    if model.excluded is not None and model.has_requirements:
        counted["excluded"] = model.excluded & (model.classes != OUTSIDE)
    if model.has_requirements:
        counted["aoi"] = model.classes != OUTSIDE
    with ctx.timed("compute+write rasters, zone sums"):
        quiet = captured_stderr()
        try:
            with quiet:
                totals, sums = executor.write(pl.grid, outputs + store.outputs(), counted,
                                              zones, ctx.progress, stage)
        except (RasterioError, OSError) as exc:
            raise _pass_failure(pl, exc, out_root, quiet.text) from None
        found, excluded = after_pass(totals, pl.pipeline.factors, list(model.factor_scores))
        shares, more = _nodata_shares(pl, totals, list(model.factor_scores), quality)
        ctx.warn(found + more)
    store.commit()
    info = dict(model.info)
    if excluded is not None:
        info["excluded_cells"] = excluded
    with ctx.timed("zone statistics"):
        scheme = pl.pipeline.scheme
        suitable = tuple(scheme.code(c) for c in suitable_classes(cfg, scheme))
        aoi, results, empty = zone_tables(sums, allz, pl, factor_codes=factor_codes,
                                          suitable=suitable)
        ctx.warn(empty)
    with ctx.timed("tables"):
        write_tables(stage, results, aoi, pl)
        if model.origin is not None:
            _write_origin(stage, pl, model.origin.fit)
    manifest = _manifest(pl, model, quality, ctx.messages, factor_codes, digests, info)
    manifest.processing = {"chunk": pl.chunk, **executor.resources()}
    if shares:
        manifest.quality = {**manifest.quality,
                            "nodata_in_aoi": {k: v.manifest() for k, v in shares.items()}}
    manifest.cache = store.manifest(cfg.processing.layer_cache)
    mdata = manifest.to_json()
    if cfg.outputs.publish:
        with ctx.timed("maps, styles, report"):
            pctx = context_from_manifest(stage, mdata, language=cfg.outputs.language)
            if cfg.outputs.disclaimer is not None:
                pctx["disclaimer"] = cfg.outputs.disclaimer
            licences = sorted({lp.spec.licence for lp in pl.layers.values() if lp.spec.licence})
            pctx["licences"] = "; ".join(licences)
            publish(stage, pctx)
    manifest.timings_s = ctx.timings()
    manifest.list_outputs(stage)
    manifest.write(stage)
    publish_run(stage, out_root, cfg.name, keep=cfg.outputs.keep_runs)
    return RunResult(out_root / cfg.name, aoi.wide, {k: v.wide for k, v in results.items()},
                     tuple(ctx.messages), manifest.timings_s, quality.manifest(),
                     manifest.to_json())


def _pass_failure(pl: Plan, exc: BaseException, out_root: Path, printed: str) -> GiesError:
    """One message for a pass that failed: a full disk (naming the outputs folder), a write
    that GDAL refused, or a layer that could not be read (:func:`read_failure`); ``printed``
    is what GDAL and libtiff wrote to standard error meanwhile."""
    if disk_full(exc, text=printed):
        return ExportError(f"outputs.dir: the disk holding {out_root} is full: the run's "
                           "outputs do not fit (nothing was published; the previous result is "
                           "unchanged); free space, or choose another outputs.dir")
    cause = exc.__cause__ if isinstance(exc, ExportError) else exc
    text = str(cause)
    if isinstance(cause, RasterioError) and ("Write failed" in text
                                             or "write error" in printed.lower()):
        last = [ln.strip() for ln in printed.splitlines() if ln.strip()]
        return ExportError(f"outputs.dir: cannot write the result in {out_root}: "
                           f"{last[-1] if last else text}")
    if isinstance(cause, RasterioError):
        return read_failure(pl, cause)
    if isinstance(exc, ExportError):
        return exc
    return ExportError(f"outputs.dir: cannot write the result: {exc}")


def _nodata_shares(pl: Plan, totals: Mapping[str, int], scored: list[str],
                   quality: QualityReport):
    """:func:`gies.stages.quality.nodata_shares` of the scored factors' layers (the seasonal
    model's inputs together, as ``tavg+prec``), with each file's nodata value."""
    if "aoi" not in totals:
        return {}, []
    by_layer: dict[str, list[str]] = {}
    files: dict[str, Any] = {}
    for f in scored:
        if f in pl.pipeline.factors:
            names = [pl.pipeline.factors[f].layer]
        else:
            sp = pl.pipeline.seasonal
            names = [n for n in (sp.tavg, sp.prec, sp.tmin) if n]
        key = "+".join(names)
        by_layer.setdefault(key, []).append(f)
        files[key] = pl.layers[names[0]]
    nodata = {k: (lp.spec.nodata if lp.spec.nodata is not None else lp.info.nodata)
              for k, lp in files.items()}
    nodata = {k: (None if v is None or np.isnan(v) else float(v)) for k, v in nodata.items()}

    def near(key: str, value: float) -> str:
        lp = files[key]
        return nodata_among_values(lp.info, value, band=list(lp.bands)[0], key=lp.key,
                                   aoi=pl.aoi)

    checked = {k: int(v.get("no_reading", 0)) + int(v.get("implausible", 0))
               for k, v in quality.layers.items()}
    return nodata_shares(totals, {k: tuple(v) for k, v in by_layer.items()}, nodata,
                         limit=pl.config.quality.nodata_above, near_valid=near,
                         checked=checked, drop_limit=pl.config.quality.drop_factor_above,
                         partial=frozenset(k for k, lp in files.items() if lp.spec.coverage == "warn"))


# -- inputs, cache keys, manifest -------------------------------------------------------------------------
def input_files(pl: Plan) -> list[Path]:
    """Every file a run reads (layers, constraints, improvement table, zones, AOI, with the
    sidecars of shapefiles; the pipeline file and the product profile), each once."""
    cfg = pl.config
    p = pl.pipeline
    files = [lp.info.path for lp in pl.layers.values()]
    files += [i.path for lp in pl.layers.values() if lp.depths for i in lp.depths.values()]
    files += [p.resolve(c.path) for c in cfg.constraints if c.path]
    if cfg.improve:
        files.append(p.resolve(cfg.improve.table))
    files += [p.resolve(z.path) for z in cfg.zones.values()]
    if cfg.origin is not None:
        src = cfg.origin.area or cfg.origin.points
        files.append(p.resolve(src.path))
    if cfg.aoi.path:
        files.append(p.resolve(cfg.aoi.path))
    for base in list(files):
        if base.suffix.lower() == ".shp":
            files += [base.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg")
                      if base.with_suffix(s).exists()]
    files.append(p.path)
    if p.profile is not None and p.profile.path:
        files.append(Path(p.profile.path).resolve())
    return list(dict.fromkeys(files))


def cache_keys(pl: Plan, digests: Mapping[Path, str]) -> dict[str, str]:
    """The layer-cache key of every cacheable layer (:func:`gies.io.cache.layer_key`)."""
    from gies import __version__

    cfg = pl.config
    keys = {}
    for name, lp in pl.layers.items():
        if not lp.cacheable:
            continue
        files, extra = list(lp.files), []
        if lp.spec.mixed_units:
            ind = lp.spec.mixed_units.indicator
            files += list(pl.layers[ind].files)
            extra.append(cfg.layers[ind].model_dump(mode="json"))
        keys[name] = layer_key(version=__version__, spec=lp.spec.model_dump(mode="json"),
                               extra_specs=extra, grid=pl.grid, chunk=cfg.processing.chunk,
                               warp=[WARP_TILE, WARP_TOLERANCE, cfg.processing.warp_engine],
                               digests=[digests[f] for f in files])
    return keys


def _manifest(pl: Plan, model: Model, quality: QualityReport, messages: list[str],
              factor_codes: Mapping[int, str], digests: Mapping[Path, str], info: dict) -> Manifest:
    p = pl.pipeline
    cfg = p.config
    ls = p.limit_set
    scheme = p.scheme
    used = [f for f in model.factor_scores if f in cfg.factors]
    product = {} if p.profile is None else {
        "profile": str(p.profile.path), "product": p.profile.product,
        "species": p.profile.species, "limit_set": cfg.product.limit_set,
        "method": ls.method, "source": p.profile.sources.get(ls.source, ls.source),
        "overrides": cfg.product.overrides,
        "limits_used": {**({k: p.seasonal.params[k] for k in SEASONAL[p.seasonal.model]
                            .extra.get("limits", ()) if k in p.seasonal.params}
                           if p.seasonal is not None else {}),
                        **{f: p.factors[f].limits for f in used}},
        # how each class-limit factor's table was read, as resolved from the factor's own
        # key, its params or the scoring section
        "limit_reading": {f: {k: p.factors[f].params[k] for k in LIMIT_READING
                              if k in p.factors[f].params}
                          for f in used if "on_limit" in p.factors[f].params}}
    origin = None if model.origin is None else dict(model.origin.fit.info)
    return Manifest(
        pipeline=cfg.name,
        config=cfg.model_dump(mode="json"),
        product=product,
        factors_used=list(model.factor_scores),
        factor_codes={str(k): v for k, v in factor_codes.items()},
        combination={"rule": cfg.combine.rule, **info} if p.has_requirements else {},
        class_scheme={"name": scheme.name, **scheme.bounds, "reference": scheme.reference},
        class_codes={str(k): v for k, v in scheme.class_names.items()},
        subclass_codes={str(k): v for k, v in model.subclass_table.items()},
        grid={"crs": pl.grid.pyproj_crs.to_string(), "transform": list(pl.grid.transform)[:6],
              "shape": list(pl.grid.shape)},
        quality=quality.manifest(),
        warnings=list(messages),
        inputs=[InputFile.of(f, digests[f]) for f in input_files(pl)],
        origin=origin,
    )
