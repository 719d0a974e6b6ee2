"""gies: land-suitability analysis for priority agricultural products.

A suitability study is a declarative pipeline file; gies turns it into rasters on one target
grid, scores them with documented functions, and writes outputs that a GIS analyst opens in
QGIS. Public API::

    import gies
    p = gies.load_pipeline("pipelines/bungo-cocoa.yaml")   # validate, no pixel read
    result = gies.run(p)                                    # run, write outputs
    result.aoi_summary, result.zone_stats                   # pandas tables
"""

from gies.config import load_pipeline
from gies.errors import (
    ConfigError,
    DataQualityWarning,
    ExportError,
    GiesError,
    GridMismatchError,
    LayerError,
    ProfileError,
    UnitError,
)
from gies.grid import Grid

__version__ = "0.1.0"

#: Names served lazily (PEP 562): ``gies.runner`` pulls in dask, xarray, pandas,
#: geopandas, rasterio and numba, which ``import gies`` / ``gies --version`` and
#: validating a pipeline do not need.
_LAZY = {"run": "gies.runner", "RunResult": "gies.runner", "validate": "gies.api",
         "build": "gies.api", "Report": "gies.api"}


def __getattr__(name: str):
    import importlib
    import importlib.util

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")  # submodules, as before
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "load_pipeline",
    "run",
    "RunResult",
    "Grid",
    "GiesError",
    "ConfigError",
    "ProfileError",
    "LayerError",
    "UnitError",
    "GridMismatchError",
    "ExportError",
    "DataQualityWarning",
    "__version__",
]
