"""A pipeline resolved once: factor plans, the combination, replace(), what loading imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gies.config import load_pipeline
from gies.errors import ConfigError

from ..conftest_paths import REPO  # noqa: F401 - see tests/unit/conftest_paths.py


@pytest.fixture(scope="module")
def bungo():
    return load_pipeline(REPO / "pipelines" / "bungo-cocoa.yaml")


def test_profile_limits_resolve_with_the_scoring_section(bungo):
    fp = bungo.factors["temperature"]
    assert fp.method == "class_limits" and fp.layer == "temperature" and fp.units == "degC"
    assert dict(fp.params) == {"limits": bungo.limit_set.limits["temperature"], "on_limit": "worse",
                               "bare_number": "value", "signs": "shared"}
    assert fp.group == "climate" and fp.subclass == "c" and fp.has_classes
    assert fp.origin.loc == ("limit_sets", "lumens", "limits", "temperature")
    assert fp.origin.source is not None and fp.origin.source.path.name == "cocoa.yaml"
    assert bungo.factors["slope"].subclass == "t"


def test_interpolated_mode_overrides_and_own_methods():
    p = load_pipeline(REPO / "pipelines" / "bungo-cocoa-ahp.yaml")
    assert {fp.method for fp in p.factors.values()} == {"class_interpolated"}
    q = p.replace(product={"overrides": {"slope": {"S1": ["0-10"], "S2": ["10-20"], "N": [">20"]}}},
                  factors={"humidity": {"method": "linear", "units": "%",
                                        "params": {"minimum": 30, "maximum": 80,
                                                   "lower": 0, "upper": 100}}})
    assert q.factors["slope"].limits == {"S1": ["0-10"], "S2": ["10-20"], "N": [">20"]}
    assert q.factors["slope"].origin.loc == ("product", "overrides", "slope")
    h = q.factors["humidity"]
    assert h.method == "linear" and "on_limit" not in h.params and h.units == "%"
    assert h.origin.loc == ("factors", "humidity", "params") and h.origin.source is None


def test_replace_merges_mappings_replaces_lists_and_leaves_the_original(bungo):
    q = bungo.replace(scoring={"on_limit": "better"}, zonal={"suitable": ["S1"]})
    assert q.config.scoring.on_limit == "better" and bungo.config.scoring.on_limit == "worse"
    assert q.factors["temperature"].params["on_limit"] == "better"
    assert q.config.scoring.mode == bungo.config.scoring.mode  # merged, not replaced
    assert q.config.zonal.suitable == ["S1"] and bungo.config.zonal.suitable is None
    assert q.path == bungo.path and q.resolve("x") == bungo.resolve("x")
    with pytest.raises(ConfigError) as exc:
        bungo.replace(scoring={"on_limit": "best"})
    assert "scoring.on_limit" in str(exc.value) and "bungo-cocoa.yaml" in str(exc.value)


def test_a_factor_on_limit_overrides_the_scoring_section_for_that_factor_only(bungo):
    q = bungo.replace(scoring={"on_limit": "better", "bare_number": "upper", "signs": "strict"},
                      factors={"soil_depth": {"on_limit": "right_closed"}})
    assert q.factors["soil_depth"].params["on_limit"] == "right_closed"
    assert q.factors["temperature"].params["on_limit"] == "better"
    assert {f: (fp.params["bare_number"], fp.params["signs"]) for f, fp in q.factors.items()} == \
        dict.fromkeys(q.factors, ("upper", "strict"))
    # the factor's own key reaches the interpolated curve as well
    r = q.replace(scoring={"mode": "interpolated"})
    assert r.factors["soil_depth"].method == "class_interpolated"
    assert r.factors["soil_depth"].params["on_limit"] == "right_closed"
    assert r.factors["rainfall"].params["on_limit"] == "better"


def test_a_factor_on_limit_is_only_for_class_limits_and_given_once(bungo):
    with pytest.raises(ConfigError) as exc:
        bungo.replace(factors={"humidity": {"method": "linear", "units": "%", "on_limit": "better",
                                            "params": {"minimum": 30, "maximum": 80,
                                                       "lower": 0, "upper": 100}}})
    assert "factors.humidity.on_limit" in str(exc.value) and "'linear'" in str(exc.value)
    lim = {"S1": ["40-65"], "S2": ["65-75"], "S3": ["75-85"], "N": [">85"]}
    with pytest.raises(ConfigError) as exc:
        bungo.replace(factors={"humidity": {"method": "class_limits", "units": "%",
                                            "on_limit": "better",
                                            "params": {"limits": lim, "on_limit": "worse"}}})
    assert "factors.humidity.on_limit" in str(exc.value) and "given twice" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        bungo.replace(factors={"humidity": {"on_limit": "closest"}})
    assert "factors.humidity.on_limit" in str(exc.value)


def test_a_loaded_pipeline_is_a_value(bungo):
    with pytest.raises(Exception):
        bungo.config.scoring.on_limit = "better"
    with pytest.raises(Exception):
        bungo.factors["x"] = None
    text = repr(bungo)
    assert "bungo-cocoa" in text and "cocoa/lumens" in text and "maximum_limitation" in text


def test_weights_of_dropped_factors_go_and_the_others_renormalise():
    p = load_pipeline(REPO / "pipelines" / "senegal-sorghum.yaml").replace(
        combine={"rule": "weighted_mean", "weights": {"temperature": 2, "rainfall": 1, "ph": 1}})
    params, info = p.combine.params_for(["temperature", "ph"])
    assert params == {"weights": {"temperature": 2, "ph": 1}}
    assert info["weights"] == pytest.approx({"temperature": 2 / 3, "ph": 1 / 3})


def test_seasonal_rainfall_key_reaches_the_model_beside_the_rainfall_limits():
    p = load_pipeline(REPO / "pipelines" / "senegal-sorghum-seasonal.yaml")
    # the section's ``rainfall`` names the scoring; the model's ``rainfall`` stays the
    # limit set's trapezoid
    assert p.seasonal.params["rainfall_scoring"] == "total"
    assert list(p.seasonal.params["rainfall"]) == [300, 500, 1000, 3000]
    q = p.replace(seasonal={"rainfall": "dismo"})
    assert q.seasonal.params["rainfall_scoring"] == "dismo"
    assert list(q.seasonal.params["rainfall"]) == [300, 500, 1000, 3000]
    assert q.config.seasonal.rainfall == "dismo" and p.config.seasonal.rainfall == "total"
    with pytest.raises(ConfigError) as exc:
        p.replace(seasonal={"rainfall": "dismo", "basis": "annual"})
    assert "seasonal.rainfall" in str(exc.value) and "basis: annual" in str(exc.value)


def test_loading_imports_no_dask_rasterio_or_numba():
    code = ("import sys, gies\n"
            "for f in ('bungo-cocoa-ahp', 'bungo-cocoa', 'senegal-sorghum-seasonal'):\n"
            f"    gies.load_pipeline(r'{REPO}/pipelines/' + f + '.yaml')\n"
            "print(sorted(m for m in ('dask', 'dask.array', 'rasterio', 'numba', 'geopandas')"
            " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_public_api_names_resolve_and_nothing_else_is_served():
    import gies

    for name in gies.__all__:
        assert getattr(gies, name) is not None, name
    assert gies.validate.__module__ == "gies.api" and gies.run.__module__ == "gies.runner"
    with pytest.raises(AttributeError, match="no attribute 'zonal'"):
        gies.zonal  # noqa: B018  (modules are imported by their full name)
