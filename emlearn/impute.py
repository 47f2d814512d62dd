"""Missing-value imputation by EM under a Gaussian or a Gaussian mixture: :class:`EMImputer`."""

import functools
import math
import numbers
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import MissingIndicator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core import criteria
from ._core import validation as v
from ._core.blocks import (BlockedData, BlockedModel, check_dask_array, is_dask_array,
                           map_rows, prepare_block, prepare_rows, set_input_attributes,
                           summary)
from ._core.em import fit_restarts
from ._core.estimator import em_constraints, warn_about_run
from ._core.families import GaussianFamily
from ._core.families.missing import MappedRows, row_parts
from ._core.init import INIT_METHODS
from ._core.mixture_model import MixtureModel
from ._core.threads import single_threaded_blas

# A bootstrap resample that leaves a feature without any observed value is
# drawn again (conditioning the bootstrap on every feature being estimable).
_BOOTSTRAP_TRIES = 100


def _is_nan(value):
    return isinstance(value, numbers.Real) and math.isnan(value)


class EMImputer(TransformerMixin, BaseEstimator):
    """Impute missing values by EM under a Gaussian or a Gaussian mixture.

    The maximum-likelihood multivariate-normal model of the observed data
    (``n_components=1``, the classic EM imputation of Dempster, Laird and
    Rubin) or a Gaussian mixture (``n_components > 1``, for multimodal data)
    is fitted by EM on the incomplete rows themselves: no complete row is
    needed.  Each missing entry is then replaced by its conditional mean given
    the row's observed values (for a mixture, the conditional means of the
    components weighted by the row's posterior responsibilities), or, with
    ``sample_posterior=True``, by a draw from its conditional distribution.

    Columns are standardized internally (observed mean and standard
    deviation), so imputations are equivariant to a rescaling of any column
    and ``reg_covar`` is relative to each feature's variance.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Covariance structure of the components (of the standardized columns).
        Only ``full`` and ``tied`` model dependence between features, which
        is what imputation uses; ``diag`` and ``spherical`` impute from the
        component means (a mixture of them still clusters the rows).
    missing_values : float, default=np.nan
        The placeholder of missing entries.  Other values are kept as they
        are.
    tol : float, default=1e-3
        EM stops when the observed-data log-likelihood, per observed entry,
        changes by less than ``tol`` between iterations.  Per entry rather
        than per row, so that wide and narrow data converge alike.
    reg_covar : float, default=1e-2
        Added to the diagonal of every covariance of the standardized
        columns: each feature's variance is inflated by this fraction of its
        observed variance.  A ridge penalty that keeps covariances positive
        definite (constant or collinear features, fewer rows than features)
        and shrinks the regressions behind the imputations.  ``0`` gives the
        exact maximum-likelihood estimates.
    max_iter : int, default=100
        Maximum number of EM iterations per initialization.
    n_init : int, default=1
        Number of initializations (for ``n_components > 1``); the one with
        the highest likelihood wins.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, \
            default="kmeans"
        How starting responsibilities are drawn, on the data with missing
        entries set to their column means.
    sample_posterior : bool, default=False
        If True, each missing entry is a draw from its posterior instead of
        its mean, and the model is fitted on a bootstrap resample of the rows
        (seeded by ``random_state``), so that the draws reflect the
        uncertainty of the parameters as well as the spread of the values.
        Fit ``m`` imputers with different ``random_state`` values for ``m``
        proper multiple imputations (combine with Rubin's rules).
    min_value : float or array-like of shape (n_features,), default=-np.inf
        Lower bound of imputed values (observed values are never clipped).
    max_value : float or array-like of shape (n_features,), default=np.inf
        Upper bound of imputed values.
    add_indicator : bool, default=False
        If True, a :class:`~sklearn.impute.MissingIndicator` is stacked onto
        the output.
    keep_empty_features : bool, default=False
        If True, features with no observed value during :meth:`fit` are kept
        and filled with 0; otherwise they are dropped from the output, as in
        scikit-learn's imputers.
    random_state : int, RandomState instance or None, default=None
        Seeds the initializations and, with ``sample_posterior=True``, the
        bootstrap and the draws.  A fitted imputer returns the same draws at
        every :meth:`transform` call.
    verbose : int, default=0
        EM progress: 0 is silent, 1 reports runs, 2 adds timings.
    n_jobs : int, default=None
        Number of initializations run in parallel (joblib).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing proportions.
    means_ : ndarray of shape (n_components, n_model_features)
        Component means, in the units of ``X``.  ``n_model_features`` counts
        the features with an observed value during :meth:`fit`.
    covariances_ : ndarray
        Component covariances in the units of ``X``: (n_components,
        n_model_features, n_model_features) for ``full``, (n_model_features,
        n_model_features) for ``tied``, and the variances (n_components,
        n_model_features) for ``diag`` and ``spherical`` (spherical on the
        standardized columns).
    n_iter_ : int
        EM iterations of the best run.
    converged_ : bool
        Whether the best run converged.
    lower_bound_ : float
        Observed-data log-likelihood per row of the fitted model (at its last
        E-step, on the bootstrap resample with ``sample_posterior=True``), in
        the units of ``X``.
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration.
    indicator_ : MissingIndicator or None
        The fitted indicator when ``add_indicator=True``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin regressions of each feature
        on the others.
    sklearn.impute.KNNImputer : Means of the nearest neighbours.
    emlearn.GaussianMixtureEM : The model behind it; also accepts NaN.

    Notes
    -----
    Each EM iteration handles the rows grouped by missingness pattern, with
    one batched factorization per block of patterns, so data in which every
    row has its own pattern cost no Python loop over rows.

    Examples
    --------
    >>> import numpy as np
    >>> from emlearn import EMImputer
    >>> X = np.array([[1.0, 2.0], [2.0, 4.1], [3.0, np.nan], [np.nan, 8.0],
    ...               [5.0, 9.9]])
    >>> imputer = EMImputer(random_state=0).fit(X)
    >>> imputer.transform(X).round(2)
    array([[1.  , 2.  ],
           [2.  , 4.1 ],
           [3.  , 6.  ],
           [3.99, 8.  ],
           [5.  , 9.9 ]])
    >>> imputer.means_.round(2)
    array([[3., 6.]])

    Multiple imputation: draws from the posterior, one bootstrap fit per seed.

    >>> draws = [EMImputer(sample_posterior=True, random_state=seed).fit_transform(X)
    ...          for seed in range(5)]
    >>> len({round(float(completed[2, 1]), 6) for completed in draws})
    5
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        missing_values=np.nan,
        tol=1e-3,
        reg_covar=1e-2,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        sample_posterior=False,
        min_value=-np.inf,
        max_value=np.inf,
        add_indicator=False,
        keep_empty_features=False,
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.missing_values = missing_values
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.sample_posterior = sample_posterior
        self.min_value = min_value
        self.max_value = max_value
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _is_nan(self.missing_values)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- validation --------------------------------------------------------------
    _parameter_constraints = em_constraints(
        max_iter=[Interval(Integral, 1, None, closed="left")],
        missing_values=[Real],
        init_params=[StrOptions(set(INIT_METHODS))],
        sample_posterior=["boolean"],
        min_value=[Real, "array-like"],
        max_value=[Real, "array-like"],
        add_indicator=["boolean"],
        keep_empty_features=["boolean"],
    )

    def _bounds(self):
        """``(min_value, max_value)`` as float arrays of shape (n_features_in_,)."""
        bounds = []
        for name in ("min_value", "max_value"):
            value = getattr(self, name)
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a number or an array of numbers, "
                                f"got {value!r}.") from None
            if array.ndim == 0:
                array = np.full(self.n_features_in_, float(array))
            if array.shape != (self.n_features_in_,):
                raise ValueError(
                    f"{name} must be a scalar or an array of shape "
                    f"({self.n_features_in_},), got shape {array.shape}."
                )
            if np.isnan(array).any():
                raise ValueError(f"{name} must not contain NaN.")
            bounds.append(array)
        if np.any(bounds[0] > bounds[1]):
            raise ValueError("min_value must not exceed max_value for any feature.")
        return bounds

    def _validate(self, X, reset):
        """Validated ``X`` (not copied); missing entries are found part by part later."""
        return validate_data(
            self, X, reset=reset, dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan" if _is_nan(self.missing_values) else True,
            ensure_min_samples=2 if reset else 1,
        )

    def _missing(self, rows):
        """The missing entries of ``rows`` (a part of ``X``)."""
        return np.isnan(rows) if _is_nan(self.missing_values) else rows == self.missing_values

    def _standardize(self, rows):
        """The model's features of ``rows``, standardized, with NaN where missing."""
        columns = self._model_features
        Z = (rows[:, columns].astype(np.float64) - self._center) / self._scale
        Z[self._missing(rows[:, columns])] = np.nan
        return Z

    def _standardized(self, X):
        """``X`` standardized, as a view computed part by part when read (never stored)."""
        return MappedRows(X, self._standardize, len(self._model_features))

    # -- fitting -----------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the Gaussian (mixture) model of the observed entries by EM.

        Memory beyond ``X`` itself is bounded: every pass over the rows reads
        them part by part (``X`` may be a :class:`numpy.memmap`), and rows are
        standardized as they are read.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : EMImputer
            The fitted imputer.
        """
        self._validate_params()
        if is_dask_array(X):
            return self._fit_blocks(X)
        X = self._validate(X, reset=True)
        self._bounds()
        counts, center, spread = _observed_column_moments(X, self._missing)
        self._model_features = np.flatnonzero(counts > 0)
        if self._model_features.size == 0:
            raise ValueError("X has no observed value: there is nothing to fit.")
        self._center = center[self._model_features]
        spread = spread[self._model_features]
        # A feature with a single value keeps its units (as in StandardScaler).
        self._scale = np.where(spread > 0, spread, 1.0)

        rng = v.check_random_state("random_state", self.random_state)
        bootstrap_seed, em_seed, self._draw_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        weights, observed_counts = self._bootstrap_weights(X, bootstrap_seed)
        if weights is None:
            observed_counts = counts[self._model_features]
        n_used = X.shape[0] if weights is None else int(np.count_nonzero(weights))
        if n_used < self.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {n_used}")
        # The density of X is that of the standardized data divided by the
        # scales of the observed features (the Jacobian of the standardization).
        per_row, log_jacobian = _observed_per_row(
            observed_counts, self._scale, X.shape[0] if weights is None else weights.sum())
        family = self._family()
        data = family.prepare(self._standardized(X), weights, self.n_components)
        with single_threaded_blas():
            run = fit_restarts(
                MixtureModel(self.n_components, family, self.init_params), data,
                n_init=self.n_init, random_state=em_seed, n_jobs=self.n_jobs,
                tol=self.tol * per_row, max_iter=self.max_iter, verbose=self.verbose)
        warn_about_run(run, self.max_iter)
        self._params = run.params
        self._set_fitted(run, log_jacobian, X.dtype)
        self.indicator_ = (
            MissingIndicator(missing_values=self.missing_values, error_on_new=False).fit(X)
            if self.add_indicator else None
        )
        return self

    def _family(self):
        return GaussianFamily(self.covariance_type, self.reg_covar)

    def _model_and_data(self, Z):
        """The fitted mixture and standardized rows ``Z`` prepared for inference."""
        family = self._family()
        params = self._params
        data = family.prepare(Z, n_components=self.n_components,
                              shift=family.center(params.components, params.weights))
        return MixtureModel(self.n_components, family), data

    def _bootstrap_weights(self, X, seed):
        """Bootstrap counts of the rows and the weighted count of observed entries of each
        model feature, with ``sample_posterior``; else ``(None, None)``."""
        if not self.sample_posterior:
            return None, None
        rng = np.random.RandomState(seed)
        n_samples = X.shape[0]
        columns = self._model_features
        for _ in range(_BOOTSTRAP_TRIES):
            counts = rng.multinomial(n_samples, np.full(n_samples, 1.0 / n_samples))
            observed_weight = sum(
                counts[start:stop] @ ~self._missing(np.asarray(X[start:stop])[:, columns])
                for start, stop in row_parts(n_samples))
            if np.all(observed_weight > 0):
                return counts.astype(np.float64), observed_weight
        raise ValueError(
            "Bootstrap resamples keep leaving a feature without observed values: "
            "too few observed values for sample_posterior=True."
        )

    def _fit_blocks(self, X):
        """Fit on a dask array, block by block where the blocks live (``_core/blocks.py``).

        The columns' observed counts, means and spreads come from the one pass
        that checks the array; the blocks are standardized as they are prepared,
        and persisted on the workers.
        """
        import dask.array as da

        if self.sample_posterior or self.add_indicator:
            raise ValueError("sample_posterior and add_indicator are not supported with a "
                             "dask array X; use multiple_impute on in-memory data.")
        if not _is_nan(self.missing_values):
            X = da.where(X == self.missing_values, np.nan, X)
        X, _ = check_dask_array(X, allow_nan=True)
        set_input_attributes(self, X)
        self._bounds()
        known = summary(X)  # counts, means and spreads of the columns: the checks' pass
        self._model_features = np.flatnonzero(known.counts > 0)
        if self._model_features.size == 0:
            raise ValueError("X has no observed value: there is nothing to fit.")
        columns = self._model_features
        self._center = known.means[columns]
        spread = np.sqrt(known.variances[columns])
        self._scale = np.where(spread > 0, spread, 1.0)
        # Standardized as each block is prepared (X is persisted; Z is not stored apart).
        Z = (X[:, columns].astype(np.float64) - self._center) / self._scale
        per_row, log_jacobian = _observed_per_row(known.counts[columns], self._scale,
                                                  X.shape[0])
        rng = v.check_random_state("random_state", self.random_state)
        _, em_seed, self._draw_seed = rng.randint(np.iinfo(np.int32).max, size=3)
        family = self._family()
        shift = np.zeros(len(columns))  # the observed means of standardized columns
        data = BlockedData(Z, functools.partial(prepare_block, family, shift,
                                                self.n_components, True))
        model = BlockedModel(MixtureModel(self.n_components, family, self.init_params),
                             functools.partial(prepare_rows, family, shift))
        run = fit_restarts(model, data, n_init=self.n_init, random_state=em_seed, n_jobs=1,
                           tol=self.tol * per_row, max_iter=self.max_iter,
                           verbose=self.verbose)
        warn_about_run(run, self.max_iter)
        self._params = run.params
        self._set_fitted(run, log_jacobian, X.dtype)
        self.indicator_ = None
        return self

    def _set_fitted(self, run, log_jacobian, dtype):
        params, scale = run.params, self._scale
        self.weights_ = params.weights
        self.means_ = (params.components["means"] * scale + self._center).astype(dtype)
        self.covariances_ = _covariances_in_units(
            params.components["covariances"], scale, self.covariance_type
        ).astype(dtype)
        self.n_iter_ = run.n_iter
        self.converged_ = run.converged
        self.lower_bound_ = run.lower_bound - log_jacobian
        self.lower_bounds_ = [bound - log_jacobian for bound in run.lower_bounds]

    # -- imputation --------------------------------------------------------------
    def transform(self, X):
        """Impute the missing entries of ``X`` with the fitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            A new array: observed entries unchanged, missing ones imputed.
            Features without observed values during :meth:`fit` are dropped
            (or filled with 0 if ``keep_empty_features``); the missing
            indicator follows if ``add_indicator``.
        """
        if is_dask_array(X):  # lazily, block by block
            check_is_fitted(self)
            dtype = X.dtype if X.dtype == np.float32 else np.float64
            return map_rows(X, self.transform, len(self.get_feature_names_out()), dtype)
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        n_out = len(self.get_feature_names_out())
        out = np.empty((X.shape[0], n_out), dtype=X.dtype)
        # Part by part: memory beyond X and the output stays bounded, and the draws
        # (sample_posterior) follow one random stream through the parts.
        rng = np.random.RandomState(self._draw_seed) if self.sample_posterior else None
        for start, stop in row_parts(X.shape[0]):
            out[start:stop] = self._impute_rows(np.asarray(X[start:stop]), rng)
        return out

    def _impute_rows(self, rows, rng):
        """:meth:`transform` of a part of the rows."""
        missing = self._missing(rows)
        out = np.array(rows, copy=True)
        columns = self._model_features
        if missing[:, columns].any():
            model, data = self._model_and_data(self._standardize(rows))
            with single_threaded_blas():
                Z = model.impute(data, self._params, rng)
            low, high = (bound[columns] for bound in self._bounds())
            imputed = np.clip(Z * self._scale + self._center, low, high)
            block = out[:, columns]
            block[missing[:, columns]] = imputed[missing[:, columns]]
            out[:, columns] = block
        if self.keep_empty_features:
            empty = np.setdiff1d(np.arange(rows.shape[1]), columns)
            out[:, empty] = np.where(missing[:, empty], 0.0, out[:, empty])
        else:
            out = out[:, columns]
        if self.indicator_ is not None:
            out = np.hstack([out, self.indicator_.transform(rows).astype(out.dtype)])
        return out

    # -- model selection ---------------------------------------------------------
    def score(self, X, y=None):
        """Mean observed-data log-likelihood per row under the fitted model.

        Missing entries are integrated out; features without observed values
        during fit are ignored.  In the units of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        log_likelihood : float
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        log_scale = np.log(self._scale)
        total = 0.0
        for start, stop in row_parts(X.shape[0]):
            rows = np.asarray(X[start:stop])
            observed = ~self._missing(rows[:, self._model_features])
            model, data = self._model_and_data(self._standardize(rows))
            with single_threaded_blas():
                log_prob = model.score_samples(data, self._params)
            total += log_prob.sum() - (observed @ log_scale).sum()
        return float(total / X.shape[0])

    def bic(self, X):
        """Bayesian information criterion of the model on ``X`` (lower is better).

        For choosing ``n_components`` and ``covariance_type``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        n_samples = len(X)
        return criteria.bic(self.score(X) * n_samples, self._n_parameters(),
                            n_samples)

    def aic(self, X):
        """Akaike information criterion of the model on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        return criteria.aic(self.score(X) * len(X), self._n_parameters())

    def _n_parameters(self):
        return MixtureModel(self.n_components, self._family()).n_parameters(
            len(self._model_features))

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; ``feature_names_in_`` (or ``x0``, ``x1``,
            ...) when None.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        names = _input_feature_names(self, input_features)
        out = names if self.keep_empty_features else names[self._model_features]
        if self.indicator_ is not None:
            out = np.concatenate([out, self.indicator_.get_feature_names_out(names)])
        return np.asarray(out, dtype=object)

    # -- multiple imputation -----------------------------------------------------
    def multiple_impute(self, X, n_imputations=5, *, n_jobs=None):
        """Proper multiple imputation: ``n_imputations`` completed copies of ``X``.

        Each copy comes from a clone of this imputer with
        ``sample_posterior=True`` and its own seed, fitted on a bootstrap
        resample of the rows of ``X`` and filling every missing entry with a
        draw from its posterior (the "EMB" scheme of R's Amelia), so that the
        copies differ as much as the data leave the missing values uncertain.
        Analyse each copy and combine the results with :func:`pool_rubin`.

        The imputer itself is neither used as fitted nor modified: the clones
        are refitted on ``X``, with this imputer's hyperparameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.
        n_imputations : int, default=5
            Number of completed copies, ``m``.
        n_jobs : int, default=None
            Number of fits run in parallel (joblib); ``None`` is one unless in
            a :func:`joblib.parallel_config` context; the restarts of each fit
            (``n_init``) then run one after another.  The seeds of the ``m``
            fits are drawn from ``random_state`` before they are dispatched,
            so the result does not depend on ``n_jobs``.

        Returns
        -------
        imputations : list of ndarray of shape (n_samples, n_features_out)
            ``n_imputations`` completed arrays, as :meth:`transform` returns
            them (DataFrames under ``set_output(transform="pandas")``).

        Examples
        --------
        >>> import numpy as np
        >>> from emlearn import EMImputer
        >>> X = np.array([[1.0, 2.0], [2.0, 4.1], [3.0, np.nan], [np.nan, 8.0],
        ...               [5.0, 9.9], [6.0, 12.2]])
        >>> completed = EMImputer(random_state=0).multiple_impute(X, n_imputations=3)
        >>> len(completed), completed[0].shape
        (3, (6, 2))
        >>> len({round(float(copy[2, 1]), 6) for copy in completed})  # three draws
        3
        """
        from ._multiple_imputation import multiple_impute

        return multiple_impute(self, X, n_imputations, n_jobs)


def _observed_per_row(observed_counts, scale, total_weight):
    """The mean number of observed entries per (weighted) row, and the mean log Jacobian
    of the standardization (the observed entries' log scales), from each model feature's
    (weighted) count of observed entries."""
    return (float(observed_counts.sum() / total_weight),
            float(observed_counts @ np.log(scale) / total_weight))


def _observed_column_moments(X, missing):
    """Per column: the number of observed entries, their mean and their standard
    deviation (0 for a column with none), in float64, in two passes part by part."""
    counts, sums = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for start, stop in row_parts(X.shape[0]):
        rows = np.asarray(X[start:stop], dtype=np.float64)
        observed = ~missing(rows)
        counts += observed.sum(axis=0)
        sums += np.where(observed, rows, 0.0).sum(axis=0)
    seen = np.maximum(counts, 1)
    mean = sums / seen
    squares = np.zeros(X.shape[1])
    for start, stop in row_parts(X.shape[0]):
        rows = np.asarray(X[start:stop], dtype=np.float64)
        deviations = np.where(missing(rows), 0.0, rows - mean)
        squares += (deviations * deviations).sum(axis=0)
    return counts, mean, np.sqrt(squares / seen)


def _covariances_in_units(covariances, scale, covariance_type):
    """Covariances of the standardized features, in the units of the data."""
    if covariance_type in ("full", "tied"):
        return covariances * np.outer(scale, scale)
    if covariance_type == "diag":
        return covariances * scale**2
    return covariances[:, None] * scale**2  # spherical: one variance per standardized unit


def _input_feature_names(estimator, input_features):
    """Validated input feature names as an object array."""
    fitted = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if fitted is not None:
            return np.asarray(fitted, dtype=object)
        return np.asarray([f"x{i}" for i in range(estimator.n_features_in_)], dtype=object)
    names = np.asarray(input_features, dtype=object)
    if names.shape != (estimator.n_features_in_,):
        raise ValueError(
            f"input_features should have length equal to the number of features "
            f"({estimator.n_features_in_}), got {len(names)}."
        )
    if fitted is not None and not np.array_equal(names, fitted):
        raise ValueError("input_features is not equal to feature_names_in_.")
    return names
