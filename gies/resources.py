"""How many threads a local run may use within a memory limit (``gies run --memory-limit``).

The chunking is fixed by the pipeline (``processing.chunk``) and the warp tiles by the grid
(:data:`gies.grid.WARP_TILE`), so a memory limit never changes a result: it only
bounds how many chunks are in flight, i.e. the number of threads of the local scheduler.

Peak memory of a run ≈ ``base + threads × per_thread`` with

* ``base``: the interpreter and its libraries, the COG copies' buffers, the zones and their accumulators (:data:`BASE_MB` + 16 kB per
  zone);
* ``per_thread``: one warp task (a tile of every band of the largest group of layers
  sharing a source grid: its source window and its output, :data:`WARP_BUFFERS` float32
  copies of the tile per band) plus the float64 temporaries of one scoring chunk
  (:data:`CHUNK_BYTES` per cell).

Fitted on the benchmark scenario (bench/README.md) at N=8000 (64 Mpx, six layers in three
source grids, 300 zones): measured 647 MB with one thread and 682 MB with two, estimated
663 MB and 797 MB; since freed memory is returned to the OS during the pass, measured
576 and 639 MiB (``gies run --workers 1|2``, peak RSS): the estimate is on the safe side.
"""

from __future__ import annotations

import functools
import os
import re

from gies.errors import ParameterError

#: Interpreter, libraries, GDAL's write cache, COG copy buffers (MiB).
BASE_MB = 500
#: float32 copies of a warp tile per band held by one warp task (source window, output).
WARP_BUFFERS = 2
#: Bytes per cell of a scoring chunk (four float64 temporaries).
CHUNK_BYTES = 32

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
          "t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str | int | float) -> int:
    """Bytes from ``"2GB"``, ``"1.5 GiB"``, ``"800MB"``, ``"750m"`` or a number of bytes.

    >>> parse_size("1.5GiB"), parse_size("800MB"), parse_size(1024)
    (1610612736, 800000000, 1024)
    """
    if isinstance(text, (int, float)):
        return int(text)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ParameterError(f"{{memory_limit}}: cannot read {text!r}; give e.g. 2GB, 1.5GiB or "
                             "800MB", parameters=("memory_limit",))
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def estimate(*, chunk: int, tile_cells: int, largest_group: int, n_zones: int) -> tuple[int, int]:
    """``(base, per_thread)`` bytes of a local run (see the module docstring)."""
    base = BASE_MB * 2**20 + 16_000 * n_zones
    warp = tile_cells * 4 * WARP_BUFFERS * max(largest_group, 1)
    return base, warp + chunk * chunk * CHUNK_BYTES


def threads_within(limit: int, *, base: int, per_thread: int, cores: int | None = None,
                   requested: int | None = None) -> int:
    """Threads of the local scheduler: as many as requested (default: one per core) but no
    more than fit in ``limit``; a limit too small for one thread is an error (exit 2)."""
    want = requested or os.cpu_count() or 1
    fit = (limit - base) // per_thread
    if fit < 1:
        need = (base + per_thread) / 1e6
        raise ParameterError(
            f"{{memory_limit}} {limit / 1e6:,.0f} MB: this pipeline needs about {need:,.0f} MB "
            f"for one thread (processing.chunk and the warp tiles); raise the limit or lower "
            "processing.chunk", parameters=("memory_limit",))
    return int(min(want, fit))


def release_freed_memory() -> None:
    """Return memory the process has freed to the OS (glibc's ``malloc_trim``).

    glibc keeps freed blocks below its adaptive mmap threshold (up to 32 MB) in the heap, so
    transient buffers stay in the process's RSS although nothing uses them: the planning
    reads of every layer (~100 MB at 256 Mpx), and the raster pass's chunks when the COG
    copies start (their buffers then came on top: N=16000 peak 848 MiB). No-op off glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, looked up once, or ``None``. ``ctypes.util.find_library``
    is avoided: it runs ``ldconfig`` in a child process, a fork of the whole process."""
    import ctypes

    for name in ("libc.so.6", None):
        try:
            return ctypes.CDLL(name).malloc_trim
        except (OSError, AttributeError):
            continue
    return None
