"""Combine: the factor scores -> one overall score and the limiting factor.

The rule and its parameters come from the pipeline's resolved
:class:`~gies.config.CombinePlan`: a score rule of :data:`gies.methods.registry.RULES` on
the scores, or a class rule of :data:`~gies.methods.registry.CLASS_RULES` (FAO maximum
limitation) on the factor classes, whose overall score is the score rule it names. Weights
of factors the quality checks dropped are left out and the others normalised again. Pure
and lazy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from gies.config import CombinePlan
from gies.methods.registry import CLASS_RULES, RULES
from gies.methods.schemes import NODATA
from gies.stages.score import FactorScores

__all__ = ["Combined", "combine"]


@dataclass(frozen=True)
class Combined:
    """The overall ``score`` (float32, NaN where any factor is NaN), the ``limiting`` factor
    (uint8 codes: 0 none, 1.. the factors in order; names in its ``factors`` attribute),
    the overall FAO ``classes`` of a class rule (``None`` for score rules: the class scheme
    classifies the score) and ``info`` for the manifest (weights, AHP, groups)."""

    score: xr.DataArray
    limiting: xr.DataArray
    classes: xr.DataArray | None
    info: Mapping[str, object]


def combine(fs: FactorScores, plan: CombinePlan) -> Combined:
    """Combine ``fs`` by ``plan`` (see the module docstring)."""
    names = list(fs.scores)
    params, info = plan.params_for(names)
    score, limiting = RULES[plan.score_rule](dict(fs.scores), **params)
    classes = None
    if plan.is_class_rule:
        classes, limiting = CLASS_RULES[plan.rule](dict(fs.classes))
        classes = xr.where(classes == 0, NODATA, classes).astype(np.uint8)
    return Combined(score, limiting, classes, info)
