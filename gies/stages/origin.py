"""The origin environment: reference sample, fingerprint, similarity surfaces, models.

GIES starts from where a product comes from (the polygons of a recognised origin area, or
production points), characterises that environment on the pipeline's own harmonised layers
(``origin.variables``), and maps where else it exists. This stage, in run order:

1. **Samples**: the reference cells are found first, from the geometry alone: for points,
   the distinct grid cells of the points (a point on a cell edge belongs to the cell to its
   right / below: ``col = floor((x - x0)/dx)``, ``row = floor((y - y0)/dy)``), with the
   records outside the grid, outside the AOI or on no data reported by id (a point is
   inside the AOI when its cell touches the AOI polygon, the rule of the AOI mask); for
   polygons, the cells they cover (exact coverage fractions, :mod:`gies.kernels.coverage`),
   weighted ``coverage × cell area``; at most ``origin.max_samples`` cells, drawn at random
   with ``origin.seed`` (:func:`reference_cells`). Then one lazy pass over the stacked
   variables (:class:`SamplePass`, memory bounded by the sample sizes) counts the AOI's
   valid cells, takes each variable's extrema, reads the reference cells' values and draws
   the **background**: ``n`` valid cells without replacement, uniformly or with probability
   proportional to the bias layer, the same cells for the same seed whatever the scheduler.

2. **Fingerprint**: per variable, the 5th, 25th, 50th, 75th and 95th percentiles inside the
   origin (weighted by ``coverage × cell area`` for polygons) next to the AOI's (the
   background sample weighted by cell area) (:func:`fingerprint`).

3. **Fits** in memory on the samples: every similarity method of ``similarity.methods``
   (:mod:`gies.methods.similarity`) on the reference, every algorithm of
   ``model.algorithms`` (:mod:`gies.methods.sdm`) on presences against background, with
   cross-validation (:mod:`gies.methods.spatialcv`), permutation importance and response
   curves (:func:`fit_origin`).

4. **Layers** (lazy, block by block with ``map_blocks``: a fitted method is applied to each
   block of the stacked variables, never to the whole grid): ``similarity_<method>``,
   ``mess`` and ``mess_variable``, ``exdet_nt1``/``exdet_nt2``, ``model_<algorithm>``, and
   the agreement of the requirement classes with the origin similarity
   (:func:`origin_layers`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.errors import DataError, DataQualityWarning
from gies.grid import Grid, assert_on_grid

__all__ = ["samples_table", "OriginWarning", "AGREEMENT", "SIMILAR", "ReferenceCells", "OriginFit",
           "OriginLayers", "Samples", "SamplePass", "variable_stack", "reference_cells",
           "reference_found", "cell_centres",
           "fingerprint", "fit_origin", "origin_layers", "PERCENTILES"]

PERCENTILES = (5, 25, 50, 75, 95)

#: Agreement codes of the requirement classes with the origin similarity.
AGREEMENT = {1: "both", 2: "requirements_only", 3: "similarity_only", 4: "neither",
             253: "excluded", 254: "nodata"}
#: Codes of the similarity cut alone (a pipeline without requirements).
SIMILAR = {1: "similar", 2: "not_similar", 254: "nodata"}
_NODATA, _EXCLUDED, _OUTSIDE = 254, 253, 255


class OriginWarning(DataQualityWarning):
    """Something about the origin a user should know: duplicate points, points outside the
    grid or on no data, collinear variables, a background larger than the AOI."""


# -- the stack of variables ----------------------------------------------------------------------
def variable_stack(layers: Mapping[str, xr.DataArray], variables: Sequence[str],
                   inside: xr.DataArray) -> xr.DataArray:
    """The origin variables as one lazy ``(variable, y, x)`` float32 array, NaN outside the
    AOI, with all variables of a block in one chunk."""
    grid = _grid(layers[variables[0]])
    assert_on_grid(grid, *(layers[v] for v in variables), inside)
    stack = xr.concat([layers[v].astype(np.float32).where(inside) for v in variables],
                      dim="variable", coords="minimal", compat="override", join="override")
    stack = stack.assign_coords(variable=list(variables))
    return stack.chunk({"variable": -1})


def _grid(layer) -> Grid:
    from gies.grid import grid_of

    return grid_of(layer)


def _blocks(arr: dsa.Array):
    """``(block row, block col, r0, r1, c0, c1)`` of every block of a 3-D or 2-D array."""
    rch, cch = arr.chunks[-2], arr.chunks[-1]
    r_edges, c_edges = np.cumsum((0,) + rch), np.cumsum((0,) + cch)
    return [(i, j, int(r_edges[i]), int(r_edges[i + 1]), int(c_edges[j]), int(c_edges[j + 1]))
            for i in range(len(rch)) for j in range(len(cch))]


def _per_block(fn, *arrays: dsa.Array) -> dsa.Array:
    """A lazy object array with ``fn(block_location, *blocks, where=((r0, r1), (c0, c1)))``
    for every block (one element per block): small summaries, never a block of data."""
    first = arrays[0]
    ny, nx = len(first.chunks[-2]), len(first.chunks[-1])

    def part(*blocks, block_info=None):
        loc = block_info[0]["chunk-location"][-2:]
        where = block_info[0]["array-location"][-2:]
        out = np.empty((1, 1), dtype=object)
        out[0, 0] = fn(loc, *blocks, where=where)
        return out

    # every 3-D array with its variables in one chunk; arrays align on their last two axes
    ins = [a if a.ndim == 2 else a.rechunk({0: -1}) for a in arrays]
    three = any(a.ndim == 3 for a in ins)
    return dsa.map_blocks(part, *ins, dtype=object, drop_axis=0 if three else None,
                          chunks=((1,) * ny, (1,) * nx), meta=np.empty((0, 0), object))


def _valid(block: np.ndarray) -> np.ndarray:
    return np.isfinite(block).all(axis=0)


# -- the sampling pass -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Samples:
    """What the sampling pass found: the AOI's valid cells (every variable has a value) and
    each variable's minimum and maximum over them; the background (``rows``, ``cols``,
    ``values``, in row-major order); the values of the reference cells (NaN where a
    variable has none)."""

    valid: int
    aoi_min: np.ndarray
    aoi_max: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    reference: np.ndarray


class SamplePass:
    """One lazy pass over the stacked variables that takes everything the fits need, with
    memory bounded by the sample sizes (a ``dask.array.store`` target, as
    :class:`gies.stages.zonal.ZoneSums`: each block's part is merged as it is computed).

    Per block: the valid cells, the variables' extrema, the values of the reference cells
    ``(ref_rows, ref_cols)`` in the block, and background candidates. The background is a
    bottom-``n`` sample: every valid cell gets a key from a generator seeded by ``seed`` and
    the block's position, ``u`` uniform in [0, 1) (without ``bias``), or ``−log(u)/w`` with
    the bias layer's weight ``w > 0`` (Efraimidis & Spirakis 2006: weighted sampling without
    replacement); the ``n`` cells of smallest keys over the grid are a uniform (weighted)
    sample without replacement, the same whatever order the blocks are computed in. A block
    keeps at most its ``n`` smallest, and the merge keeps the ``n`` smallest of all.
    """

    def __init__(self, stack: xr.DataArray, *, n: int, seed: int,
                 ref_rows: np.ndarray, ref_cols: np.ndarray,
                 bias: xr.DataArray | None = None):
        import threading

        self.n, self.seed = int(n), int(seed)
        self.p = stack.sizes["variable"]
        self.ref_rows = np.asarray(ref_rows, dtype=np.int64)
        self.ref_cols = np.asarray(ref_cols, dtype=np.int64)
        self._lock = threading.Lock()
        self.valid = 0
        self.lo = np.full(self.p, np.inf)
        self.hi = np.full(self.p, -np.inf)
        self.keys = np.empty(0)
        self.rows = self.cols = np.empty(0, np.int64)
        self.values = np.empty((0, self.p), np.float32)
        self.reference = np.full((self.ref_rows.size, self.p), np.nan)
        arrays = [stack.data] + ([bias.data.rechunk(stack.data.chunks[1:])]
                                 if bias is not None else [])
        self.parts = _per_block(self._part, *arrays)
        self.chunks = stack.data.chunks[1:]

    def _part(self, loc, block, bias_block=None, *, where=None):
        (r0, r1), (c0, c1) = where
        v = _valid(block)
        out: dict[str, Any] = {"count": int(v.sum())}
        if out["count"]:
            vals = block[:, v]
            out["min"] = vals.min(axis=1).astype(np.float64)
            out["max"] = vals.max(axis=1).astype(np.float64)
        inside = ((self.ref_rows >= r0) & (self.ref_rows < r1) & (self.ref_cols >= c0)
                  & (self.ref_cols < c1))
        idx = np.flatnonzero(inside)
        out["ref"] = (idx, block[:, self.ref_rows[idx] - r0, self.ref_cols[idx] - c0].T)
        if out["count"] and self.n > 0:
            rr, cc = np.nonzero(v)
            rng = np.random.default_rng([self.seed, 0xB6, int(loc[0]), int(loc[1])])
            u = rng.random(rr.size)
            if bias_block is None:
                keys = u
            else:
                w = np.asarray(bias_block, dtype=np.float64)[rr, cc]
                w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
                with np.errstate(divide="ignore"):
                    keys = np.where(w > 0, -np.log1p(-u) / np.where(w > 0, w, 1.0), np.inf)
            if keys.size > self.n:
                keep = np.argpartition(keys, self.n - 1)[:self.n]
            else:
                keep = np.arange(keys.size)
            keep = keep[np.isfinite(keys[keep])]
            out["bg"] = (keys[keep], rr[keep] + r0, cc[keep] + c0,
                         block[:, rr[keep], cc[keep]].T.astype(np.float32))
        return out

    def __setitem__(self, key, value) -> None:
        part = np.asarray(value).ravel()[0]
        with self._lock:
            self.valid += part["count"]
            if part["count"]:
                self.lo = np.minimum(self.lo, part["min"])
                self.hi = np.maximum(self.hi, part["max"])
            idx, vals = part["ref"]
            self.reference[idx] = vals
            if "bg" in part:
                k, r, c, x = part["bg"]
                keys = np.concatenate([self.keys, k])
                rows = np.concatenate([self.rows, r])
                cols = np.concatenate([self.cols, c])
                values = np.concatenate([self.values, x])
                if keys.size > self.n:
                    # ties of keys broken by position, so the sample is order-independent
                    order = np.lexsort((cols, rows, keys))[:self.n]
                    keys, rows, cols, values = keys[order], rows[order], cols[order], values[order]
                self.keys, self.rows, self.cols, self.values = keys, rows, cols, values

    def compute(self) -> Samples:
        """Run the pass (threads, window by window as the rasters' pass) and return what it
        found."""
        from gies.io.rasters import store_in_windows

        store_in_windows([(self.parts, self)], self.chunks)
        order = np.lexsort((self.cols, self.rows))
        return Samples(self.valid, self.lo, self.hi, self.rows[order], self.cols[order],
                       self.values[order].astype(np.float64), self.reference)


# -- the reference -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReferenceCells:
    """The origin's cells before their values are read: ``rows``, ``cols``, ``weights``
    (m²: coverage × cell area for polygons, the cell area for points) and what was found
    on the way (``report``: counts, and ids of points outside the grid / the AOI)."""

    rows: np.ndarray
    cols: np.ndarray
    weights: np.ndarray
    report: Mapping[str, Any]
    point_ids: tuple[tuple[str, ...], ...] = ()


def reference_cells(grid: Grid, origin, inside_geom, *, kind: str, max_samples: int,
                    seed: int, tile: int = 1024) -> ReferenceCells:
    """The distinct cells of the origin (see the module docstring), at most ``max_samples``.

    ``origin``: points with ``point_id`` or polygons, in the grid's CRS; ``inside_geom``:
    the AOI polygon (points outside it are reported and left out)."""
    from gies.area import cell_areas

    if kind == "points":
        return _point_cells(grid, origin, inside_geom, max_samples=max_samples, seed=seed)
    from gies.stages.zonal import _block_coverage

    geom = origin.geometry.union_all().intersection(inside_geom)
    if geom.is_empty:
        raise DataError("origin.area: the origin polygons do not overlap the AOI")
    t = grid.transform
    x0, y0, x1, y1 = geom.bounds
    c0 = max(int(math.floor((x0 - t.c) / t.a)), 0)
    c1 = min(int(math.ceil((x1 - t.c) / t.a)), grid.shape[1])
    r0 = max(int(math.floor((y1 - t.f) / t.e)), 0)
    r1 = min(int(math.ceil((y0 - t.f) / t.e)), grid.shape[0])
    rng = np.random.default_rng([seed, 0x0C])
    # bottom-k of random keys over the window's tiles: a uniform sample of the covered
    # cells, memory bounded by max_samples whatever the area's size
    keep_k = np.empty(0)
    keep_r = keep_c = np.empty(0, np.int64)
    keep_w = np.empty(0)
    total = 0
    for tr in range(r0, r1, tile):
        for tc in range(c0, c1, tile):
            tr1, tc1 = min(tr + tile, r1), min(tc + tile, c1)
            cells, cover = _block_coverage(grid, tr, tr1, tc, tc1, [geom])
            cells, cover = cells[0], cover[0]
            if cells.size == 0:
                continue
            total += cells.size
            rr = cells // (tc1 - tc) + tr
            cc = cells % (tc1 - tc) + tc
            area = cell_areas(grid, slice(tr, tr1), slice(tc, tc1)).ravel()[cells]
            keys = rng.random(cells.size)
            keep_k = np.concatenate([keep_k, keys])
            keep_r, keep_c = np.concatenate([keep_r, rr]), np.concatenate([keep_c, cc])
            keep_w = np.concatenate([keep_w, cover * area])
            if keep_k.size > max_samples:
                sel = np.argpartition(keep_k, max_samples)[:max_samples]
                keep_k, keep_r, keep_c, keep_w = keep_k[sel], keep_r[sel], keep_c[sel], keep_w[sel]
    order = np.lexsort((keep_c, keep_r))
    report = {"kind": "area", "cells": int(total), "sampled": int(order.size),
              "capped": bool(total > max_samples), "max_samples": int(max_samples)}
    return ReferenceCells(keep_r[order], keep_c[order], keep_w[order], MappingProxyType(report))


def _point_cells(grid: Grid, pts, inside_geom, *, max_samples: int, seed: int) -> ReferenceCells:
    import shapely

    from gies.area import areas_at

    t = grid.transform
    x = pts.geometry.x.to_numpy()
    y = pts.geometry.y.to_numpy()
    ids = pts["point_id"].astype(str).to_numpy()
    fc = (x - t.c) / t.a
    fr = (y - t.f) / t.e
    col = np.floor(fc).astype(np.int64)
    row = np.floor(fr).astype(np.int64)
    on_edge = (fc == np.floor(fc)) | (fr == np.floor(fr))
    in_grid = (row >= 0) & (row < grid.shape[0]) & (col >= 0) & (col < grid.shape[1])
    # inside the AOI: the point's cell touches the AOI polygon (the AOI mask's all-touched
    # rule), so a coastal record on a cell with data counts even if just off the polygon
    in_aoi = np.zeros(len(x), bool)
    if in_grid.any():
        c0 = t.c + col[in_grid] * t.a
        r0 = t.f + row[in_grid] * t.e
        cells = shapely.box(np.minimum(c0, c0 + t.a), np.minimum(r0, r0 + t.e),
                            np.maximum(c0, c0 + t.a), np.maximum(r0, r0 + t.e))
        in_aoi[in_grid] = shapely.intersects(inside_geom, cells)
    ok = in_grid & in_aoi
    key = row[ok] * grid.shape[1] + col[ok]
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    ok_ids = ids[ok]
    groups = tuple(tuple(ok_ids[key == k]) for k in uniq)
    rows, cols = uniq // grid.shape[1], uniq % grid.shape[1]
    capped = uniq.size > max_samples
    if capped:
        sel = np.sort(np.random.default_rng([seed, 0x0D]).choice(uniq.size, max_samples,
                                                                  replace=False))
        rows, cols, groups = rows[sel], cols[sel], tuple(groups[k] for k in sel)
    areas = areas_at(grid, rows, cols)
    report = {"kind": "points", "records": int(len(x)), "in_grid": int(in_grid.sum()),
              "outside_grid": [str(i) for i in ids[~in_grid]],
              "outside_aoi": [str(i) for i in ids[in_grid & ~in_aoi]],
              "on_cell_edge": int(on_edge.sum()), "cells": int(uniq.size),
              "duplicates": int(ok.sum() - uniq.size), "sampled": int(rows.size),
              "capped": bool(capped), "max_samples": int(max_samples),
              "edge_rule": "a point on a cell edge belongs to the cell to its right (east) "
                           "and below (south): col = floor((x - x0)/dx), row = floor((y - y0)/dy)"}
    return ReferenceCells(rows, cols, areas, MappingProxyType(report), groups)


def reference_found(ref: ReferenceCells, values: np.ndarray
                    ) -> tuple[np.ndarray, dict[str, Any], list[OriginWarning]]:
    """What the reference cells' values say: the cells with a value of every variable
    (``ok``), the report completed (points on no data by id, cells kept) and the warnings
    (duplicate records; records outside the grid, outside the AOI or on no data, by id)."""
    ok = np.isfinite(values).all(axis=1)
    report = dict(ref.report)
    report["reference_cells"] = int(ok.sum())
    found: list[OriginWarning] = []
    if report["kind"] != "points":
        report["on_nodata_cells"] = int((~ok).sum())
        return ok, report, found
    report["on_nodata"] = [i for g, good in zip(ref.point_ids, ok) if not good for i in g]
    if report["duplicates"]:
        found.append(OriginWarning(
            f"origin.points: {report['duplicates']} of {report['records']} records share a "
            f"grid cell with another one: {report['cells']} distinct cells are used"))
    for key, what in (("outside_grid", "outside the grid"), ("outside_aoi", "outside the AOI"),
                      ("on_nodata", "on cells without a value of every variable")):
        ids = report[key]
        if ids:
            found.append(OriginWarning(
                f"origin.points: {len(ids)} record(s) {what}, left out: "
                f"{', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''}"))
    return ok, report, found


def cell_centres(grid: Grid, rows, cols) -> np.ndarray:
    """``(n, 2)`` coordinates (grid CRS) of the centres of cells ``(rows, cols)``."""
    t = grid.transform
    return np.column_stack([t.c + (np.asarray(cols) + 0.5) * t.a,
                            t.f + (np.asarray(rows) + 0.5) * t.e])


# -- fingerprint -----------------------------------------------------------------------------------------
def _weighted_percentiles(v: np.ndarray, w: np.ndarray, qs) -> list[float]:
    ok = np.isfinite(v)
    v, w = v[ok], w[ok]
    if v.size == 0:
        return [float("nan")] * len(qs)
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w) - 0.5 * w
    cw /= w.sum()
    return [float(np.interp(q / 100.0, cw, v)) for q in qs]


def fingerprint(names: Sequence[str], ref_values: np.ndarray, ref_weights: np.ndarray,
                aoi_values: np.ndarray, aoi_weights: np.ndarray) -> list[dict]:
    """Per variable: the weighted 5th, 25th, 50th, 75th and 95th percentiles inside the
    origin and over the AOI (weighted percentile: the value at cumulative weight
    ``q`` with each cell's weight centred on it, linear between cells).

    >>> fp = fingerprint(["t"], np.array([[1.0], [2.0], [3.0]]), np.ones(3),
    ...                  np.array([[0.0], [10.0]]), np.ones(2))
    >>> fp[0]["origin_p50"], fp[0]["aoi_p50"]
    (2.0, 5.0)
    """
    rows = []
    for j, n in enumerate(names):
        o = _weighted_percentiles(ref_values[:, j], ref_weights, PERCENTILES)
        a = _weighted_percentiles(aoi_values[:, j], aoi_weights, PERCENTILES)
        row: dict[str, Any] = {"variable": n}
        row.update({f"origin_p{q}": v for q, v in zip(PERCENTILES, o)})
        row.update({f"aoi_p{q}": v for q, v in zip(PERCENTILES, a)})
        rows.append(row)
    return rows


# -- fits --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OriginFit:
    """What the fits give: fitted similarity methods and models (by name), the agreement
    cut, the manifest's ``origin`` entry (``info``) and the samples (values, cell-centre
    coordinates and weights of the reference and of the background)."""

    similarity: Mapping[str, Any]
    models: Mapping[str, Any]
    agreement: tuple[str, float] | None
    info: Mapping[str, Any]
    samples: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)


def fit_origin(cfg, names: Sequence[str], categorical: Sequence[bool], *,
               ref_values: np.ndarray, ref_weights: np.ndarray, ref_xy: np.ndarray,
               bg_values: np.ndarray, bg_weights: np.ndarray, bg_xy: np.ndarray,
               aoi_min: np.ndarray, aoi_max: np.ndarray, report: Mapping[str, Any],
               warn) -> OriginFit:
    """Fit every configured similarity method and algorithm (module docstring, step 3);
    ``warn`` receives :class:`OriginWarning` s (collinear or constant variables)."""
    from gies.methods.registry import SIMILARITY
    from gies.methods.similarity import Reference, collinear_pairs, constant_variables

    o = cfg.origin
    n = ref_values.shape[0]
    if n < o.min_samples:
        where = "distinct cells with a value of every variable"
        raise DataError(
            f"origin: {n} reference {where} ({_found(report)}); at least "
            f"{o.min_samples} are needed (origin.min_samples): add points or a larger area, "
            "or check origin.points.crs")
    cont = [not c for c in categorical]
    const = constant_variables(ref_values, tuple(names))
    if const:
        warn(OriginWarning(f"origin.variables: {', '.join(const)} constant over the origin's "
                           f"{n} cells: they cannot tell the origin's environment apart"))
    pairs = collinear_pairs(ref_values[:, cont] if any(cont) else ref_values[:, :0],
                            tuple(v for v, c in zip(names, cont) if c)) if sum(cont) > 1 else []
    if pairs:
        warn(OriginWarning("origin.variables: collinear over the origin's cells (|r| >= 0.95): "
                           + "; ".join(f"{a} ~ {b} (r = {r:.3f})" for a, b, r in pairs)
                           + ": consider keeping one of each pair"))
    reference = Reference(ref_values, tuple(names), tuple(categorical), aoi_min, aoi_max,
                          seed=o.seed)
    info: dict[str, Any] = {
        "variables": list(names), "categorical": [v for v, c in zip(names, categorical) if c],
        "reference": {**dict(report), "rows": int(n)}, "seed": o.seed,
        "background": {"cells": int(bg_values.shape[0])},
        "fingerprint": fingerprint(names, ref_values, ref_weights, bg_values, bg_weights)}
    sim: dict[str, Any] = {}
    agreement = None
    if cfg.similarity is not None:
        s = cfg.similarity
        info["similarity"] = {}
        for m in s.methods:
            name = SIMILARITY.canonical(m)
            params = {**s.params.get(m, {}), **s.params.get(name, {})}
            try:
                sim[name] = SIMILARITY[name].func(reference, **params)
            except ValueError as exc:
                raise DataError(f"similarity.methods: {exc}") from None
            info["similarity"][name] = sim[name].describe()
        agreement = _agreement_cut(s.agreement, sim, ref_values)
        info["agreement"] = {"layer": agreement[0], "threshold": agreement[1],
                             "rule": f"{agreement[0]} >= {agreement[1]:.6g}",
                             "how": agreement[2]}
        agreement = agreement[:2]
    models: dict[str, Any] = {}
    folds = None
    if cfg.model is not None:
        models, info["model"] = _fit_models(cfg, names, categorical, ref_values, ref_xy,
                                            bg_values, bg_xy, warn)
        folds = info["model"].pop("folds")
    return OriginFit(MappingProxyType(sim), MappingProxyType(models), agreement,
                     MappingProxyType(info),
                     MappingProxyType({"reference": ref_values, "reference_xy": ref_xy,
                                       "reference_weights": ref_weights,
                                       "background": bg_values, "background_xy": bg_xy,
                                       "background_weights": bg_weights,
                                       **({} if folds is None else {
                                           "reference_fold": folds[:len(ref_values)],
                                           "background_fold": folds[len(ref_values):]})}))


def _found(report: Mapping[str, Any]) -> str:
    if report.get("kind") == "points":
        return (f"{report['records']} records, {report['in_grid']} inside the grid, "
                f"{len(report['outside_aoi'])} outside the AOI, {report['cells']} distinct cells")
    return f"{report.get('cells', 0)} cells covered by the origin polygons"


def _agreement_cut(spec, sim: Mapping[str, Any], ref_values: np.ndarray):
    """``(output layer, threshold, how it was chosen)`` of the "similar" cut."""
    if spec.method is not None:
        from gies.methods.registry import SIMILARITY

        method = SIMILARITY.canonical(spec.method)
    else:
        method = "mess" if "mess" in sim else next(m for m in sim if m != "exdet")
    fitted = sim[method]
    layer = fitted.outputs[0]
    if spec.threshold is not None:
        return layer, float(spec.threshold), "given"
    if method == "mess":
        return layer, 0.0, "default: mess >= 0 (inside the origin's range of every variable)"
    own = fitted.predict(ref_values)[layer]
    own = own[np.isfinite(own)]
    t = float(np.quantile(own, 0.10)) if own.size else 0.0
    return layer, t, "default: the 10th percentile of the layer over the origin's own cells"


def _fit_models(cfg, names, categorical, ref_values, ref_xy, bg_values, bg_xy, warn):
    from gies.methods import spatialcv
    from gies.methods.registry import ALGORITHMS

    m = cfg.model
    seed = m.background.seed
    X = np.vstack([ref_values, bg_values])
    y = np.r_[np.ones(len(ref_values), np.int8), np.zeros(len(bg_values), np.int8)]
    xy = np.vstack([ref_xy, bg_xy])
    is_p = y == 1
    cv = m.cv
    info: dict[str, Any] = {"presences": int(is_p.sum()), "background": int((~is_p).sum()),
                            "cv": {"method": cv.method, "folds": cv.folds, "buffer": cv.buffer}}
    try:
        if cv.method == "spatial_blocks":
            if cv.block_size == "auto":
                cont = [j for j, c in enumerate(categorical) if not c]
                if not cont:
                    raise ValueError("block_size: auto needs a continuous variable to fit "
                                     "variograms to: give a block size")
                rng_size, ranges = spatialcv.block_size_auto(X[:, cont], xy, seed=seed)
                ranges = dict(zip([names[j] for j in cont], ranges))
                size = _fold_ready(rng_size, xy, is_p, cv.folds)
                info["cv"]["block_size"] = float(size)
                info["cv"]["variogram_range"] = float(rng_size)
                info["cv"]["block_size_rule"] = (
                    "auto: the median variogram range of the predictors"
                    if size == rng_size else
                    f"auto: the median variogram range of the predictors ({rng_size:.4g}), "
                    f"halved until at least {2 * cv.folds} blocks hold presences (2 per fold)")
                info["cv"]["variogram_ranges"] = {n: float(r) for n, r in ranges.items()}
            else:
                size = float(cv.block_size)
                info["cv"]["block_size"] = size
            folds = spatialcv.block_folds(xy, is_p, block_size=size, folds=cv.folds, seed=seed,
                                          buffer=cv.buffer)
        else:
            folds = spatialcv.random_folds(len(y), is_p, cv.folds, seed)
    except ValueError as exc:
        raise DataError(f"model.cv: {exc}") from None
    info["cv"]["assignment"] = folds.describe()
    random = spatialcv.random_folds(len(y), is_p, cv.folds, seed)
    models, per = {}, {}
    for a in m.algorithms:
        name = ALGORITHMS.canonical(a)
        method = ALGORITHMS[name]
        params = m.params.get(a, {})
        kw = dict(names=tuple(names), categorical=tuple(categorical), seed=seed)
        try:
            model = method.func(X, y, **kw, **params)
            scores = spatialcv.cross_validate(method.func, X, y, xy, folds, params=params, **kw)
            rscores = spatialcv.cross_validate(method.func, X, y, xy, random, params=params, **kw)
        except ValueError as exc:
            raise DataError(f"model.algorithms: {exc}") from None
        models[name] = model
        imp = spatialcv.permutation_importance(model, X, y, seed=seed)
        curves = spatialcv.response_curves(model, X, tuple(names))
        per[name] = {"model": model.describe(), "cv": _jsonable(scores),
                     "random_split_cv": _jsonable(rscores),
                     "importance": {k: [float(v[0]), float(v[1])] for k, v in imp.items()},
                     "response_curves": {k: [np.asarray(g).tolist(), np.asarray(r).tolist()]
                                         for k, (g, r) in curves.items()}}
    info["algorithms"] = per
    info["folds"] = folds.fold
    return models, info


def _fold_ready(size: float, xy: np.ndarray, is_presence: np.ndarray, folds: int) -> float:
    """``size`` halved until at least two blocks per fold hold presences (a range of
    autocorrelation as wide as the presences' extent leaves too few blocks to fold); blocks
    are anchored at the points' minimum x and y, as :func:`block_folds` anchors them."""
    lo = xy.min(axis=0)
    for _ in range(20):
        cells = np.floor((xy[is_presence] - lo) / size).astype(np.int64)
        if len(np.unique(cells, axis=0)) >= 2 * folds:
            return size
        size /= 2
    return size


def _jsonable(x):
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    return x


# -- layers ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OriginLayers:
    """The lazy output layers of the origin analysis, on the grid: ``surfaces`` (output
    name -> layer: similarity, MESS, ExDet, models, in order), ``categorical`` (the names of
    code layers among them, e.g. ``mess_variable``), ``agreement`` (codes
    :data:`AGREEMENT`, or :data:`SIMILAR` without requirements), and the fit."""

    surfaces: Mapping[str, xr.DataArray]
    agreement: xr.DataArray | None
    agreement_codes: Mapping[int, str]
    fit: OriginFit
    categorical: tuple[str, ...] = ()


#: Cells a fitted method is applied to at once: a block is cut into pieces of this many
#: cells, so that a method's float64 temporaries stay a fraction of the block's size.
PIECE = 1 << 18


def _apply(fitted, outputs: Sequence[str], block: np.ndarray, model: bool) -> np.ndarray:
    p, h, w = block.shape
    flat = block.reshape(p, -1)
    out = np.full((len(outputs), h * w), np.nan, dtype=np.float32)
    for start in range(0, h * w, PIECE):
        piece = slice(start, min(start + PIECE, h * w))
        x = flat[:, piece].T.astype(np.float64)
        ok = np.isfinite(x).all(axis=1)
        if not ok.any():
            continue
        idx = np.flatnonzero(ok) + start
        if model:
            out[0, idx] = fitted.predict(x[ok])
        else:
            res = fitted.predict(x[ok])
            for k, o in enumerate(outputs):
                out[k, idx] = res[o]
    return out.reshape(len(outputs), h, w)


def origin_layers(fit: OriginFit, stack: xr.DataArray, *, inside: xr.DataArray,
                  classes: xr.DataArray | None = None,
                  suitable: Sequence[int] = ()) -> OriginLayers:
    """The layers of the fitted methods and models (module docstring, step 4), lazy; with
    requirement ``classes`` (and their ``suitable`` codes) the agreement map, else the
    similarity cut alone."""
    grid = _grid(stack)
    coords = grid.coords()
    data = stack.data
    surfaces: dict[str, xr.DataArray] = {}
    cats: list[str] = []

    def add(fitted, outputs, dtypes, model: bool):
        arr = dsa.map_blocks(_apply, fitted, list(outputs), data, model, dtype=np.float32,
                             chunks=((len(outputs),),) + data.chunks[1:],
                             meta=np.empty((0, 0, 0), np.float32))
        for k, o in enumerate(outputs):
            layer = xr.DataArray(arr[k], dims=("y", "x"), coords=coords, name=o)
            if dtypes.get(o, "float32").startswith("uint"):
                layer = xr.where(inside, xr.where(layer.isnull(), 0, layer), _OUTSIDE
                                 ).astype(np.uint8).assign_coords(coords)
                cats.append(o)
            else:
                layer = layer.where(inside)
            surfaces[o] = layer

    for fitted in fit.similarity.values():
        add(fitted, fitted.outputs, dict(fitted.dtypes), False)
    for name, model in fit.models.items():
        add(model, [f"model_{name}"], {}, True)
    agreement, codes = None, MappingProxyType({})
    if fit.agreement is not None:
        layer, t = fit.agreement
        similar = surfaces[layer] >= t
        nodata = surfaces[layer].isnull()
        if classes is not None:
            suit = classes.isin(list(suitable))
            code = xr.where(suit, xr.where(similar, 1, 2), xr.where(similar, 3, 4))
            code = xr.where(nodata | (classes == _NODATA), _NODATA, code)
            code = xr.where(classes == _EXCLUDED, _EXCLUDED, code)  # as in classes.tif
            codes = MappingProxyType(dict(AGREEMENT))
        else:
            code = xr.where(nodata, _NODATA, xr.where(similar, 1, 2))
            codes = MappingProxyType(dict(SIMILAR))
        agreement = xr.where(inside, code, _OUTSIDE).astype(np.uint8).assign_coords(coords)
    return OriginLayers(MappingProxyType(surfaces), agreement, codes, fit, tuple(cats))


def samples_table(fit: OriginFit, which: str):
    """The ``reference`` or ``background`` sample as a table: cell-centre ``x``, ``y`` (grid
    CRS), ``weight_m2``, one column per variable and, with a model, the cross-validation
    fold ``cv_fold`` of each point (``origin_<which>.csv``)."""
    import pandas as pd

    s = fit.samples
    names = fit.info["variables"]
    xy = np.asarray(s[f"{which}_xy"]).reshape(-1, 2)
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "weight_m2": s[f"{which}_weights"]})
    vals = np.asarray(s[which]).reshape(-1, len(names))
    for j, n in enumerate(names):
        df[n] = vals[:, j]
    if f"{which}_fold" in s:  # the cross-validation fold of each point
        df["cv_fold"] = s[f"{which}_fold"]
    return df
