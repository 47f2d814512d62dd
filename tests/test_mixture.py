"""GaussianMixtureEM: agreement with scikit-learn, restarts, numerics, API."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlearn import GaussianMixtureEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=400, n_features=3, centers=3, cluster_std=[1.0, 1.5, 0.7],
                      random_state=0)
    return X @ np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.4], [0.2, 0.0, 1.0]])


def starting_values(X, covariance_type, n_components=3, seed=0):
    """Deliberately rough starting parameters (several EM iterations to converge)."""
    rng = np.random.RandomState(seed)
    means = X[rng.choice(len(X), n_components, replace=False)]
    precision = np.linalg.inv(np.cov(X.T))
    precisions = {
        "full": np.stack([precision] * n_components),
        "tied": precision,
        "diag": np.tile(np.diag(precision), (n_components, 1)),
        "spherical": np.full(n_components, np.diag(precision).mean()),
    }[covariance_type]
    return dict(weights_init=np.full(n_components, 1 / n_components), means_init=means,
                precisions_init=precisions, covariance_type=covariance_type)


def fit_quietly(estimator, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, **fit_params)


# 1. Same answers as scikit-learn ------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_answers_as_sklearn_float64(blobs, covariance_type):
    options = dict(starting_values(blobs, covariance_type), tol=1e-6, max_iter=500,
                   reg_covar=1e-4)
    theirs = fit_quietly(GaussianMixture(3, **options), blobs)
    ours = fit_quietly(GaussianMixtureEM(3, **options), blobs)
    assert theirs.n_iter_ > 5
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-10)
    if hasattr(theirs, "lower_bounds_"):  # scikit-learn >= 1.7
        np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)
    for name in FITTED:
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6,
                                   atol=1e-9, err_msg=name)
    np.testing.assert_allclose(ours.predict_proba(blobs), theirs.predict_proba(blobs),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.score_samples(blobs), theirs.score_samples(blobs),
                               rtol=1e-9)
    assert ours.bic(blobs) == pytest.approx(theirs.bic(blobs), rel=1e-10)
    assert ours.aic(blobs) == pytest.approx(theirs.aic(blobs), rel=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_agrees_with_sklearn_float64_and_stays_float32(blobs, covariance_type):
    options = dict(starting_values(blobs, covariance_type), tol=1e-6, max_iter=500,
                   reg_covar=1e-4)
    theirs = fit_quietly(GaussianMixture(3, **options), blobs)
    X32 = blobs.astype(np.float32)
    ours = fit_quietly(GaussianMixtureEM(3, **options), X32)
    for name in FITTED:
        value = getattr(ours, name)
        assert value.dtype == np.float32, name
        expected = getattr(theirs, name)
        # rtol 1e-4 on every entry; atol guards entries that are zero up to rounding
        np.testing.assert_allclose(value, expected, rtol=1e-4,
                                   atol=1e-6 * np.abs(expected).max(), err_msg=name)
    for method in ("predict_proba", "score_samples"):
        assert getattr(ours, method)(X32).dtype == np.float32
    assert ours.sample(5)[0].dtype == np.float32


# 2. Restarts in parallel ---------------------------------------------------------------
def test_n_jobs_does_not_change_the_model(blobs):
    models = [
        fit_quietly(GaussianMixtureEM(3, n_init=4, init_params="random", max_iter=20,
                                      random_state=3, n_jobs=n_jobs), blobs)
        for n_jobs in (1, 2, -1)
    ]
    for other in models[1:]:
        for name in FITTED + ["lower_bound_", "n_iter_", "converged_"]:
            np.testing.assert_array_equal(getattr(other, name), getattr(models[0], name))


def test_best_restart_wins(blobs):
    # The first restart seed does not depend on n_init, so more restarts can only help.
    single = fit_quietly(GaussianMixtureEM(3, init_params="random_from_data",
                                           random_state=11), blobs)
    many = fit_quietly(GaussianMixtureEM(3, init_params="random_from_data", n_init=6,
                                         random_state=11, n_jobs=2), blobs)
    assert many.lower_bound_ >= single.lower_bound_


@pytest.mark.parametrize("max_iter", [1, 2, 100])
def test_fit_predict_equals_fit_then_predict(blobs, max_iter):
    estimator = GaussianMixtureEM(3, max_iter=max_iter, init_params="random", random_state=0)
    labels = fit_quietly(clone(estimator), blobs).predict(blobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(clone(estimator).fit_predict(blobs), labels)


def test_convergence_warning_reaches_the_caller_from_workers(blobs):
    estimator = GaussianMixtureEM(3, n_init=2, max_iter=2, tol=0, n_jobs=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        estimator.fit(blobs)
    assert not estimator.converged_


# 3. Reaches the best known optimum -----------------------------------------------------
def test_reaches_mclust_optimum_on_iris():
    X = load_iris().data
    model = GaussianMixtureEM(3, covariance_type="full", n_init=10, tol=1e-6, max_iter=1000,
                              random_state=0, n_jobs=2).fit(X)
    total = model.score(X) * len(X)
    assert total >= -180.186  # R mclust VVV, G=3: -180.1858


# 4. Numerically sound ------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_second_moments_do_not_cancel_float32(covariance_type):
    X = np.array([[9999.0], [0.0]], dtype=np.float32)
    model = GaussianMixtureEM(2, covariance_type=covariance_type, reg_covar=0.1,
                              random_state=0).fit(X)
    np.testing.assert_allclose(model.covariances_, 0.1, rtol=0.01)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_small_variance_far_from_origin_float32(covariance_type):
    rng = np.random.RandomState(0)
    X = rng.normal(1e4, 0.01, size=(2000, 3)).astype(np.float32)
    model = GaussianMixtureEM(1, covariance_type=covariance_type, reg_covar=0.0,
                              random_state=0).fit(X)
    variances = {
        "full": lambda c: np.diagonal(c, axis1=1, axis2=2),
        "tied": np.diag,
        "diag": lambda c: c,
        "spherical": lambda c: c,
    }[covariance_type](model.covariances_)
    np.testing.assert_allclose(variances, 1e-4, rtol=0.1)
    exact = X.astype(np.float64).var(axis=0)
    if covariance_type == "spherical":
        exact = exact.mean()
    np.testing.assert_allclose(variances.ravel(), np.broadcast_to(exact, variances.size),
                               rtol=1e-3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", ["duplicates", "constant_feature", "n_equals_k"])
def test_degenerate_data_fit_without_nan(covariance_type, case):
    rng = np.random.RandomState(0)
    X = {
        "duplicates": np.repeat(rng.normal(size=(3, 2)), 10, axis=0),
        "constant_feature": np.column_stack([rng.normal(size=30), np.full(30, 7.0)]),
        "n_equals_k": rng.normal(size=(3, 2)),
    }[case]
    model = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(X)
    for name in FITTED + ["lower_bound_"]:
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_losing_all_points_stays_finite(blobs, covariance_type):
    options = starting_values(blobs, covariance_type)
    options["means_init"] = options["means_init"].copy()
    options["means_init"][2] = 1e4  # nothing is near this component
    model = fit_quietly(GaussianMixtureEM(3, max_iter=5, **options), blobs)
    assert model.weights_[2] < 1e-10
    for name in FITTED:
        assert np.all(np.isfinite(getattr(model, name))), name


def test_bad_input_errors_name_the_argument(blobs):
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixtureEM(5).fit(blobs[:4])
    for bad in (np.inf, -np.inf):  # NaN is a missing value (tests/test_mixture_missing.py)
        X = blobs.copy()
        X[0, 0] = bad
        with pytest.raises(ValueError, match="X"):
            GaussianMixtureEM(2).fit(X)
    with pytest.raises(ValueError, match="weights_init"):
        GaussianMixtureEM(3, weights_init=[0.5, 0.5]).fit(blobs)
    with pytest.raises(ValueError, match="weights_init"):
        GaussianMixtureEM(3, weights_init=[0.5, 0.5, 0.5]).fit(blobs)
    with pytest.raises(ValueError, match="means_init"):
        GaussianMixtureEM(3, means_init=np.zeros((3, 2))).fit(blobs)
    with pytest.raises(ValueError, match="precisions_init"):
        GaussianMixtureEM(3, precisions_init=np.ones((3, 3))).fit(blobs)
    not_pd = np.stack([np.eye(3), np.eye(3), -np.eye(3)])
    with pytest.raises(ValueError, match="precisions_init must be positive definite"):
        GaussianMixtureEM(3, precisions_init=not_pd).fit(blobs)
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixtureEM(covariance_type="banana").fit(blobs)
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixtureEM(0).fit(blobs)
    with pytest.raises(TypeError, match="max_iter"):
        GaussianMixtureEM(max_iter=1.5).fit(blobs)
    with pytest.raises(ValueError, match="sample_weight"):
        GaussianMixtureEM().fit(blobs, sample_weight=-np.ones(len(blobs)))
    with pytest.raises(NotFittedError):
        GaussianMixtureEM().predict(blobs)


def test_input_is_not_modified(blobs):
    X = blobs.copy()
    weights = np.ones(len(X))
    GaussianMixtureEM(3, random_state=0).fit(X, sample_weight=weights).predict_proba(X)
    np.testing.assert_array_equal(X, blobs)
    np.testing.assert_array_equal(weights, 1.0)


# sample_weight (scikit-learn issue 15647) ------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_duplicated_rows(blobs, covariance_type):
    rng = np.random.RandomState(0)
    counts = rng.randint(0, 4, size=len(blobs))
    options = dict(starting_values(blobs, covariance_type), tol=1e-8, max_iter=50)
    weighted = fit_quietly(GaussianMixtureEM(3, **options), blobs, sample_weight=counts)
    repeated = fit_quietly(GaussianMixtureEM(3, **options), np.repeat(blobs, counts, axis=0))
    removed = fit_quietly(GaussianMixtureEM(3, **options), blobs[counts > 0],
                          sample_weight=counts[counts > 0])
    for other in (repeated, removed):
        assert other.n_iter_ == weighted.n_iter_
        for name in FITTED + ["lower_bound_"]:
            np.testing.assert_allclose(getattr(weighted, name), getattr(other, name),
                                       rtol=1e-8, atol=1e-10, err_msg=name)


def test_weighted_kmeans_init_matches_duplicates(blobs):
    counts = np.random.RandomState(1).randint(1, 3, size=len(blobs))
    weighted = GaussianMixtureEM(3, random_state=0).fit(blobs, sample_weight=counts)
    repeated = GaussianMixtureEM(3, random_state=0).fit(np.repeat(blobs, counts, axis=0))
    np.testing.assert_allclose(np.sort(weighted.means_, axis=0),
                               np.sort(repeated.means_, axis=0), rtol=1e-6)


# max_iter=0 evaluates the start ------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_zero_returns_the_starting_values(blobs, covariance_type):
    options = starting_values(blobs, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = GaussianMixtureEM(3, max_iter=0, **options).fit(blobs)
    np.testing.assert_allclose(model.weights_, options["weights_init"])
    np.testing.assert_allclose(model.means_, options["means_init"], rtol=1e-12)
    np.testing.assert_allclose(model.precisions_, options["precisions_init"], rtol=1e-10)
    assert model.n_iter_ == 0 and np.isfinite(model.lower_bound_)
    assert model.lower_bound_ == pytest.approx(model.score(blobs), rel=1e-10)


def test_max_iter_zero_keeps_the_best_start(blobs):
    starts = [
        GaussianMixtureEM(3, max_iter=0, init_params="random_from_data", random_state=5,
                          n_init=n_init).fit(blobs).lower_bound_
        for n_init in (1, 8)
    ]
    assert starts[1] >= starts[0]
    best = GaussianMixtureEM(3, max_iter=0, init_params="random_from_data", random_state=5,
                             n_init=8).fit(blobs)
    assert best.lower_bound_ == pytest.approx(best.score(blobs), rel=1e-10)


# 5. A scikit-learn citizen -----------------------------------------------------------------
def test_drop_in_replacement_for_gaussian_mixture():
    ours = set(GaussianMixtureEM().get_params())
    theirs = set(GaussianMixture().get_params())
    # Ours adds restarts in parallel and the step sizes of partial_fit (streaming).
    assert ours == theirs | {"n_jobs", "learning_decay", "learning_offset"}
    for name in theirs:
        assert GaussianMixtureEM().get_params()[name] == GaussianMixture().get_params()[name]


def test_clone_pipeline_and_pickle(blobs):
    model = make_pipeline(StandardScaler(), GaussianMixtureEM(3, random_state=0))
    labels = model.fit(blobs).predict(blobs)
    np.testing.assert_array_equal(clone(model).fit(blobs).predict(blobs), labels)
    assert np.isfinite(model.score(blobs))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(blobs), labels)


@pytest.mark.parametrize("scoring", [None, "bic"])
def test_grid_search_over_components_and_covariance(blobs, scoring):
    def negative_bic(estimator, X, y=None):
        return -estimator.bic(X)

    search = GridSearchCV(
        GaussianMixtureEM(random_state=0),
        {"n_components": [1, 2, 3, 4], "covariance_type": COVARIANCE_TYPES},
        cv=3, scoring=None if scoring is None else negative_bic,
    ).fit(blobs)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["n_components"] >= 3


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases(blobs, covariance_type):
    options = dict(starting_values(blobs, covariance_type), reg_covar=0.0, tol=0,
                   max_iter=40)
    model = fit_quietly(GaussianMixtureEM(3, **options), blobs)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))

    stepper = GaussianMixtureEM(3, warm_start=True, max_iter=1, **{
        k: v for k, v in options.items() if k != "max_iter"})
    stepwise = []
    for _ in range(15):
        fit_quietly(stepper, blobs)
        stepwise.append(stepper.lower_bound_)
    np.testing.assert_allclose(stepwise, bounds[:15], rtol=1e-10)
    assert np.all(np.diff(stepwise) >= -1e-9 * np.abs(stepwise[1:]))


def test_warm_start_continues_from_fitted_parameters(blobs):
    cold = fit_quietly(GaussianMixtureEM(3, max_iter=6, tol=0, random_state=0), blobs)
    warm = GaussianMixtureEM(3, max_iter=3, tol=0, random_state=0, warm_start=True)
    fit_quietly(warm, blobs)
    fit_quietly(warm, blobs)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-10)


def test_sample_reproducible_and_shaped(blobs):
    model = GaussianMixtureEM(3, random_state=0).fit(blobs)
    X, labels = model.sample(50)
    assert X.shape == (50, 3) and labels.shape == (50,)
    np.testing.assert_array_equal(model.sample(50)[0], X)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)


def test_verbose_prints_progress(blobs, capsys):
    GaussianMixtureEM(3, verbose=2, verbose_interval=1, random_state=0).fit(blobs)
    out = capsys.readouterr().out
    assert "iteration 1" in out and "converged" in out
