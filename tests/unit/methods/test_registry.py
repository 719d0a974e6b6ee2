"""The registries: one place where a configuration name is bound to what it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gies.methods.registry import (
    CLASS_RULES,
    CURVES,
    DERIVATIONS,
    RESAMPLING,
    RULES,
    SCHEMES,
    SEASONAL,
    Method,
    Registry,
    UnknownName,
    check_call,
    sample_layer,
)

ALL = [CURVES, RULES, CLASS_RULES, SCHEMES, DERIVATIONS, SEASONAL, RESAMPLING]


def test_unknown_name_names_the_closest_and_every_known_one():
    with pytest.raises(UnknownName) as exc:
        CURVES["gausian"]
    text = str(exc.value)
    assert "unknown scoring curve 'gausian'" in text and "did you mean 'gaussian'" in text
    assert all(n in text for n in CURVES.names())
    assert isinstance(exc.value, KeyError) and isinstance(exc.value, ValueError)


def test_an_alias_is_the_same_entry_and_not_a_second_name():
    assert RULES["fuzzy_product"] is RULES["product"]
    assert RULES.canonical("fuzzy_product") == "product"
    assert "fuzzy_product" in RULES and "fuzzy_product" not in RULES.names()
    assert RULES.aliases_of("product") == ["fuzzy_product"]


def test_a_name_cannot_be_registered_twice():
    reg = Registry("curve", "thing")

    @reg.register("a", aliases=("b",))
    def a(layer):
        """A thing."""

    for name in ("a", "b"):
        with pytest.raises(ValueError, match="registered twice"):
            reg.register(name)(lambda layer: layer)
    assert isinstance(reg["b"], Method) and reg["b"].func is a and reg.names() == ["a"]


@pytest.mark.parametrize("registry", ALL, ids=lambda r: r.kind)
def test_every_entry_says_what_it_is(registry):
    assert len(registry) > 0
    for name, entry in registry.items():
        assert entry.name == name
        assert entry.summary and entry.summary[0].isupper(), (registry.kind, name)


def test_kinds_are_kept_apart():
    # maximum limitation combines classes: it is no score rule (grouped cannot take it)
    assert "maximum_limitation" in CLASS_RULES and "maximum_limitation" not in RULES
    assert set(CURVES.names()).isdisjoint(RULES.names())


def test_check_call_reports_names_then_types_then_the_methods_own_checks():
    layer = sample_layer()
    ok = {"midpoint": 6.5, "spread": 1, "lower": 4, "upper": 9}
    assert check_call(CURVES["gaussian"], layer, ok) is None
    assert "unknown parameter 'mid' (did you mean 'midpoint'?)" in check_call(
        CURVES["gaussian"], layer, {**ok, "mid": 1})
    assert check_call(CURVES["gaussian"], layer, {"spread": 1, "lower": 4, "upper": 9}) == (
        "gaussian: missing parameter 'midpoint'; parameters: midpoint, spread, lower, upper, "
        "below, above, rescale")
    assert check_call(CURVES["gaussian"], layer, {**ok, "midpoint": "six"}) == (
        "gaussian: parameter 'midpoint' must be a number, got 'six'")
    assert check_call(CURVES["gaussian"], layer, {**ok, "spread": -1}) == (
        "gaussian: spread must be > 0")
    # a companion is run too: lookup's unmatched cells need the same table
    assert "lookup" in check_call(CURVES["lookup"], layer, {"table": {1.5: 1.0}})


def test_dry_runs_import_neither_numba_nor_dask_nor_rasterio():
    code = (
        "import sys\n"
        "from gies.methods.registry import CURVES, RULES, SCHEMES, SEASONAL, check_call, sample_layer\n"
        "from gies.methods.schemes import classify_score\n"
        "from gies.methods.registry import dry_run\n"
        "l = sample_layer(0.5)\n"
        "assert check_call(CURVES['trapezoid'], l, {'limits': [0, 1, 2, 3]}) is None\n"
        "assert check_call(RULES['minimum'], {'a': l, 'b': l}, {}) is None\n"
        "s = sample_layer(shape=(12, 1, 1))\n"
        "assert check_call(SEASONAL['ecocrop'], s, {'prec': s, 'temperature': [0, 1, 2, 3],"
        " 'rainfall': [0, 1, 2, 3], 'gmin': 90, 'gmax': 120}) is None\n"
        "with dry_run():\n"
        "    assert classify_score(l, scheme=SCHEMES['fao']).values.tolist() == [[3]]\n"
        "print(sorted(m for m in ('numba', 'dask', 'dask.array', 'rasterio') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_dry_run_kernels_give_the_compiled_results():
    import numpy as np

    from gies.kernels import cells, python_mode

    x = np.array([0.5, 1.0, 2.5, np.nan], dtype=np.float32)
    out_py, out_jit = np.empty(4, np.float32), np.empty(4, np.float32)
    with python_mode():
        cells.trapezoid(x, 0.0, 1.0, 2.0, 3.0, True, True, out_py)
    cells.trapezoid(x, 0.0, 1.0, 2.0, 3.0, True, True, out_jit)
    np.testing.assert_array_equal(out_py, out_jit)
    np.testing.assert_array_equal(out_py, np.array([0.5, 1.0, 0.5, np.nan], np.float32))
