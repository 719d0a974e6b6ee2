"""Presence–background algorithms: maxnet's feature classes, hinges and regularisation, the
MaxEnt fit and its agreement with maxnet, the down-sampled random forest, and what every
fitted model promises (predictions in [0, 1], pickling, any number of rows, describe)."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from gies.methods import sdm
from gies.methods.registry import ALGORITHMS
from gies.methods.sdm import feature_classes, hinge, maxent, random_forest


def _frac(a):
    return a - np.floor(a)


def small_data():
    """40 presences at high x1 (6..10) and 400 background points over [0, 10]²: evenly
    spread points from fractional parts of multiples of irrational numbers (no RNG)."""
    i, k = np.arange(1, 401), np.arange(1, 41)
    background = np.c_[10 * _frac(i * 0.6180339887), 10 * _frac(i * 0.4142135624)]
    presences = np.c_[6 + 4 * _frac(k * 0.7548776662), 10 * _frac(k * 0.5698402910)]
    return np.r_[presences, background], np.r_[np.ones(40), np.zeros(400)].astype(np.int8)


NAMES = ("x1", "x2")
GRID = np.c_[np.arange(0.0, 10.5, 1.0), np.full(11, 5.0)]


@pytest.fixture(scope="module")
def fitted():
    X, y = small_data()
    return {"maxent": maxent(X, y, names=NAMES),
            "random_forest": random_forest(X, y, names=NAMES, seed=3, n_trees=50)}


# -- maxnet's pieces -------------------------------------------------------------------------------
@pytest.mark.parametrize("n, classes", [(1, "l"), (9, "l"), (10, "lq"), (14, "lq"), (15, "lqh"),
                                        (79, "lqh"), (80, "lqph"), (5000, "lqph")])
def test_feature_classes_follow_maxnets_count_rule(n, classes):
    assert feature_classes(n) == classes


def test_hinge_values_by_hand():
    # knots 0, 2, 4: forward hinges h(0, 4), h(2, 4), then reverse h(0, 2), h(0, 4)
    h = hinge(np.array([0.0, 1.0, 2.0, 4.0]), n_knots=3)
    np.testing.assert_allclose(h, [[0, 0, 0, 0],
                                   [0.25, 0, 0.5, 0.25],
                                   [0.5, 0, 1, 0.5],
                                   [1, 1, 1, 1]])
    assert hinge(np.linspace(0, 1, 7)).shape == (7, 2 * 49)


def test_linear_regularisation_by_hand():
    # 20 presences, linear features only: table value 1 - 0.8 * (20 - 10) / 20 = 0.6
    rng = np.random.default_rng(0)
    F = rng.normal(size=(50, 2)) * [1.0, 30.0]
    presence = np.arange(50) < 20
    lam = sdm._regularisation(F, presence, np.array(["l", "l"]))
    expected = F[presence].std(axis=0, ddof=1) * 0.6 / math.sqrt(20)
    np.testing.assert_allclose(lam, expected)


def test_regularisation_floors():
    # a hinge all 0 on the presences gets 0.5 / np (its sd is floored at 1/sqrt(np)); a
    # threshold feature constant on the presences gets 1
    F = np.zeros((30, 2))
    F[20:, :] = np.linspace(0.1, 1, 10)[:, None]
    presence = np.arange(30) < 16
    lam = sdm._regularisation(F, presence, np.array(["h", "t"]))
    np.testing.assert_allclose(lam, [0.5 / 16, 1.0])


def test_presences_missing_from_the_background_are_added_once():
    X = np.array([[1.0], [1.0], [2.0], [0.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]])
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    d = maxent(X, y, names=("x",)).describe()
    assert d["n_presence_added_to_background"] == 1  # the row 1.0 (twice); 2.0 is there
    assert d["n_presence"] == 3 and d["n_background"] == 7


# -- maxent ------------------------------------------------------------------------------------------
def test_maxent_agrees_with_maxnet():
    # maxnet 0.1.4 (R, glmnet) on the same points, classes = "default" (lqh for 40
    # presences): predict(type = "cloglog") along x1 at x2 = 5
    maxnet = [0.0004, 0.0013, 0.0044, 0.0147, 0.0479, 0.1507, 0.4193, 0.661, 0.7013, 0.7407,
              0.3141]
    X, y = small_data()
    model = maxent(X, y, names=NAMES)
    assert model.describe()["feature_classes"] == "lqh"
    np.testing.assert_allclose(model.predict(GRID), maxnet, atol=0.01)


@pytest.mark.parametrize("features, maxnet", [
    ("l", [0.0366, 0.0547, 0.0819, 0.1217, 0.1789, 0.2587, 0.3654, 0.4988, 0.6498, 0.7968,
           0.9101]),
    ("lq", [0.0026, 0.0086, 0.0254, 0.0649, 0.1433, 0.269, 0.4284, 0.5846, 0.7034, 0.7723,
            0.7953]),
])
def test_maxent_agrees_with_maxnet_for_given_classes(features, maxnet):
    X, y = small_data()
    model = maxent(X, y, names=NAMES, features=features)
    assert model.describe()["feature_classes_rule"] == "given"
    np.testing.assert_allclose(model.predict(GRID), maxnet, atol=0.01)


def test_maxent_recovers_an_increasing_response():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    background = rng.uniform(0, 1, size=(3000, 2))
    presences = np.c_[rng.beta(20, 1, 120), rng.uniform(0, 1, 120)]  # best AUC 20/21
    X = np.r_[presences, background]
    y = np.r_[np.ones(120), np.zeros(3000)]
    model = maxent(X, y, names=NAMES)
    along = model.predict(np.c_[np.linspace(0, 1, 50), np.full(50, 0.5)])
    assert np.all(np.diff(along) >= -1e-9) and along[-1] > 10 * along[0]
    assert roc_auc_score(y, model.predict(X)) > 0.9
    d = model.describe()
    assert d["feature_classes"] == "lqph" and d["converged"] and d["solver"] == "liblinear"
    assert 0 < d["n_nonzero"] < d["n_features"]


def test_maxent_logistic_output_and_multiplier():
    X, y = small_data()
    cloglog = maxent(X, y, names=NAMES).predict(GRID)
    logistic = maxent(X, y, names=NAMES, output="logistic").predict(GRID)
    u = -np.log1p(-cloglog)  # both are functions of u = exp(H + lp)
    np.testing.assert_allclose(logistic, u / (1 + u), rtol=1e-9)
    smooth = maxent(X, y, names=NAMES, beta_multiplier=4.0)
    assert smooth.describe()["n_nonzero"] < maxent(X, y, names=NAMES).describe()["n_nonzero"]


def test_maxent_clamps_to_the_training_range():
    X, y = small_data()
    model = maxent(X, y, names=NAMES)
    inside = model.predict(np.array([[0.0, 5.0], [10.0, 0.0]]))
    outside = model.predict(np.array([[-50.0, 5.0], [60.0, -7.0]]))
    np.testing.assert_allclose(outside, inside, atol=1e-3)


def test_maxent_categorical_variable_gives_indicators():
    rng = np.random.default_rng(1)
    background = np.c_[rng.uniform(0, 1, 600), rng.integers(1, 4, 600)]
    presences = np.c_[rng.uniform(0, 1, 40), np.full(40, 2.0)]
    X, y = np.r_[presences, background], np.r_[np.ones(40), np.zeros(600)]
    model = maxent(X, y, names=("x", "soil"), categorical=(False, True))
    d = model.describe()
    assert any(k.startswith("categorical(soil):") for k in d["coefficients"])
    p = model.predict(np.array([[0.5, 1.0], [0.5, 2.0], [0.5, 3.0], [0.5, 9.0]]))
    assert p[1] > 2 * max(p[0], p[2])
    assert d["categorical"] == ["soil"]


# -- random forest -----------------------------------------------------------------------------------
def test_random_forest_is_seeded():
    X, y = small_data()
    a = random_forest(X, y, names=NAMES, seed=7, n_trees=30).predict(GRID)
    b = random_forest(X, y, names=NAMES, seed=7, n_trees=30).predict(GRID)
    c = random_forest(X, y, names=NAMES, seed=8, n_trees=30).predict(GRID)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_forest_trees_see_balanced_samples():
    X, y = small_data()
    model = random_forest(X, y, names=NAMES, seed=0, n_trees=20)
    for tree in model.trees:  # the root holds the tree's sample: 40 presences, 40 background
        np.testing.assert_allclose(tree.tree_.weighted_n_node_samples[0], 80)
        np.testing.assert_allclose(tree.tree_.value[0, 0] * 80, [40, 40])
    assert model.describe()["points_per_tree"] == 80


def test_random_forest_learns_the_presence_region(fitted):
    p = fitted["random_forest"].predict(GRID)
    assert p[:5].max() < 0.1 < 0.3 < p[7:10].mean()


def test_random_forest_categorical_one_hot():
    X = np.c_[np.arange(60.0) % 7, np.arange(60) % 3 + 1]
    y = (X[:, 1] == 2).astype(int)
    model = random_forest(X, y, names=("x", "c"), categorical=(False, True), n_trees=20)
    assert model.describe()["n_features"] == 4
    p = model.predict(np.array([[1.0, 2.0], [1.0, 1.0], [1.0, 5.0]]))
    assert p[0] > 0.9 and p[1] < 0.1


# -- what every fitted model promises ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["maxent", "random_forest"])
def test_predictions_in_unit_interval_for_any_rows(fitted, name):
    model = fitted[name]
    rows = np.random.default_rng(2).uniform(-20, 30, size=(257, 2))
    p = model.predict(rows)
    assert p.dtype == np.float64 and p.shape == (257,)
    assert np.all((p >= 0) & (p <= 1))
    assert model.predict(np.empty((0, 2))).shape == (0,)
    np.testing.assert_array_equal(model.predict(rows[:1]), p[:1])


@pytest.mark.parametrize("name", ["maxent", "random_forest"])
def test_pickle_round_trip(fitted, name):
    model = fitted[name]
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(GRID), model.predict(GRID))
    assert again.names == NAMES


@pytest.mark.parametrize("name", ["maxent", "random_forest"])
def test_describe_is_json(fitted, name):
    d = json.loads(json.dumps(fitted[name].describe()))
    assert d["algorithm"] == name
    assert d["n_presence"] == 40 and d["n_background"] == 400
    assert "scikit-learn" in d["versions"] and "numpy" in d["versions"]


def test_registered_with_one_line_summaries():
    for name in ("maxent", "random_forest"):
        method = ALGORITHMS[name]
        assert method.summary and "\n" not in method.summary
        assert {"names", "categorical", "seed"} <= set(method.parameters)


def test_predict_checks_the_columns(fitted):
    with pytest.raises(ValueError, match="predict needs"):
        fitted["maxent"].predict(np.zeros((3, 3)))


@pytest.mark.parametrize("name, params, message", [
    ("maxent", {"features": "lqx"}, "features"),
    ("maxent", {"features": ""}, "features"),
    ("maxent", {"features": "ll"}, "features"),
    ("maxent", {"beta_multiplier": 0}, "beta_multiplier"),
    ("maxent", {"beta_multiplier": float("nan")}, "beta_multiplier"),
    ("maxent", {"n_knots": 1}, "n_knots"),
    ("maxent", {"output": "raw"}, "output"),
    ("random_forest", {"n_trees": 0}, "n_trees"),
    ("random_forest", {"n_trees": 2.5}, "n_trees"),
    ("random_forest", {"max_features": "all"}, "max_features"),
    ("random_forest", {"max_features": 3}, "max_features"),
    ("random_forest", {"max_features": 1.5}, "max_features"),
    ("random_forest", {"min_samples_leaf": 0}, "min_samples_leaf"),
])
def test_parameter_errors_start_with_the_algorithm_name(name, params, message):
    X, y = small_data()
    with pytest.raises(ValueError, match=f"^{name}: {message}"):
        ALGORITHMS[name](X, y, names=NAMES, **params)


@pytest.mark.parametrize("name", ["maxent", "random_forest"])
def test_data_errors_start_with_the_algorithm_name(name):
    X, y = small_data()
    fit = ALGORITHMS[name]
    with pytest.raises(ValueError, match=f"^{name}: .*NaN"):
        fit(np.where(X > 9.9, np.nan, X), y, names=NAMES)
    with pytest.raises(ValueError, match=f"^{name}: needs presences"):
        fit(X, np.zeros(len(y)), names=NAMES)
    with pytest.raises(ValueError, match=f"^{name}: 1 names for 2 columns"):
        fit(X, y, names=("x1",))
    with pytest.raises(ValueError, match=f"^{name}: y must be"):
        fit(X, y * 2, names=NAMES)


def test_maxent_needs_two_presences():
    X, y = small_data()
    y = np.zeros_like(y)
    y[0] = 1
    with pytest.raises(ValueError, match="^maxent: needs at least 2 presences"):
        maxent(X, y, names=NAMES)
