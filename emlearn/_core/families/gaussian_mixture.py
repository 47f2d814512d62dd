"""Gaussian-mixture emissions: every state emits from its own mixture of ``n_mix`` Gaussians
(hmmlearn's ``GMMHMM``).

The ``n_components * n_mix`` Gaussians are computed as one Gaussian family over
flattened components (state-major: component ``k * n_mix + j`` is mixture
component ``j`` of state ``k``), so the one-product log-densities, the far
components and the additive, re-centerable statistics of :mod:`.gaussian` are
reused as they are.  A state's log-likelihood is the log-sum-exp over its
components of ``log weight + log density``; its rows' posterior weights are
split among its components in proportion to those terms.

Covariance types are the four of :mod:`.covariance` per mixture component,
except ``tied``: one full covariance per *state*, shared by its mixture
components (hmmlearn's meaning, and scikit-learn's ``tied`` within each
state's mixture).  Layouts of ``covariances``: (n_components, n_mix, d, d)
for ``full``, (n_components, d, d) for ``tied``, (n_components, n_mix, d) for
``diag`` and (n_components, n_mix) for ``spherical``.

Priors (:class:`MixturePrior`) are stored in one canonical form,
``covariance = (scale + lambda * deviation term + scatter) / (offset +
weight)``; the estimator's arguments (hmmlearn ``GaussianHMM``'s meaning) and
hmmlearn ``GMMHMM``'s parametrization (:mod:`emlearn.compat.hmmlearn`) both map
onto it.

Deliberate differences from hmmlearn 0.3.3's ``GMMHMM`` M-step:

* hmmlearn sums the covariances' scatter around the means of the *previous*
  iteration (the ones the E-step used) while the prior's term uses the new
  means.  That is a generalized EM step (a conditional maximization of the
  covariances given the old means) with the same fixed points but slower
  progress; here the scatter is taken around the new means (the M-step
  proper).  ``hmmlearn_covariances=True`` reproduces hmmlearn's update; the
  compatibility classes set it.
* Mixture weights are the Dirichlet posterior mode clipped at zero
  (:func:`.base.dirichlet_mode`); hmmlearn does not clip, so a
  ``weights_prior`` below one can give it negative weights.
* A mixture component (or, for ``tied``, a state) with no posterior weight
  keeps its parameters (:func:`.base.keep_unvisited`), where hmmlearn sets
  its mean to zero.
"""

import dataclasses
from typing import NamedTuple

import numpy as np

from .. import validation as v
from ..init import kmeans_labels
from ..logsumexp import exp_normalize, logsumexp
from . import covariance as cov
from .base import MIN_WEIGHT, Evaluator, Statistics, dirichlet_mode, keep_unvisited
from .gaussian import GaussianFamily, GaussianStatistics


@dataclasses.dataclass
class GaussianMixtureStatistics(Statistics):
    """Additive statistics of the ``n_components * n_mix`` Gaussians (state-major).

    ``components`` are :class:`.gaussian.GaussianStatistics` of the flattened
    components: weights, and weighted sums around re-centerable centers.
    """

    components: GaussianStatistics


class MixturePrior(NamedTuple):
    """Priors of Gaussian-mixture emissions in canonical form.

    ``weights_prior`` (K, M): Dirichlet concentration of each state's mixture
    weights.  ``means_prior`` (K, M, d) and ``means_weight`` (K, M): mean and
    precision scale of a normal prior on each component's mean, which is
    ``(means_weight * means_prior + sum of rows) / (means_weight + weight)``.
    ``covars_scale`` (shaped as the covariances) and ``covars_offset`` (K, M)
    for ``full`` and ``spherical``, (K,) for ``tied``, (K, M, d) for ``diag``:
    each covariance is ``(covars_scale + lambda * deviation term + scatter) /
    (covars_offset + weight)`` -- per feature for ``spherical`` (the trace
    terms divided by d), summed over the state's components for ``tied``.
    All neutral values (1, 0) give the maximum-likelihood estimate.
    """

    weights_prior: np.ndarray
    means_prior: np.ndarray
    means_weight: np.ndarray
    covars_scale: np.ndarray
    covars_offset: np.ndarray

    @staticmethod
    def offset_shape(kind, n_components, n_mix, n_features):
        """Shape of ``covars_offset`` for covariance type ``kind``."""
        return {"full": (n_components, n_mix), "tied": (n_components,),
                "diag": (n_components, n_mix, n_features),
                "spherical": (n_components, n_mix)}[kind]

    @classmethod
    def from_options(cls, options, kind, n_components, n_mix, n_features):
        """The prior the estimator's arguments describe (hmmlearn ``GaussianHMM``'s meaning).

        ``covars_prior`` is the scale (a number ``c``: ``c * I`` for full and
        tied), ``covars_weight`` gives ``offset = max(covars_weight - p, 0)``
        with ``p = d`` (full, tied) or 1 (diag, spherical).  Errors name the
        argument.
        """
        K, M, d = n_components, n_mix, n_features
        weights_prior = np.broadcast_to(v.check_concentration(
            "weights_prior", options.get("weights_prior", 1.0), (K, M)), (K, M)).copy()
        means_prior = _broadcast("means_prior", options.get("means_prior", 0.0), (K, M, d))
        means_weight = _broadcast("means_weight", options.get("means_weight", 0.0), (K, M))
        if np.any(means_weight < 0):
            raise ValueError("means_weight must be non-negative.")
        layout = GaussianMixtureFamily.covariance_shape(kind, K, M, d)
        scale = v.float_array("covars_prior", options.get("covars_prior", 0.0))
        if scale.ndim == 0 and kind in ("full", "tied"):
            scale = scale * np.eye(d)
        scale = _broadcast("covars_prior", scale, layout)
        covars_weight = options.get("covars_weight", 0.0)
        v.check_real("covars_weight", covars_weight)
        offset = max(covars_weight - (d if kind in ("full", "tied") else 1), 0.0)
        return cls(weights_prior, means_prior, means_weight, scale,
                   np.full(cls.offset_shape(kind, K, M, d), offset))


def _broadcast(name, value, shape):
    """A finite float64 copy of ``value`` broadcast to ``shape`` (errors name it)."""
    array = v.float_array(name, value)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite.")
    try:
        return np.broadcast_to(array, shape).copy()
    except ValueError:
        raise ValueError(f"{name} must be a scalar or broadcast to shape {shape}, got "
                         f"{array.shape}.") from None


class _MixtureEvaluator(Evaluator):
    """States' log-likelihoods (log-sum-exp over their components) and statistics."""

    def __init__(self, family, data, params):
        K, M = params["weights"].shape
        super().__init__(data, K)
        self.n_mix = M
        self.components = family.gaussians.evaluator(data, params["gaussians"])
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(params["weights"]).reshape(K * M, 1)
        # exp_normalize floors exponentials at exp(EXP_FLOOR): a zero weight stays zero.
        self.zero_weights = params["weights"] == 0
        self._last = (None, None)

    def chunks(self):
        return self.components.chunks()

    def rows(self, chunk):
        return self.components.rows(chunk)

    def chunk_weights(self, chunk):
        return self.components.chunk_weights(chunk)

    def _joint(self, chunk):
        """``log weight + log density`` (K, M, n_rows), kept for the chunk's next call."""
        rows = self.rows(chunk)
        if self._last[0] != rows:
            joint = self.components.log_prob(chunk) + self.log_weights
            self._last = (rows, joint.reshape(self.n_components, self.n_mix, -1))
        return self._last[1]

    def log_prob(self, chunk):
        return logsumexp(self._joint(chunk), axis=1)

    def new_statistics(self):
        return GaussianMixtureStatistics(self.components.new_statistics())

    def accumulate(self, stats, chunk, weights):
        within, _ = exp_normalize(self._joint(chunk), axis=1)
        within[self.zero_weights] = 0.0
        within *= weights[:, None, :]
        self.components.accumulate(stats.components, chunk,
                                   within.reshape(-1, within.shape[-1]))
        return stats

    def finish(self, stats):
        return GaussianMixtureStatistics(self.components.finish(stats.components))


class GaussianMixtureFamily:
    """Each component (HMM state) emits from a mixture of ``n_mix`` Gaussians.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
        ``tied``: one covariance per state, shared by its mixture components.
    n_mix : int, default=1
        Gaussians per state.
    reg_covar : float, default=1e-6
        Added to the diagonal of every estimated covariance.
    prior : dict or MixturePrior, default=None
        The estimator's prior arguments (validated by :meth:`configure`), or a
        canonical :class:`MixturePrior`; None: no prior.
    n_components : int, default=None
        Number of states (needed to validate the priors).
    hmmlearn_covariances : bool, default=False
        Take the covariances' scatter around the previous means, as hmmlearn's
        ``GMMHMM`` does (see the module's notes).
    """

    name = "gaussian_mixture"
    parameter_names = ("weights", "means", "covariances")
    init_arguments = {"weights": "weights_init", "means": "means_init",
                      "covariances": "covariances_init"}
    allow_nan = False
    needs_responsibilities = True

    def __init__(self, covariance_type="diag", n_mix=1, reg_covar=1e-6, prior=None,
                 n_components=None, hmmlearn_covariances=False):
        self.covariance = cov.covariance_type(covariance_type)
        self.n_mix = n_mix
        self.reg_covar = reg_covar
        self.prior = prior
        self.n_components = n_components
        self.hmmlearn_covariances = hmmlearn_covariances
        # The flattened Gaussians; a state's tied covariance is a full one repeated.
        self.gaussians = GaussianFamily("full" if covariance_type == "tied" else covariance_type,
                                        reg_covar, pooled_start=True)

    PRIOR_ARGUMENTS = ("weights_prior", "means_prior", "means_weight", "covars_prior",
                       "covars_weight")

    @classmethod
    def from_options(cls, options, **ignored):
        """The family an estimator's parameters describe."""
        prior = {name: options[name] for name in cls.PRIOR_ARGUMENTS if name in options}
        return cls(options["covariance_type"], options.get("n_mix", 1), options["reg_covar"],
                   prior or None, options.get("n_components"))

    def _replace(self, **changes):
        values = dict(covariance_type=self.covariance.name, n_mix=self.n_mix,
                      reg_covar=self.reg_covar, prior=self.prior,
                      n_components=self.n_components,
                      hmmlearn_covariances=self.hmmlearn_covariances)
        return type(self)(**{**values, **changes})

    def fitted(self, estimator):
        return self

    @staticmethod
    def covariance_shape(kind, n_components, n_mix, n_features):
        """Shape of ``covariances`` for covariance type ``kind``."""
        K, M, d = n_components, n_mix, n_features
        return {"full": (K, M, d, d), "tied": (K, d, d), "diag": (K, M, d),
                "spherical": (K, M)}[kind]

    def _flat_covariances(self, covariances):
        """Covariances of the flattened Gaussians (tied: each state's matrix repeated)."""
        if self.covariance.name == "tied":
            return np.repeat(covariances, self.n_mix, axis=0)
        return covariances.reshape((-1,) + covariances.shape[2:])

    # -- input -----------------------------------------------------------------------------
    def check_X(self, X):
        return self.gaussians.check_X(X)

    def configure(self, X, sample_weight=None):
        """The family with its priors validated against the data's number of features."""
        if isinstance(self.prior, MixturePrior):
            return self
        prior = MixturePrior.from_options(self.prior or {}, self.covariance.name,
                                          self.n_components or 1, self.n_mix, X.shape[1])
        return self._replace(prior=prior)

    def check_init(self, name, value, n_components, n_features):
        K, M, d = n_components, self.n_mix, n_features
        if name == "weights":
            return v.check_probabilities("weights_init", value, (K, M), axis=1)
        if name == "means":
            return v.check_array_init("means_init", value, (K, M, d))
        array = v.float_array("covariances_init", value)
        shape = self.covariance_shape(self.covariance.name, K, M, d)
        if array.shape != shape:
            raise ValueError(f"covariances_init for covariance_type={self.covariance.name!r} "
                             f"and n_mix={M} must have shape {shape}, got {array.shape}.")
        self.gaussians.covariance.check_matrices(
            self._flat_covariances(array), len(self._flat_covariances(array)), d,
            "covariances_init")
        return array

    # -- data --------------------------------------------------------------------------------
    def prepare(self, X, sample_weight=None, n_components=1, shift=None, cache=False,
                incomplete=None):
        return self.gaussians.prepare(X, sample_weight, n_components * self.n_mix, shift,
                                      cache, incomplete)

    def shift_of(self, X, has_nan):
        return self.gaussians.shift_of(X, has_nan)

    def row_floats(self, n_components, n_features, incomplete=False):
        """Per row: the Gaussians' terms, and the log-likelihoods of every mixture
        component of every state (and their exponentials)."""
        return (self.gaussians.row_floats(n_components * self.n_mix, n_features, incomplete)
                + 2 * n_components * self.n_mix)

    def complete_rows(self, data):
        return data

    def evaluator(self, data, params):
        return _MixtureEvaluator(self, data, params)

    def assemble(self, values):
        """Parameters from weights, means and covariances (the flattened Gaussians built)."""
        means, covariances = values["means"], values["covariances"]
        return {"weights": values["weights"], "means": means, "covariances": covariances,
                "gaussians": self.gaussians.params(means.reshape(-1, means.shape[-1]),
                                                   self._flat_covariances(covariances))}

    # -- statistics, initialization and M-step -------------------------------------------------
    def initialize(self, data, resp, random_state):
        """Starting parameters: k-means with ``n_mix`` clusters within each state's rows.

        Uniform weights, the clusters' means and the pooled within-cluster
        covariance for every component (a state with fewer rows than
        ``n_mix`` deals its rows out in turn).
        """
        K, M = len(resp), self.n_mix
        X = data.X.astype(np.float64, copy=False)
        state = np.argmax(resp, axis=0)
        assigned = resp.max(axis=0) > 0
        flat = np.zeros((K * M, len(X)))
        for k in range(K):
            rows = np.flatnonzero(assigned & (state == k))
            if M == 1 or len(rows) < M:
                labels = np.arange(len(rows)) % M
            else:
                labels = kmeans_labels(X[rows], M, random_state)
            flat[k * M + labels, rows] = 1.0
        start = self.gaussians.initialize(data, flat)
        means = start["means"].reshape(K, M, -1)
        covariances = start["covariances"]
        if self.covariance.name == "tied":
            covariances = covariances[::M]
        else:
            covariances = covariances.reshape(self.covariance_shape(
                self.covariance.name, K, M, means.shape[-1]))
        return {"weights": np.full((K, M), 1.0 / M), "means": means,
                "covariances": covariances}

    def m_step(self, stats, previous=None, fixed=()):
        components = stats.components
        M = self.n_mix
        nk = components.nk
        centers = components._centers()
        d = centers.shape[1]
        K = len(nk) // M
        prior = self.prior if isinstance(self.prior, MixturePrior) else \
            MixturePrior.from_options(self.prior or {}, self.covariance.name, K, M, d)

        def kept(name):
            return name in fixed and previous is not None

        if kept("weights"):
            weights = previous["weights"]
        else:
            estimate = dirichlet_mode(nk.reshape(K, M), prior.weights_prior, axis=1)
            usable = np.isfinite(estimate).all(axis=1)
            old = np.full((K, M), 1.0 / M) if previous is None else previous["weights"]
            weights = keep_unvisited(estimate, old, usable)
        visited = nk > MIN_WEIGHT
        old_means = None if previous is None else previous["means"].reshape(K * M, d)
        if kept("means"):
            means = old_means
        else:
            lam = prior.means_weight.reshape(-1)
            relative = (lam[:, None] * (prior.means_prior.reshape(-1, d) - centers)
                        + components.moments[:, -d:])
            means = centers + relative / (lam + nk + cov.EMPTY_COMPONENT_GUARD)[:, None]
            means = keep_unvisited(means, old_means, visited)
        if kept("covariances"):
            covariances = previous["covariances"]
        else:
            around = old_means if self.hmmlearn_covariances and old_means is not None \
                else means
            covariances = self._map_covariances(components, around, means, prior, K)
            if previous is not None:
                if self.covariance.name == "tied":
                    covariances = keep_unvisited(covariances, previous["covariances"],
                                                 nk.reshape(K, M).sum(axis=1) > MIN_WEIGHT)
                else:
                    flat = keep_unvisited(self._flat_covariances(covariances),
                                          self._flat_covariances(previous["covariances"]),
                                          visited)
                    covariances = flat.reshape(covariances.shape)
        return self.assemble({"weights": weights, "means": means.reshape(K, M, d),
                              "covariances": covariances})

    def _map_covariances(self, components, around, means, prior, K):
        """``(scale + lambda * deviation term + scatter around ``around``) /
        (offset + weight)``."""
        M, kind = self.n_mix, self.covariance.name
        nk = components.nk
        d = means.shape[1]
        _, spread = self.gaussians.covariance.estimate(nk, components.moments, 0.0,
                                                       means=around,
                                                       centers=components._centers())
        weight = nk + cov.EMPTY_COMPONENT_GUARD
        lam = prior.means_weight.reshape(-1)
        deviation = means - prior.means_prior.reshape(-1, d)
        if kind in ("full", "tied"):
            terms = (spread * weight[:, None, None]
                     + lam[:, None, None] * deviation[:, :, None] * deviation[:, None, :])
            if kind == "tied":
                numerator = terms.reshape(K, M, d, d).sum(axis=1)
                denominator = nk.reshape(K, M).sum(axis=1)
            else:
                numerator, denominator = terms.reshape(K, M, d, d), nk.reshape(K, M)
            covariances = (prior.covars_scale + numerator) / (
                prior.covars_offset + denominator + cov.EMPTY_COMPONENT_GUARD)[..., None, None]
        elif kind == "diag":
            numerator = spread * weight[:, None] + lam[:, None] * deviation**2
            covariances = (prior.covars_scale + numerator.reshape(K, M, d)) / (
                prior.covars_offset + weight.reshape(K, M, 1))
        else:
            numerator = spread * weight + lam * (deviation**2).sum(axis=1) / d
            covariances = (prior.covars_scale + numerator.reshape(K, M)) / (
                prior.covars_offset + weight.reshape(K, M))
        return self.covariance._add_to_diagonal(covariances, self.reg_covar)

    # -- model selection, attributes, sampling ---------------------------------------------------
    def n_parameters(self, n_components, n_features, fixed=()):
        K, M, d = n_components, self.n_mix, n_features
        count = 0 if "weights" in fixed else K * (M - 1)
        count += 0 if "means" in fixed else K * M * d
        if "covariances" not in fixed:
            per = self.covariance.n_parameters(M, d)
            count += K * per
        return count

    def attributes(self, params):
        """Fitted attributes: ``weights_``, ``means_`` and ``covariances_``."""
        return {"weights_": params["weights"], "means_": params["means"],
                "covariances_": params["covariances"]}

    def params_from(self, attributes):
        get = attributes.get if isinstance(attributes, dict) else (
            lambda name: getattr(attributes, name))
        return self.assemble({name: np.asarray(get(name + "_"), dtype=np.float64)
                              for name in self.parameter_names})

    def center(self, params, weights=None):
        return params["means"].reshape(-1, params["means"].shape[-1]).mean(axis=0)

    def sample(self, rng, params, labels):
        """Rows of states ``labels``: a mixture component by its weight, then a Gaussian draw."""
        labels = np.asarray(labels)
        cumulative = np.cumsum(params["weights"], axis=1)[labels]
        mixture = np.minimum((rng.uniform(size=(len(labels), 1)) > cumulative).sum(axis=1),
                             self.n_mix - 1)
        return self.gaussians.sample(rng, params["gaussians"], labels * self.n_mix + mixture)
