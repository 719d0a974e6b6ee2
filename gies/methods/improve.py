"""Actual versus potential suitability: land improvements by input level.

*Actual* suitability scores the land as it is; *potential* suitability after the
improvements an input level makes affordable (liming raises the pH class, irrigation
removes the rainfall limitation, fertiliser the nutrient ones). The LaSEM intervention
table (``data/sample/bungo/tables/lasem_lookup_intervention.csv``; ICRAF LUMENS/LaSEM)
encodes, per land characteristic and input level (low / medium / high), how many FAO class
steps an intervention gains: ``+`` one class, ``++`` two, ``+++`` three, ``NA`` none
(``intervention = FALSE``: not improvable, e.g. temperature, texture).

Encoding of the N split (FAO 1976 ch. 3: N1 currently not suitable, N2 permanently not
suitable), chosen to keep :mod:`gies.methods.schemes` codes meaning what they mean::

    1 S1, 2 S2, 3 S3           as in classify.py (actual class)
    4 N1  currently not suitable: actual N, potential class better than N (improvable)
    5 N2  permanently not suitable: actual N and potential N
    0 / 253 / 254 / 255        unchanged (no data, excluded, no data in AOI, outside AOI)

Code 4 keeps its ``fao`` label "N" in every legend (N1 *is* the "currently not suitable" N
of the actual map), so an N1/N2 layer read with the ``fao`` legend is still right about
S1-S3 and N; only code 5 is new (compare the R package soilassessment: 4 currently not
suitable, 5 not suitable). Actual and potential class layers themselves use codes 1..4.

Improvement of one factor class by ``steps`` classes: ``improved = max(1, class - steps)``
(so 3 steps lift any class to S1: "irrigation removes the rainfall limitation" is
``steps=3``). The overall potential class is then the maximum limitation of the improved
factor classes (:func:`gies.methods.fao.maximum_limitation`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

__all__ = [
    "LEVELS",
    "N1",
    "N2",
    "N_SPLIT_NAMES",
    "improvement_steps",
    "improve_classes",
    "potential_factor_classes",
    "split_n",
]

LEVELS = ("low", "medium", "high")
N1 = 4
N2 = 5
N_SPLIT_NAMES = {1: "S1", 2: "S2", 3: "S3", N1: "N1 currently not suitable",
                 N2: "N2 permanently not suitable"}


def improvement_steps(
    table: Mapping[str, dict], *, level: str, factors: Mapping[str, str]
) -> dict[str, int]:
    """Class steps per factor at input ``level`` (low / medium / high).

    ``factors`` maps each gies factor to its table row (e.g. ``{"ph": "soil_ph",
    "rainfall": "clim_precipitation_tot"}``); a row missing from the table is an error.

    >>> t = {"soil_ph": {"intervention": True, "low": 0, "medium": 1, "high": 2}}
    >>> improvement_steps(t, level="medium", factors={"ph": "soil_ph"})
    {'ph': 1}
    """
    if level not in LEVELS:
        raise ValueError(f"input level must be one of {LEVELS}, got {level!r}")
    missing = {f: r for f, r in factors.items() if r not in table}
    if missing:
        raise ValueError(f"no intervention row for {missing}")
    return {f: int(table[r][level]) for f, r in factors.items()}


def _improve_np(c: np.ndarray, steps: int) -> np.ndarray:
    c = np.asarray(c)
    valid = (c >= 1) & (c <= 4)
    better = np.maximum(c.astype(np.int16) - steps, 1).astype(np.uint8)
    return np.where(valid, better, c).astype(np.uint8)


def improve_classes(classes: xr.DataArray, *, steps: int) -> xr.DataArray:
    """Factor (or overall) FAO classes after an improvement of ``steps`` class steps:
    ``max(1, class - steps)`` for classes 1..4; any other code (0 no data, 253-255) is
    kept. ``steps`` 0..3.

    >>> from gies.testing import make_layer
    >>> c = make_layer(np.array([[1, 2, 3, 4, 0, 254]], dtype="uint8"))
    >>> improve_classes(c, steps=1).values.tolist()
    [[1, 1, 2, 3, 0, 254]]
    """
    steps = int(steps)
    if not 0 <= steps <= 3:
        raise ValueError(f"steps must be 0..3, got {steps}")
    data = classes.data
    out = (data.map_blocks(_improve_np, steps, dtype=np.uint8) if hasattr(data, "map_blocks")
           else _improve_np(data, steps))
    res = classes.copy(data=out)
    res.attrs = {**classes.attrs, "improvement_steps": steps}
    return res


def potential_factor_classes(
    classes: Mapping[str, xr.DataArray], *, steps: Mapping[str, int]
) -> dict[str, xr.DataArray]:
    """Improve every factor by its steps (factors not in ``steps``: 0 steps).

    >>> from gies.testing import make_layer
    >>> c = {"ph": make_layer(np.array([[3]], dtype="uint8")),
    ...      "t": make_layer(np.array([[3]], dtype="uint8"))}
    >>> {k: int(v.values[0, 0]) for k, v in potential_factor_classes(c, steps={"ph": 2}).items()}
    {'ph': 1, 't': 3}
    """
    unknown = set(steps) - set(classes)
    if unknown:
        raise ValueError(f"steps for unknown factors {sorted(unknown)}")
    return {f: improve_classes(c, steps=steps.get(f, 0)) for f, c in classes.items()}


def split_n(actual: xr.DataArray, potential: xr.DataArray) -> xr.DataArray:
    """Actual classes with N split into N1 (4: potential better than N) and N2 (5:
    potential also N); S1-S3 and the reserved codes are kept. Where the potential class is
    not 1..4 (no data), an actual N stays 4.

    >>> from gies.testing import make_layer
    >>> a = make_layer(np.array([[1, 3, 4, 4, 4, 254]], dtype="uint8"))
    >>> p = make_layer(np.array([[1, 2, 2, 4, 0, 254]], dtype="uint8"))
    >>> split_n(a, p).values.tolist()
    [[1, 3, 4, 5, 4, 254]]
    """
    out = xr.where((actual == 4) & (potential == 4), N2, actual).astype(np.uint8)
    out = out.transpose(*actual.dims)
    out.name = "classes_n_split"
    out.attrs = {**actual.attrs, "classes": {str(k): v for k, v in N_SPLIT_NAMES.items()}}
    return out
