#!/usr/bin/env python3
"""Floor (e): GDAL warps every distinct source grid once onto the target grid, in memory.

    python bench/floor_warp.py --scenario DIR [--threads ALL_CPUS]

Inputs that share a grid (same CRS, transform and shape: the two climate layers, the three
soil layers) are stacked as bands of one VRT and warped by one multi-band
``rasterio.warp.reproject`` call (bilinear, float32 destination with NaN for nodata,
``NUM_THREADS`` warp multithreading, GDAL_NUM_THREADS for decoding, 512 MB warp memory), so each
source block is decoded once and every grid's geometry (the coordinate transformation) is
computed once. Nothing is written: this is the least time any tool needs to put the six layers
on the grid with GDAL's warper. Prints ``@@RESULT {...}`` with one stage per source grid.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers import LAYERS, Stages, load_scenario  # noqa: E402


def _vrt(paths, tmpdir, label):
    """A VRT with band i = band 1 of paths[i] (all on one grid)."""
    import rasterio

    with rasterio.open(paths[0]) as ds:
        w, h, crs, t = ds.width, ds.height, ds.crs.to_wkt(), ds.transform
    bands = []
    for i, p in enumerate(paths, 1):
        with rasterio.open(p) as ds:
            dt = {"int16": "Int16", "float32": "Float32", "uint8": "Byte", "int32": "Int32",
                  "uint16": "UInt16", "float64": "Float64"}[ds.dtypes[0]]
            nd = ds.nodata
            bx, by = ds.block_shapes[0][1], ds.block_shapes[0][0]
        ndxml = f"<NoDataValue>{nd!r}</NoDataValue>" if nd is not None else ""
        bands.append(
            f'<VRTRasterBand dataType="{dt}" band="{i}">{ndxml}<SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{escape(os.path.abspath(p))}</SourceFilename>'
            f'<SourceBand>1</SourceBand><SourceProperties RasterXSize="{w}" RasterYSize="{h}" '
            f'DataType="{dt}" BlockXSize="{bx}" BlockYSize="{by}"/>'
            f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/></SimpleSource></VRTRasterBand>')
    gt = ", ".join(repr(v) for v in (t.c, t.a, t.b, t.f, t.d, t.e))
    xml = (f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><SRS>{escape(crs)}</SRS>'
           f"<GeoTransform>{gt}</GeoTransform>{''.join(bands)}</VRTDataset>")
    path = os.path.join(tmpdir, f"{label}.vrt")
    with open(path, "w") as f:
        f.write(xml)
    return path


def groups_of(sdir, sc):
    """{label: [layer, ...]} of inputs sharing one grid, in LAYERS order."""
    import rasterio

    groups = {}
    for k in LAYERS:
        with rasterio.open(os.path.join(sdir, sc["inputs"][k])) as ds:
            key = (ds.crs.to_wkt(), tuple(ds.transform)[:6], ds.shape)
        groups.setdefault(key, []).append(k)
    return {"+".join(v): v for v in groups.values()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--threads", default="ALL_CPUS")
    a = ap.parse_args()
    import numpy as np
    import rasterio
    from affine import Affine
    from rasterio.warp import Resampling, reproject

    sc = load_scenario(a.scenario)
    g = sc["grid"]
    dst_t = Affine(*g["transform"])
    H, W = g["height"], g["width"]
    st = Stages()
    nthreads = os.cpu_count() if a.threads == "ALL_CPUS" else int(a.threads)
    t0 = time.perf_counter()
    for k in LAYERS:  # warm the page cache: time decoding + warping, not the disk
        with open(os.path.join(a.scenario, sc["inputs"][k]), "rb") as f:
            while f.read(1 << 24):
                pass
    with tempfile.TemporaryDirectory() as tmp:
        groups = groups_of(a.scenario, sc)
        vrts = {lab: _vrt([os.path.join(a.scenario, sc["inputs"][k]) for k in ks], tmp, lab)
                for lab, ks in groups.items()}
        with rasterio.Env(GDAL_NUM_THREADS=a.threads):
            for lab, ks in groups.items():
                with st.stage(f"warp[{lab}]"):
                    with rasterio.open(vrts[lab]) as src:
                        dst = np.empty((len(ks), H, W), np.float32)
                        reproject(rasterio.band(src, list(range(1, len(ks) + 1))), dst,
                                  dst_transform=dst_t, dst_crs=g["crs"], dst_nodata=np.nan,
                                  resampling=Resampling.bilinear, num_threads=nthreads,
                                  warp_mem_limit=512, init_dest_nodata=True)
                st.rows[f"warp[{lab}]"]["valid_share"] = round(float(np.isfinite(dst).mean()), 4)
                del dst
    print("@@RESULT " + json.dumps({"stages": st.rows, "inner_wall": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
