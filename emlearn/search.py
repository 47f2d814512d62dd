"""Model selection over Gaussian mixtures in one call: :class:`GaussianMixtureSearch`."""

import numbers
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core import validation as v
from ._core.estimator import COVARIANCE_TYPES, em_constraints
from ._core.init import INIT_METHODS
from .mixture import GaussianMixtureEM

CRITERIA = ("bic", "icl", "aic")
#: mclust's names of the four covariance structures, shown by ``summary()``.
MCLUST_NAMES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


class GaussianMixtureSearch(DensityMixin, BaseEstimator):
    """Gaussian mixtures over a grid of sizes and covariance types; the best by BIC, ICL or AIC.

    Fits a :class:`GaussianMixtureEM` for every pair of ``n_components`` and
    ``covariance_type``, all in parallel through joblib, and keeps the one
    with the lowest information criterion, as R's ``mclust::Mclust`` does.
    Every fit starts from a model-based agglomerative clustering of the data
    (``init_params="hierarchical"``, mclust's start), computed once and cut at
    each number of components.  A fit that fails (for example a singular
    covariance with ``reg_covar=0``) is recorded in ``results_`` and does not
    stop the search.

    Parameters
    ----------
    n_components : int or iterable of int, default=(1, 2, ..., 9)
        Numbers of components to try.
    covariance_type : str or iterable of str, \
            default=("full", "tied", "diag", "spherical")
        Covariance structures to try, as in :class:`GaussianMixtureEM`.
    criterion : {"bic", "icl", "aic"}, default="bic"
        What selects the best model, lower is better.  ``bic``: ``-2 log L +
        p log n``; ``icl``: BIC plus twice the entropy of the classification,
        ``-2 sum_i sum_k t_ik log t_ik`` with ``t_ik`` the posterior
        probabilities, which penalizes overlapping components; ``aic``:
        ``-2 log L + 2 p``.  (mclust reports BIC and ICL with the opposite
        sign, higher is better.)
    n_init : int, default=1
        Starts per model.  With ``init_params="hierarchical"``, the
        agglomerative start (deterministic) plus ``n_init - 1`` k-means
        starts, run as a second task; the better fit wins.  Otherwise
        ``n_init`` starts of ``init_params``.
    init_params : {"hierarchical", "kmeans", "k-means++", "random", \
            "random_from_data"}, default="hierarchical"
        Starting values of the fits (see :class:`GaussianMixtureEM`).
    tol, reg_covar, max_iter : float, float, int
        Passed to every :class:`GaussianMixtureEM` (defaults ``1e-3``,
        ``1e-6``, ``100``).  ``reg_covar=0, tol=1e-6, max_iter=1000`` fits
        without regularization, as mclust does.
    random_state : int, RandomState instance or None, default=None
        Seeds the fits: one seed per fit is drawn up front, so results do not
        depend on ``n_jobs``.
    n_jobs : int, default=None
        Number of fits run in parallel (joblib); ``-1`` uses all processors.
    verbose : int, default=0
        Passed to :class:`joblib.Parallel` (progress of the fits).

    Attributes
    ----------
    best_estimator_ : GaussianMixtureEM
        The fitted model with the lowest criterion.
    best_params_ : dict
        Its ``n_components`` and ``covariance_type``.
    best_index_ : int
        Its row in ``results_``.
    results_ : dict of ndarray
        One row per model, in grid order (``n_components`` outer,
        ``covariance_type`` inner), as equal-length arrays that
        ``pandas.DataFrame`` takes as is: ``param_n_components``,
        ``param_covariance_type``, ``bic``, ``icl``, ``aic``,
        ``log_likelihood`` (total, on the training data), ``n_parameters``,
        ``n_iter``, ``converged``, ``init`` (the start that won), ``fit_time``
        (seconds, all starts), ``error`` (empty when the fit succeeded; NaN
        metrics otherwise).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    GaussianMixtureEM : One Gaussian mixture.

    Notes
    -----
    The agglomeration of the ``hierarchical`` start is computed once per data
    set and process (joblib workers each compute it once), on at most 1000
    distinct rows (see :mod:`emlearn._core.hierarchical`).  On iris, wine and
    breast_cancer it reaches mclust's log-likelihoods for 2 to 4 components
    and the four covariance types (``tests/test_search.py``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from emlearn import GaussianMixtureSearch
    >>> X = load_iris().data
    >>> search = GaussianMixtureSearch(n_components=range(1, 6)).fit(X)
    >>> search.best_params_
    {'n_components': 2, 'covariance_type': 'full'}
    >>> len(search.results_["bic"])
    20
    >>> print(search.summary())  # doctest: +NORMALIZE_WHITESPACE
    Gaussian mixture (GaussianMixtureEM) selected by BIC among 20 models
    best: 2 components, full covariances (mclust VVV)
     log-likelihood    n  df      BIC      ICL
           -214.355  150  29  574.018  574.029
    cluster sizes:
     0   1
    50 100
    top models by BIC:
      2 components, full         574.018
      3 components, full         580.854
      4 components, full         630.618
    """

    def __init__(
        self,
        n_components=(1, 2, 3, 4, 5, 6, 7, 8, 9),
        *,
        covariance_type=COVARIANCE_TYPES,
        criterion="bic",
        n_init=1,
        init_params="hierarchical",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.criterion = criterion
        self.n_init = n_init
        self.init_params = init_params
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- validation --------------------------------------------------------------
    def _grid(self):
        """The (n_components, covariance_type) pairs, validated, in grid order."""
        sizes = _as_tuple("n_components", self.n_components, numbers.Integral)
        for size in sizes:
            v.check_integer("n_components", size, minimum=1)
        types = _as_tuple("covariance_type", self.covariance_type, str)
        for kind in types:
            v.check_option("covariance_type", kind, COVARIANCE_TYPES)
        return [(size, kind) for size in sizes for kind in types]

    _parameter_constraints = em_constraints(
        n_components=["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        covariance_type=["array-like", StrOptions(set(COVARIANCE_TYPES))],
        criterion=[StrOptions(set(CRITERIA))],
        init_params=[StrOptions(set(INIT_METHODS))],
    )

    def _starts(self):
        """``(init_params, n_init)`` of the fits run for each model."""
        if self.init_params == "hierarchical" and self.n_init > 1:
            # The agglomerative start is deterministic: repeating it is wasted.
            return [("hierarchical", 1), ("kmeans", self.n_init - 1)]
        return [(self.init_params, self.n_init)]

    # -- fitting -----------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit every model of the grid and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks missing entries.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : GaussianMixtureSearch
            The fitted search.
        """
        self._validate_params()
        grid = self._grid()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2,
                          ensure_all_finite="allow-nan")
        tasks = [(cell, start) for cell in grid for start in self._starts()]
        # Seeds drawn before dispatch, so that n_jobs does not change the result.
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=len(tasks))
        fits = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_one)(X, self._mixture(cell, start, seed))
            for (cell, start), seed in zip(tasks, seeds)
        )
        best_per_cell = {}
        for (cell, _), fit in zip(tasks, fits):
            best_per_cell[cell] = _better(best_per_cell.get(cell), fit)
        rows = [best_per_cell[cell] for cell in grid]
        self.results_ = _results_table(grid, rows)
        self._select(rows)
        self._n_train = X.shape[0]
        self._cluster_sizes = np.bincount(self.best_estimator_.predict(X),
                                          minlength=self.best_params_["n_components"])
        return self

    def _mixture(self, cell, start, seed):
        n_components, covariance_type = cell
        init_params, n_init = start
        return GaussianMixtureEM(
            n_components, covariance_type=covariance_type, init_params=init_params,
            n_init=n_init, tol=self.tol, reg_covar=self.reg_covar, max_iter=self.max_iter,
            random_state=seed,
        )

    def _select(self, rows):
        scores = self.results_[self.criterion]
        if np.all(np.isnan(scores)):
            errors = "; ".join(sorted({row.error for row in rows}))
            raise ValueError(f"Every model of the search failed to fit: {errors}")
        self.best_index_ = int(np.nanargmin(scores))
        self.best_estimator_ = rows[self.best_index_].model
        self.best_params_ = {
            "n_components": int(self.results_["param_n_components"][self.best_index_]),
            "covariance_type": str(self.results_["param_covariance_type"][self.best_index_]),
        }
        if not self.best_estimator_.converged_ and self.max_iter > 0:
            warnings.warn(
                f"EM did not converge in max_iter={self.max_iter} iterations for the "
                f"best model ({self.best_params_}). Increase max_iter or tol.",
                ConvergenceWarning,
            )

    # -- delegation to the best model --------------------------------------------
    def _checked(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                             ensure_all_finite="allow-nan")

    def predict(self, X):
        """Most likely component of each row, under the best model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._checked(X)
        return self.best_estimator_.predict(X)

    def predict_proba(self, X):
        """Posterior probability of each component of the best model, per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        X = self._checked(X)
        return self.best_estimator_.predict_proba(X)

    def score_samples(self, X):
        """Log-likelihood of each row under the best model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        X = self._checked(X)
        return self.best_estimator_.score_samples(X)

    def score(self, X, y=None):
        """Mean log-likelihood per row under the best model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        log_likelihood : float
        """
        X = self._checked(X)
        return self.best_estimator_.score(X)

    def sample(self, n_samples=1):
        """Draw samples from the best model.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.best_estimator_.sample(n_samples)

    # -- report ------------------------------------------------------------------
    def summary(self, n_top=3):
        """A readable report of the best model, in the spirit of mclust's ``summary``.

        Parameters
        ----------
        n_top : int, default=3
            Number of best models listed at the end.

        Returns
        -------
        text : str
            The criterion and grid size, the best model, its log-likelihood,
            number of rows, degrees of freedom (free parameters), BIC and ICL
            (lower is better), the sizes of its clusters on the training data
            and the ``n_top`` best models.
        """
        check_is_fitted(self)
        v.check_integer("n_top", n_top, minimum=1)
        r, i = self.results_, self.best_index_
        name = self.criterion.upper()
        n_components = self.best_params_["n_components"]
        covariance_type = self.best_params_["covariance_type"]
        sizes = self._cluster_sizes
        lines = [
            f"Gaussian mixture (GaussianMixtureEM) selected by {name} among "
            f"{len(r['bic'])} models",
            f"best: {_components(n_components)}, "
            f"{covariance_type} covariances (mclust {MCLUST_NAMES[covariance_type]})",
            f"{'log-likelihood':>15} {'n':>4} {'df':>3} {'BIC':>8} {'ICL':>8}",
            f"{r['log_likelihood'][i]:>15.3f} {self._n_train:>4} {int(r['n_parameters'][i]):>3} "
            f"{r['bic'][i]:>8.3f} {r['icl'][i]:>8.3f}",
            "cluster sizes:",
            " ".join(f"{k:>{len(str(s))}}" for k, s in enumerate(sizes)),
            " ".join(str(s) for s in sizes),
            f"top models by {name}:",
        ]
        scores = r[self.criterion]
        order = np.argsort(np.where(np.isnan(scores), np.inf, scores), kind="stable")
        for j in order[: min(n_top, int(np.sum(~np.isnan(scores))))]:
            lines.append(
                f"  {_components(r['param_n_components'][j])}, "
                f"{r['param_covariance_type'][j]:<10} {scores[j]:>9.3f}"
            )
        return "\n".join(lines)


class _Fit:
    """One fitted model (or the error of a failed fit) and its figures."""

    def __init__(self, model=None, error="", seconds=0.0, init=""):
        self.model, self.error, self.seconds, self.init = model, error, seconds, init


def _fit_one(X, mixture):
    """Fit ``mixture`` on ``X``; a failure is returned, not raised (one task)."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Convergence is recorded per model in results_.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(X)
        fit = _Fit(mixture, init=mixture.init_params)
        fit.figures = _figures(mixture, X)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
        fit = _Fit(error=f"{type(error).__name__}: {error}", init=mixture.init_params)
    fit.seconds = time.perf_counter() - start
    return fit


def _figures(model, X):
    """Log-likelihood, parameter count, BIC, AIC and ICL of a fitted model on ``X``."""
    n_samples = X.shape[0]
    log_likelihood = model.score(X) * n_samples
    resp = model.predict_proba(X).astype(np.float64)
    entropy = -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)))
    bic = model.bic(X)
    figures = dict(log_likelihood=log_likelihood, n_parameters=model._n_parameters(),
                   bic=bic, aic=model.aic(X), icl=bic + 2.0 * entropy)
    if not all(np.isfinite(value) for value in figures.values()):
        raise FloatingPointError("the fitted model has a non-finite log-likelihood")
    return figures


def _better(current, candidate):
    """The better of two fits of one model: the higher log-likelihood wins.

    A success beats a failure; the fit times add up, and so do the errors of
    two failures.
    """
    if current is None:
        return candidate
    if _log_likelihood(candidate) > _log_likelihood(current):
        winner, loser = candidate, current
    else:
        winner, loser = current, candidate
    winner.seconds += loser.seconds
    if winner.model is None:
        winner.error = "; ".join(filter(None, (current.error, candidate.error)))
    return winner


def _log_likelihood(fit):
    return -np.inf if fit.model is None else fit.figures["log_likelihood"]


def _results_table(grid, rows):
    """``results_``: one array per column, one entry per model."""
    def metric(name):
        return np.array([np.nan if row.model is None else row.figures[name] for row in rows])

    return {
        "param_n_components": np.array([size for size, _ in grid]),
        "param_covariance_type": np.array([kind for _, kind in grid], dtype=object),
        **{name: metric(name) for name in CRITERIA},
        "log_likelihood": metric("log_likelihood"),
        "n_parameters": metric("n_parameters"),
        "n_iter": np.array([np.nan if row.model is None else row.model.n_iter_
                            for row in rows]),
        "converged": np.array([row.model is not None and bool(row.model.converged_)
                               for row in rows]),
        "init": np.array([row.init for row in rows], dtype=object),
        "fit_time": np.array([row.seconds for row in rows]),
        "error": np.array([row.error for row in rows], dtype=object),
    }


def _components(n):
    return f"{n} component" if n == 1 else f"{n} components"


def _as_tuple(name, value, item_type):
    """``value`` as a non-empty tuple: a single item or an iterable of them."""
    if isinstance(value, item_type) and not isinstance(value, bool):
        return (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be one value or an iterable of them, got {value!r}.")
    if not items:
        raise ValueError(f"{name} must not be empty.")
    return items
