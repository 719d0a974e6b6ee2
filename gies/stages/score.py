"""Score: every factor's layer -> its score in [0, 1], with the curve its plan resolved.

Each factor is converted to the units its limits are in, then scored by its curve
(:data:`gies.methods.registry.CURVES`, with the parameters of its
:class:`~gies.config.FactorPlan`); class-limit curves also give the factor's FAO class and
the valid cells matched by no range, other curves the cells they could not score. The
seasonal model scores the monthly layers (:data:`~gies.methods.registry.SEASONAL`). Pure and
lazy: the inputs are not modified and nothing is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import xarray as xr

from gies.config import FactorPlan, SeasonalPlan
from gies.config.resolve import SEASONAL_FACTOR
from gies.methods.registry import CURVES, SEASONAL
from gies.stages.harmonise import to_units

__all__ = ["FactorScores", "score_factor", "score_seasonal", "score_factors"]


@dataclass(frozen=True)
class FactorScores:
    """The scores of a run's factors, in combination order (the seasonal model first).

    ``classes``: FAO factor classes (1 S1 .. 4 N, 0 no data) of the factors scored by
    class-limit curves; ``unmatched``: lazy boolean layers of cells a curve could not match
    (``unmatched_<factor>``), counted in the pass; ``best_month``: the seasonal model's best
    start month; ``info``: what the manifest records (the seasonal model's duration).
    """

    scores: Mapping[str, xr.DataArray]
    classes: Mapping[str, xr.DataArray]
    unmatched: Mapping[str, xr.DataArray]
    best_month: xr.DataArray | None = None
    info: Mapping[str, object] = field(default_factory=dict)


def score_factor(layer: xr.DataArray, fp: FactorPlan) -> tuple[xr.DataArray, xr.DataArray | None,
                                                               xr.DataArray | None]:
    """``(score, FAO classes or None, unmatched cells or None)`` of one factor's layer (already
    in the factor's units)."""
    m = CURVES[fp.method]
    classes = unmatched = None
    if m.classes is not None:
        classes, unmatched = m.call(m.classes, layer, fp.params)
        score = (m.call(m.from_classes, classes, fp.params) if m.from_classes is not None
                 else m(layer, **fp.params))
        score.name = f"{fp.name}_score"
    else:
        score = m(layer, **fp.params)
        if m.unmatched is not None:
            unmatched = m.call(m.unmatched, layer, fp.params)
    return score, classes, unmatched


def score_seasonal(layers: Mapping[str, xr.DataArray], sp: SeasonalPlan,
                   layer_units: Mapping[str, str] | None = None
                   ) -> tuple[xr.DataArray, xr.DataArray, dict]:
    """``(score, best start month, info)`` of the seasonal model on the monthly layers,
    each converted from its declared units (``layer_units``) to those of the model's limits
    (``sp.units``)."""
    def given(key: str):
        name = getattr(sp, key)
        if name is None:
            return None
        if layer_units is None or key not in sp.units:
            return layers[name]
        return to_units(layers[name], src=layer_units[name], dst=sp.units[key])

    score, best = SEASONAL[sp.model](given("tavg"), prec=given("prec"), tmin=given("tmin"),
                                     **sp.params)
    info = {"duration_months": score.attrs.get("duration_months"),
            "basis": score.attrs.get("basis"), "rainfall": score.attrs.get("rainfall")}
    score = score.copy()
    best = best.copy()
    score.attrs = {"units": "1"}
    best.attrs = {"units": "month"}
    score.name = "seasonal_score"
    return score, best, info


def score_factors(layers: Mapping[str, xr.DataArray], factors: Mapping[str, FactorPlan],
                  kept: Sequence[str], layer_units: Mapping[str, str],
                  seasonal: SeasonalPlan | None = None) -> FactorScores:
    """The scores of the factors ``kept`` (those the quality checks kept, in the pipeline's
    order), and of the seasonal model (see the module docstring)."""
    scores, classes, unmatched = {}, {}, {}
    best, info = None, {}
    if seasonal is not None:
        s, best, sinfo = score_seasonal(layers, seasonal, layer_units)
        scores[SEASONAL_FACTOR] = s
        info["seasonal"] = sinfo
    for name in kept:
        fp = factors[name]
        layer = to_units(layers[fp.layer], src=layer_units[fp.layer], dst=fp.units)
        layer.name = name
        s, c, u = score_factor(layer, fp)
        scores[name] = s
        if c is not None:
            classes[name] = c
        if u is not None:
            unmatched[f"unmatched_{name}"] = u
    return FactorScores(MappingProxyType(scores), MappingProxyType(classes),
                        MappingProxyType(unmatched), best, MappingProxyType(info))
