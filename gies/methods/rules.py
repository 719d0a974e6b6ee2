"""Score combination rules: several factor score layers -> one overall score and a
limiting-factor layer.

Each rule takes ``{factor: score layer}`` (scores in [0, 1], on one grid) and returns
``(score, limiting)``: a float32 score in [0, 1] (NaN where any factor is NaN: an unknown
factor could change the result) and a uint8 layer naming the lowest-scoring factor
(1-based, first on ties; 0 = :data:`NO_LIMITATION` where that score is 1 or the result is
NaN). For the compensatory and "OR"-like rules (means, fuzzy OR/sum/gamma, OWA) the
lowest-scoring factor is not the sole cause of the result; it is reported as the factor
that pulls the result down most. Weights are always explicit (never derived from the data)
and normalised to sum 1. Pure, lazy functions registered in
:data:`gies.methods.registry.RULES` under the names a pipeline's ``combine.rule`` uses.
(Rules on FAO *classes*, such as maximum limitation: :mod:`gies.methods.fao`.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import xarray as xr

from gies.grid import assert_on_grid, grid_of
from gies.methods._layers import finish, is_dask, stack_layers
from gies.methods.registry import RULES

__all__ = ["minimum", "weighted_mean", "weighted_geometric_mean", "product", "fuzzy_or",
           "fuzzy_and", "fuzzy_sum", "fuzzy_gamma", "owa", "grouped", "normalise_weights",
           "NO_LIMITATION"]

NO_LIMITATION = 0
"""Limiting-factor code of a cell that no factor limits (every factor at its optimum)."""


@RULES.register("minimum")
def minimum(scores: Mapping[str, xr.DataArray]) -> tuple[xr.DataArray, xr.DataArray]:
    """Limiting-factor combination (Liebig's law; ECOCROP; Sys et al. 1993).

    ``score = min_i score_i``; a cell where any factor is NaN has no overall score (NaN):
    an unknown factor could be the limiting one. The limiting factor is the 1-based index
    (in the order given) of the factor with the lowest score, the first one on ties, and
    ``NO_LIMITATION`` (0) where the minimum is 1; it is 0 too where the score is NaN (the
    pipeline codes those cells as no data).

    Returns ``(score float32 in [0, 1], limiting uint8)``.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s, lim = minimum({"t": make_layer([[1.0, 0.5, 0.2]]), "r": make_layer([[1.0, 0.3, 0.2]])})
    >>> s.values.tolist(), lim.values.tolist()
    ([[1.0, 0.30000001192092896, 0.20000000298023224]], [[0, 2, 1]])
    """
    if not scores:
        raise ValueError("nothing to combine: no factors")
    names = list(scores)
    first = next(iter(scores.values()))
    assert_on_grid(grid_of(first), *scores.values())
    arrays = [s.transpose(*first.dims).data for s in scores.values()]
    if any(is_dask(a) for a in arrays):
        import dask.array as dsa

        # one fused task per chunk computes both outputs (no stacked copy, no dask argmin
        # reduction tree); the two slices share it within a compute
        ref = next(a for a in arrays if is_dask(a))
        arrays = [(a if is_dask(a) else dsa.from_array(np.asarray(a), chunks=ref.chunks))
                  .rechunk(ref.chunks) for a in arrays]
        both = dsa.map_blocks(_min_argmin_np, *arrays, dtype=np.float32, new_axis=0,
                              chunks=((2,),) + ref.chunks, meta=np.array((), dtype=np.float32))
        score, limiting = both[0], both[1].astype(np.uint8)
    else:
        res = _min_argmin_np(*[np.asarray(a) for a in arrays])
        score, limiting = res[0], res[1].astype(np.uint8)
    codes = {str(i + 1): n for i, n in enumerate(names)}
    return (
        finish(first, score, "suitability", "1", {"rule": "minimum"}),
        finish(first, limiting, "limiting_factor", "class", {"factors": codes}),
    )


def _min_argmin_np(*blocks) -> np.ndarray:
    """``[min, 1-based argmin or NO_LIMITATION]`` of equally shaped blocks, stacked as float32
    (NaN in any block -> NaN and code 0; ties -> the first; minimum 1 -> code 0); one
    compiled pass over the cells (:func:`gies.kernels.cells.min_argmin`)."""
    from gies.kernels import cells

    dt = np.result_type(*[np.asarray(b).dtype for b in blocks])
    shape = np.shape(blocks[0])
    flat = tuple(np.ascontiguousarray(b, dtype=dt).reshape(-1) for b in blocks)
    out = np.empty((2,) + tuple(shape), dtype=np.float32)
    o = out.reshape(2, -1)
    cells.min_argmin(flat, float(NO_LIMITATION), o[0], o[1])
    return out


def normalise_weights(
    weights: Mapping[str, float], names: list[str] | None = None
) -> dict[str, float]:
    """Weights divided by their sum; ``ValueError`` if any is negative or not finite, if
    they sum to 0, or if their keys are not exactly ``names``.

    >>> normalise_weights({"t": 2, "r": 1, "ph": 1})
    {'t': 0.5, 'r': 0.25, 'ph': 0.25}
    """
    if names is not None and set(weights) != set(names):
        missing = sorted(set(names) - set(weights))
        extra = sorted(set(weights) - set(names))
        raise ValueError(f"weights must name every factor exactly once: missing {missing}, "
                         f"unknown {extra}")
    w = {}
    for k, v in weights.items():
        v = float(v)
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"weight of {k!r} is {v}; weights must be finite and >= 0")
        w[k] = v
    total = sum(w.values())
    if not total > 0:
        raise ValueError("weights sum to 0: they cannot be normalised")
    return {k: v / total for k, v in w.items()}


def _lowest(stack: xr.DataArray, score: xr.DataArray) -> xr.DataArray:
    low = stack.min("factor", skipna=False)
    idx = stack.fillna(np.inf).argmin("factor").astype(np.uint8) + 1
    return xr.where((low < 1) & score.notnull(), idx, NO_LIMITATION).astype(np.uint8)


def _result(scores: Mapping[str, xr.DataArray], stack, score, rule: str, extra=None):
    first = next(iter(scores.values()))
    score = xr.where(stack.isnull().any("factor"), np.nan, score)
    score = score.clip(0.0, 1.0).astype(np.float32).transpose(*first.dims)
    limiting = _lowest(stack, score).transpose(*first.dims)
    codes = {str(i + 1): n for i, n in enumerate(scores)}
    return (
        finish(first, score.data, "suitability", "1", {"rule": rule, **(extra or {})}),
        finish(first, limiting.data, "limiting_factor", "class", {"factors": codes}),
    )


def _weights_da(scores, weights) -> xr.DataArray:
    w = normalise_weights(weights, list(scores))
    return xr.DataArray([w[n] for n in scores], dims="factor")


@RULES.register("weighted_mean")
def weighted_mean(scores: Mapping[str, xr.DataArray], *, weights: Mapping[str, float]):
    """Weighted linear combination (WLC): ``score = sum_i w_i s_i`` with ``w`` normalised
    to sum 1 (:func:`normalise_weights`). Equal weights give the plain mean.
    Reference: Malczewski (1999) GIS and Multicriteria Decision Analysis; Eastman (1995)
    IDRISI MCE; lsapy ``weighted_mean``.

    >>> from gies.testing import make_layer
    >>> s, lim = weighted_mean({"t": make_layer([[1.0, 0.5]]), "r": make_layer([[0.5, 0.0]])},
    ...                        weights={"t": 3, "r": 1})
    >>> s.values.tolist(), lim.values.tolist()
    ([[0.875, 0.375]], [[2, 2]])
    """
    stack = stack_layers(scores)
    score = (stack * _weights_da(scores, weights)).sum("factor", skipna=False)
    return _result(scores, stack, score, "weighted_mean",
                   {"weights": normalise_weights(weights, list(scores))})


@RULES.register("weighted_geometric_mean")
def weighted_geometric_mean(scores: Mapping[str, xr.DataArray], *, weights: Mapping[str, float]):
    """Weighted geometric mean: ``score = prod_i s_i ** w_i`` (``w`` normalised); any
    factor at 0 with a positive weight gives 0. Reference: lsapy ``weighted_geomean``;
    Malczewski (1999).

    >>> from gies.testing import make_layer
    >>> s, _ = weighted_geometric_mean({"a": make_layer([[0.25, 0.0]]),
    ...                                 "b": make_layer([[1.0, 1.0]])}, weights={"a": 1, "b": 1})
    >>> s.values.tolist()
    [[0.5, 0.0]]
    """
    stack = stack_layers(scores)
    w = _weights_da(scores, weights)
    score = (stack ** w).prod("factor", skipna=False)
    return _result(scores, stack, score, "weighted_geometric_mean",
                   {"weights": normalise_weights(weights, list(scores))})


@RULES.register("product", aliases=("fuzzy_product",))
def product(scores: Mapping[str, xr.DataArray]):
    """Product ``prod_i s_i`` (GAEZ multiplicative reduction factors; ArcGIS Fuzzy Overlay
    *Product*, hence its alias ``fuzzy_product``).

    >>> from gies.testing import make_layer
    >>> s, _ = product({"a": make_layer([[0.5]]), "b": make_layer([[0.5]])})
    >>> s.values.tolist()
    [[0.25]]
    """
    stack = stack_layers(scores)
    return _result(scores, stack, stack.prod("factor", skipna=False), "product")


@RULES.register("fuzzy_or")
def fuzzy_or(scores: Mapping[str, xr.DataArray]):
    """ArcGIS Fuzzy Overlay *Or*: ``max_i s_i``.

    >>> from gies.testing import make_layer
    >>> fuzzy_or({"a": make_layer([[0.5]]), "b": make_layer([[0.4]])})[0].values.tolist()
    [[0.5]]
    """
    stack = stack_layers(scores)
    return _result(scores, stack, stack.max("factor", skipna=False), "fuzzy_or")


@RULES.register("fuzzy_and")
def fuzzy_and(scores: Mapping[str, xr.DataArray]):
    """ArcGIS Fuzzy Overlay *And*: ``min_i s_i`` (the values of :func:`minimum`).

    >>> from gies.testing import make_layer
    >>> fuzzy_and({"a": make_layer([[0.5]]), "b": make_layer([[0.4]])})[1].values.tolist()
    [[2]]
    """
    stack = stack_layers(scores)
    return _result(scores, stack, stack.min("factor", skipna=False), "fuzzy_and")


@RULES.register("fuzzy_sum")
def fuzzy_sum(scores: Mapping[str, xr.DataArray]):
    """ArcGIS Fuzzy Overlay *Sum* (algebraic sum): ``1 - prod_i (1 - s_i)``.

    >>> from gies.testing import make_layer
    >>> fuzzy_sum({"a": make_layer([[0.5]]), "b": make_layer([[0.5]])})[0].values.tolist()
    [[0.75]]
    """
    stack = stack_layers(scores)
    return _result(scores, stack, 1.0 - (1.0 - stack).prod("factor", skipna=False), "fuzzy_sum")


@RULES.register("fuzzy_gamma")
def fuzzy_gamma(scores: Mapping[str, xr.DataArray], *, gamma: float = 0.9):
    """ArcGIS Fuzzy Overlay *Gamma*: ``(fuzzy sum)^gamma * (fuzzy product)^(1 - gamma)``,
    ``0 <= gamma <= 1`` (ArcGIS default 0.9; gamma 1 = sum, 0 = product).
    Reference: An, Moon & Rencz (1991); ArcGIS Pro Fuzzy Overlay.

    >>> from gies.testing import make_layer
    >>> s, _ = fuzzy_gamma({"a": make_layer([[0.5]]), "b": make_layer([[0.5]])}, gamma=0.5)
    >>> round(float(s.values[0, 0]), 4)  # sqrt(0.75 * 0.25)
    0.433
    """
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"fuzzy_gamma: gamma must be in [0, 1], got {gamma}")
    stack = stack_layers(scores)
    fsum = 1.0 - (1.0 - stack).prod("factor", skipna=False)
    fprod = stack.prod("factor", skipna=False)
    return _result(scores, stack, fsum**gamma * fprod ** (1.0 - gamma), "fuzzy_gamma",
                   {"gamma": gamma})


def _sorted_desc(block: np.ndarray) -> np.ndarray:
    return -np.sort(-block, axis=-1)


@RULES.register("owa")
def owa(scores: Mapping[str, xr.DataArray], *, order_weights: list[float]):
    """Ordered weighted average (Yager 1988; TerrSet MCE OWA, Jiang & Eastman 2000):
    sort each cell's factor scores from highest to lowest, ``s_(1) >= ... >= s_(n)``, then
    ``score = sum_j v_j s_(j)`` with order weights ``v`` (normalised to sum 1).
    ``(1, 0, ..., 0)`` is the maximum (OR), ``(0, ..., 0, 1)`` the minimum (AND), equal
    order weights the plain mean. Factor weights are not applied (combine
    :func:`weighted_mean` groups first with :func:`grouped` if needed).

    >>> from gies.testing import make_layer
    >>> sc = {"a": make_layer([[0.2]]), "b": make_layer([[0.6]]), "c": make_layer([[1.0]])}
    >>> [float(owa(sc, order_weights=v)[0].values[0, 0]) for v in ([1, 0, 0], [0, 0, 1])]
    [1.0, 0.20000000298023224]
    """
    names = list(scores)
    v = normalise_weights({str(i): w for i, w in enumerate(order_weights)})
    if len(v) != len(names):
        raise ValueError(f"owa: {len(v)} order weights for {len(names)} factors")
    stack = stack_layers(scores)
    ordered = xr.apply_ufunc(
        _sorted_desc, stack, input_core_dims=[["factor"]], output_core_dims=[["factor"]],
        dask="parallelized", output_dtypes=[stack.dtype],
        dask_gufunc_kwargs={"allow_rechunk": True},
    )
    vw = xr.DataArray([v[str(i)] for i in range(len(names))], dims="factor")
    score = (ordered * vw).sum("factor", skipna=False)
    ow = [v[str(i)] for i in range(len(names))]
    return _result(scores, stack, score, "owa", {"order_weights": ow})


@RULES.register("grouped")
def grouped(
    scores: Mapping[str, xr.DataArray],
    *,
    groups: Mapping[str, str],
    within: str = "minimum",
    across: str = "weighted_mean",
    weights: Mapping[str, float] | None = None,
    within_params: Mapping | None = None,
    across_params: Mapping | None = None,
):
    """Two-level combination: factors are combined within each group by rule ``within``
    (e.g. the limiting factor inside "climate", "soil", "terrain"), then the group scores
    across groups by rule ``across`` (e.g. a weighted mean with group ``weights``).

    ``groups`` maps every factor to a group name; ``weights`` (group -> weight) is passed to
    ``across`` when given. Returns ``(score, limiting)`` where ``limiting`` names the
    lowest-scoring *group* (codes in ``attrs["factors"]``).

    >>> from gies.testing import make_layer
    >>> sc = {"t": make_layer([[1.0]]), "r": make_layer([[0.5]]), "ph": make_layer([[0.9]])}
    >>> s, lim = grouped(sc, groups={"t": "climate", "r": "climate", "ph": "soil"},
    ...                  weights={"climate": 1, "soil": 1})
    >>> round(float(s.values[0, 0]), 3), lim.attrs["factors"][str(int(lim.values[0, 0]))]
    (0.7, 'climate')
    """
    missing = [f for f in scores if f not in groups]
    if missing:
        raise ValueError(f"grouped: factors without a group: {missing}")
    for key, rule in (("within", within), ("across", across)):
        if rule not in RULES or RULES.canonical(rule) == "grouped":
            raise ValueError(f"grouped: {key}: " + (RULES.unknown(rule) if rule not in RULES
                             else "'grouped' cannot be nested"))
    members: dict[str, dict[str, xr.DataArray]] = {}
    for f, layer in scores.items():
        members.setdefault(groups[f], {})[f] = layer
    group_scores = {}
    for g, layers in members.items():
        s, _ = RULES[within](layers, **dict(within_params or {}))
        group_scores[g] = s.rename(g)
    params = dict(across_params or {})
    if weights is not None:
        params["weights"] = weights
    return RULES[across](group_scores, **params)

