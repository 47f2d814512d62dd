"""Gaussian-mixture emissions (hmmlearn's GMMHMM): agreement with hmmlearn 0.3.3 from the same
start, priors, the M-step proper, validation."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from emlearn import HMMEM
from emlearn.compat.hmmlearn import _GMMHMMEstimator

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
LENGTHS = [60, 90, 45, 105]
K, M, D = 3, 2, 2


def mixture_rows(rng, n=sum(LENGTHS)):
    states = rng.randint(K, size=n)
    side = rng.randint(M, size=n)
    centers = 4.0 * states[:, None] * np.array([1.0, -0.5]) + 1.5 * (2 * side[:, None] - 1)
    return centers + rng.normal(size=(n, D)) * [1.0, 0.7]


def start(rng, covariance_type):
    matrix = np.array([[1.5, 0.3], [0.3, 1.2]])
    covariances = {"full": np.stack([np.stack([matrix * (1 + 0.1 * j) for j in range(M)])] * K),
                   "tied": np.stack([matrix] * K),
                   "diag": np.full((K, M, D), 1.3),
                   "spherical": np.full((K, M), 1.4)}[covariance_type]
    means = (4.0 * np.arange(K)[:, None, None] * np.array([1.0, -0.5])
             + np.array([-1.0, 1.0])[None, :, None] + rng.normal(size=(K, M, D)) * 0.5)
    return dict(startprob=rng.dirichlet(np.ones(K)), transmat=rng.dirichlet(3 * np.ones(K), K),
                weights=rng.dirichlet(3 * np.ones(M), K), means=means,
                covars=covariances)


def hmmlearn_priors(rng, covariance_type):
    """Non-trivial priors in hmmlearn GMMHMM's parametrization."""
    psi = np.array([[0.5, 0.1], [0.1, 0.7]])
    covars = {"full": (np.stack([np.stack([psi * (k + j + 1) for j in range(M)])
                                 for k in range(K)]), 3.0),
              "tied": (np.stack([psi * (k + 1) for k in range(K)]), 2.0),
              "diag": (0.5, rng.uniform(0.2, 0.6, size=(K, M, D))),
              "spherical": (0.2, rng.uniform(0.2, 0.6, size=(K, M)))}[covariance_type]
    return dict(weights_prior=2.0, means_prior=rng.normal(size=(K, M, D)), means_weight=1.5,
                covars_prior=covars[0], covars_weight=covars[1])


def fit_hmmlearn(covariance_type, X, begin, params="stmcw", **priors):
    hmm = pytest.importorskip("hmmlearn.hmm")
    theirs = hmm.GMMHMM(K, n_mix=M, covariance_type=covariance_type, n_iter=10, tol=-1e300,
                        init_params="", params=params, implementation="scaling", **priors)
    theirs.startprob_, theirs.transmat_ = begin["startprob"], begin["transmat"]
    theirs.weights_, theirs.means_ = begin["weights"], begin["means"]
    theirs.covars_ = begin["covars"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, LENGTHS)
    return theirs


def our_start(begin):
    return dict(startprob_init=begin["startprob"], transmat_init=begin["transmat"],
                weights_init=begin["weights"], means_init=begin["means"],
                covariances_init=begin["covars"])


def assert_agree(ours, theirs, rtol=1e-6):
    worst = 0.0
    for mine, expected in [(ours.startprob_, theirs.startprob_),
                           (ours.transmat_, theirs.transmat_), (ours.weights_, theirs.weights_),
                           (ours.means_, theirs.means_), (ours.covariances_, theirs.covars_)]:
        np.testing.assert_allclose(mine, expected, rtol=rtol, atol=1e-12)
        worst = max(worst, float(np.max(np.abs(mine - expected) / np.abs(expected))))
    return worst


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_hmmlearn_gmmhmm_update_agrees_with_hmmlearn(covariance_type):
    """hmmlearn's own update (priors in its parametrization, scatter around the previous
    means), all parameters learned: 10 iterations agree to rtol 1e-6 (measured ~1e-12)."""
    rng = np.random.RandomState(0)
    X = mixture_rows(rng)
    begin = start(rng, covariance_type)
    priors = hmmlearn_priors(rng, covariance_type)
    chain = dict(startprob_prior=2.0, transmat_prior=3.0)
    theirs = fit_hmmlearn(covariance_type, X, begin, **priors, **chain)
    ours = _GMMHMMEstimator(K, emission="gaussian_mixture", n_mix=M,
                            covariance_type=covariance_type, max_iter=10, tol=0, **chain,
                            **our_start(begin))
    ours.gmm_options = priors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, lengths=LENGTHS)
    assert assert_agree(ours, theirs) < 1e-9
    # The priors moved the estimate: hmmlearn's defaults give another one.
    plain = fit_hmmlearn(covariance_type, X, begin, **chain)
    assert not np.allclose(plain.covars_, theirs.covars_, rtol=1e-3)


def gaussianhmm_meaning_as_hmmlearn_gmm(covariance_type, covars_prior, covars_weight):
    """HMMEM's (GaussianHMM's) ``covars_prior``/``covars_weight`` in GMMHMM's terms."""
    if covariance_type in ("full", "tied"):
        offset = max(covars_weight - D, 0.0)
        nu = offset - D - 2 if covariance_type == "full" else offset - M - D - 1
        return dict(covars_prior=covars_prior, covars_weight=nu)
    offset = max(covars_weight - 1, 0.0)
    if covariance_type == "diag":
        return dict(covars_prior=(offset - 3) / 2, covars_weight=covars_prior / 2)
    return dict(covars_prior=((offset - 1) * D - 2) / 2, covars_weight=covars_prior * D / 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_hmmem_gaussian_mixture_agrees_with_hmmlearn_with_fixed_means(covariance_type):
    """HMMEM's own M-step and prior arguments (GaussianHMM's meaning): with the means fixed,
    where the scatter's center is the same in both, 10 iterations agree with hmmlearn."""
    rng = np.random.RandomState(1)
    X = mixture_rows(rng)
    begin = start(rng, covariance_type)
    scale = {"full": np.stack([np.stack([np.eye(D) * (0.3 + j + k) for j in range(M)])
                               for k in range(K)]),
             "tied": np.stack([np.eye(D) * (0.4 + k) for k in range(K)]),
             "diag": rng.uniform(0.2, 0.8, size=(K, M, D)),
             "spherical": rng.uniform(0.2, 0.8, size=(K, M))}[covariance_type]
    weight = 6.0
    means_prior = rng.normal(size=(K, M, D))
    theirs = fit_hmmlearn(covariance_type, X, begin, params="stcw", weights_prior=3.0,
                          means_prior=means_prior, means_weight=0.7,
                          **gaussianhmm_meaning_as_hmmlearn_gmm(covariance_type, scale, weight))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = HMMEM(K, emission="gaussian_mixture", n_mix=M, covariance_type=covariance_type,
                     max_iter=10, tol=0, reg_covar=0, fixed_params=("means",),
                     weights_prior=3.0, means_prior=means_prior, means_weight=0.7,
                     covars_prior=scale, covars_weight=weight, **our_start(begin)
                     ).fit(X, lengths=LENGTHS)
    assert assert_agree(ours, theirs) < 1e-9


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_m_step_proper_never_decreases_the_likelihood_and_differs_from_hmmlearns(
        covariance_type):
    rng = np.random.RandomState(2)
    X = mixture_rows(rng)
    begin = our_start(start(rng, covariance_type))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = HMMEM(K, emission="gaussian_mixture", n_mix=M, covariance_type=covariance_type,
                     max_iter=15, tol=0, reg_covar=0, **begin).fit(X, lengths=LENGTHS)
        quirk = _GMMHMMEstimator(K, emission="gaussian_mixture", n_mix=M,
                                 covariance_type=covariance_type, max_iter=15, tol=0,
                                 **begin)
        quirk.gmm_options = {} if covariance_type != "spherical" else {
            # hmmlearn's default spherical prior is maximum likelihood only when n_mix == d
            "covars_prior": -(D + 2.0) / 2.0}
        quirk.fit(X, lengths=LENGTHS)
    assert np.all(np.diff(ours.lower_bounds_) >= -1e-12)
    assert np.all(np.diff(quirk.lower_bounds_) >= -1e-12)
    # Both are EM; the M-step proper climbs at least as fast here.
    assert ours.lower_bounds_[3] >= quirk.lower_bounds_[3] - 1e-12
    assert not np.allclose(ours.covariances_, quirk.covariances_, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_one_mixture_component_is_the_gaussian_emission(covariance_type):
    rng = np.random.RandomState(3)
    X = mixture_rows(rng)
    begin = start(rng, covariance_type)
    covariances = begin["covars"][:, 0]
    common = dict(startprob_init=begin["startprob"], transmat_init=begin["transmat"],
                  covariance_type=covariance_type, max_iter=5, tol=0,
                  means_prior=0.3, means_weight=0.5, covars_prior=0.2, covars_weight=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gaussian = HMMEM(K, means_init=begin["means"][:, 0], covariances_init=covariances,
                         **common).fit(X, lengths=LENGTHS)
        mixture = HMMEM(K, emission="gaussian_mixture", n_mix=1,
                        means_init=begin["means"][:, :1], covariances_init=covariances[:, None],
                        **common).fit(X, lengths=LENGTHS)
    np.testing.assert_allclose(mixture.means_[:, 0], gaussian.means_, rtol=1e-10)
    np.testing.assert_allclose(mixture.covariances_[:, 0], gaussian.covariances_, rtol=1e-10)
    np.testing.assert_allclose(mixture.transmat_, gaussian.transmat_, rtol=1e-10)
    np.testing.assert_array_equal(mixture.weights_, 1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_fit_sample_and_shapes(covariance_type):
    rng = np.random.RandomState(4)
    X = mixture_rows(rng)
    model = HMMEM(K, emission="gaussian_mixture", n_mix=M, covariance_type=covariance_type,
                  random_state=0).fit(X, lengths=LENGTHS)
    assert model.weights_.shape == (K, M)
    assert model.means_.shape == (K, M, D)
    np.testing.assert_allclose(model.weights_.sum(axis=1), 1.0)
    expected = {"full": (K, M, D, D), "tied": (K, D, D), "diag": (K, M, D),
                "spherical": (K, M)}[covariance_type]
    assert model.covariances_.shape == expected
    sample, states = model.sample(50, random_state=0)
    assert sample.shape == (50, D) and states.shape == (50,)
    per_state = {"full": M * 3, "tied": 3, "diag": M * D, "spherical": M}[covariance_type]
    assert model._n_parameters() == (K - 1) + K * (K - 1) + K * (M - 1) + K * M * D \
        + K * per_state


@pytest.mark.parametrize("arguments, message", [
    (dict(n_mix=0), "n_mix"),
    (dict(weights_prior=-1.0), "weights_prior"),
    (dict(weights_init=np.full((K, 3), 1 / 3)), "weights_init must have shape"),
    (dict(weights_init=np.full((K, M), 0.3)), "weights_init must sum to 1"),
    (dict(means_init=np.zeros((K, D))), "means_init must have shape"),
    (dict(covariances_init=np.ones((K, D))), "covariances_init for covariance_type='diag'"),
    (dict(means_prior=np.zeros((K, 5, D))), "means_prior must be a scalar or broadcast"),
    (dict(fixed_params=("rates",)), "fixed_params"),
])
def test_gaussian_mixture_arguments_are_validated_with_their_names(arguments, message):
    X = mixture_rows(np.random.RandomState(5))
    with pytest.raises((ValueError, TypeError), match=message):
        HMMEM(K, emission="gaussian_mixture", n_mix=M, **arguments).fit(X)
