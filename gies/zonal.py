"""Zone statistics: hectares per class and mean scores per zone, with exact coverage.

Each zone's pixels are weighted by the exact fraction of the pixel the polygon covers
(computed by exactextract), times the pixel's true area (:func:`gies.area.cell_areas`). Only
the window of the grid a zone covers is read, so memory follows the largest zone, not the
country.

Definitions (the contract in ``docs/outputs.md``):

* ``area_ha`` = Σ coverage × cell area over the zone's pixels inside the grid;
* ``<class>_ha`` = the same sum restricted to pixels of that class (S1, S2, S3, N, no data,
  outside AOI), so the class hectares of a zone add up to ``area_ha``;
* ``<class>_share`` = ``<class>_ha / area_ha``;
* ``suitable_ha`` = S1 + S2 hectares; ``score_mean`` is the area-weighted mean score over the
  zone's pixels with a score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from rasterio.windows import Window, from_bounds

from gies.area import cell_areas
from gies.classify import EXCLUDED, NODATA, OUTSIDE
from gies.grid import Grid, assert_on_grid

__all__ = ["zone_statistics", "CLASS_COLUMNS"]

CLASS_COLUMNS = {1: "S1", 2: "S2", 3: "S3", 4: "N", EXCLUDED: "excluded", NODATA: "nodata",
                 OUTSIDE: "outside"}
_HA = 1e-4


def _window(grid: Grid, bounds) -> Window | None:
    rows, cols = grid.shape
    w = from_bounds(*bounds, transform=grid.transform)
    # one pixel of margin: exactextract needs the whole polygon inside the window
    r0, c0 = max(math.floor(w.row_off) - 1, 0), max(math.floor(w.col_off) - 1, 0)
    r1 = min(math.ceil(w.row_off + w.height) + 1, rows)
    c1 = min(math.ceil(w.col_off + w.width) + 1, cols)
    if r1 <= r0 or c1 <= c0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _coverage(grid: Grid, win: Window, geom) -> tuple[np.ndarray, np.ndarray]:
    """(flat cell indices within the window, coverage fractions) of one polygon."""
    t = grid.transform
    xmin = t.c + win.col_off * t.a
    ymax = t.f + win.row_off * t.e
    xmax = xmin + win.width * t.a
    ymin = ymax + win.height * t.e
    src = NumPyRasterSource(np.zeros((win.height, win.width)), xmin, ymin, xmax, ymax,
                            srs_wkt=grid.crs)
    gdf = gpd.GeoDataFrame(geometry=[geom], crs=grid.crs)
    res = exact_extract(src, gdf, ["cell_id", "coverage"], output="pandas")
    return np.asarray(res["cell_id"][0], dtype=np.int64), np.asarray(res["coverage"][0])


def zone_statistics(
    zones: gpd.GeoDataFrame,
    *,
    classes: xr.DataArray,
    score: xr.DataArray,
    limiting: xr.DataArray | None = None,
    factor_names: Mapping[int, str] | None = None,
    id_field: str,
    name_field: str | None,
    suitable: tuple[int, ...] = (1, 2),
) -> pd.DataFrame:
    """One row per zone (in the zones' order) with the columns of the module docstring.

    ``zones`` must be in the grid's CRS. ``classes`` holds gies class codes, ``score`` the
    overall score (NaN without one); ``limiting`` optional limiting-factor codes, with
    ``factor_names`` mapping code -> factor, gives ``limiting_dominant`` and its share of the
    zone's limited area.
    """
    grid: Grid = classes.attrs["grid"]
    assert_on_grid(grid, classes, score, *([limiting] if limiting is not None else []))
    rows = []
    for _, zone in zones.iterrows():
        row: dict = {"zone_id": zone[id_field]}
        if name_field:
            row["zone_name"] = zone[name_field]
        geom = zone.geometry
        win = None if geom is None or geom.is_empty else _window(grid, geom.bounds)
        sums = dict.fromkeys(CLASS_COLUMNS.values(), 0.0)
        area = 0.0
        score_mean = np.nan
        lim_name, lim_share = "", np.nan
        if win is not None:
            cells, frac = _coverage(grid, win, geom)
            rs = slice(win.row_off, win.row_off + win.height)
            cs = slice(win.col_off, win.col_off + win.width)
            w = frac * cell_areas(grid, rs, cs).ravel()[cells]
            cls = np.asarray(classes.isel(y=rs, x=cs).values).ravel()[cells]
            sc = np.asarray(score.isel(y=rs, x=cs).values, dtype=np.float64).ravel()[cells]
            area = float(w.sum())
            for code, col in CLASS_COLUMNS.items():
                sums[col] = float(w[cls == code].sum())
            has = ~np.isnan(sc)
            if w[has].sum() > 0:
                score_mean = float(np.average(sc[has], weights=w[has]))
            if limiting is not None:
                lim = np.asarray(limiting.isel(y=rs, x=cs).values).ravel()[cells]
                limited = (lim > 0) & (lim < 250)
                if w[limited].sum() > 0:
                    per = np.bincount(lim[limited], weights=w[limited])
                    code = int(np.argmax(per))
                    lim_name = (factor_names or {}).get(code, str(code))
                    lim_share = float(per[code] / w[limited].sum())
        row["area_ha"] = area * _HA
        for col, v in sums.items():
            row[f"{col}_ha"] = v * _HA
        row["suitable_ha"] = sum(sums[CLASS_COLUMNS[c]] for c in suitable) * _HA
        for col in ("S1", "S2", "S3", "N", "nodata"):
            row[f"{col}_share"] = sums[col] / area if area > 0 else np.nan
        row["suitable_share"] = row["suitable_ha"] / row["area_ha"] if area > 0 else np.nan
        row["valid_share"] = (
            1 - (sums["nodata"] + sums["outside"]) / area if area > 0 else 0.0
        )
        row["score_mean"] = score_mean
        if limiting is not None:
            row["limiting_dominant"] = lim_name
            row["limiting_dominant_share"] = lim_share
        row["empty"] = area == 0
        rows.append(row)
    return pd.DataFrame(rows)
