"""EMImputer: exact MLE, monotone EM, edge cases, multiple imputation, scikit-learn API."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlearn import EMImputer, GaussianMixtureEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def correlated(n=300, d=4, seed=0):
    rng = np.random.RandomState(seed)
    mixing = np.array([[1.0, 0.8, 0.3, 0.0], [0.0, 1.0, 0.6, 0.2], [0.0, 0.0, 1.0, 0.7],
                       [0.0, 0.0, 0.0, 1.0]])[:d, :d]
    return rng.normal(size=(n, d)) @ mixing * [1.0, 10.0, 0.1, 3.0][:d] + [5.0, -2.0, 0.0, 1e3][:d]


def remove(X, rate, seed=0):
    X = X.astype(np.float64, copy=True)
    X[np.random.RandomState(seed).uniform(size=X.shape) < rate] = np.nan
    return X


def fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


# 1. Exact MLE ------------------------------------------------------------------------------
def regression(targets, predictors):
    """Least squares with intercept: (intercept, slopes, biased residual covariance)."""
    design = np.column_stack([np.ones(len(predictors)), predictors])
    coefficients, *_ = np.linalg.lstsq(design, targets, rcond=None)
    residuals = targets - design @ coefficients
    return coefficients[0], coefficients[1:].T, residuals.T @ residuals / len(targets)


def monotone_mle(X, blocks, observed_rows):
    """Anderson's (1957) factored likelihood: the MLE under a monotone pattern.

    Block 0 is always observed; block j is observed on the first
    ``observed_rows[j]`` rows, a subset of the rows of block j - 1.  The
    likelihood factors into the marginal of block 0 and the regressions of
    each block on all earlier ones, each maximized on its own rows.
    """
    first = X[:, blocks[0]]
    mean = first.mean(axis=0)
    covariance = np.cov(first.T, bias=True).reshape(len(blocks[0]), len(blocks[0]))
    earlier = list(blocks[0])
    for block, n_rows in zip(blocks[1:], observed_rows[1:]):
        intercept, slopes, residual = regression(X[:n_rows, block], X[:n_rows, earlier])
        block_mean = intercept + slopes @ mean
        cross = slopes @ covariance
        covariance = np.block([[covariance, cross.T],
                               [cross, residual + slopes @ covariance @ slopes.T]])
        mean = np.concatenate([mean, block_mean])
        earlier += list(block)
    return mean, covariance


def test_one_component_reaches_the_closed_form_mle_of_a_monotone_pattern():
    X = correlated(n=200, d=4, seed=1)
    X = np.column_stack([X, X[:, 1] * 0.3 + np.random.RandomState(2).normal(size=200)])
    blocks, observed_rows = [[0, 1], [2], [3, 4]], [200, 140, 80]
    X_missing = X.copy()
    for block, n_rows in zip(blocks, observed_rows):
        X_missing[n_rows:, block] = np.nan
    X_missing = X_missing[np.random.RandomState(3).permutation(200)]  # order is irrelevant

    imputer = EMImputer(reg_covar=0.0, tol=1e-13, max_iter=5000).fit(X_missing)
    assert imputer.converged_
    mean, covariance = monotone_mle(X, blocks, observed_rows)
    np.testing.assert_allclose(imputer.means_[0], mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(imputer.covariances_[0], covariance, rtol=1e-6,
                               atol=1e-6 * np.abs(covariance).max())
    # The mixture gives the same estimate, in the data's units from the start.
    mixture = GaussianMixtureEM(reg_covar=0.0, tol=1e-13, max_iter=5000).fit(X_missing)
    np.testing.assert_allclose(mixture.means_[0], mean, rtol=1e-6, atol=1e-9)


def test_nothing_missing_gives_sample_moments_and_unchanged_values():
    X = correlated()
    imputer = EMImputer(reg_covar=0.01).fit(X)
    np.testing.assert_allclose(imputer.means_[0], X.mean(axis=0), rtol=1e-12)
    # reg_covar is relative to each feature's variance (the model works on
    # standardized columns): the sample covariance plus 1% of each variance.
    expected = np.cov(X.T, bias=True) + 0.01 * np.diag(X.var(axis=0))
    np.testing.assert_allclose(imputer.covariances_[0], expected, rtol=1e-10)
    assert imputer.lower_bound_ == pytest.approx(
        GaussianMixtureEM(reg_covar=0).fit(X).score(X), abs=0.01)
    out = imputer.transform(X)
    np.testing.assert_array_equal(out, X)
    assert out is not X and not np.shares_memory(out, X)


def test_imputations_are_the_conditional_means():
    X = remove(correlated(), 0.3)
    imputer = EMImputer().fit(X)
    mean, covariance = imputer.means_[0], imputer.covariances_[0]
    out = imputer.transform(X)
    for x, row in zip(X[:20], out[:20]):
        m, o = np.isnan(x), ~np.isnan(x)
        expected = mean[m] + covariance[np.ix_(m, o)] @ np.linalg.solve(
            covariance[np.ix_(o, o)], x[o] - mean[o]) if o.any() else mean[m]
        np.testing.assert_allclose(row[m], expected, rtol=1e-9)
        np.testing.assert_array_equal(row[o], x[o])


def test_scale_and_shift_equivariance():
    X = remove(correlated(), 0.25)
    scale, shift = np.array([1e-3, 7.0, 1e4, 0.5]), np.array([3.0, -1e5, 0.0, 2.0])
    for n_components in (1, 2):
        out = EMImputer(n_components, random_state=0).fit_transform(X)
        moved = EMImputer(n_components, random_state=0).fit_transform(X * scale + shift)
        np.testing.assert_allclose((moved - shift) / scale, out, rtol=1e-7, atol=1e-9)


# 2. Monotone observed-data log-likelihood ------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_components", [1, 3])
def test_log_likelihood_never_decreases(covariance_type, n_components):
    X, _ = make_blobs(n_samples=300, n_features=4, centers=3, random_state=0)
    X = remove(X @ correlated(n=4, d=4, seed=5), 0.3)
    imputer = fit_quietly(EMImputer(n_components, covariance_type=covariance_type,
                                    reg_covar=0.0, tol=0.0, max_iter=50,
                                    init_params="random", random_state=0), X)
    bounds = np.array(imputer.lower_bounds_)
    assert len(bounds) == 50 and bounds[-1] > bounds[0]
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_lower_bound_is_the_observed_data_log_likelihood_in_data_units():
    X = remove(correlated(), 0.3)
    imputer = EMImputer(tol=1e-12, max_iter=1000).fit(X)
    assert imputer.score(X) == pytest.approx(imputer.lower_bound_, rel=1e-9)
    mixture = GaussianMixtureEM(max_iter=0, means_init=imputer.means_,
                                precisions_init=np.linalg.inv(imputer.covariances_),
                                weights_init=[1.0]).fit(X)
    assert mixture.score(X) == pytest.approx(imputer.score(X), rel=1e-9)
    n_parameters = 4 + 4 * 5 // 2
    assert imputer.bic(X) == pytest.approx(
        -2 * imputer.score(X) * len(X) + n_parameters * np.log(len(X)), rel=1e-12)
    assert imputer.aic(X) == pytest.approx(-2 * imputer.score(X) * len(X) + 2 * n_parameters,
                                           rel=1e-12)


# 3. Multimodal data: the mixture imputes better --------------------------------------------
def test_mixture_beats_one_component_on_multimodal_data_and_bic_finds_it():
    X, _ = make_blobs(n_samples=400, n_features=5, centers=4, random_state=3)
    X_missing = remove(X, 0.2, seed=1)
    mask = np.isnan(X_missing)

    def rmse(imputer):
        return np.sqrt(np.mean((imputer.fit_transform(X_missing)[mask] - X[mask]) ** 2))

    one, four = rmse(EMImputer(random_state=0)), rmse(EMImputer(4, n_init=3, random_state=0))
    assert four < 0.6 * one
    bics = [EMImputer(k, n_init=3, random_state=0).fit(X_missing).bic(X_missing)
            for k in (1, 2, 3, 4)]
    assert np.argmin(bics) == 3


def test_mixture_imputation_is_the_posterior_weighted_conditional_mean():
    X, _ = make_blobs(n_samples=200, n_features=3, centers=2, random_state=0)
    X_missing = remove(X, 0.3)
    imputer = EMImputer(2, random_state=0).fit(X_missing)
    out = imputer.transform(X_missing)
    model, data = imputer._model_and_data(imputer._standardize(X_missing))
    resp = model.predict_proba(data, imputer._params)
    partly_observed = np.isnan(X_missing).any(axis=1) & np.isfinite(X_missing).any(axis=1)
    for i in np.flatnonzero(partly_observed)[:10]:
        x = X_missing[i]
        m, o = np.isnan(x), ~np.isnan(x)
        expected = sum(
            resp[i, k] * (imputer.means_[k][m] + imputer.covariances_[k][np.ix_(m, o)]
                          @ np.linalg.solve(imputer.covariances_[k][np.ix_(o, o)],
                                            x[o] - imputer.means_[k][o]))
            for k in range(2))
        np.testing.assert_allclose(out[i, m], expected, rtol=1e-8)


# 5. Edge cases, no data lost ----------------------------------------------------------------
@pytest.mark.parametrize("keep_empty_features", [False, True])
def test_all_missing_column_dropped_or_kept(keep_empty_features):
    X = remove(correlated(), 0.2)
    X[:, 1] = np.nan
    imputer = EMImputer(keep_empty_features=keep_empty_features).fit(X)
    assert imputer.means_.shape == (1, 3)
    out = imputer.transform(X)
    names = imputer.get_feature_names_out()
    if keep_empty_features:
        assert out.shape == X.shape and np.all(out[:, 1] == 0.0)
        assert names.tolist() == ["x0", "x1", "x2", "x3"]
    else:
        assert out.shape == (len(X), 3)
        assert names.tolist() == ["x0", "x2", "x3"]
    assert not np.isnan(out).any()
    new = correlated()[:5]  # a value in the empty column at transform time
    kept = imputer.transform(new)
    np.testing.assert_array_equal(kept, new if keep_empty_features else new[:, [0, 2, 3]])


@pytest.mark.parametrize("n_components", [1, 3])
def test_all_missing_row_gets_the_marginal_mean(n_components):
    X = remove(correlated(), 0.2)
    X[5] = np.nan
    imputer = EMImputer(n_components, random_state=0).fit(X)
    marginal_mean = imputer.weights_ @ imputer.means_
    np.testing.assert_allclose(imputer.transform(X)[5], marginal_mean, rtol=1e-10)


def test_custom_missing_values():
    X = remove(np.round(np.abs(correlated()) + 0.5, 1), 0.2)
    X_coded = np.where(np.isnan(X), -1.0, X)
    assert not np.any(X == -1.0)
    out = EMImputer(missing_values=-1.0, random_state=0).fit_transform(X_coded)
    np.testing.assert_allclose(out, EMImputer(random_state=0).fit_transform(X), rtol=1e-12)
    assert not EMImputer(missing_values=-1).__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        EMImputer(missing_values=-1.0).fit(X)


def test_degenerate_columns_and_fewer_rows_than_features_fit_without_nan():
    rng = np.random.RandomState(0)
    X = remove(rng.normal(size=(6, 8)), 0.3, seed=2)
    X[:, 2] = np.nan
    X[0, 2] = 4.0  # a single observed value
    X[:, 5] = 7.0  # constant
    for n_components in (1, 2):
        imputer = fit_quietly(EMImputer(n_components, random_state=0), X)
        for name in ("weights_", "means_", "covariances_", "lower_bound_"):
            assert np.all(np.isfinite(getattr(imputer, name))), name
        out = imputer.transform(X)
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out[:, 5], 7.0)
        np.testing.assert_allclose(out[:, 2], 4.0)


def test_input_is_never_modified():
    X = remove(correlated(), 0.3)
    X[4] = np.nan
    original = X.copy()
    for imputer in (EMImputer(), EMImputer(2, sample_posterior=True, random_state=0),
                    EMImputer(missing_values=-1.0)):
        data = np.where(np.isnan(original), -1.0, original) if imputer.missing_values == -1 else X
        before = data.copy()
        imputer.fit(data)
        imputer.transform(data)
        imputer.fit_transform(data)
        imputer.score(data)
        np.testing.assert_array_equal(data, before)
    np.testing.assert_array_equal(X, original)


def test_infinite_values_are_a_clear_error():
    X = remove(correlated(), 0.2)
    imputer = EMImputer().fit(X)
    X[3, 2] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        EMImputer().fit(X)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        imputer.transform(X)


def test_min_and_max_clip_imputed_values_only():
    X = remove(correlated(), 0.3)
    free = EMImputer().fit_transform(X)
    low, high = np.nanpercentile(X, 40, axis=0), np.nanpercentile(X, 60, axis=0)
    clipped = EMImputer(min_value=low, max_value=high).fit_transform(X)
    missing = np.isnan(X)
    np.testing.assert_array_equal(clipped[~missing], X[~missing])
    np.testing.assert_allclose(clipped[missing], np.clip(free, low, high)[missing])
    scalar = EMImputer(min_value=0.0).fit_transform(X)
    assert np.all(scalar[missing] >= 0.0)


def test_float32_stays_float32():
    X = remove(correlated(), 0.3).astype(np.float32)
    imputer = EMImputer().fit(X)
    out = imputer.transform(X)
    assert out.dtype == np.float32 and imputer.means_.dtype == np.float32
    np.testing.assert_allclose(out, EMImputer().fit_transform(X.astype(np.float64)), rtol=1e-5)


# 8. Multiple imputation ------------------------------------------------------------------------
def test_posterior_draws_reproducible_and_spread_as_the_conditional():
    X = correlated(n=2000, d=3, seed=4)
    X_missing = X.copy()
    X_missing[::2, 2] = np.nan  # half of the last column, given the others
    imputer = EMImputer(sample_posterior=True, random_state=0).fit(X_missing)
    draws = imputer.transform(X_missing)
    np.testing.assert_array_equal(imputer.transform(X_missing), draws)
    np.testing.assert_array_equal(draws[1::2], X[1::2])
    other = EMImputer(sample_posterior=True, random_state=1).fit(X_missing)
    assert not np.allclose(other.transform(X_missing)[::2, 2], draws[::2, 2])
    means = EMImputer().fit(X_missing).transform(X_missing)
    residual = draws[::2, 2] - means[::2, 2]
    covariance = imputer.covariances_[0]
    conditional = covariance[2, 2] - covariance[2, :2] @ np.linalg.solve(
        covariance[:2, :2], covariance[:2, 2])
    assert np.var(residual) == pytest.approx(conditional, rel=0.1)
    # The draws spread as the data do, where the conditional means are too smooth.
    assert np.var(draws[::2, 2]) == pytest.approx(np.var(X[::2, 2]), rel=0.1)


def test_bootstrap_reflects_parameter_uncertainty():
    X = remove(correlated(n=100, d=3, seed=6), 0.3)
    means = [EMImputer(sample_posterior=True, random_state=seed).fit(X).means_[0]
             for seed in range(20)]
    spread = np.std(means, axis=0)
    standard_error = np.nanstd(X, axis=0) / np.sqrt(np.sum(np.isfinite(X), axis=0))
    np.testing.assert_allclose(spread, standard_error, rtol=0.5)


def rubin_interval(estimates, variances, level=0.95):
    """Rubin's rules: pooled estimate and a t interval with Rubin's degrees of freedom."""
    m = len(estimates)
    pooled, within, between = np.mean(estimates), np.mean(variances), np.var(estimates, ddof=1)
    total = within + (1 + 1 / m) * between
    dof = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
    half = stats.t.ppf((1 + level) / 2, dof) * np.sqrt(total)
    return pooled - half, pooled + half


@pytest.mark.slow
def test_multiple_imputation_intervals_cover_the_true_mean():
    rng = np.random.RandomState(0)
    true_mean = np.array([1.0, -1.0, 2.0])
    covariance = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]])
    covered, n_repeats, n_rows = 0, 400, 60
    for _ in range(n_repeats):
        X = rng.multivariate_normal(true_mean, covariance, size=n_rows)
        X[rng.uniform(size=X.shape) < 0.3] = np.nan
        estimates, variances = [], []
        for seed in range(10):
            completed = EMImputer(sample_posterior=True, random_state=seed).fit_transform(X)
            estimates.append(completed[:, 2].mean())
            variances.append(completed[:, 2].var(ddof=1) / n_rows)
        low, high = rubin_interval(estimates, variances)
        covered += low <= true_mean[2] <= high
    assert 0.90 <= covered / n_repeats <= 0.98


# 6. A scikit-learn citizen -----------------------------------------------------------------
def test_pipeline_grid_search_on_breast_cancer():
    data = load_breast_cancer()
    X, y = remove(data.data, 0.2, seed=0), data.target
    pipeline = make_pipeline(EMImputer(random_state=0), StandardScaler(),
                             LogisticRegression(max_iter=1000))
    search = GridSearchCV(pipeline, {"emimputer__n_components": [1, 2]}, cv=3).fit(X, y)
    assert search.best_params_["emimputer__n_components"] in (1, 2)
    assert search.best_score_ > 0.9
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_n_jobs_does_not_change_the_result():
    X = remove(make_blobs(n_samples=200, n_features=3, centers=3, random_state=0)[0], 0.3)
    fitted = [EMImputer(3, n_init=4, init_params="random", random_state=0, n_jobs=n_jobs)
              .fit(X) for n_jobs in (1, 2)]
    for name in ("weights_", "means_", "covariances_", "lower_bound_", "n_iter_"):
        np.testing.assert_array_equal(getattr(fitted[1], name), getattr(fitted[0], name))
    np.testing.assert_array_equal(fitted[1].transform(X), fitted[0].transform(X))


def test_set_output_pandas_and_feature_names():
    pd = pytest.importorskip("pandas")
    X = remove(correlated(), 0.2)
    X[:, 3] = np.nan
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    imputer = EMImputer(add_indicator=True).set_output(transform="pandas").fit(frame)
    out = imputer.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == ["a", "b", "c", "missingindicator_a",
                                    "missingindicator_b", "missingindicator_c",
                                    "missingindicator_d"]
    assert not out.iloc[:, :3].isna().any().any()
    np.testing.assert_array_equal(out.iloc[:, 3:].to_numpy(), np.isnan(X))
    with pytest.raises(ValueError, match="input_features"):
        imputer.get_feature_names_out(["w", "x", "y", "z"])


@pytest.mark.parametrize("parameter, value, error", [
    ("n_components", 0, ValueError),
    ("n_components", 1.5, TypeError),
    ("covariance_type", "banana", ValueError),
    ("missing_values", "NA", TypeError),
    ("tol", -1.0, ValueError),
    ("reg_covar", -1e-3, ValueError),
    ("max_iter", 0, ValueError),
    ("n_init", 0, ValueError),
    ("init_params", "nope", ValueError),
    ("sample_posterior", "yes", TypeError),
    ("add_indicator", 1, TypeError),
    ("keep_empty_features", None, TypeError),
    ("n_jobs", 0, ValueError),
    ("min_value", [0.0, 1.0], ValueError),
    ("max_value", "high", TypeError),
])
def test_bad_parameters_name_the_argument(parameter, value, error):
    X = remove(correlated(), 0.2)
    with pytest.raises(error, match=parameter):
        EMImputer(**{parameter: value}).fit(X)


def test_bounds_must_be_ordered():
    with pytest.raises(ValueError, match="min_value must not exceed max_value"):
        EMImputer(min_value=1.0, max_value=0.0).fit(remove(correlated(), 0.2))


def test_not_fitted():
    X = remove(correlated(), 0.2)
    for method in ("transform", "score", "bic", "get_feature_names_out"):
        with pytest.raises(NotFittedError):
            getattr(EMImputer(), method)(*([] if method == "get_feature_names_out" else [X]))


def test_convergence_warning_in_the_caller():
    X = remove(correlated(), 0.3)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        imputer = EMImputer(max_iter=2, tol=0.0).fit(X)
    assert not imputer.converged_ and imputer.n_iter_ == 2


# Bounded memory ------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    dict(n_components=2, tol=1e-10, max_iter=25),
    dict(n_components=1, missing_values=-1.0, keep_empty_features=True, add_indicator=True),
])
def test_reading_rows_part_by_part_gives_the_same_imputer(options, monkeypatch):
    """fit, transform and score read X part by part (a memmap is never copied): the same
    model, imputations and score as when every pass reads all rows at once."""
    from emlearn._core.families import gaussian, missing

    X = remove(correlated(n=400), 0.25, seed=2)
    X[:, 3] = np.nan  # a column without observed values
    if "missing_values" in options:
        X[np.isnan(X)] = options["missing_values"]
    reference = EMImputer(random_state=0, **options).fit(X)
    expected, score = reference.transform(X), reference.score(X)
    monkeypatch.setattr(gaussian, "STREAM_BYTES", 0)  # rows grouped part by part
    monkeypatch.setattr(missing, "PART_ROWS", 64)  # 400 rows: seven parts
    parts = EMImputer(random_state=0, **options).fit(X)
    assert parts.n_iter_ == reference.n_iter_
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(parts, name), getattr(reference, name),
                                   rtol=1e-10, atol=1e-12)
    assert parts.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(parts.transform(X), expected, rtol=1e-10)
    assert parts.score(X) == pytest.approx(score, rel=1e-12)


def test_imputer_memory_is_bounded_by_a_part(tmp_path, monkeypatch):
    """Beyond the input (a memmap here, never copied) and the output, fit and transform
    hold about one part of rows, not all of them (they held several copies of X)."""
    import tracemalloc

    from emlearn._core import mixture_model
    from emlearn._core.families import gaussian, missing

    rng = np.random.RandomState(3)
    path = tmp_path / "X.npy"
    X = rng.normal(size=(200_000, 8)) @ np.triu(np.ones((8, 8)))
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    np.save(path, X)
    del X
    X = np.load(path, mmap_mode="r")
    monkeypatch.setattr(gaussian, "STREAM_BYTES", 0)
    monkeypatch.setattr(missing, "PART_ROWS", 8192)  # 1/25 of the rows
    monkeypatch.setattr(mixture_model, "INIT_ROWS", 8192)  # starting values from a sample

    def peak(call):
        tracemalloc.start()
        result = call()
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return result, top / X.nbytes

    imputer, fit_peak = peak(lambda: fit_quietly(EMImputer(max_iter=2, tol=0), X))
    imputed, transform_peak = peak(lambda: imputer.transform(X))
    assert fit_peak < 0.5
    assert transform_peak - 1.0 < 0.5  # the output is one X
    assert not np.isnan(imputed).any()
