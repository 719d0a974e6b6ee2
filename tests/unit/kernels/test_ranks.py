"""The table-narrowed counts of gies.kernels.ranks against numpy.searchsorted (the oracle)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gies.kernels.ranks import count_table, counts
from gies.methods.registry import SIMILARITY
from gies.methods.similarity import Reference


def _counts(r, q, strict):
    low, step, table = count_table(r, strict=strict)
    out = np.empty(q.size, np.int64)
    counts(r, low, step, table, q, strict, out)
    return out


REFS = [np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(50), np.array([5.0]),
        np.sort(np.r_[np.zeros(900), np.linspace(0, 1, 100)]),
        np.sort(np.round(np.random.default_rng(1).normal(size=1000), 1)),
        np.sort(np.random.default_rng(2).normal(size=10_000)).astype(np.float32)]


@pytest.mark.parametrize("r", REFS, ids=["small", "constant", "one", "ties", "rounded", "f32"])
@pytest.mark.parametrize("strict", [True, False])
def test_counts_equal_searchsorted(r, strict):
    rng = np.random.default_rng(0)
    q = np.r_[rng.normal(size=5000) * 3, r, np.nextafter(r, np.inf), np.nextafter(r, -np.inf),
              r[0] - 5, r[-1] + 5, np.inf, -np.inf].astype(r.dtype)
    np.testing.assert_array_equal(_counts(r, q, strict),
                                  np.searchsorted(r, q, side="left" if strict else "right"))


def test_hand_counts():
    r = np.array([1.0, 2.0, 2.0, 3.0])
    q = np.array([0.5, 1.0, 2.0, 2.5, 3.0, 9.0])
    assert _counts(r, q, True).tolist() == [0, 0, 1, 3, 3, 4]
    assert _counts(r, q, False).tolist() == [0, 1, 3, 3, 4, 4]
    out = np.empty(q.size, np.int64)
    counts.py_func(r, *count_table(r, strict=False), q, False, out)  # the kernel's own source
    assert out.tolist() == [0, 1, 3, 3, 4, 4]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
       st.lists(st.floats(-2e6, 2e6), min_size=1, max_size=60), st.booleans())
def test_counts_law(ref, q, strict):
    r = np.sort(np.array(ref))
    q = np.array(q)
    np.testing.assert_array_equal(_counts(r, q, strict),
                                  np.searchsorted(r, q, side="left" if strict else "right"))


def _reference(seed, n=300, p=4):
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=(n, p)) * 3, 1)  # rounded: many ties
    return Reference(values, tuple(f"v{j}" for j in range(p)), (False,) * p,
                     values.min(axis=0) - 1, values.max(axis=0) + 1), rng


@pytest.mark.parametrize("tails", ["both", "low", "high", {"v0": "low", "v2": "high"}])
def test_compiled_bioclim_is_the_numpy_definition(tails):
    ref, rng = _reference(3)
    fitted = SIMILARITY["bioclim"].func(ref, tails=tails)
    x = np.r_[np.round(rng.normal(size=(4000, 4)) * 4, 1), ref.values]
    got = fitted.predict(x)["similarity_bioclim"]
    np.testing.assert_array_equal(got, fitted.scores(x).min(axis=1).astype(np.float32))


def test_compiled_mess_is_the_numpy_definition():
    ref, rng = _reference(4)
    fitted = SIMILARITY["mess"].func(ref)
    x = np.r_[np.round(rng.normal(size=(4000, 4)) * 4, 1), ref.values]
    got = fitted.predict(x)
    s = fitted.similarities(x)
    np.testing.assert_allclose(got["mess"], s.min(axis=1).astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(got["mess_variable"], np.argmin(s, axis=1) + 1)
