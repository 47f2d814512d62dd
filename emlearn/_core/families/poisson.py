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
    """Poisson emissions (no prior)."""

    name = "poisson"
    parameter_names = ("rates",)
    init_arguments = {"rates": "rates_init"}
    allow_nan = False
    needs_responsibilities = True

    @classmethod
    def from_options(cls, options, **ignored):
        return cls()

    def fitted(self, estimator):
        return self

    def assemble(self, values):
        return dict(values)

    def check_X(self, X):
        _check_counts(X, "counts", self.name)
        return X

    def configure(self, X, sample_weight=None):
        return self

    def check_init(self, name, value, n_components, n_features):
        from .. import validation as v

        rates = v.check_array_init("rates_init", value, (n_components, n_features))
        if np.any(rates <= 0):
            raise ValueError("rates_init must be positive.")
        return rates

    def prepare(self, X, sample_weight=None, n_components=1, shift=None, cache=False):
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
        estimate = np.maximum(stats.sums / (stats.weight[:, None] + EMPTY_COMPONENT_GUARD),
                              MIN_RATE)
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
