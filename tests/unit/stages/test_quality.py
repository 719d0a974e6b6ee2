"""The pass's cell counts (:class:`gies.runner.CellCounts`): True cells of boolean layers,
non-NaN cells of float layers, over several chunks, as numpy counts them."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from gies.runner import CellCounts


def _lazy(a, chunk):
    return xr.DataArray(a, dims=("y", "x")).chunk({"y": chunk, "x": chunk})


def test_counts_true_and_valid_cells_over_chunks():
    rng = np.random.default_rng(4)
    f = rng.random((70, 45)).astype(np.float32)
    f[rng.random(f.shape) < 0.3] = np.nan
    g = rng.random((70, 45))
    g[:10] = np.nan
    b = rng.random((70, 45)) < 0.2
    counts = CellCounts([_lazy(f, 16), _lazy(b, 16), _lazy(g, 32)])  # chunks aligned inside
    assert counts.parts.numblocks == (1, 5, 3)  # one vector per chunk of the first layer
    assert counts.totals.tolist() == [0, 0, 0]  # nothing counted before the pass
    dsa.store(counts.parts, counts, lock=False)
    assert counts.totals.tolist() == [int(np.isfinite(f).sum()), int(b.sum()),
                                      int(np.isfinite(g).sum())]
    assert counts.totals[2] == 60 * 45


def test_counts_by_the_blocks_asked_for():
    rng = np.random.default_rng(5)
    b = rng.random((70, 45)) < 0.4
    counts = CellCounts([_lazy(b, 16), xr.DataArray(b, dims=("y", "x"))], chunks=(35, 45))
    assert counts.parts.numblocks == (1, 2, 1)  # a numpy layer too, by the outputs' blocks
    dsa.store(counts.parts, counts, lock=False)
    assert counts.totals.tolist() == [int(b.sum())] * 2


def test_no_layers_count_nothing():
    counts = CellCounts([])
    assert counts.parts is None and counts.totals.size == 0


# -- no-data share of the AOI ----------------------------------------------------------------
import pytest  # noqa: E402

from gies.errors import DataError  # noqa: E402
from gies.stages.quality import nodata_shares  # noqa: E402


def _totals(aoi, **valid):
    return {"aoi": aoi, **{f"valid_{k}": v for k, v in valid.items()}}


def test_nodata_share_is_the_aoi_cells_without_a_score():
    # 1000 AOI cells: a 980 valid, b 990, c 700 (30 % no data)
    shares, found = nodata_shares(_totals(1000, a=980, b=990, c=700),
                                  {"a": ("a",), "b": ("b",), "c": ("c",)},
                                  {"a": None, "b": -9999.0, "c": 0.0}, limit=0.5)
    assert {k: s.cells for k, s in shares.items()} == {"a": 20, "b": 10, "c": 300}
    assert shares["c"].share == pytest.approx(0.3)
    # c: 30 % against a median of 1.5 % for a and b -> warned, naming the nodata value
    assert len(found) == 1
    text = str(found[0])
    assert text.startswith("layers.c: no data on 30.0% of the AOI (300 of 1,000 cells")
    assert "median of 1.5%" in text and "nodata value is 0" in text
    assert shares["c"].manifest() == {"nodata_cells": 300, "aoi_cells": 1000,
                                      "nodata_share": 0.3, "file_nodata": 0.0}


def test_nodata_share_warns_only_beyond_ten_points_over_the_median():
    layers = {"a": ("a",), "b": ("b",), "c": ("c",)}
    nodata = dict.fromkeys(layers)
    # median of the others 0.10; c at 0.20 is exactly 10 points over: no warning
    _, found = nodata_shares(_totals(100, a=90, b=90, c=80), layers, nodata, limit=0.5)
    assert found == []
    _, found = nodata_shares(_totals(100, a=90, b=90, c=79), layers, nodata, limit=0.5)
    assert [str(w).split(":")[0] for w in found] == ["layers.c"]
    assert "its file has no nodata value" in str(found[0])


def test_a_single_layer_has_nothing_to_compare_with():
    _, found = nodata_shares(_totals(100, a=60), {"a": ("a",)}, {"a": 0.0}, limit=0.5)
    assert found == []


def test_nodata_share_above_the_limit_stops_and_names_every_layer():
    with pytest.raises(DataError) as e:
        nodata_shares(_totals(100, a=40, b=30, c=99), {"a": ("a",), "b": ("b",), "c": ("c",)},
                      {"a": 0.0, "b": 255.0, "c": None}, limit=0.5,
                      near_valid=lambda layer, v: "looks real" if layer == "a" else "")
    text = str(e.value)
    assert "layers.a: no data on 60.0%" in text and "layers.b: no data on 70.0%" in text
    assert "layers.c" not in text
    assert "nodata value is 0 (looks real)" in text and "nodata value is 255:" in text
    assert "quality.nodata_above = 0.5" in text and "layers.a.nodata" in text
    # the limit is a share strictly exceeded; 1 never stops
    nodata_shares(_totals(100, a=50), {"a": ("a",)}, {"a": 0.0}, limit=0.5)
    nodata_shares(_totals(100, a=0), {"a": ("a",)}, {"a": 0.0}, limit=1.0)


def test_factors_of_one_layer_share_its_best_valid_count():
    shares, _ = nodata_shares(_totals(100, t1=70, t2=80), {"t": ("t1", "t2")}, {"t": None},
                              limit=0.5)
    assert shares["t"].cells == 20 and shares["t"].factors == ("t1", "t2")


def test_the_stop_says_when_the_checks_made_the_gaps():
    with pytest.raises(DataError) as e:
        nodata_shares(_totals(100, ph=27), {"ph": ("ph",)}, {"ph": None}, limit=0.5,
                      checked={"ph": 7300}, drop_limit=1.0)
    assert ("7,300 cells of the grid were set to no data by its unit/plausibility checks, "
            "kept by quality.drop_factor_above = 1") in str(e.value)


def test_a_layer_declared_partial_warns_instead_of_stopping():
    _, found = nodata_shares(_totals(100, a=95, ph=45), {"a": ("a",), "ph": ("ph",)},
                             {"a": None, "ph": None}, limit=0.5, partial=frozenset({"ph"}))
    assert [str(w) for w in found] == [
        "layers.ph: no data on 55.0% of the AOI (55 of 100 cells; factor(s) ph), above "
        "quality.nodata_above = 0.5; accepted: layers.ph.coverage: warn"]
