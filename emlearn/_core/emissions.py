"""Emission families: what a latent state emits, as pure functions.

Each family prepares the data once (``prepare``), then gives per-state,
per-row log-likelihoods (``log_likelihood``, shape (K, n_rows)), additive
sufficient statistics for posterior weights (``statistics``) and the M-step
(``m_step``).  Parameters are plain dicts of arrays.  A state with no posterior
weight keeps its previous parameters: the data say nothing about it, and any
value would maximize the likelihood (so an unused state never becomes NaN).

- :class:`GaussianEmission` reuses the Gaussian family of ``gaussian.py``
  (four covariance types; data centered on their mean, so means are stored
  relative to ``shift``).
- :class:`CategoricalEmission`: one column of symbols ``0..n_symbols-1``.
- :class:`PoissonEmission`: independent Poisson counts per column.
"""

import numpy as np
from scipy.special import gammaln

from .gaussian import EMPTY_COMPONENT_GUARD, CenteredData, GaussianStatistics, covariance_type

# A state needs at least this much posterior weight to be re-estimated.
MIN_STATE_WEIGHT = 1e-10


def keep_unvisited(new, old, visited):
    """``new`` where the state was visited, ``old`` (if any) elsewhere."""
    if old is None or visited.all():
        return new
    mask = visited.reshape((-1,) + (1,) * (new.ndim - 1))
    return np.where(mask, new, old)


def dirichlet_mode(counts, prior, axis=-1):
    """Mode of the Dirichlet posterior: ``max(prior - 1 + counts, 0)`` normalized.

    Slices with nothing to normalize come back as NaN and are replaced by the
    caller (an unvisited state keeps its previous distribution).
    """
    mode = np.maximum(prior - 1.0 + counts, 0.0)
    total = mode.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return mode / total


class GaussianEmission:
    """Gaussian emissions with a ``covariance_type`` and ``reg_covar``."""

    names = ("means", "covariances")

    def __init__(self, covariance_type_name, reg_covar):
        self.family = covariance_type(covariance_type_name)
        self.reg_covar = reg_covar

    def prepare(self, X, shift=None):
        """Centered rows, with their statistics ``T`` cached when they fit in 128 MiB."""
        centered = CenteredData.from_data(X) if shift is None else CenteredData(X, shift)
        m = self.family.n_statistics(centered.n_features)
        T = None
        if centered.n_samples * m <= (1 << 24):
            T = np.empty((m, centered.n_samples))
            for start, stop, chunk in centered.chunks(self.family):
                T[:, start:stop] = chunk
        return {"centered": centered, "T": T, "n_samples": centered.n_samples}

    def _chunks(self, data):
        if data["T"] is not None:
            yield 0, data["n_samples"], data["T"]
        else:
            yield from data["centered"].chunks(self.family)

    def log_likelihood(self, data, params):
        theta, const = self.family.natural_parameters(params["means"],
                                                      params["precisions_cholesky"])
        out = np.empty((len(const), data["n_samples"]))
        for start, stop, T in self._chunks(data):
            np.matmul(theta, T, out=out[:, start:stop])
        out += const[:, None]
        return out

    def statistics(self, data, gamma):
        n_features = data["centered"].n_features
        stats = GaussianStatistics.zeros(gamma.shape[1], self.family.n_statistics(n_features))
        for start, stop, T in self._chunks(data):
            stats.add(gamma[start:stop].T, T)
        return stats

    def m_step(self, stats, params, fixed):
        visited = stats.nk > MIN_STATE_WEIGHT
        means = params["means"]
        if "means" not in fixed:
            estimate, _ = self.family.estimate(stats.nk, stats.moments, self.reg_covar)
            means = keep_unvisited(estimate, means, visited)
        covariances = params["covariances"]
        if "covariances" not in fixed:
            _, estimate = self.family.estimate(stats.nk, stats.moments, self.reg_covar,
                                               means=means)
            if self.family.name != "tied":
                estimate = keep_unvisited(estimate, covariances, visited)
            covariances = estimate
        return self.with_covariances(means, covariances)

    def with_covariances(self, means, covariances):
        return {
            "means": means,
            "covariances": covariances,
            "precisions_cholesky": self.family.precisions_cholesky(covariances),
        }

    def initial_from_responsibilities(self, data, resp):
        """Means per state from hard/soft assignments, pooled within-state covariance.

        Pooling (the ``tied`` estimate, cast to the covariance type) keeps a small
        initial cluster from starting with a collapsed covariance.
        """
        stats = self.statistics(data, resp)
        means, covariances = self.family.estimate(stats.nk, stats.moments, self.reg_covar)
        if self.family.name != "tied":
            weights = stats.nk / stats.nk.sum()
            pooled = np.tensordot(weights, covariances, axes=1)
            covariances = np.repeat(pooled[None], len(weights), axis=0)
        return self.with_covariances(means, covariances)

    def n_parameters(self, n_components, n_features, fixed):
        count = 0
        if "means" not in fixed:
            count += n_components * n_features
        if "covariances" not in fixed:
            count += self.family.n_parameters(n_components, n_features)
        return count

    def sample(self, rng, params, states):
        X = np.empty((len(states), params["means"].shape[1]))
        for k in np.unique(states):
            rows = np.flatnonzero(states == k)
            X[rows] = self.family.sample(rng, params["means"][k], params["covariances"], k,
                                         len(rows))
        return X


class CategoricalEmission:
    """One column of integer symbols ``0 .. n_symbols - 1``."""

    names = ("emissionprob",)

    def __init__(self, n_symbols, prior=1.0):
        self.n_symbols = n_symbols
        self.prior = prior

    def prepare(self, X, shift=None):
        symbols = X[:, 0].astype(np.intp)
        order = np.argsort(symbols, kind="stable")
        present, starts = np.unique(symbols[order], return_index=True)
        return {"symbols": symbols, "order": order, "present": present, "starts": starts,
                "n_samples": len(symbols)}

    def log_likelihood(self, data, params):
        with np.errstate(divide="ignore"):
            return np.take(np.log(params["emissionprob"]), data["symbols"], axis=1)

    def statistics(self, data, gamma):
        """Expected symbol counts per state, (K, n_symbols)."""
        counts = np.zeros((gamma.shape[1], self.n_symbols))
        sums = np.add.reduceat(gamma[data["order"]], data["starts"], axis=0)
        counts[:, data["present"]] = sums.T
        return counts

    def m_step(self, stats, params, fixed):
        if "emissionprob" in fixed:
            return params
        estimate = dirichlet_mode(stats, self.prior, axis=1)
        usable = np.isfinite(estimate).all(axis=1)
        return {"emissionprob": keep_unvisited(estimate, params["emissionprob"], usable)}

    def initial_random(self, rng, n_components):
        return {"emissionprob": rng.dirichlet(np.ones(self.n_symbols), size=n_components)}

    def n_parameters(self, n_components, n_features, fixed):
        return 0 if "emissionprob" in fixed else n_components * (self.n_symbols - 1)

    def sample(self, rng, params, states):
        cumulative = np.cumsum(params["emissionprob"], axis=1)[states]
        draws = (rng.uniform(size=(len(states), 1)) > cumulative).sum(axis=1)
        return np.minimum(draws, self.n_symbols - 1)[:, None]


class PoissonEmission:
    """Independent Poisson counts, one rate per state and column."""

    names = ("rates",)
    # Rates are floored so that a state that saw only zeros still gives a finite
    # log-likelihood to a later non-zero count.
    MIN_RATE = 1e-12

    def prepare(self, X, shift=None):
        X = np.asarray(X, dtype=np.float64)
        return {"X": X, "log_factorial": gammaln(X + 1.0).sum(axis=1), "n_samples": len(X)}

    def log_likelihood(self, data, params):
        rates = params["rates"]
        return np.log(rates) @ data["X"].T - rates.sum(axis=1)[:, None] - data["log_factorial"]

    def statistics(self, data, gamma):
        """(posterior weight per state, weighted count sums per state)."""
        return gamma.sum(axis=0), gamma.T @ data["X"]

    def m_step(self, stats, params, fixed):
        if "rates" in fixed:
            return params
        weight, sums = stats
        visited = weight > MIN_STATE_WEIGHT
        estimate = np.maximum(sums / (weight[:, None] + EMPTY_COMPONENT_GUARD), self.MIN_RATE)
        return {"rates": keep_unvisited(estimate, params["rates"], visited)}

    def initial_from_responsibilities(self, data, resp):
        weight, sums = self.statistics(data, resp)
        rates = sums / (weight[:, None] + EMPTY_COMPONENT_GUARD)
        return {"rates": np.maximum(rates, data["X"].mean(axis=0) * 1e-3 + self.MIN_RATE)}

    def n_parameters(self, n_components, n_features, fixed):
        return 0 if "rates" in fixed else n_components * n_features

    def sample(self, rng, params, states):
        return rng.poisson(params["rates"][states]).astype(np.float64)
