"""Quality: what the unit and plausibility checks and the pass's cell counts mean for a run.

Before the model is built, :func:`decide` turns the quality counts of the harmonised layers
(cells per unit reading, cells implausible under every reading) into actions: a factor whose
layer lost more than ``quality.drop_factor_above`` of its valid cells is dropped (with a
warning); otherwise those cells become no data. During the pass that writes the outputs,
:class:`CellCounts` counts cells (valid cells per factor, cells matched by no class range,
excluded cells, cells of the AOI); :func:`after_pass` turns those counts into warnings and
errors, and :func:`nodata_shares` checks how much of the AOI each scored layer leaves without
data. Pure functions of counts: they return new values and warnings, and modify nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.errors import DataError, DataQualityWarning, FactorDroppedWarning, GiesWarning, UnmatchedValueWarning
from gies.methods.registry import CURVES

__all__ = ["QualityReport", "decide", "CellCounts", "after_pass", "NodataShare", "nodata_shares"]


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


@dataclass(frozen=True)
class NodataShare:
    """How much of the AOI one layer leaves without data: ``cells`` of the AOI's ``aoi``
    cells (``share`` = cells / aoi), the ``factors`` scored from it and the nodata value of
    its file (``nodata``, ``None`` when it has none)."""

    layer: str
    factors: tuple[str, ...]
    cells: int
    aoi: int
    nodata: float | None

    @property
    def share(self) -> float:
        return self.cells / self.aoi if self.aoi else 0.0

    def manifest(self) -> dict:
        return {"nodata_cells": self.cells, "aoi_cells": self.aoi,
                "nodata_share": round(self.share, 6), "file_nodata": self.nodata}


#: A layer warns when its no-data share exceeds the median share of the other layers by more
#: than this (a share of the AOI, so 0.1 = 10 percentage points).
NODATA_MARGIN = 0.10


def nodata_shares(totals: Mapping[str, int], layers: Mapping[str, tuple[str, ...]],
                  nodata: Mapping[str, float | None], *, limit: float,
                  near_valid: Callable[[str, float], str] | None = None,
                  checked: Mapping[str, int] | None = None, drop_limit: float | None = None,
                  partial: frozenset[str] = frozenset(),
                  ) -> tuple[dict[str, NodataShare], list[GiesWarning]]:
    """The no-data share of each scored layer inside the AOI, with a warning or an error.

    For layer L scored by factors F (``layers``: L -> F), ``cells`` = aoi − max_f valid_f,
    where ``valid_f`` (``totals['valid_<f>']``) counts the AOI cells with a score of f and
    ``aoi`` (``totals['aoi']``) the AOI's cells: the AOI cells on which L has no value, from
    its file's nodata or from the unit and plausibility checks. Then

    * share(L) > ``limit`` (``quality.nodata_above``): :class:`~gies.errors.DataError`
      naming every such layer, its file's nodata value and what to do;
    * share(L) > median(share of the other layers) + :data:`NODATA_MARGIN`: a
      :class:`~gies.errors.DataQualityWarning` naming the layer, both shares and the
      file's nodata value (with one layer there is nothing to compare with).

    ``near_valid(layer, value)`` may return a sentence saying that the nodata value lies
    among the layer's valid values (a wrong nodata tag: 0 on a count of dry months), or "".
    ``checked`` (layer -> cells the unit and plausibility checks set to no data, counted by
    :func:`decide`) lets the error say that those cells count too, and that a higher
    ``quality.drop_factor_above`` (``drop_limit``) is what kept the factor: such a layer
    stops the run here unless ``nodata_above`` is raised as well. Layers in ``partial`` were
    declared ``coverage: warn`` (a layer known to cover part of the AOI): above the limit they
    are warned about instead of stopping the run.
    Returns ``(shares by layer, warnings)``.
    """
    aoi = int(totals.get("aoi", 0))
    shares = {}
    for layer, factors in layers.items():
        valid = max(int(totals[f"valid_{f}"]) for f in factors)
        shares[layer] = NodataShare(layer, tuple(factors), max(aoi - valid, 0), aoi,
                                    nodata.get(layer))
    if not aoi:
        return shares, []

    def value(s: NodataShare) -> str:
        if s.nodata is None:
            return "its file has no nodata value"
        note = near_valid(s.layer, s.nodata) if near_valid is not None else ""
        return f"its file's nodata value is {s.nodata:g}" + (f" ({note})" if note else "")

    def what(s: NodataShare) -> str:
        return (f"layers.{s.layer}: no data on {s.share:.1%} of the AOI "
                f"({s.cells:,} of {s.aoi:,} cells; factor(s) {', '.join(s.factors)})")

    def checks(s: NodataShare) -> str:
        n = int((checked or {}).get(s.layer, 0))
        if not n:
            return ""
        kept = f", kept by quality.drop_factor_above = {drop_limit:g}" if drop_limit is not None else ""
        return (f"; {n:,} cells of the grid were set to no data by its unit/plausibility "
                f"checks{kept}")

    over = [s for s in shares.values() if s.share > limit and s.layer not in partial]
    if over:
        raise DataError("; ".join(
            f"{what(s)}, above quality.nodata_above = {limit:g}{checks(s)}; {value(s)}"
            + (": if that value is real data, declare the file's true nodata value with "
               f"layers.{s.layer}.nodata (a value that never occurs, e.g. -9999, when it has "
               "none)" if s.nodata is not None else "")
            + "; if the gaps are real, raise quality.nodata_above" for s in over))
    found: list[GiesWarning] = []
    for s in shares.values():
        if s.share > limit:  # a partial layer, accepted
            found.append(DataQualityWarning(
                f"{what(s)}, above quality.nodata_above = {limit:g}; accepted: "
                f"layers.{s.layer}.coverage: warn"))
            continue
        others = [o.share for o in shares.values() if o.layer != s.layer]
        if not others:
            continue
        median = float(np.median(others))
        if s.share > median + NODATA_MARGIN:
            found.append(DataQualityWarning(
                f"{what(s)}, against a median of {median:.1%} for the other layers; "
                f"{value(s)}" + (": if that value is real data, declare the file's true "
                                 f"nodata value with layers.{s.layer}.nodata"
                                 if s.nodata is not None else "")))
    return shares, found
