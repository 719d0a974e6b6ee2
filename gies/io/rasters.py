"""Writing rasters: one dask pass into tiled GeoTIFFs, then Cloud-Optimised GeoTIFFs.

All outputs of a run are written by a single :func:`dask.array.store` call, so the graph
they share (reading, harmonising, scoring) is computed once, chunk by chunk, and no output
ever needs the whole grid in memory. The pass is executed window by window (whole warp
tiles, at most :data:`WINDOW_CHUNKS` chunks), so the scheduler never holds the graph of the
whole grid. Each file is then copied into a COG by GDAL's COG driver (ZSTD or DEFLATE with
a predictor, internal overviews), which streams; the copies run side by side, each with
GDAL's compression threads. Outputs with ``cog=False`` are written compressed in the pass
itself.
"""

from __future__ import annotations

import os
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.array as dsa
import dask.callbacks
import dask.threaded
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.windows import Window

from gies.errors import ExportError
from gies.grid import WARP_TILE, Grid, tile_shape, tile_spans
from gies.io.gdal import block_cache
from gies.resources import release_freed_memory

#: GDAL block cache (MB) while writing. Blocks are written once, whole, and never read
#: back, so GDAL can write them straight through: a cache only holds dirty blocks (the
#: benchmark's N=8000 peak: 0.72 GB without, 0.78 GB with 2 MB, 1.2 GB with 128 MB).
GDAL_CACHE_MB = 0

#: Chunks in one window of the pass (:func:`_run_in_windows`): the scheduler holds one
#: window's tasks (~40 per chunk in the benchmark pipeline, ~4 kB each with its
#: bookkeeping), and each window ends with a moment where its last tasks leave a core idle
#: (~0.15 s at 2 cores in the benchmark): 64 chunks of 1024² (8×8) keep both small
#: (N=8000: one window; N=16000: four).
WINDOW_CHUNKS = 64

__all__ = ["RasterOutput", "write_rasters", "captured_stderr", "disk_full", "progress_bar", "open_output", "write_categories",
           "read_categories", "pass_windows"]


class captured_stderr:
    """Send what C libraries write to the process's standard error (libtiff's and GDAL's
    default handlers in worker threads: ~100 raw lines when a disk fills up) to a temporary
    file while the block runs; :attr:`text` holds it afterwards. A user reads one message
    per problem, made from this text and the exception; nothing raw reaches the terminal.
    A no-op where the process has no descriptor 2."""

    def __init__(self):
        self.text = ""
        self._saved = None
        self._file = None

    def __enter__(self):
        import sys
        import tempfile

        fd = 2  # the descriptor C code writes to, whatever Python's sys.stderr is
        try:
            os.fstat(fd)
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            return self
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(fd)
        os.dup2(self._file.fileno(), fd)
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._saved is None:
            return False
        import sys

        sys.stderr.flush()
        os.dup2(self._saved, self._fd)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode("utf-8", "replace")
        self._file.close()
        return False


def disk_full(exc: BaseException | None, *, text: str = "") -> bool:
    """Whether a write failed because its disk is full: ENOSPC (or EDQUOT)
    anywhere in the exception's chain, or "No space left on device" in its messages or in
    ``text`` (what GDAL printed)."""
    import errno

    e, seen = exc, ""
    while e is not None:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen += f" {e}"
        e = e.__cause__ or e.__context__
    return "No space left on device" in seen + text or "Disk quota exceeded" in seen + text


@dataclass
class RasterOutput:
    """One single-band output raster."""

    path: Path
    data: xr.DataArray
    dtype: str
    nodata: float | int
    description: str
    units: str
    colormap: dict[int, tuple[int, int, int, int]] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    overview_resampling: str = "AVERAGE"
    #: False: written straight to ``path`` as a ZSTD tiled GeoTIFF in the single pass (no
    #: overviews, no COG copy): for files gies reads itself (e.g. its layer cache).
    cog: bool = True
    #: The COG's codec (``outputs.compression``): ZSTD (default) or DEFLATE.
    compression: str = "ZSTD"


class _BandWriter:
    """A ``da.store`` target writing blocks into band 1 of an open dataset."""

    def __init__(self, ds, lock: threading.Lock, dtype: str):
        self.ds, self.lock, self.dtype = ds, lock, dtype

    def __setitem__(self, key, value) -> None:
        rows, cols = key
        win = Window.from_slices(rows, cols, height=self.ds.height, width=self.ds.width)
        block = np.asarray(value).astype(self.dtype, copy=False)
        with self.lock:
            self.ds.write(block, 1, window=win)


def _profile(grid: Grid, out: RasterOutput) -> dict:
    prof = {
        "driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1], "count": 1,
        "dtype": out.dtype, "crs": grid.crs, "transform": grid.transform, "nodata": out.nodata,
        "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "NONE",
        "BIGTIFF": "IF_SAFER",
    }
    if not out.cog:
        # gies's own files (read back only by gies's GDAL): ZSTD level 1 with the predictor
        # compresses a harmonised float layer about as well as DEFLATE level 6 (2 % larger)
        # at a fifth of its CPU, and decodes as fast
        prof.update(compress="ZSTD", predictor=_predictor(out), zstd_level=1,
                    NUM_THREADS="ALL_CPUS")
    return prof


def open_raw(grid: Grid, out: RasterOutput, path: Path):
    """``path`` opened for writing ``out`` (tiled, its band's description, units, tags and
    colours), for the pass locally and on a cluster alike."""
    ds = rasterio.open(path, "w", **_profile(grid, out))
    ds.set_band_description(1, out.description)
    ds.set_band_unit(1, out.units)
    # scale/offset are explicit (values are stored as they are meant, no packing) so that
    # clients reading them (QGIS, GDAL, xarray's CF decoding) need not guess
    ds.scales, ds.offsets = (1.0,), (0.0,)
    ds.update_tags(1, units=out.units, scale_factor="1", add_offset="0", **out.tags)
    if out.colormap:
        ds.write_colormap(1, out.colormap)
    return ds


def _predictor(out: RasterOutput) -> str:
    return "3" if np.dtype(out.dtype).kind == "f" else "2"


def write_rasters(grid: Grid, outputs: list[RasterOutput], *, sinks=(), progress=None,
                  window_chunks: int | None = None, warp_tile=WARP_TILE) -> None:
    """Write every output in one pass, and store each dask array of ``sinks``
    (``(array, target)`` pairs, e.g. the block sums of :class:`gies.stages.zonal.ZoneSums`, one
    element per block of the outputs) into its target in the same pass.

    The pass runs window by window (:func:`_run_in_windows`: whole warp tiles of
    ``warp_tile`` pixels (:data:`gies.grid.WARP_TILE`), at most ``window_chunks``
    chunks, default :data:`WINDOW_CHUNKS`), so that the scheduler only ever holds the tasks
    of one window: its memory does not grow with the size of the grid. ``progress``: see
    :func:`progress_bar`.
    """
    tmp_paths, datasets, targets, sources = [], [], [], []
    lock = threading.Lock()
    try:
        for out in outputs:
            tmp = out.path.with_suffix(".raw.tif") if out.cog else out.path
            ds = open_raw(grid, out, tmp)
            tmp_paths.append(tmp)
            datasets.append(ds)
            data = out.data.data
            if not isinstance(data, dsa.Array):
                data = dsa.from_array(np.asarray(data), chunks=512)
            sources.append(data)
            targets.append(_BandWriter(ds, lock, out.dtype))
        arrays = sources + [a for a, _ in sinks]
        bar = progress_bar(progress, sum(math.prod(a.numblocks) for a in arrays), "chunks")
        stored = dsa.store(arrays, [_Counted(t, bar) for t in targets + [t for _, t in sinks]],
                           lock=False, compute=False)
        windows = pass_windows(sources[0].chunks[-2:], tile_shape(warp_tile), window_chunks)
        try:
            _run_in_windows(list(stored), windows)
        finally:
            bar.close()
    except OSError as exc:
        raise ExportError(f"cannot write rasters in {outputs[0].path.parent}: {exc}") from exc
    finally:
        for ds in datasets:
            ds.close()
    release_freed_memory()  # the pass's chunks, before the COG copies' own buffers
    with block_cache(GDAL_CACHE_MB):
        _all_to_cog([(tmp, out) for out, tmp in zip(outputs, tmp_paths) if out.cog])


def _groups(chunks: tuple[int, ...], tile: int, most: int) -> list[range]:
    """Consecutive block indices along one axis (blocks of sizes ``chunks``), each group
    ending where a warp tile ends (``tile`` pixels; a tile cut between two groups would be
    warped for both) and holding at most ``most`` blocks unless one tile spans more.

    >>> _groups((1024,) * 16, 4096, 8)   # 4 chunks a tile: 2 tiles a group
    [range(0, 8), range(8, 16)]
    >>> _groups((1024,) * 5 + (300,), 1024, 8)
    [range(0, 6)]
    >>> _groups((512,) * 6, 1024, 1)     # a tile (2 chunks) is never cut
    [range(0, 2), range(2, 4), range(4, 6)]
    """
    edges = np.cumsum((0,) + tuple(chunks))
    tile_edges = {a for a, _ in tile_spans(int(edges[-1]), tile)} | {int(edges[-1])}
    groups, start, last = [], 0, 0
    for i in range(1, len(chunks) + 1):
        if int(edges[i]) not in tile_edges:
            continue
        if i - start > most and last > start:
            groups.append(range(start, last))
            start = last
        last = i
    groups.append(range(start, len(chunks)))
    return groups


def store_in_windows(sinks, chunks, *, window_chunks: int | None = None,
                     warp_tile=WARP_TILE) -> None:
    """Store each ``(array, target)`` of ``sinks`` (object arrays with one element per block
    of a grid chunked as ``chunks``, e.g. :class:`gies.stages.origin.SamplePass`) as the
    rasters' pass does (:func:`write_rasters`): window by window, GDAL's block cache bounded,
    freed memory given back."""
    stored = dsa.store([a for a, _ in sinks], [t for _, t in sinks], lock=False,
                       compute=False)
    stored = [stored] if isinstance(stored, dsa.Array) else list(stored)  # one array alone
    windows = pass_windows(tuple(chunks[-2:]), tile_shape(warp_tile),
                           window_chunks or WINDOW_CHUNKS)
    _run_in_windows(stored, windows)


def pass_windows(chunks: tuple[tuple[int, ...], tuple[int, ...]], tile: tuple[int, int],
             max_chunks: int | None = None) -> list[tuple[range, range]]:
    """The pass's windows (row and column block indices, row-major): whole warp tiles,
    at most ``max_chunks`` blocks (:data:`WINDOW_CHUNKS`), as square as the tiles allow, so
    that a window of a large grid has the shape and the tasks of a small grid's whole pass.

    >>> pass_windows(((1024,) * 8, (1024,) * 8), (1024, 4096), 64)   # N=8000: one window
    [(range(0, 8), range(0, 8))]
    >>> len(pass_windows(((1024,) * 16, (1024,) * 16), (1024, 4096), 64))   # N=16000: 4 of 8×8
    4
    """
    most = WINDOW_CHUNKS if max_chunks is None else max_chunks
    side = max(1, math.isqrt(most))
    cols = _groups(chunks[1], tile[1], side)
    width = max(len(c) for c in cols)
    rows = _groups(chunks[0], tile[0], max(1, most // width))
    return [(r, c) for r in rows for c in cols]


def _run_in_windows(stored: list[dsa.Array], windows: list[tuple[range, range]]) -> None:
    """Compute the store tasks of ``stored`` (arrays of ``dask.array.store(...,
    compute=False)``, all with the same grid of blocks along their last two axes) window by
    window on the threaded scheduler.

    Each window's graph is built, optimised and scheduled on its own: a graph of the whole
    grid has the scheduler's bookkeeping (tasks, dependencies, order) grow with the grid
    (N=16000: 10,402 tasks, ~35 MB more than at N=8000 before the pass started) and, with
    rows of chunks twice as long, more warp tiles in flight at once; a window is bounded by
    :data:`WINDOW_CHUNKS`. Windows are large so that the moments where a window's last tasks
    leave a core idle stay rare. Tasks two windows share (none for layers warped or read
    block by block: windows hold whole warp tiles) are computed for each.
    """
    n = (windows[-1][0].stop, max(c.stop for _, c in windows))
    for a in stored:
        if tuple(a.numblocks[-2:]) != n:
            raise ValueError(f"write_rasters: an array stored in the pass has "
                             f"{a.numblocks[-2:]} blocks, the outputs {n}")
    # GDAL's block cache (5 % of RAM by default) would hold written blocks of every file
    with dask.config.set(scheduler=dask.threaded.get), block_cache(GDAL_CACHE_MB), _TrimDuring():
        for rows, cols in windows:
            win = (slice(rows.start, rows.stop), slice(cols.start, cols.stop))
            parts = [a.blocks[(slice(None),) * (a.ndim - 2) + win] for a in stored]
            release_freed_memory()  # what the previous window's graph and chunks left behind
            dask.compute(*parts)


class _NoBar:
    """A progress bar that shows nothing."""

    def advance(self, n: int = 1) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(progress, total: int, what: str):
    """The bar of ``progress`` over ``total`` units (``progress.bar(total, what)``, see
    :class:`gies.runner.Progress`), or one that shows nothing."""
    make = getattr(progress, "bar", None)
    return make(total, what) if make is not None else _NoBar()


class _Counted:
    """A store target advancing a progress bar once it has taken a block."""

    def __init__(self, target, bar):
        self.target, self.bar = target, bar

    def __setitem__(self, key, value) -> None:
        self.target[key] = value
        self.bar.advance()


class _TrimDuring(dask.callbacks.Callback):
    """Hands freed memory back to the OS during a pass, at most every ``every`` seconds
    (:func:`gies.resources.release_freed_memory`): the chunks a pass frees stay in the heap
    otherwise, and the process's footprint creeps up with the length of the pass (N=16000:
    ~100 MB)."""

    def __init__(self, every: float = 0.2):
        super().__init__()
        self.every, self.last = every, time.monotonic()

    def _posttask(self, key, result, dsk, state, id):
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            release_freed_memory()


def _all_to_cog(jobs: list[tuple[Path, RasterOutput]]) -> None:
    """COG copies of the raw files, all side by side, each compressing with every core.

    One float score file dominates (4× the bytes of a class file): one copy per core left
    that file alone on one core for most of the step; with GDAL's compression threads in
    every copy the cores stay busy to the end (N=8000: 2.1 s instead of 3.0 s wall for the
    same CPU)."""
    from concurrent.futures import ThreadPoolExecutor

    if not jobs:
        return

    def one(job):
        src, out = job
        to_cog(src, out, threads="ALL_CPUS")
        src.unlink()

    with ThreadPoolExecutor(max_workers=min(len(jobs), 8)) as pool:
        for f in [pool.submit(one, j) for j in jobs]:
            f.result()


def _overview_levels(height: int, width: int, block: int = 512) -> list[int]:
    """The overview factors GDAL's COG driver makes: halve until both sides fit a block."""
    levels, f = [], 1
    while height > block or width > block:
        height, width, f = (height + 1) // 2, (width + 1) // 2, f * 2
        levels.append(f)
    return levels


COG_LEVEL = "1"
"""Compression level of output COGs (ZSTD or DEFLATE, with the predictor). Measured on the
benchmark's N=8000 score (256 MB of float32), COG copy CPU and size: ZSTD 1: 1.0 s,
176 MB; ZSTD 3: 1.6 s, 174 MB; DEFLATE 1: 2.1 s, 176 MB; DEFLATE 6: 3.8 s, 173 MB;
LZW: 2.6 s, 220 MB."""


def to_cog(src: Path, out: RasterOutput, *, threads: str = "ALL_CPUS") -> None:
    from rasterio.enums import Resampling

    try:
        # Overviews built on the uncompressed file are copied by the COG driver as they are
        # (the same GDAL resampling, bit for bit); letting the driver make them costs ~25 %
        # more CPU (it writes them to a compressed temporary file and reads them back).
        # GDAL_NUM_THREADS: overview levels computed in parallel (score, N=8000: 0.42 -> 0.33 s)
        with rasterio.Env(GDAL_NUM_THREADS=threads), rasterio.open(src, "r+") as ds:
            levels = _overview_levels(ds.height, ds.width)
            if levels:
                ds.build_overviews(levels, Resampling[out.overview_resampling.lower()])
        rasterio.shutil.copy(
            src, out.path, driver="COG", COMPRESS=out.compression, PREDICTOR=_predictor(out),
            LEVEL=COG_LEVEL, BLOCKSIZE="512", OVERVIEW_RESAMPLING=out.overview_resampling,
            NUM_THREADS=threads, BIGTIFF="IF_SAFER",
        )
    except rasterio.errors.RasterioError as exc:
        raise ExportError(f"cannot write {out.path}: {exc}") from exc


def write_categories(path: Path, names: dict[int, str],
                     colours: dict[int, str] | None = None) -> Path:
    """Give a categorical raster GDAL category names (and a thematic attribute table).

    GeoTIFF cannot hold category names, so they go into GDAL's PAM sidecar
    ``<file>.aux.xml``, which GDAL (and QGIS through it) reads with the file; the COG itself is
    not touched, so it stays valid. ``names`` maps pixel value -> name; values in between get
    empty names (GDAL category names are indexed by value from 0).
    """
    from xml.sax.saxutils import escape

    top = max(names)
    cats = "".join(f"<Category>{escape(names.get(v, ''))}</Category>" for v in range(top + 1))
    rows = []
    for i, (v, n) in enumerate(sorted(names.items())):
        r, g, b = (0, 0, 0)
        if colours and v in colours:
            h = colours[v].lstrip("#")
            r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
        rows.append(f'<Row index="{i}"><F>{v}</F><F>{escape(n)}</F><F>{r}</F><F>{g}</F>'
                    f"<F>{b}</F></Row>")
    cols = "".join(
        f'<FieldDefn index="{i}"><Name>{n}</Name><Type>{t}</Type><Usage>{u}</Usage></FieldDefn>'
        for i, (n, t, u) in enumerate([("Value", 0, 5), ("Class_Name", 2, 2), ("Red", 0, 6),
                                        ("Green", 0, 7), ("Blue", 0, 8)])
    )
    xml = (
        '<PAMDataset>\n  <PAMRasterBand band="1">\n'
        f"    <CategoryNames>{cats}</CategoryNames>\n"
        f'    <GDALRasterAttributeTable tableType="thematic">{cols}{"".join(rows)}'
        "</GDALRasterAttributeTable>\n"
        "  </PAMRasterBand>\n</PAMDataset>\n"
    )
    aux = Path(str(path) + ".aux.xml")
    aux.write_text(xml, encoding="utf-8")
    return aux


def read_categories(path: Path) -> dict[int, str]:
    """Non-empty GDAL category names of band 1 (value -> name), as GDAL reads them."""
    import xml.etree.ElementTree as ET

    aux = Path(str(path) + ".aux.xml")
    if not aux.is_file():
        return {}
    cats = ET.parse(aux).getroot().find("./PAMRasterBand/CategoryNames")
    if cats is None:
        return {}
    return {i: c.text for i, c in enumerate(cats.findall("Category")) if c.text}


def open_output(path: Path, grid: Grid, *, chunk: int) -> xr.DataArray:
    """Re-open a written output lazily on ``grid`` (for zone statistics and maps)."""
    import rioxarray

    da = rioxarray.open_rasterio(path, chunks={"y": chunk, "x": chunk}, masked=False,
                                 lock=False).sel(band=1, drop=True)
    da = da.drop_vars([c for c in da.coords if c not in ("x", "y")])
    da = da.assign_coords(grid.coords())
    da.attrs = {}
    return da
