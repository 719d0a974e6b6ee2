"""Presence–background models: MaxEnt as maxnet fits it, and a down-sampled random forest.

Each algorithm is a function ``fit(X, y, *, names, categorical, seed, **params)`` registered in
:data:`gies.methods.registry.ALGORITHMS`: ``X`` is the ``(n, p)`` float64 matrix of the
predictors at the presence and background cells (no NaN), ``y`` is 1 for a presence and 0
for a background cell, ``names`` names the ``p`` columns and ``categorical`` flags the
columns holding class codes. It returns a :class:`FittedModel`, a frozen (picklable)
dataclass whose ``predict(X)`` gives the relative suitability in [0, 1] of any number of
rows (it is applied block by block with dask's ``map_blocks``) and whose ``describe()`` is
the JSON-serialisable record of what was fitted.

scikit-learn is imported inside the functions, so importing this module (done when a
pipeline file is validated) stays cheap.
"""

from __future__ import annotations

import abc
import inspect
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gies.methods.registry import ALGORITHMS

__all__ = ["FittedModel", "MaxentModel", "RandomForestModel", "maxent", "random_forest",
           "feature_classes", "hinge"]

#: MaxEnt's feature classes: linear, quadratic, product, hinge, threshold.
FEATURE_CLASSES = "lqpht"

#: maxnet's default regularisation table (``maxnet.default.regularization``): for each
#: feature class, numbers of presences and the regularisation value at them (linearly
#: interpolated in between, constant beyond the ends). Linear, quadratic and product features
#: share the table of the richest of those classes in the model (product > quadratic >
#: linear); ``c`` is for categorical indicators.
REGULARISATION_TABLE: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "l": ((0, 10, 30, 100), (1.0, 1.0, 0.2, 0.05)),
    "q": ((0, 10, 17, 30, 100), (1.3, 0.8, 0.5, 0.25, 0.05)),
    "p": ((0, 10, 17, 30, 100), (2.6, 1.6, 0.9, 0.55, 0.05)),
    "h": ((0, 1), (0.5, 0.5)),
    "t": ((0, 100), (2.0, 1.0)),
    "c": ((0, 10, 17), (0.65, 0.5, 0.25)),
}

#: Weight of a background point in maxnet's weighted logistic regression (presences: 1).
BACKGROUND_WEIGHT = 100.0

_CHUNK_VALUES = 1 << 22  # feature values computed at once by predict (32 MiB of float64)


def feature_classes(n_presence: int) -> str:
    """maxnet's default feature classes for ``n_presence`` presences.

    ``l`` (linear) below 10 presences, ``lq`` (and quadratic) below 15, ``lqh`` (and hinge)
    below 80, ``lqph`` (and product) from 80 on; threshold features only when asked for
    (``maxnet.formula``, ``classes = "default"``).

    >>> [feature_classes(n) for n in (9, 10, 14, 15, 79, 80)]
    ['l', 'lq', 'lq', 'lqh', 'lqh', 'lqph']
    """
    if n_presence < 10:
        return "l"
    if n_presence < 15:
        return "lq"
    if n_presence < 80:
        return "lqh"
    return "lqph"


def hinge(x: np.ndarray, n_knots: int = 50) -> np.ndarray:
    """maxnet's ``2·(n_knots − 1)`` hinge features of one predictor: ``(n, 2·(n_knots − 1))``.

    With knots ``k`` evenly spaced from ``min(x)`` to ``max(x)``, the forward hinges
    ``h(k_i, max)`` (``i`` = 1 … n_knots − 1) come first, then the reverse hinges
    ``h(min, k_i)`` (``i`` = 2 … n_knots), where ``h(a, b) = min(1, max(0, (x − a)/(b − a)))``
    is 0 below ``a``, 1 above ``b`` and linear in between (maxnet's ``hinge``).

    >>> hinge(np.array([0.0, 1.0, 2.0]), n_knots=3)
    array([[0. , 0. , 0. , 0. ],
           [0.5, 0. , 1. , 0.5],
           [1. , 1. , 1. , 1. ]])
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = _hinge_knots(x.min(), x.max(), n_knots)
    return _hinge_values(x[:, None], lo, hi)


def _hinge_knots(mn: float, mx: float, n_knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends ``(a, b)`` of the hinges of a predictor ranging over [mn, mx]."""
    k = np.linspace(mn, mx, n_knots)
    return (np.concatenate([k[:-1], np.full(n_knots - 1, mn)]),
            np.concatenate([np.full(n_knots - 1, mx), k[1:]]))


def _hinge_values(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip((x - a) / (b - a), 0.0, 1.0)


# -- the data ---------------------------------------------------------------------------------
def _check_data(algorithm: str, X, y, names, categorical) -> tuple[np.ndarray, np.ndarray,
                                                                    tuple[str, ...],
                                                                    tuple[bool, ...]]:
    """The inputs as ``(X float64 (n, p), y bool (n,), names, categorical)`` or
    ``ValueError`` starting with the algorithm's name."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"{algorithm}: X must be (n, p) and y (n,), got {X.shape} and {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{algorithm}: X has NaN or infinite values (mask those rows first)")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{algorithm}: y must be 1 (presence) or 0 (background)")
    y = y.astype(bool)
    names = tuple(str(n) for n in names)
    if len(names) != X.shape[1]:
        raise ValueError(f"{algorithm}: {len(names)} names for {X.shape[1]} columns of X")
    categorical = (False,) * len(names) if categorical is None else tuple(map(bool, categorical))
    if len(categorical) != len(names):
        raise ValueError(f"{algorithm}: categorical has {len(categorical)} flags for "
                         f"{len(names)} variables")
    if not y.any() or y.all():
        raise ValueError(f"{algorithm}: needs presences (y = 1) and background (y = 0), got "
                         f"{int(y.sum())} presences and {int((~y).sum())} background points")
    return X, y, names, categorical


def _check_rows(X, n_columns: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != n_columns:
        raise ValueError(f"predict needs (m, {n_columns}) rows, got shape {X.shape}")
    return X


def _versions() -> dict[str, str]:
    import sklearn

    return {"numpy": np.__version__, "scikit-learn": sklearn.__version__}


@dataclass(frozen=True, eq=False)
class FittedModel(abc.ABC):
    """A fitted presence–background model: ``predict(X)`` in [0, 1] for ``(m, p)`` rows of
    the variables ``names`` (in that order), ``describe()`` what was fitted."""

    names: tuple[str, ...]
    categorical: tuple[bool, ...]
    n_presence: int
    n_background: int

    @abc.abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Relative suitability in [0, 1] (float64) of each row of ``X`` (any number of rows,
        no NaN)."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """What was fitted, JSON-serialisable."""


# -- maxent -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Features:
    """MaxEnt features of the predictors, one entry per feature.

    ``kind``: ``l`` ``x_i``; ``q`` ``x_i²``; ``p`` ``x_i·x_j``; ``h`` hinge
    ``clip((x_i − a)/(b − a), 0, 1)``; ``t`` threshold ``x_i ≥ a``; ``c`` indicator
    ``x_i = a``.
    """

    kind: np.ndarray
    i: np.ndarray
    j: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def subset(self, keep: np.ndarray) -> _Features:
        return _Features(self.kind[keep], self.i[keep], self.j[keep], self.a[keep], self.b[keep])

    def values(self, X: np.ndarray) -> np.ndarray:
        """The ``(m, len(self))`` feature matrix of rows ``X``."""
        out = np.empty((X.shape[0], len(self)))
        for kind in np.unique(self.kind):
            at = np.flatnonzero(self.kind == kind)
            x = X[:, self.i[at]]
            if kind == "l":
                out[:, at] = x
            elif kind == "q":
                out[:, at] = x * x
            elif kind == "p":
                out[:, at] = x * X[:, self.j[at]]
            elif kind == "h":
                out[:, at] = _hinge_values(x, self.a[at], self.b[at])
            elif kind == "t":
                out[:, at] = x >= self.a[at]
            else:
                out[:, at] = x == self.a[at]
        return out

    def labels(self, names: Sequence[str]) -> list[str]:
        """maxnet's names of the features (``I(x^2)``, ``x:y``, ``hinge(x):a:b``, ...)."""
        out = []
        for k, i, j, a, b in zip(self.kind, self.i, self.j, self.a, self.b):
            n = names[i]
            out.append({"l": n, "q": f"I({n}^2)", "p": f"{n}:{names[j]}",
                        "h": f"hinge({n}):{a:.12g}:{b:.12g}", "t": f"thresholds({n}):{a:.12g}",
                        "c": f"categorical({n}):{a:.12g}"}[str(k)])
        return out


def _expand(X: np.ndarray, categorical: Sequence[bool], classes: str,
            n_knots: int) -> _Features:
    """maxnet's features of the training rows ``X`` (``maxnet.formula``): for the continuous
    predictors linear, quadratic, hinge, threshold and product features as ``classes``
    says, and one indicator per class of each categorical predictor."""
    kind, ii, jj, aa, bb = [], [], [], [], []

    def add(k, i, j=-1, a=np.nan, b=np.nan):
        n = np.broadcast(i, j, a, b).size
        kind.append(np.full(n, k))
        for store, v in ((ii, i), (jj, j), (aa, a), (bb, b)):
            store.append(np.broadcast_to(v, (n,)))

    cont = [c for c, cat in enumerate(categorical) if not cat]
    mn, mx = X.min(axis=0), X.max(axis=0)
    for c in cont:
        if "l" in classes:
            add("l", c)
        if "q" in classes:
            add("q", c)
        if "h" in classes:
            add("h", c, -1, *_hinge_knots(mn[c], mx[c], n_knots))
        if "t" in classes:
            add("t", c, -1, np.linspace(mn[c], mx[c], n_knots + 2)[1:-1])
    if "p" in classes:
        for m, c in enumerate(cont):
            for d in cont[m + 1:]:
                add("p", c, d)
    for c, cat in enumerate(categorical):
        if cat:
            add("c", c, -1, np.unique(X[:, c]))
    return _Features(np.concatenate(kind or [[]]).astype("<U1"),
                     *(np.concatenate(v or [[]]).astype(t) for v, t in
                       ((ii, int), (jj, int), (aa, float), (bb, float))))


def _regularisation(F: np.ndarray, presence: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """maxnet's default regularisation of each feature (``maxnet.default.regularization``).

    With ``np`` presences, ``s_j`` the standard deviation of feature ``j`` over the
    presences and ``β_j = table(np) / sqrt(np)`` (:data:`REGULARISATION_TABLE`)::

        λ_j = max(0.001·(max_j − min_j), hinge_j, threshold_j, s_j·β_j)

    where ``hinge_j = 0.5·max(s_j, 1/sqrt(np))/sqrt(np)`` for hinge features (extreme
    hinges are regularised more), ``threshold_j = 1`` for a threshold feature that is all 0
    or all 1 on the presences, and both are 0 otherwise; min and max over all rows.
    """
    fp = F[presence]
    n_p = fp.shape[0]
    lqp = "p" if (kind == "p").any() else "q" if (kind == "q").any() else "l"
    table = {k: np.interp(n_p, *REGULARISATION_TABLE[k]) for k in "htc"}
    table.update({k: np.interp(n_p, *REGULARISATION_TABLE[lqp]) for k in "lqp"})
    beta = np.array([table[str(k)] for k in kind]) / math.sqrt(n_p)
    sd = fp.std(axis=0, ddof=1)
    hinge_floor = np.where(kind == "h", 0.5 * np.maximum(sd, 1 / math.sqrt(n_p)) / math.sqrt(n_p),
                           0.0)
    uniform = (fp.min(axis=0) == fp.max(axis=0))
    threshold_floor = np.where((kind == "t") & uniform, 1.0, 0.0)
    return np.maximum.reduce([0.001 * (F.max(axis=0) - F.min(axis=0)), hinge_floor,
                              threshold_floor, sd * beta])


def _rows_not_in(rows: np.ndarray, among: np.ndarray) -> np.ndarray:
    """The distinct rows of ``rows`` that are not rows of ``among`` (dplyr's ``setdiff``)."""
    have = {r.tobytes() for r in np.ascontiguousarray(among + 0.0)}
    distinct = np.unique(rows + 0.0, axis=0)  # + 0.0 makes -0.0 equal to 0.0
    return distinct[[r.tobytes() not in have for r in distinct]].reshape(-1, rows.shape[1])


def _l1_logistic(Z: np.ndarray, y: np.ndarray, weights: np.ndarray, C: float, seed: int,
                 tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    """Coefficients ``w`` of ``min ‖w‖₁ + C·Σ_i weights_i·log(1 + exp(−s_i·(z_i·w + b)))``
    (``s_i`` = ±1 for ``y``) by liblinear, and its number of iterations.

    The columns are centred first (which changes only ``b``), and the intercept is
    liblinear's synthetic feature of value 1000, so its penalty ``|b|/1000`` is negligible
    (liblinear penalises it like any coefficient).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    # scikit-learn 1.8 deprecated `penalty` for `l1_ratio`
    l1 = ({"l1_ratio": 1.0} if inspect.signature(LogisticRegression).parameters["penalty"]
          .default == "deprecated" else {"penalty": "l1"})
    model = LogisticRegression(C=C, solver="liblinear", intercept_scaling=1000.0, tol=tol,
                               max_iter=max_iter, random_state=seed, **l1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported as n_iter == max_iter
        model.fit(Z - Z.mean(axis=0), y, sample_weight=weights)
    return model.coef_[0].copy(), int(np.max(model.n_iter_))


@dataclass(frozen=True, eq=False)
class MaxentModel(FittedModel):
    """A fitted :func:`maxent` model.

    ``features``/``beta``: the features with a non-zero coefficient and their coefficients;
    ``feature_min``/``feature_max``: their training range (features are clamped to it);
    ``var_min``/``var_max``: the training range of each predictor (continuous predictors
    are clamped to it); ``alpha`` makes ``exp(lp)`` sum to 1 over the background;
    ``entropy``: the entropy of that distribution.
    """

    classes: str
    classes_rule: str
    n_knots: int
    beta_multiplier: float
    output: str
    features: _Features
    beta: np.ndarray
    feature_min: np.ndarray
    feature_max: np.ndarray
    var_min: np.ndarray
    var_max: np.ndarray
    alpha: float
    entropy: float
    n_candidate_features: int
    n_added_to_background: int
    n_iter: int
    max_iter: int
    versions: tuple[tuple[str, str], ...]

    def link(self, X: np.ndarray) -> np.ndarray:
        """The linear predictor ``lp = f(x)·β + α`` (log of the raw exponential output)."""
        X = _check_rows(X, len(self.names))
        out = np.empty(X.shape[0])
        cont = ~np.asarray(self.categorical)
        step = max(1, _CHUNK_VALUES // max(1, len(self.features)))
        for start in range(0, X.shape[0], step):
            x = X[start:start + step].copy()
            x[:, cont] = np.clip(x[:, cont], self.var_min[cont], self.var_max[cont])
            f = np.clip(self.features.values(x), self.feature_min, self.feature_max)
            out[start:start + step] = f @ self.beta + self.alpha
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``cloglog`` ``1 − exp(−exp(H + lp))`` or ``logistic`` ``1/(1 + exp(−H − lp))``
        (``H`` the entropy, ``lp`` :meth:`link`; maxnet's ``predict``, ``clamp = TRUE``)."""
        z = self.link(X) + self.entropy
        with np.errstate(over="ignore"):
            if self.output == "cloglog":
                return -np.expm1(-np.exp(z))
            return 0.5 * (1.0 + np.tanh(0.5 * z))

    def describe(self) -> dict[str, Any]:
        """Feature classes (and the rule that chose them), features, regularisation,
        solver, numbers of points and coefficients, library versions."""
        return {
            "algorithm": "maxent",
            "implementation": "maxnet (Phillips et al. 2017): features and default "
                              "regularisation of maxnet, infinitely weighted L1 logistic "
                              "regression fitted with scikit-learn",
            "feature_classes": self.classes,
            "feature_classes_rule": self.classes_rule,
            "n_knots": self.n_knots,
            "n_features": self.n_candidate_features,
            "n_nonzero": int(len(self.beta)),
            "regularisation_multiplier": self.beta_multiplier,
            "regularisation": "maxnet.default.regularization × multiplier",
            "background_weight": BACKGROUND_WEIGHT,
            "solver": "liblinear",
            "converged": self.n_iter < self.max_iter,
            "n_iter": self.n_iter,
            "output": self.output,
            "n_presence": self.n_presence,
            "n_background": self.n_background,
            "n_presence_added_to_background": self.n_added_to_background,
            "entropy": self.entropy,
            "coefficients": dict(zip(self.features.labels(self.names),
                                     map(float, self.beta))),
            "variables": list(self.names),
            "categorical": [n for n, c in zip(self.names, self.categorical) if c],
            "versions": dict(self.versions),
        }


@ALGORITHMS.register("maxent")
def maxent(
    X: np.ndarray,
    y: np.ndarray,
    *,
    names: tuple[str, ...],
    categorical: tuple[bool, ...] | None = None,
    seed: int = 0,
    features: str = "auto",
    beta_multiplier: float = 1.0,
    n_knots: int = 50,
    output: str = "cloglog",
) -> MaxentModel:
    """MaxEnt as maxnet fits it: features, L1-regularised infinitely weighted logistic regression.

    Phillips et al. (2017), "Opening the black box: an open-source release of Maxent",
    Ecography 40:887–893 (R package maxnet); Fithian & Hastie (2013), Ann. Appl. Stat.
    7:1917–1939 (MaxEnt as a Poisson/logistic GLM). As maxnet does:

    1. Every distinct presence row not already among the background rows is added to the
       background (``addsamplestobackground``).
    2. Features (``maxnet.formula``), ``features="auto"`` choosing by the number ``np`` of
       presences (:func:`feature_classes`: ``l`` if np < 10, ``lq`` if < 15, ``lqh`` if
       < 80, else ``lqph``), or any letters of ``lqpht``: linear ``x``, quadratic ``x²``,
       products ``x_i·x_j``, ``2·(n_knots − 1)`` hinges (:func:`hinge`), ``n_knots``
       thresholds; categorical predictors give one indicator per class instead. Features
       constant over the training rows are dropped.
    3. Per-feature regularisation ``λ_j`` from maxnet's default table
       (:func:`_regularisation`: table value / sqrt(np) × the feature's sd over the
       presences, floored), times ``beta_multiplier``.
    4. The fit minimises ``(1/np)·Σ_i w_i·ℓ_i + Σ_j λ_j·|β_j|`` with ``ℓ_i`` the logistic
       loss and weights ``w`` = 1 for presences and 100 for background points — the
       solution of maxnet's last glmnet lambda, ``mean(λ)·np/Σw`` with penalty factors
       ``λ``, and of MaxEnt for background weights → ∞. scikit-learn's
       ``LogisticRegression`` has one penalty for all coefficients, so the columns are
       scaled by ``1/λ_j`` (then ``‖β'‖₁ = Σ λ_j·|β_j|``) with ``C = 1/np``; solver
       liblinear (L1) on centred columns with the intercept barely penalised (intercept
       scaling 1000), tolerance 1e-6, at most 1000 iterations (``describe()`` says whether
       it converged).
    5. ``α = −log Σ_background exp(f·β)`` and the entropy ``H = −Σ q·log q`` of
       ``q = exp(f·β + α)`` over the background; prediction clamps continuous predictors
       and features to their training range and gives ``output``: ``cloglog``
       ``1 − exp(−exp(H + f·β + α))`` (default) or ``logistic`` ``1/(1 + exp(−H − f·β − α))``.

    Needs at least 2 presences; ``seed`` seeds liblinear.
    """
    X, y, names, categorical = _check_data("maxent", X, y, names, categorical)
    if features != "auto" and (not isinstance(features, str) or not features
                               or set(features) - set(FEATURE_CLASSES)
                               or len(set(features)) != len(features)):
        raise ValueError(f"maxent: features must be 'auto' or distinct letters of "
                         f"'{FEATURE_CLASSES}' (linear, quadratic, product, hinge, "
                         f"threshold), got {features!r}")
    if not (isinstance(beta_multiplier, (int, float)) and math.isfinite(beta_multiplier)
            and beta_multiplier > 0):
        raise ValueError(f"maxent: beta_multiplier must be a number > 0, got {beta_multiplier!r}")
    if isinstance(n_knots, bool) or not isinstance(n_knots, int) or n_knots < 2:
        raise ValueError(f"maxent: n_knots must be an integer >= 2, got {n_knots!r}")
    if output not in ("cloglog", "logistic"):
        raise ValueError(f"maxent: output must be 'cloglog' or 'logistic', got {output!r}")
    n_p = int(y.sum())
    if n_p < 2:
        raise ValueError(f"maxent: needs at least 2 presences, got {n_p}")

    classes = feature_classes(n_p) if features == "auto" else features
    added = _rows_not_in(X[y], X[~y])
    X_all = np.vstack([X, added])
    presence = np.concatenate([y, np.zeros(len(added), dtype=bool)])
    spec = _expand(X_all, categorical, classes, n_knots)
    F = spec.values(X_all)
    varying = F.max(axis=0) > F.min(axis=0)
    if not varying.any():
        raise ValueError(f"maxent: features {classes!r} give no feature that varies over the "
                         f"training points")
    spec, F = spec.subset(varying), F[:, varying]
    lam = _regularisation(F, presence, spec.kind) * float(beta_multiplier)
    weights = np.where(presence, 1.0, BACKGROUND_WEIGHT)
    max_iter = 1000
    coef, n_iter = _l1_logistic(F / lam, presence, weights, 1.0 / n_p, seed, 1e-6, max_iter)
    beta = coef / lam
    nz = np.flatnonzero(beta)
    lp = F[~presence][:, nz] @ beta[nz]
    top = lp.max()
    log_total = top + math.log(np.exp(lp - top).sum())
    log_q = lp - log_total
    cont = ~np.asarray(categorical)
    var_min, var_max = X_all.min(axis=0), X_all.max(axis=0)
    return MaxentModel(
        names=names, categorical=categorical, n_presence=n_p, n_background=int((~y).sum()),
        classes=classes,
        classes_rule=("auto: maxnet's rule by the number of presences (l < 10 ≤ lq < 15 ≤ lqh "
                      "< 80 ≤ lqph)" if features == "auto" else "given"),
        n_knots=n_knots, beta_multiplier=float(beta_multiplier), output=output,
        features=spec.subset(nz), beta=beta[nz], feature_min=F[:, nz].min(axis=0),
        feature_max=F[:, nz].max(axis=0),
        var_min=np.where(cont, var_min, -np.inf), var_max=np.where(cont, var_max, np.inf),
        alpha=-log_total, entropy=float(-(np.exp(log_q) * log_q).sum()),
        n_candidate_features=len(spec), n_added_to_background=len(added), n_iter=n_iter,
        max_iter=max_iter, versions=tuple(_versions().items()))


# -- random forest ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _OneHot:
    """Continuous columns as they are, then one indicator per training class of each
    categorical column (a class unseen in training: all its indicators 0)."""

    continuous: np.ndarray
    columns: np.ndarray
    levels: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, categorical: Sequence[bool]) -> _OneHot:
        cat = [c for c, is_cat in enumerate(categorical) if is_cat]
        levels = [np.unique(X[:, c]) for c in cat]
        return cls(np.flatnonzero(~np.asarray(categorical, dtype=bool)),
                   np.repeat(np.asarray(cat, dtype=int), [len(v) for v in levels]),
                   np.concatenate(levels) if levels else np.empty(0))

    @property
    def width(self) -> int:
        return len(self.continuous) + len(self.columns)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Float32, C-ordered: the layout scikit-learn's trees work on."""
        out = np.empty((X.shape[0], self.width), dtype=np.float32)
        out[:, :len(self.continuous)] = X[:, self.continuous]
        out[:, len(self.continuous):] = X[:, self.columns] == self.levels
        return out


@dataclass(frozen=True, eq=False)
class RandomForestModel(FittedModel):
    """A fitted :func:`random_forest`: its trees (scikit-learn ``DecisionTreeClassifier``)
    and the encoding of the predictors they were grown on."""

    trees: tuple[Any, ...]
    encoding: _OneHot
    max_features: str | int | float
    min_samples_leaf: int
    seed: int
    versions: tuple[tuple[str, str], ...]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean over the trees of each tree's presence probability (the share of
        presences in the leaf the row falls in)."""
        Z = self.encoding.transform(_check_rows(X, len(self.names)))
        out = np.zeros(Z.shape[0])
        if Z.shape[0] == 0:
            return out
        for tree in self.trees:
            out += tree.predict_proba(Z, check_input=False)[:, 1]
        return out / len(self.trees)

    def describe(self) -> dict[str, Any]:
        """Sampling scheme, hyper-parameters, numbers of points, library versions."""
        return {
            "algorithm": "random_forest",
            "implementation": "balanced random forest by down-sampling (Valavi et al. 2021): "
                              "each tree grown by scikit-learn on a bootstrap of the "
                              "presences and as many background points drawn with "
                              "replacement",
            "n_trees": len(self.trees),
            "points_per_tree": 2 * self.n_presence,
            "max_features": self.max_features,
            "min_samples_leaf": self.min_samples_leaf,
            "n_features": self.encoding.width,
            "seed": self.seed,
            "n_presence": self.n_presence,
            "n_background": self.n_background,
            "variables": list(self.names),
            "categorical": [n for n, c in zip(self.names, self.categorical) if c],
            "versions": dict(self.versions),
        }


@ALGORITHMS.register("random_forest")
def random_forest(
    X: np.ndarray,
    y: np.ndarray,
    *,
    names: tuple[str, ...],
    categorical: tuple[bool, ...] | None = None,
    seed: int = 0,
    n_trees: int = 500,
    max_features: str | int | float = "sqrt",
    min_samples_leaf: int = 1,
) -> RandomForestModel:
    """Balanced random forest: every tree sees as many background points as presences.

    Valavi et al. (2021), "Modelling species presence-only data with random forests",
    Ecography 44:1731–1742, doi:10.1111/ecog.05615: down-sampling, as R randomForest's
    ``sampsize = c(np, np)`` with ``replace = TRUE``. Each of the ``n_trees`` trees is a
    scikit-learn ``DecisionTreeClassifier`` grown on a bootstrap of the ``np`` presences
    (``np`` drawn with replacement) and ``np`` background points drawn with replacement,
    trying ``max_features`` predictors at each split (``"sqrt"``, ``"log2"``, a count, or a
    share in (0, 1]) with at least ``min_samples_leaf`` points per leaf; exactly
    down-sampling, with each tree's sample drawn here from ``seed``. The prediction is the
    mean over the trees of the presence share of the leaf (Breiman 2001's probability
    forest). Categorical predictors enter as one indicator per class. Serial (no threads of
    its own: it runs inside dask's).
    """
    X, y, names, categorical = _check_data("random_forest", X, y, names, categorical)
    if isinstance(n_trees, bool) or not isinstance(n_trees, int) or n_trees < 1:
        raise ValueError(f"random_forest: n_trees must be an integer >= 1, got {n_trees!r}")
    if isinstance(min_samples_leaf, bool) or not isinstance(min_samples_leaf, int) \
            or min_samples_leaf < 1:
        raise ValueError(f"random_forest: min_samples_leaf must be an integer >= 1, got "
                         f"{min_samples_leaf!r}")
    encoding = _OneHot.fit(X, categorical)
    if not (max_features in ("sqrt", "log2")
            or (isinstance(max_features, int) and not isinstance(max_features, bool)
                and 1 <= max_features <= encoding.width)
            or (isinstance(max_features, float) and 0 < max_features <= 1)):
        raise ValueError(f"random_forest: max_features must be 'sqrt', 'log2', an integer in "
                         f"1..{encoding.width} or a share in (0, 1], got {max_features!r}")
    from sklearn.tree import DecisionTreeClassifier

    Z = encoding.transform(X)
    label = y.astype(np.int8)
    presences, background = np.flatnonzero(y), np.flatnonzero(~y)
    n_p = len(presences)
    rng = np.random.default_rng(seed)
    trees = []
    for _ in range(n_trees):
        rows = np.concatenate([rng.choice(presences, n_p), rng.choice(background, n_p)])
        tree = DecisionTreeClassifier(max_features=max_features,
                                      min_samples_leaf=min_samples_leaf,
                                      random_state=int(rng.integers(2**31 - 1)))
        trees.append(tree.fit(Z[rows], label[rows]))
    return RandomForestModel(
        names=names, categorical=categorical, n_presence=n_p, n_background=len(background),
        trees=tuple(trees), encoding=encoding, max_features=max_features,
        min_samples_leaf=min_samples_leaf, seed=seed, versions=tuple(_versions().items()))
