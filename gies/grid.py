"""The target grid: one immutable value shared by every stage after harmonise.

A :class:`Grid` is a CRS, an affine transform (pixel corner to map coordinates, north up)
and a shape ``(rows, cols)``. It is computed once when a pipeline is planned and passed
explicitly; stages check that their inputs sit on it (:func:`assert_on_grid`).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from gies.errors import GridMismatchError

__all__ = [
    "Grid",
    "assert_on_grid",
    "grid_of",
    "laea_for",
    "lon_arc",
    "wrapped_geographic",
    "crs_label",
    "unwrap_longitudes",
    "unwrap_all",
    "in_lon_frame",
    "aoi_lonlat",
    "tile_spans",
    "tile_shape",
    "WARP_TILE",
    "SPATIAL_REF",
]


def _canonical_crs(crs: Any) -> str:
    try:
        return CRS.from_user_input(crs).to_wkt()
    except Exception as exc:  # pyproj raises CRSError, a plain exception
        raise ValueError(f"not a coordinate reference system: {crs!r} ({exc})") from exc


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Parameters
    ----------
    crs : str
        WKT of the coordinate reference system (any input accepted by
        ``pyproj.CRS.from_user_input`` is normalised to WKT by the constructors).
    transform : affine.Affine
        Maps (col, row) of pixel corners to (x, y); ``transform.e`` is negative.
    shape : tuple[int, int]
        ``(rows, cols)``.

    Examples
    --------
    >>> g = Grid.from_bounds((0, 0, 500, 400), 100, crs="EPSG:32748")
    >>> g.shape
    (4, 5)
    """

    crs: str
    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        rows, cols = self.shape
        if rows <= 0 or cols <= 0:
            raise ValueError(f"grid shape must be positive, got {self.shape}")
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ValueError(f"only north-up, unrotated grids are supported, got {t!r}")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_bounds(
        cls, bounds: tuple[float, float, float, float], resolution: float, *, crs: Any
    ) -> Grid:
        """Grid covering ``bounds`` (xmin, ymin, xmax, ymax), snapped outwards to whole
        multiples of ``resolution`` (in CRS units) so that grids of one resolution align."""
        xmin, ymin, xmax, ymax = bounds
        if not (xmax > xmin and ymax > ymin):
            raise ValueError(f"empty bounds {bounds}")
        res = float(resolution)
        x0 = math.floor(xmin / res) * res
        y1 = math.ceil(ymax / res) * res
        cols = max(1, math.ceil(round((xmax - x0) / res, 9)))
        rows = max(1, math.ceil(round((y1 - ymin) / res, 9)))
        return cls(_canonical_crs(crs), Affine(res, 0.0, x0, 0.0, -res, y1), (rows, cols))

    @classmethod
    def from_aoi(
        cls,
        geometry: Any,
        *,
        crs: Any = "auto",
        resolution: float,
        geometry_crs: Any = None,
    ) -> Grid:
        """Grid covering an area of interest, snapped outwards to whole multiples of
        ``resolution``.

        Parameters
        ----------
        geometry : shapely geometry, GeoSeries or GeoDataFrame
            The AOI (all parts are used; a GeoSeries/GeoDataFrame is unioned).
        crs : "auto" or CRS-like
            ``"auto"``: a Lambert Azimuthal Equal Area CRS centred on the AOI
            (:func:`laea_for`), so every cell is a true ``resolution²`` m² on the ellipsoid
            and ``resolution`` is in metres. Any other value is used as given, with
            ``resolution`` in its units (degrees for a geographic CRS).
        resolution : float
            Pixel size in CRS units (metres for ``"auto"``).
        geometry_crs : CRS-like, optional
            CRS of ``geometry``; required for a shapely geometry, read from a GeoSeries or
            GeoDataFrame otherwise.

        Notes
        -----
        **Antimeridian.** An AOI whose parts lie on both sides of ±180° (Fiji, Kiribati,
        Chukotka, the Aleutians) is handled by looking at the *shortest* longitude arc that
        covers it (:func:`lon_arc`), not at the naive min/max (which would span the world):

        * ``"auto"`` centres the LAEA on the middle of that arc, where the projection is
          continuous, so the grid covers the AOI only;
        * a geographic ``crs`` becomes the same CRS with ``+lon_wrap=180``
          (:func:`wrapped_geographic`): longitudes in 0..360, and the grid bounds are taken
          in that frame (e.g. 177..182 for lon 177..180 and −180..−178). GDAL and PROJ
          honour ``lon_wrap`` both when warping onto the grid and when transforming
          vectors (``aoi.to_crs(grid.crs)`` yields 0..360 longitudes).

        Examples
        --------
        >>> from shapely.geometry import box
        >>> g = Grid.from_aoi(box(0, 0, 1, 1), crs="auto", resolution=1000,
        ...                   geometry_crs="EPSG:4326")
        >>> g.pyproj_crs.to_dict()["proj"], g.resolution
        ('laea', (1000.0, 1000.0))
        """
        from pyproj import Transformer
        geom, gcrs = _as_geometry(geometry, geometry_crs)
        lon, lat = aoi_lonlat(geom, gcrs)
        west, east = lon_arc(lon)
        if isinstance(crs, str) and crs.strip().lower() == "auto":
            target = laea_for(geom, geometry_crs=gcrs)
        else:
            target = CRS.from_user_input(crs)
        if target.is_geographic:
            if east > 180.0:  # crosses the antimeridian: 0..360 frame
                target = wrapped_geographic(target)
                bounds = (west, float(np.min(lat)), east, float(np.max(lat)))
            else:
                t = Transformer.from_crs(gcrs, target, always_xy=True)
                gx, gy = (np.asarray(v) for v in t.transform(*_vertices(_densified(geom, gcrs))))
                bounds = (gx.min(), gy.min(), gx.max(), gy.max())
            return cls.from_bounds(bounds, resolution, crs=target)
        t = Transformer.from_crs(gcrs, target, always_xy=True)
        xs, ys = t.transform(*_vertices(_densified(geom, gcrs)))
        xs, ys = np.asarray(xs), np.asarray(ys)
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            raise ValueError(f"the AOI cannot be projected to {target.name}")
        bounds = (xs[ok].min(), ys[ok].min(), xs[ok].max(), ys[ok].max())
        return cls.from_bounds(bounds, resolution, crs=target)

    @classmethod
    def from_raster(cls, dataset: Any) -> Grid:
        """Grid of an open rasterio dataset (or anything with ``crs``/``transform``/``shape``)."""
        if dataset.crs is None:
            raise ValueError("raster has no CRS")
        shape = (int(dataset.height), int(dataset.width))
        return cls(_canonical_crs(dataset.crs), Affine(*tuple(dataset.transform)[:6]), shape)

    # -- properties -----------------------------------------------------------------------
    @cached_property
    def pyproj_crs(self) -> CRS:
        """The CRS as a :class:`pyproj.CRS`."""
        return CRS.from_wkt(self.crs)

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size ``(x, y)`` in CRS units, both positive."""
        return (self.transform.a, -self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the pixel edges."""
        rows, cols = self.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @property
    def x_coords(self) -> np.ndarray:
        """Pixel-centre x coordinates, one per column."""
        t = self.transform
        return t.c + (np.arange(self.shape[1]) + 0.5) * t.a

    @property
    def y_coords(self) -> np.ndarray:
        """Pixel-centre y coordinates, one per row (decreasing)."""
        t = self.transform
        return t.f + (np.arange(self.shape[0]) + 0.5) * t.e

    @property
    def is_geographic(self) -> bool:
        """True when the CRS is longitude/latitude."""
        return bool(self.pyproj_crs.is_geographic)

    def spatial_ref_attrs(self) -> dict[str, str]:
        """The attributes of the ``spatial_ref`` coordinate: the CRS as WKT (``crs_wkt`` and
        GDAL's ``spatial_ref``) and the GeoTransform ``c a b f d e`` with every number
        written exactly (``repr`` of the float)."""
        gt = " ".join(repr(float(v)) for v in self.transform.to_gdal())
        return {"crs_wkt": self.crs, "spatial_ref": self.crs, "GeoTransform": gt}

    def coords(self) -> dict[str, Any]:
        """Coordinates of a layer on this grid: pixel-centre ``y`` and ``x`` and the scalar
        ``spatial_ref`` that carries the grid (:func:`grid_of`), as rioxarray writes it."""
        import xarray as xr

        return {"y": self.y_coords, "x": self.x_coords,
                SPATIAL_REF: xr.Variable((), 0, attrs=self.spatial_ref_attrs())}

    def __repr__(self) -> str:
        epsg = self.pyproj_crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else crs_label(self.pyproj_crs)
        t = self.transform
        return (
            f"Grid(crs={crs!r}, shape={self.shape}, res=({t.a!r}, {-t.e!r}), "
            f"origin=({t.c!r}, {t.f!r}))"
        )

    def describe(self) -> str:
        """The grid as a person reads it, sizes as GDAL prints them (width × height):
        ``110 × 112 cells of 1000 m, LAEA centred on 14.5°N 16.5°W``."""
        t = self.transform
        rows, cols = self.shape
        unit = "°" if self.pyproj_crs.is_geographic else " m"
        res = (f"{t.a:g}{unit}" if math.isclose(abs(t.a), abs(t.e), rel_tol=1e-9)
               else f"{t.a:g} × {-t.e:g}{unit}")
        return f"{cols} × {rows} cells of {res}, {crs_label(self.pyproj_crs)}"

    def same_as(self, other: Grid, *, rtol: float = 1e-9) -> bool:
        """Equal shape and CRS, and transforms equal within ``rtol`` of a pixel."""
        if self.shape != other.shape:
            return False
        if self.crs != other.crs and not self.pyproj_crs.equals(other.pyproj_crs):
            return False
        a, b = self.transform, other.transform
        px = min(abs(a.a), abs(a.e))
        return all(math.isclose(u, v, rel_tol=0, abs_tol=rtol * px * 1e3) for u, v in zip(a, b))


#: Name of the coordinate that carries a layer's grid (as rioxarray and GDAL name it).
SPATIAL_REF = "spatial_ref"


#: Short names of projection methods in :func:`crs_label`.
_METHOD_NAMES = {"Lambert Azimuthal Equal Area": "LAEA",
                 "Lambert Azimuthal Equal Area (Spherical)": "LAEA"}


def _degrees(v: float, pos: str, neg: str) -> str:
    return f"{abs(v):g}°{pos if v >= 0 else neg}"


def crs_label(crs: Any) -> str:
    """A CRS named for people: ``EPSG:32628 (WGS 84 / UTM zone 28N)`` for an EPSG code, its
    own name when it has one, else its projection method and centre, from the parameters of
    its conversion (``LAEA centred on 14.5°N 16.5°W`` for gies's automatic equal-area grid,
    whose CRS PROJ calls "unknown"), else its PROJ string."""
    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    if epsg:
        return f"EPSG:{epsg} ({c.name})"
    if c.name and c.name.lower() != "unknown":
        return c.name
    op = c.coordinate_operation
    if op is not None:
        params = {p.name.lower(): p.value for p in op.params}
        lat = next((v for k, v in params.items() if k.startswith("latitude of")), None)
        lon = next((v for k, v in params.items() if k.startswith("longitude of")), None)
        method = _METHOD_NAMES.get(op.method_name, op.method_name)
        if lat is not None and lon is not None:
            return f"{method} centred on {_degrees(lat, 'N', 'S')} {_degrees(lon, 'E', 'W')}"
        return method
    return c.to_proj4() or c.to_wkt()


@functools.lru_cache(maxsize=256)
def _grid_from(wkt: str, geotransform: str, shape: tuple[int, int]) -> Grid:
    values = [float(v) for v in geotransform.split()]
    return Grid(wkt, Affine.from_gdal(*values), shape)


def grid_of(da: Any) -> Grid:
    """The :class:`Grid` a harmonised layer sits on, rebuilt from its ``spatial_ref``
    coordinate (CRS WKT and GeoTransform, written by :meth:`Grid.coords`) and its shape:
    exactly the grid it was put on, never re-derived from coordinate values, so it survives
    xarray arithmetic and ``to_netcdf``/``open_dataset``."""
    ref = getattr(da, "coords", {}).get(SPATIAL_REF) if hasattr(da, "coords") else None
    attrs = getattr(ref, "attrs", {}) if ref is not None else {}
    if "crs_wkt" not in attrs or "GeoTransform" not in attrs:
        raise GridMismatchError(
            f"layer {getattr(da, 'name', None)!r} carries no grid (no {SPATIAL_REF} coordinate "
            "with crs_wkt and GeoTransform): it was not harmonised")
    return _grid_from(str(attrs["crs_wkt"]), str(attrs["GeoTransform"]),
                      tuple(int(n) for n in da.shape[-2:]))


def assert_on_grid(grid: Grid, *layers: Any) -> None:
    """Raise :class:`GridMismatchError` unless every layer sits on ``grid``."""
    for da in layers:
        g = grid_of(da)
        if not (g is grid or g == grid or g.same_as(grid)):
            raise GridMismatchError(
                f"layer {da.name!r} is on {g!r}, not on the pipeline grid {grid!r}; "
                "only harmonise may reproject or resample"
            )
        if tuple(da.shape[-2:]) != grid.shape:
            raise GridMismatchError(
                f"layer {da.name!r} has shape {da.shape[-2:]}, grid has {grid.shape}"
            )


# -- tiles ------------------------------------------------------------------------------------
#: ``(rows, cols)`` of the warp tiles (target pixels; a single number: square tiles). Tiles
#: are aligned to the target grid's origin and independent of ``processing.chunk``, so a
#: layer's values never depend on the chunk size; the result is rechunked to the
#: pipeline's chunks afterwards. Wide and one default chunk tall: a row of chunks then
#: consumes a row of tiles, which is released before the next row starts. Square 2048²
#: tiles were as fast, but the threaded scheduler finished a whole row of 1024² chunks
#: before starting the next, so every tile of a tile row stayed in memory: peak memory grew
#: with the grid's width (0.64 GB at 8000², 1.06 GB at 16000²; now 0.76 and 0.85 GB in the
#: benchmark; the remaining growth is in the COG copies, which work in full-width block rows).
WARP_TILE = (1024, 4096)


def tile_spans(n: int, tile: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the tiles along an axis of ``n`` pixels: multiples of ``tile``,
    the last tile absorbing a remainder narrower than half a tile.

    >>> tile_spans(10, 4), tile_spans(9, 4)
    ([(0, 4), (4, 8), (8, 10)], [(0, 4), (4, 9)])
    """
    starts = list(range(0, n, tile))
    if len(starts) > 1 and n - starts[-1] < tile // 2:
        starts.pop()
    return [(a, b) for a, b in zip(starts, starts[1:] + [n])]


def tile_shape(tile) -> tuple[int, int]:
    """``(rows, cols)`` of a tile given as one side or as a pair.

    >>> tile_shape(512), tile_shape((1024, 4096))
    ((512, 512), (1024, 4096))
    """
    return (int(tile), int(tile)) if np.ndim(tile) == 0 else (int(tile[0]), int(tile[1]))


# -- AOI helpers ----------------------------------------------------------------------------
def _as_geometry(geometry: Any, geometry_crs: Any) -> tuple[Any, CRS]:
    """A single shapely geometry and its CRS from a geometry / GeoSeries / GeoDataFrame."""
    import shapely

    frame = hasattr(geometry, "geometry") and hasattr(geometry, "crs")  # GeoDataFrame/GeoSeries
    crs = (geometry_crs if geometry_crs is not None else geometry.crs) if frame else geometry_crs
    if crs is None:
        raise ValueError("the AOI geometry has no CRS: pass geometry_crs")
    crs = CRS.from_user_input(crs)
    parts = (np.array(geometry.geometry.array, dtype=object) if frame
             else np.array([geometry], dtype=object))
    if crs.is_geographic:  # rings across ±180° made continuous before the union
        parts = unwrap_all(parts)
    # GEOS's union stops with a TopologyException on self-intersecting input
    bad = ~shapely.is_missing(parts)
    bad[bad] = ~shapely.is_valid(parts[bad])
    parts[bad] = shapely.make_valid(parts[bad])
    geom = shapely.union_all(parts) if frame else parts[0]
    if geom is None or geom.is_empty:
        raise ValueError("the AOI geometry is empty")
    return geom, crs


def _densified(geom: Any, crs: CRS) -> Any:
    """Geometry with extra vertices (edges of ≤ 1/50 of its extent, ≤ 0.1° if geographic),
    so transformed bounds follow curved edges."""
    import shapely

    x0, y0, x1, y1 = geom.bounds
    step = max(x1 - x0, y1 - y0) / 50 or 1.0
    if crs.is_geographic:
        step = min(step, 0.1)
    return shapely.segmentize(geom, step)


def _vertices(geom: Any) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    xy = shapely.get_coordinates(geom)
    return xy[:, 0], xy[:, 1]


def aoi_lonlat(geometry: Any, geometry_crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (degrees, −180..180) of the densified AOI's vertices."""
    from pyproj import Transformer

    crs = CRS.from_user_input(geometry_crs)
    geo = crs.geodetic_crs or CRS.from_epsg(4326)
    t = Transformer.from_crs(crs, geo, always_xy=True)
    lon, lat = t.transform(*_vertices(_densified(geometry, crs)))
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    return ((lon[ok] + 180.0) % 360.0) - 180.0, lat[ok]


def lon_arc(lon: np.ndarray) -> tuple[float, float]:
    """Shortest longitude arc ``(west, east)`` covering every longitude, in degrees.

    The arc is the complement of the largest gap between consecutive longitudes on the
    circle. ``west`` is in [−180, 180); ``east >= west`` and exceeds 180 exactly when the
    arc crosses the antimeridian (e.g. lon 177..180 and −180..−178 give ``(177, 182)``).

    >>> lon_arc(np.array([177.0, 179.9, -179.5, -178.0]))
    (177.0, 182.0)
    >>> lon_arc(np.array([10.0, 20.0]))
    (10.0, 20.0)
    """
    v = np.unique(((np.asarray(lon, dtype=float) + 180.0) % 360.0) - 180.0)
    if v.size == 0:
        raise ValueError("no longitudes")
    if v.size == 1:
        return float(v[0]), float(v[0])
    gaps = np.diff(np.r_[v, v[0] + 360.0])  # gap after each value, last one wraps
    i = int(np.argmax(gaps))
    west = v[(i + 1) % v.size]
    east = v[i] if i + 1 < v.size else v[i]
    if east < west:
        east += 360.0
    if i == v.size - 1:  # the largest gap is the wrap-around one: no crossing
        west, east = v[0], v[-1]
    return float(west), float(east)


def laea_for(geometry: Any, *, geometry_crs: Any = None) -> CRS:
    """Lambert Azimuthal Equal Area CRS (WGS84, metres) centred on an AOI.

    The centre is the middle of the AOI's latitude range and of its shortest longitude arc
    (:func:`lon_arc`), so an AOI crossing the antimeridian is centred near ±180°, not near
    0° as the naive mean of its longitudes would be. Centre rounded to 1e-4° so that the
    same AOI always yields the same CRS. LAEA is equal-area everywhere (areal scale 1;
    Snyder 1987, ch. 24), with shape distortion growing slowly away from the centre.
    """
    geom, crs = _as_geometry(geometry, geometry_crs)
    lon, lat = aoi_lonlat(geom, crs)
    west, east = lon_arc(lon)
    lon0 = ((0.5 * (west + east) + 180.0) % 360.0) - 180.0
    lat0 = 0.5 * (float(np.min(lat)) + float(np.max(lat)))
    lon0, lat0 = round(lon0, 4) + 0.0, round(lat0, 4) + 0.0
    crs = CRS.from_proj4(
        f"+proj=laea +lat_0={lat0} +lon_0={lon0} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )
    # named, so that GIS software shows "LAEA centred on 14.5°N 16.5°W", not "unknown"
    d = crs.to_json_dict()
    d["name"] = crs_label(crs)
    d["base_crs"]["name"] = "WGS 84"
    d["conversion"]["name"] = d["name"]
    return CRS.from_json_dict(d)


def wrapped_geographic(crs: Any) -> CRS:
    """The geographic ``crs`` with longitudes wrapped to 0..360 (``+lon_wrap=180``)."""
    c = CRS.from_user_input(crs)
    if not c.is_geographic:
        raise ValueError(f"{c.name} is not geographic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        d = {k: v for k, v in c.to_dict().items() if k != "type"}
    d["lon_wrap"] = 180
    return CRS.from_dict(d)


# -- lon/lat polygons across the antimeridian ---------------------------------------------------
def _unwrapped_ring(xy: np.ndarray) -> np.ndarray | None:
    """The ring's vertices made continuous in longitude, or ``None`` when it is kept.

    Consecutive vertices more than 180° of longitude apart are joined the short way, across
    ±180° (as geodesic libraries and RFC 7946 read them): every later vertex is moved by
    ``−360 · round(Δλ / 360)`` accumulated over the jumps. A ring whose jumps do not cancel
    (it encircles a pole, as Antarctica's does along −90°) has no continuous form and is kept.
    """
    x = xy[:, 0]
    d = np.diff(x)
    k = np.where(np.abs(d) > 180.0, -np.round(d / 360.0), 0.0)
    if not k.any():
        return None
    shift = 360.0 * np.concatenate(([0.0], np.cumsum(k)))
    if shift[-1] != 0.0:
        return None
    out = np.array(xy, dtype=float)
    out[:, 0] = x + shift
    return out


def _unwrapped_polygon(poly: Any) -> Any:
    """The polygon with continuous rings (:func:`unwrap_longitudes`), ``None`` when kept."""
    import shapely

    shell = np.asarray(poly.exterior.coords)
    ext = _unwrapped_ring(shell)
    if ext is None:
        # holes lie inside the shell's longitudes; a shell that does not cross keeps them
        return None
    if shapely.Polygon(ext[:, :2]).area == 0.0:
        # a world-wide box drawn with 4 vertices (−180 → 180 along a parallel) would collapse
        # to a line: its long edges are meant as written
        return None
    mid = 0.5 * (ext[:, 0].min() + ext[:, 0].max())
    holes = []
    for ring in poly.interiors:
        h = np.asarray(ring.coords, dtype=float)
        u = _unwrapped_ring(h)
        h = h.copy() if u is None else u
        # a hole written on the other side of ±180° belongs to the shell's side
        h[:, 0] += 360.0 * np.round((mid - 0.5 * (h[:, 0].min() + h[:, 0].max())) / 360.0)
        holes.append(h)
    # one representation whatever vertex the ring starts at: westernmost vertex in −180..180
    off = -360.0 * math.floor((ext[:, 0].min() + 180.0) / 360.0)
    ext[:, 0] += off
    for h in holes:
        h[:, 0] += off
    return shapely.Polygon(ext, holes)


def unwrap_longitudes(geometry: Any) -> Any:
    """A lon/lat (Multi)Polygon whose rings cross ±180° made continuous in longitude.

    Natural Earth and most global data sets write a ring that crosses the antimeridian with
    a jump, e.g. Rabi Island in Fiji: ``179.98 → −180 … −179.90 … −180 → 180``. Read as
    plane coordinates such a ring runs around the world: GEOS's union fails on it and
    ``make_valid`` turns the island into a sliver around the world along its latitude.
    Unwrapping moves the vertices after each jump of more than
    180° by ±360° (``179.98 → 180.0`` … ``180.10``), which gives the same ring on the
    ellipsoid, then moves the polygon by a multiple of 360° so that its westernmost vertex
    lies in [−180, 180): one representation whatever vertex a ring starts at.

    Kept as written: rings without such a jump (the geometry object itself is returned), a
    ring encircling a pole (its jumps do not cancel) and a shell that would collapse to no
    area (a world-wide box with 4 vertices). Holes are moved to their shell's side.
    Geometries other than polygons are returned unchanged. Projections take longitudes
    beyond 180° as they are; for a geographic grid see :func:`in_lon_frame`.

    >>> from shapely.geometry import Polygon
    >>> ring = [(179.5, -16.0), (-179.5, -16.0), (-179.5, -17.0), (179.5, -17.0)]
    >>> unwrap_longitudes(Polygon(ring)).bounds
    (179.5, -17.0, 180.5, -16.0)
    """
    import shapely

    if geometry is None or geometry.is_empty:
        return geometry
    kind = geometry.geom_type
    if kind == "Polygon":
        u = _unwrapped_polygon(geometry)
        return geometry if u is None else u
    if kind == "MultiPolygon":
        parts = list(geometry.geoms)
        new = [_unwrapped_polygon(p) for p in parts]
        if all(u is None for u in new):
            return geometry
        return shapely.MultiPolygon([p if u is None else u for p, u in zip(parts, new)])
    return geometry


def unwrap_all(geometries: Any) -> np.ndarray:
    """:func:`unwrap_longitudes` of every geometry of an array or GeoSeries (object array);
    only geometries wider than 180° can hold a jump and are looked at."""
    import shapely

    geoms = np.array(getattr(geometries, "array", geometries), dtype=object)
    b = shapely.bounds(geoms)
    wide = np.flatnonzero(b[:, 2] - b[:, 0] > 180.0)
    for i in wide:
        geoms[i] = unwrap_longitudes(geoms[i])
    return geoms


def in_lon_frame(geometry: Any, west: float) -> Any:
    """A valid lon/lat geometry cut into the longitudes ``west .. west + 360`` of a
    geographic grid: the parts beyond are cut at the frame's edges and moved by ∓360°.

    An unwrapped polygon (:func:`unwrap_longitudes`) reaching beyond 180° is split at
    ±180° on a −180..180 grid, each part keeping its area; geometries inside the frame are
    returned as they are.

    >>> from shapely.geometry import box
    >>> g = in_lon_frame(box(179.5, -17.0, 180.5, -16.0), -180.0)
    >>> sorted(p.bounds for p in g.geoms)
    [(-180.0, -17.0, -179.5, -16.0), (179.5, -17.0, 180.0, -16.0)]
    """
    import shapely
    from shapely import affinity

    if geometry is None or geometry.is_empty:
        return geometry
    x0, y0, x1, y1 = geometry.bounds
    east = west + 360.0
    if x0 >= west and x1 <= east:
        return geometry
    dim = shapely.get_dimensions(geometry)
    pieces = []
    for k in range(math.floor((x0 - west) / 360.0), math.ceil((x1 - west) / 360.0)):
        cut = geometry.intersection(shapely.box(west + 360.0 * k, y0 - 1.0,
                                                east + 360.0 * k, y1 + 1.0))
        cut = affinity.translate(cut, xoff=-360.0 * k)
        # the cut also yields the frame's edge as lines or points: only parts of the
        # geometry's own dimension are kept
        pieces += [p for p in shapely.get_parts(cut)
                   if shapely.get_dimensions(p) == dim and not p.is_empty]
    if dim == 2:
        # parts from different frames cannot overlap (a valid polygon spans < 360°)
        return pieces[0] if len(pieces) == 1 else shapely.MultiPolygon(pieces)
    return shapely.union_all(pieces)
