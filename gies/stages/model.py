"""The suitability model of a run: the stages after harmonise, in order, as one value.

:func:`build_model` runs score (:mod:`~gies.stages.score`), combine
(:mod:`~gies.stages.combine`), classify with FAO subclasses and improvement
(:mod:`~gies.stages.classify`) and constrain (:mod:`~gies.stages.constrain`) on the
harmonised layers and returns a frozen :class:`Model`: every layer lazy, on the plan's grid.
Nothing here computes a layer, and no input is modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from gies.methods.schemes import EXCLUDED, NODATA, OUTSIDE
from gies.stages import classify as classify_stage
from gies.stages.combine import combine
from gies.stages.constrain import exclusions
from gies.stages.score import score_factors

__all__ = ["Model", "build_model"]


@dataclass(frozen=True)
class Model:
    """Lazy layers of one run, on the plan's grid.

    ``score``: overall score (NaN no data or outside the AOI); ``classes``: 1..4 (+5 N2
    with improvement rules), 253 excluded, 254 no data, 255 outside; ``limiting``: limiting
    factor codes (0 none, 254 no data, 255 outside); ``factor_scores`` and
    ``factor_classes`` per factor; ``potential``, ``subclasses`` (+ ``subclass_table``),
    ``n_limiting`` and ``best_month`` when the pipeline makes them; ``excluded``: the
    exclusion mask; ``counts``: lazy boolean layers counted in the pass; ``info``: weights,
    AHP, groups, improvement steps, seasonal duration (the manifest's ``combination``);
    ``limiting_codes``: what each code of ``limiting`` names (a factor, or a group of the
    ``grouped`` rule); ``origin``: the origin analysis's layers
    (:class:`gies.stages.origin.OriginLayers`), when the pipeline has one. A pipeline
    without requirements has no ``score``, ``classes`` or ``limiting``
    (:meth:`without_requirements`).
    """

    @classmethod
    def without_requirements(cls) -> Model:
        """The model of a pipeline that is an origin analysis alone."""
        return cls(None, None, None, MappingProxyType({}))

    @property
    def has_requirements(self) -> bool:
        """Whether land was scored against a product's requirements."""
        return self.classes is not None

    score: xr.DataArray | None
    classes: xr.DataArray | None
    limiting: xr.DataArray | None
    factor_scores: Mapping[str, xr.DataArray]
    factor_classes: Mapping[str, xr.DataArray] = field(default_factory=dict)
    potential: xr.DataArray | None = None
    subclasses: xr.DataArray | None = None
    subclass_table: Mapping[int, str] = field(default_factory=dict)
    n_limiting: xr.DataArray | None = None
    best_month: xr.DataArray | None = None
    excluded: xr.DataArray | None = None
    counts: Mapping[str, xr.DataArray] = field(default_factory=dict)
    info: Mapping[str, object] = field(default_factory=dict)
    limiting_codes: Mapping[int, str] = field(default_factory=dict)
    origin: Any = None


def build_model(plan, layers: Mapping[str, xr.DataArray], kept: Sequence[str],
                inside: xr.DataArray) -> Model:
    """Score, combine, classify, constrain (see the module docstring): the factors ``kept``
    by the quality checks, masked by the AOI mask ``inside``."""
    p = plan.pipeline
    cfg = p.config
    units = {n: lp.units for n, lp in plan.layers.items()}
    fs = score_factors(layers, p.factors, kept, units, p.seasonal)
    combined = combine(fs, p.combine)
    info = {**fs.info, **combined.info}
    classes = classify_stage.classify(combined.score, p.scheme, combined.classes)
    subclasses = table = n_limiting = potential = None
    # FAO subclasses name the FAO class of the worst factor: only with FAO's classes
    if (p.scheme.fao and len(fs.classes) == len(fs.scores) and cfg.classify.subclasses
            and fs.classes):
        letters = {f: p.factors[f].subclass for f in fs.classes}
        subclasses, table, n_limiting = classify_stage.subclasses(fs.classes, letters)
    if cfg.improve:
        classes, potential, info["improve"] = classify_stage.improve(
            classes, fs.classes, steps=p.improve_steps or {}, level=cfg.improve.level)
    excluded = exclusions(plan, layers)
    # the rule names its codes (groups for ``grouped``); masking drops the layer's attrs
    named = combined.limiting.attrs.get("factors") or {}
    lim_codes = ({int(k): v for k, v in named.items()}
                 or {i + 1: f for i, f in enumerate(fs.scores)})
    return _masked(plan, Model(
        combined.score, classes, combined.limiting, fs.scores, fs.classes, potential,
        subclasses, MappingProxyType(dict(table or {})), n_limiting, fs.best_month, excluded,
        fs.unmatched, MappingProxyType(info), MappingProxyType(lim_codes)), inside)


def _masked(plan, m: Model, inside: xr.DataArray) -> Model:
    """Outside the AOI -> 255 / NaN; excluded -> 253 (score kept as the land's own); no
    score -> 254 in the code layers."""
    grid = plan.grid

    def on_grid(out):
        return out.assign_coords(grid.coords())

    def classes(c):
        if m.excluded is not None:
            c = xr.where(m.excluded, EXCLUDED, c)
        return on_grid(xr.where(inside, c, OUTSIDE).astype(np.uint8))

    score = on_grid(m.score.where(inside))
    nodata = score.isnull()

    def codes(lyr):
        if lyr is None:
            return None
        return on_grid(xr.where(inside, xr.where(nodata, NODATA, lyr), OUTSIDE).astype(np.uint8))

    return Model(
        score=score, classes=classes(m.classes), limiting=codes(m.limiting),
        factor_scores=MappingProxyType({f: s.where(inside) for f, s in m.factor_scores.items()}),
        factor_classes=m.factor_classes,
        potential=None if m.potential is None else classes(m.potential),
        subclasses=codes(m.subclasses), subclass_table=m.subclass_table,
        n_limiting=codes(m.n_limiting), best_month=codes(m.best_month), excluded=m.excluded,
        counts=m.counts, info=m.info, limiting_codes=m.limiting_codes)
