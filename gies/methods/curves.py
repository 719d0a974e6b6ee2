"""Scoring curves of absolute limits: ECOCROP's trapezoid, piecewise-linear rating tables and
categorical lookups. (FAO class limits: :mod:`gies.methods.class_limits`; ArcGIS's
rescale-by-function family: :mod:`gies.methods.arcgis`.)

Each curve turns one factor layer into a score layer in [0, 1] (NaN stays NaN): a pure
function on (lazy) ``xarray.DataArray`` s that keeps dims, coords and attrs, never computes,
and checks its parameters before it touches the data. Every parameter is explicit; none
depends on the run's data (no min/max/mean of "this raster"), so a cell's score is the same
in a district run and a national run. Each is registered in
:data:`gies.methods.registry.CURVES` under the name a pipeline file uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from gies.methods._layers import blockwise, like, limits_like
from gies.methods.registry import CURVES

__all__ = ["trapezoid", "trapezoid_values", "trapezoid_limits", "piecewise_linear", "lookup",
           "lookup_unmapped"]


def trapezoid_values(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """:func:`trapezoid` of a NumPy block (float32; ``±inf`` for a missing side).

    ``min(1, rise, fall)`` clipped at 0: the same float64 expressions as the piecewise
    definition (bit for bit), in one compiled pass (:func:`gies.kernels.cells.trapezoid`).
    """
    from gies.kernels import cells

    a, b, c, d = limits_like(x, a, b, c, d)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, dtype=np.float32)
    cells.trapezoid(flat, a, b, c, d, not math.isinf(a), not math.isinf(d), out)
    return out.reshape(x.shape)


@CURVES.register("trapezoid", profile_param="limits")
def trapezoid(
    layer: xr.DataArray,
    *,
    limits: Sequence[float | None],
) -> xr.DataArray:
    """ECOCROP trapezoid score.

    With ``limits = (a, b, c, d)`` = (absolute min, optimal min, optimal max, absolute max)::

        score = 0                   x <= a  or  x >= d
              = (x - a) / (b - a)   a < x < b
              = 1                   b <= x <= c
              = (d - x) / (d - c)   c < x < d

    so the score is exactly 1 on the optimum and 0 at and beyond the absolute limits
    (Hijmans' dismo ``ecocrop`` ``.getY``; Recocrop ``approx4``). ``None`` for ``a`` and
    ``b`` (or ``c`` and ``d``) makes the curve one-sided (no lower/upper limit);
    ``a == b`` or ``c == d`` makes a step. Units: those of the layer, which must match the
    limits'. NaN stays NaN.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = trapezoid(make_layer([[10, 15, 21, 32, 35, 38]]), limits=(10, 21, 32, 38))
    >>> [round(float(v), 4) for v in s.values[0]]
    [0.0, 0.4545, 1.0, 1.0, 0.5, 0.0]
    """
    a, b, c, d = trapezoid_limits(limits)
    scored = blockwise(layer, trapezoid_values, a, b, c, d, dtype=np.float32)
    return like(layer, scored, name=f"{layer.name}_score", units="1")


def trapezoid_limits(limits: Sequence[float | None]) -> tuple[float, float, float, float]:
    """``(a, b, c, d)`` of trapezoid limits (``None`` sides as ``∓inf``), or ``ValueError``:
    they must be 4 non-decreasing numbers, with ``null`` for both limits of an open side.

    >>> trapezoid_limits([None, None, 30, 35])
    (-inf, -inf, 30.0, 35.0)
    """
    what = ("a trapezoid needs 4 non-decreasing numbers [absolute min, optimal min, optimal "
            "max, absolute max] (null for both limits of an open side)")
    if isinstance(limits, (str, bytes, Mapping)) or not isinstance(limits, Sequence) \
            or len(limits) != 4:
        raise ValueError(f"{what}, got {limits!r}")
    if any(isinstance(v, bool) or not (v is None or isinstance(v, (int, float))) for v in limits):
        raise ValueError(f"{what}, got {list(limits)!r}")
    if all(v is None for v in limits):
        raise ValueError(f"{what}, got {list(limits)!r}")
    lo = [(-math.inf if v is None else float(v)) for v in limits[:2]]
    hi = [(math.inf if v is None else float(v)) for v in limits[2:]]
    a, b, c, d = lo[0], lo[1], hi[0], hi[1]
    if any(math.isnan(v) for v in (a, b, c, d)):
        raise ValueError(f"{what}, got {list(limits)!r}")
    if (math.isinf(a) != math.isinf(b)) or (math.isinf(c) != math.isinf(d)):
        raise ValueError(f"{what}: leave out both limits of a side or neither, got {list(limits)!r}")
    if not (a <= b <= c <= d):
        raise ValueError(f"{what}, got {list(limits)!r}")
    return a, b, c, d


# -- piecewise linear (GAEZ soil-quality rating tables) ----------------------------------
def _check_points(points) -> tuple[np.ndarray, np.ndarray]:
    pts = [(float(x), float(s)) for x, s in points]
    if len(pts) < 1:
        raise ValueError("piecewise_linear needs at least one (x, score) point")
    xs = np.array([p[0] for p in pts])
    ss = np.array([p[1] for p in pts])
    if not np.all(np.isfinite(xs)) or not np.all(np.isfinite(ss)):
        raise ValueError(f"piecewise_linear points must be finite numbers, got {pts}")
    if np.any(np.diff(xs) <= 0):
        raise ValueError(
            f"piecewise_linear x values must be strictly increasing, got {xs.tolist()}"
        )
    if np.any((ss < 0) | (ss > 1)):
        raise ValueError(f"piecewise_linear scores must be in [0, 1], got {ss.tolist()}")
    return xs, ss


def _interp_np(x: np.ndarray, xs: np.ndarray, ss: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.interp(x, xs, ss)
    out[np.isnan(x)] = np.nan
    return out.astype(np.float32)


@CURVES.register("piecewise_linear")
def piecewise_linear(layer: xr.DataArray, *, points: Sequence[tuple[float, float]]) -> xr.DataArray:
    """Piecewise-linear rating table (GAEZ soil-quality style).

    With breakpoints ``points = [(x_1, s_1), ..., (x_n, s_n)]``, ``x_1 < ... < x_n``::

        score = s_1                                             x <= x_1
              = s_k + (x - x_k) (s_{k+1} - s_k) / (x_{k+1} - x_k)   x_k <= x <= x_{k+1}
              = s_n                                             x >= x_n

    i.e. linear between breakpoints and constant beyond the ends (``numpy.interp``), as
    PyAEZ's ``SoilConstraints`` rates numeric soil attributes (value breakpoints -> rating %,
    here as a fraction). Units of ``x``: those of the layer. Scores must lie in [0, 1].
    Reference: Fischer et al. (2021) GAEZ v4 Model documentation, ch. agro-edaphic
    constraints; gicait/PyAEZ ``SoilConstraints.py``.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = piecewise_linear(make_layer([[3.0, 4.5, 5.0, 5.5, 7.0, 9.0, float("nan")]]),
    ...                      points=[(4.5, 0.0), (5.5, 1.0), (7.0, 1.0), (8.5, 0.0)])
    >>> [round(float(v), 3) for v in s.values[0]]
    [0.0, 0.0, 0.5, 1.0, 1.0, 0.0, nan]
    """
    xs, ss = _check_points(points)
    return like(layer, blockwise(layer, _interp_np, xs, ss), name=f"{layer.name}_score", units="1")


# -- categorical lookup ------------------------------------------------------------------
def _check_table(table: Mapping) -> tuple[np.ndarray, np.ndarray]:
    if not table:
        raise ValueError("lookup needs a non-empty table {code: score}")
    codes, scores = [], []
    for code, s in table.items():
        if isinstance(code, bool) or float(code) != int(float(code)):
            raise ValueError(f"lookup code {code!r} is not an integer category code")
        s = float(s)
        if not (0.0 <= s <= 1.0):
            raise ValueError(f"lookup score of code {code!r} is {s}; scores must be in [0, 1]")
        codes.append(int(float(code)))
        scores.append(s)
    return np.array(codes, dtype=np.float64), np.array(scores, dtype=np.float64)


def _lookup_np(x: np.ndarray, codes: np.ndarray, scores: np.ndarray, default: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, default, dtype=np.float64)
    for c, s in zip(codes, scores):
        out[x == c] = s
    out[np.isnan(x)] = np.nan
    return out.astype(np.float32)


def _unmapped_codes_np(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return ~np.isin(x, codes) & ~np.isnan(x)


@CURVES.register("lookup", unmatched=lambda layer, *, table, default=None: (
    lookup_unmapped(layer, table=table) if default is None else None), unmatched_error=True,
    unmatched_key="table", unmatched_what="are not in the lookup table; add them or give a "
    "'default'")
def lookup(
    layer: xr.DataArray, *, table: Mapping[int, float], default: float | None = None
) -> xr.DataArray:
    """Score of a categorical layer (texture, drainage, soil phase codes) by a code table.

    ``score = table[code]``; a code missing from the table scores ``default``. With
    ``default=None`` (the default) an unmapped code scores **NaN** (no data), never a guess.

    Design: whether the data holds an unmapped code is a property of the data, so a pure,
    lazy function cannot raise on it without computing. Instead the pipeline checks it:
    :func:`lookup_unmapped` gives the lazy boolean layer of valid cells whose code is not in
    the table (this curve's ``unmatched`` companion in :data:`~gies.methods.registry.CURVES`);
    the run counts it in the pass that writes the outputs and stops with an error naming the
    factor when ``default`` is None and the count is > 0 (``gies validate`` already names the
    missing codes it finds in a sample of the layer). Reference: ArcGIS Pro Suitability Modeler
    "Unique Categories" transformation; PyAEZ categorical soil ratings.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> lyr = make_layer([[1.0, 2.0, 3.0, 9.0, float("nan")]])
    >>> lookup(lyr, table={1: 1.0, 2: 0.5, 3: 0.0}).values.tolist()
    [[1.0, 0.5, 0.0, nan, nan]]
    >>> lookup(lyr, table={1: 1.0}, default=0.0).values.tolist()
    [[1.0, 0.0, 0.0, 0.0, nan]]
    >>> lookup_unmapped(lyr, table={1: 1.0, 2: 0.5, 3: 0.0}).values.tolist()
    [[False, False, False, True, False]]
    """
    codes, scores = _check_table(table)
    if default is None:
        fill = np.nan
    else:
        fill = float(default)
        if not 0.0 <= fill <= 1.0:
            raise ValueError(f"lookup default must be in [0, 1] or None, got {default!r}")
    return like(layer, blockwise(layer, _lookup_np, codes, scores, fill),
                name=f"{layer.name}_score", units="1")


def lookup_unmapped(layer: xr.DataArray, *, table: Mapping[int, float]) -> xr.DataArray:
    """Boolean layer: valid cells whose code is not a key of ``table`` (see :func:`lookup`)."""
    codes, _ = _check_table(table)
    return like(layer, blockwise(layer, _unmapped_codes_np, codes, dtype=bool),
                name=f"{layer.name}_unmapped", units="1")

