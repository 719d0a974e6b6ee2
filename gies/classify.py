"""Classification of an overall score into suitability classes with absolute thresholds.

Thresholds come from the class scheme and the pipeline file, never from the run's own data,
so the same cell gets the same class in a district run and a national run.

Class codes written by gies (the contract in ``docs/outputs.md``)::

    1 S1  highly suitable          4 N   not suitable
    2 S2  moderately suitable      253   excluded (reserved for constraints)
    3 S3  marginally suitable      254   no data inside the AOI
                                   255   outside the AOI (the raster's nodata value)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

__all__ = [
    "ClassScheme",
    "SCHEMES",
    "classify_score",
    "EXCLUDED",
    "NODATA",
    "OUTSIDE",
    "CLASS_NAMES",
]

EXCLUDED = 253
NODATA = 254
OUTSIDE = 255
CLASS_NAMES = {1: "S1", 2: "S2", 3: "S3", 4: "N", EXCLUDED: "excluded", NODATA: "no data",
               OUTSIDE: "outside AOI"}
CLASS_LABELS = {1: "S1 highly suitable", 2: "S2 moderately suitable",
                3: "S3 marginally suitable", 4: "N not suitable", EXCLUDED: "excluded",
                NODATA: "no data", OUTSIDE: "outside AOI"}
CLASS_COLOURS = {1: "#1a9641", 2: "#a6d96a", 3: "#fdae61", 4: "#d7191c",
                 EXCLUDED: "#7b3294", NODATA: "#bdbdbd", OUTSIDE: "#ffffff"}


@dataclass(frozen=True)
class ClassScheme:
    """Lower score bounds (inclusive) of S1, S2 and S3; anything lower is N."""

    name: str
    s1: float
    s2: float
    s3: float
    reference: str

    def __post_init__(self) -> None:
        if not (1.0 >= self.s1 > self.s2 > self.s3 > 0.0):
            raise ValueError(
                f"class scheme {self.name!r}: need 1 >= S1 > S2 > S3 > 0, got "
                f"S1={self.s1}, S2={self.s2}, S3={self.s3}"
            )

    def class_of(self, score: float) -> int:
        """Class code of one score (NaN -> NODATA)."""
        if np.isnan(score):
            return NODATA
        return 1 if score >= self.s1 else 2 if score >= self.s2 else 3 if score >= self.s3 else 4


SCHEMES: dict[str, ClassScheme] = {
    "fao": ClassScheme(
        "fao", 0.8, 0.6, 0.4,
        "FAO (1976) A framework for land evaluation; score bands after Sys et al. (1993) "
        "parametric classes rescaled to [0, 1]: S1 >= 0.8, S2 >= 0.6, S3 >= 0.4, N < 0.4",
    ),
}


def classify_score(score: xr.DataArray, *, scheme: ClassScheme) -> xr.DataArray:
    """uint8 class codes of a score layer: 1..4 by ``scheme``, ``NODATA`` where NaN.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> classify_score(make_layer([[1.0, 0.8, 0.79, 0.6, 0.4, 0.39, 0.0, float("nan")]]),
    ...                scheme=SCHEMES["fao"]).values.tolist()
    [[1, 1, 2, 2, 3, 4, 4, 254]]
    """
    s = score
    out = xr.where(s >= scheme.s1, 1, xr.where(s >= scheme.s2, 2, xr.where(s >= scheme.s3, 3, 4)))
    out = xr.where(s.isnull(), NODATA, out).astype(np.uint8)
    out.name = "classes"
    out.attrs = {"grid": score.attrs.get("grid"), "units": "class", "scheme": scheme.name}
    return out
