"""Unit tests of gies.methods.ahp (AHP weights and consistency) and the GAEZ additions of classify."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gies.methods.ahp import RANDOM_INDEX, ahp_weights, check_consistency, validate_matrix
from gies.methods.schemes import SCHEMES, classify_score, gaez_si
from gies.testing import make_layer

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _consistent(w):
    w = np.asarray(w, dtype=float)
    return w[:, None] / w[None, :]


def test_random_index_table():
    assert [RANDOM_INDEX[n] for n in range(1, 11)] == [0, 0, 0.58, 0.90, 1.12, 1.24, 1.32,
                                                       1.41, 1.45, 1.49]


def test_saaty_textbook_style_matrix():
    # a classic 3x3 example: weights ~ (0.637, 0.258, 0.105), lambda ~ 3.039, CR ~ 0.033
    a = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    w, lam, ci, cr = ahp_weights(a)
    assert w == pytest.approx([0.6370, 0.2583, 0.1047], abs=1e-3)
    assert lam == pytest.approx(3.0385, abs=1e-3)
    assert ci == pytest.approx((lam - 3) / 2)
    assert cr == pytest.approx(ci / 0.58)
    check_consistency(cr)


@FAST
@given(w=st.lists(st.floats(0.05, 20), min_size=2, max_size=10))
def test_consistent_matrix_returns_its_weights(w):
    weights, lam, ci, cr = ahp_weights(_consistent(w))
    assert weights == pytest.approx(np.asarray(w) / sum(w), rel=1e-6, abs=1e-9)
    assert lam == pytest.approx(len(w), rel=1e-9)
    assert cr == pytest.approx(0.0, abs=1e-9)


@FAST
@given(w=st.lists(st.floats(0.2, 5), min_size=3, max_size=10), f=st.floats(2.0, 9.0))
def test_perturbing_one_entry_raises_cr(w, f):
    a = _consistent(w)
    a[0, 1] *= f
    a[1, 0] = 1 / a[0, 1]
    _, _, _, cr = ahp_weights(a)
    assert cr > 1e-6


def test_check_consistency():
    check_consistency(0.1)
    with pytest.raises(ValueError, match="CR"):
        check_consistency(0.11)
    check_consistency(0.5, allow_inconsistent=True)


@pytest.mark.parametrize("m, msg", [
    ([[1, 2, 3], [0.5, 1, 2]], "square"),
    ([[1, -2], [-0.5, 1]], "positive"),
    ([[2, 2], [0.5, 1]], "diagonal"),
    ([[1, 2], [2, 1]], "reciprocal"),
    (np.ones((11, 11)).tolist(), "1..10"),
])
def test_invalid_matrices(m, msg):
    with pytest.raises(ValueError, match=msg):
        validate_matrix(m)


def test_reciprocal_tolerance_accepts_rounded_entries():
    validate_matrix([[1, 3], [0.333, 1]])


def test_one_and_two_criteria():
    assert ahp_weights([[1]])[0].tolist() == [1.0]
    w, lam, ci, cr = ahp_weights([[1, 4], [0.25, 1]])
    assert w == pytest.approx([0.8, 0.2]) and cr == 0.0


# -- GAEZ ---------------------------------------------------------------------------------
def test_gaez_si_hand_values():
    assert gaez_si({"VS": 1.0, "S": 0, "MS": 0, "mS": 0}) == pytest.approx(90)
    assert gaez_si({"VS": 0.25, "S": 0.25, "MS": 0.25, "mS": 0.25}) == pytest.approx(60)
    assert gaez_si({"VS": 0, "S": 0, "MS": 0, "mS": 0}) == 0
    shares = {"VS": np.array([0.1, 0.0]), "S": np.array([0.2, 0.0]),
              "MS": np.array([0.3, 0.5]), "mS": np.array([0.4, 0.5])}
    assert gaez_si(shares) == pytest.approx([9 + 14 + 15 + 12, 25 + 15])
    with pytest.raises(ValueError):
        gaez_si({"VS": 1})


@pytest.mark.parametrize("s, code", [(1.0, 1), (0.8, 1), (0.7999, 2), (0.6, 2), (0.5999, 3),
                                     (0.4, 3), (0.3999, 4), (0.2, 4), (0.1999, 5), (1e-6, 5),
                                     (0.0, 6), (float("nan"), 254)])
def test_gaez_classes(s, code):
    assert classify_score(make_layer([[s]]), scheme=SCHEMES["gaez"]).values[0, 0] == code
    assert SCHEMES["gaez"].class_of(s) == code


def test_fao_scheme_unchanged():
    assert (SCHEMES["fao"].s1, SCHEMES["fao"].s2, SCHEMES["fao"].s3) == (0.8, 0.6, 0.4)
    out = classify_score(make_layer([[0.8, 0.1]]), scheme=SCHEMES["fao"])
    assert out.values.tolist() == [[1, 4]]
