"""Analytic Hierarchy Process (AHP) weights from a pairwise comparison matrix.

Saaty (1977, 1980): for ``n`` criteria an expert fills ``a_ij`` = how much more important
criterion ``i`` is than ``j`` on Saaty's 1-9 scale, with ``a_ji = 1 / a_ij`` and ``a_ii = 1``.
The weights are the principal (Perron) eigenvector of ``A`` normalised to sum 1;
``lambda_max`` its eigenvalue; the consistency index ``CI = (lambda_max - n) / (n - 1)`` and
the consistency ratio ``CR = CI / RI(n)`` with Saaty's random index RI. ``CR <= 0.1`` is
Saaty's threshold for an acceptably consistent matrix. Weights are computed once from the
matrix in the pipeline file (never from the data); pass them to
:func:`gies.methods.rules.weighted_mean`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = ["ahp_weights", "check_consistency", "validate_matrix", "ahp", "matrix_entry",
           "RANDOM_INDEX", "CR_LIMIT"]

RANDOM_INDEX: dict[int, float] = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24,
                                  7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
"""Saaty's random consistency index RI(n) (Saaty 1980, Table 1.7)."""

CR_LIMIT = 0.1


def validate_matrix(matrix: Sequence[Sequence[float]], *, rtol: float = 1e-3) -> np.ndarray:
    """The matrix as float array, or ``ValueError`` naming the first problem: not square,
    size outside 1..10, a non-positive or non-finite entry, a diagonal entry other than 1,
    or ``a_ji != 1 / a_ij`` (relative tolerance ``rtol``, so 0.333 for 1/3 passes).

    >>> validate_matrix([[1, 3], [1/3, 1]]).shape
    (2, 2)
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"AHP matrix must be square, got shape {a.shape}")
    n = a.shape[0]
    if n not in RANDOM_INDEX:
        raise ValueError(f"AHP matrix has {n} criteria; Saaty's RI is tabulated for 1..10")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        i, j = np.argwhere(~np.isfinite(a) | (a <= 0))[0]
        raise ValueError(f"AHP matrix entries must be positive numbers: a[{i}][{j}] = {a[i, j]}")
    for i in range(n):
        if not np.isclose(a[i, i], 1.0, rtol=0, atol=1e-9):
            raise ValueError(f"AHP matrix diagonal must be 1: a[{i}][{i}] = {a[i, i]}")
        for j in range(i + 1, n):
            if not np.isclose(a[j, i] * a[i, j], 1.0, rtol=rtol, atol=0):
                raise ValueError(
                    f"AHP matrix is not reciprocal: a[{i}][{j}] = {a[i, j]} but "
                    f"a[{j}][{i}] = {a[j, i]} (expected {1 / a[i, j]:.4g})"
                )
    return a


def ahp_weights(matrix: Sequence[Sequence[float]]) -> tuple[np.ndarray, float, float, float]:
    """``(weights, lambda_max, CI, CR)`` of a pairwise comparison matrix.

    weights = principal eigenvector of ``A``, normalised to sum 1; ``CI = (lambda_max - n)
    / (n - 1)`` (0 for n <= 2); ``CR = CI / RI(n)`` (0 where RI is 0, n <= 2). A perfectly
    consistent matrix (``a_ij = w_i / w_j``) gives ``lambda_max = n`` and CR = 0.
    Reference: Saaty, T.L. (1980) The Analytic Hierarchy Process, McGraw-Hill.

    Examples
    --------
    >>> w, lam, ci, cr = ahp_weights([[1, 2, 4], [1/2, 1, 2], [1/4, 1/2, 1]])
    >>> [round(float(x), 4) for x in w], round(lam, 6), round(cr, 6)
    ([0.5714, 0.2857, 0.1429], 3.0, 0.0)
    """
    a = validate_matrix(matrix)
    n = a.shape[0]
    if n == 1:
        return np.array([1.0]), 1.0, 0.0, 0.0
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    v = np.abs(vecs[:, k].real)
    w = v / v.sum()
    ci = max((lam - n) / (n - 1), 0.0) if n > 2 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    return w, lam, ci, cr


def check_consistency(cr: float, allow_inconsistent: bool = False) -> None:
    """Raise ``ValueError`` when ``CR > 0.1`` (Saaty's limit) unless ``allow_inconsistent``.

    >>> check_consistency(0.05)
    >>> check_consistency(0.2, allow_inconsistent=True)
    """
    if cr > CR_LIMIT and not allow_inconsistent:
        raise ValueError(
            f"AHP consistency ratio CR = {cr:.3f} exceeds {CR_LIMIT}: revise the pairwise "
            "comparisons (or set allow_inconsistent to accept them)"
        )


def matrix_entry(v) -> float:
    """A matrix entry as written in a pipeline file: a number or a fraction written as text
    (``"1/3"``); nothing is evaluated.

    >>> matrix_entry("1/3"), matrix_entry(5)
    (0.3333333333333333, 5.0)
    """
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(Fraction(str(v).strip()))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{v!r} is not a number or a fraction like 1/3") from None


def ahp(factors: Sequence[str], matrix: Sequence[Sequence[float | str]], *,
        allow_inconsistent: bool = False) -> dict:
    """Weights and consistency of a pairwise comparison matrix over ``factors`` (rows and
    columns in that order): ``{weights: {factor: w}, lambda_max, ci, cr}``; ``ValueError``
    for a matrix that is not ``n×n``, not reciprocal, or inconsistent (CR > 0.1) unless
    ``allow_inconsistent``.

    >>> r = ahp(["t", "r"], [[1, "3"], ["1/3", 1]])
    >>> {k: round(v, 2) for k, v in r["weights"].items()}, r["cr"]
    ({'t': 0.75, 'r': 0.25}, 0.0)
    """
    rows = [[matrix_entry(v) for v in row] for row in matrix]
    n = len(factors)
    if len(rows) != n or any(len(r) != n for r in rows):
        raise ValueError(f"the matrix must be {n}×{n} (one row and column per factor)")
    w, lam, ci, cr = ahp_weights(rows)
    check_consistency(cr, allow_inconsistent=allow_inconsistent)
    return {"weights": dict(zip(factors, (float(x) for x in w))), "lambda_max": float(lam),
            "ci": float(ci), "cr": float(cr)}
