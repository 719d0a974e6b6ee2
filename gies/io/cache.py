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

__all__ = ["LayerCache", "layer_key", "folder_size"]


def layer_key(*, version: str, spec: dict, extra_specs: list[dict], grid, chunk: int,
              digests: list[str], engine: str = "gies") -> str:
    """The cache key of one harmonised layer (see module docstring)."""
    from gies.stages import harmonise

    payload = {
        "gies": version,
        # the warp itself: a change of algorithm must not reuse layers warped the old way
        "warp": [harmonise.WARP_TILE, harmonise.WARP_TOLERANCE, engine],
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
