"""gies's Ecocrop seasonal model with ``rainfall: dismo`` against an R oracle.

``tests/reference/ecocrop_oracle.R`` computed dismo's ``.doEcocrop`` cell by cell in plain R
(its trapezoid ``.getY`` and raster's circular ``movingFun`` written out): on every valid
cell of the Senegal tile with sorghum's ECOCROP parameters (``ecocrop_oracle_senegal.csv``:
the best score and dismo's best periods, ``which(suit == max(suit))``, all of them), and on
240 random cells with cycles of 1 to 12 months and killing temperatures
(``ecocrop_oracle_cells.csv``, inputs on a 0.25 grid, exact in float32). Agreement on a
month means gies's best start month (the first of the ties) is one of dismo's. This test
needs neither R nor dismo.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from gies.methods.registry import SEASONAL

REF = Path(__file__).resolve().parents[1] / "reference"
SEN = REF.parents[1] / "data" / "sample" / "senegal"
T, R = (8, 27, 35, 40), (300, 500, 1000, 3000)  # sorghum (low altitude), ECOCROP


def _rows(name: str) -> list[dict]:
    with open(REF / name, newline="") as f:
        return list(csv.DictReader(f))


def _ties(row: dict) -> set[int]:
    return {int(v) for v in row["maxper"].split()}


@pytest.fixture(scope="module")
def tile():
    def read(name):
        with rasterio.open(SEN / name) as src:
            return xr.DataArray(src.read(), dims=("band", "y", "x"))
    rows = _rows("ecocrop_oracle_senegal.csv")
    rc = np.array([(int(r["row"]), int(r["col"])) for r in rows])
    return read("ta.tif"), read("pr.tif"), rows, rc


def _agreement(score, month, rows, rc):
    s, m = score.values[rc[:, 0], rc[:, 1]], month.values[rc[:, 0], rc[:, 1]]
    agree = sum(int(mi) in _ties(r) for mi, r in zip(m, rows))
    diff = np.abs(s - np.array([float(r["score"]) for r in rows]))
    return agree, float(diff.max())


def test_the_oracle_covers_the_valid_cells_of_the_tile(tile):
    ta, pr, rows, rc = tile
    valid = ~(np.isnan(ta.values).any(axis=0) | np.isnan(pr.values).any(axis=0))
    assert len(rows) == valid.sum() == 3370 and valid[rc[:, 0], rc[:, 1]].all()


def test_dismo_scoring_matches_the_oracle_on_the_senegal_tile(tile):
    ta, pr, rows, rc = tile
    score, month = SEASONAL["ecocrop"](ta, pr, temperature=T, rainfall=R, gmin=90, gmax=300,
                                       rainfall_scoring="dismo")
    agree, diff = _agreement(score, month, rows, rc)
    # float32 scores against R's doubles
    assert agree == len(rows) and diff < 1e-6
    # the season total scored once gives none of dismo's start months on this tile
    score, month = SEASONAL["ecocrop"](ta, pr, temperature=T, rainfall=R, gmin=90, gmax=300)
    agree, diff = _agreement(score, month, rows, rc)
    assert agree == 0 and diff > 0.2


def test_dismo_scoring_matches_the_oracle_on_random_cells():
    rows = _rows("ecocrop_oracle_cells.csv")
    assert len(rows) == 240
    assert sum(len(_ties(r)) > 1 for r in rows) > 50 and sum(r["maxper"] == "0" for r in rows) > 50
    durations = set()
    for r in rows:
        def stack(name):
            v = np.array([float(r[f"{name}{k}"]) for k in range(1, 13)], dtype=np.float32)
            return xr.DataArray(v.reshape(12, 1, 1), dims=("band", "y", "x"))
        score, month = SEASONAL["ecocrop"](
            stack("tavg"), stack("prec"), tmin=stack("tmin"), ktmp=float(r["ktmp"]),
            temperature=T, rainfall=R, gmin=int(r["gmin"]), gmax=int(r["gmax"]),
            rainfall_scoring="dismo")
        durations.add(score.attrs["duration_months"])
        assert int(month[0, 0]) in _ties(r), r
        assert float(score[0, 0]) == pytest.approx(float(r["score"]), abs=1e-6), r
    assert durations == set(range(1, 13))


def test_the_pipeline_key_reaches_the_model_and_the_manifest(run_pipeline, tile):
    ta, pr, rows, rc = tile
    r = run_pipeline("senegal-sorghum-seasonal.yaml", seasonal={"rainfall": "dismo"},
                     outputs={"publish": False, "xlsx": False})
    with rasterio.open(r.output_dir / "best_start_month.tif") as src:
        best = src.read(1)
    assert sum(int(best[i, j]) in _ties(row) for (i, j), row in zip(rc, rows)) == len(rows)
    man = json.loads((r.output_dir / "manifest.json").read_text(encoding="utf-8"))
    assert man["config"]["seasonal"]["rainfall"] == "dismo"
    assert man["combination"]["seasonal"] == {"duration_months": 6, "basis": "season",
                                              "rainfall": "dismo"}
