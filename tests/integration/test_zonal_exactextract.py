"""Zone statistics agree with exactextract's own Python API on the same rasters and zones."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from gies.area import cell_areas
from gies.grid import Grid


def test_means_and_class_areas_match_exactextract(bungo, tmp_path):
    out = bungo.output_dir
    with rasterio.open(out / "classes.tif") as ds:
        grid = Grid.from_raster(ds)
        classes = ds.read(1)
        b = ds.bounds
    with rasterio.open(out / "suitability.tif") as ds:
        score = ds.read(1).astype(np.float64)
    area = cell_areas(grid)
    zones = gpd.read_file(out / "zones.gpkg", layer="planning_units")

    def src(arr, name, nodata=None):
        return NumPyRasterSource(arr, b.left, b.bottom, b.right, b.top, name=name,
                                 srs_wkt=grid.crs, nodata=nodata)

    mean = exact_extract(src(score, "score", np.nan), zones, "weighted_mean",
                         weights=src(area, "area"), output="pandas")
    ours = bungo.zone_stats["planning_units"]
    np.testing.assert_allclose(ours["score_mean"], mean.iloc[:, 0], rtol=1e-6)
    for codes, col in {(1,): "S1", (2,): "S2", (3,): "S3", (4, 5): "N", (5,): "N2",
                       (253,): "excluded", (254,): "nodata"}.items():
        ind = np.isin(classes, codes).astype(np.float64)
        got = exact_extract(src(ind, col), zones, "weighted_sum", weights=src(area, "area"),
                            output="pandas").iloc[:, 0] / 1e4
        np.testing.assert_allclose(ours[f"{col}_ha"], got, rtol=1e-6, atol=1e-6)


def test_tables_written_and_consistent(bungo):
    out = bungo.output_dir
    wide = pd.read_csv(out / "zone_stats_planning_units.csv")
    tidy = pd.read_csv(out / "zone_class_areas_planning_units.csv")
    assert set(tidy["kind"]) == {"actual", "potential", "limiting"}
    per_zone = tidy[tidy["kind"] == "actual"].groupby("zone_id")["hectares"].sum()
    pot = tidy[tidy["kind"] == "potential"].groupby("zone_id")["hectares"].sum()
    np.testing.assert_allclose(pot.loc[wide["zone_id"]].to_numpy(), wide["area_ha"], rtol=1e-6)
    np.testing.assert_allclose(per_zone.loc[wide["zone_id"]].to_numpy(), wide["area_ha"], rtol=1e-6)
    fca = pd.read_csv(out / "factor_class_areas_planning_units.csv")
    for f, g in fca.groupby("factor"):
        np.testing.assert_allclose(g.groupby("zone_id")["hectares"].sum().loc[wide["zone_id"]].to_numpy(),
                                   wide["area_ha"], rtol=1e-6)
    xl = pd.read_excel(out / "zone_stats.xlsx", sheet_name=None)
    assert {"planning_units", "AOI"} <= set(xl)
    assert list(xl["planning_units"]["zone_name"]) == list(wide["zone_name"])
    gpkg = gpd.read_file(out / "zones.gpkg", layer="planning_units")
    assert gpkg["suitable_ha"].to_numpy() == pytest.approx(wide["suitable_ha"].to_numpy(), abs=1e-6)
    # statistics are ordered and bounded
    assert (wide["score_min"] <= wide["score_p10"] + 1e-3).all()
    assert (wide["score_p10"] <= wide["score_median"]).all() and (wide["score_median"] <= wide["score_p90"]).all()
    assert (wide["score_p90"] <= wide["score_max"] + 1e-3).all()
    assert ((wide["valid_share"] >= 0) & (wide["valid_share"] <= 1)).all()
