"""Gaussian mixture models fitted by EM: :class:`GaussianMixtureEM`."""

import functools
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core import criteria
from ._core import validation as v
from ._core.blocks import (BlockedData, BlockedModel, check_dask_array, is_dask_array,
                           map_rows, prepare_block, prepare_rows, set_input_attributes)
from ._core.em import EMRun, fit_restarts, restart_seeds, run_em, stream_step
from ._core.estimator import em_constraints, warn_about_run
from ._core.families import GaussianFamily
from ._core.init import INIT_METHODS
from ._core.mixture_model import MixtureModel, MixtureParams
from ._core.threads import single_threaded_blas
from sklearn.utils._param_validation import Interval, StrOptions


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
    learning_decay : float in (0.5, 1], default=0.6
        :meth:`partial_fit` only: chunk ``t`` enters the running statistics
        with weight ``(learning_offset + t) ** -learning_decay``.  Smaller
        values forget old chunks faster.
    learning_offset : float, default=1.0
        :meth:`partial_fit` only: larger values slow the first updates down.

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
        learning_decay=0.6,
        learning_offset=1.0,
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
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    _parameter_constraints = em_constraints(
        init_params=[StrOptions(set(INIT_METHODS))],
        weights_init=["array-like", None],
        means_init=["array-like", None],
        precisions_init=["array-like", None],
        warm_start=["boolean"],
        learning_decay=[Interval(Real, 0.5, 1.0, closed="right")],
        learning_offset=[Interval(Real, 0, None, closed="left")],
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _family(self):
        return GaussianFamily(self.covariance_type, self.reg_covar)

    def _model(self, family, n_features):
        """The EM model, with the user's starting values validated (as copies)."""
        k = self.n_components
        inits, components = {}, {}
        if self.weights_init is not None:
            inits["weights"] = v.check_probabilities("weights_init", self.weights_init, (k,))
        if self.precisions_init is not None:
            precisions = family.check_init("precisions", self.precisions_init, k, n_features)
            components = family.params_from_precisions(None, precisions)
            del components["means"]
        if self.means_init is not None:
            components["means"] = family.check_init("means", self.means_init, k, n_features)
        if components:
            inits["components"] = components
        return MixtureModel(k, family, self.init_params, inits)

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
        if is_dask_array(X):
            return self.fit(X, sample_weight=sample_weight).predict(X)
        model, data, params = self._fit(X, sample_weight)
        # A final E-step so that fit_predict(X) == fit(X).predict(X) always.
        with single_threaded_blas():
            return np.argmax(model.predict_proba(data, params), axis=1)

    def _fit(self, X, sample_weight):
        """Validate, run EM, set the fitted attributes; return the model, data and params."""
        self._validate_params()
        if is_dask_array(X):
            return self._fit_blocks(X, sample_weight)
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
        random_state = v.check_random_state("random_state", self.random_state)
        family = self._family()
        family = family.configure(family.check_X(X), sample_weight)
        data = family.prepare(X, sample_weight, self.n_components)
        model = self._model(family, X.shape[1])
        with single_threaded_blas():
            run = self._run_em(model, data, random_state)
        warn_about_run(run, self.max_iter)
        self._set_fitted(run, family, X.dtype)
        self._stream = None  # a later partial_fit starts a new stream
        return model, data, run.params

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one chunk of rows (stepwise EM, one pass).

        The first call (or the first after :meth:`fit`) initializes from its
        chunk, which needs at least ``n_components`` rows.  Each call scores
        its chunk with the current parameters, mixes the chunk's sufficient
        statistics into running ones with weight ``(learning_offset + t) **
        -learning_decay`` (``t`` chunks seen so far), and re-estimates the
        parameters from them: memory does not grow with the stream.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of rows; NaN marks missing entries.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureEM
            ``lower_bound_`` is the chunk's mean log-likelihood before the
            update and ``n_iter_`` the number of chunks seen.
        """
        state = getattr(self, "_stream", None)
        first = state is None
        if first:
            self._validate_params()
        X = validate_data(self, X, reset=first, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        sample_weight = v.check_sample_weight(sample_weight, X.shape[0])
        family = self._family()
        family.check_X(X)
        if first:
            family = family.configure(X, sample_weight)
            if X.shape[0] < self.n_components:
                raise ValueError(
                    f"The first chunk must have n_samples >= n_components = "
                    f"{self.n_components}, got {X.shape[0]}.")
            data = family.prepare(X, sample_weight, self.n_components)
            model = self._model(family, X.shape[1])
            seed = restart_seeds(v.check_random_state("random_state", self.random_state), 1)
            random_state = np.random.RandomState(seed[0])
        else:
            params = state.params
            data = family.prepare(X, sample_weight, self.n_components,
                                  shift=family.center(params.components, params.weights))
            model, random_state = MixtureModel(self.n_components, family), None
        with single_threaded_blas():
            state, lower_bound = stream_step(model, data, state, decay=self.learning_decay,
                                             offset=self.learning_offset,
                                             random_state=random_state)
        run = EMRun(state.params, lower_bound, [lower_bound], state.n_chunks, False)
        self._set_fitted(run, family, X.dtype)
        self._stream = state
        return self

    def _fit_blocks(self, X, sample_weight):
        """Fit on a dask array, block by block where the blocks live (see ``_core/blocks.py``).

        Starting values not given come from a uniform sample of at most
        20,000 rows, drawn with each restart's random state.  Restarts run one
        after another; the blocks of each E-step run in parallel on the active
        dask scheduler.
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported with a dask array X.")
        X, has_nan = check_dask_array(X, allow_nan=True)
        set_input_attributes(self, X)
        if X.shape[0] < max(self.n_components, 2):
            raise ValueError(f"Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {X.shape[0]}")
        random_state = v.check_random_state("random_state", self.random_state)
        family = self._family()
        family = family.configure(family.check_X(X))
        shift = family.shift_of(X, has_nan)
        data = BlockedData(X, functools.partial(prepare_block, family, shift,
                                                self.n_components, has_nan))
        model = BlockedModel(self._model(family, X.shape[1]),
                             functools.partial(prepare_rows, family, shift))
        options = dict(tol=self.tol, max_iter=self.max_iter, verbose=self.verbose,
                       verbose_interval=self.verbose_interval)
        if self.warm_start and hasattr(self, "converged_"):
            run = run_em(model, data, self._fitted_params(),
                         previous_lower_bound=self.lower_bound_, **options)
        else:
            run = fit_restarts(model, data, n_init=self.n_init, random_state=random_state,
                               n_jobs=1, **options)
        warn_about_run(run, self.max_iter)
        self._set_fitted(run, family, X.dtype)
        self._stream = None
        return model, data, run.params

    def _run_em(self, model, data, random_state):
        options = dict(
            tol=self.tol, max_iter=self.max_iter, verbose=self.verbose,
            verbose_interval=self.verbose_interval,
        )
        if self.warm_start and hasattr(self, "converged_"):
            return run_em(
                model, data, self._warm_start_params(data),
                previous_lower_bound=self.lower_bound_, **options,
            )
        return fit_restarts(
            model, data, n_init=self.n_init, random_state=random_state,
            n_jobs=self.n_jobs, **options,
        )

    def _warm_start_params(self, data):
        """Fitted parameters to continue from, after checking nothing structural changed."""
        if self.means_.shape[1] != data.n_features:
            raise ValueError(
                f"X has {data.n_features} features, but the warm-started model "
                f"was fitted with {self.means_.shape[1]}."
            )
        fitted = self._fitted_structure
        for name in ("n_components", "covariance_type"):
            if getattr(self, name) != fitted[name]:
                raise ValueError(
                    f"warm_start=True cannot continue after {name} changed (fitted with "
                    f"{fitted[name]!r}, now {getattr(self, name)!r}); refit with "
                    "warm_start=False.")
        return self._fitted_params()

    def _fitted_params(self):
        """The fitted parameters in float64 (they may have been set by the user)."""
        return MixtureParams(self.weights_.astype(np.float64),
                             self._family().params_from(self))

    def _set_fitted(self, run, family, dtype):
        params = run.params
        _check_representable(params, dtype)
        self.weights_ = params.weights.astype(dtype)
        for name, value in family.attributes(params.components).items():
            setattr(self, name, np.asarray(value).astype(dtype))
        self.converged_ = run.converged
        self.n_iter_ = run.n_iter
        self.lower_bound_ = run.lower_bound
        self.lower_bounds_ = list(run.lower_bounds)
        self._fitted_structure = {"n_components": self.n_components,
                                  "covariance_type": self.covariance_type}

    # -- inference ---------------------------------------------------------------
    def _inference(self, X):
        """Validated data, model and parameters for new rows."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        family = self._family()
        params = self._fitted_params()
        data = family.prepare(X, n_components=self.n_components,
                              shift=family.center(params.components, params.weights))
        return X, data, MixtureModel(self.n_components, family), params

    def predict(self, X):
        """Most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        if is_dask_array(X):
            return map_rows(X, self.predict, dtype=np.intp)
        _, data, model, params = self._inference(X)
        with single_threaded_blas():
            return np.argmax(model.predict_proba(data, params), axis=1)

    def predict_proba(self, X):
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Each row sums to one, for any finite row however far out.  A lazy
            dask array when ``X`` is one, computed block by block.
        """
        if is_dask_array(X):
            return map_rows(X, self.predict_proba, self.n_components, self.means_.dtype)
        X, data, model, params = self._inference(X)
        with single_threaded_blas():
            return model.predict_proba(data, params).astype(X.dtype)

    def score_samples(self, X):
        """Log-likelihood of each row under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            A lazy dask array when ``X`` is one.
        """
        if is_dask_array(X):
            return map_rows(X, self.score_samples, dtype=self.means_.dtype)
        X, data, model, params = self._inference(X)
        with single_threaded_blas():
            return model.score_samples(data, params).astype(X.dtype)

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
            The mean of :meth:`score_samples` (computed in the dtype it returns).
        """
        log_prob = self.score_samples(X)
        if is_dask_array(log_prob):
            log_prob = log_prob.compute()
        if sample_weight is None:
            return float(log_prob.mean())
        weights = v.check_sample_weight(sample_weight, log_prob.shape[0])
        return float(np.average(log_prob.astype(np.float64), weights=weights))

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
        rng = v.check_random_state("random_state", self.random_state)
        params = self._fitted_params()
        counts = rng.multinomial(n_samples, params.weights / params.weights.sum())
        labels = np.repeat(np.arange(self.n_components), counts)
        X = self._family().sample(rng, params.components, labels)
        return X.astype(self.means_.dtype), labels

    def _n_parameters(self):
        return MixtureModel(self.n_components, self._family()).n_parameters(self.means_.shape[1])

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


def _check_representable(params, dtype):
    """Parameters must fit the data's dtype (float32 data near its maximum)."""
    limit = np.finfo(dtype).max
    values = [params.weights, *params.components.values()]
    if any(np.any(~np.isfinite(value)) or np.any(np.abs(value) > limit) for value in values):
        raise ValueError(
            f"The fitted parameters do not fit in {np.dtype(dtype).name} (the data's "
            f"dtype): covariances of data this large overflow it. Pass "
            "X.astype(np.float64), or rescale the data.")
