"""GaussianMixtureSearch and the hierarchical start it uses by default."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from emlearn import GaussianMixtureEM, GaussianMixtureSearch
from emlearn._core import hierarchical

from mclust_reference import MCLUST_LOGLIK, TOLERANCE

DATA = {"iris": load_iris().data, "wine": load_wine().data,
        "breast_cancer": load_breast_cancer().data}
# mclust fits without regularization, to convergence.
AS_MCLUST = dict(reg_covar=0, tol=1e-6, max_iter=1000)


def search_log_likelihoods(name, n_components, covariance_types, **kwargs):
    """{(name, k, covariance_type): log-likelihood} of one search on a data set."""
    search = GaussianMixtureSearch(n_components, covariance_type=covariance_types,
                                   **AS_MCLUST, **kwargs).fit(DATA[name])
    r = search.results_
    return {(name, int(k), c): ll for k, c, ll in
            zip(r["param_n_components"], r["param_covariance_type"], r["log_likelihood"])}


def misses(log_likelihoods):
    """Cells below mclust's log-likelihood by more than the tolerance (NaN: a failed fit)."""
    return {cell: (ll, MCLUST_LOGLIK[cell]) for cell, ll in log_likelihoods.items()
            if not ll >= MCLUST_LOGLIK[cell] - TOLERANCE}


# -- reaching mclust's optima -------------------------------------------------------
def test_search_reaches_mclust_on_iris_three_components():
    found = search_log_likelihoods("iris", 3, ("full", "tied", "diag", "spherical"))
    assert misses(found) == {}


@pytest.mark.parametrize("name, n_components, covariance_type", [
    ("wine", 3, "full"),            # k-means starts stay 107 below (-2895.8)
    ("wine", 3, "tied"),
    ("breast_cancer", 2, "full"),   # k-means starts stay 532 below
    ("breast_cancer", 3, "diag"),
])
def test_search_reaches_mclust_where_kmeans_starts_do_not(name, n_components, covariance_type):
    assert misses(search_log_likelihoods(name, n_components, covariance_type)) == {}


@pytest.mark.slow
@pytest.mark.parametrize("n_init, required", [(1, 35), (10, 36)])
def test_search_reaches_mclust_on_36_cells(n_init, required):
    found = {}
    for name in DATA:
        found.update(search_log_likelihoods(name, (2, 3, 4), ("full", "tied", "diag", "spherical"),
                                            n_init=n_init, random_state=0))
    assert len(found) == 36
    assert len(found) - len(misses(found)) >= required, misses(found)


# -- the hierarchical start ---------------------------------------------------------
def test_hierarchical_start_is_deterministic_and_ignores_random_state():
    X = DATA["wine"]
    fits = [GaussianMixtureEM(3, init_params="hierarchical", random_state=seed, **AS_MCLUST).fit(X)
            for seed in (0, 1)]
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)
    assert fits[0].score(X) * len(X) >= MCLUST_LOGLIK["wine", 3, "full"] - TOLERANCE


def test_integer_sample_weights_act_as_repeated_rows():
    X = DATA["iris"][::3]
    weights = np.arange(len(X)) % 3 + 1.0
    repeated = np.repeat(X, weights.astype(int), axis=0)
    first_copy = np.cumsum(weights.astype(int)) - weights.astype(int)
    for k in (2, 3, 5):
        weighted = hierarchical.hierarchical_labels(X, k, weights)
        unweighted = hierarchical.hierarchical_labels(repeated, k)[first_copy]
        np.testing.assert_array_equal(weighted, unweighted)


def test_zero_weight_rows_are_labelled_but_do_not_shape_the_tree():
    X = DATA["iris"]
    weights = np.ones(len(X))
    weights[::10] = 0
    labels = hierarchical.hierarchical_labels(X, 3, weights)
    assert labels.shape == (len(X),) and set(labels) == {0, 1, 2}
    kept = weights > 0
    np.testing.assert_array_equal(labels[kept], hierarchical.hierarchical_labels(X[kept], 3))


def test_large_data_is_agglomerated_on_a_fixed_subsample(monkeypatch):
    monkeypatch.setattr(hierarchical, "MAX_SAMPLES", 60)
    monkeypatch.setattr(hierarchical, "_CACHE", type(hierarchical._CACHE)())
    X = DATA["iris"]
    first = hierarchical.hierarchical_labels(X + 0.0, 3)
    hierarchical._CACHE.clear()
    again = hierarchical.hierarchical_labels(X + 0.0, 3)
    np.testing.assert_array_equal(first, again)
    assert np.bincount(first).min() >= 10  # every row placed, clusters not degenerate
    fit = GaussianMixtureEM(3, init_params="hierarchical", tol=1e-6, max_iter=1000).fit(X)
    assert fit.score(X) * len(X) >= MCLUST_LOGLIK["iris", 3, "full"] - TOLERANCE


def brute_force_merges(Z):
    """Greedy agglomeration recomputing every pair's cost from the rows (slow, obvious)."""
    n, d = Z.shape
    floor = hierarchical.ridge_floor(Z, np.ones(n))

    def cost(rows):
        points = Z[rows]
        scatter = (points - points.mean(axis=0)).T @ (points - points.mean(axis=0))
        gamma = hierarchical.ridge(floor, np.trace(scatter))
        return len(rows) * np.linalg.slogdet((scatter + gamma * np.eye(d)) / len(rows))[1]

    clusters = {i: [i] for i in range(n)}
    merges = []
    while len(clusters) > 1:
        names = sorted(clusters)
        _, a, b = min((cost(clusters[a] + clusters[b]) - cost(clusters[a]) - cost(clusters[b]),
                       a, b) for i, a in enumerate(names) for b in names[i + 1:])
        clusters[a] += clusters.pop(b)
        merges.append((a, b))
    return np.array(merges)


def test_merge_tree_matches_brute_force_agglomeration():
    Z = np.random.RandomState(0).normal(size=(25, 3)) * [1.0, 2.0, 0.5]
    np.testing.assert_array_equal(hierarchical.merge_tree(Z), brute_force_merges(Z))


def test_cut_tree_gives_the_requested_number_of_clusters():
    Z = np.random.RandomState(1).normal(size=(30, 2))
    merges = hierarchical.merge_tree(Z)
    for k in (1, 2, 7, 30):
        assert len(set(hierarchical.cut_tree(merges, 30, k))) == k


# -- the search ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris_search():
    search = GaussianMixtureSearch(n_components=(1, 2, 3), n_init=2, random_state=0)
    return search.fit(DATA["iris"])


def test_results_are_a_table_of_equal_length_columns(iris_search):
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(iris_search.results_)
    assert len(table) == 12
    assert {"param_n_components", "param_covariance_type", "bic", "icl", "aic",
            "log_likelihood", "n_parameters", "n_iter", "converged", "fit_time",
            "error"} <= set(table.columns)
    assert (table["error"] == "").all() and table["converged"].all()


def test_criteria_are_those_of_the_best_model(iris_search):
    X, best, i = DATA["iris"], iris_search.best_estimator_, iris_search.best_index_
    r = iris_search.results_
    resp = best.predict_proba(X)
    entropy = -np.sum(resp * np.log(np.clip(resp, 1e-300, None)))
    assert r["bic"][i] == pytest.approx(best.bic(X))
    assert r["aic"][i] == pytest.approx(best.aic(X))
    assert r["icl"][i] == pytest.approx(best.bic(X) + 2 * entropy)
    assert r["log_likelihood"][i] == pytest.approx(best.score(X) * len(X))
    assert i == np.argmin(r["bic"])
    assert iris_search.best_params_ == {
        "n_components": best.n_components, "covariance_type": best.covariance_type}


@pytest.mark.parametrize("criterion", ["aic", "icl"])
def test_the_criterion_chooses_the_model(criterion):
    search = GaussianMixtureSearch((1, 2, 3, 4), criterion=criterion).fit(DATA["iris"])
    scores = search.results_[criterion]
    assert search.best_index_ == np.argmin(scores)
    assert np.all(search.results_["icl"] >= search.results_["bic"])
    if criterion == "aic":  # AIC penalizes parameters less than BIC's choice, 2 full
        assert search.best_params_ != {"n_components": 2, "covariance_type": "full"}


def test_methods_delegate_to_the_best_model(iris_search):
    X, best = DATA["iris"][:20], iris_search.best_estimator_
    np.testing.assert_array_equal(iris_search.predict(X), best.predict(X))
    np.testing.assert_allclose(iris_search.predict_proba(X), best.predict_proba(X))
    np.testing.assert_allclose(iris_search.score_samples(X), best.score_samples(X))
    assert iris_search.score(X) == best.score(X)
    assert iris_search.sample(5)[0].shape == (5, 4)


def test_result_does_not_depend_on_n_jobs():
    kwargs = dict(n_components=(2, 3), covariance_type=("full", "diag"), n_init=3,
                  init_params="hierarchical", random_state=0)
    serial = GaussianMixtureSearch(n_jobs=1, **kwargs).fit(DATA["iris"]).results_
    parallel = GaussianMixtureSearch(n_jobs=2, **kwargs).fit(DATA["iris"]).results_
    for column in serial:
        if column != "fit_time":
            np.testing.assert_array_equal(serial[column], parallel[column], err_msg=column)


def test_a_failed_fit_is_a_row_and_does_not_stop_the_search():
    X = DATA["iris"][:6]
    search = GaussianMixtureSearch(n_components=(1, 8), covariance_type="full").fit(X)
    r = search.results_
    assert np.isnan(r["bic"][1]) and np.isnan(r["log_likelihood"][1])
    assert "n_samples >= n_components" in r["error"][1]
    assert search.best_params_ == {"n_components": 1, "covariance_type": "full"}


def test_all_fits_failing_is_an_error():
    with pytest.raises(ValueError, match="Every model of the search failed"):
        GaussianMixtureSearch(n_components=(7, 8)).fit(DATA["iris"][:6])


@pytest.mark.parametrize("params, error, match", [
    (dict(criterion="loglik"), ValueError, "criterion"),
    (dict(n_components=()), ValueError, "n_components"),
    (dict(n_components=(0, 2)), ValueError, "n_components"),
    (dict(n_components=2.5), TypeError, "n_components"),
    (dict(covariance_type="banded"), ValueError, "covariance_type"),
    (dict(init_params="ward"), ValueError, "init_params"),
    (dict(n_init=0), ValueError, "n_init"),
    (dict(n_jobs=0), ValueError, "n_jobs"),
])
def test_invalid_parameters_are_named(params, error, match):
    with pytest.raises(error, match=match):
        GaussianMixtureSearch(**params).fit(DATA["iris"])


def test_summary_reports_the_best_model(iris_search):
    text = iris_search.summary()
    i = iris_search.best_index_
    assert "selected by BIC among 12 models" in text
    assert "2 components, full covariances (mclust VVV)" in text
    assert f"{iris_search.results_['log_likelihood'][i]:.3f}" in text
    assert "50 100" in text  # cluster sizes
    assert text.count("components, ") >= 4  # the best plus the top three
