"""Combination: several factor score layers -> one overall score and a limiting-factor layer.

Pure, lazy functions registered under the names a pipeline's ``combine.rule`` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import xarray as xr

from gies.grid import assert_on_grid, grid_of

__all__ = ["minimum", "maximum_limitation", "RULES", "NO_LIMITATION"]

NO_LIMITATION = 0
"""Limiting-factor code of a cell that no factor limits (every factor at its optimum)."""


def _stack(layers: Mapping[str, xr.DataArray]) -> xr.DataArray:
    if not layers:
        raise ValueError("nothing to combine: no factors")
    first = next(iter(layers.values()))
    assert_on_grid(grid_of(first), *layers.values())
    return xr.concat(list(layers.values()), dim="factor", coords="minimal", compat="override")


def _finish(template: xr.DataArray, data, name: str, units: str, extra: dict) -> xr.DataArray:
    out = template.copy(data=data)
    out.name = name
    out.attrs = {"grid": template.attrs["grid"], "units": units, **extra}
    return out


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
    stack = _stack(scores)
    names = list(scores)
    score = stack.min("factor", skipna=False).astype(np.float32)
    idx = stack.fillna(np.inf).argmin("factor").astype(np.uint8) + 1
    limiting = xr.where((score < 1) & score.notnull(), idx, NO_LIMITATION).astype(np.uint8)
    first = next(iter(scores.values()))
    codes = {str(i + 1): n for i, n in enumerate(names)}
    return (
        _finish(first, score.data, "suitability", "1", {"rule": "minimum"}),
        _finish(limiting.transpose(*first.dims), limiting.data, "limiting_factor", "class",
                {"factors": codes}),
    )


def maximum_limitation(classes: Mapping[str, xr.DataArray]) -> tuple[xr.DataArray, xr.DataArray]:
    """FAO maximum-limitation rule: the overall class is the worst factor class.

    Factor classes are codes 1=S1 ... 4=N and 0=no data. ``overall = max_i class_i``, and 0
    where any factor is 0. The limiting factor is the first factor (in the order given) with
    the worst class, or ``NO_LIMITATION`` where every factor is S1.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> import numpy as np
    >>> t = make_layer(np.array([[1, 2, 3, 1]], dtype="uint8"))
    >>> r = make_layer(np.array([[1, 3, 3, 0]], dtype="uint8"))
    >>> c, lim = maximum_limitation({"t": t, "r": r})
    >>> c.values.tolist(), lim.values.tolist()
    ([[1, 3, 3, 0]], [[0, 2, 1, 0]])
    """
    stack = _stack(classes)
    names = list(classes)
    worst = stack.max("factor")
    any_missing = (stack == 0).any("factor")
    overall = xr.where(any_missing, 0, worst).astype(np.uint8)
    idx = stack.argmax("factor").astype(np.uint8) + 1
    limiting = xr.where(any_missing | (worst <= 1), NO_LIMITATION, idx).astype(np.uint8)
    first = next(iter(classes.values()))
    codes = {str(i + 1): n for i, n in enumerate(names)}
    return (
        _finish(first, overall.data, "classes", "class", {"rule": "maximum_limitation"}),
        _finish(first, limiting.data, "limiting_factor", "class", {"factors": codes}),
    )


RULES: dict[str, Callable] = {"minimum": minimum, "maximum_limitation": maximum_limitation}
