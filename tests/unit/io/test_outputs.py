"""The output catalogue: the files of a model, and ``docs/outputs.md`` generated from it."""

from __future__ import annotations

import re

import numpy as np

from gies.io.outputs import OUTPUTS, docs_table, raster_outputs
from gies.testing import make_layer

from ..conftest_paths import REPO


def test_outputs_doc_table_is_generated_from_the_catalogue():
    text = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- begin rasters[^\n]*-->\n(.*?)<!-- end rasters -->", text, re.S)
    assert m and m.group(1) == docs_table()


class _Model:
    def __init__(self, **kw):
        lyr = make_layer([[0.5]])
        code = make_layer(np.array([[1]], dtype="uint8"))
        self.score, self.classes, self.limiting = lyr, code, code
        self.potential = self.subclasses = self.n_limiting = self.best_month = None
        self.factor_scores = {"ph": lyr, "rain": lyr}
        self.subclass_table = {1: "S1"}
        self.origin = None
        self.has_requirements = True
        self.__dict__.update(kw)


def test_a_model_writes_only_what_it_has(tmp_path):
    code = make_layer(np.array([[1]], dtype="uint8"))
    names = [o.path.name for o in raster_outputs(tmp_path, _Model(), factor_codes={1: "ph"},
                                                 product="Cocoa")]
    assert names == ["suitability.tif", "classes.tif", "limiting_factor.tif", "score_ph.tif",
                     "score_rain.tif"]
    full = raster_outputs(tmp_path, _Model(potential=code, subclasses=code, n_limiting=code,
                                           best_month=code),
                          factor_codes={1: "ph"}, product="Cocoa", factor_scores=False,
                          compression="deflate")
    origin_only = ("mess_variable", "agreement", "similar")
    assert [o.path.name for o in full] == [p.file for p in OUTPUTS.values()
                                           if not p.per_factor and p.name not in origin_only]
    by = {o.path.name: o for o in full}
    assert by["limiting_factor.tif"].tags == {"FACTOR_1": "ph"}
    assert by["classes.tif"].colormap[255][3] == 0 and by["classes.tif"].tags["CLASS_253"] == "excluded"
    assert by["suitability.tif"].description == "Cocoa suitability score (0-1)"
    assert {o.compression for o in full} == {"DEFLATE"}
    assert by["classes.tif"].overview_resampling == "NEAREST"
    assert by["suitability.tif"].overview_resampling == "AVERAGE"


def test_origin_outputs_are_named_typed_and_tagged(tmp_path):
    from types import MappingProxyType

    from gies.stages.origin import AGREEMENT, OriginFit, OriginLayers

    lyr = make_layer([[0.5]])
    code = make_layer(np.array([[1]], dtype="uint8"))
    fit = OriginFit({}, {}, ("mess", 0.0), MappingProxyType({
        "variables": ["temperature", "rainfall"], "agreement": {"rule": "mess >= 0"}}))
    origin = OriginLayers(MappingProxyType({"similarity_bioclim": lyr, "mess": lyr,
                                            "mess_variable": code, "model_maxent": lyr}),
                          code, MappingProxyType(AGREEMENT), fit, ("mess_variable",))
    out = raster_outputs(tmp_path, _Model(origin=origin), factor_codes={1: "ph"},
                         product="Cocoa", factor_scores=False)
    by = {o.path.name: o for o in out}
    assert list(by)[-5:] == ["similarity_bioclim.tif", "mess.tif", "model_maxent.tif",
                             "mess_variable.tif", "agreement.tif"]
    assert by["mess.tif"].units == "%" and by["similarity_bioclim.tif"].units == "1"
    assert by["mess_variable.tif"].tags == {"VARIABLE_1": "temperature", "VARIABLE_2": "rainfall"}
    assert by["agreement.tif"].tags["CLASS_1"] == "both"
    assert by["agreement.tif"].tags["CUT"] == "mess >= 0"
    assert by["agreement.tif"].colormap[1][:3] == (0x1a, 0x96, 0x41)
    none = raster_outputs(tmp_path, _Model(origin=origin, has_requirements=False, score=None,
                                           classes=None, limiting=None, factor_scores={}),
                          factor_codes={}, product="", factor_scores=False)
    names = [o.path.name for o in none]
    assert "similar.tif" in names and "agreement.tif" not in names and "classes.tif" not in names
