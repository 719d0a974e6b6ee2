"""Unit tests of gies.methods.improve (actual vs potential suitability, N1/N2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gies.methods.fao import maximum_limitation
from gies.methods.improve import (N1, N2, improve_classes, improvement_steps, potential_factor_classes,
                          split_n)
from gies.config.tables import read_intervention_table
from gies.testing import make_layer, no_compute


def _u8(v, chunks=None):
    return make_layer(np.array([v], dtype="uint8"), chunks=chunks)


def test_read_lasem_table(repo):
    t = read_intervention_table(repo / "data/sample/bungo/tables/lasem_lookup_intervention.csv")
    assert t["soil_ph"] == {"label": "pH", "intervention": True, "low": 0, "medium": 1, "high": 2}
    assert t["soil_nitrogen"]["low"] == 1 and t["soil_nitrogen"]["high"] == 3
    assert t["clim_precipitation_tot"]["medium"] == 1
    assert t["clim_temperature_avg"] == {"label": "Annual average temperature",
                                         "intervention": False, "low": 0, "medium": 0, "high": 0}
    assert t["soil_slope"]["high"] == 1


@pytest.mark.parametrize("bad", ["x", "++++", "-"])
def test_read_rejects_bad_cells(tmp_path, bad):
    p = tmp_path / "t.csv"
    p.write_text("no,land_characteristics,name_parameter,intervention,low,med,high\n"
                 f"1,pH,soil_ph,TRUE,NA,{bad},NA\n")
    with pytest.raises(ValueError, match="soil_ph"):
        read_intervention_table(p)


def test_read_rejects_steps_without_intervention(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("no,land_characteristics,name_parameter,intervention,low,med,high\n"
                 "1,pH,soil_ph,FALSE,NA,+,NA\n")
    with pytest.raises(ValueError, match="FALSE"):
        read_intervention_table(p)


def test_improvement_steps_by_level(repo):
    t = read_intervention_table(repo / "data/sample/bungo/tables/lasem_lookup_intervention.csv")
    f = {"ph": "soil_ph", "temperature": "clim_temperature_avg", "n": "soil_nitrogen"}
    assert improvement_steps(t, level="low", factors=f) == {"ph": 0, "temperature": 0, "n": 1}
    assert improvement_steps(t, level="high", factors=f) == {"ph": 2, "temperature": 0, "n": 3}
    with pytest.raises(ValueError):
        improvement_steps(t, level="max", factors=f)
    with pytest.raises(ValueError):
        improvement_steps(t, level="low", factors={"x": "nope"})


@pytest.mark.parametrize("steps, expected", [
    (0, [1, 2, 3, 4, 0, 253, 254, 255]), (1, [1, 1, 2, 3, 0, 253, 254, 255]),
    (2, [1, 1, 1, 2, 0, 253, 254, 255]), (3, [1, 1, 1, 1, 0, 253, 254, 255])])
def test_improve_classes(steps, expected):
    out = improve_classes(_u8([1, 2, 3, 4, 0, 253, 254, 255]), steps=steps)
    assert out.values[0].tolist() == expected and out.dtype == np.uint8


@given(c=st.lists(st.integers(0, 4), min_size=1, max_size=8), steps=st.integers(0, 3))
@settings(max_examples=30, deadline=None)
def test_improvement_never_worsens(c, steps):
    out = improve_classes(_u8(c), steps=steps).values[0]
    c = np.array(c)
    assert np.all(np.where(c > 0, out <= c, out == 0))
    assert np.all(out[c > 0] >= 1)


def test_improve_rejects_bad_steps():
    with pytest.raises(ValueError):
        improve_classes(_u8([1]), steps=4)


def test_actual_potential_and_n_split():
    # liming (+1 on pH at medium input) and irrigation (rainfall limitation removed: 3 steps)
    actual = {"ph": _u8([4, 4, 3, 2, 4]), "rainfall": _u8([4, 1, 4, 1, 1]),
              "temperature": _u8([1, 1, 1, 1, 4])}
    pot = potential_factor_classes(actual, steps={"ph": 1, "rainfall": 3})
    act_cls, _ = maximum_limitation(actual)
    pot_cls, _ = maximum_limitation(pot)
    assert act_cls.values[0].tolist() == [4, 4, 4, 2, 4]
    assert pot_cls.values[0].tolist() == [3, 3, 2, 1, 4]
    split = split_n(act_cls, pot_cls)
    assert split.values[0].tolist() == [N1, N1, N1, 2, N2]
    assert (N1, N2) == (4, 5)
    with pytest.raises(ValueError):
        potential_factor_classes(actual, steps={"unknown": 1})


def test_lazy(repo):
    import dask

    c = make_layer(np.array([[1, 2, 3, 4]] * 4, dtype="uint8"), chunks=2)
    with no_compute():
        out = improve_classes(c, steps=1)
        s = split_n(c, out)
    assert isinstance(out.data, dask.array.Array) and isinstance(s.data, dask.array.Array)
