"""Writing zone statistics: CSV (UTF-8), tidy CSVs, one Excel workbook, the GeoPackage.

File names per zones layer ``<layer>``: ``zone_stats_<layer>.csv`` (wide),
``zone_class_areas_<layer>.csv`` and ``factor_class_areas_<layer>.csv`` (tidy), plus
``aoi_summary.csv``, ``zone_stats.xlsx`` (one sheet per zones layer and one for the AOI, so
that Excel shows every name correctly, whatever its script) and ``zones.gpkg`` (one layer
per zones layer, the wide columns joined to the polygons). CSVs are UTF-8 without BOM, comma
separated, with floats written to 6 decimals so that re-runs give byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gies.errors import ExportError
from gies.io.gpkg import write_gpkg

__all__ = ["write_tables", "FLOAT_FORMAT"]

FLOAT_FORMAT = "%.6f"


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, encoding="utf-8", lineterminator="\n")


def write_tables(out: Path, results: dict, aoi, plan) -> None:
    """Write every table of a run into ``out`` (see the module docstring)."""
    cfg = plan.pipeline.config
    try:
        for name, res in results.items():
            _csv(res.wide, out / f"zone_stats_{name}.csv")
            _csv(res.class_areas, out / f"zone_class_areas_{name}.csv")
            _csv(res.factor_class_areas, out / f"factor_class_areas_{name}.csv")
        _csv(aoi.wide, out / "aoi_summary.csv")
        _csv(aoi.class_areas, out / "aoi_class_areas.csv")
        _csv(aoi.factor_class_areas, out / "aoi_factor_class_areas.csv")
        if cfg.outputs.xlsx:
            with pd.ExcelWriter(out / "zone_stats.xlsx", engine="openpyxl") as xl:
                for name, res in results.items():
                    res.wide.to_excel(xl, sheet_name=name[:31], index=False)
                aoi.wide.to_excel(xl, sheet_name="AOI", index=False)
                for name, res in results.items():
                    res.factor_class_areas.to_excel(xl, sheet_name=f"{name[:20]}_factors",
                                                    index=False)
        for name, res in results.items():
            spec = cfg.zones[name]
            z = plan.zones[name]
            keep = [c for c in dict.fromkeys((spec.id_field, spec.name_field)) if c]
            stats = res.wide.drop(columns=["zone_id", "zone_name"], errors="ignore")
            joined = z[keep + ["geometry"]].join(stats)
            write_gpkg(joined, out / "zones.gpkg", name)
    except OSError as exc:
        raise ExportError(f"cannot write tables in {out}: {exc}") from exc
