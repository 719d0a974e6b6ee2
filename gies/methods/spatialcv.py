"""Cross-validation of presence–background models: spatial block folds, a block size from
variograms, evaluation metrics, permutation importance and response curves.

Spatially blocked cross-validation (Roberts et al. 2017, Ecography 40:913–929; Valavi et al.
2019, Methods Ecol. Evol. 10:225–232, R package blockCV) tests a model on blocks of the map it
was not trained on, so that spatial autocorrelation does not inflate the scores as it does
with random splits. Distances and block sizes are in the units of the coordinates given:
pass projected coordinates, or geographic ones in degrees consistently (a degree of
longitude then counts as much as a degree of latitude).

scikit-learn and SciPy are imported inside the functions, so importing this module (done
when a pipeline file is validated) stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Folds", "block_folds", "random_folds", "block_size_auto", "roc_auc", "boyce",
           "tss_max", "omission_rate", "cross_validate", "permutation_importance",
           "response_curves", "METRICS"]

#: The metrics :func:`cross_validate` reports for each fold.
METRICS = ("auc", "boyce", "tss", "tss_threshold", "omission")


# -- folds --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Folds:
    """An assignment of every point to exactly one of ``k`` folds.

    ``fold``: ``(n,)`` fold of each point (0 … k − 1); ``is_presence``: ``(n,)``;
    ``method``: ``spatial_blocks`` or ``random``. For block folds also the block of each
    point (``block``), the block side ``block_size``, the number ``n_blocks`` of blocks
    holding points, the coordinates ``xy`` and the ``buffer`` distance of
    :meth:`train_mask`.
    """

    fold: np.ndarray
    is_presence: np.ndarray
    k: int
    seed: int
    method: str
    block_size: float | None = None
    n_blocks: int | None = None
    block: np.ndarray | None = None
    xy: np.ndarray | None = None
    buffer: float = 0.0

    def __post_init__(self):
        assert self.fold.shape == self.is_presence.shape and self.fold.ndim == 1
        # one fold per point, each fold with test presences
        assert self.fold.min() >= 0 and self.fold.max() < self.k
        assert np.all(np.bincount(self.fold[self.is_presence], minlength=self.k) > 0)

    def test_mask(self, k: int) -> np.ndarray:
        """The points of fold ``k``."""
        return self.fold == k

    def train_mask(self, k: int) -> np.ndarray:
        """The points of the other folds, less those closer than ``buffer`` to a point of
        fold ``k`` (nearest test point found with a KD-tree): every training point left is
        at least ``buffer`` away from every test point."""
        test = self.test_mask(k)
        train = ~test
        if self.buffer > 0:
            from scipy.spatial import cKDTree

            d, _ = cKDTree(self.xy[test]).query(self.xy[train], distance_upper_bound=self.buffer)
            train[np.flatnonzero(train)[d < self.buffer]] = False
        return train

    def describe(self) -> dict[str, Any]:
        """Method, numbers of folds and blocks, block size, buffer, seed, and the numbers of
        test presences, test background points (and blocks) of each fold."""
        out = {"method": self.method, "folds": self.k, "seed": self.seed,
               "test_presence": np.bincount(self.fold[self.is_presence],
                                            minlength=self.k).tolist(),
               "test_background": np.bincount(self.fold[~self.is_presence],
                                              minlength=self.k).tolist()}
        if self.block is not None:
            fold_of_block = np.zeros(self.n_blocks, dtype=int)
            fold_of_block[self.block] = self.fold
            out.update(block_size=self.block_size, n_blocks=self.n_blocks,
                       n_blocks_with_presence=len(np.unique(self.block[self.is_presence])),
                       test_blocks=np.bincount(fold_of_block, minlength=self.k).tolist(),
                       buffer=self.buffer)
        return out


def _check_points(xy, is_presence, folds: int) -> tuple[np.ndarray | None, np.ndarray]:
    is_presence = np.asarray(is_presence, dtype=bool)
    if is_presence.ndim != 1:
        raise ValueError(f"is_presence must be (n,), got shape {is_presence.shape}")
    if xy is not None:
        xy = np.asarray(xy, dtype=np.float64)
        if xy.shape != (len(is_presence), 2) or not np.all(np.isfinite(xy)):
            raise ValueError(f"xy must be ({len(is_presence)}, 2) finite coordinates, got "
                             f"shape {xy.shape}")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if is_presence.sum() < folds:
        raise ValueError(f"{int(is_presence.sum())} presences cannot fill {folds} folds")
    return xy, is_presence


def _partition(sizes: np.ndarray, parts: int) -> np.ndarray:
    """The part (0 … parts − 1) of each element of ``sizes``, cutting the sequence in order
    into ``parts`` runs of about equal sum (verde's ``partition_by_sum``: cuts where the
    cumulative sum passes multiples of ``sum // parts``); when that leaves a run empty, runs
    of equal numbers of elements instead (verde's fallback). Fewer elements than parts: one
    element per part."""
    n = len(sizes)
    if n < parts:
        return np.arange(n)
    total = np.cumsum(sizes)
    cuts = np.searchsorted(total, np.arange(1, parts) * (total[-1] // parts), side="right")
    bounds = np.concatenate([[0], cuts, [n]])
    if np.any(np.diff(bounds) <= 0):  # sizes are > 0: a non-empty run has a positive sum
        return np.arange(n) * parts // n
    return np.repeat(np.arange(parts), np.diff(bounds))


def block_folds(xy: np.ndarray, is_presence: np.ndarray, *, block_size: float, folds: int,
                seed: int, buffer: float = 0.0) -> Folds:
    """Spatial block folds: square blocks, each fold a random set of whole blocks.

    The grid of square blocks of side ``block_size`` is anchored at the minimum ``x`` and
    ``y`` of the points; every point, presence or background, belongs to the block its
    coordinates fall in (block ``floor((x − x_min)/block_size)``,
    ``floor((y − y_min)/block_size)``: a point on a block edge belongs to the block on its
    right or above). As verde's ``BlockKFold(shuffle=True, random_state=seed,
    balance=True)``, the blocks are shuffled (``numpy.random.default_rng(seed)``) and the
    shuffled sequence is cut into ``folds`` runs of about equal size — but sizes here are
    numbers of *presences*: the blocks holding presences are cut by their presence counts
    (so every fold has test presences), the blocks holding only background points by
    their numbers of points (:func:`_partition`). ``buffer`` (same units as ``xy``) is
    applied by :meth:`Folds.train_mask`.

    Fewer blocks holding presences than ``folds`` raises ``ValueError``.
    """
    xy, is_presence = _check_points(xy, is_presence, folds)
    if not (isinstance(block_size, (int, float, np.floating)) and math.isfinite(block_size)
            and block_size > 0):
        raise ValueError(f"block_size must be a number > 0, got {block_size!r}")
    if not (isinstance(buffer, (int, float, np.floating)) and math.isfinite(buffer)
            and buffer >= 0):
        raise ValueError(f"buffer must be a number >= 0, got {buffer!r}")
    cell = np.floor((xy - xy.min(axis=0)) / block_size).astype(np.int64)
    _, block = np.unique(cell, axis=0, return_inverse=True)
    block = block.reshape(-1)
    n_blocks = int(block.max()) + 1
    presences = np.bincount(block[is_presence], minlength=n_blocks)
    held = int((presences > 0).sum())
    if held < folds:
        raise ValueError(f"only {held} block{'s' if held != 1 else ''} of side {block_size:g} "
                         f"hold presences, fewer than the {folds} folds: use a smaller "
                         f"block_size or fewer folds")
    order = np.random.default_rng(seed).permutation(n_blocks)
    with_presence = order[presences[order] > 0]
    background_only = order[presences[order] == 0]
    fold_of_block = np.empty(n_blocks, dtype=np.int64)
    fold_of_block[with_presence] = _partition(presences[with_presence], folds)
    fold_of_block[background_only] = _partition(np.bincount(block, minlength=n_blocks)
                                                [background_only], folds)
    return Folds(fold=fold_of_block[block], is_presence=is_presence, k=folds, seed=seed,
                 method="spatial_blocks", block_size=float(block_size), n_blocks=n_blocks,
                 block=block, xy=xy, buffer=float(buffer))


def random_folds(n: int, is_presence: np.ndarray, folds: int, seed: int) -> Folds:
    """Stratified random k-fold: presences and background points each shuffled
    (``numpy.random.default_rng(seed)``) and dealt in turn to the folds, so the folds'
    numbers of presences (and of background points) differ by at most one. The
    non-spatial baseline that spatial folds are compared with."""
    _, is_presence = _check_points(None, is_presence, folds)
    if len(is_presence) != n:
        raise ValueError(f"is_presence has {len(is_presence)} points, not {n}")
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=np.int64)
    for group in (np.flatnonzero(is_presence), np.flatnonzero(~is_presence)):
        fold[rng.permutation(group)] = np.arange(len(group)) % folds
    return Folds(fold=fold, is_presence=is_presence, k=folds, seed=seed, method="random")


# -- block size from variograms -----------------------------------------------------------------
def _spherical(h: np.ndarray, nugget: float, partial_sill: float, a: float) -> np.ndarray:
    r = np.minimum(h / a, 1.0)
    return nugget + partial_sill * (1.5 * r - 0.5 * r ** 3)


def block_size_auto(values: np.ndarray, xy: np.ndarray, *, seed: int,
                    max_pairs: int = 200_000, n_bins: int = 15) -> tuple[float, list[float]]:
    """Block size: the median of the predictors' variogram ranges (blockCV's
    ``cv_spatial_autocor``), and the range of each predictor.

    For each column of ``values`` (continuous predictors at the points ``xy``; NaN values
    are left out of that column's pairs), the empirical semivariogram
    ``γ(h) = mean(½·(z_i − z_j)²)`` over pairs of points binned by distance in ``n_bins``
    equal bins up to half the largest distance between them (pairs: all of them when there
    are at most ``max_pairs``, else ``max_pairs`` pairs drawn with
    ``numpy.random.default_rng(seed)``, the same pairs for every predictor: memory is
    ``O(max_pairs)``). A spherical model ``γ(h) = c₀ + c·(1.5·h/a − 0.5·(h/a)³)`` for
    ``h < a``, ``c₀ + c`` beyond, is fitted by ``scipy.optimize.curve_fit`` with gstat's
    default weights (number of pairs / h², ``fit.method = 7``), ``a`` bounded by the
    largest distance. The range is ``a``, where the spherical model reaches its sill (its
    practical range equals the range; an exponential model's would be 3× its parameter).
    Variables that are constant get a NaN range and are left out of the median.

    Distances are Euclidean in the units of ``xy``; blockCV samples 5,000 cells of each
    raster and picks among several models with automap, so its figures can differ.
    """
    from scipy.optimize import curve_fit

    values = np.asarray(values, dtype=np.float64)
    xy = np.asarray(xy, dtype=np.float64)
    if values.ndim != 2 or xy.shape != (values.shape[0], 2) or not np.all(np.isfinite(xy)):
        raise ValueError(f"values must be (n, p) and xy (n, 2) finite, got {values.shape} "
                         f"and {xy.shape}")
    n = values.shape[0]
    if n < 3:
        raise ValueError(f"a variogram needs at least 3 points, got {n}")
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 10:
        raise ValueError(f"max_pairs must be an integer >= 10, got {max_pairs!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 3:
        raise ValueError(f"n_bins must be an integer >= 3, got {n_bins!r}")
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, 1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(n, size=max_pairs)
        j = rng.integers(n - 1, size=max_pairs)
        j += j >= i  # a pair of two different points
    h = np.hypot(*(xy[i] - xy[j]).T)
    longest = float(h.max())
    if longest <= 0:
        raise ValueError("the points are all at one place")
    cutoff = longest / 2
    near = h <= cutoff
    i, j, h = i[near], j[near], h[near]
    bins = np.minimum((h / cutoff * n_bins).astype(np.int64), n_bins - 1)
    ranges = []
    for column in values.T:
        z = (column - np.nanmean(column)) / (np.nanstd(column) or 1.0)
        sq = 0.5 * (z[i] - z[j]) ** 2
        ok = np.isfinite(sq) & (h > 0)
        pairs = np.bincount(bins[ok], minlength=n_bins)
        used = pairs > 0
        if used.sum() < 3 or not np.any(sq[ok] > 0):
            ranges.append(math.nan)
            continue
        lag = np.bincount(bins[ok], h[ok], n_bins)[used] / pairs[used]
        gamma = np.bincount(bins[ok], sq[ok], n_bins)[used] / pairs[used]
        (_, _, a), _ = curve_fit(
            _spherical, lag, gamma, p0=(0.0, float(gamma.max()), cutoff / 2),
            sigma=lag / np.sqrt(pairs[used]),
            bounds=([0.0, 0.0, longest * 1e-6], [np.inf, np.inf, longest]), maxfev=20_000)
        ranges.append(float(a))
    finite = [r for r in ranges if math.isfinite(r)]
    if not finite:
        raise ValueError("no predictor varies: no variogram range to size blocks by")
    return float(np.median(finite)), ranges


# -- metrics ------------------------------------------------------------------------------------
def _predictions(pred_presence, pred_background) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred_presence, dtype=np.float64).reshape(-1)
    b = np.asarray(pred_background, dtype=np.float64).reshape(-1)
    if not len(p) or not len(b):
        raise ValueError(f"needs presence and background predictions, got {len(p)} and "
                         f"{len(b)}")
    return p, b


def roc_auc(pred_presence: np.ndarray, pred_background: np.ndarray) -> float:
    """Area under the ROC curve of presences against background points: the probability
    that a random presence is predicted higher than a random background point (ties count
    half; scikit-learn's ``roc_auc_score``).

    >>> roc_auc([0.9, 0.8], [0.1, 0.2, 0.3])
    1.0
    """
    from sklearn.metrics import roc_auc_score

    p, b = _predictions(pred_presence, pred_background)
    return float(roc_auc_score(np.r_[np.ones(len(p)), np.zeros(len(b))], np.r_[p, b]))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties, R's ``cor(method =
    "spearman")``); NaN for fewer than 2 pairs or a constant series."""
    from scipy.stats import rankdata

    if len(a) < 2:
        return math.nan
    ra, rb = rankdata(a), rankdata(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def boyce(pred_presence: np.ndarray, pred_background: np.ndarray, *,
          nclass: int | Sequence[float] = 0, window: float | None = None,
          res: int = 100) -> float:
    """Continuous Boyce index (Hirzel et al. 2006, Ecol. Modell. 199:142–152), as ecospat's
    ``ecospat.boyce`` (``rm.duplicate = TRUE``, Spearman).

    Over the range [lo, hi] of all predictions, with ``nclass = 0`` a moving window of
    width ``window`` (default ``(max − min)/10`` of the background predictions) is placed
    at ``res + 1`` positions from ``lo`` to ``hi − window``; with ``nclass`` = an integer
    > 0, ``nclass`` equal classes (and ecospat's last class ``[hi, hi]``); with a sequence,
    classes cut at those thresholds. In each (closed) interval the predicted-to-expected
    ratio ``F = P/E`` (share of presence predictions in it / share of background
    predictions in it); intervals with ``0/0`` are dropped. The index is Spearman's
    correlation of ``F`` with the intervals' lower ends, after removing each ``F`` equal
    to the next one (and the last ``F`` if it is 1: ecospat compares it with ``TRUE``).
    NaN with fewer than 2 ratios left. As in ecospat the last window starts ``+1`` beyond
    ``hi − window`` (its "closed interval" trick), so it is empty for predictions in
    [0, 1]. Ranges from −1 (presences where predictions are low) to 1.

    >>> round(boyce([0.7, 0.8, 0.9, 0.95], [i / 100 for i in range(101)]), 3)
    0.821
    """
    p, b = _predictions(pred_presence, pred_background)
    lo, hi = min(p.min(), b.min()), max(p.max(), b.max())
    if np.ndim(nclass) == 0 and nclass == 0:
        w = (b.max() - b.min()) / 10 if window is None else float(window)
        if isinstance(res, bool) or not isinstance(res, int) or res < 1:
            raise ValueError(f"res must be an integer >= 1, got {res!r}")
        start = lo + np.arange(res + 1) * ((hi - lo - w) / res)
        start[res] += 1
        intervals = np.c_[start, start + w]
    elif np.ndim(nclass) == 0:
        if isinstance(nclass, bool) or not isinstance(nclass, (int, np.integer)) or nclass < 0:
            raise ValueError(f"nclass must be an integer >= 0 or thresholds, got {nclass!r}")
        start = lo + np.arange(nclass + 1) * ((hi - lo) / nclass)
        intervals = np.c_[start, np.r_[start[1:], hi]]
    else:
        cuts = np.sort(np.asarray(nclass, dtype=np.float64))
        start = np.r_[lo, cuts[(cuts >= lo) & (cuts <= hi)]]
        intervals = np.c_[start, np.r_[start[1:], hi]]
    sp, sb = np.sort(p), np.sort(b)

    def share(s, a, z):
        return (np.searchsorted(s, z, side="right") - np.searchsorted(s, a, side="left")) / len(s)

    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.round(share(sp, *intervals.T) / share(sb, *intervals.T), 10)
    keep = ~np.isnan(f)
    f, start = f[keep], start[keep]
    if len(f) < 2:
        return math.nan
    distinct = f != np.r_[f[1:], 1.0]
    return _spearman(f[distinct], start[distinct])


def tss_max(pred_presence: np.ndarray, pred_background: np.ndarray) -> tuple[float, float]:
    """``(TSS, threshold)``: the largest true skill statistic sensitivity + specificity − 1
    over the thresholds ``t`` (every prediction value), a point predicted present when its
    prediction is ≥ ``t``; the lowest such threshold (Allouche et al. 2006, J. Appl. Ecol.
    43:1223–1232).

    >>> tss_max([0.4, 0.8, 0.9], [0.1, 0.5, 0.2, 0.3])
    (0.75, 0.4)
    """
    p, b = _predictions(pred_presence, pred_background)
    t = np.unique(np.r_[p, b])
    sensitivity = 1 - np.searchsorted(np.sort(p), t, side="left") / len(p)
    specificity = np.searchsorted(np.sort(b), t, side="left") / len(b)
    tss = sensitivity + specificity - 1
    best = int(np.argmax(tss))
    return float(tss[best]), float(t[best])


def omission_rate(train_presence_pred: np.ndarray, test_presence_pred: np.ndarray,
                  q: float = 0.10) -> float:
    """Share of test presences predicted below the ``q`` quantile of the training presences'
    predictions (the 10-percentile training presence threshold by default; quantile by
    linear interpolation, R's type 7). About ``q`` for a model that transfers well.

    >>> omission_rate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.1, 0.15, 0.5, 0.9])
    0.5
    """
    train, test = _predictions(train_presence_pred, test_presence_pred)
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    return float(np.mean(test < np.quantile(train, q)))


def _metrics(pred_presence: np.ndarray, pred_background: np.ndarray,
             train_presence: np.ndarray) -> dict[str, float]:
    """The fold's scores; those that need background points are NaN without any."""
    omission = omission_rate(train_presence, pred_presence)
    if not len(pred_background):
        return {**dict.fromkeys(METRICS, math.nan), "omission": omission}
    tss, threshold = tss_max(pred_presence, pred_background)
    return {"auc": roc_auc(pred_presence, pred_background),
            "boyce": boyce(pred_presence, pred_background),
            "tss": tss, "tss_threshold": threshold, "omission": omission}


# -- cross-validation ----------------------------------------------------------------------------
def cross_validate(fit: Callable[..., Any], X: np.ndarray, y: np.ndarray, xy: np.ndarray | None,
                   folds: Folds, *, names: Sequence[str],
                   categorical: Sequence[bool] | None = None, seed: int = 0,
                   params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fit ``fit`` on each fold's training points and score it on the fold's test points.

    For fold ``k``: ``model = fit(X[train], y[train], names=…, categorical=…, seed=…,
    **params)`` with ``train`` = :meth:`Folds.train_mask` (the other folds, less the
    buffer), then on the fold's test presences against its test background points the AUC
    (:func:`roc_auc`), the Boyce index (:func:`boyce`), the maximum TSS and its threshold
    (:func:`tss_max`) and the omission rate at the training presences' 10th percentile
    (:func:`omission_rate`). Returns ``{"folds": [per fold: metrics and numbers of
    test/training presences and background points, and of points dropped by the buffer],
    "mean": {metric: mean over folds}, "sd": {metric: sd over folds (ddof = 1)}, "cv":
    folds.describe()}``. A fold's NaN scores (a Boyce index with fewer than 2 ratios; all
    but the omission rate for a fold without test background points) are left out of the
    mean and sd.
    ``xy``: the points' coordinates, checked to be those the folds were made for.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    if X.ndim != 2 or y.shape != (X.shape[0],) or folds.fold.shape != y.shape:
        raise ValueError(f"X {X.shape}, y {y.shape} and the folds' {folds.fold.shape} points "
                         f"do not match")
    if not np.array_equal(folds.is_presence, y):
        raise ValueError("the folds were made for other presences")
    if xy is not None and folds.xy is not None and not np.array_equal(
            np.asarray(xy, dtype=np.float64), folds.xy):
        raise ValueError("the folds were made for other coordinates")
    params = dict(params or {})
    per_fold = []
    for k in range(folds.k):
        test, train = folds.test_mask(k), folds.train_mask(k)
        try:
            model = fit(X[train], y[train].astype(np.int8), names=tuple(names),
                        categorical=categorical, seed=seed, **params)
        except ValueError as exc:
            raise ValueError(f"fold {k}: {exc}") from exc
        scores = _metrics(model.predict(X[test & y]), model.predict(X[test & ~y]),
                          model.predict(X[train & y]))
        per_fold.append({"fold": k, **scores,
                         "test_presence": int((test & y).sum()),
                         "test_background": int((test & ~y).sum()),
                         "train_presence": int((train & y).sum()),
                         "train_background": int((train & ~y).sum()),
                         "dropped_by_buffer": int((~test & ~train).sum())})
    mean, sd = {}, {}
    for m in METRICS:
        v = np.array([f[m] for f in per_fold])
        v = v[np.isfinite(v)]
        mean[m] = float(v.mean()) if len(v) else math.nan
        sd[m] = float(v.std(ddof=1)) if len(v) > 1 else math.nan
    return {"folds": per_fold, "mean": mean, "sd": sd, "cv": folds.describe()}


# -- interpretation -----------------------------------------------------------------------------
def permutation_importance(model: Any, X: np.ndarray, y: np.ndarray, *, seed: int,
                           n_repeats: int = 5) -> dict[str, tuple[float, float]]:
    """For each variable, the mean and sd (ddof = 0, as scikit-learn's) over ``n_repeats``
    of the drop in AUC (presences ``y = 1`` against background ``y = 0``) when the
    variable's column is shuffled (Breiman 2001; ``numpy.random.default_rng(seed)``):
    ``{name: (mean drop, sd)}``, in ``model.names`` order."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 1:
        raise ValueError(f"n_repeats must be an integer >= 1, got {n_repeats!r}")

    def auc(rows: np.ndarray) -> float:
        pred = model.predict(rows)
        return roc_auc(pred[y], pred[~y])

    base = auc(X)
    rng = np.random.default_rng(seed)
    out = {}
    for j, name in enumerate(model.names):
        drops = []
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[:, j] = rng.permutation(X[:, j])
            drops.append(base - auc(shuffled))
        out[name] = (float(np.mean(drops)), float(np.std(drops)))
    return out


def response_curves(model: Any, X: np.ndarray, names: Sequence[str], *, n: int = 100,
                    categorical: Sequence[bool] | None = None
                    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each variable, ``(grid, response)``: the model's prediction as the variable
    runs over ``n`` even steps from its 1st to its 99th percentile in ``X`` while the
    others stay at their medians (categorical variables: at their most frequent class,
    and varied over their classes)."""
    X = np.asarray(X, dtype=np.float64)
    names = tuple(names)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"{len(names)} names for X of shape {X.shape}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    categorical = (False,) * len(names) if categorical is None else tuple(map(bool,
                                                                              categorical))
    typical = np.median(X, axis=0)
    for j, cat in enumerate(categorical):
        if cat:
            levels, counts = np.unique(X[:, j], return_counts=True)
            typical[j] = levels[np.argmax(counts)]
    out = {}
    for j, name in enumerate(names):
        grid = (np.unique(X[:, j]) if categorical[j]
                else np.linspace(*np.percentile(X[:, j], [1, 99]), n))
        rows = np.tile(typical, (len(grid), 1))
        rows[:, j] = grid
        out[name] = (grid, model.predict(rows))
    return out
