"""The whole-array trapezoid equals the piecewise definition bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gies.methods._layers import limits_like
from gies.methods.curves import trapezoid_values as _trapezoid_np


def _trapezoid_np_reference(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """The piecewise definition: the reference of the compiled trapezoid."""
    a, b, c, d = limits_like(x, a, b, c, d)
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape, dtype=np.float64)
    rise = (x > a) & (x < b)
    out[rise] = (x[rise] - a) / (b - a)
    out[(x >= b) & (x <= c)] = 1.0
    fall = (x > c) & (x < d)
    out[fall] = (d - x[fall]) / (d - c)
    out[np.isnan(x)] = np.nan
    return out.astype(np.float32)


LIMITS = [(14.0, 21.0, 28.0, 35.0), (45, 55, 70, 82), (900, 900, 2000, 2000),
          (-math.inf, -math.inf, 28.0, 35.0), (14.0, 21.0, math.inf, math.inf),
          (0.0, 0.0, 0.0, 10.0), (0.1, 0.7, 0.7, 0.9)]


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trapezoid_bit_identical(limits, dtype):
    rng = np.random.default_rng(5)
    finite = [v for v in limits if math.isfinite(v)]
    lo, hi = min(finite) - 10, max(finite) + 10
    x = rng.uniform(lo, hi, 20_000)
    x = np.r_[x, finite, np.nextafter(finite, np.inf), np.nextafter(finite, -np.inf),
              np.nan, np.inf, -np.inf].astype(dtype)
    with np.errstate(invalid="ignore"):
        got, ref = _trapezoid_np(x, *limits), _trapezoid_np_reference(x, *limits)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)
