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
)
from gies.methods.registry import (
    CLASS_RULES,
    CURVES,
    DERIVATIONS,
    RESAMPLING,
    RULES,
    SCHEMES,
    SEASONAL,
)

__all__ = ["CURVES", "RULES", "CLASS_RULES", "SCHEMES", "DERIVATIONS", "SEASONAL",
           "RESAMPLING"]
