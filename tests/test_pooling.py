"""Multiple imputation (EMImputer.multiple_impute) and Rubin's rules (pool_rubin)."""

import numpy as np
import pytest
from scipy import stats

from emlearn import EMImputer, pool_rubin


# 1. Rubin's rules by hand -------------------------------------------------------------------
def test_pooling_matches_a_hand_computation():
    # m = 4 estimates 1, 2, 3, 4 with variances 0.5, 0.5, 1, 1; 20 complete-data df.
    pooled = pool_rubin([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 1.0, 1.0], df_complete=20)
    estimate, within = 10 / 4, 3 / 4                      # means
    between = (1.5**2 + 0.5**2 + 0.5**2 + 1.5**2) / 3     # = 5/3, ddof=1
    total = within + (1 + 1 / 4) * between               # = 0.75 + 25/12 = 17/6
    lam = (25 / 12) / (17 / 6)                           # = 25/34
    df_old = 3 / lam**2                                  # Rubin (1987)
    df_obs = 21 / 23 * 20 * (1 - lam)                    # Barnard and Rubin (1999)
    df = df_old * df_obs / (df_old + df_obs)
    riv = (25 / 12) / 0.75
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    assert pooled.m == 4
    assert pooled.estimate == pytest.approx(estimate)
    assert pooled.within == pytest.approx(within)
    assert pooled.between == pytest.approx(5 / 3)
    assert pooled.total == pytest.approx(total) and total == pytest.approx(17 / 6)
    assert pooled.df == pytest.approx(df) and pooled.df == pytest.approx(2.58333, abs=1e-5)
    assert pooled.riv == pytest.approx(riv) and pooled.fmi == pytest.approx(fmi)
    assert pooled.std_error == pytest.approx(np.sqrt(17 / 6))
    half = stats.t.ppf(0.95, df) * np.sqrt(17 / 6)
    np.testing.assert_allclose(pooled.confint(alpha=0.1), (2.5 - half, 2.5 + half))


def test_infinite_complete_data_df_is_rubins_1987_df():
    pooled = pool_rubin([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 1.0, 1.0])
    assert pooled.df == pytest.approx(3 / (25 / 34) ** 2)
    # Barnard-Rubin df never exceed either the large-sample or the complete-data df.
    for df_complete in (5, 50, 500):
        small = pool_rubin([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 1.0, 1.0], df_complete=df_complete)
        assert small.df < min(pooled.df, df_complete)


def test_array_estimates_pool_elementwise():
    rng = np.random.RandomState(0)
    estimates, variances = rng.normal(size=(6, 2, 3)), rng.uniform(0.1, 1, size=(6, 2, 3))
    pooled = pool_rubin(list(estimates), list(variances), df_complete=30)
    assert pooled.estimate.shape == (2, 3)
    low, high = pooled.confint()
    for i, j in np.ndindex(2, 3):
        one = pool_rubin(estimates[:, i, j], variances[:, i, j], df_complete=30)
        for field in ("estimate", "within", "between", "total", "df", "riv", "fmi"):
            assert getattr(pooled, field)[i, j] == pytest.approx(getattr(one, field))
        assert (low[i, j], high[i, j]) == pytest.approx(one.confint())


def test_identical_estimates_have_no_between_variance():
    pooled = pool_rubin([2.0, 2.0, 2.0], [0.1, 0.1, 0.1], df_complete=10)
    assert pooled.between == 0 and pooled.total == pytest.approx(0.1)
    assert pooled.riv == 0 and pooled.df == pytest.approx(11 / 13 * 10)
    assert np.isinf(pool_rubin([2.0, 2.0], [0.1, 0.1]).df)
    assert pool_rubin([2.0, 2.0], [0.1, 0.1]).confint() == pytest.approx(
        (2 - 1.959964 * np.sqrt(0.1), 2 + 1.959964 * np.sqrt(0.1)))


@pytest.mark.parametrize("estimates, variances, error, match", [
    ([1.0], [1.0], ValueError, "at least 2"),
    (1.0, 1.0, ValueError, "at least 2"),
    ([1.0, 2.0], [1.0, 1.0, 1.0], ValueError, "same shape"),
    ([1.0, 2.0], [1.0, -1.0], ValueError, "variances must be >= 0"),
    ([1.0, np.nan], [1.0, 1.0], ValueError, "estimates must be finite"),
    (["a", "b"], [1.0, 1.0], TypeError, "estimates"),
])
def test_bad_pooling_input_names_the_argument(estimates, variances, error, match):
    with pytest.raises(error, match=match):
        pool_rubin(estimates, variances)


@pytest.mark.parametrize("df_complete", [0, -3, "10", None])
def test_bad_df_complete(df_complete):
    with pytest.raises(ValueError, match="df_complete"):
        pool_rubin([1.0, 2.0], [1.0, 1.0], df_complete=df_complete)


@pytest.mark.parametrize("alpha", [0, 1, 1.5, "0.05"])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        pool_rubin([1.0, 2.0], [1.0, 1.0]).confint(alpha)


def test_result_is_frozen():
    pooled = pool_rubin([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(AttributeError):
        pooled.estimate = 0.0


# 2. multiple_impute ----------------------------------------------------------------------
def gappy(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.multivariate_normal([0, 1, 2], [[1, .6, .3], [.6, 1, .5], [.3, .5, 1]], size=n)
    X[rng.uniform(size=X.shape) < 0.25] = np.nan
    return X


def test_copies_keep_observed_values_and_differ_in_the_gaps():
    X = gappy()
    missing = np.isnan(X)
    imputations = EMImputer(random_state=0).multiple_impute(X, n_imputations=4)
    assert len(imputations) == 4
    for completed in imputations:
        assert completed.shape == X.shape and np.isfinite(completed).all()
        np.testing.assert_array_equal(completed[~missing], X[~missing])
    gaps = np.array([completed[missing] for completed in imputations])
    assert np.all(gaps.std(axis=0) > 0)  # every gap gets different draws


def test_same_seed_same_copies_and_n_jobs_does_not_matter():
    X = gappy()
    imputer = EMImputer(2, n_init=2, random_state=7)
    serial = imputer.multiple_impute(X, n_imputations=3, n_jobs=1)
    parallel = imputer.multiple_impute(X, n_imputations=3, n_jobs=2)
    again = EMImputer(2, n_init=2, random_state=7).multiple_impute(X, n_imputations=3)
    for a, b, c in zip(serial, parallel, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    other = EMImputer(2, n_init=2, random_state=8).multiple_impute(X, n_imputations=3)
    assert not np.array_equal(other[0], serial[0])


def test_imputer_itself_is_not_fitted_nor_changed():
    from sklearn.utils.validation import check_is_fitted
    from sklearn.exceptions import NotFittedError

    imputer = EMImputer(max_iter=50, random_state=0)
    params = imputer.get_params()
    imputer.multiple_impute(gappy(), n_imputations=2)
    assert imputer.get_params() == params
    with pytest.raises(NotFittedError):
        check_is_fitted(imputer)
    fitted = EMImputer(random_state=0).fit(gappy(seed=1))
    means = fitted.means_.copy()
    fitted.multiple_impute(gappy(), n_imputations=2)
    np.testing.assert_array_equal(fitted.means_, means)  # refits clones, not itself


def test_each_copy_is_a_sample_posterior_fit_with_a_drawn_seed():
    X = gappy()
    seeds = np.random.RandomState(3).randint(np.iinfo(np.int32).max, size=2)
    expected = [EMImputer(sample_posterior=True, random_state=int(seed)).fit_transform(X)
                for seed in seeds]
    for got, want in zip(EMImputer(random_state=3).multiple_impute(X, 2), expected):
        np.testing.assert_array_equal(got, want)


def test_pandas_output():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(gappy(), columns=["a", "b", "c"], index=np.arange(80) * 2)
    imputations = (EMImputer(random_state=0).set_output(transform="pandas")
                   .multiple_impute(frame, n_imputations=2))
    for completed in imputations:
        assert isinstance(completed, pd.DataFrame)
        assert completed.columns.tolist() == ["a", "b", "c"]
        assert completed.index.equals(frame.index) and not completed.isna().any().any()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_imputations=0), ValueError, "n_imputations"),
    (dict(n_imputations=2.5), TypeError, "n_imputations"),
    (dict(n_imputations=True), TypeError, "n_imputations"),
    (dict(n_jobs=0), ValueError, "n_jobs"),
    (dict(n_jobs="2"), TypeError, "n_jobs"),
])
def test_bad_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        EMImputer().multiple_impute(gappy(), **kwargs)


def test_bad_hyperparameters_and_data_are_reported():
    with pytest.raises(ValueError, match="n_components"):
        EMImputer(n_components=0).multiple_impute(gappy(), 2)
    with pytest.raises(ValueError, match="infinity|inf"):
        X = gappy()
        X[0, 0] = np.inf
        EMImputer().multiple_impute(X, 2)


# 3. Coverage of pooled intervals ------------------------------------------------------------
MEAN_Y, SLOPE = 1.0, 0.5
TRUTH = np.array([MEAN_Y, SLOPE])


def simulate(rng, n, mechanism):
    """y = 1 + 0.5 x + noise: 30% of all entries missing (MCAR), or of y given x (MAR)."""
    x = rng.normal(size=n)
    y = MEAN_Y + SLOPE * x + rng.normal(size=n)
    X = np.column_stack([x, y])
    if mechanism == "MCAR":
        X[rng.uniform(size=X.shape) < 0.3] = np.nan
    else:  # P(y missing | x) = 0.6 * Phi(x): 30% on average, mostly where x is high
        X[rng.uniform(size=n) < 0.6 * stats.norm.cdf(x), 1] = np.nan
    return X


def analyse(completed):
    """Mean of y and least-squares slope of y on x, with their squared standard errors."""
    n = len(completed)
    x, y = completed[:, 0], completed[:, 1]
    sxx = np.sum((x - x.mean()) ** 2)
    slope = np.sum((x - x.mean()) * (y - y.mean())) / sxx
    residuals = y - y.mean() - slope * (x - x.mean())
    variances = [y.var(ddof=1) / n, residuals @ residuals / (n - 2) / sxx]
    return np.array([y.mean(), slope]), np.array(variances)


def coverage(mechanism, n_repeats, m, n=100, seed=0):
    """Coverage of 95% intervals: pooled over m imputations, and from one imputation."""
    rng = np.random.RandomState(seed)
    df_complete = np.array([n - 1, n - 2])
    multiple, single, inflation = np.zeros(2), np.zeros(2), []
    for repeat in range(n_repeats):
        X = simulate(rng, n, mechanism)
        results = [analyse(c) for c in EMImputer(random_state=repeat).multiple_impute(X, m)]
        estimates, variances = (np.array(r) for r in zip(*results))
        for j in range(2):
            pooled = pool_rubin(estimates[:, j], variances[:, j], df_complete=df_complete[j])
            low, high = pooled.confint(0.05)
            multiple[j] += low <= TRUTH[j] <= high
            inflation.append(pooled.total / pooled.within)
        estimate, variance = analyse(EMImputer().fit_transform(X))  # conditional means
        single += np.abs(estimate - TRUTH) <= stats.t.ppf(0.975, df_complete) * np.sqrt(variance)
    return multiple / n_repeats, single / n_repeats, np.array(inflation)


@pytest.mark.parametrize("mechanism", ["MCAR", "MAR"])
def test_pooled_intervals_cover_quick_check(mechanism):
    multiple, single, inflation = coverage(mechanism, n_repeats=40, m=5)
    assert np.all(inflation > 1.0)  # the missing values add variance
    assert np.all(multiple >= 0.875)  # at least 35 of 40
    assert single.sum() < multiple.sum()


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", ["MCAR", "MAR"])
def test_pooled_intervals_cover_the_true_mean_and_slope(mechanism):
    multiple, single, _ = coverage(mechanism, n_repeats=400, m=10, seed=1)
    print(f"{mechanism}: multiple imputation (m=10) covers mean, slope {multiple}; "
          f"single imputation {single}")
    assert np.all((0.90 <= multiple) & (multiple <= 0.98))
    assert np.all(single < 0.90)  # a single imputation treats its guesses as data
