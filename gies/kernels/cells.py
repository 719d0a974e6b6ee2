"""Kernels of the per-cell scoring steps (definitions and references in
:mod:`gies.methods.curves`, :mod:`gies.methods.rules` and :mod:`gies.methods.schemes`): one
pass over a block each, instead of several whole-array numpy passes and temporaries.
Compiled on first call (:func:`gies.kernels.jit`), plain Python in dry runs.
"""

from __future__ import annotations

import numpy as np
from gies.kernels import jit


@jit(nogil=True, cache=True, error_model="numpy")
def trapezoid(x, a, b, c, d, lo, hi, out):
    """``out = max(0, min(1, (x − a)/(b − a), (d − x)/(d − c)))`` in float64, cast to
    ``out``'s dtype; ``lo``/``hi``: whether the lower/upper side exists; a side with
    ``a == b`` (``c == d``) is a step: 0 below ``a`` (above ``d``). NaN stays NaN."""
    for k in range(x.size):
        v = float(x[k])
        if v != v:
            out[k] = np.nan
            continue
        s = 1.0
        if lo:
            if b > a:
                r = (v - a) / (b - a)
                if r < s:
                    s = r
            elif v < a:
                s = 0.0
        if hi:
            if d > c:
                f = (d - v) / (d - c)
                if f < s:
                    s = f
            elif v > d:
                s = 0.0
        out[k] = s if s > 0.0 else 0.0


@jit(nogil=True, cache=True, error_model="numpy")
def min_argmin(blocks, no_limitation, score, lim):
    """Minimum of the blocks and the 1-based index of the first block reaching it; NaN in
    any block → NaN and ``no_limitation``; a minimum of 1 → ``no_limitation``."""
    n = score.size
    for k in range(n):
        run = np.inf
        idx = 1
        anynan = False
        for i in range(len(blocks)):
            v = blocks[i][k]
            if v != v:
                anynan = True
            elif v < run:
                run = v
                idx = i + 1
        if anynan:
            score[k] = np.nan
            lim[k] = no_limitation
        else:
            s = np.float32(run)
            score[k] = s
            lim[k] = idx if s < 1 else no_limitation


@jit(nogil=True, cache=True, error_model="numpy")
def classify(score, bounds, strict, nodata, out):
    """The code of the first class whose bound the score reaches (``>= bounds[i]``, or
    ``> bounds[i]`` where ``strict[i]``), 1-based; the last code (``len(bounds) + 1``) when
    it reaches none; ``nodata`` for NaN."""
    n = bounds.size
    for k in range(score.size):
        v = score[k]
        if v != v:
            out[k] = nodata
            continue
        code = n + 1
        for i in range(n):
            if (v > bounds[i]) if strict[i] else (v >= bounds[i]):
                code = i + 1
                break
        out[k] = code


@jit(nogil=True, cache=True)
def count_valid(x):
    """Number of non-NaN cells."""
    n = 0
    for k in range(x.size):
        if x[k] == x[k]:
            n += 1
    return n


@jit(nogil=True, cache=True)
def count_true(x):
    """Number of True cells."""
    n = 0
    for k in range(x.size):
        if x[k]:
            n += 1
    return n
