"""HMMEM: brute force, hmmlearn, monotonicity, sequences, model selection, robustness."""

import itertools
import warnings

import numpy as np
import pytest
import sklearn
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, poisson
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlearn import HMMEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FAMILIES = ["gaussian", "categorical", "poisson"]
LENGTHS = [40, 65, 25, 50]


# -- fixtures: data and starting values per family ---------------------------------------
def gaussian_data(rng, n, K=3, d=2):
    states = rng.randint(K, size=n)
    return rng.normal(size=(n, d)) + 3.0 * states[:, None] * np.array([1.0, -0.5])


def family_data(family, rng, n):
    if family == "gaussian":
        return gaussian_data(rng, n)
    if family == "categorical":
        return rng.choice(4, p=[0.4, 0.3, 0.2, 0.1], size=(n, 1))
    return rng.poisson([2.0, 7.0], size=(n, 2))


def covariances(covariance_type, K=3, d=2, scale=1.5):
    return {
        "full": np.stack([np.array([[scale, 0.3], [0.3, scale]])] * K),
        "tied": np.array([[scale, 0.3], [0.3, scale]]),
        "diag": np.full((K, d), scale),
        "spherical": np.full(K, scale),
    }[covariance_type]


def starting_values(family, rng, covariance_type="diag", K=3):
    start = dict(startprob_init=rng.dirichlet(np.ones(K)),
                 transmat_init=rng.dirichlet(3 * np.ones(K), size=K))
    if family == "gaussian":
        start.update(means_init=rng.normal(size=(K, 2)) * 2,
                     covariances_init=covariances(covariance_type, K))
    elif family == "categorical":
        start.update(emissionprob_init=rng.dirichlet(np.ones(4), size=K))
    else:
        start.update(rates_init=rng.uniform(1.0, 8.0, size=(K, 2)))
    return start


def fitted_at(family, params, covariance_type="diag", X=None, **kwargs):
    """An HMMEM whose attributes are exactly ``params`` (max_iter=0)."""
    K = len(params["startprob_init"])
    if X is None:
        X = family_data(family, np.random.RandomState(0), 20)
    return HMMEM(K, emission=family, covariance_type=covariance_type, max_iter=0,
                 **params, **kwargs).fit(X)


def emission_log_likelihood(family, model, X):
    """Independent per-row log-likelihoods with scipy."""
    K = model.n_components
    if family == "gaussian":
        return np.column_stack([
            multivariate_normal(model.means_[k], dense_covariance(model, k)).logpdf(X)
            for k in range(K)
        ]).reshape(len(X), K)
    if family == "categorical":
        return np.log(model.emissionprob_[:, X[:, 0]]).T
    return np.column_stack([poisson(model.rates_[k]).logpmf(X).sum(axis=1) for k in range(K)])


def dense_covariance(model, k):
    c = model.covariances_
    return {"full": lambda: c[k], "tied": lambda: c, "diag": lambda: np.diag(c[k]),
            "spherical": lambda: c[k] * np.eye(model.means_.shape[1])}[model.covariance_type]()


# 1. Exact ---------------------------------------------------------------------------------
def brute_force(log_B, startprob, transmat):
    T, K = log_B.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    joint = np.log(startprob)[paths[:, 0]] + log_B[np.arange(T), paths].sum(axis=1)
    joint += np.log(transmat)[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    log_likelihood = logsumexp(joint)
    marginals = np.zeros((T, K))
    for path, w in zip(paths, np.exp(joint - log_likelihood)):
        marginals[np.arange(T), path] += w
    return log_likelihood, marginals, paths[np.argmax(joint)]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("K", [2, 3])
def test_exact_against_all_state_paths(family, K):
    rng = np.random.RandomState(K)
    params = starting_values(family, rng, "full", K=K)
    model = fitted_at(family, params, "full")
    lengths = [5, 1, 3, 4]
    X = family_data(family, rng, sum(lengths))
    log_B = emission_log_likelihood(family, model, X)
    scores = model.score_sequences(X, lengths=lengths)
    posteriors = model.predict_proba(X, lengths=lengths)
    path = model.predict(X, lengths=lengths)
    starts = np.cumsum([0] + lengths[:-1])
    for i, (start, length) in enumerate(zip(starts, lengths)):
        rows = slice(start, start + length)
        loglik, marginals, best = brute_force(log_B[rows], model.startprob_, model.transmat_)
        np.testing.assert_allclose(scores[i], loglik, rtol=1e-10)
        np.testing.assert_allclose(posteriors[rows], marginals, atol=1e-10)
        np.testing.assert_array_equal(path[rows], best)
    assert model.score(X, lengths=lengths) == pytest.approx(scores.sum(), rel=1e-12)


# 2. Same answers as hmmlearn ------------------------------------------------------------
def hmmlearn_model(family, params, covariance_type):
    from hmmlearn import hmm

    K = len(params["startprob_init"])
    common = dict(n_iter=10, tol=-1e300, init_params="", implementation="scaling")
    if family == "gaussian":
        model = hmm.GaussianHMM(K, covariance_type=covariance_type, covars_prior=0,
                                covars_weight=1, means_weight=0, min_covar=0, **common)
        model.means_ = params["means_init"]
        model.covars_ = params["covariances_init"]
    elif family == "categorical":
        model = hmm.CategoricalHMM(K, emissionprob_prior=1.0, **common)
        model.emissionprob_ = params["emissionprob_init"]
    else:
        model = hmm.PoissonHMM(K, lambdas_prior=0.0, lambdas_weight=0.0, **common)
        model.lambdas_ = params["rates_init"]
    model.startprob_ = params["startprob_init"]
    model.transmat_ = params["transmat_init"]
    return model


FAMILY_CASES = [("gaussian", ct) for ct in COVARIANCE_TYPES] + [
    ("categorical", "diag"), ("poisson", "diag")]


@pytest.mark.parametrize("family, covariance_type", FAMILY_CASES)
def test_same_answers_as_hmmlearn(family, covariance_type):
    pytest.importorskip("hmmlearn")
    rng = np.random.RandomState(0)
    X = family_data(family, rng, sum(LENGTHS))
    params = starting_values(family, rng, covariance_type)
    theirs = hmmlearn_model(family, params, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, LENGTHS)
        ours = HMMEM(3, emission=family, covariance_type=covariance_type, max_iter=10,
                     tol=0, reg_covar=0, **params).fit(X, lengths=LENGTHS)
    assert theirs.monitor_.iter == ours.n_iter_ == 10
    pairs = [(ours.startprob_, theirs.startprob_), (ours.transmat_, theirs.transmat_)]
    if family == "gaussian":
        their_covariances = theirs._covars_
        if covariance_type == "spherical":
            their_covariances = their_covariances[:, 0]
        pairs += [(ours.means_, theirs.means_), (ours.covariances_, their_covariances)]
    elif family == "categorical":
        pairs += [(ours.emissionprob_, theirs.emissionprob_)]
    else:
        pairs += [(ours.rates_, theirs.lambdas_)]
    for mine, expected in pairs:
        np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-12)
    assert ours.score(X, lengths=LENGTHS) == pytest.approx(theirs.score(X, LENGTHS), rel=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X, lengths=LENGTHS),
                               theirs.predict_proba(X, LENGTHS), atol=1e-8)
    their_log_prob, their_path = theirs.decode(X, LENGTHS, algorithm="viterbi")
    our_log_prob, our_path = ours.decode(X, lengths=LENGTHS)
    assert our_log_prob == pytest.approx(their_log_prob, rel=1e-9)
    # Same path, or (categorical symbols make exact ties) an equally likely one.
    differ = our_path != their_path
    if differ.any():
        log_B = emission_log_likelihood(family, ours, X)
        assert path_log_prob(ours, log_B, their_path) == pytest.approx(
            path_log_prob(ours, log_B, our_path), rel=1e-12)


def path_log_prob(model, log_B, path):
    """Joint log-probability of the rows and a state path, over LENGTHS."""
    total = 0.0
    for rows in np.split(np.arange(len(path)), np.cumsum(LENGTHS)[:-1]):
        states = path[rows]
        total += np.log(model.startprob_[states[0]]) + log_B[rows, states].sum()
        total += np.log(model.transmat_[states[:-1], states[1:]]).sum()
    return total


# 3. Monotone; sequences are independent --------------------------------------------------
@pytest.mark.parametrize("family, covariance_type", FAMILY_CASES)
def test_log_likelihood_never_decreases(family, covariance_type):
    rng = np.random.RandomState(1)
    X = family_data(family, rng, sum(LENGTHS))
    params = starting_values(family, rng, covariance_type)
    model = HMMEM(3, emission=family, covariance_type=covariance_type, max_iter=30, tol=0,
                  reg_covar=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, lengths=LENGTHS)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


@pytest.fixture(scope="module")
def fitted_gaussian():
    rng = np.random.RandomState(2)
    X = gaussian_data(rng, sum(LENGTHS))
    model = HMMEM(3, covariance_type="full", random_state=0).fit(X, lengths=LENGTHS)
    return model, X


def split(X, lengths):
    return np.split(X, np.cumsum(lengths)[:-1])


def test_subset_of_sequences_gives_matching_rows(fitted_gaussian):
    model, X = fitted_gaussian
    parts = split(X, LENGTHS)
    full_proba = split(model.predict_proba(X, lengths=LENGTHS), LENGTHS)
    full_path = split(model.predict(X, lengths=LENGTHS), LENGTHS)
    scores = model.score_sequences(X, lengths=LENGTHS)
    chosen = [1, 3]
    subset = np.vstack([parts[i] for i in chosen])
    lengths = [LENGTHS[i] for i in chosen]
    np.testing.assert_allclose(model.predict_proba(subset, lengths=lengths),
                               np.vstack([full_proba[i] for i in chosen]), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(subset, lengths=lengths),
                                  np.concatenate([full_path[i] for i in chosen]))
    np.testing.assert_allclose(model.score_sequences(subset, lengths=lengths), scores[chosen],
                               rtol=1e-12)


def test_permuting_sequences_permutes_outputs(fitted_gaussian):
    model, X = fitted_gaussian
    parts = split(X, LENGTHS)
    permutation = [2, 0, 3, 1]
    permuted = np.vstack([parts[i] for i in permutation])
    lengths = [LENGTHS[i] for i in permutation]
    proba = split(model.transform(X, lengths=LENGTHS), LENGTHS)
    np.testing.assert_allclose(model.transform(permuted, lengths=lengths),
                               np.vstack([proba[i] for i in permutation]), rtol=1e-12)
    np.testing.assert_allclose(model.score_sequences(permuted, lengths=lengths),
                               model.score_sequences(X, lengths=LENGTHS)[permutation])
    assert model.score(permuted, lengths=lengths) == pytest.approx(
        model.score(X, lengths=LENGTHS), rel=1e-12)


def test_interleaved_ids_equal_contiguous_layout(fitted_gaussian):
    model, X = fitted_gaussian
    ids = np.repeat(np.arange(len(LENGTHS)), LENGTHS)
    interleaved_ids = np.random.RandomState(0).permutation(ids)
    # Row r of the contiguous layout goes to position[r]; each sequence keeps its order.
    position = np.empty(len(X), dtype=int)
    for i in range(len(LENGTHS)):
        position[ids == i] = np.flatnonzero(interleaved_ids == i)
    interleaved = np.empty_like(X)
    interleaved[position] = X
    np.testing.assert_allclose(
        model.predict_proba(interleaved, sequence_ids=interleaved_ids)[position],
        model.predict_proba(X, lengths=LENGTHS), rtol=1e-12)
    np.testing.assert_array_equal(
        model.predict(interleaved, sequence_ids=interleaved_ids)[position],
        model.predict(X, lengths=LENGTHS))
    assert model.score(interleaved, sequence_ids=interleaved_ids) == pytest.approx(
        model.score(X, lengths=LENGTHS), rel=1e-12)


# 4. Model selection by sequence ------------------------------------------------------------
@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def sequences_dataset(n_sequences=12, seed=3):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(20, 40, size=n_sequences)
    X = gaussian_data(rng, lengths.sum())
    return X, np.repeat(np.arange(n_sequences), lengths)


def test_grid_search_by_sequence_with_routing(routing):
    X, ids = sequences_dataset()
    search = GridSearchCV(HMMEM(random_state=0), {"n_components": [2, 3, 4]},
                          cv=GroupKFold(3))
    search.fit(X, groups=ids, sequence_ids=ids)
    splits = list(GroupKFold(3).split(X, groups=ids))
    assert search.cv_results_["params"][0] == {"n_components": 2}
    for k, (train, test) in enumerate(splits):
        score = search.cv_results_[f"split{k}_test_score"][0]
        assert not set(ids[train]) & set(ids[test])  # no sequence is split
        model = HMMEM(2, random_state=0).fit(X[train], sequence_ids=ids[train])
        per_sequence = model.score_sequences(X[test], sequence_ids=ids[test])
        assert score == pytest.approx(per_sequence.sum(), rel=1e-10)
    assert search.best_params_["n_components"] >= 2


def test_pipeline_in_grid_search_gives_finite_scores(routing):
    X, ids = sequences_dataset()
    search = GridSearchCV(make_pipeline(StandardScaler(), HMMEM(random_state=0)),
                          {"hmmem__n_components": [2, 3]}, cv=GroupKFold(3))
    search.fit(X, groups=ids, sequence_ids=ids)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_score_accepts_per_sequence_weights(fitted_gaussian):
    model, X = fitted_gaussian
    ids = np.repeat(np.arange(len(LENGTHS)), LENGTHS)
    weights = np.repeat([1.0, 2.0, 0.0, 1.0], LENGTHS)
    expected = model.score_sequences(X, lengths=LENGTHS) @ [1.0, 2.0, 0.0, 1.0]
    assert model.score(X, sequence_ids=ids, sample_weight=weights) == pytest.approx(expected)
    with pytest.raises(ValueError, match="constant within each sequence"):
        model.score(X, sequence_ids=ids, sample_weight=np.arange(len(X), dtype=float))


# 5. Restarts --------------------------------------------------------------------------------
def test_n_jobs_does_not_change_the_model():
    X, ids = sequences_dataset(8)
    fits = [
        HMMEM(3, n_init=3, random_state=0, init_params="random", n_jobs=n_jobs,
              max_iter=15).fit(X, sequence_ids=ids)
        for n_jobs in (1, 2)
    ]
    for name in ["startprob_", "transmat_", "means_", "covariances_", "lower_bound_"]:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))


def test_more_restarts_never_worse():
    X, ids = sequences_dataset(8)
    one = HMMEM(3, random_state=4, init_params="random").fit(X, sequence_ids=ids)
    many = HMMEM(3, random_state=4, init_params="random", n_init=5).fit(X, sequence_ids=ids)
    assert many.lower_bound_ >= one.lower_bound_


# max_iter=0 and API ------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_max_iter_zero_evaluates_the_start(family):
    rng = np.random.RandomState(5)
    params = starting_values(family, rng)
    X = family_data(family, rng, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = HMMEM(3, emission=family, max_iter=0, **params).fit(X, lengths=[30, 30])
    np.testing.assert_allclose(model.transmat_, params["transmat_init"])
    assert model.n_iter_ == 0
    assert model.lower_bound_ == pytest.approx(model.score(X, lengths=[30, 30]) / 60, rel=1e-12)


def test_fit_transform_passes_the_sequences(fitted_gaussian):
    _, X = fitted_gaussian
    model = HMMEM(3, random_state=0)
    out = model.fit_transform(X, lengths=LENGTHS)
    np.testing.assert_allclose(out, model.transform(X, lengths=LENGTHS))
    assert list(model.get_feature_names_out()) == ["state0", "state1", "state2"]


def test_fixed_params_are_kept():
    rng = np.random.RandomState(6)
    params = starting_values("gaussian", rng)
    X = gaussian_data(rng, 100)
    model = HMMEM(3, fixed_params=("transmat", "means"), max_iter=5, tol=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    np.testing.assert_array_equal(model.transmat_, params["transmat_init"])
    np.testing.assert_allclose(model.means_, params["means_init"], rtol=1e-12)
    assert not np.allclose(model.covariances_, params["covariances_init"])
    with pytest.raises(ValueError, match="fixed_params"):
        HMMEM(fixed_params=("rates",)).fit(X)


def test_sample_bic_and_map_decoding(fitted_gaussian):
    model, X = fitted_gaussian
    sample, states = model.sample(500, random_state=0)
    assert sample.shape == (500, 2) and states.shape == (500,)
    np.testing.assert_array_equal(model.sample(500, random_state=0)[0], sample)
    bic = model.bic(X, lengths=LENGTHS)
    expected_parameters = 2 + 6 + 3 * 2 + 3 * 3
    assert bic == pytest.approx(-2 * model.score(X, lengths=LENGTHS)
                                + expected_parameters * np.log(len(X)))
    log_prob, path = model.decode(X, lengths=LENGTHS, algorithm="map")
    np.testing.assert_array_equal(path, model.predict_proba(X, lengths=LENGTHS).argmax(axis=1))
    assert log_prob <= 0


# 7. Robust -----------------------------------------------------------------------------------
def test_unvisited_state_length_one_and_constant_feature_stay_finite():
    rng = np.random.RandomState(7)
    X = np.column_stack([rng.normal(size=60), np.full(60, 3.0)])
    means = np.array([[0.0, 3.0], [0.5, 3.0], [1e4, 3.0]])  # state 2 is never visited
    model = HMMEM(3, means_init=means, max_iter=20, random_state=0).fit(
        X, lengths=[1, 29, 30])
    for name in ["startprob_", "transmat_", "means_", "covariances_"]:
        assert np.all(np.isfinite(getattr(model, name))), name
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
    assert np.all(np.isfinite(model.predict_proba(X, lengths=[1, 29, 30])))


def test_impossible_sequence_is_an_error_for_every_decoder():
    X = np.array([[0], [1], [0], [1]] * 5)
    model = HMMEM(2, emission="categorical", n_symbols=3, random_state=0).fit(X)
    impossible = np.array([[0], [2], [1]])  # symbol 2 has probability zero in every state
    assert model.score(impossible) == -np.inf
    for method in ("predict", "predict_proba"):
        with pytest.raises(ValueError, match="zero probability"):
            getattr(model, method)(impossible)
    with pytest.raises(ValueError, match="zero probability"):
        model.decode(impossible, algorithm="viterbi")


def test_zero_count_symbol_and_prior():
    X = np.array([[0], [1], [0], [3], [1], [0]] * 10)  # symbol 2 never appears
    model = HMMEM(2, emission="categorical", n_symbols=4, random_state=0).fit(X)
    assert np.all(np.isfinite(model.emissionprob_))
    assert np.allclose(model.emissionprob_[:, 2], 0.0)
    smoothed = HMMEM(2, emission="categorical", n_symbols=4, random_state=0,
                     emissionprob_prior=np.full((2, 4), 2.0), transmat_prior=[[2, 1], [1, 2]]
                     ).fit(X)
    assert np.all(smoothed.emissionprob_[:, 2] > 0)
    assert np.isfinite(smoothed.score([[2], [0]]))


def test_bad_input_is_a_clear_error():
    X = gaussian_data(np.random.RandomState(8), 30)
    with pytest.raises(ValueError, match="lengths must sum"):
        HMMEM(2).fit(X, lengths=[10, 10])
    with pytest.raises(ValueError, match="lengths must be positive"):
        HMMEM(2).fit(X, lengths=[31, -1])
    with pytest.raises(ValueError, match="either lengths or sequence_ids"):
        HMMEM(2).fit(X, lengths=[30], sequence_ids=np.zeros(30))
    with pytest.raises(ValueError, match="sequence_ids must have shape"):
        HMMEM(2).fit(X, sequence_ids=np.zeros(3))
    with pytest.raises(ValueError, match="transmat_init"):
        HMMEM(2, transmat_init=[[0.5, 0.6], [0.5, 0.5]]).fit(X)
    Y = X.copy()
    Y[3, 1] = np.inf
    with pytest.raises(ValueError, match="X"):
        HMMEM(2).fit(Y)
    # NaN marks missing values for Gaussian emissions only (tests/test_hmm_missing.py)
    for emission in ("categorical", "poisson"):
        with pytest.raises(ValueError, match="X"):
            HMMEM(2, emission=emission).fit([[0.0], [np.nan], [1.0]])
    symbols = np.array([[0], [1], [2]] * 5)
    with pytest.raises(ValueError, match="n_symbols"):
        HMMEM(2, emission="categorical", n_symbols=2).fit(symbols)
    fitted = HMMEM(2, emission="categorical", random_state=0).fit(symbols)
    with pytest.raises(ValueError, match="n_symbols"):
        fitted.predict([[3], [0]])
    with pytest.raises(ValueError, match="integers"):
        HMMEM(2, emission="categorical").fit([[0.5], [1.0], [0.0]])
    with pytest.raises(ValueError, match="non-negative"):
        HMMEM(2, emission="poisson").fit([[1], [-2], [3]])
    with pytest.raises(ValueError, match="emission"):
        HMMEM(emission="gamma").fit(X)
    with pytest.raises(ValueError, match="transmat_prior"):
        HMMEM(2, transmat_prior=[1.0, 2.0]).fit(X)
    with pytest.raises(ValueError, match="startprob_prior"):
        HMMEM(2, startprob_prior=-1.0).fit(X)
    with pytest.raises(NotFittedError):
        HMMEM().predict(X)
    with pytest.raises(TypeError, match="keyword"):
        HMMEM(2).fit(X, [10, 20])  # hmmlearn's positional lengths would be ignored as y
    fitted = HMMEM(2, random_state=0).fit(X, lengths=[10, 20])
    with pytest.raises(TypeError, match="keyword"):
        fitted.score(X, [10, 20])
    with pytest.raises(TypeError):
        fitted.predict(X, [10, 20])


def test_input_is_not_modified(fitted_gaussian):
    model, X = fitted_gaussian
    copy = X.copy()
    lengths = np.array(LENGTHS)
    model.predict_proba(X, lengths=lengths)
    HMMEM(2, random_state=0).fit(X, lengths=lengths)
    np.testing.assert_array_equal(X, copy)
    np.testing.assert_array_equal(lengths, LENGTHS)


@pytest.mark.parametrize("family", FAMILIES)
def test_sample_follows_the_model(family):
    rng = np.random.RandomState(9)
    params = starting_values(family, rng)
    params["transmat_init"] = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05],
                                        [0.05, 0.05, 0.9]])
    model = fitted_at(family, params)
    X, states = model.sample(4000, random_state=1)
    assert len(X) == len(states) == 4000
    stays = np.mean(states[1:] == states[:-1])
    assert stays == pytest.approx(0.9, abs=0.03)
    first = states == 0
    if family == "gaussian":
        np.testing.assert_allclose(X[first].mean(axis=0), model.means_[0], atol=0.15)
    elif family == "categorical":
        frequencies = np.bincount(X[first, 0], minlength=4) / first.sum()
        np.testing.assert_allclose(frequencies, model.emissionprob_[0], atol=0.05)
    else:
        np.testing.assert_allclose(X[first].mean(axis=0), model.rates_[0], rtol=0.1)


def test_verbose_reports_progress(capsys):
    X = gaussian_data(np.random.RandomState(10), 200)
    HMMEM(2, verbose=1, verbose_interval=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "iteration 1" in out and "EM" in out
