"""The method library: pure, lazy formulas, each registered under the name a pipeline file
uses (:mod:`gies.methods.registry`).

============================  ===============================================
module                        registry (``gies.methods.registry``)
============================  ===============================================
:mod:`~.curves`               ``CURVES``: trapezoid, piecewise linear, lookup
:mod:`~.class_limits`         ``CURVES``: FAO class limits (step, interpolated)
:mod:`~.arcgis`               ``CURVES``: ArcGIS rescale-by-function family
:mod:`~.rules`                ``RULES``: score combination rules
:mod:`~.fao`                  ``CLASS_RULES``: maximum limitation; subclasses
:mod:`~.schemes`              ``SCHEMES``: class schemes (FAO, GAEZ)
:mod:`~.derive`               ``DERIVATIONS``: monthly statistics, slope, aspect
:mod:`~.ecocrop`              ``SEASONAL``: ECOCROP's seasonal model
:mod:`~.resampling`           ``RESAMPLING``: harmonise's resampling methods
:mod:`~.similarity`           ``SIMILARITY``: origin similarity (BIOCLIM, MESS, ...)
:mod:`~.sdm`                  ``ALGORITHMS``: presence-background models
:mod:`~.ahp`, :mod:`~.improve`  AHP weights; improvement by input level
============================  ===============================================

Importing this package fills every registry.
"""

from gies.methods import (  # noqa: F401 - imported to register their methods
    ahp,
    arcgis,
    class_limits,
    curves,
    derive,
    ecocrop,
    fao,
    improve,
    resampling,
    rules,
    schemes,
    sdm,
    similarity,
)
from gies.methods.registry import (
    CLASS_RULES,
    CURVES,
    DERIVATIONS,
    RESAMPLING,
    RULES,
    SCHEMES,
    SEASONAL,
    SIMILARITY,
    ALGORITHMS,
)

__all__ = ["CURVES", "RULES", "CLASS_RULES", "SCHEMES", "DERIVATIONS", "SEASONAL",
           "RESAMPLING", "SIMILARITY", "ALGORITHMS"]


#: Arguments of a fit that are data, not parameters a pipeline file sets.
_DATA_ARGS = ("y", "names", "categorical", "seed")


def _params(method) -> str:
    import inspect

    out = []
    for p in list(inspect.signature(method.func).parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD or (method.kind == "algorithm" and p.name in _DATA_ARGS):
            continue
        out.append(f"`{p.name}`" if p.default is p.empty else f"`{p.name}={p.default!r}`")
    return ", ".join(out)


def _md(text: str) -> str:
    """A docstring sentence as Markdown table text (reST roles and double backquotes to
    Markdown code, bars escaped)."""
    import re

    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text).replace("``", "`")
    return text.replace("|", "\\|")


def methods_markdown() -> str:
    """``docs/methods.md``: every registered method with its parameters and what it does
    (a test keeps the file equal to this)."""
    sections = [
        (CURVES, "Scoring curves", "`factors.<f>.method` and a limit set's `method`; the "
         "parameters go in `factors.<f>.params` (or the limit set: a class-limit or trapezoid "
         "set gives `limits`)"),
        (RULES, "Combination rules", "`combine.rule`, and `combine.within` / `combine.across` "
         "of `grouped`"),
        (CLASS_RULES, "Class combination rules", "`combine.rule`; they combine FAO factor "
         "classes and need class-limit curves"),
        (DERIVATIONS, "Derivations", "`layers.<l>.derive.stat`, computed on the layer's own "
         "grid before any resampling"),
        (SEASONAL, "Seasonal models", "`seasonal.model`, on 12-band monthly layers"),
        (SIMILARITY, "Origin similarity", "`similarity.methods`, fitted on the origin's "
         "reference cells; the parameters go in `similarity.params.<method>`"),
        (ALGORITHMS, "Presence-background models", "`model.algorithms`, fitted on the "
         "origin's presence cells against background cells; the parameters go in "
         "`model.params.<algorithm>`"),
    ]
    out = ["# Methods", "",
           "Generated from the registries (`gies.methods.registry`); a test keeps this file "
           "equal to them. Every parameter value is checked when a pipeline is loaded, by "
           "running the method on a 1×1 layer.", ""]
    for reg, title, where in sections:
        out += [f"## {title}", "", f"Selected by {where}.", "",
                "| name | parameters | what it does |", "|---|---|---|"]
        for name, m in reg.items():
            alias = "".join(f" (alias `{a}`)" for a in reg.aliases_of(name))
            out.append(f"| `{name}`{alias} | {_params(m) or '—'} | {_md(m.summary)} |")
        out.append("")
    out += ["## Class schemes", "", "Selected by `classify.scheme`; `classify.thresholds` "
            "overrides the lower score bounds and `zonal.suitable` the classes counted as suitable "
            "land. FAO's class methods (class rules, subclasses, improvement rules) need `fao`.",
            "", "| name | classes (lowest score) | suitable by default | reference |",
            "|---|---|---|---|"]
    for name, s in SCHEMES.items():
        bounds = ", ".join(f"{c.name} {'>' if c.strict else '≥'} {c.bound}" for c in s.classes
                           if c.bound is not None)
        out.append(f"| `{name}` | {bounds} | {', '.join(s.suitable)} | {_md(s.reference)} |")
    out += ["", "## Resampling methods", "", "Selected by `layers.<l>.resampling` (GDAL's "
            "names); only the methods marked categorical may resample a categorical layer.", "",
            "| name | kind | categorical | computed by gies's kernels | what it does |",
            "|---|---|---|---|---|"]
    for name, r in RESAMPLING.items():
        out.append(f"| `{name}` | {'kernel' if r.kernel else 'footprint'} | "
                   f"{'yes' if r.categorical else 'no'} | {'yes' if r.gies_kernel else 'no'} | "
                   f"{r.description} |")
    return "\n".join(out) + "\n"


__all__ += ["methods_markdown"]
