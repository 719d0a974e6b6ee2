"""The Python API on the shipped data: validate, build, replace, RunResult.open."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr

import gies
from gies.grid import grid_of

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SENEGAL = REPO / "pipelines" / "senegal-sorghum.yaml"


def test_validate_reports_instead_of_raising(tmp_path):
    report = gies.validate(SENEGAL)
    assert report.ok and report.problems == () and report.plan.grid.shape == (60, 60)
    assert "valid" in str(report)
    bad = tmp_path / "p.yaml"
    bad.write_text(SENEGAL.read_text().replace("../", f"{REPO}/")
                   .replace("senegal/ph.tif", "senegal/nope.tif"))
    report = gies.validate(bad)
    assert not report.ok and "layers.ph" in report.problems[0]
    with pytest.raises(gies.LayerError):
        report.raise_for_problems()


def test_build_gives_the_run_s_layers_lazily_and_they_survive_netcdf(shipped, tmp_path):
    ds = gies.build(SENEGAL)
    assert {"score", "classes", "limiting", "score_temperature", "score_rainfall",
            "score_ph"} <= set(ds.data_vars)
    assert all(hasattr(v.data, "dask") for v in ds.data_vars.values())
    run = shipped("senegal-sorghum")
    with rasterio.open(run.output_dir / "classes.tif") as src:
        np.testing.assert_array_equal(ds.classes.values, src.read(1))
    with rasterio.open(run.output_dir / "suitability.tif") as src:
        np.testing.assert_array_equal(ds.score.values, src.read(1))
    ds.to_netcdf(tmp_path / "senegal.nc")
    with xr.open_dataset(tmp_path / "senegal.nc") as back:
        assert grid_of(back.classes) == grid_of(ds.classes) == gies.validate(SENEGAL).plan.grid


def test_replace_then_build_changes_only_what_was_asked():
    p = gies.load_pipeline(SENEGAL)
    q = p.replace(classify={"thresholds": {"S1": 0.9, "S2": 0.7, "S3": 0.5}})
    a, b = gies.build(p), gies.build(q)
    xr.testing.assert_equal(a.score, b.score)
    assert (a.classes.values != b.classes.values).any()
    assert p.scheme.s1 == 0.8 and q.scheme.s1 == 0.9


def test_run_result_opens_its_rasters(shipped):
    run = shipped("senegal-sorghum")
    classes = run.open("classes")
    with rasterio.open(run.output_dir / "classes.tif") as src:
        np.testing.assert_array_equal(classes.values, src.read(1))
    assert grid_of(classes).shape == (60, 60) and run.open("score_ph.tif").dtype == np.float32
    with pytest.raises(gies.GiesError, match="did you mean 'classes'"):
        run.open("clases")
    assert "senegal-sorghum" in repr(run) and "S2" in repr(run)
