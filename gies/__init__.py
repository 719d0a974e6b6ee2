"""gies: land-suitability analysis for priority agricultural products.

A suitability study is a declarative pipeline file; gies turns it into rasters on one target
grid, scores them with documented functions, and writes outputs that a GIS analyst opens in
QGIS. Public API::

    import gies
    p = gies.load_pipeline("pipelines/bungo-cocoa.yaml")   # validate, no pixel read
    gies.validate(p)                                        # a report: problems, warnings
    ds = gies.build(p)                                      # lazy xarray.Dataset, no file
    q = p.replace(scoring={"on_limit": "better"})           # a changed, revalidated copy
    result = gies.run(q)                                    # run, write outputs
    result.aoi_summary, result.open("classes")              # tables and layers

Everything else lives in the subpackages (``gies.config``, ``gies.methods``,
``gies.stages``, ``gies.io``, ``gies.publish``, ``gies.testing``), imported by name.
"""

from gies.config import LoadedPipeline, load_pipeline
from gies.errors import (
    ConfigError,
    DataError,
    DataQualityWarning,
    ExportError,
    GiesError,
    GiesWarning,
    GridMismatchError,
    LayerError,
    ParameterError,
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
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "load_pipeline",
    "LoadedPipeline",
    "validate",
    "Report",
    "build",
    "run",
    "RunResult",
    "Grid",
    "GiesError",
    "ConfigError",
    "ProfileError",
    "ParameterError",
    "LayerError",
    "DataError",
    "UnitError",
    "GridMismatchError",
    "ExportError",
    "GiesWarning",
    "DataQualityWarning",
    "__version__",
]
