"""GaussianMixtureEM with missing values (NaN): marginal densities, EM, the unchanged fast path."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from emlearn import GaussianMixtureEM
from emlearn._core.em import fit_restarts
from emlearn._core.families import GaussianFamily
from emlearn._core.families import missing as missing_module
from emlearn._core.families.gaussian import CenteredData
from emlearn._core.mixture_model import MixtureModel

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=300, n_features=4, centers=3, random_state=1)
    return X @ np.array([[1.0, 0.4, 0.0, 0.2], [0.0, 1.0, 0.3, 0.0],
                         [0.2, 0.0, 1.0, 0.5], [0.0, 0.1, 0.0, 1.0]])


@pytest.fixture(scope="module")
def holes(blobs):
    """The blobs with 30% of the entries missing, one row all missing, none complete."""
    rng = np.random.RandomState(0)
    X = blobs.copy()
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    X[np.arange(len(X)), rng.randint(0, X.shape[1], len(X))] = np.nan
    X[7] = np.nan
    return X


def fit_quietly(estimator, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, **fit_params)


def dense_covariance(model, k):
    covariances = model.covariances_
    return {
        "full": lambda: covariances[k],
        "tied": lambda: covariances,
        "diag": lambda: np.diag(covariances[k]),
        "spherical": lambda: covariances[k] * np.eye(model.means_.shape[1]),
    }[model.covariance_type]()


def brute_force_log_prob(model, X):
    """log(w_k) + log N(x_o | k) for every row and component, with scipy."""
    out = np.zeros((len(X), model.n_components))
    for k in range(model.n_components):
        covariance = dense_covariance(model, k)
        for i, x in enumerate(X):
            o = ~np.isnan(x)
            if o.any():
                out[i, k] = multivariate_normal(
                    model.means_[k, o], covariance[np.ix_(o, o)]).logpdf(x[o])
    return out + np.log(model.weights_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_densities_and_posteriors_marginalize_missing_entries(holes, covariance_type):
    model = fit_quietly(GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=5,
                                          random_state=0), holes)
    log_prob = brute_force_log_prob(model, holes)
    total = np.logaddexp.reduce(log_prob, axis=1)
    np.testing.assert_allclose(model.score_samples(holes), total, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.predict_proba(holes), np.exp(log_prob - total[:, None]),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(model.predict(holes), np.argmax(log_prob, axis=1))
    assert model.score(holes) == pytest.approx(total.mean(), rel=1e-12)
    n_parameters = model._n_parameters()
    assert model.bic(holes) == pytest.approx(
        -2 * total.sum() + n_parameters * np.log(len(holes)), rel=1e-12)
    assert model.aic(holes) == pytest.approx(-2 * total.sum() + 2 * n_parameters, rel=1e-12)


def test_all_missing_row_carries_no_information(holes):
    model = GaussianMixtureEM(3, random_state=0).fit(holes)
    empty = np.full((2, holes.shape[1]), np.nan)
    assert model.score_samples(empty).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(model.predict_proba(empty), np.tile(model.weights_, (2, 1)),
                               rtol=1e-12)
    # In an EM step, m all-missing rows add each component's own mean with
    # weight m * w_k: the step on the other rows, damped towards the current
    # parameters (so the maximum-likelihood fixed point does not move).
    kept = holes[np.isfinite(holes).any(axis=1)]
    m = 5
    start = dict(weights_init=model.weights_, means_init=model.means_,
                 precisions_init=model.precisions_, max_iter=1)
    step = fit_quietly(GaussianMixtureEM(3, **start), kept)
    damped = fit_quietly(GaussianMixtureEM(3, **start),
                         np.vstack([kept, np.full((m, holes.shape[1]), np.nan)]))
    nk = step.weights_ * len(kept)
    np.testing.assert_allclose(damped.weights_, (nk + m * model.weights_) / (len(kept) + m),
                               rtol=1e-10)
    share = (nk / (nk + m * model.weights_))[:, None]
    np.testing.assert_allclose(damped.means_, share * step.means_ + (1 - share) * model.means_,
                               rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_components", [1, 3])
def test_observed_data_log_likelihood_never_decreases(holes, covariance_type, n_components):
    model = fit_quietly(GaussianMixtureEM(n_components, covariance_type=covariance_type,
                                          reg_covar=0.0, tol=0.0, max_iter=60,
                                          init_params="random", random_state=2), holes)
    bounds = np.array(model.lower_bounds_)
    assert bounds[-1] - bounds[0] > 0.05  # EM made progress from its start
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    # The reported bound is the observed-data log-likelihood of the parameters the
    # last E-step saw: one more iteration from the fitted model cannot do worse.
    assert model.score(holes) >= bounds[-1] - 1e-9 * abs(bounds[-1])


def test_complete_data_take_the_unchanged_fast_path(blobs, monkeypatch):
    options = dict(n_init=2, random_state=0, tol=1e-6, max_iter=200)
    family = GaussianFamily("full", 1e-6)
    data = CenteredData.from_data(blobs)
    run = fit_restarts(MixtureModel(3, family, "kmeans"), data, n_init=2, random_state=0,
                       tol=1e-6, max_iter=200)

    def no_incomplete_data(*args, **kwargs):
        raise AssertionError("complete data must not be grouped by pattern")

    monkeypatch.setattr(missing_module.IncompleteData, "__init__", no_incomplete_data)
    model = GaussianMixtureEM(3, **options).fit(blobs)
    model.predict_proba(blobs)
    np.testing.assert_array_equal(model.means_, run.params.components["means"])
    np.testing.assert_array_equal(model.covariances_, run.params.components["covariances"])
    assert model.lower_bound_ == run.lower_bound


def test_missing_values_allowed_infinite_values_refused(holes):
    model = GaussianMixtureEM(2, random_state=0)
    assert model.__sklearn_tags__().input_tags.allow_nan
    X = holes.copy()
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.fit(X)
    model.fit(holes)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict(X)


def test_column_without_observed_value_is_a_clear_error(holes):
    X = holes.copy()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"no observed value in column\(s\) \[2\]"):
        GaussianMixtureEM(2).fit(X)
    weights = np.ones(len(X))
    weights[np.isfinite(holes[:, 0])] = 0.0  # column 0 observed only in zero-weight rows
    with pytest.raises(ValueError, match=r"column\(s\) \[0, 2\]"):
        GaussianMixtureEM(2).fit(X, sample_weight=weights)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_duplicated_rows_with_missing_values(holes, covariance_type):
    counts = np.random.RandomState(1).randint(0, 3, size=len(holes))
    options = dict(covariance_type=covariance_type, tol=1e-8, max_iter=30,
                   init_params="random_from_data", random_state=0)
    weighted = fit_quietly(GaussianMixtureEM(3, **options), holes, sample_weight=counts)
    start = dict(weights_init=weighted.weights_, means_init=weighted.means_,
                 precisions_init=weighted.precisions_)
    weighted = fit_quietly(GaussianMixtureEM(3, **options, **start), holes,
                           sample_weight=counts)
    repeated = fit_quietly(GaussianMixtureEM(3, **options, **start),
                           np.repeat(holes, counts, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    for name in FITTED + ["lower_bound_"]:
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name),
                                   rtol=1e-8, atol=1e-10, err_msg=name)


def test_restarts_and_n_jobs_with_missing_values(holes):
    models = [
        fit_quietly(GaussianMixtureEM(3, n_init=3, max_iter=10, init_params="random",
                                      random_state=4, n_jobs=n_jobs), holes)
        for n_jobs in (1, 2)
    ]
    for name in FITTED + ["lower_bound_", "n_iter_"]:
        np.testing.assert_array_equal(getattr(models[1], name), getattr(models[0], name))
    labels = GaussianMixtureEM(3, random_state=0).fit_predict(holes)
    np.testing.assert_array_equal(
        GaussianMixtureEM(3, random_state=0).fit(holes).predict(holes), labels)


def test_no_complete_row_and_float32(holes):
    assert not np.isfinite(holes).all(axis=1).any()
    model = GaussianMixtureEM(3, random_state=0).fit(holes.astype(np.float32))
    for name in FITTED:
        value = getattr(model, name)
        assert value.dtype == np.float32 and np.all(np.isfinite(value)), name
    assert model.score_samples(holes.astype(np.float32)).dtype == np.float32
    reference = GaussianMixtureEM(3, random_state=0).fit(holes)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-4, atol=1e-4)


def test_warm_start_with_missing_values(holes):
    cold = fit_quietly(GaussianMixtureEM(2, max_iter=6, tol=0, random_state=0), holes)
    warm = GaussianMixtureEM(2, max_iter=3, tol=0, random_state=0, warm_start=True)
    fit_quietly(warm, holes)
    fit_quietly(warm, holes)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-10)


def test_rows_grouped_part_by_part_give_the_same_fit(holes, monkeypatch):
    """Large data are grouped by pattern part by part at each E-step (bounded memory):
    the same fit, the same posteriors and imputations as grouping all rows once."""
    from emlearn import EMImputer
    from emlearn._core.families import gaussian

    options = dict(n_components=3, tol=1e-10, max_iter=30, random_state=0)
    reference = GaussianMixtureEM(**options).fit(holes)
    imputed = EMImputer(2, tol=1e-10, random_state=0).fit_transform(holes)
    monkeypatch.setattr(gaussian, "STREAM_BYTES", 0)  # every NaN data set streams
    monkeypatch.setattr(missing_module, "PART_ROWS", 70)  # 300 rows: five parts
    data = GaussianFamily("full").prepare(holes, n_components=3)
    assert isinstance(data, missing_module.StreamedIncompleteData)
    assert [offset for offset, _ in data.parts()] == [0, 70, 140, 210, 280]
    streamed = GaussianMixtureEM(**options).fit(holes)
    assert streamed.n_iter_ == reference.n_iter_
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(reference, name),
                                   rtol=1e-10, atol=1e-12)
    assert streamed.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(streamed.predict_proba(holes), reference.predict_proba(holes),
                               atol=1e-10)
    np.testing.assert_allclose(EMImputer(2, tol=1e-10, random_state=0).fit_transform(holes),
                               imputed, rtol=1e-9)


def test_grouping_part_by_part_bounds_the_memory_of_a_fit(monkeypatch):
    import tracemalloc

    from emlearn._core.families import gaussian

    rng = np.random.RandomState(3)
    X = rng.normal(size=(200_000, 8))
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    options = dict(n_components=2, max_iter=2, tol=0, random_state=0,  # no data-driven start
                   means_init=np.zeros((2, 8)) + [[0.0], [1.0]], weights_init=[0.5, 0.5],
                   precisions_init=np.stack([np.eye(8)] * 2))

    def peak_of_fit():
        tracemalloc.start()
        GaussianMixtureEM(**options).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak / X.nbytes

    grouped_once = peak_of_fit()
    monkeypatch.setattr(gaussian, "STREAM_BYTES", 0)
    monkeypatch.setattr(missing_module, "PART_ROWS", 8192)  # 1/25 of the rows
    part_by_part = peak_of_fit()
    assert grouped_once > 1.5  # the grouped copies of all rows
    assert part_by_part < 0.8  # a part at a time (and sklearn's input checks)
