"""HMMEM models and options: priors on emissions (against hmmlearn), structural zeros."""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from emlearn import HMMEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
LENGTHS = [40, 65, 25, 50]
K, D = 3, 2


def gaussian_rows(rng, n=sum(LENGTHS)):
    states = rng.randint(K, size=n)
    return rng.normal(size=(n, D)) + 3.0 * states[:, None] * np.array([1.0, -0.5])


def start_covariances(covariance_type, scale=1.5):
    matrix = np.array([[scale, 0.3], [0.3, scale]])
    return {"full": np.stack([matrix] * K), "tied": matrix,
            "diag": np.full((K, D), scale), "spherical": np.full(K, scale)}[covariance_type]


def prior_scale(covariance_type):
    """A non-trivial ``covars_prior`` in our layout and in hmmlearn's."""
    matrix = np.array([[0.5, 0.1], [0.1, 0.7]])
    ours = {"full": np.stack([matrix * (k + 1) for k in range(K)]), "tied": matrix,
            "diag": np.array([[0.4, 0.2], [0.3, 0.6], [0.5, 0.5]]),
            "spherical": np.array([0.4, 0.3, 0.6])}[covariance_type]
    theirs = np.repeat(ours[:, None], D, axis=1) if covariance_type == "spherical" else ours
    return ours, theirs


# 1. Priors on emission parameters: hmmlearn's M-step, from the same start -------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_priors_agree_with_hmmlearn(covariance_type):
    hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.RandomState(0)
    X = gaussian_rows(rng)
    start = dict(startprob_init=rng.dirichlet(np.ones(K)),
                 transmat_init=rng.dirichlet(3 * np.ones(K), size=K),
                 means_init=rng.normal(size=(K, D)) * 2,
                 covariances_init=start_covariances(covariance_type))
    ours_scale, their_scale = prior_scale(covariance_type)
    priors = dict(means_prior=rng.normal(size=(K, D)), means_weight=2.0, covars_weight=5.0,
                  startprob_prior=2.0, transmat_prior=3.0)
    theirs = hmm.GaussianHMM(K, covariance_type=covariance_type, min_covar=0, n_iter=10,
                             tol=-1e300, init_params="", implementation="scaling",
                             covars_prior=their_scale, **priors)
    theirs.startprob_, theirs.transmat_ = start["startprob_init"], start["transmat_init"]
    theirs.means_, theirs.covars_ = start["means_init"], start["covariances_init"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, LENGTHS)
        ours = HMMEM(K, covariance_type=covariance_type, max_iter=10, tol=0, reg_covar=0,
                     covars_prior=ours_scale, **priors, **start).fit(X, lengths=LENGTHS)
    their_covariances = theirs._covars_[:, 0] if covariance_type == "spherical" \
        else theirs._covars_
    for mine, expected in [(ours.startprob_, theirs.startprob_),
                           (ours.transmat_, theirs.transmat_), (ours.means_, theirs.means_),
                           (ours.covariances_, their_covariances)]:
        np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-12)
    # The prior moved the estimate: a fit without it differs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = HMMEM(K, covariance_type=covariance_type, max_iter=10, tol=0, reg_covar=0,
                      **start).fit(X, lengths=LENGTHS)
    assert not np.allclose(plain.covariances_, ours.covariances_, rtol=1e-3)


def test_a_scalar_covars_prior_is_a_multiple_of_the_identity():
    rng = np.random.RandomState(1)
    X = gaussian_rows(rng)
    kwargs = dict(covariance_type="full", max_iter=3, tol=0, reg_covar=0, random_state=0,
                  covars_weight=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scalar = HMMEM(K, covars_prior=0.3, **kwargs).fit(X)
        array = HMMEM(K, covars_prior=np.stack([0.3 * np.eye(D)] * K), **kwargs).fit(X)
    np.testing.assert_array_equal(scalar.covariances_, array.covariances_)


def test_poisson_rates_are_the_gamma_posterior_mean():
    """With the states known exactly (fixed chain, one symbol-perfect state per row)."""
    rng = np.random.RandomState(2)
    X = rng.poisson([[1.0, 4.0]], size=(50, 2))
    alpha, beta = np.array([[2.0, 1.0]]), 3.0
    model = HMMEM(1, emission="poisson", lambdas_prior=alpha, lambdas_weight=beta,
                  max_iter=2, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    np.testing.assert_allclose(model.rates_, (alpha + X.sum(axis=0)) / (beta + len(X)),
                               rtol=1e-12)


@pytest.mark.parametrize("arguments, message", [
    (dict(means_prior=np.zeros((2, 5))), "means_prior must be a scalar or have shape"),
    (dict(means_weight=np.ones(7)), "means_weight must be a scalar or have shape"),
    (dict(means_weight=-1.0), "means_weight"),
    (dict(covars_prior=np.ones((4, 4, 4))), "covars_prior for covariance_type"),
    (dict(covars_prior=np.nan), "covars_prior must be finite"),
    (dict(emission="poisson", lambdas_prior=np.ones((3, 3))), "lambdas_prior must be"),
    (dict(emission="poisson", lambdas_weight=-1.0), "lambdas_weight"),
])
def test_priors_are_validated_with_their_names(arguments, message):
    X = np.abs(gaussian_rows(np.random.RandomState(3))).round()
    with pytest.raises((ValueError, TypeError), match=message):
        HMMEM(K, **arguments).fit(X)


def test_priors_are_stored_unchanged():
    prior = np.ones((K, D))
    model = HMMEM(K, means_prior=prior, covars_prior=0.5)
    assert model.get_params()["means_prior"] is prior
    assert model.get_params()["covars_prior"] == 0.5


# 2. Structural zeros ---------------------------------------------------------------------------
@pytest.mark.parametrize("emission", ["gaussian", "categorical"])
def test_zeros_of_the_starting_chain_stay_exactly_zero(emission):
    rng = np.random.RandomState(4)
    left_right = np.array([[0.8, 0.2, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]])
    states = [0]
    for _ in range(299):
        states.append(rng.choice(3, p=left_right[states[-1]]))
    states = np.array(states)
    if emission == "gaussian":
        X = rng.normal(size=(300, 1)) + 4.0 * states[:, None]
    else:
        X = (rng.uniform(size=(300, 1)) < 0.2).astype(int) + 2 * states[:, None]
    model = HMMEM(3, emission=emission, startprob_init=[1.0, 0.0, 0.0],
                  transmat_init=[[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]],
                  startprob_prior=2.0, transmat_prior=2.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, lengths=[100, 100, 100])
    np.testing.assert_array_equal(model.startprob_[1:], 0.0)
    np.testing.assert_array_equal(model.transmat_[np.tril_indices(3, -1)], 0.0)
    assert model.transmat_[0, 2] == 0.0
    # ... while the prior still acts on the allowed entries.
    assert model.transmat_[2, 2] == 1.0
    assert 0 < model.transmat_[0, 1] < 1


# 3. Defaults that find structure -----------------------------------------------------------------
def markov_chain(rng, n, transmat, first=0):
    cumulative = np.cumsum(transmat, axis=1)
    states = np.empty(n, dtype=int)
    states[0] = first
    uniforms = rng.uniform(size=n)
    for t in range(1, n):
        states[t] = min(np.searchsorted(cumulative[states[t - 1]], uniforms[t], side="right"),
                        len(transmat) - 1)
    return states


def dishonest_casino(n=30000, seed=0):
    """hmmlearn's tutorial: a fair and a loaded die, sticky switching."""
    rng = np.random.RandomState(seed)
    transmat = np.array([[0.95, 0.05], [0.1, 0.9]])
    emissionprob = np.array([[1 / 6] * 6, [1 / 10] * 5 + [1 / 2]])
    states = markov_chain(rng, n, transmat)
    cumulative = np.cumsum(emissionprob, axis=1)[states]
    rolls = (rng.uniform(size=(n, 1)) > cumulative).sum(axis=1, keepdims=True)
    return rolls, dict(startprob_init=[1.0, 0.0], transmat_init=transmat,
                       emissionprob_init=emissionprob)


def sticky(K=3, stay=0.95):
    return np.full((K, K), (1 - stay) / (K - 1)) + np.eye(K) * (stay - (1 - stay) / (K - 1))


def sticky_gaussian(n=5000, seed=0):
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0], [1.5, 0.5], [0.0, 1.5]])
    states = markov_chain(rng, n, sticky())
    return means[states] + rng.normal(size=(n, 2)), dict(
        startprob_init=np.eye(3)[0], transmat_init=sticky(), means_init=means,
        covariances_init=np.ones((3, 2)), reg_covar=0)


def sticky_poisson(n=5000, seed=0):
    rng = np.random.RandomState(seed)
    rates = np.array([[2.0], [4.0], [7.0]])
    states = markov_chain(rng, n, sticky())
    return rng.poisson(rates[states]), dict(startprob_init=np.eye(3)[0],
                                            transmat_init=sticky(), rates_init=rates)


@pytest.mark.parametrize("emission, make", [("categorical", dishonest_casino),
                                            ("gaussian", sticky_gaussian),
                                            ("poisson", sticky_poisson)])
def test_defaults_reach_the_true_models_likelihood(emission, make):
    X, truth = make()
    K = len(truth["transmat_init"])
    true_score = HMMEM(K, emission=emission, max_iter=0, **truth).fit(X).score(X)
    reached = 0
    for seed in range(10):
        model = HMMEM(K, emission=emission, random_state=seed).fit(X)
        assert model.converged_
        reached += model.score(X) >= true_score * (1 + 1e-3)
    assert reached >= 9


def test_a_memoryless_start_never_reports_convergence():
    X, _ = dishonest_casino(5000)
    with pytest.warns(ConvergenceWarning, match="saddle point"):
        model = HMMEM(2, emission="categorical", transmat_init=np.full((2, 2), 0.5),
                      random_state=0, tol=1e-3).fit(X)
    assert not model.converged_
    # ... but a fixed memoryless chain is the user's choice (a mixture).
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fixed = HMMEM(2, emission="categorical", transmat_init=np.full((2, 2), 0.5),
                      fixed_params=("transmat",), random_state=0).fit(X)
    assert fixed.converged_


# 4. Filtering, semi-supervised fit, stationary distribution, sampling, score_samples -----------
def all_paths(T, K):
    return np.array(list(itertools.product(range(K), repeat=T)))


def path_log_joint(log_B, startprob, transmat, paths):
    T = log_B.shape[0]
    with np.errstate(divide="ignore"):
        joint = np.log(startprob)[paths[:, 0]] + log_B[np.arange(T), paths].sum(axis=1)
        joint += np.log(transmat)[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    return joint


def fitted_gaussian(K=3, **kwargs):
    rng = np.random.RandomState(5)
    start = dict(startprob_init=rng.dirichlet(np.ones(K)),
                 transmat_init=rng.dirichlet(2 * np.ones(K), size=K),
                 means_init=rng.normal(size=(K, D)) * 2, covariances_init=np.ones((K, D)))
    X = gaussian_rows(rng, 20)
    return HMMEM(K, max_iter=0, **start, **kwargs).fit(X), start


def emission_log_likelihood(model, X):
    variances = model.covariances_
    return np.stack([-0.5 * (((X - m) ** 2 / v) + np.log(2 * np.pi * v)).sum(axis=1)
                     for m, v in zip(model.means_, variances)], axis=1)


def test_filtering_and_score_samples_against_all_state_paths():
    model, _ = fitted_gaussian()
    rng = np.random.RandomState(6)
    lengths = [4, 1, 5]
    X = gaussian_rows(rng, sum(lengths))
    filtered = model.predict_proba(X, lengths=lengths, filtered=True)
    log_density = model.score_samples(X, lengths=lengths)
    log_B = emission_log_likelihood(model, X)
    for rows in np.split(np.arange(len(X)), np.cumsum(lengths)[:-1]):
        previous_total = 0.0
        for t in range(len(rows)):
            prefix = rows[: t + 1]
            paths = all_paths(t + 1, K)
            joint = path_log_joint(log_B[prefix], model.startprob_, model.transmat_, paths)
            total = logsumexp(joint)
            expected = np.bincount(paths[:, -1], weights=np.exp(joint - total), minlength=K)
            np.testing.assert_allclose(filtered[rows[t]], expected, atol=1e-12)
            np.testing.assert_allclose(log_density[rows[t]], total - previous_total,
                                       rtol=1e-10)
            previous_total = total
    np.testing.assert_allclose(log_density.sum(), model.score(X, lengths=lengths), rtol=1e-12)
    # The last row of a sequence: filtering and smoothing coincide.
    smoothed = model.predict_proba(X, lengths=lengths)
    np.testing.assert_allclose(filtered[np.cumsum(lengths) - 1],
                               smoothed[np.cumsum(lengths) - 1], atol=1e-12)


def test_filtering_of_long_interleaved_sequences_matches_the_log_domain_recursion():
    """Sequences longer than a chain, cut across chains and given by shuffled ids."""
    from emlearn._hmm.filtering import _log_domain_filter

    model, _ = fitted_gaussian()
    rng = np.random.RandomState(10)
    lengths = [700, 3, 260, 1, 410]
    X = gaussian_rows(rng, sum(lengths))
    ids = rng.permutation(np.repeat(np.arange(len(lengths)), lengths))
    filtered = model.predict_proba(X, sequence_ids=ids, filtered=True)
    log_density = model.score_samples(X, sequence_ids=ids)
    log_B = emission_log_likelihood(model, X)
    for label in range(len(lengths)):
        rows = np.flatnonzero(ids == label)
        expected, expected_density = _log_domain_filter(log_B[rows], model.startprob_,
                                                        model.transmat_)
        np.testing.assert_allclose(filtered[rows], expected, atol=1e-10)
        np.testing.assert_allclose(log_density[rows], expected_density, rtol=1e-9)
    np.testing.assert_allclose(log_density.sum(),
                               model.score(X, sequence_ids=ids), rtol=1e-10)


def test_filtering_survives_underflow_and_reports_impossible_rows():
    model, _ = fitted_gaussian()
    X = np.vstack([gaussian_rows(np.random.RandomState(7), 30), [[1e5, -1e5]],
                   gaussian_rows(np.random.RandomState(8), 30)])
    filtered = model.predict_proba(X, filtered=True)
    np.testing.assert_allclose(filtered.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.score_samples(X).sum(), model.score(X), rtol=1e-10)
    impossible = HMMEM(2, emission="categorical", emissionprob_init=[[1.0, 0.0], [1.0, 0.0]],
                       max_iter=0).fit([[0], [1]])
    with pytest.raises(ValueError, match="zero probability"):
        impossible.predict_proba([[0], [1], [0]], filtered=True)


def test_semi_supervised_e_step_against_paths_consistent_with_the_labels():
    model, start = fitted_gaussian()
    rng = np.random.RandomState(9)
    lengths = [5, 4]
    X = gaussian_rows(rng, sum(lengths))
    states = np.array([-1, 2, -1, -1, 0, -1, -1, 1, -1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one_step = HMMEM(K, max_iter=1, tol=0, reg_covar=0, fixed_params=("means", "covariances"),
                         **start).fit(X, lengths=lengths, states=states)
    log_B = emission_log_likelihood(model, X)
    total, first, transitions = 0.0, np.zeros(K), np.zeros((K, K))
    for rows in np.split(np.arange(len(X)), np.cumsum(lengths)[:-1]):
        paths = all_paths(len(rows), K)
        labels = states[rows]
        consistent = np.all((labels < 0) | (paths == labels), axis=1)
        paths = paths[consistent]
        joint = path_log_joint(log_B[rows], model.startprob_, model.transmat_, paths)
        log_likelihood = logsumexp(joint)
        total += log_likelihood
        weights = np.exp(joint - log_likelihood)
        first += np.bincount(paths[:, 0], weights=weights, minlength=K)
        for path, w in zip(paths, weights):
            np.add.at(transitions, (path[:-1], path[1:]), w)
    assert one_step.lower_bound_ * len(X) == pytest.approx(total, rel=1e-10)
    np.testing.assert_allclose(one_step.startprob_, first / first.sum(), atol=1e-12)
    np.testing.assert_allclose(one_step.transmat_,
                               transitions / transitions.sum(axis=1, keepdims=True), atol=1e-12)


def test_known_states_fix_the_meaning_of_the_states():
    rng = np.random.RandomState(10)
    truth = markov_chain(rng, 400, sticky(2, 0.9))
    X = rng.normal(loc=2.0 * truth[:, None], size=(400, 1))
    states = np.full(400, -1)
    labelled = rng.choice(400, size=20, replace=False)
    states[labelled] = 1 - truth[labelled]          # the labels name state 0 "1"
    model = HMMEM(2, random_state=0).fit(X, states=states)
    assert model.means_[1, 0] < model.means_[0, 0]
    assert np.mean(model.predict(X) == 1 - truth) > 0.9
    # y stays ignored (scikit-learn's estimator checks pass arbitrary targets).
    ignored = HMMEM(2, random_state=0).fit(X, truth + 5)
    assert np.all(np.isfinite(ignored.means_))


@pytest.mark.parametrize("states, message", [
    (np.full(10, 3), "states must lie in -1"), (np.full(9, -1), r"states must have shape"),
    (np.full(10, 0.5), "integer state indices")])
def test_states_are_validated(states, message):
    with pytest.raises(ValueError, match=message):
        HMMEM(2).fit(gaussian_rows(np.random.RandomState(0), 10), states=states)


def test_stationary_distribution_and_sampling_from_a_state():
    model, _ = fitted_gaussian()
    pi = model.get_stationary_distribution()
    np.testing.assert_allclose(pi @ model.transmat_, pi, atol=1e-12)
    assert pi.sum() == pytest.approx(1.0)
    X, states = model.sample(2000, random_state=0, currstate=2)
    assert states[0] == 2
    np.testing.assert_allclose(np.bincount(states, minlength=K) / 2000, pi, atol=0.05)
    with pytest.raises(ValueError, match="currstate"):
        model.sample(5, currstate=K)


# 5. Multinomial emissions ---------------------------------------------------------------
def test_multinomial_agrees_with_hmmlearn():
    hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.RandomState(11)
    probabilities = rng.dirichlet(np.ones(4), size=K)
    X = np.stack([rng.multinomial(5, probabilities[k])
                  for k in rng.randint(K, size=sum(LENGTHS))])
    start = dict(startprob_init=rng.dirichlet(np.ones(K)),
                 transmat_init=rng.dirichlet(3 * np.ones(K), size=K),
                 emissionprob_init=rng.dirichlet(np.ones(4), size=K))
    theirs = hmm.MultinomialHMM(K, n_trials=5, n_iter=10, tol=-1e300, init_params="",
                                implementation="scaling")
    theirs.startprob_, theirs.transmat_ = start["startprob_init"], start["transmat_init"]
    theirs.emissionprob_ = start["emissionprob_init"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, LENGTHS)
        ours = HMMEM(K, emission="multinomial", max_iter=10, tol=0, **start).fit(
            X, lengths=LENGTHS)
    for mine, expected in [(ours.startprob_, theirs.startprob_),
                           (ours.transmat_, theirs.transmat_),
                           (ours.emissionprob_, theirs.emissionprob_)]:
        np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-12)
    assert ours.score(X, lengths=LENGTHS) == pytest.approx(theirs.score(X, LENGTHS), rel=1e-10)
    assert ours.n_trials_ == 5
    sample, _ = ours.sample(20, random_state=0)
    np.testing.assert_array_equal(sample.sum(axis=1), 5)


def test_multinomial_rows_are_checked():
    with pytest.raises(ValueError, match="n_trials = 4"):
        HMMEM(2, emission="multinomial", n_trials=4).fit([[1, 2], [2, 2], [0, 4]])
    with pytest.raises(ValueError, match="X must hold integers"):
        HMMEM(2, emission="multinomial").fit([[0.5, 2], [2, 2], [0, 4]])
    mixed = HMMEM(2, emission="multinomial", random_state=0).fit([[1, 2], [2, 2], [0, 4]])
    assert mixed.n_trials_ is None
    with pytest.raises(ValueError, match="needs n_trials"):
        mixed.sample(3)
