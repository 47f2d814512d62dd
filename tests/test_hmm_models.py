"""HMMEM models and options: priors on emissions (against hmmlearn), structural zeros."""

import warnings

import numpy as np
import pytest
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
