"""Origin-environment similarity: how alike each cell's environment is to the environment
where a product comes from.

A :class:`Reference` holds the reference sample (the origin's cells, or the distinct cells
of its presence points) as a cells × variables matrix. Each method is a *fit* function
registered in :data:`gies.methods.registry.SIMILARITY`, ``fit(reference, **params) ->``
:class:`Fitted`; the fitted object's :meth:`Fitted.predict` maps any number of cells
(``(m, p)`` float64, the variables in the reference's order) to named output layers. It is
applied block by block, so it keeps no state but the (small) reference and its fitted
quantities, and pickles cheaply. A cell with any NaN variable gets NaN (float outputs) or
0 (integer outputs). Invalid parameters, and references a method cannot use (categorical
variables where it needs continuous ones, constant or collinear variables, too few rows),
raise ``ValueError`` with a message starting with the method's name.

============  =====================================  ==========================================
method        outputs                                 reference
============  =====================================  ==========================================
bioclim       ``similarity_bioclim`` (0–1)            Busby 1991; dismo / predicts ``envelope``
mess          ``mess`` (%), ``mess_variable``         Elith et al. 2010; predicts ``mess``
gower         ``similarity_gower`` (0–1)              Gower 1971; StatMatch ``gower.dist``
mahalanobis   ``similarity_mahalanobis`` (0–1)        robust (MCD) D², χ² tail probability
exdet         ``exdet_nt1``, ``exdet_nt2``            Mesgaran et al. 2014; dsmextra ``ExDet``
============  =====================================  ==========================================

SciPy and scikit-learn are imported inside the functions that use them: importing this
module (when a pipeline file is validated) costs only NumPy.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gies.methods.registry import SIMILARITY, did_you_mean

__all__ = ["Reference", "Fitted", "BioclimFitted", "MessFitted", "GowerFitted",
           "MahalanobisFitted", "ExdetFitted", "bioclim", "mess", "gower", "mahalanobis",
           "exdet", "collinear_pairs", "constant_variables"]

TAILS = ("both", "low", "high")
REDUCE = ("nearest", "mean")
MCD_ROWS_PER_VARIABLE = 5
"""Fewest reference rows per variable accepted by ``mahalanobis`` (the usual rule of thumb
for the minimum covariance determinant, n ≥ 5p)."""
COLLINEAR_R = 0.999
"""Multiple correlation above which a variable counts as a linear combination of others
(``mahalanobis``, ``exdet``: the covariance would be singular or nearly so)."""
PAIRWISE_BUDGET = 1 << 22
"""Most cell × reference-row entries held at once by the pairwise Gower computations."""


# -- the reference sample ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Reference:
    """The reference sample a similarity method is fitted on.

    ``values``: ``(n, p)`` float64, one row per origin cell (or distinct presence cell),
    no NaN. ``names``: the ``p`` variable names, in the order of the pipeline's
    ``origin.variables`` (the columns of ``values`` and of every ``predict`` input).
    ``categorical``: per variable. ``aoi_min`` / ``aoi_max``: ``(p,)`` minimum and maximum
    of each variable over the AOI's valid cells (with the reference's own, ``gower``'s
    ranges). ``seed``: of every random draw of a fit (``mahalanobis``'s MCD). The arrays
    are copied and made read-only.
    """

    values: np.ndarray
    names: tuple[str, ...]
    categorical: tuple[bool, ...]
    aoi_min: np.ndarray
    aoi_max: np.ndarray
    seed: int = 0

    def __post_init__(self) -> None:
        values = _frozen_array(self.values)
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
            raise ValueError(f"reference values must be a non-empty (rows, variables) matrix, "
                             f"got shape {values.shape}")
        p = values.shape[1]
        names, categorical = tuple(self.names), tuple(bool(c) for c in self.categorical)
        if len(names) != p or len(categorical) != p:
            raise ValueError(f"reference has {p} variables but {len(names)} names and "
                             f"{len(categorical)} categorical flags")
        if len(set(names)) != p:
            raise ValueError(f"reference variable names repeat: {', '.join(names)}")
        if np.isnan(values).any():
            raise ValueError("reference values contain NaN (drop those rows)")
        aoi_min, aoi_max = _frozen_array(self.aoi_min), _frozen_array(self.aoi_max)
        if aoi_min.shape != (p,) or aoi_max.shape != (p,):
            raise ValueError(f"aoi_min and aoi_max must have shape ({p},), got "
                             f"{aoi_min.shape} and {aoi_max.shape}")
        for name, value in (("values", values), ("names", names), ("categorical", categorical),
                            ("aoi_min", aoi_min), ("aoi_max", aoi_max),
                            ("seed", int(self.seed))):
            object.__setattr__(self, name, value)

    @property
    def n(self) -> int:
        """Number of reference rows."""
        return self.values.shape[0]

    @property
    def p(self) -> int:
        """Number of variables."""
        return self.values.shape[1]


def _frozen_array(a) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


# -- helpers for the checks ----------------------------------------------------------------------
def constant_variables(values: np.ndarray, names: Sequence[str]) -> list[str]:
    """Names of the variables (columns of ``values``) that take a single value.

    >>> constant_variables(np.array([[1.0, 5.0], [2.0, 5.0]]), ["a", "b"])
    ['b']
    """
    values = np.asarray(values, dtype=np.float64)
    return [names[j] for j in range(values.shape[1]) if np.ptp(values[:, j]) == 0]


def collinear_pairs(values: np.ndarray, names: Sequence[str], threshold: float = 0.95,
                    categorical: Sequence[bool] | None = None) -> list[tuple[str, str, float]]:
    """Pairs of continuous, non-constant variables whose Pearson correlation over ``values``
    has ``|r| >= threshold``: ``[(name_i, name_j, r)]`` with ``i < j`` in column order.
    Categorical variables (``categorical`` true) are left out.

    >>> v = np.array([[1.0, 2.0, 0.0], [2.0, 4.1, 1.0], [3.0, 6.0, 0.0]])
    >>> [(a, b, round(r, 4)) for a, b, r in collinear_pairs(v, ["a", "b", "c"])]
    [('a', 'b', 0.9996)]
    """
    values = np.asarray(values, dtype=np.float64)
    categorical = categorical if categorical is not None else (False,) * values.shape[1]
    keep = [j for j in range(values.shape[1])
            if not categorical[j] and np.ptp(values[:, j]) > 0]
    if len(keep) < 2:
        return []
    r = np.corrcoef(values[:, keep], rowvar=False)
    return [(names[keep[a]], names[keep[b]], float(r[a, b]))
            for a in range(len(keep)) for b in range(a + 1, len(keep))
            if abs(r[a, b]) >= threshold]


def _refuse_categorical(method: str, reference: Reference, alternative: str) -> None:
    for name, cat in zip(reference.names, reference.categorical):
        if cat:
            raise ValueError(f"{method}: variable {name!r} is categorical; {alternative}")


def _refuse_constant(method: str, reference: Reference) -> None:
    constant = constant_variables(reference.values, reference.names)
    if constant:
        listed = ", ".join(f"{name!r} (value {reference.values[0, reference.names.index(name)]:g})"
                           for name in constant)
        one = len(constant) == 1
        raise ValueError(f"{method}: variable{'' if one else 's'} {listed} "
                         f"{'is' if one else 'are'} constant over the reference: drop "
                         f"{'it' if one else 'them'} from origin.variables")


def _refuse_collinear(method: str, reference: Reference) -> None:
    """``ValueError`` naming the first variable that is (nearly) a linear combination of the
    variables before it: its multiple correlation with them over the reference exceeds
    :data:`COLLINEAR_R` (for a pair, ``|r|``)."""
    z = (reference.values - reference.values.mean(axis=0)) / np.ptp(reference.values, axis=0)
    z = z / np.sqrt((z * z).sum(axis=0))
    for j in range(1, reference.p):
        coef, *_ = np.linalg.lstsq(z[:, :j], z[:, j], rcond=None)
        resid = z[:, j] - z[:, :j] @ coef
        r2 = 1.0 - float(resid @ resid)
        if r2 > COLLINEAR_R ** 2:
            others = [reference.names[k] for k in range(j)
                      if abs(coef[k]) > 1e-3 * np.abs(coef).max()]
            raise ValueError(
                f"{method}: variable {reference.names[j]!r} is collinear with "
                f"{', '.join(map(repr, others))} over the reference (multiple correlation "
                f"{np.sqrt(max(r2, 0.0)):.6f}), so the covariance is singular: drop one of "
                "them from origin.variables")


def _need_rows(method: str, reference: Reference, fewest: int, why: str) -> None:
    if reference.n < fewest:
        raise ValueError(f"{method}: {reference.n} reference rows for {reference.p} "
                         f"variable{'s' if reference.p > 1 else ''}; {why} needs at least "
                         f"{fewest}: add origin cells or drop variables")


def _by_name(names: Sequence[str], values: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(names, values)}


# -- the fitted object ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Fitted:
    """A method fitted on a reference; :meth:`predict` maps cells to output layers.

    Subclasses set ``method`` (the registry name) and ``layers`` (``(output name, NumPy
    dtype)`` pairs) and implement ``_predict`` on rows without NaN and ``_describe``.
    """

    method: ClassVar[str]
    layers: ClassVar[tuple[tuple[str, str], ...]]

    names: tuple[str, ...]

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the output layers, in order."""
        return tuple(name for name, _ in self.layers)

    @property
    def dtypes(self) -> dict[str, str]:
        """NumPy dtype name of each output layer."""
        return dict(self.layers)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The output layers for cells ``x`` (``(m, p)``, the variables in the reference's
        order): ``{output: (m,) array}``. Rows with any NaN get NaN in float outputs and 0
        in integer outputs; the others are computed by the method."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.names):
            raise ValueError(f"{self.method}: cells must be an (m, {len(self.names)}) matrix "
                             f"({', '.join(self.names)}), got shape {x.shape}")
        valid = ~np.isnan(x).any(axis=1)
        out = {}
        for name, dtype in self.layers:
            empty = np.nan if np.issubdtype(np.dtype(dtype), np.floating) else 0
            out[name] = np.full(x.shape[0], empty, dtype=dtype)
        if valid.any():
            for name, values in self._predict(x[valid]).items():
                out[name][valid] = values
        return out

    def describe(self) -> dict[str, Any]:
        """The method, its parameters and fitted quantities, for a run manifest
        (JSON-serialisable)."""
        return {"method": self.method, "variables": list(self.names), **self._describe()}

    def _predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        raise NotImplementedError


class _Ranked:
    """Counts of reference values below / at cells' values, per sorted column of
    ``columns`` (``(p, n)``), by the table-narrowed search of :mod:`gies.kernels.ranks`
    (the counts of ``numpy.searchsorted``; the tables are built once per fitted object)."""

    columns: np.ndarray

    @functools.cached_property
    def _tables(self) -> dict[bool, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        from gies.kernels.ranks import tables

        return {strict: tables(self.columns, strict=strict) for strict in (False, True)}

    def count(self, j: int, v: np.ndarray, *, strict: bool) -> np.ndarray:
        """The number of reference values of variable ``j`` below (``strict``) or at most
        each value of ``v`` (no NaN)."""
        from gies.kernels.ranks import counts

        lows, steps, tabs = self._tables[strict]
        out = np.empty(np.shape(v)[0], dtype=np.int64)
        counts(self.columns[j], lows[j], steps[j], tabs[j],
               np.ascontiguousarray(v, dtype=np.float64), strict, out)
        return out


# -- BIOCLIM -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BioclimFitted(_Ranked, Fitted):
    """BIOCLIM envelope: the sorted reference columns (``(p, n)``) and each variable's tail."""

    method: ClassVar[str] = "bioclim"
    layers: ClassVar[tuple[tuple[str, str], ...]] = (("similarity_bioclim", "float32"),)

    columns: np.ndarray
    tails: tuple[str, ...]

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The per-variable scores (``(m, p)``, 0 outside the range a tail checks) of cells
        ``x`` without NaN, from NumPy arrays: the definition :meth:`_predict`'s compiled
        pass is tested against."""
        n = self.columns.shape[1]
        out = np.empty(x.shape)
        for j, tail in enumerate(self.tails):
            col, v = self.columns[j], x[:, j]
            below = self.count(j, v, strict=True)
            ties = self.count(j, v, strict=False) - below
            r = (below + 0.5 * ties) / n
            if tail == "both":
                sj = np.where(r > 0.5, 1.0 - r, r) * 2
            elif tail == "high":
                sj = np.where(r < 0.5, 1.0, 2 * (1.0 - r))
            else:
                sj = np.where(r > 0.5, 1.0, 2 * r)
            outside = np.zeros(v.shape, dtype=bool)
            if tail != "high":
                outside |= v < col[0]
            if tail != "low":
                outside |= v > col[-1]
            out[:, j] = np.where(outside, 0.0, sj)
        return out

    def _predict(self, x):
        from gies.kernels.ranks import bioclim_cells

        lt, le = self._tables[True], self._tables[False]
        out = np.empty(x.shape[0])
        bioclim_cells(self.columns, *lt, *le,
                      np.array([TAILS.index(t) for t in self.tails], dtype=np.int64),
                      np.ascontiguousarray(x, dtype=np.float64), out)
        return {"similarity_bioclim": out.astype(np.float32)}

    def _describe(self):
        return {"n_reference": int(self.columns.shape[1]),
                "tails": dict(zip(self.names, self.tails)),
                "min": _by_name(self.names, self.columns[:, 0]),
                "max": _by_name(self.names, self.columns[:, -1])}


def _tails(tails: str | Mapping[str, str], names: tuple[str, ...]) -> tuple[str, ...]:
    def one(value, where: str) -> str:
        if value not in TAILS:
            raise ValueError(f"bioclim: tails{where} must be 'both', 'low' or 'high', "
                             f"got {value!r}")
        return value

    if isinstance(tails, str):
        return (one(tails, ""),) * len(names)
    if not isinstance(tails, Mapping):
        raise ValueError("bioclim: tails must be 'both', 'low' or 'high', or a mapping "
                         f"variable -> one of them, got {tails!r}")
    for name in tails:
        if name not in names:
            raise ValueError(f"bioclim: tails given for {name!r}, which is not a variable of "
                             f"the reference{did_you_mean(name, names)} (variables: "
                             f"{', '.join(names)})")
    return tuple(one(tails.get(name, "both"), f" of {name!r}") for name in names)


@SIMILARITY.register("bioclim", aliases=("envelope",))
def bioclim(reference: Reference, *, tails: str | Mapping[str, str] = "both") -> BioclimFitted:
    """BIOCLIM climatic envelope (Busby 1991): percentile distance to the reference's
    median, 0 outside the reference's range of any variable.

    For each variable, the mid-rank percentile of ``x`` in the ``n`` reference values is
    ``r = (#{ref < x} + 0.5·#{ref = x}) / n`` and its score ``2·r`` where ``r <= 0.5``,
    ``2·(1 − r)`` above. ``tails`` (one of ``"both"``, ``"low"``, ``"high"``, or a mapping
    variable → one of them; unnamed variables ``"both"``) keeps one tail only: ``"low"``
    scores 1 above the median (``r > 0.5``) and drops the check against the reference
    maximum; ``"high"`` scores 1 below the median (``r < 0.5``) and drops the check against
    the minimum. The similarity is 0 where any variable lies outside the reference's
    ``[min, max]`` (the checks kept), else the minimum over the variables of their scores.
    Output ``similarity_bioclim``: float32, unitless, in [0, 1] (1 at the median of every
    variable).

    Continuous variables only (dismo drops factors; a categorical variable is refused
    here), at least 2 reference rows (as dismo). The same formulas, ties and tail rules as
    R dismo's ``predict`` for ``Bioclim`` (``R/bioclim.predict.R``: ``.percRank``; its C++
    ``src/percRank.cpp``) and predicts' ``envelope`` (``R/envelope.R``: ``.percRank``,
    ``.envelope_predict``, and ``predict``'s ``mincomp`` / ``maxcomp`` for the tails).
    References: Busby, J.R. (1991) BIOCLIM – a bioclimate analysis and prediction system,
    in Margules & Austin (eds.) Nature Conservation: Cost Effective Biological Surveys and
    Data Analysis, CSIRO, 64–68; Booth, T.H. et al. (2014) BIOCLIM: the first species
    distribution modelling package, its early applications and relevance to most current
    MaxEnt studies. Divers. Distrib. 20:1–9.
    """
    _refuse_categorical("bioclim", reference, "BIOCLIM needs continuous variables (use gower)")
    _need_rows("bioclim", reference, 2, "BIOCLIM")
    columns = np.ascontiguousarray(np.sort(reference.values, axis=0).T)
    columns.setflags(write=False)
    return BioclimFitted(reference.names, columns, _tails(tails, reference.names))


# -- MESS ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MessFitted(_Ranked, Fitted):
    """MESS: the sorted reference columns (``(p, n)``)."""

    method: ClassVar[str] = "mess"
    layers: ClassVar[tuple[tuple[str, str], ...]] = (("mess", "float32"),
                                                      ("mess_variable", "uint8"))

    columns: np.ndarray

    def similarities(self, x: np.ndarray) -> np.ndarray:
        """The per-variable similarities ``S`` (``(m, p)``, %) of cells ``x`` without NaN,
        from NumPy arrays: the definition :meth:`_predict`'s compiled pass (their minimum
        and argmin) is tested against."""
        n = self.columns.shape[1]
        out = np.empty(x.shape)
        for j in range(x.shape[1]):
            col, v = self.columns[j], x[:, j]
            lo, hi = col[0], col[-1]
            f = 100 * self.count(j, v, strict=False) / n
            s = 2 * f
            s = np.where((f > 50) & (f < 100), 200 - s, s)
            s = np.where(f == 0, 100 * (v - lo) / (hi - lo), s)
            out[:, j] = np.where(f == 100, 100 * (hi - v) / (hi - lo), s)
        return out

    def _predict(self, x):
        from gies.kernels.ranks import mess_cells

        out = np.empty(x.shape[0])
        arg = np.empty(x.shape[0], dtype=np.uint8)
        mess_cells(self.columns, *self._tables[False], np.ascontiguousarray(x, dtype=np.float64),
                   out, arg)
        return {"mess": out.astype(np.float32), "mess_variable": arg}

    def _describe(self):
        return {"n_reference": int(self.columns.shape[1]),
                "min": _by_name(self.names, self.columns[:, 0]),
                "max": _by_name(self.names, self.columns[:, -1])}


@SIMILARITY.register("mess")
def mess(reference: Reference) -> MessFitted:
    """Multivariate environmental similarity surface, MESS (Elith et al. 2010), in %, and
    the most dissimilar variable.

    For each variable, ``f = 100·#{ref <= x} / n`` (the percentage of reference values at
    or below ``x``) and, with the reference's ``min`` and ``max``, ``S = 100·(x − min) /
    (max − min)`` if ``f = 0``; ``2f`` if ``0 < f <= 50``; ``2·(100 − f)`` if ``50 < f <
    100``; ``100·(max − x) / (max − min)`` if ``f = 100``. ``mess`` is the minimum of ``S``
    over the variables (float32, %): at most 100, 0 at the reference maximum, negative
    outside the reference's range of some variable (by how far, in % of that range), so
    ``mess >= 0`` exactly where every variable lies within the reference's ``[min, max]``.
    ``mess_variable`` (uint8) is the 1-based index, in the reference's variable order, of
    the variable with the lowest ``S`` (the most dissimilar variable, MoD; the first one on
    ties), 0 where a variable is NaN.

    Continuous variables only, at least 2 reference rows (as predicts). A constant variable
    (``max = min``) is refused: its ``S`` would divide by zero (predicts gives ±Inf or NaN
    there). A cell with any NaN variable gets NaN (predicts instead takes the minimum over
    the variables it has). The same formulas and cases as predicts' ``R/mess.R``
    (``.messi``; dismo's ``R/mess.R``, ``.messi3``, is the same); the most dissimilar
    variable as GRASS ``r.mess`` (``-m``, MoD: ``r.series method=min_raster`` over the
    per-variable similarities). Reference: Elith, J., Kearney, M. & Phillips, S. (2010) The
    art of modelling range-shifting species. Methods Ecol. Evol. 1:330–342.
    """
    _refuse_categorical("mess", reference, "MESS needs continuous variables (use gower)")
    _need_rows("mess", reference, 2, "MESS")
    _refuse_constant("mess", reference)
    if reference.p > np.iinfo(np.uint8).max:
        raise ValueError(f"mess: {reference.p} variables; mess_variable (uint8) numbers at "
                         "most 255")
    columns = np.ascontiguousarray(np.sort(reference.values, axis=0).T)
    columns.setflags(write=False)
    return MessFitted(reference.names, columns)


# -- Gower ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GowerFitted(Fitted):
    """Gower similarity: the reference, each variable's box ``[lo, hi]`` (the range of the
    AOI and the reference together), the categories seen in the reference and, for
    ``nearest``, a KD-tree of the reference in :func:`_gower_coordinates`."""

    method: ClassVar[str] = "gower"
    layers: ClassVar[tuple[tuple[str, str], ...]] = (("similarity_gower", "float32"),)

    categorical: tuple[bool, ...]
    reduce: str
    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    categories: tuple[np.ndarray, ...]
    tree: Any

    @property
    def ranges(self) -> np.ndarray:
        """``R`` of each variable (``hi − lo``; unused for categorical ones)."""
        return self.hi - self.lo

    def distances(self, x: np.ndarray, reduce: str) -> np.ndarray:
        """``Σ_i d_i`` between each cell and the reference rows, reduced over the rows by
        ``"nearest"`` (minimum) or ``"mean"``, computed pairwise in chunks of at most
        :data:`PAIRWISE_BUDGET` cell × row entries."""
        n = self.values.shape[0]
        ranges = self.ranges
        step = max(1, PAIRWISE_BUDGET // n)
        out = np.empty(x.shape[0])
        for start in range(0, x.shape[0], step):
            xs = x[start:start + step]
            d = np.zeros((xs.shape[0], n))
            for j, cat in enumerate(self.categorical):
                if cat:
                    d += xs[:, j, None] != self.values[None, :, j]
                elif ranges[j] > 0:
                    d += np.minimum(np.abs(xs[:, j, None] - self.values[None, :, j])
                                    / ranges[j], 1.0)
            out[start:start + step] = d.min(axis=1) if reduce == "nearest" else d.mean(axis=1)
        return out

    def _predict(self, x):
        p = x.shape[1]
        if self.reduce == "mean":
            total = self.distances(x, "mean")
        else:
            cont = ~np.asarray(self.categorical)
            inside = ((x[:, cont] >= self.lo[cont]) & (x[:, cont] <= self.hi[cont])).all(axis=1)
            total = np.empty(x.shape[0])
            if inside.any():
                total[inside] = self.tree.query(
                    _gower_coordinates(x[inside], self.categorical, self.ranges,
                                       self.categories), k=1, p=1)[0]
            if not inside.all():
                total[~inside] = self.distances(x[~inside], "nearest")
        return {"similarity_gower": (1.0 - total / p).astype(np.float32)}

    def _describe(self):
        cont = [j for j, c in enumerate(self.categorical) if not c]
        return {"reduce": self.reduce, "n_reference": int(self.values.shape[0]),
                "range": {self.names[j]: [float(self.lo[j]), float(self.hi[j])] for j in cont},
                "categories": {self.names[j]: self.categories[j].tolist()
                               for j, c in enumerate(self.categorical) if c}}


@SIMILARITY.register("gower")
def gower(reference: Reference, *, reduce: str = "nearest") -> GowerFitted:
    """Gower's similarity (Gower 1971) to the nearest reference row, or its mean over the
    reference rows; handles categorical variables.

    Between a cell ``x`` and a reference row ``y`` over the ``p`` variables, ``S = 1 −
    (1/p)·Σ_i d_i`` with ``d_i = min(|x_i − y_i| / R_i, 1)`` for a continuous variable and
    ``d_i = 0`` if ``x_i = y_i`` else 1 for a categorical one. ``R_i`` is the variable's
    range over the AOI's valid cells and the reference together (``max(aoi_max, ref_max) −
    min(aoi_min, ref_min)``: Gower's range over all the individuals compared, so no AOI
    cell is ever clipped; the clip at 1 only bounds cells outside that range). A variable
    with ``R_i = 0`` (one value over the AOI and the reference) contributes ``d_i = 0``
    and still counts in ``p``. ``reduce``: ``"nearest"`` (default) gives the maximum of
    ``S`` over the reference rows, the similarity to the closest reference sample (1 on
    every reference row), found with a KD-tree (SciPy ``cKDTree``, Manhattan distance)
    built at fit time on the range-scaled continuous variables and the categorical ones
    one-hot encoded × 0.5; ``"mean"`` gives the mean of ``S`` over the reference rows
    (computed pairwise, in chunks). Output ``similarity_gower``: float32, unitless, in
    [0, 1].

    The per-pair formula is R StatMatch's ``gower.dist`` (``R/gower.dist.R``) with ranges
    ``rngs`` given (here ``R_i``) and the clip at 1 added. Reference: Gower, J.C. (1971) A
    general coefficient of similarity and some of its properties. Biometrics 27:857–871.
    """
    if reduce not in REDUCE:
        raise ValueError(f"gower: reduce must be 'nearest' or 'mean', got {reduce!r}")
    values = reference.values
    lo = np.fmin(reference.aoi_min, values.min(axis=0))
    hi = np.fmax(reference.aoi_max, values.max(axis=0))
    categories = tuple(np.unique(values[:, j]) if cat else np.empty(0)
                       for j, cat in enumerate(reference.categorical))
    tree = None
    if reduce == "nearest":
        from scipy.spatial import cKDTree

        tree = cKDTree(_gower_coordinates(values, reference.categorical, hi - lo, categories))
    return GowerFitted(reference.names, reference.categorical, reduce, values, lo, hi,
                       categories, tree)


def _gower_coordinates(x: np.ndarray, categorical: tuple[bool, ...], ranges: np.ndarray,
                       categories: tuple[np.ndarray, ...]) -> np.ndarray:
    """Coordinates in which the Manhattan distance between two rows is Gower's ``Σ d_i``
    when no ``|x_i − y_i|`` exceeds ``R_i``: a continuous variable as ``x / R`` (left out
    where ``R = 0``), a categorical one as one-hot × 0.5 over the reference's categories
    plus a column for any other value (a mismatch costs 0.5 + 0.5 = 1)."""
    blocks = [np.zeros((len(x), 1))]  # keeps the tree's dimension >= 1
    for j, cat in enumerate(categorical):
        v = x[:, j]
        if cat:
            known = categories[j]
            at = np.searchsorted(known, v)
            match = at < len(known)
            match[match] = known[at[match]] == v[match]
            block = np.zeros((len(v), len(known) + 1))
            block[np.arange(len(v)), np.where(match, at, len(known))] = 0.5
            blocks.append(block)
        elif ranges[j] > 0:
            blocks.append((v / ranges[j])[:, None])
    return np.hstack(blocks)


def _d2(x: np.ndarray, centre: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``(x − centre)ᵀ precision (x − centre)`` of each row, rounding below 0 cut to 0."""
    d = x - centre
    return np.maximum(np.einsum("ij,jk,ik->i", d, precision, d), 0.0)


# -- robust Mahalanobis --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MahalanobisFitted(Fitted):
    """Mahalanobis similarity: the centre and precision (inverse covariance) it uses."""

    method: ClassVar[str] = "mahalanobis"
    layers: ClassVar[tuple[tuple[str, str], ...]] = (("similarity_mahalanobis", "float32"),)

    centre: np.ndarray
    precision: np.ndarray
    covariance: np.ndarray
    n_reference: int
    support: int
    seed: int

    def d2(self, x: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance ``(x − μ)ᵀ Σ⁻¹ (x − μ)`` of each cell (no NaN)."""
        return _d2(x, self.centre, self.precision)

    def _predict(self, x):
        from scipy.stats import chi2

        return {"similarity_mahalanobis":
                chi2.sf(self.d2(x), df=len(self.names)).astype(np.float32)}

    def _describe(self):
        return {"n_reference": self.n_reference, "seed": self.seed,
                "mcd_support": self.support,
                "centre": _by_name(self.names, self.centre),
                "covariance": self.covariance.tolist()}


@SIMILARITY.register("mahalanobis")
def mahalanobis(reference: Reference) -> MahalanobisFitted:
    """Robust Mahalanobis similarity: the χ² tail probability of the squared Mahalanobis
    distance to the reference's robust (MCD) centre.

    ``D² = (x − μ)ᵀ Σ⁻¹ (x − μ)`` with ``μ`` and ``Σ`` the minimum covariance determinant
    estimates of the reference's location and scatter (scikit-learn ``MinCovDet``, FAST-MCD
    with reweighting, ``random_state`` = the reference's seed), in the variables' own units
    (``D²`` is unitless and scale-free). The similarity is ``P(χ²_p > D²)``, the χ² survival
    function with ``p`` degrees of freedom (``scipy.stats.chi2.sf``; ``exp(−D²/2)`` for
    ``p = 2``): 1 at the centre, 0.05 at the 95th percentile of ``D²``. This is an
    approximation: ``D²`` follows ``χ²_p`` only for a multivariate normal reference (and a
    known centre and covariance); read the value as a relative similarity, not a
    probability. Output ``similarity_mahalanobis``: float32, unitless, in [0, 1].

    Continuous variables only. Refused: a categorical, constant or collinear variable
    (multiple correlation above 0.999 with the others: the covariance would be singular),
    fewer than 5 reference rows per variable (the MCD's rule of thumb ``n >= 5p``), and a
    reference whose MCD covariance is singular (more than half its rows on a
    lower-dimensional subspace, e.g. one value repeated). As R's ``stats::mahalanobis``
    with a robust centre and covariance (robustbase ``covMcd``) and ``stats::pchisq(D2,
    df = p, lower.tail = FALSE)``. References: Rousseeuw, P.J. & Van Driessen, K. (1999) A
    fast algorithm for the minimum covariance determinant estimator. Technometrics
    41:212–223; Clark, J.D., Dunn, J.E. & Smith, K.G. (1993) A multivariate model of female
    black bear habitat use for a geographic information system. J. Wildl. Manage.
    57:519–526 (D² to χ² p-values for habitat similarity); Farber, O. & Kadmon, R. (2003)
    Assessment of alternative approaches for bioclimatic modeling with special emphasis on
    the Mahalanobis distance. Ecol. Model. 160:115–130.
    """
    _refuse_categorical("mahalanobis", reference, "the Mahalanobis distance needs continuous "
                        "variables (use gower or drop it)")
    _need_rows("mahalanobis", reference, MCD_ROWS_PER_VARIABLE * reference.p,
               f"the robust covariance (MCD, {MCD_ROWS_PER_VARIABLE} rows per variable)")
    _refuse_constant("mahalanobis", reference)
    _refuse_collinear("mahalanobis", reference)
    from sklearn.covariance import MinCovDet

    mcd = MinCovDet(random_state=reference.seed).fit(reference.values)
    sd = reference.values.std(axis=0)
    for covariance in (mcd.raw_covariance_, mcd.covariance_):  # the h-subset's, reweighted
        eigval, eigvec = np.linalg.eigh(covariance / np.outer(sd, sd))
        if eigval[0] <= 1e-10 * eigval[-1]:
            involved = [reference.names[k] for k in np.flatnonzero(np.abs(eigvec[:, 0]) > 0.1)]
            raise ValueError(
                f"mahalanobis: the robust (MCD) covariance of the reference is singular along "
                f"{', '.join(map(repr, involved))}: more than half the reference rows lie on "
                "a lower-dimensional subspace (e.g. one value repeated); drop or replace "
                "those variables, or use exdet or gower")
    return MahalanobisFitted(reference.names, mcd.location_.copy(), mcd.precision_.copy(),
                             mcd.covariance_.copy(), reference.n, int(mcd.support_.sum()),
                             reference.seed)


# -- ExDet ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ExdetFitted(Fitted):
    """ExDet: the reference's range, mean, precision and largest ``D²``."""

    method: ClassVar[str] = "exdet"
    layers: ClassVar[tuple[tuple[str, str], ...]] = (("exdet_nt1", "float32"),
                                                      ("exdet_nt2", "float32"))

    lo: np.ndarray
    hi: np.ndarray
    mean: np.ndarray
    precision: np.ndarray
    d2_max: float
    n_reference: int

    def d2(self, x: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance to the reference mean (classical covariance)."""
        return _d2(x, self.mean, self.precision)

    def _predict(self, x):
        nt1 = (np.minimum(np.minimum(x - self.lo, self.hi - x), 0.0) / (self.hi - self.lo))
        return {"exdet_nt1": nt1.sum(axis=1).astype(np.float32),
                "exdet_nt2": (self.d2(x) / self.d2_max).astype(np.float32)}

    def _describe(self):
        return {"n_reference": self.n_reference, "d2_max": self.d2_max,
                "mean": _by_name(self.names, self.mean),
                "min": _by_name(self.names, self.lo), "max": _by_name(self.names, self.hi)}


@SIMILARITY.register("exdet")
def exdet(reference: Reference) -> ExdetFitted:
    """ExDet novelty (Mesgaran et al. 2014): univariate (NT1) and combinatorial (NT2)
    extrapolation from the reference.

    ``NT1 = Σ_j min(x_j − min_j, max_j − x_j, 0) / (max_j − min_j)`` over the variables,
    with the reference's ``min_j`` and ``max_j``: 0 inside the reference's range of every
    variable, negative outside (the distance beyond the range, in units of the range,
    summed). ``NT2 = D²(x) / max_ref D²``, the squared Mahalanobis distance to the
    reference mean with the reference's classical covariance, divided by its largest value
    over the reference rows: in [0, 1] for a combination of values like the reference's,
    above 1 for a novel combination. NT2 is meaningful where NT1 = 0 (ExDet's single map
    shows NT1 where it is negative, NT2 elsewhere); both are given everywhere. Outputs
    ``exdet_nt1`` and ``exdet_nt2``: float32, unitless.

    Continuous variables only. Refused: a categorical, constant or collinear variable
    (multiple correlation above 0.999 with the others), and no more reference rows than
    variables (the covariance would be singular). The same formulas as R dsmextra's
    ``R/ExDet.R`` (``ExDet``: NT1 from the matrices of minima and maxima, NT2 from
    ``stats::mahalanobis`` with ``stats::var``). Reference: Mesgaran, M.B., Cousens, R.D. &
    Webber, B.L. (2014) Here be dragons: a tool for quantifying novelty due to covariate
    range and correlation change when projecting species distribution models. Divers.
    Distrib. 20:1147–1159.
    """
    _refuse_categorical("exdet", reference, "ExDet needs continuous variables (use gower "
                        "or drop it)")
    _need_rows("exdet", reference, reference.p + 1, "the covariance")
    _refuse_constant("exdet", reference)
    _refuse_collinear("exdet", reference)
    values = reference.values
    mean = values.mean(axis=0)
    precision = np.linalg.inv(np.atleast_2d(np.cov(values, rowvar=False)))
    return ExdetFitted(reference.names, values.min(axis=0), values.max(axis=0), mean,
                       precision, float(_d2(values, mean, precision).max()), reference.n)
