"""HMMEM with missing values: NaN entries are integrated out of Gaussian emissions."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

from emlearn import HMMEM
from test_hmm import brute_force  # enumerates every state path

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
K, D = 2, 3


def starting_values(covariance_type, rng):
    full = np.array([[1.5, 0.4, 0.1], [0.4, 1.0, -0.3], [0.1, -0.3, 2.0]])
    return dict(
        startprob_init=rng.dirichlet(np.ones(K)),
        transmat_init=rng.dirichlet(3 * np.ones(K), size=K),
        means_init=rng.normal(size=(K, D)) * 2,
        covariances_init={
            "full": np.stack([full, full * 0.7]),
            "tied": full,
            "diag": np.array([[1.5, 1.0, 2.0], [0.6, 1.2, 0.9]]),
            "spherical": np.array([1.3, 0.7]),
        }[covariance_type],
    )


def with_holes(rng, n, fraction=0.35):
    X = rng.normal(size=(n, D)) * 2.0
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    X[1] = np.nan  # a row with nothing observed
    return X


def dense(model, k):
    c = model.covariances_
    return {"full": lambda: c[k], "tied": lambda: c, "diag": lambda: np.diag(c[k]),
            "spherical": lambda: c[k] * np.eye(D)}[model.covariance_type]()


def marginal_log_likelihood(model, X):
    """log N(x_o | mu_o, S_oo) per row and state (0 for a row with nothing observed)."""
    out = np.zeros((len(X), K))
    for i, x in enumerate(X):
        o = ~np.isnan(x)
        if o.any():
            for k in range(K):
                S = dense(model, k)
                out[i, k] = multivariate_normal(model.means_[k][o], S[np.ix_(o, o)]).logpdf(x[o])
    return out


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_exact_against_all_state_paths_with_nan(covariance_type):
    rng = np.random.RandomState(3)
    lengths = [6, 1, 4, 5]
    X = with_holes(rng, sum(lengths))
    model = HMMEM(K, covariance_type=covariance_type, max_iter=0,
                  **starting_values(covariance_type, rng)).fit(X, lengths=lengths)
    log_B = marginal_log_likelihood(model, X)
    scores = model.score_sequences(X, lengths=lengths)
    posteriors = model.predict_proba(X, lengths=lengths)
    path = model.predict(X, lengths=lengths)
    map_path = model.decode(X, lengths=lengths, algorithm="map")[1]
    starts = np.cumsum([0] + lengths[:-1])
    for i, (start, length) in enumerate(zip(starts, lengths)):
        rows = slice(start, start + length)
        total, marginals, best = brute_force(log_B[rows], model.startprob_, model.transmat_)
        np.testing.assert_allclose(scores[i], total, rtol=1e-10)
        np.testing.assert_allclose(posteriors[rows], marginals, atol=1e-10)
        np.testing.assert_array_equal(path[rows], best)
        np.testing.assert_array_equal(map_path[rows], marginals.argmax(axis=1))
    assert model.score(X, lengths=lengths) == pytest.approx(scores.sum(), rel=1e-12)
    n_parameters = (K - 1) + K * (K - 1) + model._fitted_family().n_parameters(K, D)
    assert model.bic(X, lengths=lengths) == pytest.approx(
        -2 * scores.sum() + n_parameters * np.log(len(X)), rel=1e-12)


def test_whole_nan_rows_carry_no_evidence():
    rng = np.random.RandomState(4)
    X = with_holes(rng, 12, fraction=0.0)
    model = HMMEM(K, covariance_type="full", max_iter=0,
                  **starting_values("full", rng)).fit(X)
    # A sequence of only NaN rows: its likelihood is one, its posteriors the
    # chain's own marginals.
    empty = np.full((4, D), np.nan)
    assert model.score(empty) == pytest.approx(0.0, abs=1e-14)
    marginal = model.startprob_.copy()
    for posterior in model.predict_proba(empty):
        np.testing.assert_allclose(posterior, marginal, atol=1e-12)
        marginal = marginal @ model.transmat_
    # Inserting NaN rows between observed ones only lengthens the chain.
    holes = X.copy()
    holes[[3, 7]] = np.nan
    log_B = marginal_log_likelihood(model, holes)
    assert model.score(holes) == pytest.approx(
        brute_force(log_B, model.startprob_, model.transmat_)[0], rel=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_baum_welch_with_nan_never_decreases(covariance_type):
    rng = np.random.RandomState(5)
    states = np.repeat([0, 1, 0, 1], 40)
    X = rng.normal(size=(160, D)) + 3.0 * states[:, None]
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    X[10] = np.nan
    model = HMMEM(K, covariance_type=covariance_type, reg_covar=0.0, tol=0, max_iter=25,
                  **starting_values(covariance_type, rng))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, lengths=[100, 60])
    bounds = np.array(model.lower_bounds_)
    assert bounds[-1] - bounds[0] > 0.1
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    assert np.all(np.isfinite(model.covariances_))


def test_fit_with_nan_finds_the_regimes_and_default_start_works():
    rng = np.random.RandomState(6)
    states = np.repeat([0, 1, 0, 1, 0], 60)
    X = rng.normal(size=(300, D)) * 0.5 + 3.0 * states[:, None]
    X[rng.uniform(size=X.shape) < 0.4] = np.nan
    model = HMMEM(K, covariance_type="full", random_state=0).fit(X)
    path = model.predict(X)
    assert max(np.mean(path == states), np.mean(path == 1 - states)) > 0.97


def test_rows_grouped_part_by_part_give_the_same_hmm(monkeypatch):
    """Large data are grouped by pattern part by part (bounded memory): the HMM's
    default start (k-means on the mean-filled rows) and fit are the same."""
    from emlearn._core.families import gaussian, missing

    rng = np.random.RandomState(7)
    states = np.repeat([0, 1, 0, 1], 60)
    X = rng.normal(size=(240, D)) + 3.0 * states[:, None]
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    options = dict(covariance_type="full", tol=1e-10, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = HMMEM(K, **options).fit(X, lengths=[120, 120])
        monkeypatch.setattr(gaussian, "STREAM_BYTES", 0)
        monkeypatch.setattr(missing, "PART_ROWS", 50)
        streamed = HMMEM(K, **options).fit(X, lengths=[120, 120])
    for name in ("startprob_", "transmat_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(reference, name),
                                   rtol=1e-9, atol=1e-12)
