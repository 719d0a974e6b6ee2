"""Unit tests of gies.methods.similarity: origin-environment similarity methods, checked on
tiny references against values worked out by hand."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gies.methods import similarity
from gies.methods.registry import SIMILARITY, check_call
from gies.methods.similarity import (
    ExdetFitted,
    MahalanobisFitted,
    Reference,
    bioclim,
    collinear_pairs,
    constant_variables,
    exdet,
    gower,
    mahalanobis,
    mess,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
METHODS = ["bioclim", "mess", "gower", "mahalanobis", "exdet"]


def ref_of(columns, names=None, categorical=None, aoi=None, seed=0) -> Reference:
    """A reference from its columns; the AOI range is the reference's unless given."""
    values = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    p = values.shape[1]
    names = tuple(names or "abcdefgh"[:p])
    lo, hi = (values.min(axis=0), values.max(axis=0)) if aoi is None else aoi
    return Reference(values, names, tuple(categorical or (False,) * p), np.asarray(lo, float),
                     np.asarray(hi, float), seed)


def sample_reference(names, categorical=None, *, seed=0) -> Reference:
    """A reference every method accepts: 5p + 5 rows of independent standard normal values
    (categorical variables: codes 1, 2, 3 in turn), the AOI one unit wider."""
    p = len(names)
    categorical = tuple(categorical) if categorical is not None else (False,) * p
    n = 5 * p + 5
    values = np.random.default_rng(seed).standard_normal((n, p))
    for j, cat in enumerate(categorical):
        if cat:
            values[:, j] = np.arange(n) % 3 + 1
    return Reference(values, tuple(names), categorical, values.min(axis=0) - 1,
                     values.max(axis=0) + 1, seed)


def cells(*rows) -> np.ndarray:
    return np.array(rows, dtype=float)


#: reference column [1, 2, 3, 4]; cells below the minimum, at the minimum, between values,
#: at a reference value, at the median, at a value above it, at the maximum, above it
REF_1234 = ref_of([[1, 2, 3, 4]])
X_1234 = cells([0], [1], [1.5], [2], [2.5], [3], [4], [5])


# -- the reference and the fitted objects --------------------------------------------------------
def test_reference_copies_and_freezes_its_arrays():
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    ref = Reference(values, ("a", "b"), (False, False), np.zeros(2), np.ones(2))
    values[0, 0] = 99
    assert ref.values[0, 0] == 1.0 and (ref.n, ref.p) == (2, 2)
    with pytest.raises(ValueError):
        ref.values[0, 0] = 5


@pytest.mark.parametrize("kwargs, message", [
    ({"values": [[1.0, np.nan]]}, "NaN"),
    ({"names": ("a",)}, "2 variables but 1 names"),
    ({"names": ("a", "a")}, "repeat"),
    ({"aoi_min": [0.0]}, "aoi_min and aoi_max must have shape (2,)"),
    ({"values": np.empty((0, 2))}, "non-empty"),
])
def test_reference_refuses_inconsistent_input(kwargs, message):
    args = {"values": [[1.0, 2.0]], "names": ("a", "b"), "categorical": (False, False),
            "aoi_min": [0.0, 0.0], "aoi_max": [1.0, 1.0], **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Reference(**args)


@pytest.mark.parametrize("name", METHODS)
def test_a_row_with_any_nan_gets_nan_or_0(name):
    fitted = SIMILARITY[name](sample_reference(["t", "r", "s"]))
    x = np.array([[0.1, 0.2, 0.3], [np.nan, 0.2, 0.3], [0.1, 0.2, np.nan], [0.0, 0.0, 0.0]])
    out = fitted.predict(x)
    assert tuple(out) == fitted.outputs
    for layer, values in out.items():
        assert values.dtype == np.dtype(fitted.dtypes[layer]) and values.shape == (4,)
        if values.dtype.kind == "f":
            assert np.isnan(values[1:3]).all() and np.isfinite(values[[0, 3]]).all()
        else:
            assert values[1:3].tolist() == [0, 0] and (values[[0, 3]] > 0).all()


@pytest.mark.parametrize("name", METHODS)
def test_predict_takes_any_number_of_rows_and_checks_the_columns(name):
    fitted = SIMILARITY[name](sample_reference(["t", "r"]))
    assert all(v.shape == (0,) for v in fitted.predict(np.empty((0, 2))).values())
    with pytest.raises(ValueError, match=f"^{name}: cells must be an \\(m, 2\\) matrix"):
        fitted.predict(np.zeros((3, 3)))


@pytest.mark.parametrize("name", METHODS)
def test_fitted_pickles_and_describes_itself_as_json(name):
    ref = sample_reference(["t", "r"])
    fitted = SIMILARITY[name](ref)
    again = pickle.loads(pickle.dumps(fitted))
    x = ref.values + 0.25
    for layer, values in fitted.predict(x).items():
        np.testing.assert_array_equal(again.predict(x)[layer], values)
    described = json.loads(json.dumps(fitted.describe()))
    assert described["method"] == name and described["variables"] == ["t", "r"]


# -- the registry and parameter checks -----------------------------------------------------------
def test_every_method_is_registered_with_a_one_line_summary():
    assert set(METHODS) <= set(SIMILARITY)
    for name in METHODS:
        assert SIMILARITY[name].kind == "similarity" and len(SIMILARITY[name].summary) > 40


@pytest.mark.parametrize("name", METHODS)
def test_the_sample_reference_passes_every_method(name):
    for p in (1, 4, 12):
        ref = sample_reference([f"v{i}" for i in range(p)])
        assert check_call(SIMILARITY[name], ref, {}) is None


@pytest.mark.parametrize("name, params, message", [
    ("gower", {"reduce": "max"}, "gower: reduce must be 'nearest' or 'mean', got 'max'"),
    ("bioclim", {"tails": "left"}, "bioclim: tails must be 'both', 'low' or 'high', got 'left'"),
    ("bioclim", {"tails": {"r": "up"}},
     "bioclim: tails of 'r' must be 'both', 'low' or 'high', got 'up'"),
    ("bioclim", {"tails": {"rain": "low"}},
     "bioclim: tails given for 'rain', which is not a variable of the reference"),
    ("bioclim", {"tails": ["low", "high"]}, "bioclim: tails must be"),
    ("mess", {"tails": "low"}, "mess: unknown parameter 'tails'"),
])
def test_parameter_errors_start_with_the_method_name(name, params, message):
    problem = check_call(SIMILARITY[name], sample_reference(["t", "r"]), params)
    assert problem is not None and problem.startswith(message)


def test_importing_the_module_imports_neither_scipy_nor_sklearn():
    code = ("import sys, gies.methods.similarity; "
            "print(sorted(m for m in ('scipy', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# -- bioclim -------------------------------------------------------------------------------------
def test_bioclim_both_tails_by_hand():
    # r = (#ref < x + 0.5 #ref == x) / 4; score 2r, or 2(1 - r) above 0.5; 0 outside [1, 4]
    got = bioclim(REF_1234).predict(X_1234)["similarity_bioclim"]
    assert got.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1, 0.75, 0.25, 0])


def test_bioclim_low_tail_counts_only_values_below_the_median():
    # r > 0.5 -> 0.5 (score 1) and no check against the maximum: 5 scores 1
    got = bioclim(REF_1234, tails="low").predict(X_1234)["similarity_bioclim"]
    assert got.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1, 1, 1, 1])


def test_bioclim_high_tail_counts_only_values_above_the_median():
    # r < 0.5 -> 0.5 (score 1) and no check against the minimum: 0 scores 1
    got = bioclim(REF_1234, tails="high").predict(X_1234)["similarity_bioclim"]
    assert got.tolist() == pytest.approx([1, 1, 1, 1, 1, 0.75, 0.25, 0])


def test_bioclim_ties_count_half():
    # ref [1, 2, 2, 3]: x = 2 has 1 below and 2 equal: r = 2/4 -> score 1; x = 1: r = 1/8
    got = bioclim(ref_of([[1, 2, 2, 3]])).predict(cells([2], [1], [3]))["similarity_bioclim"]
    assert got.tolist() == pytest.approx([1.0, 0.25, 0.25])


def test_bioclim_is_the_minimum_over_variables_and_0_when_any_is_outside():
    ref = ref_of([[1, 2, 3, 4], [10, 20, 30, 40]])
    got = bioclim(ref).predict(cells([2.5, 20], [2.5, 41], [1, 40], [0, 25]))
    # (1, 0.75) -> 0.75; b above its max -> 0; (0.25, 0.25); a below its min -> 0
    assert got["similarity_bioclim"].tolist() == pytest.approx([0.75, 0, 0.25, 0])


def test_bioclim_tails_per_variable_unnamed_ones_both():
    ref = ref_of([[1, 2, 3, 4], [10, 20, 30, 40]])
    fitted = bioclim(ref, tails={"b": "low"})
    assert fitted.tails == ("both", "low")
    got = fitted.predict(cells([2.5, 99], [2.5, 5], [0, 25]))["similarity_bioclim"]
    # b above its max counts 1 on the low tail; b below its min is outside; a outside -> 0
    assert got.tolist() == pytest.approx([1, 0, 0])
    assert fitted.describe()["tails"] == {"a": "both", "b": "low"}


def test_bioclim_refuses_categorical_variables_and_a_single_row():
    ref = ref_of([[1, 2, 3], [1, 1, 2]], names=("t", "soil_type"), categorical=(False, True))
    with pytest.raises(ValueError, match="^bioclim: variable 'soil_type' is categorical; "
                       r"BIOCLIM needs continuous variables \(use gower\)$"):
        bioclim(ref)
    with pytest.raises(ValueError, match="^bioclim: 1 reference rows for 1 variable;"):
        bioclim(ref_of([[3]]))


@FAST
@given(ref=arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 3)),
                  elements=st.integers(-20, 20).map(float)),
       x=arrays(np.float64, (10, 3), elements=st.integers(-25, 25).map(float)),
       tails=st.sampled_from(["both", "low", "high"]))
def test_bioclim_is_in_0_1_and_depends_only_on_ranks(ref, x, tails):
    p = ref.shape[1]
    x = x[:, :p]
    got = bioclim(ref_of(ref.T), tails=tails).predict(x)["similarity_bioclim"]
    assert ((got >= 0) & (got <= 1)).all()
    # a strictly increasing transform of the reference and the cells changes nothing
    again = bioclim(ref_of(np.cbrt(ref).T * 3 + 1), tails=tails).predict(np.cbrt(x) * 3 + 1)
    np.testing.assert_array_equal(again["similarity_bioclim"], got)


# -- mess ----------------------------------------------------------------------------------------
def test_mess_by_hand():
    # f = 100 #(ref <= x) / 4; range 3: below 100(x - 1)/3, at and above the max 100(4 - x)/3
    got = mess(REF_1234).predict(X_1234)
    assert got["mess"].tolist() == pytest.approx(
        [-100 / 3, 50, 50, 100, 100, 50, 0, -100 / 3], abs=1e-5)
    assert got["mess_variable"].tolist() == [1] * 8


def test_mess_at_the_reference_maximum_is_0_and_negative_beyond_the_range():
    fitted = mess(REF_1234)
    assert fitted.predict(cells([4]))["mess"][0] == 0.0
    assert fitted.predict(cells([4.3], [0.7]))["mess"].tolist() == pytest.approx([-10, -10])


def test_mess_odd_reference_size():
    # ref [1, 2, 3]: x = 2 -> f = 200/3 (> 50) -> 2 (100 - f) = 200/3; x = 1 -> f = 100/3
    got = mess(ref_of([[1, 2, 3]])).predict(cells([2], [1], [1.5]))["mess"]
    assert got.tolist() == pytest.approx([200 / 3, 200 / 3, 200 / 3], abs=1e-5)


def test_mess_is_the_minimum_over_variables_and_names_the_most_dissimilar():
    fitted = mess(ref_of([[1, 2, 3, 4], [1, 2, 3, 4], [10, 20, 30, 40]]))
    x = cells([2, 2, 25], [3, 2, 25], [2, 3, 25], [2, 2, 50])
    s = fitted.similarities(x)
    assert s == pytest.approx(np.array([[100, 100, 100], [50, 100, 100], [100, 50, 100],
                                        [100, 100, -100 / 3]]))
    got = fitted.predict(x)
    assert got["mess"].tolist() == pytest.approx([100, 50, 50, -100 / 3], abs=1e-5)
    # ties go to the first variable (1-based index)
    assert got["mess_variable"].tolist() == [1, 1, 2, 3]


def test_mess_refuses_constant_and_categorical_variables():
    with pytest.raises(ValueError, match=r"^mess: variable 'c' \(value 7\) is constant over "
                       "the reference: drop it from origin.variables$"):
        mess(ref_of([[1, 2, 3], [7, 7, 7]], names=("t", "c")))
    with pytest.raises(ValueError, match="^mess: variable 'biome' is categorical"):
        mess(ref_of([[1, 2, 3], [1, 2, 1]], names=("t", "biome"), categorical=(False, True)))


@FAST
@given(ref=arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 3)),
                  elements=st.integers(-20, 20).map(float)),
       x=arrays(np.float64, (10, 3), elements=st.integers(-25, 25).map(float)))
def test_mess_at_most_100_and_nonnegative_exactly_inside_the_range(ref, x):
    assume((np.ptp(ref, axis=0) > 0).all())
    x = x[:, :ref.shape[1]]
    got = mess(ref_of(ref.T)).predict(x)["mess"]
    inside = ((x >= ref.min(axis=0)) & (x <= ref.max(axis=0))).all(axis=1)
    assert (got <= 100).all()
    np.testing.assert_array_equal(got >= 0, inside)


# -- gower ---------------------------------------------------------------------------------------
#: two reference rows (a, c) = (1, 1) and (3, 2); c categorical; AOI range of a [0, 4]
REF_GOWER = ref_of([[1, 3], [1, 2]], names=("a", "c"), categorical=(False, True),
                   aoi=([0, 1], [4, 2]))


def test_gower_nearest_and_mean_by_hand():
    x = cells([2, 1], [0, 3], [1, 1], [3, 2])
    # (2, 1): d = 1/4 + 0 to row 1 (S 0.875), 1/4 + 1 to row 2 (S 0.375)
    # (0, 3), a category no reference row has: 1/4 + 1 (S 0.375), 3/4 + 1 (S 0.125)
    # the reference rows: S 1 to themselves, 1 - (2/4 + 1)/2 = 0.25 to the other
    nearest = gower(REF_GOWER).predict(x)["similarity_gower"]
    mean = gower(REF_GOWER, reduce="mean").predict(x)["similarity_gower"]
    assert nearest.tolist() == pytest.approx([0.875, 0.375, 1, 1])
    assert mean.tolist() == pytest.approx([0.625, 0.25, 0.625, 0.625])


def test_gower_clips_each_distance_at_1_outside_the_range():
    x = cells([5, 2], [8, 2])
    # (5, 2): |5 - 1|/4 = 1, +1 -> S 0; |5 - 3|/4 -> S 0.75
    # (8, 2): 7/4 clipped to 1, +1 -> S 0; 5/4 clipped to 1, + 0 -> S 0.5
    assert gower(REF_GOWER).predict(x)["similarity_gower"].tolist() == pytest.approx([0.75, 0.5])
    assert gower(REF_GOWER, reduce="mean").predict(x)["similarity_gower"].tolist() == \
        pytest.approx([0.375, 0.25])


def test_gower_range_covers_the_aoi_and_the_reference():
    # AOI a in [0, 2] but a reference row at 3: R = 3 - 0
    ref = ref_of([[1, 3]], aoi=([0], [2]))
    fitted = gower(ref, reduce="mean")
    assert fitted.describe()["range"] == {"a": [0.0, 3.0]}
    # x = 0: 1/3 and 3/3 -> S 2/3 and 0 -> mean 1/3
    assert fitted.predict(cells([0]))["similarity_gower"][0] == pytest.approx(1 / 3)


def test_gower_variable_constant_over_aoi_and_reference_adds_no_distance():
    ref = ref_of([[1, 3], [5, 5]], aoi=([0, 5], [4, 5]))
    # b has R = 0: it adds nothing, even for b = 9, and still counts in p = 2
    for reduce in ("nearest", "mean"):
        got = gower(ref, reduce=reduce).predict(cells([2, 5], [2, 9]))["similarity_gower"]
        assert got.tolist() == pytest.approx([0.875, 0.875])


def test_gower_mean_in_small_chunks_is_the_same(monkeypatch):
    ref = sample_reference(["t", "r", "s"], [False, False, True], seed=3)
    x = ref.values[::2] + 0.3
    whole = gower(ref, reduce="mean").predict(x)["similarity_gower"]
    monkeypatch.setattr(similarity, "PAIRWISE_BUDGET", 7)
    np.testing.assert_array_equal(gower(ref, reduce="mean").predict(x)["similarity_gower"],
                                  whole)


def test_gower_keeps_the_kd_tree_only_for_nearest():
    assert gower(REF_GOWER).tree is not None and gower(REF_GOWER, reduce="mean").tree is None


gower_case = st.tuples(st.integers(1, 10), st.integers(1, 4)).flatmap(lambda s: st.tuples(
    arrays(np.float64, s, elements=st.integers(-10, 10).map(float)),
    arrays(np.float64, (8, s[1]), elements=st.integers(-14, 14).map(float)),
    st.lists(st.booleans(), min_size=s[1], max_size=s[1])))


@FAST
@given(case=gower_case)
def test_gower_laws(case):
    ref, x, categorical = case
    values = np.where(categorical, np.abs(ref) % 3, ref)
    x = np.where(categorical, np.abs(x) % 4, x)
    reference = Reference(values, tuple(f"v{j}" for j in range(values.shape[1])),
                          tuple(categorical), values.min(axis=0) - 2, values.max(axis=0) + 2)
    near, mean = gower(reference), gower(reference, reduce="mean")
    s_near = near.predict(x)["similarity_gower"]
    s_mean = mean.predict(x)["similarity_gower"]
    assert ((s_near >= 0) & (s_near <= 1)).all() and (s_near >= s_mean - 1e-6).all()
    # the KD-tree answers as the pairwise minimum does
    brute = 1 - near.distances(x, "nearest") / x.shape[1]
    np.testing.assert_allclose(s_near, brute, atol=1e-6)
    # every reference row is its own nearest reference sample
    assert near.predict(values)["similarity_gower"] == pytest.approx(1.0)


# -- mahalanobis ---------------------------------------------------------------------------------
def test_mahalanobis_d2_and_chi2_by_hand_for_two_variables():
    # Σ = [[2, 1], [1, 2]] -> Σ⁻¹ = [[2, -1], [-1, 2]] / 3; centre (1, 2)
    cov = np.array([[2.0, 1.0], [1.0, 2.0]])
    fitted = MahalanobisFitted(("a", "b"), np.array([1.0, 2.0]), np.linalg.inv(cov), cov,
                               100, 80, 0)
    x = cells([1, 2], [2, 3], [2, 1])
    # d = (1, 1): (2 - 1 - 1 + 2)/3 = 2/3; d = (1, -1): (2 + 1 + 1 + 2)/3 = 2
    assert fitted.d2(x).tolist() == pytest.approx([0, 2 / 3, 2])
    # p = 2: P(χ²₂ > D²) = exp(-D²/2)
    assert fitted.predict(x)["similarity_mahalanobis"].tolist() == pytest.approx(
        [1.0, 0.7165313, 0.3678794], abs=1e-6)
    assert math.exp(-1 / 3) == pytest.approx(0.7165313, abs=1e-7)


def test_mahalanobis_chi2_for_one_variable_is_the_two_sided_normal_tail():
    fitted = MahalanobisFitted(("a",), np.array([0.0]), np.array([[0.25]]), np.array([[4.0]]),
                               50, 40, 0)
    # x = 2, σ = 2: D² = 1, P(|Z| > 1) = 0.3173105; x = -2·1.959964: P(|Z| > 1.959964) = 0.05
    got = fitted.predict(cells([2], [-2 * 1.959964]))["similarity_mahalanobis"]
    assert got.tolist() == pytest.approx([0.3173105, 0.05], abs=1e-6)


def test_mahalanobis_fits_the_mcd_with_the_reference_seed():
    from sklearn.covariance import MinCovDet

    rng = np.random.default_rng(7)
    clean = rng.multivariate_normal([10, -5], [[4, 1], [1, 1]], size=90)
    outliers = rng.normal([60, 40], 1, size=(10, 2))
    values = np.vstack([clean, outliers])
    ref = Reference(values, ("t", "r"), (False, False), values.min(0), values.max(0), seed=5)
    fitted = mahalanobis(ref)
    mcd = MinCovDet(random_state=5).fit(values)
    np.testing.assert_array_equal(fitted.centre, mcd.location_)
    # robust: the centre is that of the clean rows, and the outliers score ~0
    assert fitted.centre == pytest.approx([10, -5], abs=0.6)
    assert fitted.predict(outliers)["similarity_mahalanobis"].max() < 1e-6
    described = fitted.describe()
    assert described["n_reference"] == 100 and described["seed"] == 5
    assert 50 <= described["mcd_support"] <= 100


def test_mahalanobis_refusals_name_the_variables():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=40), rng.normal(size=40)
    with pytest.raises(ValueError, match="^mahalanobis: variable 'biome' is categorical; .*"
                       "use gower or drop it"):
        mahalanobis(ref_of([a, np.arange(40) % 3], names=("t", "biome"),
                           categorical=(False, True)))
    with pytest.raises(ValueError, match=r"^mahalanobis: variable 'c' \(value 2\) is constant"):
        mahalanobis(ref_of([a, b, np.full(40, 2.0)]))
    with pytest.raises(ValueError, match="^mahalanobis: variable 'b' is collinear with 'a' "
                       r"over the reference \(multiple correlation 1.000000\)"):
        mahalanobis(ref_of([a, 2 * a + 1, b]))
    with pytest.raises(ValueError, match="^mahalanobis: variable 'c' is collinear with 'a', "
                       "'b'"):
        mahalanobis(ref_of([a, b, a - 3 * b]))
    with pytest.raises(ValueError, match="^mahalanobis: 12 reference rows for 3 variables; .*"
                       "needs at least 15: add origin cells or drop variables"):
        mahalanobis(ref_of([a[:12], b[:12], a[:12] ** 2]))


def test_mahalanobis_refuses_a_singular_robust_covariance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40), rng.normal(size=40)
    b[:30] = 5.0  # three quarters of the rows on the line b = 5
    with pytest.raises(ValueError, match="^mahalanobis: the robust .MCD. covariance of the "
                       "reference is singular along 'b'"):
        mahalanobis(ref_of([a, b]))


# -- exdet ---------------------------------------------------------------------------------------
#: the corners of the square [0, 2]²: mean (1, 1), covariance diag(4/3, 4/3), so
#: D² = 0.75 |x - (1, 1)|² and every corner has D² = 1.5 (the largest)
REF_SQUARE = ref_of([[0, 2, 0, 2], [0, 0, 2, 2]])


def test_exdet_by_hand():
    fitted = exdet(REF_SQUARE)
    assert fitted.d2_max == pytest.approx(1.5)
    got = fitted.predict(cells([1, 1], [3, 1], [-1, 4], [2, 0], [2, 2.5]))
    # NT1: (3, 1) is 1 past max 2 in a range of 2 -> -0.5; (-1, 4): -1/2 - 2/2 = -1.5
    assert got["exdet_nt1"].tolist() == pytest.approx([0, -0.5, -1.5, 0, -0.25])
    # NT2: D² / 1.5 with D² = 0, 0.75·4 = 3, 0.75·13 = 9.75, 1.5, 0.75·3.25
    assert got["exdet_nt2"].tolist() == pytest.approx([0, 2, 6.5, 1, 1.625])


def test_exdet_nt2_with_correlated_variables_by_hand():
    # rows (0, 0), (1, 2), (2, 1), (3, 3): mean (1.5, 1.5), covariance [[5, 4], [4, 5]] / 3
    fitted = exdet(ref_of([[0, 1, 2, 3], [0, 2, 1, 3]]))
    assert isinstance(fitted, ExdetFitted)
    # Σ⁻¹ = [[5, -4], [-4, 5]] / 3; corners d = ±(1.5, 1.5): D² = 1.5²·2/3 = 1.5;
    # (1, 2), d = (-0.5, 0.5): 0.25·18/3 = 1.5 -> all four rows at D² = 1.5
    assert fitted.d2_max == pytest.approx(1.5)
    # (2.5, 0.5): d = (1, -1) -> (5 + 8 + 5)/3 = 6 -> NT2 = 4, inside the range (NT1 = 0)
    got = fitted.predict(cells([2.5, 0.5]))
    assert got["exdet_nt1"][0] == 0 and got["exdet_nt2"][0] == pytest.approx(4)


def test_exdet_refusals():
    with pytest.raises(ValueError, match="^exdet: variable 'soil' is categorical"):
        exdet(ref_of([[1, 2, 3], [1, 2, 1]], names=("t", "soil"), categorical=(False, True)))
    with pytest.raises(ValueError, match=r"^exdet: variable 'b' \(value 1\) is constant"):
        exdet(ref_of([[1, 2, 3], [1, 1, 1]]))
    with pytest.raises(ValueError, match="^exdet: variable 'b' is collinear with 'a'"):
        exdet(ref_of([[1, 2, 3, 5], [2, 4, 6, 10]]))
    with pytest.raises(ValueError, match="^exdet: 2 reference rows for 2 variables"):
        exdet(ref_of([[1, 2], [3, 1]]))


@FAST
@given(ref=arrays(np.float64, st.tuples(st.integers(4, 12), st.integers(1, 3)),
                  elements=st.integers(-200, 200).map(lambda v: v / 4)),
       x=arrays(np.float64, (10, 3), elements=st.integers(-320, 320).map(lambda v: v / 4)),
       scale=st.floats(0.1, 10), shift=st.floats(-100, 100))
def test_exdet_nt1_is_0_exactly_inside_and_nt2_ignores_units(ref, x, scale, shift):
    try:
        fitted = exdet(ref_of(ref.T))
    except ValueError:
        assume(False)
    x = x[:, :ref.shape[1]]
    got = fitted.predict(x)
    inside = ((x >= ref.min(axis=0)) & (x <= ref.max(axis=0))).all(axis=1)
    np.testing.assert_array_equal(got["exdet_nt1"] == 0, inside)
    assert (got["exdet_nt1"] <= 0).all()
    assert (fitted.predict(ref)["exdet_nt2"] <= 1 + 1e-6).all()
    again = exdet(ref_of(ref.T * scale + shift)).predict(x * scale + shift)
    np.testing.assert_allclose(again["exdet_nt1"], got["exdet_nt1"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(again["exdet_nt2"], got["exdet_nt2"], rtol=1e-4, atol=1e-5)


# -- helpers -------------------------------------------------------------------------------------
def test_constant_variables_and_collinear_pairs():
    v = np.array([[1.0, 2.0, 5.0, 1.0], [2.0, 4.0, 5.0, 3.0], [3.0, 6.1, 5.0, 2.0],
                  [4.0, 8.0, 5.0, 1.0]])
    names = ["a", "b", "c", "d"]
    assert constant_variables(v, names) == ["c"]
    pairs = collinear_pairs(v, names)
    assert [(a, b) for a, b, _ in pairs] == [("a", "b")]
    # deviations (-1.5, -0.5, 0.5, 1.5) and (-3.025, -1.025, 1.075, 2.975):
    # r = 10.05 / sqrt(5 · 20.2075) = 0.999827
    assert pairs[0][2] == pytest.approx(0.999827, abs=1e-6)
    assert collinear_pairs(v, names, categorical=[False, True, False, False]) == []
    assert collinear_pairs(v, names, threshold=0.0)[-1][:2] == ("b", "d")
