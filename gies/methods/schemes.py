"""Class schemes: an overall score -> suitability classes, by absolute score bounds.

Bounds come from the class scheme and the pipeline file, never from the run's own data, so
the same cell gets the same class in a district run and a national run. A scheme is a list
of classes from best to worst, each with its lowest score (the last takes everything
below); class codes are 1, 2, ... in that order. Registered schemes
(:data:`gies.methods.registry.SCHEMES`, ``classify.scheme``):

* ``fao``: S1 ≥ 0.8, S2 ≥ 0.6, S3 ≥ 0.4, N below (FAO 1976; Sys et al. 1993). Only with
  it do FAO's class methods apply: the maximum-limitation rule, subclasses, improvement
  rules with N1/N2 (code 5 = N2).
* ``gaez``: VS ≥ 0.8, S ≥ 0.6, MS ≥ 0.4, mS ≥ 0.2, VmS above 0, NS = 0 (IIASA/FAO GAEZ).

Codes every scheme shares (the contract in ``docs/outputs.md``): 253 excluded (constraints),
254 no data inside the AOI, 255 outside the AOI (the rasters' nodata value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from gies.methods._layers import blockwise
from gies.methods.registry import SCHEMES

__all__ = [
    "SchemeClass",
    "ClassScheme",
    "SCHEMES",
    "classify_score",
    "gaez_si",
    "EXCLUDED",
    "NODATA",
    "OUTSIDE",
    "N2",
    "RESERVED",
    "CLASS_NAMES",
    "CLASS_LABELS",
    "CLASS_COLOURS",
]

EXCLUDED = 253
NODATA = 254
OUTSIDE = 255
N2 = 5
"""FAO: permanently not suitable (potential class also N); only with improvement rules,
where code 4 then means N1, currently not suitable but improvable (:mod:`gies.methods.improve`)."""
#: Codes of every scheme: (name, label, colour).
RESERVED = {EXCLUDED: ("excluded", "excluded", "#7b3294"),
            NODATA: ("no data", "no data", "#bdbdbd"),
            OUTSIDE: ("outside AOI", "outside AOI", "#ffffff")}


@dataclass(frozen=True)
class SchemeClass:
    """One class of a scheme: its ``name`` (``zonal.suitable``, band tags, the tidy tables),
    legend ``label`` and ``colour``, and its lowest score ``bound`` (``None`` for the last
    class); ``strict``: the score must exceed the bound; ``note``: said of the code in band
    descriptions; ``column``: the prefix of its zone-table columns when not ``name``
    (GeoPackage and shapefile field names ignore case: GAEZ's ``MS`` and ``mS`` cannot both
    be columns)."""

    name: str
    label: str
    colour: str
    bound: float | None = None
    strict: bool = False
    note: str = ""
    column: str = ""

    @property
    def key(self) -> str:
        """The prefix of the class's zone-table columns (``<key>_ha``, ``<key>_share``)."""
        return self.column or self.name


@dataclass(frozen=True)
class ClassScheme:
    """Suitability classes from best to worst (codes 1, 2, ...) with their score bounds.

    ``suitable``: the classes counted as suitable land unless ``zonal.suitable`` says
    otherwise; ``fao``: the classes are FAO's S1/S2/S3/N (FAO class methods apply);
    ``extra``: further codes the scheme's methods write (FAO: 5 N2), with name, label,
    colour and the class whose hectares they are counted in (FAO: N2 is N).
    """

    name: str
    classes: tuple[SchemeClass, ...]
    reference: str
    suitable: tuple[str, ...]
    fao: bool = False
    extra: Mapping[int, tuple[str, str, str, str]] | None = None

    def __post_init__(self) -> None:
        bounds = [c.bound for c in self.classes]
        if len(self.classes) < 2 or bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError(f"class scheme {self.name!r}: every class but the last needs a bound")
        b = [float(x) for x in bounds[:-1]]
        if not (b[0] <= 1.0 and all(x > y for x, y in zip(b, b[1:])) and b[-1] >= 0.0
                and (b[-1] > 0.0 or self.classes[-2].strict)):
            text = ", ".join(f"{c.name}={c.bound}" for c in self.classes[:-1])
            raise ValueError(f"class scheme {self.name!r}: bounds must fall from at most 1 to "
                             f"above 0, got {text}")
        keys = [c.key.lower() for c in self.classes] + [v[0].lower() for v in (self.extra or {}).values()]
        taken = {"excluded", "nodata", "outside", "suitable", "assessed", "valid", "area"}
        if len(set(keys)) < len(keys) or taken & set(keys):
            raise ValueError(f"class scheme {self.name!r}: column prefixes {keys} must differ "
                             f"ignoring case and from {sorted(taken)}")
        unknown = sorted(set(self.suitable) - set(self.names))
        if unknown:
            raise ValueError(f"class scheme {self.name!r}: suitable classes {unknown} are not "
                             f"classes ({', '.join(self.names)})")

    # -- views ---------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Class names, best first (code = position + 1)."""
        return tuple(c.name for c in self.classes)

    @property
    def bounds(self) -> dict[str, float]:
        """``{class: lowest score}`` of the classes with a bound."""
        return {c.name: float(c.bound) for c in self.classes if c.bound is not None}

    @property
    def s1(self) -> float:
        """The best class's bound (S1 of ``fao``)."""
        return float(self.classes[0].bound)

    @property
    def s2(self) -> float:
        """The second class's bound."""
        return float(self.classes[1].bound)

    @property
    def s3(self) -> float:
        """The third class's bound."""
        return float(self.classes[2].bound)

    def code(self, name: str) -> int:
        """The code of class ``name``."""
        return self.names.index(name) + 1

    @property
    def keys(self) -> tuple[str, ...]:
        """The classes' zone-table column prefixes, best first."""
        return tuple(c.key for c in self.classes)

    def key_of(self, name: str) -> str:
        """The zone-table column prefix of class ``name``."""
        return self.classes[self.code(name) - 1].key

    @property
    def table_codes(self) -> dict[int, str]:
        """The codes of the zone tables' class columns and their prefixes, in column order:
        the classes (:attr:`SchemeClass.key`), the reserved codes (``nodata`` for 254,
        ``outside`` for 255); a code of :attr:`extra` is counted in its class's column and
        has a column of its own."""
        out = {i + 1: c.key for i, c in enumerate(self.classes)}
        out.update({EXCLUDED: "excluded", NODATA: "nodata", OUTSIDE: "outside"})
        return out

    def _codes(self, field: int) -> dict[int, str]:
        out = {i + 1: (c.name, c.label, c.colour)[field] for i, c in enumerate(self.classes)}
        out.update({k: v[field] for k, v in (self.extra or {}).items()})
        out.update({k: v[field] for k, v in RESERVED.items()})
        return out

    @property
    def class_names(self) -> dict[int, str]:
        """Every code the class rasters hold and its name."""
        return self._codes(0)

    @property
    def labels(self) -> dict[int, str]:
        """Every code and its legend label."""
        return self._codes(1)

    @property
    def colours(self) -> dict[int, str]:
        """Every code and its colour."""
        return self._codes(2)

    @property
    def codes_text(self) -> str:
        """The codes of the class rasters in words (their band description), e.g. ``1 S1,
        2 S2, ...``; the outside code is the rasters' nodata value."""
        parts = [f"{i + 1} {c.name}" + (f" ({c.note})" if c.note else "")
                 for i, c in enumerate(self.classes)]
        parts += [f"{k} {v[0]}" for k, v in (self.extra or {}).items()]
        parts += [f"{k} {v[0]}" for k, v in RESERVED.items() if k != OUTSIDE]
        return ", ".join(parts)

    @property
    def summary(self) -> str:
        """The scheme's reference (for the generated method lists)."""
        return self.reference

    def with_bounds(self, bounds: Mapping[str, float]) -> ClassScheme:
        """The scheme with some classes' bounds replaced (``classify.thresholds``);
        ``ValueError`` names a class without a bound or bounds that do not fall."""
        known = self.bounds
        unknown = sorted(set(bounds) - set(known))
        if unknown:
            raise ValueError(f"{unknown} {'is not a class' if len(unknown) == 1 else 'are not classes'} "
                             f"with a bound in scheme {self.name!r} ({', '.join(known)})")
        classes = tuple(replace(c, bound=float(bounds[c.name])) if c.name in bounds else c
                        for c in self.classes)
        return replace(self, classes=classes)

    def classify(self, values: np.ndarray) -> np.ndarray:
        """uint8 class codes of scores (NaN -> :data:`NODATA`), the bounds compared in the
        scores' own precision (a float32 score holding 0.7 reaches a bound of 0.7), in one
        compiled pass (:func:`gies.kernels.cells.classify`)."""
        from gies.kernels import cells

        b = np.ascontiguousarray(values)
        if b.dtype.kind != "f":
            b = b.astype(np.float64)
        bounds = np.array([c.bound for c in self.classes[:-1]], dtype=b.dtype)
        strict = np.array([c.strict for c in self.classes[:-1]], dtype=np.bool_)
        out = np.empty(b.shape, dtype=np.uint8)
        cells.classify(b.reshape(-1), bounds, strict, NODATA, out.reshape(-1))
        return out

    def class_of(self, score: float) -> int:
        """Class code of one score (NaN -> :data:`NODATA`)."""
        return int(self.classify(np.array([score], dtype=np.float64))[0])


def _fao() -> ClassScheme:
    return ClassScheme(
        "fao",
        (SchemeClass("S1", "S1 highly suitable", "#1a9641", 0.8),
         SchemeClass("S2", "S2 moderately suitable", "#a6d96a", 0.6),
         SchemeClass("S3", "S3 marginally suitable", "#fdae61", 0.4),
         SchemeClass("N", "N not suitable", "#d7191c", note="N1 with improvement rules")),
        "FAO (1976) A framework for land evaluation; score bands after Sys et al. (1993) "
        "parametric classes rescaled to [0, 1]: S1 >= 0.8, S2 >= 0.6, S3 >= 0.4, N < 0.4",
        suitable=("S1", "S2"), fao=True,
        extra={N2: ("N2", "N2 permanently not suitable", "#67000d", "N")})


def _gaez() -> ClassScheme:
    return ClassScheme(
        "gaez",
        (SchemeClass("VS", "VS very suitable", "#006837", 0.8),
         SchemeClass("S", "S suitable", "#31a354", 0.6),
         SchemeClass("MS", "MS moderately suitable", "#addd8e", 0.4),
         SchemeClass("mS", "mS marginally suitable", "#fee08b", 0.2, column="mgS"),
         SchemeClass("VmS", "VmS very marginally suitable", "#fc8d59", 0.0, strict=True),
         SchemeClass("NS", "NS not suitable", "#d73027")),
        "IIASA/FAO GAEZ (Fischer et al. 2002) suitability classes as shares of the maximum "
        "attainable yield, read as score bounds: VS >= 0.8, S >= 0.6, MS >= 0.4, mS >= 0.2, "
        "VmS > 0, NS = 0 (the VmS/NS split at 0 is gies's reading)",
        suitable=("VS", "S", "MS"))


SCHEMES.add(_fao())
SCHEMES.add(_gaez())

#: The FAO scheme's codes: names, legend labels and colours (N2 with improvement rules).
CLASS_NAMES = SCHEMES["fao"].class_names
CLASS_LABELS = SCHEMES["fao"].labels
CLASS_COLOURS = SCHEMES["fao"].colours


def classify_score(score: xr.DataArray, *, scheme: ClassScheme) -> xr.DataArray:
    """uint8 class codes of a score layer: 1, 2, ... by ``scheme`` (:meth:`ClassScheme.classify`),
    :data:`NODATA` where NaN.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> s = make_layer([[1.0, 0.8, 0.79, 0.6, 0.4, 0.39, 0.2, 0.1, 0.0, float("nan")]])
    >>> classify_score(s, scheme=SCHEMES["fao"]).values.tolist()
    [[1, 1, 2, 2, 3, 4, 4, 4, 4, 254]]
    >>> classify_score(s, scheme=SCHEMES["gaez"]).values.tolist()
    [[1, 1, 2, 2, 3, 4, 4, 5, 6, 254]]
    """
    codes = blockwise(score, _classify_np, scheme, dtype=np.uint8)
    out = score.copy(data=codes)
    out.name = "classes"
    out.attrs = {"units": "class", "scheme": scheme.name}
    return out


def _classify_np(block: np.ndarray, scheme: ClassScheme) -> np.ndarray:
    return scheme.classify(block)


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

