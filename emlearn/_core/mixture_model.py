"""The EM model of a mixture: mixing weights + a component family.

Shared by :class:`~emlearn.GaussianMixtureEM` and :class:`~emlearn.EMImputer`.
"""

from typing import NamedTuple

import numpy as np

from .families.covariance import EMPTY_COMPONENT_GUARD
from .init import initial_responsibilities
from .logsumexp import exp_normalize, logsumexp

# Rows whose best weighted log-density is below this are far from every
# component: their posterior is taken from the family's cancellation-free form.
FAR_ROW = -1e6


class MixtureParams(NamedTuple):
    """Parameters of a mixture: weights and the family's component parameters."""

    weights: np.ndarray
    components: dict


def posterior(evaluator, chunk, log_prob, log_weights):
    """Responsibilities and row log-likelihoods of one chunk, ``log_prob`` overwritten.

    Every responsibility column sums to one for any finite row, however far
    out: rows too far from every component for their densities to be compared
    in floating point get the exact limit from the family.
    """
    log_prob += log_weights[:, None]
    resp, log_norm = exp_normalize(log_prob, axis=0, out=log_prob)
    far = ~(log_norm > FAR_ROW)
    if far.any():
        relative = evaluator.relative_log_prob(chunk, far)
        if relative is not None:
            relative += log_weights[:, None]
            resp[:, far], _ = exp_normalize(relative, axis=0)
    return resp, log_norm


# Starting values come from at most this many rows (drawn uniformly, with the
# restart's random state): k-means and its (n, K) responsibilities stay small.
INIT_ROWS = 200_000


def _initial_rows(data, random_state):
    """All rows of ``data``, or a uniform sample of ``INIT_ROWS`` of them (in order), as
    data over an array (rows filled as they are read become an array here)."""
    rows = slice(None)
    if data.n_samples > INIT_ROWS:
        rows = np.sort(random_state.choice(data.n_samples, size=INIT_ROWS, replace=False))
    weights = None if data.sample_weight is None else data.sample_weight[rows]
    return type(data)(data.X[rows], data.shift, weights)


class MixtureModel:
    """The EM model of a mixture: mixing weights + a component family (pure functions).

    ``data`` is what ``family.prepare`` returned.  Starting values given by
    the user (``inits``: ``weights`` and the family's parameters) override the
    ones computed from the initial responsibilities.
    """

    def __init__(self, n_components, family, init_params="kmeans", inits=None):
        self.n_components = n_components
        self.family = family
        self.init_params = init_params
        self.inits = inits or {}

    def initialize(self, data, random_state):
        inits = self.inits
        family = self.family
        given = inits.get("components", {})
        if "weights" in inits and {"means", "precisions_cholesky"} <= set(given):
            return MixtureParams(inits["weights"], given)
        rows = _initial_rows(family.complete_rows(data), random_state)
        resp = initial_responsibilities(
            rows.X, self.n_components, self.init_params, random_state, rows.sample_weight
        ).T
        stats = family.statistics(rows, resp)
        params = MixtureParams(self._weights(stats), family.m_step(stats))
        return MixtureParams(inits.get("weights", params.weights), {**params.components, **given})

    def e_step(self, data, params):
        evaluator = self.family.evaluator(data, params.components)
        stats = evaluator.new_statistics()
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        log_likelihood = 0.0
        for chunk in evaluator.chunks():
            resp, log_norm = posterior(evaluator, chunk, evaluator.log_prob(chunk), log_weights)
            w = evaluator.chunk_weights(chunk)
            if w is None:
                log_likelihood += log_norm.sum()
            else:
                log_likelihood += log_norm @ w
                resp *= w
            evaluator.accumulate(stats, chunk, resp)
        return log_likelihood / data.total_weight, evaluator.finish(stats)

    def m_step(self, stats, params):
        return MixtureParams(self._weights(stats), self.family.m_step(stats, params.components))

    @staticmethod
    def _weights(stats):
        nk = stats.component_weights + EMPTY_COMPONENT_GUARD
        return nk / nk.sum()

    def log_prob_and_posterior(self, data, params):
        """Yield ``(rows, weighted log-densities, responsibilities)`` per chunk (K, n)."""
        evaluator = self.family.evaluator(data, params.components)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        for chunk in evaluator.chunks():
            log_prob = evaluator.log_prob(chunk)
            weighted = log_prob + log_weights[:, None]
            resp, _ = posterior(evaluator, chunk, log_prob, log_weights)
            yield evaluator, chunk, weighted, resp

    # -- inference on prepared data --------------------------------------------------------

    def score_samples(self, data, params):
        """Log-likelihood of each row, (n_samples,)."""
        out = np.empty(data.n_samples)
        for evaluator, chunk, weighted, _ in self.log_prob_and_posterior(data, params):
            out[evaluator.rows(chunk)] = logsumexp(weighted, axis=0)
        return out

    def predict_proba(self, data, params):
        out = np.empty((data.n_samples, self.n_components))
        for evaluator, chunk, _, resp in self.log_prob_and_posterior(data, params):
            out[evaluator.rows(chunk)] = resp.T
        return out

    def impute(self, data, params, random_state=None):
        """The rows of ``data`` with missing entries filled in, in the data's coordinates.

        Posterior means, or posterior draws when ``random_state`` is given
        (see the family's evaluator ``impute``).
        """
        out = np.empty((data.n_samples, data.n_features))
        for evaluator, chunk, _, resp in self.log_prob_and_posterior(data, params):
            out[evaluator.rows(chunk)] = evaluator.impute(chunk, resp, random_state)
        return out + data.shift

    def n_parameters(self, n_features):
        return self.family.n_parameters(self.n_components, n_features) + self.n_components - 1
