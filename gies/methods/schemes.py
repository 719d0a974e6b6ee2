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

from gies.methods._layers import blockwise
from gies.methods.registry import SCHEMES

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
N2 = 5
"""Permanently not suitable (potential class also N); only with improvement rules, where
code 4 then means N1, currently not suitable but improvable (see :mod:`gies.improve`)."""
CLASS_NAMES = {1: "S1", 2: "S2", 3: "S3", 4: "N", N2: "N2", EXCLUDED: "excluded",
               NODATA: "no data", OUTSIDE: "outside AOI"}
CLASS_LABELS = {1: "S1 highly suitable", 2: "S2 moderately suitable",
                3: "S3 marginally suitable", 4: "N not suitable", N2: "N2 permanently not suitable",
                EXCLUDED: "excluded", NODATA: "no data", OUTSIDE: "outside AOI"}
CLASS_COLOURS = {1: "#1a9641", 2: "#a6d96a", 3: "#fdae61", 4: "#d7191c", N2: "#67000d",
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

    @property
    def summary(self) -> str:
        """The scheme's reference (for the generated method lists)."""
        return self.reference

    def class_of(self, score: float) -> int:
        """Class code of one score (NaN -> NODATA)."""
        if np.isnan(score):
            return NODATA
        return 1 if score >= self.s1 else 2 if score >= self.s2 else 3 if score >= self.s3 else 4


SCHEMES.add(ClassScheme(
    "fao", 0.8, 0.6, 0.4,
    "FAO (1976) A framework for land evaluation; score bands after Sys et al. (1993) "
    "parametric classes rescaled to [0, 1]: S1 >= 0.8, S2 >= 0.6, S3 >= 0.4, N < 0.4",
))


def classify_score(score: xr.DataArray, *, scheme: ClassScheme) -> xr.DataArray:
    """uint8 class codes of a score layer: 1..4 by ``scheme``, ``NODATA`` where NaN.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> classify_score(make_layer([[1.0, 0.8, 0.79, 0.6, 0.4, 0.39, 0.0, float("nan")]]),
    ...                scheme=SCHEMES["fao"]).values.tolist()
    [[1, 1, 2, 2, 3, 4, 4, 254]]
    """
    codes = blockwise(score, _classify_np, scheme.s1, scheme.s2, scheme.s3, dtype=np.uint8)
    out = score.copy(data=codes)
    out.name = "classes"
    out.attrs = {"units": "class", "scheme": scheme.name}
    return out


def _classify_np(block: np.ndarray, s1: float, s2: float, s3: float) -> np.ndarray:
    """:func:`classify_score` of one block. The thresholds are compared in the score's own
    precision (a float32 cell holding 0.7 is at least threshold 0.7), as numpy compares a
    float32 array with a Python float."""
    from gies.kernels import cells

    b = np.ascontiguousarray(block)
    if b.dtype.kind != "f":
        b = b.astype(np.float64)
    t = b.dtype.type
    out = np.empty(b.shape, dtype=np.uint8)
    cells.classify(b.reshape(-1), t(s1), t(s2), t(s3), NODATA, out.reshape(-1))
    return out


# -- GAEZ suitability index and classes: a scheme with its own codes and labels ------------

__all__ += ["gaez_si", "GaezScheme", "GAEZ_SCHEME", "classify_gaez", "GAEZ_NAMES"]

GAEZ_NAMES = {1: "VS", 2: "S", 3: "MS", 4: "mS", 5: "VmS", 6: "NS", NODATA: "no data",
              OUTSIDE: "outside AOI"}
GAEZ_LABELS = {1: "VS very suitable", 2: "S suitable", 3: "MS moderately suitable",
               4: "mS marginally suitable", 5: "VmS very marginally suitable",
               6: "NS not suitable"}


def gaez_si(shares):
    """GAEZ suitability index of a zone from its shares in the suitability classes.

    ``SI = 0.9 VS + 0.7 S + 0.5 MS + 0.3 mS`` (IIASA GAEZ 2002) with the shares given as
    fractions of the zone (0-1) of land very suitable (VS, >= 80 % of the maximum
    attainable yield / score >= 0.8), suitable (S, 60-80 %), moderately (MS, 40-60 %) and
    marginally suitable (mS, 20-40 %); the result is on GAEZ's 0-100 scale
    (``100 *`` the weighted sum; a zone entirely VS has SI 90). Works on numbers, NumPy
    arrays, pandas columns or xarray layers alike. ``shares`` is a mapping with keys
    ``VS``, ``S``, ``MS``, ``mS`` (VmS and NS do not count). Reference: Fischer, van
    Velthuizen, Shah & Nachtergaele (2002) Global Agro-ecological Assessment for
    Agriculture in the 21st Century, IIASA/FAO.

    >>> round(gaez_si({"VS": 0.5, "S": 0.2, "MS": 0.1, "mS": 0.1}), 6)
    67.0
    """
    keys = ("VS", "S", "MS", "mS")
    missing = [k for k in keys if k not in shares]
    if missing:
        raise ValueError(f"gaez_si needs shares for {keys}; missing {missing}")
    return 100.0 * (0.9 * shares["VS"] + 0.7 * shares["S"] + 0.5 * shares["MS"]
                    + 0.3 * shares["mS"])


@dataclass(frozen=True)
class GaezScheme:
    """Lower score bounds (inclusive) of VS, S, MS, mS; VmS is (0, mS); NS is 0."""

    name: str
    vs: float
    s: float
    ms: float
    m_s: float
    reference: str

    def __post_init__(self) -> None:
        if not (1.0 >= self.vs > self.s > self.ms > self.m_s > 0.0):
            raise ValueError(f"GAEZ scheme {self.name!r}: need 1 >= VS > S > MS > mS > 0")


GAEZ_SCHEME = GaezScheme(
    "gaez", 0.8, 0.6, 0.4, 0.2,
    "IIASA GAEZ (2002) yield classes as a share of the maximum attainable yield: VS >= 80 %, "
    "S 60-80 %, MS 40-60 %, mS 20-40 %, read here as score bounds 0.8/0.6/0.4/0.2. "
    "Project choice (not in the source text read): VmS = score in (0, 0.2), NS = score 0.",
)


def classify_gaez(score: xr.DataArray, *, scheme: GaezScheme = GAEZ_SCHEME) -> xr.DataArray:
    """uint8 GAEZ class codes of a score layer: 1 VS, 2 S, 3 MS, 4 mS, 5 VmS, 6 NS,
    ``NODATA`` (254) where NaN (see :data:`GAEZ_NAMES`).

    >>> from gies.testing import make_layer
    >>> classify_gaez(make_layer([[1.0, 0.8, 0.6, 0.4, 0.2, 0.1, 0.0, float("nan")]])
    ...               ).values.tolist()
    [[1, 1, 2, 3, 4, 5, 6, 254]]
    """
    s = score
    out = xr.where(s >= scheme.vs, 1, xr.where(s >= scheme.s, 2, xr.where(
        s >= scheme.ms, 3, xr.where(s >= scheme.m_s, 4, xr.where(s > 0, 5, 6)))))
    out = xr.where(s.isnull(), NODATA, out).astype(np.uint8)
    out.name = "gaez_classes"
    out.attrs = {"units": "class", "scheme": scheme.name,
                 "classes": {str(k): v for k, v in GAEZ_NAMES.items()}}
    return out
