"""Reading inputs: raster metadata and lazy, chunked raster layers; vector layers.

This is the only place input files are opened. Files are opened read-only and never
modified. Every failure becomes a :class:`~gies.errors.LayerError` naming the pipeline key
and the file, with what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import xarray as xr
from rasterio.errors import RasterioIOError

from gies.errors import LayerError
from gies.grid import Grid
from gies.io.gdal import block_cache

if TYPE_CHECKING:  # geopandas and rioxarray are imported where used (start-up time)
    import geopandas as gpd

__all__ = ["read_points", "RasterInfo", "raster_info", "open_raster", "open_inputs", "read_vector",
           "read_sample", "read_failure", "describe"]


@dataclass(frozen=True)
class RasterInfo:
    """Metadata of one raster file (no pixels read)."""

    path: Path
    grid: Grid
    count: int
    dtype: str
    nodata: float | None
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    descriptions: tuple[str | None, ...]


def _check_path(path: Path, key: str) -> None:
    """An existing path, or one message naming ``key`` and what is wrong: not found, a
    symbolic link that loops or points nowhere."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            raise LayerError(f"{key}: {path} is a symbolic link that loops back on itself; "
                             "point it at the file") from None
        except OSError:
            raise LayerError(f"{key}: {path} is a symbolic link to {path.readlink()}, which "
                             "does not exist") from None
    if not path.exists():
        raise LayerError(f"{key}: file not found: {path} (check the path in the pipeline file)")


def _folder(path: Path, key: str) -> LayerError | None:
    """The message for a folder GDAL cannot open as a dataset (folders it can open, such as
    an ESRI grid or a FileGDB, are read)."""
    if path.is_dir():
        return LayerError(f"{key}: {path} is a folder, not a file GDAL can read: give the "
                          "path of the file inside it")
    return None


def _georeferenced(ds, path: Path, key: str) -> None:
    """A raster without a geotransform (GDAL's identity default, no GCPs) cannot be placed
    on the grid: one message, not a grid of 1 × 1 "units"."""
    from affine import Affine

    if ds.transform == Affine.identity() and not ds.gcps[0] and not ds.rpcs:
        raise LayerError(f"{key}: {path} has no georeferencing (no geotransform"
                         f"{'' if ds.crs is None else ', although it has a CRS'}); "
                         "georeference it (e.g. gdal_translate -a_ullr) or export it again")


def _declared_grid(ds, path: Path, key: str, crs) -> Grid:
    """The file's grid; ``crs`` (declared in the pipeline) supplies a missing CRS and must
    agree with the file's when both exist."""
    if crs is None:
        if ds.crs is None:
            raise LayerError(
                f"{key}: {path} has no coordinate reference system; assign one with "
                "gdal_edit.py -a_srs EPSG:XXXX, re-export the file with its CRS, or declare "
                "it in the pipeline (crs: EPSG:XXXX)"
            )
        return Grid.from_raster(ds)
    from pyproj import CRS

    try:
        declared = CRS.from_user_input(crs)
    except Exception as exc:  # noqa: BLE001
        raise LayerError(f"{key}: declared crs {crs!r} is not a CRS ({exc})") from None
    if ds.crs is not None and not CRS.from_user_input(ds.crs.to_wkt()).equals(
        declared, ignore_axis_order=True
    ):
        raise LayerError(
            f"{key}: {path} is in {ds.crs.to_string()} but the pipeline declares crs {crs!r}; "
            "remove the declaration or fix the file"
        )
    from affine import Affine

    return Grid(declared.to_wkt(), Affine(*tuple(ds.transform)[:6]), (int(ds.height), int(ds.width)))


def raster_info(path: Path, *, key: str, crs=None) -> RasterInfo:
    """Open a raster's metadata; ``key`` (e.g. ``layers.temperature``) names it in errors.

    ``crs`` (optional, any pyproj input) is the CRS declared in the pipeline: used when the
    file has none (otherwise a file without CRS is an error), checked against the file's
    when it has one.
    """
    _check_path(path, key)
    try:
        with rasterio.open(path) as ds:
            _georeferenced(ds, path, key)
            return RasterInfo(
                path=path,
                grid=_declared_grid(ds, path, key, crs),
                count=ds.count,
                dtype=ds.dtypes[0],
                nodata=ds.nodata,
                scales=tuple(ds.scales),
                offsets=tuple(ds.offsets),
                descriptions=tuple(ds.descriptions),
            )
    except RasterioIOError as exc:
        raise _folder(path, key) or LayerError(f"{key}: cannot read raster {path}: {exc}") from None
    except ValueError as exc:
        raise LayerError(f"{key}: unusable raster {path}: {exc}") from None


def open_raster(
    info: RasterInfo,
    *,
    bands: list[int],
    chunk: int,
    kind: str,
    nodata: float | None,
    scale: float | None,
    offset: float | None,
    key: str,
    crs=None,
) -> xr.DataArray:
    """A lazy layer of the given 1-based bands on the file's own grid: 2-D for one band,
    3-D ``(band, y, x)`` for several.

    Continuous layers become float32 with NaN for nodata (the file's, or ``nodata`` from the
    pipeline, which wins), with the file's scale/offset tags applied, then the pipeline's
    ``scale``/``offset`` (``value = stored * scale + offset``). Categorical layers keep
    their integer codes and dtype; their nodata value stays in ``attrs['nodata']``.

    Nodata is only what the file or the pipeline declares (never 0 by default). On float
    files the declared value matches within 1e-6 relative, so a declared ``-3.4e38`` masks
    the float32 sentinel ``-3.4028235e38`` (a declared |value| ≥ 1e30 masks every value of
    that sign beyond 99 % of it); NaN is always nodata for continuous layers.
    ``crs`` is accepted for symmetry with :func:`raster_info` (the grid, hence the CRS,
    comes from ``info``).
    """
    bad = [b for b in bands if not 1 <= b <= info.count]
    if bad:
        raise LayerError(
            f"{key}: {info.path} has {info.count} band(s), not band(s) {bad}"
            + (" (a monthly derivation needs a 12-band file)" if len(bands) > 1 else "")
        )
    import rioxarray  # registers the .rio accessor

    try:
        da = rioxarray.open_rasterio(
            info.path, chunks={"band": -1, "y": chunk, "x": chunk}, masked=False,
            mask_and_scale=False, lock=False,
        ).sel(band=bands)
        if len(bands) == 1:
            da = da.isel(band=0, drop=True)
    except Exception as exc:  # rioxarray wraps GDAL errors in several types
        raise LayerError(f"{key}: cannot read raster {info.path}: {exc}") from None
    fill = nodata if nodata is not None else info.nodata
    attrs = {"source": str(info.path), "bands": bands}
    if kind == "categorical":
        out = da
        attrs["nodata"] = fill
    else:
        data = da.astype(np.float32)
        if fill is not None and not np.isnan(fill):
            if np.issubdtype(da.dtype, np.floating) and abs(fill) >= 1e30:
                # float32 extreme sentinels (±3.4028235e38) however rounded when declared
                data = data.where(~(np.sign(da) == np.sign(fill)) | (abs(da) < abs(fill) * 0.99))
            elif np.issubdtype(da.dtype, np.floating) and fill != 0:
                data = data.where(abs(da.astype(np.float64) - fill) > abs(fill) * 1e-6)
            else:
                data = data.where(da != fill)
        scales = {(info.scales[b - 1], info.offsets[b - 1]) for b in bands}
        if len(scales) > 1:
            raise LayerError(f"{key}: bands {bands} of {info.path} have different scale/offset tags")
        s, o = scales.pop()
        if (s, o) != (1.0, 0.0):
            data = data * np.float32(s) + np.float32(o)
        if scale is not None or offset is not None:
            data = data * np.float32(scale if scale is not None else 1.0) + np.float32(offset or 0.0)
        out = data.astype(np.float32)
    out.attrs = attrs
    out = out.drop_vars([c for c in out.coords if c not in ("x", "y", "band")])
    out.name = key.split(".")[-1]
    return out


def open_inputs(plan, *, skip=()) -> dict:
    """The lazy layers a plan reads, on their own grids (no pixel is read): name -> the
    layer's bands (:func:`open_raster`), or for a depth-weighted mean ``{(top, bottom):
    layer}``. ``skip``: layers not needed (e.g. found in the layer cache), unless another
    needed layer uses them as its mixed-unit indicator."""
    need = {n for n in plan.layers if n not in skip}
    need |= {plan.layers[n].spec.mixed_units.indicator for n in list(need)
             if plan.layers[n].spec.mixed_units}
    chunk = plan.chunk
    out = {}
    for name, lp in plan.layers.items():
        if name not in need:
            continue
        spec = lp.spec
        common = dict(chunk=chunk, kind=spec.kind, nodata=spec.nodata, scale=spec.scale,
                      offset=spec.offset, key=lp.key, crs=spec.crs)
        if lp.depths:
            out[name] = {iv: open_raster(i, bands=[spec.band], **common)
                         for iv, i in lp.depths.items()}
        else:
            out[name] = open_raster(lp.info, bands=list(lp.bands), **common)
    return out


def read_vector(path: Path, *, layer: str | None, key: str) -> gpd.GeoDataFrame:
    """Read a vector file; errors name the key and say what to do.

    In a geographic CRS, polygon rings that cross the antimeridian with a jump of more than
    180° of longitude are made continuous (:func:`gies.grid.unwrap_longitudes`) before
    anything unions or repairs them: the AOI, zones, constraints and origin areas all come
    through here.
    """
    import geopandas as gpd

    _check_path(path, key)
    try:
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError and others
        raise _folder(path, key) or LayerError(
            f"{key}: cannot read vector file {path}: {exc}") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
        raise LayerError(f"{key}: {path} has no geometries (a table, not a vector layer): "
                         "give a vector file (GeoPackage, shapefile, GeoJSON, ...)")
    if gdf.crs is None:
        raise LayerError(
            f"{key}: {path} has no coordinate reference system; add a .prj or save it with a CRS"
        )
    if gdf.empty:
        raise LayerError(f"{key}: {path} has no features")
    if gdf.crs.is_geographic:
        from gies.grid import unwrap_all

        geoms = unwrap_all(gdf.geometry)
        if not all(new is old for new, old in zip(geoms, gdf.geometry.array)):
            gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return gdf


def read_points(path: Path, *, key: str, x: str | None = None, y: str | None = None,
                crs: str | None = None, id: str | None = None,
                layer: str | None = None) -> gpd.GeoDataFrame:
    """Points from a CSV file (coordinate columns ``x``, ``y`` in ``crs``) or a vector file
    of points, as a GeoDataFrame with a ``point_id`` column (``id``'s values, else the row
    number from 1). Errors name the key: a missing file or column, coordinates that are not
    numbers, coordinates impossible in a geographic ``crs`` (a CRS other than declared),
    geometries that are not points."""
    import geopandas as gpd
    import pandas as pd
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    _check_path(path, key)
    if path.suffix.lower() in (".csv", ".txt"):
        try:
            df = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise LayerError(f"{key}: cannot read {path} as CSV: {exc}") from None
        for k, col in (("x", x), ("y", y), ("id", id)):
            if col is not None and col not in df.columns:
                raise LayerError(f"{key}.{k}: no column {col!r} in {path} (columns: "
                                 f"{', '.join(map(str, df.columns))})")
        xs = pd.to_numeric(df[x], errors="coerce")
        ys = pd.to_numeric(df[y], errors="coerce")
        bad = df.index[xs.isna() | ys.isna()]
        if len(bad):
            rows = ", ".join(str(i + 2) for i in bad[:5])
            raise LayerError(f"{key}: {len(bad)} row(s) of {path} have no numeric {x}/{y} "
                             f"(file lines {rows}{', ...' if len(bad) > 5 else ''}); fix or "
                             "remove them")
        try:
            c = CRS.from_user_input(crs)
        except CRSError as exc:
            raise LayerError(f"{key}.crs: {crs!r} is not a CRS: {exc}") from None
        if c.is_geographic and (xs.abs().max() > 180 or ys.abs().max() > 90):
            raise LayerError(
                f"{key}.crs: coordinates in {path} are not {crs} longitudes/latitudes "
                f"({x} spans {xs.min():g}..{xs.max():g}, {y} spans {ys.min():g}..{ys.max():g}): "
                "declare the CRS they are in")
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xs, ys), crs=c)
    else:
        gdf = read_vector(path, layer=layer, key=key)
        kinds = set(gdf.geometry.geom_type.dropna())
        if not kinds <= {"Point", "MultiPoint"}:
            raise LayerError(f"{key}: {path} holds {', '.join(sorted(kinds))} geometries; "
                             "points are needed (or give polygons as origin.area)")
        gdf = gdf.explode(index_parts=False).reset_index(drop=True)
        if id is not None and id not in gdf.columns:
            raise LayerError(f"{key}.id: no field {id!r} in {path} (fields: "
                             f"{', '.join(map(str, gdf.columns.drop('geometry')))})")
    if gdf.empty:
        raise LayerError(f"{key}: {path} has no points")
    ids = gdf[id].astype(str) if id is not None else pd.Series(
        [str(i + 1) for i in range(len(gdf))], index=gdf.index)
    return gpd.GeoDataFrame({"point_id": ids.to_numpy()}, geometry=gdf.geometry.to_numpy(),
                            crs=gdf.crs)


def _decimate_by_strips(ds, band: int, out_r: int, out_c: int, window=None) -> np.ndarray:
    """Nearest-neighbour decimation (the cells at ``floor((i + ½)·rows/out_r)``, as GDAL's
    decimated read) of a file without overviews, one strip of block rows at a time: every
    block is decoded once and only one strip is held. GDAL's own decimated read kept every
    decoded block in its cache (0.7 GB for a 382 Mpx DEM); with a small cache it decoded
    each block again for every sampled row (10× slower)."""
    (wr0, wr1), (wc0, wc1) = window if window is not None else ((0, ds.height), (0, ds.width))
    rows, cols = wr1 - wr0, wc1 - wc0
    ri = np.minimum(((np.arange(out_r) + 0.5) * rows / out_r).astype(np.int64), rows - 1)
    ci = np.minimum(((np.arange(out_c) + 0.5) * cols / out_c).astype(np.int64), cols - 1)
    bh = ds.block_shapes[band - 1][0]
    # strips of whole block rows, about 32 MB each (GDAL's cache is set to 64 MB meanwhile)
    step = max(bh, (32 * 2**20 // max(cols * np.dtype(ds.dtypes[band - 1]).itemsize, 1)) // bh * bh)
    out = np.empty((out_r, out_c), dtype=np.float64)
    for r0 in range(0, rows, step):
        r1 = min(r0 + step, rows)
        sel = np.flatnonzero((ri >= r0) & (ri < r1))
        if sel.size == 0:
            continue
        strip = ds.read(band, window=((wr0 + r0, wr0 + r1), (wc0, wc1)))
        out[sel] = strip[ri[sel] - r0][:, ci]
    return out


def read_sample(
    info: RasterInfo, *, band: int = 1, max_pixels: int = 250_000, nodata: float | None = None,
    key: str = "layer", window: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> tuple[np.ndarray, Grid]:
    """A cheap decimated read of one band for checks (coverage, plausibility): float64 with
    NaN for nodata (``nodata=nan`` masks nothing), the file's scale/offset applied, and the
    coarse grid it lies on. ``window`` (``((row0, row1), (col0, col1))``) reads a part of the
    file (the cells under an AOI) instead of the whole.

    GDAL reads from overviews when the file has them (``out_shape`` decimation, nearest), so
    the cost is about ``max_pixels`` cells whatever the file's size.
    """
    from affine import Affine

    (r0, r1), (c0, c1) = window if window is not None else ((0, info.grid.shape[0]),
                                                            (0, info.grid.shape[1]))
    rows, cols = r1 - r0, c1 - c0
    f = max(1.0, float(np.sqrt(rows * cols / max_pixels)))
    out_r, out_c = max(1, int(rows / f)), max(1, int(cols / f))
    try:
        # (the cache is set before the file is opened: rasterio restores it on exit only then)
        with block_cache(64), rasterio.open(info.path) as ds:
            if f == 1.0 or ds.overviews(band):
                arr = ds.read(band, out_shape=(out_r, out_c),
                              window=((r0, r1), (c0, c1))).astype(np.float64)
            else:
                arr = _decimate_by_strips(ds, band, out_r, out_c, window=((r0, r1), (c0, c1)))
    except RasterioIOError as exc:
        raise LayerError(f"{key}: cannot read raster {info.path}: {exc}") from None
    fill = nodata if nodata is not None else info.nodata
    if fill is not None and not np.isnan(fill):
        if abs(fill) >= 1e30:
            arr[(np.sign(arr) == np.sign(fill)) & (np.abs(arr) >= abs(fill) * 0.99)] = np.nan
        else:
            arr[np.isclose(arr, fill, rtol=1e-6, atol=0)] = np.nan
    s, o = info.scales[band - 1], info.offsets[band - 1]
    arr = arr * s + o
    t = info.grid.transform * Affine.translation(c0, r0)
    g = Grid(info.grid.crs, Affine(t.a * cols / out_c, 0, t.c, 0, t.e * rows / out_r, t.f),
             (out_r, out_c))
    return arr, g


def _unreadable(plan) -> list[str]:
    """Layers whose file fails a full block-by-block read (only called after a failure)."""
    bad = []
    for name, lp in plan.layers.items():
        try:
            with rasterio.open(lp.info.path) as ds:
                for _, win in ds.block_windows(1):
                    ds.read(window=win)
        except (rasterio.errors.RasterioError, ValueError):
            bad.append(name)
    return bad


def read_failure(plan, exc: BaseException) -> LayerError:
    """A :class:`LayerError` naming the layer(s) whose file a GDAL read error mentions (or,
    failing that, that fail a full read)."""
    text, e = "", exc
    while e is not None:
        text += f" {e}"
        e = e.__cause__ or e.__context__
    names = [n for n, lp in plan.layers.items() if str(lp.info.path) in text] or _unreadable(plan)
    where = ", ".join(f"layers.{n} ({plan.layers[n].info.path})" for n in names) or "layers"
    return LayerError(
        f"{where}: reading failed while computing ({str(exc).strip()}); the file may be "
        "truncated or corrupted: re-download it ('gies inspect FILE' describes it)"
    )


#: Raster suffixes :func:`describe` reads as rasters (anything else as a vector layer).
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".nc", ".img", ".asc")


def describe(path: str | Path, *, max_side: int = 1000) -> str:
    """A few lines describing a raster (bands, grid, bounds, nodata, value range per band)
    or a vector file (features, CRS, bounds, fields), for ``gies inspect``.

    Value ranges of a raster larger than ``max_side`` pixels on a side come from a
    decimated read (marked "sampled"). A missing or unreadable file is a
    :class:`~gies.errors.LayerError`.
    """
    path = Path(path)
    if not path.exists():
        raise LayerError(f"{path}: file not found")
    if path.suffix.lower() not in RASTER_SUFFIXES:
        gdf = read_vector(path, layer=None, key="inspect")
        return "\n".join([
            f"{path}", f"  vector {len(gdf)} features, CRS {gdf.crs.to_string() if gdf.crs else 'none'}",
            f"  bounds {tuple(float(v) for v in gdf.total_bounds)}",
            f"  fields {', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}"])
    info = raster_info(path, key="inspect")
    lines = [f"{path}", f"  raster {info.count} band(s) {info.dtype}, grid {info.grid!r}",
             f"  bounds {info.grid.bounds}", f"  nodata {info.nodata}"]
    try:
        with rasterio.open(path) as ds:
            scale = max(1, max(ds.height, ds.width) // max_side)
            shape = (max(1, ds.height // scale), max(1, ds.width // scale))
            for b in range(1, ds.count + 1):
                arr = ds.read(b, out_shape=shape, masked=True).astype("float64").filled(np.nan)
                v = arr[np.isfinite(arr)]
                rng = (f"{v.min():.4g}..{v.max():.4g}, median {np.median(v):.4g}" if v.size
                       else "all nodata")
                lines.append(f"  band {b} {ds.descriptions[b - 1] or ''} {ds.units[b - 1] or ''}: "
                             f"{rng}" + (" (sampled)" if scale > 1 else ""))
    except RasterioIOError as exc:
        raise LayerError(f"{path}: cannot read the pixels: {exc}") from None
    return "\n".join(lines)
