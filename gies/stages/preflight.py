"""Pre-flight checks, before any pixel is computed: does each layer cover the AOI, and does a
small sample of it hold plausible values for its quantity?

:func:`coverage` measures how much of the AOI a layer's extent (and, optionally, its valid
data) covers; :func:`check_coverage` acts on it. :func:`check_plausible` checks a sample
against the physical range of its quantity and names the fix of the classic mistakes
(stored ×10, in Kelvin, ...). :func:`check_data` runs the sampled checks of a plan (a
decimated read of each layer: readable, not all no data, plausible, lookup codes mapped),
which ``gies validate`` and ``gies run`` both perform.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pyproj import CRS, Transformer

from gies.errors import CoverageWarning, ImplausibleAcceptedWarning, LayerError, UnitError
from gies.grid import Grid, lon_arc
from gies.units import PLAUSIBLE_QUANTITIES, conversion, parse_unit

__all__ = ["Coverage", "coverage", "coverage_problem", "check_coverage", "Plausibility",
           "check_plausible", "check_data", "aoi_sample", "nodata_among_values"]


# -- coverage --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """How much of the AOI a layer covers.

    ``extent`` is the share of the AOI's area inside the layer's grid; ``valid`` the share
    on valid (non-nodata) cells of a low-resolution sample, or ``None`` when no sample was
    given. ``message`` names the layer, its bounds (in its CRS) and the AOI's bounds.
    """

    layer: str
    extent: float
    valid: float | None
    layer_bounds: tuple[float, float, float, float]
    aoi_bounds: tuple[float, float, float, float]
    message: str


def _aoi_points(aoi: Any, aoi_crs: CRS, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres of an ``n×n`` lattice over the AOI's bounds that fall in the AOI, and
    their weights (true areas when the AOI CRS is geographic, equal otherwise)."""
    import shapely

    x0, y0, x1, y1 = aoi.bounds
    if aoi_crs.is_geographic and x1 - x0 > 180:  # parts on both sides of ±180
        lon = shapely.get_coordinates(aoi)[:, 0]
        west, east = lon_arc(lon)
        x0, x1 = west, east
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    xx, yy = np.meshgrid(xs, ys)
    xx, yy = xx.ravel(), yy.ravel()
    if aoi_crs.is_geographic:
        xw = ((xx + 180.0) % 360.0) - 180.0
        inside = shapely.contains_xy(aoi, xw, yy) | shapely.contains_xy(aoi, xx, yy)
        w = np.cos(np.radians(yy))
    else:
        inside = shapely.contains_xy(aoi, xx, yy)
        w = np.ones_like(xx)
    return xx[inside], yy[inside], w[inside]


def coverage(
    layer_grid: Grid,
    aoi_geometry: Any,
    *,
    aoi_crs: Any,
    layer_name: str = "layer",
    valid_sample: tuple[np.ndarray, Grid] | None = None,
    n: int = 200,
) -> Coverage:
    """Share of the AOI covered by a layer's extent (and, optionally, by its valid data).

    The AOI is sampled on an ``n×n`` lattice over its bounds (points inside the AOI only,
    weighted by true area when its CRS is geographic); every point is transformed into the
    layer's CRS and counted as covered when it falls inside the layer's bounds (for a
    geographic layer, longitudes are compared modulo 360, so AOIs straddling ±180° work).
    Point sampling avoids reprojecting the layer's footprint, which is ill-defined across
    the antimeridian or interruptions (Goode Homolosine). Resolution of the share: about
    ``1/n²`` of the AOI's bounding box.

    Parameters
    ----------
    layer_grid : Grid
        The layer's own grid (from :func:`gies.io.read.raster_info`).
    aoi_geometry : shapely geometry
        The AOI, in ``aoi_crs`` (normally the target grid's CRS).
    aoi_crs : CRS-like
    layer_name : str
        Names the layer in the message (e.g. ``layers.rainfall``).
    valid_sample : (ndarray, Grid), optional
        A low-resolution read of the layer (e.g. :func:`gies.io.read.read_sample`) with its
        grid; NaN / masked cells count as not valid. Gives ``Coverage.valid``.
    n : int
        Lattice size.

    Returns
    -------
    Coverage
    """
    acrs = CRS.from_user_input(aoi_crs)
    px, py, w = _aoi_points(aoi_geometry, acrs, n)
    lb = layer_grid.bounds
    if px.size == 0:
        raise LayerError(f"{layer_name}: the AOI is empty or too thin to sample")
    tr = Transformer.from_crs(acrs, layer_grid.pyproj_crs, always_xy=True)
    lx, ly = (np.asarray(v, dtype=float) for v in tr.transform(px, py))
    ok = np.isfinite(lx) & np.isfinite(ly)

    def _inside(g: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        b = g.bounds
        iny = (y >= b[1]) & (y <= b[3])
        if g.is_geographic:
            k = np.floor((x - b[0]) / 360.0)  # move x into [b0, b0 + 360)
            x = x - 360.0 * k
        return iny & (x >= b[0]) & (x <= b[2])

    inside = ok & _inside(layer_grid, np.where(ok, lx, 0), np.where(ok, ly, 0))
    total = float(w.sum())
    extent = float(w[inside].sum() / total)
    valid = None
    if valid_sample is not None:
        arr, sg = valid_sample
        arr = np.asarray(arr)
        sx = np.where(ok, lx, 0)
        sy = np.where(ok, ly, 0)
        if sg.is_geographic:
            sx = sx - 360.0 * np.floor((sx - sg.bounds[0]) / 360.0)
        col = np.floor((sx - sg.transform.c) / sg.transform.a).astype(int)
        row = np.floor((sy - sg.transform.f) / sg.transform.e).astype(int)
        inb = inside & (row >= 0) & (row < arr.shape[0]) & (col >= 0) & (col < arr.shape[1])
        good = np.zeros_like(inb)
        vals = arr[row[inb], col[inb]]
        good[inb] = ~np.isnan(vals.astype(float)) if np.ma.getmask(vals) is np.ma.nomask else (
            ~np.ma.getmaskarray(vals))
        valid = float(w[good].sum() / total)
    ab = tuple(float(v) for v in aoi_geometry.bounds)
    msg = (
        f"{layer_name}: the layer covers {extent:.1%} of the AOI"
        + (f" ({valid:.1%} with valid data)" if valid is not None else "")
        + f"; layer bounds {tuple(round(v, 4) for v in lb)} in {layer_grid.pyproj_crs.name}, "
        f"AOI bounds {tuple(round(v, 4) for v in ab)} in {acrs.name}"
    )
    return Coverage(layer_name, extent, valid, tuple(float(v) for v in lb), ab, msg)


def coverage_problem(
    result: Coverage,
    *,
    mode: Literal["require", "warn"] = "require",
    minimum: float = 0.999,
) -> CoverageWarning | None:
    """What a :class:`Coverage` means for a run: no overlap at all is always a
    :class:`LayerError`; a share below ``minimum`` (of the extent, or of valid data when
    known) raises under ``mode="require"`` and is returned as a
    :class:`~gies.errors.CoverageWarning` under ``"warn"``; ``None`` when the layer covers
    the AOI. ``minimum`` defaults to 99.9 % (the lattice's own resolution)."""
    if mode not in ("require", "warn"):
        raise ValueError(f"unknown coverage mode {mode!r}; use 'require' or 'warn'")
    if result.extent <= 0.0:
        raise LayerError(f"{result.message}: no overlap at all (check the file and the AOI)")
    share = result.valid if result.valid is not None else result.extent
    if share < minimum:
        if mode == "require":
            raise LayerError(f"{result.message}; cells outside become no data (set coverage: "
                             "warn to accept a partial layer)")
        return CoverageWarning(f"{result.message}; cells outside are no data (accepted: "
                               "coverage: warn)")
    return None


def check_coverage(
    result: Coverage,
    *,
    mode: Literal["require", "warn"] = "require",
    minimum: float = 0.999,
) -> Coverage:
    """:func:`coverage_problem`, emitting its warning (``warnings.warn``); returns
    ``result``."""
    problem = coverage_problem(result, mode=mode, minimum=minimum)
    if problem is not None:
        warnings.warn(problem, stacklevel=2)
    return result


# -- plausibility ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Plausibility:
    """Result of :func:`check_plausible`: the robust range seen (0.5–99.5 percentiles of the
    sample, in the layer's units) and the plausible range it was checked against."""

    layer: str
    quantity: str
    seen: tuple[float, float]
    expected: tuple[float, float]
    units: str
    n: int


#: Candidate fixes tried, in order, when a range is implausible: (scale, offset, label).
_FIXES = (
    (0.1, 0.0, "scale 0.1 (stored ×10)"),
    (0.01, 0.0, "scale 0.01 (stored ×100)"),
    (0.1, -273.15, "scale 0.1 and offset -273.15 (stored as K×10)"),
    (1.0, -273.15, "offset -273.15 (stored in K)"),
    (10.0, 0.0, "scale 10 (stored ÷10, e.g. cm instead of mm)"),
    (0.001, 0.0, "scale 0.001 (stored ×1000)"),
    (100.0, 0.0, "scale 100 (a fraction instead of %)"),
)


def check_plausible(
    sample_values: Any,
    *,
    quantity: str | None = None,
    units: str | None = None,
    layer_name: str = "layer",
    tolerance: float = 0.0,
) -> Plausibility:
    """Check a small sample of a layer against the physical range of its quantity.

    The robust range (0.5th–99.5th percentile of the finite values, so a few outlier cells
    do not trigger it) must lie inside the plausible range of
    :data:`gies.units.PLAUSIBLE_QUANTITIES` (e.g. temperature −60..60 °C, annual rainfall
    0..15000 mm, pH 2..11, clay/sand/silt 0..100 %), converted to ``units`` when those are
    given. Otherwise :class:`~gies.errors.UnitError` names the layer, the range seen, the
    range expected, and the scale/offset that would bring it inside (e.g. "scale 0.1 and
    offset -273.15 (stored as K×10)" for raw CHELSA temperatures).

    Parameters
    ----------
    sample_values : array-like
        A cheap sample (e.g. :func:`gies.io.read.read_sample`, a decimated read); NaN and
        masked values are ignored.
    quantity : str, optional
        A key of ``PLAUSIBLE_QUANTITIES`` (``temperature``, ``rainfall_annual``,
        ``rainfall_monthly``, ``ph``, ``clay``, ``sand``, ``silt``, ``slope_percent``,
        ``slope_degrees``, ``elevation``, ``cec``, ``soc``, ...).
    units : str, optional
        The layer's declared units. Without ``quantity`` the quantity is inferred from them
        where unambiguous (degC, K → temperature; pH → ph; cmol(c)/kg → cec).
    layer_name : str
    tolerance : float
        Relative slack on both limits (0.05 = 5 % of the range width).

    Returns
    -------
    Plausibility
        Also returned (with ``n = 0``) when the sample holds no finite value.
    """
    if quantity is None:
        if units is None:
            raise ValueError("check_plausible needs quantity or units")
        q = parse_unit(units).quantity
        by_unit_quantity = {"temperature": "temperature", "ph": "ph", "cec": "cec"}
        if q not in by_unit_quantity:
            raise ValueError(
                f"{layer_name}: units {units!r} do not tell the quantity; pass quantity= "
                f"(one of {', '.join(sorted(PLAUSIBLE_QUANTITIES))})"
            )
        quantity = by_unit_quantity[q]
    if quantity not in PLAUSIBLE_QUANTITIES:
        raise ValueError(
            f"unknown quantity {quantity!r}; use one of {', '.join(sorted(PLAUSIBLE_QUANTITIES))}"
        )
    qunits, lo, hi = PLAUSIBLE_QUANTITIES[quantity]
    if units is not None and qunits not in ("degrees",):
        a, b = conversion(qunits, units)
        lo, hi = sorted((lo * a + b, hi * a + b))
    else:
        units = qunits
    slack = tolerance * (hi - lo)
    lo_t, hi_t = lo - slack, hi + slack
    v = np.ma.filled(np.ma.masked_invalid(np.asarray(sample_values, dtype=np.float64)), np.nan)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Plausibility(layer_name, quantity, (math.nan, math.nan), (lo, hi), units, 0)
    smin, smax = (float(x) for x in np.percentile(v, [0.5, 99.5]))
    res = Plausibility(layer_name, quantity, (smin, smax), (lo, hi), units, int(v.size))
    if lo_t <= smin and smax <= hi_t:
        return res
    hint = _sentinel_hint(v, lo_t, hi_t) or _readings_hint(smin, smax, lo_t, hi_t, quantity)
    raise UnitError(
        f"{layer_name}: values {smin:.4g}..{smax:.4g} (0.5-99.5 percentiles of "
        f"{v.size} sampled cells) are implausible for {quantity} in {units} "
        f"(expected {lo:g}..{hi:g}){hint or '; check the units and nodata of the file'}"
    )



def aoi_sample(info, aoi, *, band: int = 1, nodata: float | None = None, key: str = "layer",
               max_pixels: int = 250_000) -> np.ndarray:
    """A decimated read (:func:`gies.io.read.read_sample`) of the cells of a raster under the
    AOI: the window of the AOI's bounds in the file's CRS, about ``max_pixels`` cells, with
    NaN on the sampled cells that the AOI (a GeoDataFrame, reprojected to the file's CRS)
    does not touch. Without an AOI, or when the AOI lies off the file, the whole file.
    """
    import rasterio.features
    import rasterio.windows

    from gies.io.read import read_sample

    window = None
    geom = None
    if aoi is not None and len(aoi):
        try:
            in_file = aoi.to_crs(info.grid.crs).geometry
        except (ValueError, RuntimeError):  # PROJ cannot reproject it: sample the file
            in_file = None
        if in_file is not None and np.isfinite(in_file.total_bounds).all():
            rows, cols = info.grid.shape
            w = rasterio.windows.from_bounds(*in_file.total_bounds,
                                             transform=info.grid.transform)
            r0, c0 = max(int(math.floor(w.row_off)), 0), max(int(math.floor(w.col_off)), 0)
            r1 = min(int(math.ceil(w.row_off + w.height)), rows)
            c1 = min(int(math.ceil(w.col_off + w.width)), cols)
            if r1 > r0 and c1 > c0:
                window, geom = ((r0, r1), (c0, c1)), list(in_file)
    arr, g = read_sample(info, band=band, nodata=nodata, key=key, window=window,
                         max_pixels=max_pixels)
    if geom is not None:
        touched = rasterio.features.rasterize(
            ((x, 1) for x in geom if x is not None and not x.is_empty), out_shape=g.shape,
            transform=g.transform, all_touched=True, dtype="uint8")
        arr[touched == 0] = np.nan
    return arr


def nodata_among_values(info, value: float, *, band: int = 1, key: str = "layer",
                        aoi=None) -> str:
    """A sentence saying that the nodata ``value`` of a raster looks like real data, or "".

    From a decimated read of the cells under ``aoi`` (:func:`aoi_sample`) with the value not
    masked: it
    looks like data when it lies within one range width (at least 1) of the robust range
    (0.5–99.5 percentiles) of the other values (0 beside dry-month counts 1..3), unlike a
    sentinel far from them (−9999 beside temperatures of 20..30). The sentence gives its
    share of the sampled cells.
    """
    try:
        raw = aoi_sample(info, aoi, band=band, nodata=math.nan, key=key)
    except LayerError:
        return ""
    s, o = info.scales[band - 1], info.offsets[band - 1]
    v = raw[np.isfinite(raw)]
    tagged = np.isclose(v, value * s + o, rtol=1e-6, atol=0)
    rest = v[~tagged]
    if not tagged.any() or not rest.size:
        return ""
    lo, hi = (float(x) for x in np.percentile(rest, [0.5, 99.5]))
    pad = max(hi - lo, 1.0)
    if not lo - pad <= value * s + o <= hi + pad:
        return ""
    return (f"{tagged.mean():.0%} of the sampled cells hold it, and its other values are "
            f"{lo:.4g}..{hi:.4g}: it may be a real value rather than a no-data marker")


def _readings_hint(smin: float, smax: float, lo: float, hi: float, quantity: str) -> str:
    """Every reading of :data:`_FIXES` that brings ``smin..smax`` inside ``lo..hi``, listed
    (a ×10 temperature of 258..281 is 25.8..28.1 °C read ×10 and −15.4..7.85 °C read in K: the
    file's documentation decides), or ""."""
    fits = []
    for sc, off, label in _FIXES:
        if off and quantity != "temperature":
            continue
        a, b = smin * sc + off, smax * sc + off
        if lo <= a and b <= hi:
            fits.append(f"with {label} they would be {a:.4g}..{b:.4g}: declare scale: {sc:g}"
                        + (f", offset: {off:g}" if off else ""))
    if not fits:
        return ""
    head = "; " if len(fits) == 1 else "; every reading that fits: "
    return head + "; ".join(fits) + " (or the units the file is really in)"


def _sentinel_hint(v: np.ndarray, lo: float, hi: float) -> str:
    """A nodata suggestion when one value outside ``lo..hi`` holds nine in ten of the
    sampled cells out of range and the other values are plausible without it (an undeclared
    −9999), or ""."""
    out = v[(v < lo) | (v > hi)]
    if not out.size:
        return ""
    vals, counts = np.unique(out, return_counts=True)
    top = float(vals[np.argmax(counts)])
    if counts.max() < 0.9 * out.size:
        return ""
    rest = v[v != top]
    if not rest.size:
        return ""
    a, b = (float(x) for x in np.percentile(rest, [0.5, 99.5]))
    if not (lo <= a and b <= hi):
        return ""
    return (f"; one value, {top:.6g}, holds {counts.max() / v.size:.1%} of the sampled cells "
            f"and the others are {a:.4g}..{b:.4g}: it looks like an undeclared no-data "
            f"marker: declare nodata: {top:.6g}")


# -- sampled checks of a plan -------------------------------------------------------------------
def _plausibility_quantity(spec) -> str | None:
    if spec.quantity:
        return spec.quantity
    by_quantity = {"temperature": "temperature", "ph": "ph", "cec": "cec"}
    try:
        return by_quantity.get(parse_unit(spec.units).quantity)
    except UnitError:
        return None


def _unmatched_codes(pl, layer: str, sample: np.ndarray) -> list[str]:
    """Values of a layer's sample that a factor's curve cannot score and that stop a run
    (e.g. codes missing from a lookup table: the curve's ``unmatched`` companion with
    ``unmatched_error``)."""
    import xarray as xr

    from gies.methods.registry import CURVES

    out = []
    data = xr.DataArray(sample, dims=("y", "x"), name=layer, attrs={"units": ""})
    for fp in pl.pipeline.factors.values():
        m = CURVES[fp.method]
        if fp.layer != layer or m.unmatched is None or not m.unmatched_error:
            continue
        u = m.call(m.unmatched, data, fp.params)
        if u is None:
            continue
        bad = np.asarray(u)
        if bad.any():
            codes = sorted({int(v) for v in np.unique(sample[bad])})
            key = m.extra.get("unmatched_key")
            what = m.extra.get("unmatched_what", "cannot be scored")
            out.append(f"factors.{fp.name}.params{'.' + key if key else ''}: codes {codes[:20]} "
                       f"of layers.{layer} {what}")
    return out


def check_data(pl) -> tuple[list[str], list[ImplausibleAcceptedWarning]]:
    """Sampled data checks of a plan (:class:`gies.stages.plan.Plan`): a decimated read of
    the cells of every layer under the AOI (:func:`aoi_sample`) must succeed, hold valid
    cells, hold values its factors can score, and be plausible for its quantity. Returns
    ``(problems, warnings)``; never computes a layer. A layer declared
    ``accept_implausible: true`` after review gets a warning instead of the plausibility
    problem.

    Layers with mixed units or derived values are checked for readability and data only:
    their raw values are not in the declared units by design.
    """
    from rasterio.errors import RasterioError

    from gies.methods.registry import DERIVATIONS

    problems = []
    accepted: list[ImplausibleAcceptedWarning] = []
    for name, lp in pl.layers.items():
        spec, info, key = lp.spec, lp.info, lp.key
        bands = list(lp.bands)
        if max(bands) > info.count:
            problems.append(
                f"{key}: {info.path} has {info.count} band(s), not band(s) "
                f"{[b for b in bands if b > info.count]}"
                + (" (a monthly layer needs a 12-band file)" if len(bands) > 1 else ""))
            continue
        try:
            sample = aoi_sample(info, pl.aoi, band=bands[0], nodata=spec.nodata, key=key)
        except (LayerError, RasterioError, ValueError) as exc:
            problems.append(f"{key}: cannot read {info.path}: {exc}; the file may be truncated "
                            "or corrupted")
            continue
        if spec.scale is not None or spec.offset is not None:
            sample = sample * (spec.scale if spec.scale is not None else 1.0) + (spec.offset or 0.0)
        if not np.isfinite(sample).any():
            problems.append(f"{key}: no valid cell of {info.path} under the AOI (all no "
                            "data); check its nodata value and the layer's nodata key")
            continue
        problems += _unmatched_codes(pl, name, sample)
        quantity = _plausibility_quantity(spec)
        # a derivation that keeps the quantity (mean, min, max of months) is checked too
        same_quantity = lp.derivation is None or lp.derivation in ("mean", "min", "max")
        if lp.derivation is not None and DERIVATIONS[lp.derivation].extra.get("input") == "dem":
            same_quantity = False
        if quantity and same_quantity and not spec.mixed_units and not spec.plausible:
            try:
                check_plausible(sample, quantity=quantity, units=spec.units, layer_name=key)
            except UnitError as exc:
                if spec.accept_implausible:
                    accepted.append(ImplausibleAcceptedWarning(f"{exc}; accepted: {key}.accept_implausible"))
                else:
                    problems.append(f"{exc}; after review, {key}.accept_implausible: true "
                                    "accepts the layer as it is")
            except ValueError as exc:
                problems.append(f"{key}.quantity: {exc}")
    return problems, accepted
