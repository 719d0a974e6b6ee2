"""The size a grid asks for: refused above processing.max_cells or the free disk."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest

import gies
from gies.errors import ConfigError, DiskSpaceWarning
from gies.stages import plan as plan_mod

REPO = Path(__file__).resolve().parents[3]


def _pipeline(tmp_path, **grid):
    p = gies.load_pipeline(REPO / "pipelines" / "senegal-sorghum.yaml")
    p = p.replace(outputs={"dir": str(tmp_path / "out")})
    return p.replace(grid={"like": None, **grid}) if grid else p


def test_the_estimate_counts_cells_bytes_and_time(tmp_path):
    p = _pipeline(tmp_path)
    pl = plan_mod.plan(p)
    est = plan_mod.estimate_size(p, pl.grid, threads=2)
    # 60 x 60 cells; suitability + 3 factor scores (float32) + classes + limiting (uint8),
    # with a third more for the overviews: 3600 * (4 * 4 + 2) * 4/3 bytes
    assert est.cells == 3600
    assert est.output_bytes == pytest.approx(3600 * 18 * 4 / 3)
    # three layers read: 3600 * 3 / (12e6 * 2) seconds
    assert est.seconds == pytest.approx(3600 * 3 / 24e6)
    assert pl.size is not None and pl.size.cells == 3600


def test_a_resolution_in_the_wrong_units_is_refused_with_the_numbers(tmp_path, monkeypatch):
    # 1e-6 degrees on the 1-degree tile: 1e12 cells
    p = _pipeline(tmp_path, crs="EPSG:4326", resolution=1e-6)
    with pytest.raises(ConfigError) as e:
        plan_mod.plan(p)
    text = str(e.value)
    assert text.startswith("grid: 1,000,000 × 1,000,000 cells at a resolution of 1e-06 degrees")
    assert "above processing.max_cells = 2e+09" in text and "about 24 TB of output rasters" in text
    assert "of computing on" in text
    # raised, the same grid passes the cell limit, and the disk check names what it needs
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(plan_mod.shutil, "disk_usage", lambda path: usage(0, 0, 10**11))
    q = p.replace(processing={"max_cells": 1e13})
    import geopandas as gpd
    from shapely.geometry import box

    from gies.grid import Grid

    big = Grid.from_aoi(gpd.GeoDataFrame(geometry=[box(-17, 14, -16, 15)], crs="EPSG:4326"),
                        crs="EPSG:4326", resolution=1e-6)
    with pytest.raises(ConfigError, match=r"outputs.dir: .* free, and the run's outputs "
                       r"need at least about 240 GB \(1e\+12 cells"):
        plan_mod.check_size(q, big)


def test_a_disk_that_cannot_hold_the_outputs_is_refused(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    p = _pipeline(tmp_path)
    monkeypatch.setattr(plan_mod.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 100))
    with pytest.raises(ConfigError) as e:
        plan_mod.plan(p)
    assert str(e.value).startswith(f"outputs.dir: {tmp_path} has 100 B free")
    # enough for the compressed outputs but not half the uncompressed size: a warning
    monkeypatch.setattr(plan_mod.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 20_000))
    pl = plan_mod.plan(p)
    assert [type(w) for w in pl.warnings] == [DiskSpaceWarning]
    assert "may not fit" in str(pl.warnings[0])
