"""Digests of a run folder, and their comparison: exact, or within the reference tolerances.

A digest records, per output file:

* rasters: their metadata (CRS, transform, dtype, nodata, band descriptions, units, tags)
  and the SHA-256 of every band's pixels; float rasters also the NaN mask's SHA-256, the
  count, sum, minimum and maximum of the valid cells and the values of up to
  :data:`SAMPLE` valid cells drawn with a fixed seed (the same cells whenever the NaN
  masks agree);
* CSV tables: their bytes' SHA-256 and their text;
* GeoPackages: per layer, the attribute table as CSV text (without the style table's
  ``update_time``) and the SHA-256 of the geometries;
* ``manifest.json``: the manifest without what differs between two runs of the same
  pipeline (time stamps, timings, machine-dependent thread counts, absolute paths, the
  versions of libraries, the digests of the published files);
* every other file: its bytes' SHA-256 (for information: maps and the report embed fonts
  and time stamps).

``compare(ref, new, exact=True)`` lists every difference; with ``exact=False`` it applies
the tolerances a new release of a dependency may need: class and code rasters identical,
float rasters' NaN masks identical and values within :data:`SCORE_TOL`, hectares within
:data:`HA_TOL`, other table numbers within :data:`NUMBER_TOL`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np

SAMPLE = 500
SCORE_TOL = 1e-6
HA_TOL = 0.01
#: Tables are written with 6 decimals: a last-bit change can move the 6th one.
NUMBER_TOL = 2e-6
#: The GAEZ suitability index is 100 x a sum of shares.
GAEZ_TOL = 2e-4

#: Manifest keys that differ between two runs of one pipeline, or on another machine.
VOLATILE = ("created", "timings_s", "versions", "outputs", "processing")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raster_digest(path: Path) -> dict:
    import rasterio

    with rasterio.open(path) as ds:
        meta = {
            "crs": ds.crs.to_wkt() if ds.crs else None,
            "transform": [round(v, 9) for v in list(ds.transform)[:6]],
            "shape": [ds.count, ds.height, ds.width],
            "dtypes": list(ds.dtypes),
            "nodata": None if ds.nodata is None else repr(float(ds.nodata)),
            "descriptions": list(ds.descriptions),
            "units": list(ds.units),
            "tags": ds.tags(),
            "band_tags": [ds.tags(b) for b in range(1, ds.count + 1)],
        }
        bands = []
        for b in range(1, ds.count + 1):
            arr = ds.read(b)
            entry = {"sha256": _sha(np.ascontiguousarray(arr).tobytes())}
            if arr.dtype.kind == "f":
                valid = np.isfinite(arr)
                v = arr[valid].astype(np.float64)
                entry["nan_mask_sha256"] = _sha(np.packbits(valid).tobytes())
                entry["valid"] = int(valid.sum())
                entry["sum"] = float(v.sum()) if v.size else 0.0
                entry["min"] = float(v.min()) if v.size else None
                entry["max"] = float(v.max()) if v.size else None
                idx = np.flatnonzero(valid.reshape(-1))
                rng = np.random.default_rng(12345)
                pick = np.sort(rng.choice(idx, size=min(SAMPLE, idx.size), replace=False))
                entry["sample_value"] = [float(x) for x in arr.reshape(-1)[pick]]
            bands.append(entry)
    return {"meta": meta, "bands": bands}


def gpkg_digest(path: Path) -> dict:
    import pyogrio

    out = {}
    for name, _ in pyogrio.list_layers(path):
        gdf = pyogrio.read_dataframe(path, layer=name)
        has_geom = hasattr(gdf, "geometry") and "geometry" in gdf.columns
        geoms = gdf.geometry if has_geom else []
        attrs = gdf.drop(columns="geometry") if has_geom else gdf
        attrs = attrs.drop(columns=[c for c in ("update_time",) if c in attrs.columns])
        buf = io.StringIO()
        attrs.to_csv(buf, index=False, float_format="%.9g")
        out[str(name)] = {
            "attributes_csv": buf.getvalue(),
            "geometry_sha256": _sha(b"".join(g.wkb if g is not None else b"" for g in geoms)),
        }
    return out


def normalise_manifest(man: dict, folder: Path) -> dict:
    """The manifest without volatile keys; absolute paths replaced by file names."""
    m = {k: v for k, v in man.items() if k not in VOLATILE}
    m["inputs"] = [{**f, "path": Path(f["path"]).name} for f in m.get("inputs", [])]
    if m.get("product"):
        m["product"] = {**m["product"], "profile": Path(m["product"]["profile"]).name}
    if "cache" in m:
        m["cache"] = {k: v for k, v in m["cache"].items() if k not in ("folder", "bytes")}
    return json.loads(json.dumps(m))


def digest(folder: Path) -> dict:
    """The digest of one run folder (see the module docstring)."""
    folder = Path(folder)
    files = {}
    for f in sorted(folder.iterdir()):
        if not f.is_file() or f.name == ".run":  # the run's id: new in every run
            continue
        entry: dict = {"sha256": _sha(f.read_bytes())}
        if f.suffix == ".tif":
            entry["raster"] = raster_digest(f)
        elif f.suffix == ".csv":
            entry["text"] = f.read_text(encoding="utf-8")
        elif f.suffix == ".gpkg":
            entry["gpkg"] = gpkg_digest(f)
        elif f.name == "manifest.json":
            entry["manifest"] = normalise_manifest(json.loads(f.read_text(encoding="utf-8")), folder)
        files[f.name] = entry
    return files


# -- comparison ---------------------------------------------------------------------------------
def _close(a: float, b: float, tol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= tol


def _column_tol(col: str) -> float:
    if col.endswith("_ha"):
        return HA_TOL
    if col == "gaez_si" or col.startswith("gaez_si"):
        return GAEZ_TOL
    return NUMBER_TOL


def _compare_table(name: str, ref: str, new: str, exact: bool) -> list[str]:
    if ref == new:
        return []
    if exact:
        return [f"{name}: bytes differ"]
    import pandas as pd

    a = pd.read_csv(io.StringIO(ref), keep_default_na=False, dtype=str)
    b = pd.read_csv(io.StringIO(new), keep_default_na=False, dtype=str)
    if list(a.columns) != list(b.columns):
        return [f"{name}: columns {list(a.columns)} -> {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{name}: {len(a)} rows -> {len(b)}"]
    out = []
    for col in a.columns:
        for i, (x, y) in enumerate(zip(a[col], b[col])):
            if x == y:
                continue
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                out.append(f"{name}: row {i} {col}: {x!r} -> {y!r}")
                continue
            if not _close(fx, fy, _column_tol(col)):
                out.append(f"{name}: row {i} {col}: {x} -> {y}")
    return out


def _compare_raster(name: str, ref: dict, new: dict, exact: bool) -> list[str]:
    out = []
    for key in ref["meta"]:
        if ref["meta"][key] != new["meta"].get(key):
            out.append(f"{name}: {key}: {ref['meta'][key]!r} -> {new['meta'].get(key)!r}")
    for b, (rb, nb) in enumerate(zip(ref["bands"], new["bands"]), start=1):
        if rb["sha256"] == nb["sha256"]:
            continue
        if exact or "nan_mask_sha256" not in rb:
            out.append(f"{name}: band {b}: pixels differ")
            continue
        if rb["nan_mask_sha256"] != nb["nan_mask_sha256"]:
            out.append(f"{name}: band {b}: no-data cells differ ({rb['valid']} -> {nb['valid']})")
            continue
        worst = max((abs(x - y) for x, y in zip(rb["sample_value"], nb["sample_value"])), default=0.0)
        if worst > SCORE_TOL:
            out.append(f"{name}: band {b}: sampled values differ by up to {worst:.3g}")
        for stat in ("min", "max"):
            if rb[stat] is not None and not _close(rb[stat], nb[stat], SCORE_TOL):
                out.append(f"{name}: band {b}: {stat} {rb[stat]} -> {nb[stat]}")
        if not _close(rb["sum"], nb["sum"], SCORE_TOL * max(rb["valid"], 1)):
            out.append(f"{name}: band {b}: sum {rb['sum']} -> {nb['sum']}")
    return out


def _compare_json(path: str, a, b, exact: bool) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in b:
                out.append(f"{path}.{k}: removed")
            elif k not in a:
                out.append(f"{path}.{k}: added")
            else:
                out += _compare_json(f"{path}.{k}", a[k], b[k], exact)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items -> {len(b)}"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _compare_json(f"{path}[{i}]", x, y, exact)
        return out
    if (not exact and isinstance(a, float) and isinstance(b, (int, float))
            and not isinstance(b, bool) and _close(a, float(b), max(SCORE_TOL, 1e-9 * abs(a)))):
        return []
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def compare(ref: dict, new: dict, *, exact: bool = True, ignore_manifest=()) -> list[str]:
    """Differences between two digests (empty when they agree); ``ignore_manifest``: manifest
    key paths (``"a.b"``) left out of the comparison."""
    out = []
    for name in sorted(set(ref) | set(new)):
        if name not in new:
            out.append(f"{name}: missing")
            continue
        if name not in ref:
            out.append(f"{name}: new file")
            continue
        r, n = ref[name], new[name]
        if "raster" in r:
            out += _compare_raster(name, r["raster"], n["raster"], exact)
        elif "text" in r:
            out += _compare_table(name, r["text"], n["text"], exact)
        elif "gpkg" in r:
            for layer in sorted(set(r["gpkg"]) | set(n["gpkg"])):
                if layer not in n["gpkg"] or layer not in r["gpkg"]:
                    out.append(f"{name}: layer {layer} added or removed")
                    continue
                rl, nl = r["gpkg"][layer], n["gpkg"][layer]
                out += _compare_table(f"{name}:{layer}", rl["attributes_csv"],
                                      nl["attributes_csv"], exact)
                if rl["geometry_sha256"] != nl["geometry_sha256"]:
                    out.append(f"{name}:{layer}: geometries differ")
        elif "manifest" in r:
            a, b = _comparable(r["manifest"]), _comparable(n["manifest"])
            for key in ignore_manifest:
                for m in (a, b):
                    _drop(m, key.split("."))
            out += _compare_json("manifest", a, b, exact)
    return out


def _comparable(manifest: dict) -> dict:
    """The manifest without the pipeline file's own entry in ``inputs``: its text is
    compared through ``config``."""
    m = json.loads(json.dumps(manifest))
    own = f"{m.get('pipeline')}.yaml"
    m["inputs"] = [f for f in m.get("inputs", []) if f.get("path") != own]
    return m


def _drop(d: dict, parts: list[str]) -> None:
    for p in parts[:-1]:
        d = d.get(p)
        if not isinstance(d, dict):
            return
    if isinstance(d, dict):
        d.pop(parts[-1], None)


def informational(ref: dict, new: dict) -> list[str]:
    """Files compared by bytes only (maps, styles, report, spreadsheets) that differ."""
    return [name for name in sorted(set(ref) & set(new))
            if not any(k in ref[name] for k in ("raster", "text", "gpkg", "manifest"))
            and ref[name]["sha256"] != new[name]["sha256"]]
