"""What a demanding user tries: shared arrays, bad arguments, threads, collapsing restarts."""

import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

from emlearn import HMMEM, EMImputer, GaussianMixtureEM


def blobs(seed=0, n=120):
    rng = np.random.RandomState(seed)
    return np.vstack([rng.normal(size=(n // 2, 2)), rng.normal(size=(n // 2, 2)) + 5.0])


def arrays_of(estimator):
    """Fitted array attributes (the constructor's parameters are the caller's own)."""
    return {name: value for name, value in vars(estimator).items()
            if isinstance(value, np.ndarray) and name.endswith("_")}


def assert_owns_its_attributes(estimator, arguments):
    for name, value in arrays_of(estimator).items():
        for argument_name, argument in arguments.items():
            assert not np.shares_memory(value, argument), (name, argument_name)


@pytest.mark.parametrize("max_iter", [0, 5])
def test_no_fitted_attribute_shares_memory_with_an_argument(max_iter):
    X = blobs()
    mixture_arguments = dict(
        weights_init=np.array([0.5, 0.5]),
        means_init=np.array([[0.0, 0.0], [5.0, 5.0]]),
        precisions_init=np.stack([np.eye(2), np.eye(2)]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixture = GaussianMixtureEM(2, max_iter=max_iter, **mixture_arguments).fit(X)
    assert_owns_its_attributes(mixture, {**mixture_arguments, "X": X})

    chain = dict(startprob_init=np.array([0.5, 0.5]),
                 transmat_init=np.array([[0.9, 0.1], [0.1, 0.9]]),
                 startprob_prior=np.array([1.0, 1.0]),
                 transmat_prior=np.ones((2, 2)))
    emissions = {
        "gaussian": (X, dict(means_init=np.array([[0.0, 0.0], [5.0, 5.0]]),
                             covariances_init=np.ones((2, 2)),
                             means_prior=np.zeros((2, 2)), means_weight=np.ones(2),
                             covars_prior=np.full((2, 2), 0.1))),
        "categorical": (np.array([[0], [1], [2], [1]] * 10),
                        dict(emissionprob_init=np.full((2, 3), 1 / 3),
                             emissionprob_prior=np.ones((2, 3)))),
        "poisson": (np.array([[1, 3], [0, 4], [2, 8]] * 10),
                    dict(rates_init=np.array([[1.0, 3.0], [2.0, 6.0]]),
                         lambdas_prior=np.array([[1.0, 1.0], [2.0, 2.0]]),
                         lambdas_weight=np.array([0.5, 0.5]))),
    }
    for emission, (data, arguments) in emissions.items():
        all_arguments = {**chain, **arguments}
        fixed = ("startprob", "transmat")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = HMMEM(2, emission=emission, max_iter=max_iter, fixed_params=fixed,
                          **all_arguments).fit(data)
        assert_owns_its_attributes(model, {**all_arguments, "X": data})
        before = {name: value.copy() for name, value in all_arguments.items()}
        for value in all_arguments.values():
            value[...] = 0.5  # the caller reuses its arrays
        for name, value in arrays_of(model).items():
            assert np.all(np.isfinite(value)), name
        for name, value in before.items():
            assert value.shape == all_arguments[name].shape

    imputer_X = X.copy()
    imputer_X[::7, 0] = np.nan
    bounds = dict(min_value=np.array([-100.0, -100.0]), max_value=np.array([100.0, 100.0]))
    imputer = EMImputer(**bounds).fit(imputer_X)
    assert_owns_its_attributes(imputer, {**bounds, "X": imputer_X})


def test_starting_covariances_are_checked_like_precisions():
    X = blobs()
    for bad, message in ((np.array([[[1.0, 0.5], [0.0, 1.0]]] * 2), "symmetric"),
                         (np.array([[[1.0, 2.0], [2.0, 1.0]]] * 2), "positive definite")):
        with pytest.raises(ValueError, match=f"covariances_init must be {message}"):
            HMMEM(2, covariance_type="full", covariances_init=bad).fit(X)
        with pytest.raises(ValueError, match=f"precisions_init must be {message}"):
            GaussianMixtureEM(2, precisions_init=bad).fit(X)


def test_a_huge_symbol_is_a_quick_clear_error():
    X = np.array([[0], [1], [10**9], [1], [0]])
    start = time.perf_counter()
    with pytest.raises(ValueError, match="n_symbols"):
        HMMEM(2, emission="categorical").fit(X)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ValueError, match="OrdinalEncoder"):
        HMMEM(2, emission="categorical").fit(X)


@pytest.mark.parametrize("change", [{"n_components": 3}, {"covariance_type": "diag"}])
def test_warm_start_after_a_structural_change_names_the_parameter(change):
    X = blobs()
    model = GaussianMixtureEM(2, warm_start=True, random_state=0).fit(X)
    model.set_params(**change)
    (name,) = change
    with pytest.raises(ValueError, match=name):
        model.fit(X)


def test_bad_random_state_and_string_priors_name_the_parameter():
    X = blobs()
    for estimator in (GaussianMixtureEM(2, random_state="seed"), HMMEM(2, random_state="seed"),
                      EMImputer(random_state="seed")):
        with pytest.raises(ValueError, match="random_state"):
            estimator.fit(X)
    for name in ("startprob_prior", "transmat_prior", "emissionprob_prior"):
        with pytest.raises((TypeError, ValueError), match=name):
            HMMEM(2, **{name: "flat"}).fit(X)
    with pytest.raises(TypeError, match="means_init"):
        GaussianMixtureEM(2, means_init=[["a", "b"], ["c", "d"]]).fit(X)
    with pytest.raises(ValueError, match="random_state"):
        HMMEM(2, random_state=0).fit(X).sample(5, random_state="seed")


def blas_threads():
    return [(entry["internal_api"], entry["num_threads"]) for entry in threadpool_info()
            if entry["user_api"] == "blas"]


def test_predicting_from_many_threads_at_once():
    rng = np.random.RandomState(1)
    X = blobs(seed=1, n=400)
    holes = X.copy()
    holes[rng.uniform(size=X.shape) < 0.2] = np.nan
    mixture = GaussianMixtureEM(2, random_state=0).fit(holes)
    hmm = HMMEM(2, random_state=0).fit(holes, lengths=[200, 200])
    jobs = [
        lambda: mixture.predict_proba(holes),
        lambda: mixture.score_samples(holes),
        lambda: hmm.predict_proba(holes, lengths=[200, 200]),
        lambda: hmm.predict(holes, lengths=[200, 200]),
    ]
    expected = [job() for job in jobs]
    before = blas_threads()
    results = [[None] * len(jobs) for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        for _ in range(5):
            for j, job in enumerate(jobs):
                results[i][j] = job()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for row in results:
        for got, want in zip(row, expected):
            np.testing.assert_array_equal(got, want)
    assert blas_threads() == before


def collapsing_data():
    """Four copies of one point far from two clusters: a k-means start that gives
    the copies a component of their own collapses it (no ridge); most do not."""
    rng = np.random.RandomState(2)
    return np.vstack([np.tile([[8.0, 8.0]], (4, 1)), rng.normal(size=(60, 2)),
                      rng.normal(size=(60, 2)) + [4.0, 0.0]])


def test_a_collapsing_restart_is_dropped_with_a_warning():
    X = collapsing_data()
    outcomes = []
    for seed in range(20):  # alone, some starts collapse and some do not
        try:
            GaussianMixtureEM(2, reg_covar=0.0, random_state=seed, max_iter=200).fit(X)
            outcomes.append(True)
        except ValueError as error:
            assert "positive definite" in str(error)
            outcomes.append(False)
    assert any(outcomes) and not all(outcomes)
    options = dict(reg_covar=0.0, n_init=20, random_state=0, max_iter=200)
    with pytest.warns(UserWarning, match=r"restart\(s\) failed and were dropped"):
        model = GaussianMixtureEM(2, **options).fit(X)
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.covariances_))
    # The same seeds with n_jobs=2: the same survivors, the same model.
    with pytest.warns(UserWarning, match="dropped"):
        other = GaussianMixtureEM(2, n_jobs=2, **options).fit(X)
    np.testing.assert_array_equal(other.means_, model.means_)


def test_when_every_restart_fails_fit_raises():
    X = np.tile([[1.0, 2.0]], (20, 1))
    with pytest.raises(ValueError, match="positive definite"):
        GaussianMixtureEM(2, reg_covar=0.0, n_init=3, random_state=0).fit(X)
