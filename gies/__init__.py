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
from gies.pipeline import RunResult, run

__version__ = "0.1.0"

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
