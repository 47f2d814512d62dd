"""Gaussian mixture models fitted by EM: :class:`GaussianMixtureEM`."""

import contextlib
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core.em import fit_restarts, run_em
from ._core.gaussian import (
    EMPTY_COMPONENT_GUARD,
    COVARIANCE_TYPES,
    CenteredData,
    GaussianStatistics,
    covariance_type,
)
from ._core.init import INIT_METHODS, initial_responsibilities
from ._core.logsumexp import exp_normalize, logsumexp
from ._core.missing import (
    ConditionalGaussians,
    ExpectedMoments,
    IncompleteData,
)
from ._core.threads import single_threaded_blas
from ._core import criteria
from ._core import validation as v


class MixtureParams(NamedTuple):
    """Parameters of a Gaussian mixture (means relative to the data's shift)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    def shifted(self, offset):
        """The same mixture with ``offset`` added to every mean."""
        return self._replace(means=self.means + offset)


class GaussianMixtureModel:
    """The EM model of a Gaussian mixture (pure functions of data and params).

    ``data`` is a :class:`~emlearn._core.gaussian.CenteredData`.  Starting
    values given by the user (``weights_init``, ``means_init`` relative to the
    shift, ``precisions_init``) override the ones computed from the initial
    responsibilities.
    """

    def __init__(self, n_components, family, reg_covar=0.0, init_params="kmeans",
                 weights_init=None, means_init=None, precisions_init=None):
        self.n_components = n_components
        self.family = family
        self.reg_covar = reg_covar
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init

    def initialize(self, data, random_state):
        given = (self.weights_init, self.means_init, self.precisions_init)
        if any(value is None for value in given):
            resp = initial_responsibilities(
                data.X, self.n_components, self.init_params, random_state,
                data.sample_weight,
            )
            params = self.m_step(self.statistics(data, resp.T), None)
        else:
            params = MixtureParams(None, None, None, None)
        if self.weights_init is not None:
            params = params._replace(weights=self.weights_init)
        if self.means_init is not None:
            params = params._replace(means=self.means_init)
        if self.precisions_init is not None:
            chol = self.family.precisions_cholesky_from_precisions(self.precisions_init)
            params = params._replace(
                precisions_cholesky=chol,
                covariances=self.family.covariances_from_precisions_cholesky(chol),
            )
        return params

    def statistics(self, data, resp):
        """Sufficient statistics for given responsibilities ``resp`` (K, n)."""
        stats = GaussianStatistics.zeros(
            self.n_components, self.family.n_statistics(data.n_features)
        )
        for start, stop, T in data.chunks(self.family):
            r = resp[:, start:stop]
            w = data.weights(start, stop)
            stats.add(r if w is None else r * w, T)
        return stats

    def weighted_log_prob_chunks(self, data, params):
        """Yield ``(start, stop, T, log(w_k) + log N(x | k))`` per chunk, (K, n)."""
        theta, const = self.family.natural_parameters(
            params.means, params.precisions_cholesky
        )
        with np.errstate(divide="ignore"):
            const = const + np.log(params.weights)
        for start, stop, T in data.chunks(self.family):
            log_prob = theta @ T
            log_prob += const[:, None]
            yield start, stop, T, log_prob

    def weighted_log_prob(self, data, params):
        """``log(w_k) + log N(x | k)`` of every row, shape (n_components, n_samples)."""
        out = np.empty((self.n_components, data.n_samples))
        for start, stop, _, log_prob in self.weighted_log_prob_chunks(data, params):
            out[:, start:stop] = log_prob
        return out

    def e_step(self, data, params):
        stats = GaussianStatistics.zeros(
            self.n_components, self.family.n_statistics(data.n_features)
        )
        log_likelihood = 0.0
        for start, stop, T, log_prob in self.weighted_log_prob_chunks(data, params):
            resp, log_norm = exp_normalize(log_prob, axis=0, out=log_prob)
            w = data.weights(start, stop)
            if w is None:
                log_likelihood += log_norm.sum()
            else:
                log_likelihood += log_norm @ w
                resp *= w
            stats.add(resp, T)
        return log_likelihood / data.total_weight, stats

    def m_step(self, stats, params):
        nk = stats.nk + EMPTY_COMPONENT_GUARD
        means, covariances = self.family.estimate(stats.nk, stats.moments, self.reg_covar)
        return MixtureParams(
            nk / nk.sum(),
            means,
            covariances,
            self.family.precisions_cholesky(covariances),
        )


class IncompleteGaussianMixtureModel(GaussianMixtureModel):
    """The EM model of a Gaussian mixture on rows with missing entries.

    ``data`` is a :class:`~emlearn._core.missing.IncompleteData`.  Densities
    are those of each row's observed coordinates; the M-step is the complete
    data one, fed with expected statistics (:mod:`emlearn._core.missing`).
    """

    def initialize(self, data, random_state):
        # The usual start, on the data with missing entries set to the
        # observed column means: it needs no complete row.
        return super().initialize(data.mean_imputed(), random_state)

    def _gaussians(self, params):
        return ConditionalGaussians(
            self.family, params.means, params.covariances, params.precisions_cholesky
        )

    def _conditionals(self, data, params, gaussians):
        """Yield ``(block, conditionals)``, log-densities including ``log(w_k)``."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        for block in data.blocks:
            conditionals = gaussians.condition(data, block)
            conditionals.log_prob[...] += log_weights[:, None]
            yield block, conditionals

    def weighted_log_prob(self, data, params):
        out = np.empty((self.n_components, data.n_samples))
        with single_threaded_blas():
            for block, conditionals in self._conditionals(data, params, self._gaussians(params)):
                out[:, data.order[block.start:block.stop]] = conditionals.log_prob
        return out

    def e_step(self, data, params):
        gaussians = self._gaussians(params)
        moments = ExpectedMoments(self.n_components, data.n_features)
        log_likelihood = 0.0
        for block, conditionals in self._conditionals(data, params, gaussians):
            log_prob = conditionals.log_prob
            resp, log_norm = exp_normalize(log_prob, axis=0, out=log_prob)
            w = data.weights(block)
            if w is None:
                log_likelihood += log_norm.sum()
            else:
                log_likelihood += log_norm @ w
                resp *= w
            moments.add(block, conditionals, resp)
        statistics = moments.statistics(self.family, gaussians.covariances)
        return log_likelihood / data.total_weight, statistics

    def impute(self, data, params, random_state=None):
        """The rows of ``data`` with missing entries filled in (original order).

        Without ``random_state``, each missing entry gets its posterior mean
        (the responsibility-weighted conditional means of the components);
        with one, a draw from its posterior: a component from the
        responsibilities, then the values from its conditional Gaussian.
        Returned in the coordinates of ``data.X`` (``shift`` added back).
        """
        gaussians = self._gaussians(params)
        out = np.empty((data.n_samples, data.n_features))
        with single_threaded_blas():
            for block, conditionals in self._conditionals(data, params, gaussians):
                resp, _ = exp_normalize(conditionals.log_prob, axis=0,
                                        out=conditionals.log_prob)
                if random_state is None:
                    rows = np.einsum("kn,knd->nd", resp, conditionals.completed)
                else:
                    rows = gaussians.draw(data, block, conditionals, resp, random_state)
                out[data.order[block.start:block.stop]] = rows
        return out + data.shift


class GaussianMixtureEM(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by EM, with parallel restarts.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the same
    parameters, fitted attributes and methods, plus ``n_jobs`` (restarts run in
    parallel through joblib) and ``sample_weight`` in :meth:`fit`.  With the
    same starting values it reaches the same parameters.

    Missing values (NaN) are allowed everywhere: each row is scored by the
    marginal density of its observed coordinates, and EM fits the
    maximum-likelihood model of the observed data (missing coordinates enter
    the M-step through their conditional moments).  A row with nothing
    observed has log-likelihood 0 and responsibilities equal to the weights.
    Data without NaN take the complete-data path, unchanged.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        ``full``: each component has its own covariance matrix; ``tied``: all
        components share one; ``diag``: diagonal covariance per component;
        ``spherical``: one variance per component.
    tol : float, default=1e-3
        EM stops when the change of the lower bound (mean log-likelihood per
        sample) is below ``tol``.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance, which
        keeps them positive definite.  With ``reg_covar > 0`` the M-step is
        regularized, so the log-likelihood may decrease very slightly between
        iterations; with ``reg_covar=0`` it never decreases.
    max_iter : int, default=100
        Maximum number of EM iterations per initialization.  ``0`` evaluates
        the starting values: the fitted parameters are the initial ones and
        ``lower_bound_`` is their log-likelihood.
    n_init : int, default=1
        Number of initializations; the one with the highest lower bound wins.
    init_params : {"kmeans", "k-means++", "random", "random_from_data", \
            "hierarchical"}, default="kmeans"
        How starting responsibilities are drawn.  ``hierarchical`` cuts a
        model-based agglomerative clustering (as R's mclust starts EM) at
        ``n_components`` clusters: deterministic given the data, it ignores
        ``random_state``, so ``n_init > 1`` repeats the same start (see
        :class:`GaussianMixtureSearch`, which combines it with random starts).
    weights_init : array-like of shape (n_components,), default=None
        Starting weights.
    means_init : array-like of shape (n_components, n_features), default=None
        Starting means.
    precisions_init : array-like, default=None
        Starting precisions (inverse covariances), shaped as ``precisions_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initializations (and :meth:`sample`).  The seeds of all
        restarts are drawn before they are dispatched, so results do not
        depend on ``n_jobs``.
    warm_start : bool, default=False
        If True and the model is fitted, :meth:`fit` continues from the
        current parameters (a single run; ``n_init`` is ignored).
    verbose : int, default=0
        0 is silent; 1 reports each run and every ``verbose_interval``
        iterations; 2 adds timings.
    verbose_interval : int, default=10
        Iterations between progress reports.
    n_jobs : int, default=None
        Number of restarts run in parallel (joblib); ``None`` means 1 unless
        in a :func:`joblib.parallel_config` context, ``-1`` all processors.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing proportions.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Component covariances: (n_components, n_features, n_features) for
        ``full``, (n_features, n_features) for ``tied``, (n_components,
        n_features) for ``diag`` and (n_components,) for ``spherical``.
    precisions_ : ndarray
        Inverses of ``covariances_``, same shape.
    precisions_cholesky_ : ndarray
        Upper-triangular ``U`` with ``precisions_ = U @ U.T`` (square roots for
        ``diag`` / ``spherical``), same shape.
    converged_ : bool
        Whether the best run converged.
    n_iter_ : int
        EM iterations of the best run.
    lower_bound_ : float
        Mean log-likelihood per sample of the best run (at its last E-step).
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration of the best run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.mixture.GaussianMixture : The scikit-learn estimator this one mirrors.
    emlearn.HMMEM : Gaussian emissions with a Markov chain over the components.

    Notes
    -----
    Second moments are accumulated in float64 around the data mean, so float32
    input and data far from the origin keep their precision; float32 input
    gives float32 attributes and outputs.

    With missing values, rows are grouped by missingness pattern and each
    block of patterns costs one batched factorization
    (:mod:`emlearn._core.missing`); starting values come from the data with
    missing entries replaced by the observed column means.  A column with no
    observed value is an error.

    Examples
    --------
    >>> import numpy as np
    >>> from emlearn import GaussianMixtureEM
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixtureEM(n_components=2, random_state=0).fit(X)
    >>> gm.means_
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]])
    array([0, 1])
    >>> gm.weights_
    array([0.5, 0.5])

    Missing coordinates are integrated out:

    >>> gm.predict([[np.nan, 3.0], [11.0, np.nan]])
    array([0, 1])
    >>> gm.predict_proba([[np.nan, np.nan]])
    array([[0.5, 0.5]])
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- validation --------------------------------------------------------------
    def _check_hyperparameters(self):
        v.check_integer("n_components", self.n_components, minimum=1)
        v.check_option("covariance_type", self.covariance_type, COVARIANCE_TYPES)
        v.check_real("tol", self.tol, minimum=0)
        v.check_real("reg_covar", self.reg_covar, minimum=0)
        v.check_integer("max_iter", self.max_iter, minimum=0)
        v.check_integer("n_init", self.n_init, minimum=1)
        v.check_option("init_params", self.init_params, INIT_METHODS)
        v.check_bool("warm_start", self.warm_start)
        v.check_verbose(self.verbose)
        v.check_integer("verbose_interval", self.verbose_interval, minimum=1)
        v.check_n_jobs(self.n_jobs)

    def _model(self, data):
        """The EM model, with user starting values moved to centered coordinates."""
        family = covariance_type(self.covariance_type)
        k, d = self.n_components, data.n_features
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = v.check_probabilities("weights_init", self.weights_init, (k,))
        if self.means_init is not None:
            means = v.check_array_init("means_init", self.means_init, (k, d)) - data.shift
        if self.precisions_init is not None:
            precisions = family.check_precisions(self.precisions_init, k, d, "precisions_init")
        model = (
            IncompleteGaussianMixtureModel if isinstance(data, IncompleteData)
            else GaussianMixtureModel
        )
        return model(k, family, self.reg_covar, self.init_params, weights, means, precisions)

    # -- fitting -----------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM (``n_init`` runs, the best is kept).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks missing entries.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight counts a row that many
            times, a zero weight removes it.

        Returns
        -------
        self : GaussianMixtureEM
            The fitted estimator.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most likely component of each row.

        Equivalent to ``fit(X).predict(X)`` (a final E-step guarantees it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, as in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        model, data, params = self._fit(X, sample_weight)
        # A final E-step so that fit_predict(X) == fit(X).predict(X) always.
        return self._log_resp_argmax(model, data, params)

    def _fit(self, X, sample_weight):
        """Validate, run EM, set the fitted attributes; return the model, data and params."""
        self._check_hyperparameters()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2,
                          ensure_all_finite="allow-nan")
        sample_weight = v.check_sample_weight(sample_weight, X.shape[0])
        n_used = X.shape[0] if sample_weight is None else int(np.count_nonzero(sample_weight))
        if n_used < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_used}"
                + ("" if sample_weight is None else " (rows with non-zero weight)")
            )
        data = _training_data(X, sample_weight, self.n_components)
        model = self._model(data)
        with _blas_threads(data):
            run = self._run_em(model, data)
        if not run.converged and self.max_iter > 0:
            warnings.warn(
                "EM did not converge in max_iter iterations for the best "
                "initialization. Increase max_iter or tol, or try other "
                "starting values.",
                ConvergenceWarning,
            )
        self._set_fitted(run, data, X.dtype)
        return model, data, run.params

    def _run_em(self, model, data):
        options = dict(
            tol=self.tol, max_iter=self.max_iter, verbose=self.verbose,
            verbose_interval=self.verbose_interval,
        )
        if self.warm_start and hasattr(self, "converged_"):
            return run_em(
                model, data, self._current_params(data),
                previous_lower_bound=self.lower_bound_, **options,
            )
        return fit_restarts(
            model, data, n_init=self.n_init, random_state=self.random_state,
            n_jobs=self.n_jobs, **options,
        )

    def _current_params(self, data):
        """Fitted parameters in the centered coordinates of ``data`` (warm start)."""
        if self.means_.shape[1] != data.n_features:
            raise ValueError(
                f"X has {data.n_features} features, but the warm-started model "
                f"was fitted with {self.means_.shape[1]}."
            )
        return self._fitted_params(data.shift)

    def _fitted_params(self, shift):
        """The fitted parameters in float64, means relative to ``shift``."""
        return MixtureParams(
            self.weights_.astype(np.float64),
            self.means_.astype(np.float64) - shift,
            self.covariances_.astype(np.float64),
            self.precisions_cholesky_.astype(np.float64),
        )

    def _set_fitted(self, run, data, dtype):
        family = covariance_type(self.covariance_type)
        params = run.params.shifted(data.shift)
        self.weights_ = params.weights.astype(dtype)
        self.means_ = params.means.astype(dtype)
        self.covariances_ = params.covariances.astype(dtype)
        self.precisions_cholesky_ = params.precisions_cholesky.astype(dtype)
        self.precisions_ = family.precisions(params.precisions_cholesky).astype(dtype)
        self.converged_ = run.converged
        self.n_iter_ = run.n_iter
        self.lower_bound_ = run.lower_bound
        self.lower_bounds_ = list(run.lower_bounds)

    # -- inference ---------------------------------------------------------------
    def _inference(self, X):
        """Validated data and model/params in a common centered frame."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        shift = self.weights_.astype(np.float64) @ self.means_.astype(np.float64)
        family = covariance_type(self.covariance_type)
        if np.isnan(X).any():
            data = IncompleteData(X, shift, n_components=self.n_components)
            model = IncompleteGaussianMixtureModel(self.n_components, family)
        else:
            data = CenteredData(X, shift)
            model = GaussianMixtureModel(self.n_components, family)
        return X, data, model, self._fitted_params(shift)

    def _log_resp_argmax(self, model, data, params):
        return np.argmax(model.weighted_log_prob(data, params), axis=0)

    def _impute(self, X, random_state=None):
        """``X`` with its NaN entries filled in under the model (float64 copy).

        Posterior means, or posterior draws when ``random_state`` (a
        ``RandomState``) is given.  The engine of :class:`~emlearn.EMImputer`.
        """
        X, data, model, params = self._inference(X)
        if not isinstance(data, IncompleteData):
            return X.astype(np.float64)
        return model.impute(data, params, random_state)

    def predict(self, X):
        """Most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        _, data, model, params = self._inference(X)
        return self._log_resp_argmax(model, data, params)

    def predict_proba(self, X):
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        X, data, model, params = self._inference(X)
        log_prob = model.weighted_log_prob(data, params)
        resp, _ = exp_normalize(log_prob, axis=0, out=log_prob)
        return resp.T.astype(X.dtype)

    def score_samples(self, X):
        """Log-likelihood of each row under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        X, data, model, params = self._inference(X)
        return logsumexp(model.weighted_log_prob(data, params), axis=0).astype(
            X.dtype
        )

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood per row (weighted when ``sample_weight`` is given).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_likelihood : float
        """
        log_prob = self.score_samples(X).astype(np.float64)
        weights = v.check_sample_weight(sample_weight, log_prob.shape[0])
        return float(np.average(log_prob, weights=weights))

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Uses ``random_state`` as scikit-learn does: with an integer seed, every
        call returns the same draws.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            The component each sample was drawn from.
        """
        check_is_fitted(self)
        v.check_integer("n_samples", n_samples, minimum=1)
        rng = check_random_state(self.random_state)
        family = covariance_type(self.covariance_type)
        weights = self.weights_.astype(np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        covariances = self.covariances_.astype(np.float64)
        draws = [
            family.sample(rng, self.means_[k].astype(np.float64), covariances, k, count)
            for k, count in enumerate(counts)
        ]
        labels = np.repeat(np.arange(self.n_components), counts)
        return np.vstack(draws).astype(self.means_.dtype), labels

    def _n_parameters(self):
        n_features = self.means_.shape[1]
        family = covariance_type(self.covariance_type)
        return (
            family.n_parameters(self.n_components, n_features)
            + self.n_components * n_features
            + self.n_components
            - 1
        )

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        n_samples = len(X)
        return criteria.bic(self.score(X) * n_samples, self._n_parameters(), n_samples)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        return criteria.aic(self.score(X) * len(X), self._n_parameters())


def _training_data(X, sample_weight, n_components):
    """The EM data for ``X``: pattern-grouped when it has NaN, the fast path if not."""
    missing = np.isnan(X)
    if not missing.any():
        return CenteredData.from_data(X, sample_weight)
    observed = ~missing if sample_weight is None else ~missing & (sample_weight > 0)[:, None]
    empty = np.flatnonzero(~observed.any(axis=0))
    if empty.size:
        raise ValueError(
            f"X has no observed value in column(s) {empty.tolist()}: their parameters "
            "cannot be estimated. Drop these columns (EMImputer drops or keeps them "
            "per keep_empty_features)."
        )
    return IncompleteData(X, sample_weight=sample_weight, n_components=n_components)


def _blas_threads(data):
    """One BLAS thread for the small kernels of the missing-data E-step.

    Restarts dispatched to joblib workers are limited by joblib itself.
    """
    if isinstance(data, IncompleteData):
        return single_threaded_blas()
    return contextlib.nullcontext()
