"""Bradypus variegatus (the brown-throated sloth of Phillips et al. 2006) on the bioclim stack
of South America at 0.5°: maxent and the down-sampled random forest under random and
spatially blocked 5-fold cross-validation.

Reads ``data/sample/south-america/bio.tif`` (EPSG:4326, bands bio1, bio5, bio6, bio7, bio8,
bio9, bio12, bio16, bio17; band 6, bio9, duplicates band 1 in the source and is dropped) and
``bradypus.csv`` (116 records, lon/lat). Distances and block sizes are in degrees. Run with
``-s`` to see the figures.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from gies.methods.sdm import maxent, random_forest
from gies.methods.spatialcv import (
    block_folds,
    block_size_auto,
    cross_validate,
    permutation_importance,
    random_folds,
    response_curves,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "sample" / "south-america"
NAMES = ("bio1", "bio5", "bio6", "bio7", "bio8", "bio12", "bio16", "bio17")
ALGORITHMS = {"maxent": maxent, "random_forest": random_forest}
SEED = 1
FIXED_BLOCK = 5.0  # degrees

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bradypus():
    """Presences (distinct cells of the records) and background (valid cells) with their
    predictors and cell-centre coordinates."""
    import pandas as pd
    import rasterio
    from rasterio.transform import rowcol

    with rasterio.open(DATA / "bio.tif") as src:
        stack = np.delete(src.read().astype(np.float64), 5, axis=0)  # bio9 repeats bio1
        transform = src.transform
    records = pd.read_csv(DATA / "bradypus.csv")
    # rasterio's rowcol floors: a record on a cell edge falls in the cell right of / below it
    rows, cols = rowcol(transform, records.lon.to_numpy(), records.lat.to_numpy())
    columns_from_edge = (records.lon.to_numpy() - transform.c) / transform.a
    rows_from_edge = (records.lat.to_numpy() - transform.f) / transform.e
    on_edge = int(np.sum((columns_from_edge == np.round(columns_from_edge))
                         | (rows_from_edge == np.round(rows_from_edge))))
    width = stack.shape[2]
    presence_cells = np.unique(np.asarray(rows) * width + np.asarray(cols))
    cells = stack.reshape(stack.shape[0], -1).T
    valid = np.flatnonzero(np.all(np.isfinite(cells), axis=1))
    # 10,000 seeded random valid cells (there are fewer: then all of them)
    background = np.random.default_rng(SEED).permutation(valid)[:10_000]
    index = np.r_[presence_cells, background]
    r, c = np.divmod(index, width)
    xy = np.c_[transform.c + (c + 0.5) * transform.a, transform.f + (r + 0.5) * transform.e]
    y = np.r_[np.ones(len(presence_cells)), np.zeros(len(background))].astype(np.int8)
    return {"X": cells[index], "y": y, "xy": xy, "records": len(records), "on_edge": on_edge,
            "valid": len(valid), "presence_valid": bool(np.isin(presence_cells, valid).all())}


@pytest.fixture(scope="module")
def auto_block(bradypus):
    t = time.perf_counter()
    size, ranges = block_size_auto(bradypus["X"], bradypus["xy"], seed=SEED)
    each = ", ".join(f"{n} {r:.1f}" for n, r in zip(NAMES, ranges))
    print(f"\nauto block size {size:.2f}° (median of {each}) in {time.perf_counter() - t:.1f} s")
    return size, ranges


@pytest.fixture(scope="module")
def results(bradypus, auto_block):
    X, y, xy = bradypus["X"], bradypus["y"], bradypus["xy"]
    presence = y == 1
    schemes = {
        "random": ("random 5-fold", random_folds(len(y), presence, 5, SEED)),
        "blocks": (f"blocks {FIXED_BLOCK:g}° 5-fold",
                   block_folds(xy, presence, block_size=FIXED_BLOCK, folds=5, seed=SEED)),
        "blocks auto": (f"blocks auto {auto_block[0]:.1f}° 4-fold",
                        block_folds(xy, presence, block_size=auto_block[0], folds=4, seed=SEED)),
    }
    out = {}
    for name, fit in ALGORITHMS.items():
        for key, (label, folds) in schemes.items():
            t = time.perf_counter()
            cv = cross_validate(fit, X, y, xy, folds, names=NAMES, seed=SEED)
            m, s = cv["mean"], cv["sd"]
            print(f"{name:13s} {label:24s} " + "  ".join(
                f"{k} {m[k]:.3f} ± {s[k]:.3f}" for k in ("auc", "boyce", "tss", "omission"))
                + f"  test presences {cv['cv']['test_presence']}  {time.perf_counter() - t:.1f} s")
            out[name, key] = cv
    return out


def test_presence_cells(bradypus):
    assert bradypus["records"] == 116
    assert bradypus["on_edge"] == 12
    assert (bradypus["y"] == 1).sum() == 94 and bradypus["presence_valid"]
    assert bradypus["valid"] == 9775 and (bradypus["y"] == 0).sum() == 9775


def test_auto_block_size_is_too_large_for_five_folds(bradypus, auto_block):
    """Continental climate varies over distances of the continent's size: the variogram
    ranges are tens of degrees, and blocks that large leave 4 blocks holding presences."""
    size, ranges = auto_block
    assert 20 < size < 90 and all(5 < r < 130 for r in ranges)
    assert size == np.median(ranges)
    with pytest.raises(ValueError, match="only 4 blocks .* hold presences, fewer than the 5 "
                                         "folds"):
        block_folds(bradypus["xy"], bradypus["y"] == 1, block_size=size, folds=5, seed=SEED)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_spatial_cv_scores_lower_than_random_splits(results, name):
    random_auc = results[name, "random"]["mean"]["auc"]
    for scheme in ("blocks", "blocks auto"):
        cv = results[name, scheme]
        assert 0.6 < cv["mean"]["auc"] < 0.95
        assert cv["mean"]["auc"] < random_auc
        assert all(f["test_presence"] > 0 for f in cv["folds"])
        assert -1 <= cv["mean"]["boyce"] <= 1 and 0 < cv["mean"]["tss"] < 1
    assert 0.8 < random_auc < 0.95
    blocks = results[name, "blocks"]["mean"]
    if name == "maxent":  # near the 10 % it is set at when the model transfers
        assert blocks["omission"] < 0.4
    else:  # fully grown trees fit their training presences almost exactly
        assert blocks["omission"] > 0.5


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_full_model_importance_and_response(bradypus, name):
    X, y = bradypus["X"], bradypus["y"]
    t = time.perf_counter()
    model = ALGORITHMS[name](X, y, names=NAMES, seed=SEED)
    fitted = time.perf_counter() - t
    importance = permutation_importance(model, X, y, seed=SEED, n_repeats=3)
    ranked = sorted(importance, key=lambda n: -importance[n][0])
    print(f"\n{name}: fit {fitted:.1f} s; importance (AUC drop) "
          + ", ".join(f"{n} {importance[n][0]:.3f}" for n in ranked[:4]))
    assert importance[ranked[0]][0] > 0.01
    curves = response_curves(model, X, NAMES, n=50)
    assert set(curves) == set(NAMES)
    for grid, response in curves.values():
        assert len(grid) == 50 and np.all((response >= 0) & (response <= 1))
    d = model.describe()
    assert d["n_presence"] == 94 and d["n_background"] == 9775
    if name == "maxent":
        assert d["feature_classes"] == "lqph" and d["converged"]
        assert not math.isnan(d["entropy"])
