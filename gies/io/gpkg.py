"""GeoPackage files: writing layers as GeoPackage 1.2 and storing their default styles.

The default style of a layer goes into the ``layer_styles`` table QGIS reads and writes, so
a layer opens styled in QGIS without a sidecar file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["GPKG_VERSION", "write_gpkg", "gpkg_version", "set_gpkg_default_style"]


GPKG_VERSION = "1.2"
_GPKG_USER_VERSION = 10200


def write_gpkg(gdf, path: Path, layer: str) -> None:
    """Write ``gdf`` as ``layer`` of a GeoPackage 1.2 file (replacing the file if it exists
    and ``layer`` is its first layer; adding the layer otherwise)."""
    import pyogrio

    path = Path(path)
    append_layer = path.exists() and layer not in {n for n, _ in pyogrio.list_layers(path)}
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio",
                dataset_options={"VERSION": GPKG_VERSION},
                layer_options={"SPATIAL_INDEX": "YES"},
                **({"mode": "a"} if append_layer else {}))


def gpkg_version(path: Path) -> int:
    """``PRAGMA user_version`` of a GeoPackage (10200 for 1.2, 10400 for 1.4)."""
    with sqlite3.connect(path) as con:
        return int(con.execute("PRAGMA user_version").fetchone()[0])


_LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def set_gpkg_default_style(path: Path, layer: str, qml: str, *, name: str,
                           description: str = "") -> None:
    """Store ``qml`` as the default style of ``layer`` in the GeoPackage's ``layer_styles``
    table (the table QGIS reads and writes), replacing an earlier default."""
    with sqlite3.connect(path) as con:
        geom = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                           (layer,)).fetchone()
        if geom is None:
            raise ValueError(f"{path}: no spatial layer {layer!r}")
        con.execute(_LAYER_STYLES_DDL)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'', strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
        )
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
        con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                    (layer, name))
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
            "ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL)",
            (layer, geom[0], name, qml, description),
        )
