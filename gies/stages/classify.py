"""Classify: the overall score -> suitability classes; FAO subclasses; improvement.

Classes come from the class scheme's absolute thresholds (never from the run's own data),
or, with a class rule, from the factor classes (FAO maximum limitation). When every factor
has FAO classes, the FAO subclass of each cell (the kinds of limitation at the worst class)
and the number of limiting factors follow; improvement rules give the potential classes and
split N into N1 / N2 (:mod:`gies.methods.improve`). Pure and lazy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from gies.methods import fao
from gies.methods import improve as imp
from gies.methods.schemes import NODATA, ClassScheme, classify_score

__all__ = ["classify", "subclasses", "improve"]


def classify(score: xr.DataArray, scheme: ClassScheme,
             class_rule_classes: xr.DataArray | None = None) -> xr.DataArray:
    """uint8 class codes (1 S1 .. 4 N, 254 no data): the class rule's classes when given,
    else ``score`` classified by ``scheme``."""
    if class_rule_classes is not None:
        return class_rule_classes
    return classify_score(score, scheme=scheme)


def subclasses(classes: Mapping[str, xr.DataArray], letters: Mapping[str, str]
               ) -> tuple[xr.DataArray, dict[int, str], xr.DataArray]:
    """``(FAO subclass codes, code table, number of factors at the worst class)`` from the
    factor classes and each factor's subclass letter (:func:`gies.methods.fao.fao_subclasses`)."""
    codes, table = fao.fao_subclasses(classes, groups=letters)
    return codes, table, fao.count_limiting(classes)


def improve(actual: xr.DataArray, classes: Mapping[str, xr.DataArray], *,
            steps: Mapping[str, int], level: str) -> tuple[xr.DataArray, xr.DataArray, dict]:
    """``(actual classes with N split into N1/N2, potential classes, info)``: every factor
    class improved by its steps at the input ``level`` (factors without steps: none), the
    potential class their maximum limitation."""
    steps = {f: s for f, s in steps.items() if f in classes}
    potential_f = imp.potential_factor_classes(classes, steps=steps)
    pot, _ = fao.maximum_limitation(potential_f)
    pot = xr.where(pot == 0, NODATA, pot).astype(np.uint8)
    return imp.split_n(actual, pot), pot, {"level": level, "steps": dict(steps)}
