"""hmmlearn 0.3's API on top of :class:`emlearn.HMMEM`.

A thin layer: the classes take hmmlearn's constructor arguments and expose its
attributes (``startprob_``, ``transmat_``, ``means_``, ``covars_``,
``monitor_``, ``n_features``, ...), letter-coded ``params`` and
``init_params``, positional ``lengths``, and parameters set before
:meth:`fit` (which then starts from them); every computation is
:class:`~emlearn.HMMEM`'s.  hmmlearn is never imported.

Differences from hmmlearn 0.3.3:

* ``implementation`` is accepted and ignored (HMMEM scales, and falls back to
  the log domain per sequence where scaling underflows).
* Parameters that need initialization get HMMEM's starting values: k-means
  emissions and, for ``transmat_``, a sticky matrix instead of hmmlearn's
  uniform one (a saddle point of the likelihood).
* ``tol`` is hmmlearn's (a gain of the total log-likelihood); ``fit`` passes
  HMMEM ``tol / n_samples``.
* ``GMMHMM`` reproduces hmmlearn's M-step (its prior parametrization and its
  covariances around the previous means, see
  :mod:`emlearn._core.families.gaussian_mixture`), except that mixture weights
  are clipped at zero.  ``GaussianHMM``'s ``min_covar`` is used by hmmlearn's
  initialization only, and ignored here.
"""

import logging
import sys
import warnings
from collections import deque

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .. import HMMEM
from .._core.families.gaussian_mixture import GaussianMixtureFamily, MixturePrior


def gmm_prior(covariance_type, n_components, n_mix, n_features, weights_prior=1.0,
              means_prior=0.0, means_weight=0.0, covars_prior=None, covars_weight=None):
    """hmmlearn ``GMMHMM``'s prior arguments as a canonical :class:`MixturePrior`.

    hmmlearn 0.3.3's ``GMMHMM`` M-step divides the covariances' numerator
    ``covars_prior^T + lambda dev dev^T + scatter`` by ``weight + covars_weight
    + d + 2`` (full) or ``state weight + n_mix + covars_weight + d + 1``
    (tied); for ``diag`` it reads ``covars_prior`` as ``alpha`` and
    ``covars_weight`` as ``beta`` of an inverse gamma, ``(2 beta + lambda dev^2
    + scatter) / (weight + 2 alpha + 3)``; for ``spherical`` ``(2 beta + lambda
    |dev|^2 + trace of scatter) / (d (weight + 1) + 2 alpha + 2)``.  ``None``
    takes hmmlearn's defaults (which make the full, tied and diag updates
    maximum likelihood; its spherical default does so only when ``n_mix ==
    n_features``, and is reproduced as it is).

    Returns
    -------
    prior : MixturePrior
    """
    K, M, d = n_components, n_mix, n_features
    kind = covariance_type
    defaults = {"full": (0.0, -(1.0 + d + 1.0)), "tied": (0.0, -(M + d + 1.0)),
                "diag": (-1.5, 0.0), "spherical": (-(M + 2.0) / 2.0, 0.0)}[kind]
    covars_prior = defaults[0] if covars_prior is None else covars_prior
    covars_weight = defaults[1] if covars_weight is None else covars_weight
    layout = GaussianMixtureFamily.covariance_shape(kind, K, M, d)
    offset_shape = MixturePrior.offset_shape(kind, K, M, d)
    base = MixturePrior.from_options(
        {"weights_prior": weights_prior, "means_prior": means_prior,
         "means_weight": means_weight}, kind, K, M, d)
    if kind in ("full", "tied"):
        psi = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), layout)
        scale = np.swapaxes(psi, -1, -2).copy()
        nu = np.broadcast_to(np.asarray(covars_weight, dtype=np.float64), offset_shape)
        offset = nu + d + 2.0 if kind == "full" else nu + M + d + 1.0
    elif kind == "diag":
        alpha = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), layout)
        beta = np.broadcast_to(np.asarray(covars_weight, dtype=np.float64), layout)
        scale, offset = 2.0 * beta, 2.0 * alpha + 3.0
    else:
        alpha = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), layout)
        beta = np.broadcast_to(np.asarray(covars_weight, dtype=np.float64), layout)
        scale, offset = 2.0 * beta / d, 1.0 + (2.0 * alpha + 2.0) / d
    return base._replace(covars_scale=np.array(scale, dtype=np.float64),
                         covars_offset=np.array(offset, dtype=np.float64))


class _GMMHMMFamily(GaussianMixtureFamily):
    """Gaussian-mixture emissions with hmmlearn ``GMMHMM``'s priors and covariance update."""

    def __init__(self, covariance_type, n_mix, n_components, gmm_options, prior=None):
        super().__init__(covariance_type, n_mix, 0.0, prior, n_components,
                         hmmlearn_covariances=True)
        self.gmm_options = gmm_options
        # hmmlearn regularizes its starting covariances by min_covar, never its M-step.
        self.gaussians.reg_covar = gmm_options.get("min_covar", 1e-3)

    def configure(self, X, sample_weight=None):
        options = {k: v for k, v in self.gmm_options.items() if k != "min_covar"}
        prior = gmm_prior(self.covariance.name, self.n_components, self.n_mix, X.shape[1],
                          **options)
        return _GMMHMMFamily(self.covariance.name, self.n_mix, self.n_components,
                             self.gmm_options, prior)


class _GMMHMMEstimator(HMMEM):
    """:class:`HMMEM` with hmmlearn ``GMMHMM``'s M-step (no ``reg_covar``).

    ``gmm_options`` (an attribute, not a parameter) holds hmmlearn's prior
    arguments: ``weights_prior``, ``means_prior``, ``means_weight``,
    ``covars_prior``, ``covars_weight``.
    """

    gmm_options = {}

    def _family(self):
        return _GMMHMMFamily(self.covariance_type, self.n_mix, self.n_components,
                             self.gmm_options)


_log = logging.getLogger(__name__)


class ConvergenceMonitor:
    """hmmlearn's convergence monitor: the log-likelihood after every iteration.

    Parameters
    ----------
    tol : float
        Convergence threshold on the gain of the total log-likelihood.
    n_iter : int
        Maximum number of iterations.
    verbose : bool
        Print one line per iteration to :data:`sys.stderr`.

    Attributes
    ----------
    history : deque
        The last two log-likelihoods.
    iter : int
        Iterations performed.
    """

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol, n_iter, verbose):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque()
        self.iter = 0

    def _reset(self):
        self.iter = 0
        self.history.clear()

    def report(self, log_prob):
        """Record the log-likelihood of one more iteration.

        Parameters
        ----------
        log_prob : float
        """
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else np.nan
            print(self._template.format(iter=self.iter + 1, log_prob=log_prob, delta=delta),
                  file=sys.stderr)
        self.history.append(log_prob)
        while len(self.history) > 2:
            self.history.popleft()
        self.iter += 1

    @property
    def converged(self):
        """Whether EM stopped: ``n_iter`` reached or a gain below ``tol``."""
        return (self.iter == self.n_iter
                or (len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol))


class _BaseHMM(BaseEstimator):
    """What the five classes share: hmmlearn's API, computed by :class:`HMMEM`."""

    _emission = None
    # letter -> (HMMEM parameter name, this class's attribute)
    _letters = {"s": ("startprob", "startprob_"), "t": ("transmat", "transmat_")}

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2, verbose=False,
                 params="st", init_params="st", implementation="log"):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)

    # -- the HMMEM doing the work ----------------------------------------------------------
    def _emission_options(self):
        """HMMEM arguments of the emission (subclasses)."""
        return {}

    def _emission_attributes(self):
        """HMMEM's fitted emission attributes from this object's (subclasses)."""
        raise NotImplementedError

    def _take_emission(self, estimator):
        """This object's emission attributes from a fitted HMMEM (subclasses)."""
        raise NotImplementedError

    def _hmmem(self, **overrides):
        options = dict(n_components=self.n_components, emission=self._emission,
                       startprob_prior=self.startprob_prior,
                       transmat_prior=self.transmat_prior, algorithm=self.algorithm,
                       random_state=self.random_state, max_iter=self.n_iter,
                       **self._emission_options())
        options.update(overrides)
        return self._estimator_class(**options)

    _estimator_class = HMMEM

    def _fitted(self):
        """An HMMEM holding this object's current parameters (set or fitted)."""
        estimator = self._hmmem()
        estimator.startprob_ = np.asarray(self.startprob_, dtype=np.float64)
        estimator.transmat_ = np.asarray(self.transmat_, dtype=np.float64)
        if getattr(self, "n_features", None) is None:  # parameters set by hand (hmmlearn's _check)
            self.n_features = self._emission_parameter().shape[-1]
        for name, value in self._emission_attributes().items():
            setattr(estimator, name, value)
        estimator.n_features_in_ = self.n_features
        return estimator

    def _emission_parameter(self):
        """An emission parameter whose last axis is the number of features (subclasses)."""
        return np.asarray(self.means_)

    def _needs_init(self, letter, attribute):
        if letter in self.init_params and hasattr(self, attribute):
            _log.warning("Even though the %r attribute is set, it will be overwritten during "
                         "initialization because 'init_params' contains %r", attribute, letter)
        return letter in self.init_params or not hasattr(self, attribute)

    def _starting_values(self):
        """HMMEM ``*_init`` arguments from the attributes that are set and kept."""
        inits = {}
        for letter, (name, attribute) in self._letters.items():
            if not self._needs_init(letter, attribute):
                inits[name] = getattr(self, attribute)
        return self._init_arguments(inits)

    def _starting_values_from_data(self, X, inits):
        """Starting values hmmlearn computes from the data itself (subclasses)."""
        return {}

    def _init_arguments(self, inits):
        """``{parameter: value}`` to HMMEM's ``*_init`` arguments (subclasses rename)."""
        return {f"{name}_init": value for name, value in inits.items()}

    def _check_and_set_n_features(self, X):
        n_features = X.shape[1]
        if getattr(self, "n_features", None) is not None and self.n_features != n_features:
            raise ValueError(f"Unexpected number of dimensions, got {n_features} but "
                             f"expected {self.n_features}")
        self.n_features = n_features

    def _validate(self, X):
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[:, None]
        return X

    def _run(self, X, lengths, max_iter):
        X = self._validate(X)
        self._check_and_set_n_features(X)
        inits = self._starting_values()
        inits.update(self._starting_values_from_data(X, inits))
        estimator = self._hmmem(max_iter=max_iter, fixed_params=self._fixed_params(),
                                tol=max(self.tol, 0.0) / len(X), **inits)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, lengths=None if lengths is None else np.atleast_1d(lengths))
        self.startprob_, self.transmat_ = estimator.startprob_, estimator.transmat_
        self._take_emission(estimator)
        return estimator, len(X)

    # -- hmmlearn's API ----------------------------------------------------------------------
    def _init(self, X, lengths=None):
        """Initialize the parameters in ``init_params`` (and those not set) from ``X``."""
        self._run(X, lengths, max_iter=0)

    def fit(self, X, lengths=None):
        """Estimate the parameters by Baum-Welch, starting from those already set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None
            Lengths of the consecutive sequences in ``X`` (positional, as hmmlearn).

        Returns
        -------
        self
        """
        estimator, n_samples = self._run(X, lengths, max_iter=self.n_iter)
        self.monitor_._reset()
        for lower_bound in estimator.lower_bounds_[:self.n_iter]:
            self.monitor_.report(lower_bound * n_samples)
        return self

    def score(self, X, lengths=None):
        """Total log-likelihood of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None

        Returns
        -------
        log_prob : float
        """
        return self._fitted().score(self._validate(X), lengths=lengths)

    def score_samples(self, X, lengths=None):
        """Log-likelihood and posterior state probabilities (hmmlearn's meaning).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None

        Returns
        -------
        log_prob : float
        posteriors : ndarray of shape (n_samples, n_components)
        """
        X = self._validate(X)
        estimator = self._fitted()
        return (estimator.score(X, lengths=lengths),
                estimator.predict_proba(X, lengths=lengths))

    def decode(self, X, lengths=None, algorithm=None):
        """Most likely states: Viterbi path (log joint probability) or posterior modes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None
        algorithm : {"viterbi", "map"}, default=None
            None: ``self.algorithm``.

        Returns
        -------
        log_prob : float
            ``map``: the sum of the largest posterior probabilities (as hmmlearn).
        state_sequence : ndarray of shape (n_samples,)
        """
        algorithm = algorithm or self.algorithm
        if algorithm not in ("viterbi", "map"):
            raise ValueError(f"Unknown decoder {algorithm!r}")
        X = self._validate(X)
        if algorithm == "map":
            posteriors = self.predict_proba(X, lengths)
            return posteriors.max(axis=1).sum(), posteriors.argmax(axis=1)
        return self._fitted().decode(X, lengths=lengths, algorithm="viterbi")

    def predict(self, X, lengths=None):
        """Most likely state of each row (per ``algorithm``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None

        Returns
        -------
        state_sequence : ndarray of shape (n_samples,)
        """
        return self.decode(X, lengths)[1]

    def predict_proba(self, X, lengths=None):
        """Posterior probability of each state for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None

        Returns
        -------
        posteriors : ndarray of shape (n_samples, n_components)
        """
        return self._fitted().predict_proba(self._validate(X), lengths=lengths)

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Generate a sequence from the model.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int or RandomState, default=None
            None: ``self.random_state``.
        currstate : int, default=None
            State of the first row; None draws it from ``startprob_``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of shape (n_samples,)
        """
        rng = check_random_state(self.random_state if random_state is None else random_state)
        X, states = self._fitted().sample(n_samples, random_state=rng, currstate=currstate)
        return self._sample_output(X), states

    def _sample_output(self, X):
        return X

    def get_stationary_distribution(self):
        """Stationary distribution of the chain.

        Returns
        -------
        pi : ndarray of shape (n_components,)
        """
        return self._fitted().get_stationary_distribution()

    def aic(self, X, lengths=None):
        """Akaike information criterion of the parameters in ``params``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None

        Returns
        -------
        aic : float
        """
        return self._criterion(X, lengths).aic(self._validate(X), lengths=lengths)

    def bic(self, X, lengths=None):
        """Bayesian information criterion of the parameters in ``params``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, default=None

        Returns
        -------
        bic : float
        """
        return self._criterion(X, lengths).bic(self._validate(X), lengths=lengths)

    def _criterion(self, X, lengths):
        estimator = self._fitted()
        estimator.fixed_params = self._fixed_params()
        return estimator

    def _fixed_params(self):
        """HMMEM's ``fixed_params``: the parameters whose letters are not in ``params``."""
        return tuple(name for letter, (name, _) in self._letters.items()
                     if letter not in self.params)


def _discrete(X):
    return np.asarray(X).astype(np.int64)


class GaussianHMM(_BaseHMM):
    """hmmlearn's ``GaussianHMM``: Gaussian emissions.

    Parameters are hmmlearn 0.3's; ``covars_`` returns full matrices for every
    covariance type and accepts the type's own layout, which ``_covars_``
    holds.  See the module's notes for the differences.
    """

    _emission = "gaussian"
    _letters = {**_BaseHMM._letters, "m": ("means", "means_"), "c": ("covariances", "_covars_")}

    def __init__(self, n_components=1, covariance_type="diag", min_covar=1e-3,
                 startprob_prior=1.0, transmat_prior=1.0, means_prior=0, means_weight=0,
                 covars_prior=1e-2, covars_weight=1, algorithm="viterbi", random_state=None,
                 n_iter=10, tol=1e-2, verbose=False, params="stmc", init_params="stmc",
                 implementation="log"):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    @property
    def covars_(self):
        """Covariances as full matrices, (n_components, n_features, n_features)."""
        covars, K = self._covars_, self.n_components
        d = self.means_.shape[1]
        if self.covariance_type == "full":
            return covars
        if self.covariance_type == "tied":
            return np.tile(covars, (K, 1, 1))
        if self.covariance_type == "diag":
            return np.stack([np.diag(c) for c in covars])
        return np.asarray(covars).reshape(K)[:, None, None] * np.eye(d)

    @covars_.setter
    def covars_(self, covars):
        covars = np.array(covars, dtype=np.float64, copy=True)
        if self.covariance_type == "spherical":
            covars = covars.reshape(len(covars))
        self._covars_ = covars

    def _starting_values_from_data(self, X, inits):
        """hmmlearn's start for covariances: the data's covariance (plus ``min_covar``),
        the same for every state, in the type's layout."""
        if "covariances_init" in inits:
            return {}
        d, K = X.shape[1], self.n_components
        data = np.atleast_2d(np.cov(X.T)) + self.min_covar * np.eye(d)
        start = {"full": lambda: np.tile(data, (K, 1, 1)), "tied": lambda: data,
                 "diag": lambda: np.tile(np.diag(data), (K, 1)),
                 "spherical": lambda: np.full(K, np.diag(data).mean())}[self.covariance_type]
        return {"covariances_init": start()}

    def _emission_options(self):
        return dict(covariance_type=self.covariance_type, reg_covar=0.0,
                    means_prior=self.means_prior, means_weight=self.means_weight,
                    covars_prior=self.covars_prior, covars_weight=self.covars_weight)

    def _emission_attributes(self):
        return {"means_": np.asarray(self.means_, dtype=np.float64),
                "covariances_": np.asarray(self._covars_, dtype=np.float64)}

    def _take_emission(self, estimator):
        self.means_ = estimator.means_
        self.covars_ = estimator.covariances_


class GMMHMM(_BaseHMM):
    """hmmlearn's ``GMMHMM``: each state emits from a mixture of ``n_mix`` Gaussians.

    hmmlearn's M-step and prior parametrization (:func:`gmm_prior`);
    ``covars_`` in hmmlearn's layout ((n_components, n_mix, ...), tied:
    (n_components, n_features, n_features)).
    """

    _emission = "gaussian_mixture"
    _estimator_class = _GMMHMMEstimator
    _letters = {**_BaseHMM._letters, "w": ("weights", "weights_"), "m": ("means", "means_"),
                "c": ("covariances", "covars_")}

    def __init__(self, n_components=1, n_mix=1, min_covar=1e-3, startprob_prior=1.0,
                 transmat_prior=1.0, weights_prior=1.0, means_prior=0.0, means_weight=0.0,
                 covars_prior=None, covars_weight=None, algorithm="viterbi",
                 covariance_type="diag", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params="stmcw", init_params="stmcw", implementation="log"):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.n_mix = n_mix
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    def _hmmem(self, **overrides):
        estimator = super()._hmmem(**overrides)
        estimator.gmm_options = dict(
            min_covar=self.min_covar, weights_prior=self.weights_prior,
            means_prior=self.means_prior,
            means_weight=self.means_weight, covars_prior=self.covars_prior,
            covars_weight=self.covars_weight)
        return estimator

    def _emission_options(self):
        return dict(covariance_type=self.covariance_type, n_mix=self.n_mix, reg_covar=0.0)

    def _emission_attributes(self):
        return {"weights_": np.asarray(self.weights_, dtype=np.float64),
                "means_": np.asarray(self.means_, dtype=np.float64),
                "covariances_": np.asarray(self.covars_, dtype=np.float64)}

    def _take_emission(self, estimator):
        self.weights_ = estimator.weights_
        self.means_ = estimator.means_
        self.covars_ = estimator.covariances_


class CategoricalHMM(_BaseHMM):
    """hmmlearn's ``CategoricalHMM``: one column of symbols ``0 .. n_features - 1``."""

    _emission = "categorical"
    _letters = {**_BaseHMM._letters, "e": ("emissionprob", "emissionprob_")}

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, *,
                 emissionprob_prior=1.0, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", implementation="log"):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation)
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    def _check_and_set_n_features(self, X):
        if X.shape[1] != 1 or not np.issubdtype(X.dtype, np.integer) or X.min() < 0:
            raise ValueError("Symbols should be nonnegative integers")
        seen = int(X.max()) + 1
        if self.n_features is None:
            self.n_features = seen
        elif seen > self.n_features:
            raise ValueError(f"Largest symbol is {seen - 1} but the model only emits symbols "
                             f"up to {self.n_features - 1}")

    def _validate(self, X):
        X = np.asarray(X)
        return X.reshape(-1, 1) if X.ndim == 1 else X

    def _emission_options(self):
        return dict(n_symbols=self.n_features, emissionprob_prior=self.emissionprob_prior)

    def _emission_parameter(self):
        return np.asarray(self.emissionprob_)

    def _emission_attributes(self):
        return {"emissionprob_": np.asarray(self.emissionprob_, dtype=np.float64),
                "n_symbols_": self.n_features}

    def _fitted(self):
        estimator = super()._fitted()
        estimator.n_features_in_ = 1
        return estimator

    def _take_emission(self, estimator):
        self.emissionprob_ = estimator.emissionprob_

    _sample_output = staticmethod(_discrete)


class MultinomialHMM(_BaseHMM):
    """hmmlearn's ``MultinomialHMM``: each row counts ``n_trials`` draws over the symbols."""

    _emission = "multinomial"
    _letters = {**_BaseHMM._letters, "e": ("emissionprob", "emissionprob_")}

    def __init__(self, n_components=1, n_trials=None, startprob_prior=1.0,
                 transmat_prior=1.0, algorithm="viterbi", random_state=None, n_iter=10,
                 tol=1e-2, verbose=False, params="ste", init_params="ste",
                 implementation="log"):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation)
        self.n_trials = n_trials

    def _check_and_set_n_features(self, X):
        super()._check_and_set_n_features(X)
        if not np.issubdtype(X.dtype, np.integer) or X.min() < 0:
            raise ValueError("Symbol counts should be nonnegative integers")
        if self.n_trials is None:
            self.n_trials = X.sum(axis=1)
        elif not (X.sum(axis=1) == self.n_trials).all():
            raise ValueError("Total count for each sample should add up to the number of "
                             "trials")

    def _common_trials(self):
        trials = np.unique(np.atleast_1d(self.n_trials)) if self.n_trials is not None else []
        return int(trials[0]) if len(trials) == 1 else None

    def _emission_options(self):
        return dict(n_trials=self._common_trials())

    def _emission_parameter(self):
        return np.asarray(self.emissionprob_)

    def _emission_attributes(self):
        return {"emissionprob_": np.asarray(self.emissionprob_, dtype=np.float64),
                "n_trials_": self._common_trials()}

    def _take_emission(self, estimator):
        self.emissionprob_ = estimator.emissionprob_

    _sample_output = staticmethod(_discrete)


class PoissonHMM(_BaseHMM):
    """hmmlearn's ``PoissonHMM``: non-negative integer counts, rates ``lambdas_``."""

    _emission = "poisson"
    _letters = {**_BaseHMM._letters, "l": ("rates", "lambdas_")}

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 lambdas_prior=0.0, lambdas_weight=0.0, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="stl",
                 init_params="stl", implementation="log"):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm,
                         random_state, n_iter, tol, verbose, params, init_params,
                         implementation)
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight

    def _emission_options(self):
        return dict(lambdas_prior=self.lambdas_prior, lambdas_weight=self.lambdas_weight)

    def _emission_parameter(self):
        return np.asarray(self.lambdas_)

    def _emission_attributes(self):
        return {"rates_": np.asarray(self.lambdas_, dtype=np.float64)}

    def _take_emission(self, estimator):
        self.lambdas_ = estimator.rates_

    _sample_output = staticmethod(_discrete)
