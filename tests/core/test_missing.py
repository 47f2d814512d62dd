"""The missing-data E-step: brute-force oracles per row, exact padding, additive statistics."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emlearn._core.families import missing as missing_module
from emlearn._core.families.covariance import COVARIANCE_TYPES, covariance_type
from emlearn._core.families.gaussian import GaussianStatistics
from emlearn._core.families.missing import (
    ConditionalGaussians,
    ExpectedMoments,
    IncompleteData,
    _bucket_sizes,
    _lower_triangular_inverse,
    observed_means,
)

import gaussian_cases  # tests/core's shared helpers

K, D = 3, 5


def random_covariances(name, rng):
    return gaussian_cases.random_covariances(name, rng, K, D, ridge=1.0)


def dense(name, covariances, k):
    return gaussian_cases.dense(name, covariances, k, D)


def incomplete_rows(rng, n=80, rate=0.4):
    """Rows with every kind of pattern: complete, all missing, repeated, unique."""
    X = rng.normal(size=(n, D)) * 2 + 1
    X[rng.uniform(size=X.shape) < rate] = np.nan
    X[0] = np.nan
    X[1] = rng.normal(size=D)
    X[2:6, :2] = np.nan  # one pattern shared by several rows
    X[2:6, 2:] = rng.normal(size=(4, D - 2))
    return X


def prepared(family, means, covariances, data):
    """The components in the centered coordinates of ``data``."""
    return ConditionalGaussians(family, means - data.shift, covariances,
                                family.precisions_cholesky(covariances))


def conditionals_in_row_order(data, gaussians):
    """Per-row log-densities and completed rows (original coordinates)."""
    log_prob = np.empty((K, data.n_samples))
    completed = np.empty((K, data.n_samples, D))
    for block in data.blocks:
        result = gaussians.condition(data, block)
        rows = data.order[block.start:block.stop]
        log_prob[:, rows] = result.log_prob
        completed[:, rows] = result.completed + gaussians.means[:, None, :] + data.shift
    return log_prob, completed


def conditional_oracle(x, mean, covariance):
    """Closed forms on the observed block (scipy) and the conditional of the rest."""
    o, m = ~np.isnan(x), np.isnan(x)
    if not o.any():
        return 0.0, mean.copy(), covariance
    log_density = multivariate_normal(mean[o], covariance[np.ix_(o, o)]).logpdf(x[o])
    gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
    completed = x.copy()
    completed[m] = mean[m] + gain @ (x[o] - mean[o])
    conditional = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
    return log_density, completed, conditional


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
@pytest.mark.parametrize("sides", [{True, False}, {True}])
def test_conditionals_match_the_closed_forms_row_by_row(monkeypatch, name, sides):
    # Free blocks: each pattern factorizes its smaller block (both sides in use);
    # costly blocks: one side, one block.
    monkeypatch.setattr(missing_module, "_BLOCK_OVERHEAD", 0.0 if len(sides) == 2 else 1e12)
    rng = np.random.RandomState(0)
    family = covariance_type(name)
    X = incomplete_rows(rng)
    means = rng.normal(size=(K, D))
    covariances = random_covariances(name, rng)
    data = IncompleteData(X)
    assert {block.on_missing for block in data.blocks} == sides
    log_prob, completed = conditionals_in_row_order(
        data, prepared(family, means, covariances, data))
    for k in range(K):
        for i, x in enumerate(X):
            log_density, expected, _ = conditional_oracle(x, means[k], dense(name, covariances, k))
            np.testing.assert_allclose(log_prob[k, i], log_density, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(completed[k, i], expected, rtol=1e-12, atol=1e-12)
    assert log_prob[:, 0].tolist() == [0.0] * K  # nothing observed: density exactly one


@pytest.mark.parametrize("overhead, budget", [(0.0, 1 << 18), (1e12, 1 << 18), (0.0, 1)])
def test_padding_and_blocking_do_not_change_results(monkeypatch, overhead, budget):
    # One block per size, everything padded into one block, one row per block.
    rng = np.random.RandomState(1)
    family = covariance_type("full")
    X = incomplete_rows(rng)
    means = rng.normal(size=(K, D))
    covariances = random_covariances("full", rng)
    data = IncompleteData(X)
    reference = conditionals_in_row_order(data, prepared(family, means, covariances, data))
    monkeypatch.setattr(missing_module, "_BLOCK_OVERHEAD", overhead)
    monkeypatch.setattr(missing_module, "_BLOCK_BUDGET", budget)
    data = IncompleteData(X)
    if overhead > 0:  # one block, every pattern padded to the largest size
        assert [block.index.shape[1] for block in data.blocks] == [D]
    if budget == 1:
        assert len(data.blocks) == len(X)
    other = conditionals_in_row_order(data, prepared(family, means, covariances, data))
    np.testing.assert_allclose(other[0], reference[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(other[1], reference[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_expected_statistics_are_the_sums_of_conditional_moments(name):
    rng = np.random.RandomState(2)
    family = covariance_type(name)
    X = incomplete_rows(rng)
    means = rng.normal(size=(K, D))
    covariances = random_covariances(name, rng)
    data = IncompleteData(X)
    gaussians = prepared(family, means, covariances, data)
    resp = rng.dirichlet(np.ones(K), size=len(X)).T
    moments = ExpectedMoments(K, D)
    for block in data.blocks:
        moments.add(block, gaussians.condition(data, block),
                    resp[:, data.order[block.start:block.stop]])
    stats = moments.statistics(family, gaussians.covariances, means)
    np.testing.assert_array_equal(stats.centers, means)  # residuals: exact far out too

    expected = GaussianStatistics.zeros(K, family.n_statistics(D))
    for k in range(K):
        for i, x in enumerate(X):
            _, completed, conditional = conditional_oracle(
                x, means[k], dense(name, covariances, k))
            centered = completed - means[k]
            second = np.outer(centered, centered)
            m = np.isnan(x)
            second[np.ix_(m, m)] += conditional
            row = np.concatenate([family.second_order_from_outer(second[None])[0], centered])
            expected.nk[k] += resp[k, i]
            expected.moments[k] += resp[k, i] * row
    np.testing.assert_allclose(stats.nk, expected.nk, rtol=1e-12)
    np.testing.assert_allclose(stats.moments, expected.moments, rtol=1e-10, atol=1e-10)


def test_rows_are_grouped_by_pattern_and_covered_once():
    rng = np.random.RandomState(3)
    X = incomplete_rows(rng, n=200)
    data = IncompleteData(X)
    np.testing.assert_array_equal(np.sort(data.order), np.arange(len(X)))
    assert [block.start for block in data.blocks] == [0] + [b.stop for b in data.blocks[:-1]]
    assert data.blocks[-1].stop == len(X)
    n_patterns = len(np.unique(np.isnan(X), axis=0))
    assert sum(len(block.index) for block in data.blocks) == n_patterns
    for block in data.blocks:
        rows = data.order[block.start:block.stop]
        for local, row in enumerate(rows):
            index = block.index[block.pattern_of_row[local]]
            missing = np.isnan(X[row])
            selected = missing if block.on_missing else ~missing
            np.testing.assert_array_equal(np.flatnonzero(selected), index[index < D])
        assert np.all(np.diff(block.pattern_of_row) >= 0)  # a pattern's rows are contiguous
    # stored values: centered observed entries, zeros where missing and in the dummy column
    expected = np.where(np.isnan(X), 0.0, X - data.shift)[data.order]
    np.testing.assert_array_equal(data.values[:, :D], expected)
    assert not data.values[:, D].any() and not data.observed[:, D].any()


def test_bucket_sizes_trade_padding_against_blocks(monkeypatch):
    sizes, patterns, rows = np.array([1, 2, 9, 10]), np.array([5, 5, 5, 5]), np.array([5] * 4)
    monkeypatch.setattr(missing_module, "_BLOCK_OVERHEAD", 0.0)
    assert _bucket_sizes(sizes, patterns, rows)[0] == [1, 2, 9, 10]
    monkeypatch.setattr(missing_module, "_BLOCK_OVERHEAD", 1e9)
    assert _bucket_sizes(sizes, patterns, rows)[0] == [10]
    monkeypatch.setattr(missing_module, "_BLOCK_OVERHEAD", 500.0)
    assert _bucket_sizes(sizes, patterns, rows)[0] == [2, 10]  # close sizes share a block


def test_sides_smaller_blocks_on_wide_data_one_side_on_narrow_data():
    rng = np.random.RandomState(7)
    wide = rng.normal(size=(400, 40))
    wide[rng.uniform(size=wide.shape) < np.linspace(0.05, 0.95, 400)[:, None]] = np.nan
    data = IncompleteData(wide)
    for block in data.blocks:
        n_missing = np.isnan(wide[data.order[block.start:block.stop]]).sum(axis=1)
        smaller_is_missing = n_missing <= 40 - n_missing
        assert np.all(smaller_is_missing == block.on_missing)
    narrow = incomplete_rows(rng)
    assert len(IncompleteData(narrow).blocks) == 1


@pytest.mark.parametrize("size", [0, 1, 2, 5, 17])
def test_lower_triangular_inverse(size):
    rng = np.random.RandomState(size)
    a = rng.normal(size=(2, 3, size, size))
    lower = np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + size * np.eye(size))
    inverse = _lower_triangular_inverse(lower)
    np.testing.assert_allclose(inverse @ lower, np.broadcast_to(np.eye(size), lower.shape),
                               atol=1e-12)
    assert np.all(np.triu(inverse, 1) == 0)


def test_observed_means_ignore_missing_and_weights_count():
    X = np.array([[1.0, np.nan, np.nan], [3.0, 4.0, np.nan], [5.0, np.nan, np.nan]])
    np.testing.assert_allclose(observed_means(X), [3.0, 4.0, 0.0])
    weights = np.array([1.0, 0.0, 3.0])
    np.testing.assert_allclose(observed_means(X, weights), [4.0, 0.0, 0.0])


def test_mean_imputed_start_needs_no_complete_row():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(30, 4))
    X[np.arange(30), np.arange(30) % 4] = np.nan  # every row incomplete
    data = IncompleteData(X)
    filled = np.asarray(data.mean_imputed().X)  # rows are filled as they are read
    assert not np.isnan(filled).any()
    np.testing.assert_allclose(filled.mean(axis=0), np.nanmean(X, axis=0))
    assert np.isnan(X).sum() == 30  # the caller's array is untouched


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_missing", [1, 4])  # the missing side, then the observed side
def test_posterior_draws_have_the_conditional_moments(name, n_missing):
    rng = np.random.RandomState(5)
    family = covariance_type(name)
    covariances = random_covariances(name, rng)[:1] if name != "tied" \
        else random_covariances(name, rng)
    means = rng.normal(size=(1, D))
    x = rng.normal(size=D)
    x[D - n_missing:] = np.nan
    X = np.tile(x, (20000, 1))
    data = IncompleteData(X)
    gaussians = ConditionalGaussians(family, means - data.shift, covariances,
                                     family.precisions_cholesky(covariances))
    (block,) = data.blocks
    assert block.on_missing == (n_missing <= D / 2)
    conditionals = gaussians.condition(data, block)
    draws = gaussians.draw(data, block, conditionals, np.ones((1, len(X))),
                           np.random.RandomState(0)) + data.shift
    dense_covariance = family.dense(covariances, D)[0]
    _, expected_mean, expected_covariance = conditional_oracle(x, means[0], dense_covariance)
    m = np.isnan(x)
    np.testing.assert_allclose(draws[:, ~m], np.broadcast_to(x[~m], (len(X), D - n_missing)),
                               rtol=1e-12)
    # standardized by the conditional spread: means within ~4 standard errors
    scale = np.sqrt(np.diag(expected_covariance))
    np.testing.assert_allclose((draws[:, m].mean(axis=0) - expected_mean[m]) / scale, 0.0,
                               atol=0.03)
    correlation = np.cov(draws[:, m].T).reshape(n_missing, n_missing) / np.outer(scale, scale)
    np.testing.assert_allclose(correlation, expected_covariance / np.outer(scale, scale),
                               atol=0.04)


@pytest.mark.parametrize("n_features", [1, 7, 8, 16, 64, 65, 130])
def test_distinct_patterns_match_a_row_by_row_reference(n_features):
    """Patterns packed into 64-bit words: the distinct rows in lexicographic order and each
    row's pattern, as numpy's row-wise unique gives them."""
    from emlearn._core.families.missing import _distinct_patterns

    rng = np.random.RandomState(n_features)
    missing = rng.uniform(size=(3000, n_features)) < 0.3
    missing[::7] = missing[3]  # repeated patterns
    patterns, pattern_of_row = _distinct_patterns(missing)
    expected, inverse = np.unique(missing, axis=0, return_inverse=True)
    np.testing.assert_array_equal(patterns, expected)
    np.testing.assert_array_equal(patterns[pattern_of_row], missing)
    np.testing.assert_array_equal(pattern_of_row, inverse.reshape(-1))
