"""Zone statistics per admin unit: exact coverage, true hectares, bounded memory.

Every zone's pixels are weighted by ``w = coverage × cell area``: the exact fraction of the
pixel the polygon covers (:mod:`gies.kernels.coverage`, the same fractions as exactextract's in
float64) times the pixel's true ground area (:func:`gies.area.cell_areas`). The grid is
processed block by block; for each block, the zones that touch it are clipped to it and
measured, and their sums, histograms and extrema are accumulated (one compiled pass,
:mod:`gies.kernels.zonal`); a zone covering a whole block is summed without coverage.
Memory is one block plus a fixed-size accumulator per zone, whatever the size of the
country or of a zone.

Definitions (the contract in ``docs/outputs.md``):

* ``area_ha = Σ w`` over the zone's pixels inside the grid (1 ha = 10⁴ m²);
* ``<class>_ha = Σ w`` over pixels of that class; the class scheme's classes (``fao``: S1,
  S2, S3, N; ``gaez``: VS, S, MS, mS, VmS, NS), excluded, no data and outside AOI add up to
  ``area_ha``;
* ``<class>_share = <class>_ha / area_ha``; ``assessed_ha`` = the hectares of the scheme's
  classes, ``suitable_ha`` those of its suitable classes (``zonal.suitable``) and
  ``suitable_share_of_assessed = suitable_ha / assessed_ha``;
* score statistics are weighted by ``w`` over pixels with a score: mean, standard deviation
  (population), min, max, and the 10th, 50th and 90th percentiles from a 1000-bin histogram
  on [0, 1] (error ≤ 0.0005, linear interpolation inside the bin);
* ``mean_<factor>`` = weighted mean of that factor's score; factor × class hectares use the
  factor's class (its score classified with the run's class scheme);
* ``limiting_dominant`` = the factor limiting the largest area of the zone, with its share of
  the zone's limited area (excluded land is not limited by a factor: it is counted apart, as
  code 253 of the ``limiting`` rows of the tidy class-area table).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from shapely.geometry import box

from gies.area import cell_areas, uniform_cell_area
from gies.methods.schemes import EXCLUDED, NODATA, SCHEMES, ClassScheme
from gies.errors import EmptyZoneWarning
from gies.grid import Grid, assert_on_grid, grid_of
from gies.io.gdal import block_cache

__all__ = ["zone_statistics", "ZoneSums", "ZonalResult", "CLASS_COLUMNS",
           "weighted_quantile_from_hist", "zones_table", "zone_tables"]

CLASS_COLUMNS = SCHEMES["fao"].table_codes
"""Wide-table class columns of the ``fao`` scheme (:attr:`ClassScheme.table_codes`); ``N``
counts codes 4 and 5 (N1 + N2), ``N2_ha`` code 5 alone."""
_HA = 1e-4
#: GDAL block cache (MB) while reading the rasters back, each block once.
GDAL_CACHE_MB = 64
_BINS = 1000


@dataclass
class ZonalResult:
    """Wide table (one row per zone) and the two tidy tables."""

    wide: pd.DataFrame
    class_areas: pd.DataFrame
    factor_class_areas: pd.DataFrame

    def subset(self, rows) -> ZonalResult:
        """The zones selected by a boolean sequence over the wide table's rows."""
        rows = np.asarray(rows, dtype=bool)
        wide = self.wide[rows].reset_index(drop=True)

        def pick(df: pd.DataFrame) -> pd.DataFrame:
            # the tidy tables hold the same number of consecutive rows for every zone
            if df.empty:
                return df
            idx = np.repeat(rows, len(df) // max(len(rows), 1))
            return df[idx].reset_index(drop=True)

        return ZonalResult(wide, pick(self.class_areas), pick(self.factor_class_areas))

    def drop_columns(self, cols) -> ZonalResult:
        """The same tables without ``cols`` (e.g. an empty zone_name)."""
        return ZonalResult(*(df.drop(columns=cols, errors="ignore")
                             for df in (self.wide, self.class_areas, self.factor_class_areas)))


class _Acc:
    """Per-zone accumulators (fixed size: independent of zone and grid size)."""

    def __init__(self, n: int, n_factors: int, extra: Sequence[str] = (), n_factor_codes: int = 5):
        self.cls = np.zeros((n, 256))
        self._x = np.zeros((len(extra), n, 256))
        self.extra = {k: self._x[i] for i, k in enumerate(extra)}
        self.sw = np.zeros(n)
        self.s1 = np.zeros(n)
        self.s2 = np.zeros(n)
        self.smin = np.full(n, np.inf)
        self.smax = np.full(n, -np.inf)
        self.hist = np.zeros((n, _BINS))
        self.fw = np.zeros((n, n_factors))
        self.fs = np.zeros((n, n_factors))
        self.fcls = np.zeros((n, n_factors, n_factor_codes))
        self.lim = np.zeros((n, 256))

    def merge(self, zs: np.ndarray, part: _Acc) -> None:
        """Add the sums of ``part`` (its rows are the zones ``zs``, distinct) to these."""
        self.cls[zs] += part.cls
        for k, v in part.extra.items():
            self.extra[k][zs] += v
        for name in ("sw", "s1", "s2", "hist", "fw", "fs", "fcls", "lim"):
            getattr(self, name)[zs] += getattr(part, name)
        self.smin[zs] = np.minimum(self.smin[zs], part.smin)
        self.smax[zs] = np.maximum(self.smax[zs], part.smax)

    def add(self, i: int, w: np.ndarray | float, cls: np.ndarray, sc: np.ndarray, lim, fsc,
            fclass, extra=None):
        """Add cells of zone ``i`` with weights ``w`` (an array, or one number for all cells,
        e.g. a whole block of an equal-area grid)."""
        self.add_cells(np.array([i]), np.array([np.size(cls)]), None, w, cls, sc, lim, fsc,
                       fclass, extra)

    def add_block(self, zs: np.ndarray, lens: np.ndarray, w: np.ndarray, cls: np.ndarray,
                  sc: np.ndarray, lim, fsc, fclass, extra=None):
        """:meth:`add` for several zones at once: ``zs`` (distinct zone indices) own
        consecutive segments of ``lens[k]`` cells of the other arrays."""
        self.add_cells(zs, lens, None, w, cls, sc, lim, fsc, fclass, extra)

    def add_cells(self, zs, lens, cells, w, cls, sc, lim, fsc, fclass, extra=None):
        """Add to zone ``zs[k]`` the ``lens[k]`` cells of the next segment of ``cells``
        (indices into the block arrays ``cls``, ``sc``, ...; ``None``: the block arrays'
        own consecutive cells) with the weights ``w`` (one per cell of the segments, or one
        number for all): one compiled pass over the cells for every sum
        (:func:`gies.kernels.zonal.accumulate`)."""
        from gies.kernels import zonal as _zonaljit

        n = np.size(cls)
        uniform = np.ndim(w) == 0
        fsc = np.stack([np.asarray(f) for f in fsc]) if len(fsc) else np.empty((0, n), np.float32)
        fclass = (np.stack([np.asarray(f, dtype=np.uint8) for f in fclass]) if len(fclass)
                  else np.empty((0, n), np.uint8))
        extra = extra or {}
        xcls = (np.stack([np.asarray(extra[k], dtype=np.uint8) for k in self.extra])
                if self.extra else np.empty((0, n), np.uint8))
        _zonaljit.accumulate(
            np.asarray(zs, dtype=np.int64), np.asarray(lens, dtype=np.int64),
            np.empty(0, np.int64) if cells is None else np.asarray(cells, dtype=np.int64),
            cells is None, np.empty(0) if uniform else np.asarray(w, dtype=np.float64),
            float(w) if uniform else 0.0, uniform,
            np.asarray(cls, dtype=np.uint8), np.asarray(sc),
            np.empty(0, np.uint8) if lim is None else np.asarray(lim, dtype=np.uint8),
            lim is not None, fsc, fclass, xcls,
            self.cls, self.sw, self.s1, self.s2, self.smin, self.smax, self.hist, self.lim,
            self.fw, self.fs, self.fcls, self._x)


def weighted_quantile_from_hist(hist: np.ndarray, q: float) -> float:
    """Quantile ``q`` of values in [0, 1] from weights per equal-width bin (linear in a bin).

    >>> h = np.zeros(1000); h[500] = 1.0   # all weight in [0.500, 0.501)
    >>> round(weighted_quantile_from_hist(h, 0.5), 4)
    0.5005
    """
    total = hist.sum()
    if total <= 0:
        return float("nan")
    cum = np.cumsum(hist)
    target = q * total
    k = int(np.searchsorted(cum, target, side="left"))
    k = min(k, len(hist) - 1)
    before = cum[k - 1] if k > 0 else 0.0
    frac = (target - before) / hist[k] if hist[k] > 0 else 0.0
    return float((k + min(max(frac, 0.0), 1.0)) / len(hist))


def _covers(geom, bbox) -> bool:
    """Whether a zone covers a whole block (every cell's coverage is then exactly 1)."""
    return geom.contains(bbox)


#: Smallest covered fraction of a cell counted as covered: float64 rounding leaves ~1e-16
#: on cells a polygon does not touch; a true sliver below this is < 1e-9 of a cell.
_MIN_COVER = 1e-9


def _block_coverage(grid: Grid, r0, r1, c0, c1, geoms):
    """Cell indices (row-major in the block) and covered fractions of each polygon of
    ``geoms`` (shapely, in the grid's CRS) over block rows r0:r1, cols c0:c1, computed
    exactly by :func:`gies.kernels.coverage.coverage_cells` over each polygon's bounding window."""
    from gies.kernels import coverage as _coverjit

    t = grid.transform
    x0, y0 = t.c + c0 * t.a, t.f + r0 * t.e
    bh, bw = r1 - r0, c1 - c0
    cells_list, cov_list = [], []
    # one buffer for every polygon's window, each result copied out at its size: views of
    # window-sized buffers kept every polygon's whole window alive (16 B a cell; ~4 windows
    # of a whole block per block when zones are as large as the blocks)
    buf_cells, buf_cover = np.empty(0, np.int64), np.empty(0)
    for g in shapely.orient_polygons(np.asarray(geoms, dtype=object)):
        rings = shapely.get_rings(shapely.get_parts(g))
        xy, idx = shapely.get_coordinates(rings, return_index=True)
        if xy.shape[0] == 0:
            cells_list.append(np.empty(0, np.int64))
            cov_list.append(np.empty(0))
            continue
        px = (xy[:, 0] - x0) / t.a
        py = (xy[:, 1] - y0) / t.e
        ends = np.cumsum(np.bincount(idx, minlength=len(rings)))
        wr0 = min(max(int(np.floor(py.min())), 0), bh)
        wr1 = min(max(int(np.ceil(py.max())), 0), bh)
        wc0 = min(max(int(np.floor(px.min())), 0), bw)
        wc1 = min(max(int(np.ceil(px.max())), 0), bw)
        size = max((wr1 - wr0) * (wc1 - wc0), 0)
        if size > buf_cells.size:
            buf_cells, buf_cover = np.empty(size, np.int64), np.empty(size)
        n = _coverjit.coverage_cells(px, py, ends, wr0, wr1, wc0, wc1, bw, _MIN_COVER,
                                     buf_cells, buf_cover) if size else 0
        cells_list.append(buf_cells[:n].copy())
        cov_list.append(buf_cover[:n].copy())
    return cells_list, cov_list


class ZoneSums:
    """Zone statistics as a lazy block pass that can share a dask computation with others.

    ``parts`` is a dask array of objects, one element per block of the (rechunked) layers:
    the partial sums of the zones touching that block. This object is a ``dask.array.store``
    target for it: each part is merged into the per-zone accumulators as soon as it is
    computed (under a lock) and then dropped, so memory stays one block plus the
    accumulators. Stored in the same ``store`` call as the output rasters, the blocks are
    computed once for both and the rasters are never read back.

    >>> # zs = ZoneSums(zones, classes=c, score=s); dask.array.store(zs.parts, zs)
    >>> # zs.result(zones, id_field="id", name_field=None)
    """

    def __init__(self, zones: gpd.GeoDataFrame, *, classes: xr.DataArray, score: xr.DataArray,
                 limiting: xr.DataArray | None = None,
                 factor_scores: Mapping[str, xr.DataArray] | None = None,
                 scheme: ClassScheme | None = None,
                 extra_classes: Mapping[str, xr.DataArray] | None = None, block: int = 1024,
                 origin_classes: Mapping[str, tuple[xr.DataArray, Mapping[int, str]]] | None = None,
                 requirements: bool = True):
        import dask.array as dsa

        grid: Grid = grid_of(classes)
        factor_scores = dict(factor_scores or {})
        origin_classes = dict(origin_classes or {})
        self.origin_codes = {k: dict(codes) for k, (_, codes) in origin_classes.items()}
        self.requirements = requirements
        extra_classes = {**dict(extra_classes or {}),
                         **{k: layer for k, (layer, _) in origin_classes.items()}}
        layers = ([classes, score] + ([limiting] if limiting is not None else [])
                  + list(factor_scores.values()) + list(extra_classes.values()))
        assert_on_grid(grid, *layers)
        self.scheme = scheme = scheme or SCHEMES["fao"]
        self.grid, self.fnames = grid, list(factor_scores)
        self.xnames = list(extra_classes)
        self.has_lim = limiting is not None
        self.n_fcodes = len(scheme.classes) + 1
        self.acc = _Acc(len(zones), len(self.fnames), self.xnames, self.n_fcodes)
        geoms = zones.geometry.reset_index(drop=True)
        valid = ~(geoms.isna() | geoms.is_empty)
        self.geoms = geoms
        self.sindex = gpd.GeoSeries(geoms[valid], crs=grid.crs).sindex
        self.valid_idx = np.nonzero(valid.to_numpy())[0]
        self._lock = threading.Lock()
        # the dtypes the rasters are written with, so that sums equal those of the files
        typed = ([(classes, np.uint8), (score, np.float32)]
                 + ([(limiting, np.uint8)] if limiting is not None else [])
                 + [(f, np.float32) for f in factor_scores.values()]
                 + [(x, np.uint8) for x in extra_classes.values()])
        datas = []
        for da, dt in typed:
            d = da.data if isinstance(da.data, dsa.Array) else dsa.from_array(np.asarray(da.data))
            # by tasks: choosing a method, dask imports distributed to look for a client
            datas.append(d.rechunk((block, block), method="tasks").astype(dt))
        ny, nx = (len(c) for c in datas[0].chunks)
        self.parts = dsa.map_blocks(self._part, *datas, dtype=object,
                                    chunks=((1,) * ny, (1,) * nx), meta=np.empty((0, 0), object))

    def _part(self, *blocks, block_info=None):
        (r0, r1), (c0, c1) = block_info[0]["array-location"]
        out = np.empty((1, 1), dtype=object)
        out[0, 0] = self._block_sums(r0, r1, c0, c1, [np.asarray(b).ravel() for b in blocks])
        return out

    def _block_sums(self, r0, r1, c0, c1, flat):
        """``(zone indices, _Acc)`` of the zones touching one block (``None``: none)."""
        grid, geoms = self.grid, self.geoms
        t = grid.transform
        bbox = box(t.c + c0 * t.a, t.f + r1 * t.e, t.c + c1 * t.a, t.f + r0 * t.e)
        hits = np.sort(self.valid_idx[self.sindex.query(bbox, predicate="intersects")])
        if hits.size == 0:
            return None
        # A zone covering the whole block (the AOI, a large province) covers every cell
        # entirely: its sums need neither a coverage computation nor a gather of its cells.
        full = np.array([zi for zi in hits if _covers(geoms.iloc[zi], bbox)], dtype=np.int64)
        partial = np.setdiff1d(hits, full)
        # Clip to the block: the coverage then only sees what is inside the block (its
        # bounding window, not the zone's, is scanned).
        clipped = [_polygonal(g.intersection(bbox)) for g in geoms.iloc[partial]]
        keep = [k for k, g in enumerate(clipped) if g is not None]
        partial = partial[keep]
        if not keep and not full.size:
            return None
        it = iter(flat)
        cls, sc = next(it), next(it)
        lim = next(it) if self.has_lim else None
        fsc = [next(it) for _ in self.fnames]
        fcls = [_factor_class(f, self.scheme) for f in fsc]
        xcls = {k: next(it) for k in self.xnames}
        zones = np.union1d(full, partial)
        acc = _Acc(zones.size, len(self.fnames), self.xnames, self.n_fcodes)
        # one number for a block of equal cells (equal-area grids): no block of areas
        area = uniform_cell_area(grid)
        uniform = area is not None
        if not uniform:
            area = cell_areas(grid, slice(r0, r1), slice(c0, c1)).ravel()
        for zi in np.searchsorted(zones, full):
            acc.add(zi, area, cls, sc, lim, fsc, fcls, xcls)
        if keep:
            cells_list, cov_list = _block_coverage(grid, r0, r1, c0, c1,
                                                   [clipped[k] for k in keep])
            zs = np.searchsorted(zones, partial)
            lens = np.array([c.size for c in cells_list], dtype=np.int64)
            if lens.any():
                cells = np.concatenate(cells_list)
                w = np.concatenate(cov_list)
                del cells_list, cov_list  # only the concatenated copies from here on
                w *= area if uniform else area[cells]
                acc.add_cells(zs[lens > 0], lens[lens > 0], cells, w, cls, sc, lim, fsc, fcls,
                              xcls)
        return zones, acc

    def __setitem__(self, key, value) -> None:
        part = np.asarray(value).ravel()[0]
        if part is not None:
            with self._lock:
                self.acc.merge(*part)

    def compute(self) -> None:
        """Take the sums in a pass of their own (threads; each block of files read once),
        when :attr:`parts` is not stored together with other outputs."""
        import dask
        import dask.array as dsa
        import dask.threaded

        # every block is read once: GDAL's block cache (5 % of RAM by default) only adds memory
        with block_cache(GDAL_CACHE_MB), dask.config.set(scheduler=dask.threaded.get):
            dsa.store(self.parts, self, lock=False)

    def result(self, zones: gpd.GeoDataFrame, *, id_field: str, name_field: str | None,
               factor_names: Mapping[int, str] | None = None,
               suitable: Sequence[int] = (1, 2)) -> ZonalResult:
        """The tables, once :attr:`parts` has been stored into this object."""
        return _tables(zones, self.acc, self.fnames, factor_names or {}, id_field, name_field,
                       suitable, self.scheme, self.origin_codes, self.requirements,
                       self.has_lim)


def zone_statistics(
    zones: gpd.GeoDataFrame,
    *,
    classes: xr.DataArray,
    score: xr.DataArray,
    limiting: xr.DataArray | None = None,
    factor_scores: Mapping[str, xr.DataArray] | None = None,
    factor_names: Mapping[int, str] | None = None,
    scheme: ClassScheme | None = None,
    extra_classes: Mapping[str, xr.DataArray] | None = None,
    id_field: str,
    name_field: str | None,
    suitable: Sequence[int] = (1, 2),
    block: int = 1024,
) -> ZonalResult:
    """Statistics of every zone (rows in the zones' order; see the module docstring).

    ``zones`` must be in the grid's CRS; empty or missing geometries give a row of zeros with
    ``empty = True``. ``factor_scores`` (factor -> score layer) adds ``mean_<factor>`` and
    the factor × class table, classified with ``scheme``. ``extra_classes`` (name -> class
    layer, e.g. ``potential``) adds ``<name>_<class>_ha`` and ``<name>_suitable_ha``.
    Computes :class:`ZoneSums` on its own (threads; each block of files read once).
    """
    zs = ZoneSums(zones, classes=classes, score=score, limiting=limiting,
                  factor_scores=factor_scores, scheme=scheme, extra_classes=extra_classes,
                  block=block)
    zs.compute()
    return zs.result(zones, id_field=id_field, name_field=name_field,
                     factor_names=factor_names, suitable=suitable)


def _gaez_si(hist: np.ndarray, area: float) -> float:
    """GAEZ suitability index of a zone (0-100) from its score histogram: the shares of the
    zone's area in the ``gaez`` scheme's classes VS, S, MS and mS (their score bounds), the
    score read as the share of the maximum attainable yield
    (:func:`gies.methods.schemes.gaez_si`)."""
    from gies.methods.schemes import gaez_si

    if area <= 0:
        return float("nan")
    b = len(hist)
    bounds = SCHEMES["gaez"].bounds
    edges = {"VS": (bounds["VS"], 1.0 + 1.0 / b), "S": (bounds["S"], bounds["VS"]),
             "MS": (bounds["MS"], bounds["S"]), "mS": (bounds["mS"], bounds["MS"])}
    return float(gaez_si({k: hist[int(round(lo * b)):int(round(hi * b))].sum() / area
                          for k, (lo, hi) in edges.items()}))


def _class_ha(hist: np.ndarray, scheme: ClassScheme) -> dict[str, float]:
    """Class-column sums (m²) of one zone from its per-code weights; a code of the scheme's
    ``extra`` counts in its class (FAO: N = codes 4 + 5)."""
    out = {col: float(hist[code]) for code, col in scheme.table_codes.items()}
    for code, (_, _, _, parent) in (scheme.extra or {}).items():
        out[scheme.key_of(parent)] += float(hist[code])
    return out


def _polygonal(geom):
    """The polygonal part of a clipped geometry, or None when nothing with area is left."""
    if geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom if geom.area > 0 else None
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    from shapely.ops import unary_union

    merged = unary_union(parts)
    return merged if merged.area > 0 else None


def _factor_class(score: np.ndarray, scheme: ClassScheme) -> np.ndarray:
    """Class codes of a factor's scores by the run's class scheme (the same comparison as
    ``classes.tif``: :meth:`ClassScheme.classify`); 0 where there is no score."""
    codes = scheme.classify(np.asarray(score))
    codes[codes == NODATA] = 0
    return codes


def _tables(zones, acc: _Acc, fnames, factor_names, id_field, name_field, suitable,
            scheme: ClassScheme, origin_codes: Mapping[str, Mapping[int, str]] | None = None,
            requirements: bool = True, limiting: bool = False) -> ZonalResult:
    """The wide and tidy tables of the accumulated sums. Origin class layers
    (``origin_codes``: layer name -> code labels) give ``<name>_<label>_ha`` and
    ``_share``; without ``requirements`` only the zone, its area and the origin columns
    are kept. With ``limiting`` sums, the tidy table has ``kind = limiting`` rows: the area
    each limiting code covers (0 no limitation, a factor or group, 253 excluded land, 254 no
    data), which add up to the zone's area."""
    origin_codes = dict(origin_codes or {})
    extra = {code: v[0] for code, v in (scheme.extra or {}).items()}
    assessed_codes = list(range(1, len(scheme.classes) + 1)) + list(extra)
    tidy_codes = scheme.class_names
    factor_codes = {i + 1: n for i, n in enumerate(scheme.names)} | {0: "nodata"}
    rows, tidy, ftidy = [], [], []
    for i in range(len(zones)):
        z = zones.iloc[i]
        row: dict = {"zone_id": z[id_field]}
        if name_field:
            row["zone_name"] = z[name_field]
        key = {k: row[k] for k in row}
        area = acc.cls[i].sum()
        row["area_ha"] = area * _HA
        ha = _class_ha(acc.cls[i], scheme)
        for col, v in ha.items():
            row[f"{col}_ha"] = v * _HA
        for code, xname in extra.items():
            row[f"{xname}_ha"] = acc.cls[i, code] * _HA
        assessed = acc.cls[i, assessed_codes].sum()
        suit = sum(acc.cls[i, c] for c in suitable)
        row["suitable_ha"] = suit * _HA
        row["assessed_ha"] = assessed * _HA
        for col, v in ha.items():
            if col != "outside":
                row[f"{col}_share"] = v / area if area > 0 else np.nan
        row["suitable_share"] = suit / area if area > 0 else np.nan
        row["suitable_share_of_assessed"] = suit / assessed if assessed > 0 else np.nan
        row["valid_share"] = (acc.sw[i] / area) if area > 0 else 0.0
        sw = acc.sw[i]
        mean = acc.s1[i] / sw if sw > 0 else np.nan
        row["score_mean"] = mean
        row["score_std"] = float(np.sqrt(max(acc.s2[i] / sw - mean * mean, 0.0))) if sw > 0 else np.nan
        row["score_min"] = acc.smin[i] if sw > 0 else np.nan
        row["score_p10"] = weighted_quantile_from_hist(acc.hist[i], 0.1)
        row["score_median"] = weighted_quantile_from_hist(acc.hist[i], 0.5)
        row["score_p90"] = weighted_quantile_from_hist(acc.hist[i], 0.9)
        row["score_max"] = acc.smax[i] if sw > 0 else np.nan
        row["gaez_si"] = _gaez_si(acc.hist[i], area)
        for k, f in enumerate(fnames):
            row[f"mean_{f}"] = acc.fs[i, k] / acc.fw[i, k] if acc.fw[i, k] > 0 else np.nan
        for name, codes in origin_codes.items():
            arr = acc.extra[name]
            for code, label in codes.items():
                row[f"{name}_{label}_ha"] = arr[i, code] * _HA
                row[f"{name}_{label}_share"] = arr[i, code] / area if area > 0 else np.nan
        for name, arr in acc.extra.items():
            if name in origin_codes:
                continue
            for col, v in _class_ha(arr[i], scheme).items():
                if col != "outside":
                    row[f"{name}_{col}_ha"] = v * _HA
            for code, xname in extra.items():
                row[f"{name}_{xname}_ha"] = arr[i, code] * _HA
            row[f"{name}_suitable_ha"] = sum(arr[i, c] for c in suitable) * _HA
        limited = acc.lim[i, 1:250]
        if limited.sum() > 0:
            code = int(np.argmax(limited)) + 1
            row["limiting_dominant"] = factor_names.get(code, str(code))
            row["limiting_dominant_share"] = limited[code - 1] / limited.sum()
        else:
            row["limiting_dominant"] = ""
            row["limiting_dominant_share"] = np.nan
        row["empty"] = bool(area == 0)
        if not requirements:
            keep = ("zone_id", "zone_name", "area_ha", "empty")
            row = {k: v for k, v in row.items()
                   if k in keep or any(k.startswith(f"{n}_") for n in origin_codes)}
        rows.append(row)
        kinds = {"actual": acc.cls, **acc.extra} if requirements else {}
        for kind, arr in kinds.items():
            for code, cname in (origin_codes.get(kind) or tidy_codes).items():
                tidy.append({**key, "kind": kind, "class_code": code, "class": cname,
                             "hectares": arr[i, code] * _HA,
                             "share": arr[i, code] / area if area > 0 else np.nan})
        if limiting and requirements:
            lim_codes = {0: "none", **factor_names, EXCLUDED: tidy_codes[EXCLUDED],
                         NODATA: tidy_codes[NODATA]}
            for code, cname in lim_codes.items():
                tidy.append({**key, "kind": "limiting", "class_code": code, "class": cname,
                             "hectares": acc.lim[i, code] * _HA,
                             "share": acc.lim[i, code] / area if area > 0 else np.nan})
        for name, codes in ({} if requirements else origin_codes).items():
            for code, cname in codes.items():
                tidy.append({**key, "kind": name, "class_code": code, "class": cname,
                             "hectares": acc.extra[name][i, code] * _HA,
                             "share": acc.extra[name][i, code] / area if area > 0 else np.nan})
        for k, f in enumerate(fnames):
            for code, cname in factor_codes.items():
                ha = acc.fcls[i, k, code] * _HA
                ftidy.append({**key, "factor": f, "class": cname, "hectares": ha,
                              "share": acc.fcls[i, k, code] / area if area > 0 else np.nan})
    return ZonalResult(pd.DataFrame(rows), pd.DataFrame(tidy), pd.DataFrame(ftidy))


def zones_table(plan) -> gpd.GeoDataFrame:
    """The AOI and every zones layer of a plan as one table (``zone_id``, ``zone_name``,
    ``_layer``: ``""`` for the AOI, else the zones layer's name), summed in one block-wise
    pass."""
    cfg = plan.config
    parts = {"": plan.aoi.assign(zone_id="AOI", zone_name=cfg.title)}
    for zname, zones in plan.zones.items():
        spec = cfg.zones[zname]
        parts[zname] = zones.assign(zone_id=zones[spec.id_field],
                                    zone_name=zones[spec.name_field] if spec.name_field else "")
    allz = pd.concat([p[["zone_id", "zone_name", "geometry"]].assign(_layer=k)
                      for k, p in parts.items()], ignore_index=True)
    return gpd.GeoDataFrame(allz, geometry="geometry", crs=plan.grid.crs)


def zone_tables(sums: ZoneSums, allz: gpd.GeoDataFrame, plan, *,
                factor_codes: Mapping[int, str], suitable: Sequence[int]
                ) -> tuple[ZonalResult, dict[str, ZonalResult], list[EmptyZoneWarning]]:
    """``(AOI tables, tables per zones layer, warnings)`` once ``sums`` holds the sums of
    :func:`zones_table` (zones with no pixel are kept, flagged ``empty``, with a warning)."""
    cfg = plan.config
    res = sums.result(allz, id_field="zone_id", name_field="zone_name",
                      factor_names=factor_codes, suitable=suitable)
    aoi, results, found = res.subset(allz["_layer"] == ""), {}, []
    for zname in plan.zones:
        sub = res.subset(allz["_layer"] == zname)
        if not cfg.zones[zname].name_field:
            sub = sub.drop_columns(["zone_name"])
        results[zname] = sub
        wide = sub.wide
        empty = [str(z) for z in wide.loc[wide["empty"], "zone_id"]]
        if empty:
            found.append(EmptyZoneWarning(
                f"zones.{zname}: {len(empty)} zone(s) have no pixel inside the AOI and "
                f"grid (rows kept with empty=True): {', '.join(empty)}"))
    return aoi, results, found
