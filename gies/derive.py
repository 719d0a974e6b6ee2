"""Derived layers: annual and seasonal indices from 12-band monthly climate stacks.

Derivations run on the source grid, before harmonise resamples anything, so that a count
(e.g. dry months) is never interpolated into fractions. Pure, lazy functions.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["monthly"]


def monthly(stack: xr.DataArray, *, stat: str, threshold: float | None = None) -> xr.DataArray:
    """Reduce a monthly stack ``(band, y, x)`` (one band per selected month) to 2-D.

    * ``mean``: mean over the months (e.g. growing-season mean temperature, °C);
    * ``total``: sum over the months (e.g. season or annual rainfall, mm);
    * ``min`` / ``max``: coldest / warmest month;
    * ``count_below``: number of months with a value ``< threshold`` (e.g. dry months with
      rainfall < 60 mm); units: months.

    A cell with NaN in any month is NaN (an incomplete year is not a year).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> s = xr.DataArray(np.array([10., 70., 30.]).reshape(3, 1, 1), dims=("band", "y", "x"))
    >>> float(monthly(s, stat="total")[0, 0]), float(monthly(s, stat="count_below", threshold=60)[0, 0])
    (110.0, 2.0)
    """
    if stat == "mean":
        out = stack.mean("band", skipna=False)
    elif stat == "total":
        out = stack.sum("band", skipna=False)
    elif stat == "min":
        out = stack.min("band", skipna=False)
    elif stat == "max":
        out = stack.max("band", skipna=False)
    elif stat == "count_below":
        if threshold is None:
            raise ValueError("count_below needs a threshold")
        out = (stack < threshold).sum("band").where(stack.notnull().all("band"))
    else:
        raise ValueError(f"unknown monthly statistic {stat!r}")
    out = out.astype(np.float32)
    out.attrs = dict(stack.attrs)
    out.name = stack.name
    return out
