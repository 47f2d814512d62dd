"""The Poisson family: independent counts, one rate per component and column."""

import dataclasses

import numpy as np
from scipy.special import gammaln

from .base import MIN_WEIGHT, Evaluator, Statistics, keep_unvisited
from .categorical import _check_counts
from .covariance import EMPTY_COMPONENT_GUARD

# Rates are floored so that a component that saw only zeros still gives a
# finite log-likelihood to a later non-zero count.
MIN_RATE = 1e-12


@dataclasses.dataclass
class PoissonStatistics(Statistics):
    """Posterior weight per component and weighted count sums (n_components, n_features)."""

    weight: np.ndarray
    sums: np.ndarray

    @property
    def component_weights(self):
        return self.weight


class PoissonData:
    def __init__(self, X, sample_weight=None):
        self.X = np.asarray(X, dtype=np.float64)
        self.n_samples = len(self.X)
        self.sample_weight = sample_weight
        self.log_factorial = gammaln(self.X + 1.0).sum(axis=1)


class _PoissonEvaluator(Evaluator):
    def __init__(self, family, data, params):
        super().__init__(data, params["rates"].shape[0])
        self.rates = params["rates"]

    def chunks(self):
        yield None

    def rows(self, chunk):
        return slice(None)

    def log_prob(self, chunk):
        data = self.data
        return (np.log(self.rates) @ data.X.T - self.rates.sum(axis=1)[:, None]
                - data.log_factorial)

    def new_statistics(self):
        return PoissonStatistics(np.zeros(self.n_components), np.zeros_like(self.rates))

    def accumulate(self, stats, chunk, weights):
        stats.weight += weights.sum(axis=1)
        stats.sums += weights @ self.data.X
        return stats


class PoissonFamily:
    """Poisson emissions with a gamma prior on the rates.

    Parameters
    ----------
    lambdas_prior, lambdas_weight : float or ndarray, default=0.0
        Shape ``alpha`` and rate ``beta`` of a gamma prior on each rate
        (hmmlearn's names): the M-step gives the posterior mean ``(alpha +
        sum of counts) / (beta + weight)`` of each state.  Scalars, or arrays
        of shape (n_components,) or (n_components, n_features).  Zero is no
        prior.  (hmmlearn 0.3.3 divides by the total weight of all states
        instead of each state's; the two agree without a prior.)
    n_components : int, default=None
        Needed to validate array priors.
    """

    name = "poisson"
    parameter_names = ("rates",)
    init_arguments = {"rates": "rates_init"}
    allow_nan = False
    needs_responsibilities = True

    def __init__(self, lambdas_prior=0.0, lambdas_weight=0.0, n_components=None):
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.n_components = n_components

    @classmethod
    def from_options(cls, options, **ignored):
        return cls(options.get("lambdas_prior", 0.0), options.get("lambdas_weight", 0.0),
                   options.get("n_components"))

    def fitted(self, estimator):
        return self

    def assemble(self, values):
        return dict(values)

    def check_X(self, X):
        _check_counts(X, "counts", self.name)
        return X

    def configure(self, X, sample_weight=None):
        """The family with its priors validated as (n_components, n_features) arrays."""
        shape = (self.n_components or 1, X.shape[1])
        priors = [_check_gamma_parameter(name, value, shape) for name, value in
                  (("lambdas_prior", self.lambdas_prior),
                   ("lambdas_weight", self.lambdas_weight))]
        return PoissonFamily(*priors, self.n_components)

    def check_init(self, name, value, n_components, n_features):
        from .. import validation as v

        rates = v.check_array_init("rates_init", value, (n_components, n_features))
        if np.any(rates <= 0):
            raise ValueError("rates_init must be positive.")
        return rates

    def shift_of(self, X, has_nan):
        return None  # counts are not centered

    def row_floats(self, n_components, n_features, incomplete=False):
        """Per row: the counts in float64 and their log-factorials, their sum."""
        return 2 * n_features + 1

    def prepare(self, X, sample_weight=None, n_components=1, shift=None, cache=False,
                incomplete=None):
        return PoissonData(X, sample_weight)

    def complete_rows(self, data):
        return data

    def evaluator(self, data, params):
        return _PoissonEvaluator(self, data, params)

    def statistics(self, data, resp):
        n_components = len(resp)
        rates = np.ones((n_components, data.X.shape[1]))
        return _PoissonEvaluator(self, data, {"rates": rates}).statistics(resp)

    def m_step(self, stats, previous=None, fixed=()):
        if "rates" in fixed and previous is not None:
            return previous
        visited = stats.weight > MIN_WEIGHT
        estimate = np.maximum(
            (self.lambdas_prior + stats.sums)
            / (self.lambdas_weight + stats.weight[:, None] + EMPTY_COMPONENT_GUARD), MIN_RATE)
        old = None if previous is None else previous["rates"]
        return {"rates": keep_unvisited(estimate, old, visited)}

    def initialize(self, data, resp, random_state=None):
        stats = self.statistics(data, resp)
        rates = stats.sums / (stats.weight[:, None] + EMPTY_COMPONENT_GUARD)
        return {"rates": np.maximum(rates, data.X.mean(axis=0) * 1e-3 + MIN_RATE)}

    def n_parameters(self, n_components, n_features, fixed=()):
        return 0 if "rates" in fixed else n_components * n_features

    def attributes(self, params):
        return {"rates_": params["rates"]}

    def params_from(self, attributes):
        return {"rates": np.asarray(attributes.rates_, dtype=np.float64)}

    def center(self, params, weights=None):
        return None

    def sample(self, rng, params, labels):
        return rng.poisson(params["rates"][labels]).astype(np.float64)


def _check_gamma_parameter(name, value, shape):
    """A non-negative float64 array of ``shape`` (from a scalar, (K,) or (K, d))."""
    from .. import validation as v

    array = v.float_array(name, value)
    if array.ndim == 1 and array.shape == shape[:1]:
        array = array[:, None]
    try:
        array = np.broadcast_to(array, shape).copy()
    except ValueError:
        raise ValueError(f"{name} must be a scalar or have shape {shape[:1]} or {shape}, "
                         f"got {array.shape}.") from None
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    return array
