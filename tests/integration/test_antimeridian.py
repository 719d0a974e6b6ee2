"""Natural Earth's Fiji, whose Rabi Island is a ring crossing the antimeridian with jumps of
360° of longitude, as the AOI and as zones of a pipeline: on an auto-LAEA grid, on an
EPSG:4326 grid built from the AOI (0..360 longitudes) and on a −180..180 raster's grid.
The layers are synthetic: constant values on a world-wide strip of latitudes."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon

import gies
from gies.cli import main
from gies.config import load_pipeline
from gies.stages.plan import plan

REPO = Path(__file__).resolve().parents[2]
FIJI = REPO / "tests" / "data" / "fiji" / "ne50m_admin0_fiji.geojson"
GEOD = Geod(ellps="WGS84")
RABI = (-179.95, -16.48)  # inside Rabi Island

GRIDS = {
    "auto-laea": "{crs: auto, resolution: 5000}",
    "epsg4326": '{crs: "EPSG:4326", resolution: 0.05}',
    "like-raster": "{like: temperature}",
}


def geod_area(geom) -> float:
    """Geodesic area (m²) of lon/lat polygons, each ring measured on its own (Geod joins
    vertices the short way, across ±180° for a ring written with jumps)."""
    def ring(r) -> float:
        return abs(GEOD.geometry_area_perimeter(Polygon(r))[0])

    return sum(ring(p.exterior) - sum(ring(h) for h in p.interiors)
               for p in shapely.get_parts(geom))


#: Fiji's area from the file as written: 18,338.18 km²
FIJI_M2 = geod_area(gpd.read_file(FIJI).geometry.iloc[0])


@pytest.fixture(scope="module")
def layers(tmp_path_factory) -> Path:
    """Temperature, rainfall and pH, constant, on a 0.1° EPSG:4326 strip −180..180 × 23..11° S."""
    d = tmp_path_factory.mktemp("fiji-layers")
    t = Affine(0.1, 0.0, -180.0, 0.0, -0.1, -11.0)
    for name, value in (("ta", 27.0), ("pr", 900.0), ("ph", 6.5)):
        with rasterio.open(d / f"{name}.tif", "w", driver="GTiff", height=120, width=3600,
                           count=1, dtype="float32", crs="EPSG:4326", transform=t) as ds:
            ds.write(np.full((120, 3600), value, dtype="float32"), 1)
    return d


def _pipeline(layers: Path, tmp_path: Path, grid: str) -> Path:
    text = f"""
format_version: 1
name: fiji
title: Fiji across the antimeridian
aoi: {{path: {FIJI}}}
zones:
  country: {{path: {FIJI}, id_field: id, name_field: name}}
grid: {grid}
layers:
  temperature: {{path: {layers / "ta.tif"}, units: degC}}
  rainfall: {{path: {layers / "pr.tif"}, units: mm}}
  ph: {{path: {layers / "ph.tif"}, units: pH}}
product: {{profile: sorghum, limit_set: ecocrop}}
factors:
  temperature: {{layer: temperature}}
  rainfall: {{layer: rainfall}}
  ph: {{layer: ph}}
combine: {{rule: minimum}}
outputs: {{dir: {tmp_path / "out"}}}
"""
    path = tmp_path / "fiji.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _to_grid(grid, lon: float, lat: float) -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(lon, lat)
    return float(x), float(y)


@pytest.mark.parametrize("grid", ["auto-laea", "epsg4326"])
def test_fiji_as_aoi_validates(layers, tmp_path, capsys, grid):
    # the union of the AOI used to stop with a GEOS TopologyException (a traceback)
    assert main(["validate", str(_pipeline(layers, tmp_path, GRIDS[grid]))]) == 0
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and "valid" in cap.out
    g = plan(load_pipeline(_pipeline(layers, tmp_path, GRIDS[grid]))).grid
    x0, y0, x1, y1 = g.bounds
    # Viti Levu (west of 180°), Rabi Island, the Lau group's Ono-i-Lau (east of 180°) and
    # the outliers Rotuma (north-west) and Hunter Island (south-west)
    for lon, lat in [(178.0, -17.8), RABI, (-178.72, -20.66), (177.05, -12.5), (174.6, -21.69)]:
        x, y = _to_grid(g, lon, lat)
        assert x0 <= x <= x1 and y0 <= y <= y1, (lon, lat)
    if grid == "auto-laea":
        assert x1 - x0 < 800_000  # the AOI's 7.1° of longitude, not the world
    else:
        assert g.bounds == pytest.approx((174.55, -21.75, 181.75, -12.45))


@pytest.mark.parametrize("grid", list(GRIDS))
def test_fiji_as_zones_keeps_its_area_and_rabi(layers, tmp_path, grid):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to repair: no "repaired (make_valid)"
        pl = plan(load_pipeline(_pipeline(layers, tmp_path, GRIDS[grid])))
    zone = pl.zones["country"].geometry.iloc[0]
    if pl.grid.is_geographic:
        area = geod_area(zone)
    else:  # Lambert azimuthal equal-area: plane areas are ground areas
        area = zone.area
    assert area == pytest.approx(FIJI_M2, rel=1e-5)
    assert area == pytest.approx(18_338.18e6, rel=1e-5)
    rabi = Point(_to_grid(pl.grid, *RABI))
    if grid == "epsg4326":  # the grid's longitudes are 0..360 (+lon_wrap=180)
        assert rabi.x == pytest.approx(180.05)
    assert zone.contains(rabi)
    assert pl.aoi.geometry.iloc[0].contains(rabi)


@pytest.mark.parametrize("grid", ["auto-laea", "epsg4326"])
def test_fiji_zone_table_area(layers, tmp_path, grid):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gies.run(_pipeline(layers, tmp_path, GRIDS[grid]), output_root=tmp_path / "o")
    row = result.zone_stats["country"].iloc[0]
    # coverage-weighted cell areas: exact fractions of cells of 5 km (or 0.05°)
    assert row["zone_id"] == "242" and not row["empty"]
    assert row["area_ha"] == pytest.approx(FIJI_M2 / 1e4, rel=1e-5)
    assert row["valid_share"] == pytest.approx(1.0)
