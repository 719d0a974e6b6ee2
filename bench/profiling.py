"""Per-pass resource accounting: wall time, CPU time and peak memory of a block of code.

Used by the benchmark (``bench/run.py``) to give every pass of a gies run the same three
figures the peer workflows report, and meant to be called by ``gies.runner._Timer`` so that
``manifest.json`` can carry CPU seconds and peak RSS per pass next to ``timings_s``.

Peak memory per pass is the process's high-water mark (``VmHWM``), reset at the start of each
pass through ``/proc/self/clear_refs`` (Linux; elsewhere the figure is the running peak of the
process, from ``getrusage``). CPU time counts every thread of the process (dask, GDAL) and the
children it waited for.
"""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["PassUsage", "Meter", "peak_rss_mib"]


def _hwm_kib() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    hwm = _hwm_kib()
    if hwm is not None:
        return hwm / 1024.0
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024.0 * 1024.0) if sys.platform == "darwin" else ru / 1024.0


def _cpu_s() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


@dataclass
class PassUsage:
    """Resources of one pass."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float

    def as_dict(self) -> dict[str, float]:
        return {"wall": round(self.wall_s, 3), "cpu": round(self.cpu_s, 3),
                "rss_mib": round(self.peak_rss_mib, 1)}


@dataclass
class Meter:
    """Collects :class:`PassUsage` per named pass.

    Examples
    --------
    >>> m = Meter()
    >>> with m("sum"):
    ...     _ = sum(range(1000))
    >>> sorted(m.passes)
    ['sum']
    """

    passes: dict[str, PassUsage] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str):
        _reset_hwm()
        c0, t0 = _cpu_s(), time.perf_counter()
        try:
            yield
        finally:
            self.passes[name] = PassUsage(time.perf_counter() - t0, _cpu_s() - c0, peak_rss_mib())

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {k: v.as_dict() for k, v in self.passes.items()}
