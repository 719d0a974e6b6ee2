#!/usr/bin/env python3
# Vendored from /work/shared/bench/make_scenario.py (the national benchmark, shared with the peer study).
# Keep in sync by hand; local changes are marked 'gies:'.
"""Deterministic synthetic "country" benchmark scenario for the gies pipeline.

    python make_scenario.py --size 4000 [--out bench-data/s4000] [--seed 42]

--size N means the target grid is N x N pixels of 100 m in a Lambert Azimuthal
Equal Area CRS centred on the AOI (10N, 20E), i.e. an (N*100 m)^2 box.

Writes into --out:
  aoi.gpkg        layers "country" (1 polygon) and "adm2" (~300 Voronoi cells
                  clipped to the country), EPSG:4326
  tavg.tif        annual mean temperature, degC, float32, EPSG:4326, 30"
  prec.tif        annual rainfall, mm, float32, EPSG:4326, 30"
  phh2o.tif       soil pH x10, int16, nodata -32768, EPSG:4326, 1/480 deg (~250 m)
  clay.tif        clay g/kg, int16, nodata -32768, same grid
  soc.tif         soil organic carbon dg/kg, int16, nodata -32768, same grid
  dem.tif         elevation m, int16, EPSG:4326, 3"
  scenario.json   target grid (crs, transform, width, height), file list,
                  trapezoid parameters and class breaks used by all peers
All GeoTIFFs: 256x256 tiled, DEFLATE (no predictor, like most downloads),
float32 climate nodata -3.4e38 (WorldClim style; none present). Soil layers
carry nodata over one lake (as SoilGrids does over water bodies).
Fields are smooth spectral (FFT, power-law) noise plus a few physical
gradients, so DEFLATE ratios behave like real data.
"""
import argparse
import json
import os
import time

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

LAT0, LON0 = 10.0, 20.0
LAEA = f"+proj=laea +lat_0={LAT0} +lon_0={LON0} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
RES_CLIM = 1 / 120.0     # 30 arc-seconds
RES_SOIL = 1 / 480.0     # 7.5 arc-seconds = 0.00208333 deg (~250 m)
RES_DEM = 1 / 1200.0     # 3 arc-seconds
NODATA_I16 = -32768
NODATA_F32 = -3.4e38
GTIFF_CO = dict(driver="GTiff", tiled=True, blockxsize=256, blockysize=256,
                compress="DEFLATE", BIGTIFF="IF_SAFER")

# Crop requirement used by every peer: ECOCROP-style trapezoids
# (absolute min, optimal min, optimal max, absolute max) in file units.
TRAPEZOIDS = {
    "tavg": [14.0, 21.0, 28.0, 35.0],          # degC
    "prec": [500.0, 900.0, 1500.0, 2500.0],    # mm/yr
    "phh2o": [45.0, 55.0, 70.0, 82.0],         # pH x10
    "clay": [50.0, 150.0, 350.0, 550.0],       # g/kg
    "soc": [20.0, 60.0, 400.0, 800.0],         # dg/kg (low SOC limits)
    "dem": [-100.0, 0.0, 1000.0, 1800.0],      # m
}
CLASS_BREAKS = [0.25, 0.5, 0.75]   # score -> class 1..4 (N, S3, S2, S1); nodata class 0
# 1 px = 100 m x 100 m = 1 ha in the equal-area target grid


def spectral_noise(rng, shape, beta, dtype=np.float32, workers=2):
    """Zero-mean unit-std field with power spectrum ~ k^-beta (2-D)."""
    ny, nx = shape
    white = rng.standard_normal(shape, dtype=np.float32)
    f = sfft.rfft2(white, workers=workers)
    del white
    ky = sfft.fftfreq(ny).astype(np.float32)[:, None]
    kx = sfft.rfftfreq(nx).astype(np.float32)[None, :]
    # apply filter row-block-wise to bound memory
    step = 2048
    for i in range(0, ny, step):
        k2 = ky[i:i + step] ** 2 + kx ** 2
        if i == 0:
            k2[0, 0] = 1.0
        filt = k2 ** np.float32(-beta / 4.0)
        f[i:i + step] *= filt
    f[0, 0] = 0
    out = sfft.irfft2(f, s=shape, workers=workers).astype(dtype, copy=False)
    del f
    out -= out.mean()
    out /= out.std() + 1e-12
    return out


def geo_grid(bounds, res):
    w, s, e, n = bounds
    width = int(round((e - w) / res))
    height = int(round((n - s) / res))
    return width, height


def write_tif(path, arr, bounds, res, nodata, dtype):
    import rasterio
    from rasterio.transform import from_origin
    w, s, e, n = bounds
    h, wdt = arr.shape
    prof = dict(GTIFF_CO, height=h, width=wdt, count=1, dtype=dtype,
                crs="EPSG:4326", transform=from_origin(w, n, res, res), nodata=nodata)
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        with rasterio.open(path, "w", **prof, num_threads="ALL_CPUS") as dst:
            dst.write(arr.astype(dtype, copy=False), 1)


def upsample(a, factor, shape):
    """Bilinear up-sampling of a coarse grid by an integer factor (pixel-centre aligned)."""
    out = ndimage.zoom(a, factor, order=1, mode="nearest", grid_mode=True, prefilter=False)
    return out[:shape[0], :shape[1]]


def make_country(rng, half_m, n_vert=3000):
    """Star-shaped polygon with fractal boundary in LAEA metres."""
    from shapely.geometry import Polygon
    th = np.linspace(0, 2 * np.pi, n_vert, endpoint=False)
    r = np.ones_like(th)
    for k in range(2, 160):
        amp = 0.35 * k ** -1.3
        r += amp * rng.standard_normal() * np.cos(k * th + rng.uniform(0, 2 * np.pi))
    r = r / r.max() * 0.97 * half_m
    return Polygon(np.c_[r * np.cos(th), r * np.sin(th)]).buffer(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-adm2", type=int, default=300)
    args = ap.parse_args()
    t_start = time.perf_counter()
    import geopandas as gpd
    import pyproj
    import shapely
    from shapely.geometry import MultiPoint
    
    size = args.size
    out = args.out or f"bench-data/s{size}"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    half = size * 100 / 2.0

    # --- AOI -------------------------------------------------------------
    country = make_country(rng, half)
    minx, miny, maxx, maxy = country.bounds
    cx_ = rng.uniform(minx, maxx, 20 * args.n_adm2)
    cy_ = rng.uniform(miny, maxy, 20 * args.n_adm2)
    inside = shapely.contains_xy(country, cx_, cy_)
    pts = list(zip(cx_[inside][:args.n_adm2], cy_[inside][:args.n_adm2]))
    assert len(pts) == args.n_adm2
    vor = shapely.voronoi_polygons(MultiPoint(pts), extend_to=country.buffer(half))
    cells = [c.intersection(country) for c in vor.geoms]
    cells = [c for c in cells if not c.is_empty and c.area > 0]
    # densify so the 4326 geometry follows the projected edges
    fwd = pyproj.Transformer.from_crs(LAEA, "EPSG:4326", always_xy=True)
    dens = max(half / 200.0, 500.0)
    to4326 = lambda g: shapely.transform(
        shapely.segmentize(g, dens), lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    country_ll = to4326(country)
    adm2 = gpd.GeoDataFrame(
        {"adm2_id": np.arange(1, len(cells) + 1, dtype=np.int32),
         "adm2_name": [f"District {i:03d}" for i in range(1, len(cells) + 1)]},
        geometry=[to4326(c) for c in cells], crs="EPSG:4326")
    gpkg = os.path.join(out, "aoi.gpkg")
    if os.path.exists(gpkg):
        os.remove(gpkg)
    gpd.GeoDataFrame({"name": ["Synthetica"]}, geometry=[country_ll], crs="EPSG:4326").to_file(
        gpkg, layer="country", driver="GPKG", engine="pyogrio")
    adm2.to_file(gpkg, layer="adm2", driver="GPKG", engine="pyogrio")

    # --- input extent (AOI bbox in 4326 + margin), aligned to 30" -----------
    w, s, e, n = country_ll.bounds
    # the whole target grid must be covered, not only the polygon
    gx = np.linspace(-half, half, 401)
    bx = np.r_[gx, gx, np.full(401, -half), np.full(401, half)]
    by = np.r_[np.full(401, -half), np.full(401, half), gx, gx]
    lon, lat = fwd.transform(bx, by)
    w, s, e, n = min(w, lon.min()), min(s, lat.min()), max(e, lon.max()), max(n, lat.max())
    margin = max(0.1, 0.05 * (e - w))
    snap = RES_CLIM
    bounds = (np.floor((w - margin) / snap) * snap, np.floor((s - margin) / snap) * snap,
              np.ceil((e + margin) / snap) * snap, np.ceil((n + margin) / snap) * snap)
    bounds = tuple(round(float(v), 10) for v in bounds)

    cw, ch = geo_grid(bounds, RES_CLIM)
    sw, sh = geo_grid(bounds, RES_SOIL)
    dw, dh = geo_grid(bounds, RES_DEM)
    assert sw == 4 * cw and dw == 10 * cw and sh == 4 * ch and dh == 10 * ch

    # --- DEM (3") -------------------------------------------------------------
    t = time.perf_counter()
    base = spectral_noise(rng, (ch, cw), beta=3.2)           # regional relief
    massif = np.zeros((ch, cw), np.float32)                  # a few mountain massifs
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    for _ in range(4):
        cy, cx = rng.uniform(0, ch), rng.uniform(0, cw)
        sig = rng.uniform(0.05, 0.12) * max(ch, cw)
        massif += rng.uniform(600, 1400) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sig ** 2))
    rugged = 1 + massif / 400.0                               # rougher in the mountains
    dem_coarse = 450 + 120 * base + massif
    dem = upsample(dem_coarse, 10, (dh, dw))
    fine = spectral_noise(rng, (dh, dw), beta=3.0)            # local relief, all scales
    dem += fine * 25 * upsample(rugged, 10, (dh, dw))
    del fine
    np.clip(dem, 150, 3000, out=dem)
    write_tif(os.path.join(out, "dem.tif"), np.rint(dem), bounds, RES_DEM, None, "int16")
    # block mean to the 30" grid for the lapse rate (exact 10x10 blocks)
    dem30 = dem.reshape(ch, 10, cw, 10).mean(axis=(1, 3))
    del dem
    t_dem = time.perf_counter() - t

    # --- climate (30") --------------------------------------------------------
    lat_c = bounds[3] - (np.arange(ch) + 0.5) * RES_CLIM
    latg = np.repeat(lat_c[:, None], cw, axis=1).astype(np.float32)
    tavg = 29.5 - 0.25 * (latg - LAT0) - 0.0065 * dem30 + 0.8 * spectral_noise(rng, (ch, cw), 3.0)
    prec = (1100 - 110 * (latg - LAT0) + 0.35 * (dem30 - 450)
            + 160 * spectral_noise(rng, (ch, cw), 3.0))
    prec = np.clip(prec, 80, None)
    write_tif(os.path.join(out, "tavg.tif"), tavg, bounds, RES_CLIM, NODATA_F32, "float32")
    write_tif(os.path.join(out, "prec.tif"), prec, bounds, RES_CLIM, NODATA_F32, "float32")

    # --- soil (1/480 deg) -----------------------------------------------------
    prec_s = upsample(prec, 4, (sh, sw))
    lake = np.zeros((sh, sw), bool)
    lyy, lxx = np.ogrid[0:sh, 0:sw]
    cy, cx = 0.55 * sh, 0.4 * sw
    ry, rx = 0.04 * sh, 0.07 * sw
    lake |= ((lyy - cy) / ry) ** 2 + ((lxx - cx) / rx) ** 2 < 1
    ph = 72 - 0.012 * (prec_s - 800) + 6 * spectral_noise(rng, (sh, sw), 2.6)
    clay = 260 + 90 * spectral_noise(rng, (sh, sw), 2.4)
    soc = np.exp(np.log(120) + 0.0006 * (prec_s - 900) + 0.55 * spectral_noise(rng, (sh, sw), 2.4))
    for name, arr, lo, hi in (("phh2o", ph, 35, 95), ("clay", clay, 20, 700), ("soc", soc, 5, 2000)):
        a = np.rint(np.clip(arr, lo, hi)).astype(np.int16)
        a[lake] = NODATA_I16
        write_tif(os.path.join(out, f"{name}.tif"), a, bounds, RES_SOIL, NODATA_I16, "int16")
    del prec_s, ph, clay, soc

    # --- scenario.json ------------------------------------------------------------
    grid = {"crs": LAEA, "res": 100.0, "width": size, "height": size,
            "xmin": -half, "ymin": -half, "xmax": half, "ymax": half,
            "transform": [100.0, 0.0, -half, 0.0, -100.0, half]}
    files = {k: f"{k}.tif" for k in ("tavg", "prec", "phh2o", "clay", "soc", "dem")}
    meta = {"size": size, "seed": args.seed, "grid": grid, "inputs": files, "aoi": "aoi.gpkg",
            "aoi_layers": {"country": "country", "zones": "adm2", "zone_id": "adm2_id"},
            "input_bounds_4326": bounds, "trapezoids": TRAPEZOIDS,
            "class_breaks": CLASS_BREAKS, "classes": {"0": "nodata", "1": "N", "2": "S3", "3": "S2", "4": "S1"},
            "pixel_area_ha": 1.0}
    with open(os.path.join(out, "scenario.json"), "w") as f:
        json.dump(meta, f, indent=1)

    # --- report -------------------------------------------------------------------
    import rasterio
    print(f"scenario size={size} seed={args.seed} out={out}")
    print(f"target grid: {size}x{size} = {size*size/1e6:.1f} Mpx @100 m, LAEA(10N,20E)")
    print(f"AOI: country area {country.area/1e10:.2f} Mha, {len(cells)} adm2 polygons")
    print(f"input bounds (EPSG:4326): {bounds}")
    tot = 0
    for k, fn in files.items():
        p = os.path.join(out, fn)
        with rasterio.open(p) as ds:
            raw = ds.width * ds.height * np.dtype(ds.dtypes[0]).itemsize
            sz = os.path.getsize(p)
            tot += sz
            print(f"  {fn:10s} {ds.width:6d}x{ds.height:<6d} {ds.width*ds.height/1e6:8.2f} Mpx "
                  f"{ds.dtypes[0]:8s} {sz/2**20:9.1f} MiB (raw {raw/2**20:8.1f} MiB, ratio {raw/sz:4.2f})")
    print(f"  aoi.gpkg {os.path.getsize(gpkg)/2**20:.2f} MiB; inputs total {tot/2**20:.1f} MiB")
    print(f"generated in {time.perf_counter()-t_start:.1f} s (dem {t_dem:.1f} s)")


if __name__ == "__main__":
    main()
