"""End to end: the Senegal sorghum pipeline (monthly climate, geographic grid)."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Geod

REPO = Path(__file__).resolve().parents[2]

SEN = "data/sample/senegal/"


@pytest.fixture(scope="module")
def senegal(run_pipeline):
    return run_pipeline("senegal-sorghum.yaml")


def _trap(x, a, b, c, d):
    if x <= a or x >= d:
        return 0.0
    if x < b:
        return (x - a) / (b - a)
    if x <= c:
        return 1.0
    return (d - x) / (d - c)


def test_hand_computed_pixels(senegal, repo):
    ta = rasterio.open(repo / SEN / "ta.tif").read()
    pr = rasterio.open(repo / SEN / "pr.tif").read()
    ph = rasterio.open(repo / SEN / "ph.tif").read(1)
    with rasterio.open(senegal.output_dir / "suitability.tif") as ds:
        score = ds.read(1)
    with rasterio.open(senegal.output_dir / "classes.tif") as ds:
        classes = ds.read(1)
    for r, c in [(10, 50), (30, 30), (45, 55), (5, 40), (55, 20)]:
        t = ta[5:10, r, c].astype(float).mean()      # June..October
        rain = pr[5:10, r, c].astype(float).sum()
        s = min(_trap(t, 8, 27, 35, 40), _trap(rain, 300, 500, 1000, 3000),
                _trap(float(ph[r, c]), 5.0, 6.0, 7.0, 8.5))
        assert score[r, c] == pytest.approx(s, abs=1e-5), (r, c, t, rain, ph[r, c])
        expected = 1 if s >= 0.8 else 2 if s >= 0.6 else 3 if s >= 0.4 else 4
        assert classes[r, c] == expected


def test_ocean_is_nodata_inside_aoi(senegal, repo):
    ta = rasterio.open(repo / SEN / "ta.tif").read(1)
    with rasterio.open(senegal.output_dir / "classes.tif") as ds:
        classes = ds.read(1)
    assert np.all(classes[np.isnan(ta)] == 254)
    assert not np.any(classes == 255)  # the AOI is the whole tile


def test_aoi_area_is_the_ellipsoidal_tile_area(senegal):
    # the tile's edges follow parallels, not geodesics: densify them so Geod measures the tile
    lon = np.r_[np.linspace(-17, -16, 2000), np.full(10, -16), np.linspace(-16, -17, 2000), np.full(10, -17)]
    lat = np.r_[np.full(2000, 14), np.linspace(14, 15, 10), np.full(2000, 15), np.linspace(15, 14, 10)]
    area_m2, _ = Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)
    assert senegal.aoi_summary["area_ha"].iloc[0] == pytest.approx(abs(area_m2) / 1e4, rel=1e-6)


def test_regions_clipped_to_tile(senegal):
    z = senegal.zone_stats["regions"].set_index("zone_id")
    assert set(z.index[~z["empty"]]) == {"SN-TH", "SN-DB", "SN-FK", "SN-KL", "SN-LG"}
    assert (z.loc[z["empty"], "area_ha"] == 0).all()
    parts = z[["S1_ha", "S2_ha", "S3_ha", "N_ha", "excluded_ha", "nodata_ha", "outside_ha"]].sum(axis=1)
    np.testing.assert_allclose(parts, z["area_ha"], rtol=1e-9)
    # the regions cover the land part of the tile: less than the tile, more than its valid land
    a = senegal.aoi_summary.iloc[0]
    assert a["area_ha"] - a["nodata_ha"] * 1.2 < z["area_ha"].sum() < a["area_ha"]


@pytest.mark.slow
def test_seasonal_inputs_are_converted_from_their_declared_units(run_pipeline, shipped, tmp_path):
    """Monthly rainfall stored in cm and declared so scores exactly as the mm file; the same
    file declared in cm without rescaling (ten times the rain) does not."""
    import numpy as np
    import rasterio

    src = REPO / "data" / "sample" / "senegal" / "pr.tif"
    with rasterio.open(src) as ds:
        prof, data = ds.profile, ds.read()
    cm = tmp_path / "pr_cm.tif"
    with rasterio.open(cm, "w", **prof) as dst:
        dst.write((data / 10).astype(prof["dtype"]))
    base = shipped("senegal-sorghum-seasonal")
    in_cm = run_pipeline("senegal-sorghum-seasonal.yaml",
                         layers={"prec": {"path": str(cm), "units": "cm"}})
    as_cm = run_pipeline("senegal-sorghum-seasonal.yaml", layers={"prec": {"units": "cm"}})

    def score(result):
        with rasterio.open(result.output_dir / "suitability.tif") as ds:
            return ds.read(1)

    np.testing.assert_allclose(score(in_cm), score(base), atol=1e-6, equal_nan=True)
    assert not np.allclose(score(as_cm), score(base), equal_nan=True)
    limits = base.manifest["product"]["limits_used"]
    assert {"temperature", "rainfall", "ph"} <= set(limits)


def test_seasonal_input_in_units_of_another_quantity_is_refused():
    import gies
    from gies.errors import ConfigError

    p = gies.load_pipeline(REPO / "pipelines" / "senegal-sorghum-seasonal.yaml")
    with pytest.raises(ConfigError, match=r"layers\.prec\.units: seasonal\.prec: .*in mm"):
        p.replace(layers={"prec": {"units": "degC"}})
