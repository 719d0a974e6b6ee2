"""Spatial block folds (properties over random point sets), random folds, the variogram
block size, the evaluation metrics by hand, the cross-validation driver, permutation
importance and response curves."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gies.methods.sdm import maxent
from gies.methods.spatialcv import (
    _partition,
    block_folds,
    block_size_auto,
    boyce,
    cross_validate,
    omission_rate,
    permutation_importance,
    random_folds,
    response_curves,
    roc_auc,
    tss_max,
)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))


def _cells(xy: np.ndarray, block_size: float) -> list[tuple[int, int]]:
    return [tuple(c) for c in np.floor((xy - xy.min(axis=0)) / block_size).astype(int)]


# -- block folds: properties -----------------------------------------------------------------------
coordinate = st.one_of(st.floats(0, 100, allow_nan=False),
                       st.integers(0, 20).map(lambda v: 5.0 * v))  # points on block edges too
point_sets = st.lists(st.tuples(coordinate, coordinate, st.booleans()), min_size=4, max_size=60)


@settings(max_examples=150, deadline=None)
@given(points=point_sets, block_size=st.floats(2.0, 60.0), folds=st.integers(2, 5),
       seed=st.integers(0, 2**32 - 1), buffer=st.sampled_from([0.0, 1.0, 5.0, 12.5]))
def test_block_folds_properties(points, block_size, folds, seed, buffer):
    xy = np.array([p[:2] for p in points], dtype=np.float64)
    is_presence = np.array([p[2] for p in points])
    cells = _cells(xy, block_size)
    held = len({c for c, p in zip(cells, is_presence) if p})
    if held < folds:
        with pytest.raises(ValueError, match="hold presences|cannot fill"):
            block_folds(xy, is_presence, block_size=block_size, folds=folds, seed=seed,
                        buffer=buffer)
        return
    f = block_folds(xy, is_presence, block_size=block_size, folds=folds, seed=seed,
                    buffer=buffer)
    # every point in exactly one fold; every fold has test presences
    assert f.fold.shape == (len(xy),) and set(f.fold) <= set(range(folds))
    assert sum(f.test_mask(k).sum() for k in range(folds)) == len(xy)
    assert all((f.test_mask(k) & is_presence).any() for k in range(folds))
    # a block's presences and background points go to the same fold
    fold_of_cell = {}
    for c, k in zip(cells, f.fold):
        assert fold_of_cell.setdefault(c, k) == k
    # the same seed gives the same folds
    again = block_folds(xy, is_presence, block_size=block_size, folds=folds, seed=seed,
                        buffer=buffer)
    np.testing.assert_array_equal(again.fold, f.fold)
    # training points are at least `buffer` from every test point, and only those closer
    # are dropped
    for k in range(folds):
        test, train = f.test_mask(k), f.train_mask(k)
        assert not (test & train).any()
        if train.any():
            assert _distances(xy[train], xy[test]).min() >= buffer
        dropped = ~test & ~train
        if dropped.any():
            assert np.all(_distances(xy[dropped], xy[test]).min(axis=1) < buffer)


# -- block folds: by hand ----------------------------------------------------------------------------
def test_points_on_block_edges_belong_to_the_block_right_and_above():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [9.999, 0.0], [0.0, 10.0], [20.0, 20.0]])
    f = block_folds(xy, np.ones(5, dtype=bool), block_size=10.0, folds=2, seed=0)
    blocks = f.block
    assert blocks[0] == blocks[2]  # both in [0, 10)
    assert len({blocks[0], blocks[1], blocks[3], blocks[4]}) == 4
    assert f.n_blocks == 4


def test_too_few_blocks_with_presences_is_an_error():
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [60.0, 0.0], [61.0, 1.0], [30.0, 80.0]])
    presence = np.array([True, True, True, False, False])
    with pytest.raises(ValueError, match=r"^only 2 blocks of side 50 hold presences, fewer "
                                         r"than the 3 folds: use a smaller block_size or "
                                         r"fewer folds"):
        block_folds(xy, presence, block_size=50.0, folds=3, seed=1)


@pytest.mark.parametrize("parts, cuts", [(2, [7]), (3, [6, 8]), (5, [4, 6, 7, 9])])
def test_partition_by_presence_counts_follows_verde(parts, cuts):
    # verde.utils.partition_by_sum(np.arange(10), parts) gives these split points
    labels = _partition(np.arange(10), parts)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(parts),
                                                    np.diff([0, *cuts, 10])))


def test_partition_falls_back_to_equal_numbers_of_blocks():
    # one block holds almost everything: cutting by counts would leave a part empty
    np.testing.assert_array_equal(_partition(np.array([50, 1, 1, 1]), 2), [0, 0, 1, 1])
    np.testing.assert_array_equal(_partition(np.array([3, 4]), 3), [0, 1])


def test_folds_are_balanced_on_presences():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, size=(2000, 2))
    presence = rng.random(2000) < 0.1
    f = block_folds(xy, presence, block_size=5.0, folds=5, seed=2)
    counts = np.bincount(f.fold[presence])
    assert counts.max() - counts.min() <= 0.25 * counts.mean()
    d = f.describe()
    assert d["method"] == "spatial_blocks" and d["test_presence"] == counts.tolist()
    assert sum(d["test_blocks"]) == d["n_blocks"] == len(set(_cells(xy, 5.0)))


def test_block_folds_parameter_errors():
    xy = np.zeros((4, 2))
    p = np.array([True, True, False, False])
    for kwargs, message in [({"block_size": 0}, "block_size"), ({"buffer": -1}, "buffer"),
                            ({"folds": 1}, "folds"), ({"folds": 3}, "cannot fill")]:
        args = {"block_size": 1.0, "folds": 2, "seed": 0, **kwargs}
        with pytest.raises(ValueError, match=message):
            block_folds(xy, p, **args)
    with pytest.raises(ValueError, match="xy must be"):
        block_folds(np.zeros((3, 2)), p, block_size=1.0, folds=2, seed=0)


def test_random_folds_are_stratified_and_seeded():
    presence = np.arange(103) % 4 == 0  # 26 presences, 77 background
    f = random_folds(103, presence, 5, seed=9)
    assert np.ptp(np.bincount(f.fold[presence])) <= 1
    assert np.ptp(np.bincount(f.fold[~presence])) <= 1
    np.testing.assert_array_equal(random_folds(103, presence, 5, seed=9).fold, f.fold)
    assert not np.array_equal(random_folds(103, presence, 5, seed=10).fold, f.fold)
    assert f.describe()["method"] == "random"
    np.testing.assert_array_equal(f.train_mask(0), f.fold != 0)


# -- block size from variograms ------------------------------------------------------------------------
def _spherical_field(seed: int, n: int = 500, side: float = 60.0, a: float = 15.0, k: int = 3):
    """``k`` Gaussian fields with a spherical covariance of range ``a`` at ``n`` points."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, side, size=(n, 2))
    r = np.minimum(_distances(xy, xy) / a, 1)
    cov = 1 - 1.5 * r + 0.5 * r ** 3
    return xy, np.linalg.cholesky(cov + 1e-8 * np.eye(n)) @ rng.normal(size=(n, k))


def test_block_size_auto_recovers_a_known_range():
    xy, z = _spherical_field(1)
    size, ranges = block_size_auto(z, xy, seed=0)
    assert len(ranges) == 3
    assert 12 < size < 19
    assert size == np.median(ranges)


def test_block_size_auto_is_deterministic_and_bounded():
    xy, z = _spherical_field(2, n=300, k=2)
    a = block_size_auto(z, xy, seed=5, max_pairs=5000)
    assert block_size_auto(z, xy, seed=5, max_pairs=5000) == a
    assert block_size_auto(z, xy, seed=6, max_pairs=5000) != a  # other pairs
    every = block_size_auto(z, xy, seed=0)  # 44,850 pairs: all of them, whatever the seed
    assert block_size_auto(z, xy, seed=1) == every
    longest = _distances(xy, xy).max()
    assert all(0 < r <= longest for r in every[1])


def test_block_size_auto_skips_constant_variables():
    xy, z = _spherical_field(3, n=200, k=1)
    size, ranges = block_size_auto(np.c_[z, np.full(200, 7.0)], xy, seed=0)
    assert math.isnan(ranges[1]) and size == ranges[0]
    with pytest.raises(ValueError, match="no predictor varies"):
        block_size_auto(np.full((200, 2), 7.0), xy, seed=0)


# -- metrics --------------------------------------------------------------------------------------------
def test_auc_by_hand():
    assert roc_auc([0.9, 0.8], [0.1, 0.2, 0.3]) == 1.0
    assert roc_auc([0.1], [0.5, 0.6]) == 0.0
    assert roc_auc([0.5, 0.9], [0.5, 0.1]) == pytest.approx(0.875)  # one tie counts half


def test_boyce_ordered_and_reversed_by_hand():
    background = [0, 0.25, 0.5, 0.75, 1.0]
    # classes [0, .5], [.5, 1], [1, 1]: P/E = 0/0.6, 1/0.6, (1/3)/0.2 -> 0, 5/3, 5/3; the
    # repeated 5/3 is dropped, so two ratios increasing with suitability: 1
    assert boyce([0.9, 1.0, 0.6], background, nclass=2) == pytest.approx(1.0)
    # P/E = 1/0.6, 0, 0 -> 5/3, 0: decreasing: -1
    assert boyce([0.1, 0.0, 0.4], background, nclass=2) == pytest.approx(-1.0)


def test_boyce_moving_window():
    background = np.linspace(0, 1, 101)
    # ecospat.boyce(fit = 0:100 / 100, obs)$cor: 0.998, -0.945 and 0.821
    assert round(boyce(background ** 0.2, background), 3) == 0.998  # crowding at high values
    assert round(boyce(background ** 5, background), 3) == -0.945
    assert round(boyce([0.7, 0.8, 0.9, 0.95], background), 3) == 0.821


def test_boyce_drops_a_last_ratio_of_one():
    # classes [0.1, 0.55], [0.55, 1], [1, 1]: P/E = 0.5/0.75, 0.5/0.25, 0.25/0.25 = 2/3, 2, 1;
    # the last 1 is dropped (ecospat compares it with TRUE): 1, where all three would give 0.5
    assert boyce([0.1, 0.2, 0.6, 1.0], [0.2, 0.3, 0.5, 1.0], nclass=2) == pytest.approx(1.0)


def test_boyce_needs_two_ratios():
    assert math.isnan(boyce([0.5], [0.5]))


def test_tss_max_by_hand():
    # t = 0.4: sensitivity 3/3, specificity 3/4 (0.1, 0.2, 0.3 below) -> 0.75
    assert tss_max([0.4, 0.8, 0.9], [0.1, 0.5, 0.2, 0.3]) == (0.75, 0.4)
    assert tss_max([0.9, 0.8], [0.1, 0.2]) == (1.0, 0.8)


def test_omission_rate_by_hand():
    train = np.arange(1, 11) / 10  # 10th percentile 0.19 (linear interpolation)
    assert omission_rate(train, [0.1, 0.15, 0.5, 0.9]) == 0.5
    assert omission_rate(train, [0.19, 0.5]) == 0.0
    assert omission_rate(train, [0.3, 0.5], q=0.5) == 1.0


# -- cross-validation ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FirstColumn:
    names: tuple[str, ...]

    def predict(self, X):
        return np.asarray(X)[:, 0].copy()


def fit_first_column(X, y, *, names, categorical=None, seed=0):
    return FirstColumn(tuple(names))


def _landscape(n=600, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    X = np.c_[xy[:, 0] / 100 + rng.normal(0, 0.1, n), rng.normal(size=n)]
    y = (rng.random(n) < X[:, 0] ** 2 / 4).astype(np.int8)
    return X, y, xy


def test_cross_validate_scores_each_fold():
    X, y, xy = _landscape()
    folds = block_folds(xy, y == 1, block_size=20.0, folds=4, seed=3, buffer=5.0)
    cv = cross_validate(fit_first_column, X, y, xy, folds, names=("a", "b"), seed=0)
    assert len(cv["folds"]) == 4 and cv["cv"]["buffer"] == 5.0
    p = y == 1
    for f in cv["folds"]:
        test, train = folds.test_mask(f["fold"]), folds.train_mask(f["fold"])
        assert f["auc"] == roc_auc(X[test & p, 0], X[test & ~p, 0])
        assert (f["tss"], f["tss_threshold"]) == tss_max(X[test & p, 0], X[test & ~p, 0])
        assert f["omission"] == omission_rate(X[train & p, 0], X[test & p, 0])
        assert f["test_presence"] == (test & p).sum() > 0
        assert f["train_presence"] + f["train_background"] == train.sum()
        assert f["dropped_by_buffer"] == (~test & ~train).sum() > 0
    aucs = [f["auc"] for f in cv["folds"]]
    assert cv["mean"]["auc"] == pytest.approx(np.mean(aucs))
    assert cv["sd"]["auc"] == pytest.approx(np.std(aucs, ddof=1))


def test_a_fold_without_test_background_scores_nan_but_omission():
    # block [0, 10)² holds 3 presences only, block [20, 30)² presences and background
    xy = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [21.0, 21.0], [22.0, 22.0],
                   [23.0, 23.0], [24.0, 24.0], [25.0, 25.0]])
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0], dtype=np.int8)
    X = np.c_[np.arange(8.0), np.zeros(8)]
    folds = block_folds(xy, y == 1, block_size=10.0, folds=2, seed=0)
    cv = cross_validate(fit_first_column, X, y, xy, folds, names=("a", "b"))
    alone = next(f for f in cv["folds"] if f["test_background"] == 0)
    assert all(math.isnan(alone[m]) for m in ("auc", "boyce", "tss", "tss_threshold"))
    assert alone["omission"] == 1.0  # 0, 1, 2 all below 3.1 (training presences 3, 4)
    other = next(f for f in cv["folds"] if f["test_background"] > 0)
    assert cv["mean"]["auc"] == other["auc"] and math.isnan(cv["sd"]["auc"])


def test_spatial_cv_scores_a_real_model():
    X, y, xy = _landscape(1500, seed=2)
    folds = block_folds(xy, y == 1, block_size=25.0, folds=3, seed=1)
    cv = cross_validate(maxent, X, y, xy, folds, names=("a", "b"), seed=0,
                        params={"features": "lq"})
    assert 0.6 < cv["mean"]["auc"] < 1
    assert set(cv["mean"]) == {"auc", "boyce", "tss", "tss_threshold", "omission"}


def test_cross_validate_checks_its_inputs():
    X, y, xy = _landscape()
    folds = block_folds(xy, y == 1, block_size=20.0, folds=3, seed=3)
    with pytest.raises(ValueError, match="other coordinates"):
        cross_validate(fit_first_column, X, y, xy + 1, folds, names=("a", "b"))
    with pytest.raises(ValueError, match="other presences"):
        cross_validate(fit_first_column, X, 1 - y, xy, folds, names=("a", "b"))
    wide = block_folds(xy, y == 1, block_size=20.0, folds=3, seed=3, buffer=500.0)
    with pytest.raises(ValueError, match=r"^fold 0: maxent: needs presences"):
        cross_validate(maxent, X, y, xy, wide, names=("a", "b"))


# -- interpretation -------------------------------------------------------------------------------------
def test_permutation_importance_of_an_unused_variable_is_zero():
    X, y, _ = _landscape()
    imp = permutation_importance(FirstColumn(("a", "b")), X, y, seed=0, n_repeats=4)
    assert list(imp) == ["a", "b"]
    assert imp["b"] == (0.0, 0.0)
    assert imp["a"][0] > 0.1 and imp["a"][1] > 0
    assert permutation_importance(FirstColumn(("a", "b")), X, y, seed=0, n_repeats=4) == imp


def test_response_curves():
    X, y, _ = _landscape()
    X[:, 1] = np.arange(len(X)) % 3 + 1
    curves = response_curves(FirstColumn(("a", "b")), X, ("a", "b"), n=25,
                             categorical=(False, True))
    grid, response = curves["a"]
    assert len(grid) == 25
    assert grid[0] == pytest.approx(np.percentile(X[:, 0], 1))
    assert grid[-1] == pytest.approx(np.percentile(X[:, 0], 99))
    np.testing.assert_array_equal(response, grid)
    grid, response = curves["b"]
    np.testing.assert_array_equal(grid, [1, 2, 3])
    np.testing.assert_allclose(response, np.median(X[:, 0]))
