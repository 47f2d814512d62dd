"""The Gaussian family: log-densities, additive statistics, M-step, parametrizations."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emlearn._core.families.covariance import COVARIANCE_TYPES, covariance_type
from emlearn._core.families.gaussian import CenteredData, GaussianStatistics

import gaussian_cases  # tests/core's shared helpers

K, D = 3, 4


def random_covariances(name, rng):
    return gaussian_cases.random_covariances(name, rng, K, D, ridge=D)


def dense(name, covariances, k):
    return gaussian_cases.dense(name, covariances, k, D)


def statistics_of(family, X):
    return family.statistics(np.ascontiguousarray(X.T))


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_log_density_matches_scipy(name):
    rng = np.random.RandomState(0)
    family = covariance_type(name)
    means = rng.normal(size=(K, D))
    covariances = random_covariances(name, rng)
    theta, const = family.natural_parameters(means, family.precisions_cholesky(covariances))
    X = rng.normal(size=(20, D)) * 3
    log_prob = theta @ statistics_of(family, X) + const[:, None]
    for k in range(K):
        expected = multivariate_normal(means[k], dense(name, covariances, k)).logpdf(X)
        np.testing.assert_allclose(log_prob[k], expected, rtol=1e-12)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_statistics_are_additive_over_row_chunks(name):
    rng = np.random.RandomState(1)
    family = covariance_type(name)
    X = rng.normal(size=(50, D))
    resp = rng.dirichlet(np.ones(K), size=50).T
    shift = X.mean(axis=0)

    def stats_of_rows(rows, chunk_size):
        data = CenteredData(X[rows], shift, chunk_size=chunk_size)
        stats = GaussianStatistics.zeros(K, family.n_statistics(D))
        for start, stop, T in data.chunks(family):
            stats.add(resp[:, rows][:, start:stop], T)
        return stats

    whole = stats_of_rows(slice(0, 50), chunk_size=50)
    chunked = stats_of_rows(slice(0, 50), chunk_size=7)
    split = stats_of_rows(slice(0, 20), 50) + stats_of_rows(slice(20, 50), 50)
    for other in (chunked, split):
        np.testing.assert_allclose(other.nk, whole.nk, rtol=1e-13)
        np.testing.assert_allclose(other.moments, whole.moments, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_estimate_is_weighted_mean_and_covariance(name):
    rng = np.random.RandomState(2)
    family = covariance_type(name)
    X = rng.normal(size=(40, D)) @ rng.normal(size=(D, D)) + 5.0
    resp = rng.dirichlet(np.ones(K), size=40).T
    T = statistics_of(family, X)
    means, covariances = family.estimate(resp.sum(axis=1), resp @ T.T, reg_covar=0.0)
    expected_means = resp @ X / resp.sum(axis=1)[:, None]
    np.testing.assert_allclose(means, expected_means, rtol=1e-10)
    per_component = np.stack(
        [np.cov(X.T, aweights=resp[k], bias=True) for k in range(K)]
    )
    expected = {
        "full": per_component,
        "tied": np.einsum("k,kij->ij", resp.sum(axis=1), per_component) / 40,
        "diag": np.diagonal(per_component, axis1=1, axis2=2),
        "spherical": np.diagonal(per_component, axis1=1, axis2=2).mean(axis=1),
    }[name]
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_estimate_around_fixed_means(name):
    rng = np.random.RandomState(3)
    family = covariance_type(name)
    X = rng.normal(size=(30, D))
    resp = np.ones((1, 30))
    fixed = np.full((1, D), 0.5)
    T = statistics_of(family, X)
    _, around_fixed = family.estimate(resp.sum(axis=1), resp @ T.T, 0.0, means=fixed)
    centered = X - fixed
    full = centered.T @ centered / 30
    expected = {
        "full": full[None],
        "tied": full,
        "diag": np.diag(full)[None],
        "spherical": np.array([np.diag(full).mean()]),
    }[name]
    np.testing.assert_allclose(around_fixed, expected, rtol=1e-12)


def test_reg_covar_added_once_and_empty_component_is_finite():
    family = covariance_type("full")
    moments = np.zeros((2, family.n_statistics(2)))
    moments[0] = [4.0, 0.0, 4.0, 0.0, 0.0]  # x1^2, x1 x2, x2^2, x1, x2 over 4 rows
    means, covariances = family.estimate(np.array([4.0, 0.0]), moments, reg_covar=0.5)
    np.testing.assert_allclose(covariances[0], np.eye(2) * 1.5)
    np.testing.assert_allclose(covariances[1], np.eye(2) * 0.5)
    assert np.all(np.isfinite(means))


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_parametrizations_round_trip(name):
    rng = np.random.RandomState(4)
    family = covariance_type(name)
    covariances = random_covariances(name, rng)
    chol = family.precisions_cholesky(covariances)
    precisions = family.precisions(chol)
    np.testing.assert_allclose(family.precisions_cholesky_from_precisions(precisions), chol,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(family.covariances_from_precisions_cholesky(chol), covariances,
                               rtol=1e-10)
    if name in ("full", "tied"):
        assert np.allclose(np.tril(chol, -1), 0)  # upper triangular, as scikit-learn


def test_check_matrices_names_the_argument():
    full = covariance_type("full")
    with pytest.raises(ValueError, match="precisions_init.*shape"):
        full.check_matrices(np.eye(2), 2, 2, "precisions_init")
    with pytest.raises(ValueError, match="precisions_init must be positive definite"):
        full.check_matrices(np.stack([np.eye(2), -np.eye(2)]), 2, 2, "precisions_init")
    with pytest.raises(ValueError, match="precisions_init must be symmetric"):
        full.check_matrices(np.array([[[1.0, 0.5], [0.0, 1.0]]]), 1, 2, "precisions_init")
    with pytest.raises(ValueError, match="strictly positive"):
        covariance_type("diag").check_matrices(np.zeros((1, 2)), 1, 2, "precisions_init")


def test_singular_covariance_is_a_clear_error():
    with pytest.raises(ValueError, match="reg_covar"):
        covariance_type("full").precisions_cholesky(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="reg_covar"):
        covariance_type("spherical").precisions_cholesky(np.array([0.0]))
    with pytest.raises(ValueError, match="covariance_type"):
        covariance_type("banana")


def test_n_parameters():
    assert covariance_type("full").n_parameters(3, 4) == 30
    assert covariance_type("tied").n_parameters(3, 4) == 10
    assert covariance_type("diag").n_parameters(3, 4) == 12
    assert covariance_type("spherical").n_parameters(3, 4) == 3


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_sample_has_the_fitted_moments(name):
    rng = np.random.RandomState(5)
    family = covariance_type(name)
    covariances = random_covariances(name, rng)
    draws = family.sample(np.random.RandomState(0), np.ones(D), covariances, 1, 200_000)
    np.testing.assert_allclose(np.cov(draws.T), dense(name, covariances, 1), atol=0.05 * D)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_dense_views_and_second_order_from_outer(name):
    # The missing-data E-step works on dense matrices and packs summed outer
    # products into the family's statistics: both must agree with the layouts.
    rng = np.random.RandomState(6)
    family = covariance_type(name)
    covariances = random_covariances(name, rng)
    dense_covariances = family.dense(covariances, D)
    for k in range(K):
        np.testing.assert_array_equal(dense_covariances[min(k, len(dense_covariances) - 1)],
                                      dense(name, covariances, k))
    X = rng.normal(size=(7, D))
    outer = np.einsum("ni,nj->ij", X, X)[None]
    q = family.n_second_order(D)
    np.testing.assert_allclose(family.second_order_from_outer(outer)[0],
                               statistics_of(family, X)[:q].sum(axis=1), rtol=1e-12)
