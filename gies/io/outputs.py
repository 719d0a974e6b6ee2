"""The output catalogue: every raster a run writes, as data.

Each :class:`RasterProduct` says which layer of the model it holds, when it is written, its
file name, data type, nodata value, units, band description and tags, and what its values
mean; :func:`raster_outputs` turns a model into the list of files of the pass, and the
raster table of ``docs/outputs.md`` is generated from the same entries (a test keeps the two
equal). The registry :data:`OUTPUTS` keeps them in the order they are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gies.io.rasters import RasterOutput
from gies.methods.registry import Registry
from gies.methods.schemes import OUTSIDE, SCHEMES, ClassScheme

__all__ = ["RasterProduct", "OUTPUTS", "raster_outputs", "docs_table", "colormap",
           "surface_description", "surface_units", "AGREEMENT_COLOURS", "SIMILAR_COLOURS"]

#: The catalogue of output rasters, in the order they are written.
OUTPUTS: Registry = Registry("output", "output raster")


@dataclass(frozen=True)
class RasterProduct:
    """One kind of output raster (see the module docstring).

    ``layer(model)`` gives the layer (``None``: not written for this model), or for
    ``per_factor`` products a mapping factor -> layer; ``description(context)`` the band
    description; ``tags(model, context)`` the band tags. ``values``: what the docs say of
    its values.
    """

    name: str
    file: str
    dtype: str
    nodata: float | int
    units: str
    values: str
    layer: Callable[[Any], Any]
    description: Callable[[Mapping[str, Any]], str]
    categorical: bool = False
    colours: bool = False
    tags: Callable[[Any, Mapping[str, Any]], dict[str, str]] = lambda m, c: {}
    per: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def per_factor(self) -> bool:
        """Whether the product is one file per key (factor, origin surface)."""
        return self.per is not None

    @property
    def summary(self) -> str:
        """What the file holds (for the generated docs)."""
        return self.values


def colormap(colours: Mapping[int, str]) -> dict[int, tuple[int, int, int, int]]:
    """A GeoTIFF colour table from ``#rrggbb`` colours; the outside code is transparent."""
    cmap = {}
    for code, hexcol in colours.items():
        h = hexcol.lstrip("#")
        cmap[code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    cmap[OUTSIDE] = (255, 255, 255, 0)
    return cmap


def _class_tags(model, ctx) -> dict[str, str]:
    return {f"CLASS_{k}": v for k, v in ctx["scheme"].class_names.items()}


for _p in (
    RasterProduct(
        "suitability", "suitability.tif", "float32", np.nan, "1",
        "overall score in [0, 1] (1 = optimal); NaN = no data or outside the AOI",
        lambda m: m.score, lambda c: f"{c['product']} suitability score (0-1)"),
    RasterProduct(
        "classes", "classes.tif", "uint8", OUTSIDE, "class",
        "class codes (below)", lambda m: m.classes,
        lambda c: f"suitability class ({c['scheme'].codes_text})", categorical=True, colours=True,
        tags=_class_tags),
    RasterProduct(
        "limiting_factor", "limiting_factor.tif", "uint8", OUTSIDE, "class",
        "0 = no limitation (every factor optimal), 1..n = factor, or group of factors with "
        "`combine.rule: grouped` (names in the band tags `FACTOR_<code>` and in "
        "`manifest.json` `factor_codes`), 254 = no data",
        lambda m: m.limiting, lambda c: "limiting factor (0 none, 254 no data; other codes in tags)",
        categorical=True,
        tags=lambda m, c: {f"FACTOR_{k}": v for k, v in c["factor_codes"].items()}),
    RasterProduct(
        "classes_potential", "classes_potential.tif", "uint8", OUTSIDE, "class",
        "class after improvement rules (`improve`), same codes", lambda m: m.potential,
        lambda c: f"potential suitability class ({c['scheme'].codes_text})", categorical=True, colours=True,
        tags=_class_tags),
    RasterProduct(
        "subclasses", "subclasses.tif", "uint8", OUTSIDE, "class",
        "FAO subclass (class-limit methods): 1 = S1; otherwise `32 × class + letters`, with "
        "letters c=1 (climate), n=2 (nutrients), s=4 (soil), t=8 (terrain), w=16 (wetness) of "
        "every factor at the worst class, e.g. S2c = 65, S3nt = 106; names in the band tags, "
        "the `.aux.xml` and `manifest.json` `subclass_codes`; 254 = no data",
        lambda m: m.subclasses, lambda c: "FAO suitability subclass (codes in tags)",
        categorical=True,
        tags=lambda m, c: {f"SUBCLASS_{k}": v for k, v in m.subclass_table.items()}),
    RasterProduct(
        "n_limiting", "n_limiting.tif", "uint8", OUTSIDE, "count",
        "number of factors at the worst class (0 where S1); 254 = no data",
        lambda m: None if m.subclasses is None else m.n_limiting,
        lambda c: "number of factors at the worst class", categorical=True),
    RasterProduct(
        "best_start_month", "best_start_month.tif", "uint8", OUTSIDE, "month",
        "seasonal model: best start month 1 (January) … 12, 0 = no suitable season, "
        "254 = no data", lambda m: m.best_month,
        lambda c: "best start month of the growing season (1 January .. 12 December, 0 none, "
        "254 no data)", categorical=True),
    RasterProduct(
        "factor_score", "score_<factor>.tif", "float32", np.nan, "1",
        "that factor's score in [0, 1] (`score_seasonal.tif` for the seasonal model)",
        lambda m: m.factor_scores, lambda c: f"score of factor {c['factor']} (0-1)",
        per="factor"),
    RasterProduct(
        "origin_surface", "<surface>.tif", "float32", np.nan, "1",
        "origin analysis: `similarity_<method>.tif` similarity to the origin's environment in "
        "[0, 1] (`bioclim`, `gower`, `mahalanobis`); `mess.tif` MESS in % (negative = outside "
        "the origin's range of at least one variable, Elith et al. 2010); `exdet_nt1.tif` "
        "(≤ 0, 0 = inside the univariate ranges) and `exdet_nt2.tif` (> 1 = novel "
        "combination, Mesgaran et al. 2014); `model_<algorithm>.tif` relative suitability "
        "in [0, 1] learnt from the origin's points; NaN = no data or outside the AOI",
        lambda m: {} if m.origin is None else {
            k: v for k, v in m.origin.surfaces.items() if k not in m.origin.categorical},
        lambda c: surface_description(c["surface"], c.get("variables", ())), per="surface"),
    RasterProduct(
        "mess_variable", "mess_variable.tif", "uint8", OUTSIDE, "class",
        "MESS's most dissimilar variable: 1..p = `origin.variables` in order (names in the "
        "band tags `VARIABLE_<code>` and the `.aux.xml`), 0 = no data",
        lambda m: None if m.origin is None else m.origin.surfaces.get("mess_variable"),
        lambda c: "most dissimilar variable of MESS (codes in tags)", categorical=True,
        tags=lambda m, c: {f"VARIABLE_{i + 1}": v for i, v in enumerate(c.get("variables", ()))}),
    RasterProduct(
        "agreement", "agreement.tif", "uint8", OUTSIDE, "class",
        "requirements against origin similarity: 1 both suitable, 2 requirements only, "
        "3 similarity only, 4 neither, 253 excluded, 254 no data (the cut "
        "`similarity.agreement` is in the band tags and `manifest.json` `origin.agreement`)",
        lambda m: m.origin.agreement if m.origin is not None and m.has_requirements else None,
        lambda c: f"agreement of requirements and origin similarity ({c.get('cut', '')})",
        categorical=True, colours=True, tags=lambda m, c: _origin_tags(m, c)),
    RasterProduct(
        "similar", "similar.tif", "uint8", OUTSIDE, "class",
        "a pipeline without requirements: 1 similar to the origin, 2 not similar (the cut "
        "`similarity.agreement`), 254 no data",
        lambda m: m.origin.agreement if m.origin is not None and not m.has_requirements else None,
        lambda c: f"similar to the origin ({c.get('cut', '')})",
        categorical=True, colours=True, tags=lambda m, c: _origin_tags(m, c)),
):
    OUTPUTS.add(_p)


#: Colours of the agreement codes and of the similarity cut.
AGREEMENT_COLOURS = {1: "#1a9641", 2: "#fdae61", 3: "#2b83ba", 4: "#d7d7d7",
                     253: "#7f7f7f", 254: "#ffffff"}
SIMILAR_COLOURS = {1: "#2b83ba", 2: "#d7d7d7", 254: "#ffffff"}


def surface_description(name: str, variables=()) -> str:
    """The band description of an origin surface."""
    if name == "mess":
        return "MESS, multivariate environmental similarity to the origin (%; < 0 novel)"
    if name.startswith("similarity_"):
        return f"similarity to the origin's environment, {name[11:]} (0-1)"
    if name.startswith("model_"):
        return f"relative suitability learnt from the origin's points, {name[6:]} (0-1)"
    if name == "exdet_nt1":
        return "ExDet NT1, univariate novelty (<= 0; 0 inside the origin's ranges)"
    if name == "exdet_nt2":
        return "ExDet NT2, novelty of combinations (> 1 novel)"
    return name


def surface_units(name: str) -> str:
    """The units of an origin surface."""
    return "%" if name == "mess" else "1"


def _origin_tags(model, ctx) -> dict[str, str]:
    codes = {} if model.origin is None else dict(model.origin.agreement_codes)
    return {**{f"CLASS_{k}": v for k, v in codes.items()}, "CUT": ctx.get("cut", "")}


def raster_outputs(folder: Path, model, *, factor_codes: Mapping[int, str], product: str,
                   factor_scores: bool = True, compression: str = "zstd",
                   scheme: ClassScheme | None = None) -> list[RasterOutput]:
    """The rasters of ``model`` the pass writes into ``folder``, in catalogue order;
    ``factor_scores=False`` leaves out the per-factor scores (``outputs.factor_scores``);
    class codes, tags and colours by ``scheme`` (default ``fao``)."""
    scheme = scheme or SCHEMES["fao"]
    ctx: dict[str, Any] = {"product": product, "factor_codes": dict(factor_codes),
                           "scheme": scheme}
    if model.origin is not None:
        info = model.origin.fit.info
        ctx["variables"] = tuple(info.get("variables", ()))
        ctx["cut"] = info.get("agreement", {}).get("rule", "")
    out = []
    for p in OUTPUTS.values():
        if p.per == "factor":
            if not factor_scores:
                continue
            for f, data in p.layer(model).items():
                out.append(RasterOutput(folder / p.file.replace("<factor>", f), data, p.dtype,
                                        p.nodata, p.description({**ctx, "factor": f}), p.units))
            continue
        if p.per == "surface":
            for f, data in p.layer(model).items():
                out.append(RasterOutput(folder / p.file.replace("<surface>", f), data, p.dtype,
                                        p.nodata, p.description({**ctx, "surface": f}),
                                        surface_units(f)))
            continue
        data = p.layer(model)
        if data is None:
            continue
        kw: dict[str, Any] = {}
        if p.categorical:
            kw["overview_resampling"] = "NEAREST"
        if p.colours:
            kw["colormap"] = colormap({"agreement": AGREEMENT_COLOURS,
                                       "similar": SIMILAR_COLOURS}.get(p.name, scheme.colours))
        out.append(RasterOutput(folder / p.file, data, p.dtype, p.nodata, p.description(ctx),
                                p.units, tags=p.tags(model, ctx), **kw))
    for o in out:
        o.compression = compression.upper()
    return out


def docs_table() -> str:
    """The raster table of ``docs/outputs.md`` (Markdown)."""
    rows = ["| file | type | values | nodata |", "|---|---|---|---|"]
    for p in OUTPUTS.values():
        kind = p.dtype + (", colour table" if p.colours else "")
        nodata = "NaN" if isinstance(p.nodata, float) and np.isnan(p.nodata) else str(p.nodata)
        rows.append(f"| `{p.file}` | {kind} | {p.values} | {nodata} |")
    return "\n".join(rows) + "\n"
