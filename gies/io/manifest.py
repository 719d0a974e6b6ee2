"""The run manifest: what a run did, as a typed record written to ``manifest.json``.

Every run folder holds one (the contract is in ``docs/outputs.md``): the validated
configuration, the product and the limits used, factor and class codes, the class scheme,
the grid, the quality actions, every warning, each input file with its size and SHA-256,
the versions of gies and its libraries, the processing settings, the cache, seconds per
pass, and every output file with its size and SHA-256.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from gies.io.runs import file_digest

__all__ = ["Manifest", "InputFile", "versions", "MANIFEST_VERSION"]

MANIFEST_VERSION = 1
_PACKAGES = ("gies", "numpy", "xarray", "dask", "rasterio", "rioxarray", "odc-geo",
             "geopandas", "shapely", "pyproj", "numba", "pydantic")


@dataclass(frozen=True)
class InputFile:
    """An input file: its path, size in bytes and SHA-256."""

    path: Path
    bytes: int
    sha256: str

    @classmethod
    def of(cls, path: Path, digest: str | None = None) -> InputFile:
        """The record of ``path`` (its digest computed unless given)."""
        return cls(path, path.stat().st_size, digest or file_digest(path))

    def to_json(self) -> dict:
        """The JSON object of the manifest's ``inputs`` list."""
        return {"path": str(self.path), "bytes": self.bytes, "sha256": self.sha256}


def versions() -> dict[str, str]:
    """Python, gies and its main libraries, GDAL and PROJ."""
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    import pyproj
    import rasterio

    out["GDAL"] = rasterio.__gdal_version__
    out["PROJ"] = pyproj.proj_version_str
    return out


@dataclass
class Manifest:
    """The content of ``manifest.json`` (see the module docstring). ``processing``,
    ``cache``, ``timings_s`` and ``outputs`` are filled as the run proceeds."""

    pipeline: str
    config: dict[str, Any]
    product: dict[str, Any]
    factors_used: list[str]
    factor_codes: dict[str, str]
    combination: dict[str, Any]
    class_scheme: dict[str, Any]
    class_codes: dict[str, str]
    subclass_codes: dict[str, str]
    grid: dict[str, Any]
    quality: dict[str, Any]
    warnings: list[str]
    inputs: list[InputFile]
    versions: dict[str, str] = field(default_factory=versions)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(
        timespec="seconds"))
    processing: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data, keys in the documented order."""
        return {
            "gies_manifest": MANIFEST_VERSION,
            "pipeline": self.pipeline,
            "created": self.created,
            "config": self.config,
            "product": self.product,
            "factors_used": self.factors_used,
            "factor_codes": self.factor_codes,
            "combination": self.combination,
            "class_scheme": self.class_scheme,
            "class_codes": self.class_codes,
            "subclass_codes": self.subclass_codes,
            "grid": self.grid,
            "quality": self.quality,
            "warnings": self.warnings,
            "inputs": [f.to_json() for f in self.inputs],
            "versions": self.versions,
            "processing": self.processing,
            "cache": self.cache,
            "timings_s": self.timings_s,
            "outputs": self.outputs,
            **({"origin": self.origin} if self.origin is not None else {}),
        }

    def list_outputs(self, folder: Path) -> None:
        """Record every file of ``folder`` (name, size, SHA-256) in :attr:`outputs`."""
        self.outputs = [{"path": f.name, "bytes": f.stat().st_size, "sha256": file_digest(f)}
                        for f in sorted(folder.iterdir()) if f.is_file()]

    def write(self, folder: Path) -> Path:
        """Write ``manifest.json`` into ``folder``."""
        path = Path(folder) / "manifest.json"
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False),
                        encoding="utf-8")
        return path
