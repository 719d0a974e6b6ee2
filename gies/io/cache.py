"""Cache of harmonised layers, so that a re-run after a change of weights, limits or method
recomputes only what depends on it.

A harmonised layer (on the grid, in its declared units, after mixed-unit and plausibility
checks) is stored as a compressed tiled GeoTIFF ``<key>.tif`` with its quality counts in
``<key>.json``, under ``<outputs.dir>/.cache/``. The key is the SHA-256 of

* the gies version and the warp parameters (tile size, transformer tolerance),
* the layer's configuration (and that of its mixed-unit indicator),
* the target grid and the processing chunk size,
* the SHA-256 of every input file the layer is computed from,

so a cached layer is reused only when everything it was computed from is unchanged.
``gies run --force`` ignores the cache; ``gies cache clear PIPELINE`` empties it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LayerCache", "CacheWrite", "layer_key", "folder_size", "open_cached"]


def layer_key(*, version: str, spec: dict, extra_specs: list[dict], grid, chunk: int,
              digests: list[str], warp: list) -> str:
    """The cache key of one harmonised layer (see module docstring); ``warp``: the warp's
    parameters (tile, transformer tolerance, engine)."""
    payload = {
        "gies": version,
        # the warp itself: a change of algorithm must not reuse layers warped the old way
        "warp": list(warp),
        "spec": spec,
        "extra": extra_specs,
        "grid": [grid.crs, list(grid.transform)[:6], list(grid.shape)],
        "chunk": chunk,
        "inputs": sorted(digests),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def folder_size(path: Path) -> int:
    """Bytes of all files below ``path`` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@dataclass
class LayerCache:
    """A cache folder; ``enabled=False`` reads nothing (``--force``) but still writes."""

    folder: Path
    enabled: bool = True

    def paths(self, key: str) -> tuple[Path, Path]:
        """(raster, counts) paths of a key."""
        return self.folder / f"{key}.tif", self.folder / f"{key}.json"

    def get(self, key: str) -> tuple[Path, dict] | None:
        """The cached raster and quality counts of ``key``, or None."""
        if not self.enabled:
            return None
        tif, js = self.paths(key)
        if tif.is_file() and js.is_file():
            try:
                return tif, json.loads(js.read_text(encoding="utf-8"))
            except ValueError:
                return None
        return None

    def staging(self) -> Path:
        """A private folder where a run writes new entries before :meth:`commit`."""
        path = self.folder / f".incoming-{os.getpid()}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, staging: Path) -> None:
        """Move finished entries into the cache (each file atomically)."""
        for f in sorted(staging.iterdir()):
            os.replace(f, self.folder / f.name)
        shutil.rmtree(staging, ignore_errors=True)

    def clear(self) -> int:
        """Remove every entry; returns the bytes freed."""
        size = folder_size(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
        return size


def open_cached(path: Path, grid, *, chunk: int, units: str, name: str):
    """A cached harmonised layer, lazily, on ``grid`` (float32, NaN for no data)."""
    import numpy as np
    import rioxarray

    da = rioxarray.open_rasterio(path, chunks={"y": chunk, "x": chunk}, masked=True,
                                 lock=False).sel(band=1, drop=True).astype(np.float32)
    da = da.drop_vars([c for c in da.coords if c not in ("x", "y")])
    da = da.assign_coords(grid.coords())
    da.attrs = {"units": units, "cached": str(path)}
    da.name = name
    return da


class CacheWrite:
    """The harmonised layers a run adds to the cache: written in the run's pass (as
    ``outputs()``), moved into the cache by :meth:`commit` once the run has succeeded,
    removed by :meth:`abort` otherwise.

    ``todo``: layer name -> key of the layers to add; ``layers``: the harmonised layers;
    ``quality``: their quality counts (stored beside each layer).
    """

    def __init__(self, cache: LayerCache, todo: dict[str, str], layers: dict, quality: dict,
                 reused: list[str]):
        self.cache, self.todo, self.layers, self.quality = cache, todo, layers, quality
        self.reused = sorted(reused)
        self.staging: Path | None = None

    def outputs(self) -> list:
        """The cache files as outputs of the pass (compressed tiled GeoTIFFs, no COG copy)."""
        import numpy as np

        from gies.io.rasters import RasterOutput

        if not self.todo:
            return []
        self.staging = self.cache.staging()
        return [RasterOutput(self.staging / f"{k}.tif", self.layers[n], "float32", np.nan,
                             f"harmonised layer {n}", str(self.layers[n].attrs.get("units", "")),
                             cog=False)
                for n, k in self.todo.items()]

    def commit(self) -> None:
        """Write each layer's counts and move the new entries into the cache."""
        if self.staging is None:
            return
        for n, k in self.todo.items():
            counts = {c: v for c, v in self.quality.get(n, {}).items()
                      if c not in ("action", "removed_share")}
            (self.staging / f"{k}.json").write_text(json.dumps(counts or {"valid": -1}),
                                                    encoding="utf-8")
        self.cache.commit(self.staging)

    def abort(self) -> None:
        """Forget the staged entries."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)

    def manifest(self, enabled: bool) -> dict:
        """The manifest's ``cache`` entry."""
        return {"enabled": enabled, "folder": str(self.cache.folder), "reused": self.reused,
                "added": sorted(self.todo), "bytes": folder_size(self.cache.folder)}
