"""Quality: what the unit and plausibility checks and the pass's cell counts mean for a run.

Before the model is built, :func:`decide` turns the quality counts of the harmonised layers
(cells per unit reading, cells implausible under every reading) into actions: a factor whose
layer lost more than ``quality.drop_factor_above`` of its valid cells is dropped (with a
warning); otherwise those cells become no data. During the pass that writes the outputs,
:class:`CellCounts` counts cells (valid cells per factor, cells matched by no class range,
excluded cells); :func:`after_pass` turns those counts into warnings and errors. Pure
functions of counts: they return new values and warnings, and modify nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.errors import DataError, DataQualityWarning, FactorDroppedWarning, GiesWarning, UnmatchedValueWarning
from gies.methods.registry import CURVES

__all__ = ["QualityReport", "decide", "CellCounts", "after_pass"]


@dataclass(frozen=True)
class QualityReport:
    """The decision of the quality checks: ``layers`` (name -> counts, share removed and
    the action taken, for the manifest), the factors ``kept`` (pipeline order) and
    ``dropped``, and the ``warnings``."""

    layers: Mapping[str, Mapping[str, object]]
    kept: tuple[str, ...]
    dropped: tuple[str, ...]
    warnings: tuple[GiesWarning, ...]

    def manifest(self) -> dict:
        """The ``quality`` entry of the manifest."""
        return {k: dict(v) for k, v in self.layers.items()}


def decide(plan, counts: Mapping[str, Mapping[str, int]]) -> QualityReport:
    """Keep or drop each factor from its layer's counts (see the module docstring).

    Raises :class:`~gies.errors.DataError` when every factor is dropped, or when a dropped
    factor leaves an ordered weighted average without one order weight per factor.
    """
    cfg = plan.config
    factors = plan.pipeline.factors
    limit = cfg.quality.drop_factor_above
    report: dict = {}
    dropped: list[str] = []
    found: list[GiesWarning] = []
    for name, c in counts.items():
        valid = int(c["valid"])
        removed = int(c.get("no_reading", 0)) + int(c.get("implausible", 0))
        share = removed / valid if valid else 0.0
        entry = {k: int(v) for k, v in c.items()}
        entry["removed_share"] = round(share, 6)
        used_by = [f for f, fp in factors.items() if fp.layer == name and f not in dropped]
        category = DataQualityWarning
        if used_by and share > limit:
            entry["action"] = f"dropped factor(s) {', '.join(used_by)}"
            dropped += used_by
            category = FactorDroppedWarning
            msg = (f"layers.{name}: {removed} of {valid} cells ({share:.1%}) are implausible "
                   f"under every declared reading; factor(s) {', '.join(used_by)} dropped "
                   f"(quality.drop_factor_above = {limit})")
        else:
            entry["action"] = "implausible cells set to no data" if removed else "none"
            msg = (f"layers.{name}: {removed} of {valid} cells ({share:.1%}) set to no data "
                   "by unit/plausibility checks") if removed else ""
        if "reading_1" in c:
            parts = ", ".join(f"{r.units}: {int(c[f'reading_{i + 1}'])}" for i, r in
                              enumerate(cfg.layers[name].mixed_units.readings))
            msg = (msg + "; " if msg else f"layers.{name}: ") + f"cells per reading ({parts})"
        if msg:
            found.append(category(msg))
        report[name] = MappingProxyType(entry)
    kept = tuple(f for f in factors if f not in dropped)
    if not kept:
        raise DataError("quality: every factor was dropped by the quality checks; nothing to score")
    order_weights = plan.pipeline.combine.order_weights
    if dropped and order_weights is not None and len(order_weights) != len(plan.pipeline.factor_names) - len(dropped):
        raise DataError(
            f"combine.order_weights: factor(s) {', '.join(dropped)} were dropped by the quality "
            f"checks, and the ordered weighted average needs one order weight per factor "
            f"scored: give {len(plan.pipeline.factor_names) - len(dropped)} order weights, or set "
            "quality.drop_factor_above: 1 to keep the factors")
    return QualityReport(MappingProxyType(report), kept, tuple(dropped), tuple(found))


class CellCounts:
    """The True cells of each boolean layer and the non-NaN cells of each float layer,
    counted in the pass that writes the outputs.

    :attr:`parts` is a lazy ``int64`` array with one vector of counts per chunk, counted by
    one compiled loop per layer and chunk (:func:`gies.kernels.cells.count_true`,
    :func:`~gies.kernels.cells.count_valid`) instead of a mask and a sum; stored into this object
    (a :func:`dask.array.store` target, like :class:`gies.stages.zonal.ZoneSums`) its vectors add
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
    from gies.kernels import cells

    out = np.empty((len(blocks), 1, 1), dtype=np.int64)
    for i, b in enumerate(blocks):
        flat = np.ascontiguousarray(b).reshape(-1)
        out[i, 0, 0] = (cells.count_true(flat) if flat.dtype == bool
                        else cells.count_valid(flat))
    return out



def after_pass(totals: Mapping[str, int], factors: Mapping, scores: Sequence[str]
               ) -> tuple[list[GiesWarning], int | None]:
    """What the pass's cell counts mean: an error for a factor with no valid cell inside the
    AOI and for cells a curve could not score when that stops a run (codes missing from a
    lookup table); a warning for cells matched by no class range. Returns ``(warnings,
    excluded cells or None)``.

    ``totals``: the counts of :class:`CellCounts` (``valid_<factor>``, ``unmatched_<factor>``,
    ``excluded``); ``factors``: the pipeline's factor plans; ``scores``: the factors scored.
    """
    empty = [f for f in scores if int(totals[f"valid_{f}"]) == 0]
    if empty:
        raise DataError("; ".join(
            f"layers.{factors[f].layer if f in factors else f}: no valid cell inside the AOI "
            "(all no data); check the file's nodata value and the layer's nodata/scale keys"
            for f in empty))
    found: list[GiesWarning] = []
    for key, n in totals.items():
        n = int(n)
        if key.startswith("unmatched_") and n:
            f = key.removeprefix("unmatched_")
            if CURVES[factors[f].method].unmatched_error:
                raise DataError(f"factors.{f}: {n} cells have codes missing from the lookup "
                                "table; add them or give a 'default'")
            found.append(UnmatchedValueWarning(
                f"factors.{f}: {n} cells matched no class range and were classed by the "
                "nearest range (see docs/design.md)"))
    excluded = int(totals["excluded"]) if "excluded" in totals else None
    return found, excluded
