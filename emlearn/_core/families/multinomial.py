"""The multinomial family: each row counts the outcomes of ``n_trials`` draws over
``n_features`` symbols (hmmlearn's ``MultinomialHMM``)."""

import numpy as np
from scipy.special import gammaln

from .categorical import (CategoricalStatistics, SymbolProbabilities, _CategoricalEvaluator,
                          _check_counts, _distinct)


class MultinomialData:
    def __init__(self, X, sample_weight=None):
        self.X = np.asarray(X, dtype=np.float64)
        self.n_samples = len(self.X)
        self.sample_weight = sample_weight
        # log of the multinomial coefficient n! / prod(x_j!) of each row
        self.log_coefficient = gammaln(self.X.sum(axis=1) + 1.0) - gammaln(self.X + 1.0).sum(
            axis=1)


class _MultinomialEvaluator(_CategoricalEvaluator):
    """Rows of counts instead of one symbol per row (same parameters)."""

    def log_prob(self, chunk):
        X = self.data.X
        # 0 * log(0) is 0: a symbol never drawn says nothing about its probability.
        log_emission = np.where(np.isfinite(self.log_emission), self.log_emission, 0.0)
        out = log_emission @ X.T + self.data.log_coefficient
        impossible = (~np.isfinite(self.log_emission)).astype(np.float64) @ (X.T > 0)
        out[impossible > 0] = -np.inf
        return out

    def new_statistics(self):
        return CategoricalStatistics(np.zeros_like(self.log_emission))

    def accumulate(self, stats, chunk, weights):
        stats.counts += weights @ self.data.X
        return stats


class MultinomialFamily(SymbolProbabilities):
    """Multinomial emissions with a Dirichlet prior on each row of probabilities.

    Parameters
    ----------
    n_trials : int or None
        Draws per row; None accepts any row total (the number of trials of
        each row is its sum).  Sampling needs a number: the rows' common total
        when they share one.
    prior : float or ndarray, default=1.0
        Dirichlet concentration (``emissionprob_prior``); 1.0 is no prior.
    n_components : int, default=None
    """

    name = "multinomial"

    def __init__(self, n_trials=None, prior=1.0, n_components=None):
        self.n_trials = n_trials
        self.prior = prior
        self.n_components = n_components

    @classmethod
    def from_options(cls, options, **ignored):
        return cls(options.get("n_trials"), options.get("emissionprob_prior", 1.0),
                   options.get("n_components"))

    def fitted(self, estimator):
        return MultinomialFamily(estimator.n_trials_, self.prior, self.n_components)

    def check_X(self, X):
        _check_counts(X, "counts", self.name)
        if self.n_trials is not None and not np.all(X.sum(axis=1) == self.n_trials):
            raise ValueError(f"Every row of X must sum to n_trials = {self.n_trials} for "
                             "emission='multinomial'.")
        return X

    def configure(self, X, sample_weight=None):
        """The family with its number of trials (the rows' common total) and prior checked."""
        from .. import validation as v

        totals = _distinct(X.sum(axis=1))
        n_trials = self.n_trials if self.n_trials is not None else (
            int(totals[0]) if len(totals) == 1 else None)
        prior = v.check_concentration("emissionprob_prior", self.prior,
                                      (self.n_components, X.shape[1]))
        return MultinomialFamily(n_trials, prior, self.n_components)

    def check_init(self, name, value, n_components, n_features):
        from .. import validation as v

        return v.check_probabilities("emissionprob_init", value, (n_components, n_features),
                                     axis=1)

    def shift_of(self, X, has_nan):
        return None  # counts are not centered

    def row_floats(self, n_components, n_features, incomplete=False):
        """Per row: the counts in float64 and their log-factorials, a coefficient."""
        return 2 * n_features + 1

    def prepare(self, X, sample_weight=None, n_components=1, shift=None, cache=False,
                incomplete=None):
        return MultinomialData(X, sample_weight)

    def evaluator(self, data, params):
        return _MultinomialEvaluator(self, data, params)

    def statistics(self, data, resp):
        ones = np.ones((len(resp), data.X.shape[1]))
        return _MultinomialEvaluator(self, data, {"emissionprob": ones}).statistics(resp)

    def initialize(self, data, resp, random_state):
        return {"emissionprob": random_state.dirichlet(np.ones(data.X.shape[1]),
                                                       size=len(resp))}

    def n_parameters(self, n_components, n_features, fixed=()):
        return 0 if "emissionprob" in fixed else n_components * (n_features - 1)

    def attributes(self, params):
        return {"emissionprob_": params["emissionprob"], "n_trials_": self.n_trials}

    def sample(self, rng, params, labels):
        if self.n_trials is None:
            raise ValueError("Sampling multinomial emissions needs n_trials: the training "
                             "rows had different totals; set n_trials.")
        probabilities = params["emissionprob"]
        return np.stack([rng.multinomial(self.n_trials, probabilities[k])
                         for k in labels]).astype(np.float64)
