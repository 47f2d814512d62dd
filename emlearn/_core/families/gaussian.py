"""The Gaussian family: one implementation for the mixture, the HMM and the imputer.

Four covariance types (:mod:`.covariance`), complete rows and rows with missing
entries (:mod:`.missing`).  Parameters are a dict of arrays in the data's own
coordinates: ``means`` (n_components, n_features), ``covariances`` and
``precisions_cholesky`` in the covariance type's layout.

Complete rows take the one-product path: the log-densities of all components
are ``Theta @ T(x)`` and their statistics ``R @ T(x).T``, with ``T`` taken
around the data's mean.  That is exact while a component sits near that mean
relative to its spread; a component farther out (by the cancellation bound of
:func:`.covariance.far_from_center`) is evaluated and summed around its own
mean instead, as scikit-learn does for every component.
"""

import dataclasses
import math
import numbers
from typing import NamedTuple

import numpy as np

from . import covariance as cov
from .base import MIN_WEIGHT, Evaluator, Statistics, keep_unvisited
from .covariance import LOG_2PI, covariance_type, far_from_center, far_from_center_by_moments
from .missing import (ConditionalGaussians, ExpectedMoments, IncompleteData,
                      StreamedIncompleteData, observed_means, row_parts)

# A row whose best log-density is below this is far from every component: its
# posterior is recomputed in a form without cancellation (see
# :meth:`_CompleteEvaluator.relative_log_prob`).
FAR_ROW_LOG_DENSITY = -1e6


@dataclasses.dataclass
class GaussianStatistics(Statistics):
    """Additive statistics of weighted Gaussian components.

    ``nk`` (n_components,) holds the summed weights and ``moments``
    (n_components, n_statistics) the weighted sums of ``T(x - centers[k])``
    (second-order terms, then first-order ones), ``centers`` (n_components,
    n_features) in the data's coordinates (0 when None).  Statistics taken
    around different centers are re-centered before they are added.
    """

    nk: np.ndarray
    moments: np.ndarray
    centers: np.ndarray = None
    covariance: str = "full"

    @classmethod
    def zeros(cls, n_components, n_statistics, centers=None, covariance="full"):
        return cls(np.zeros(n_components), np.zeros((n_components, n_statistics)), centers,
                   covariance)

    @property
    def component_weights(self):
        return self.nk

    def add(self, resp, statistics):
        """Accumulate rows in place: ``resp`` (K, n) weights, ``statistics`` (m, n)."""
        self.nk += resp.sum(axis=1)
        self.moments += resp @ statistics.T
        return self

    def _centers(self):
        if self.centers is not None:
            return self.centers
        d = covariance_type(self.covariance).n_features_from_statistics(self.moments.shape[1])
        return np.zeros((len(self.nk), d))

    def __add__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        moments = other.moments
        if self.centers is not None or other.centers is not None:
            mine, theirs = self._centers(), other._centers()
            if not np.array_equal(mine, theirs):
                moments = covariance_type(self.covariance).recenter(
                    other.nk, other.moments, mine - theirs)
        return GaussianStatistics(self.nk + other.nk, self.moments + moments, self.centers,
                                  self.covariance)

    def __mul__(self, factor):
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            return NotImplemented
        return GaussianStatistics(factor * self.nk, factor * self.moments, self.centers,
                                  self.covariance)

    __rmul__ = __mul__


PRIOR_ARGUMENTS = ("means_prior", "means_weight", "covars_prior", "covars_weight")


class GaussianPrior(NamedTuple):
    """Priors on the means and covariances, in hmmlearn's parametrization.

    ``means_prior`` (n_components, d) and ``means_weight`` (n_components,) are
    the mean and the precision scale of a normal prior on each mean;
    ``covars_prior`` (shaped as the covariances) and ``covars_weight`` (a
    number) are the scale and the degrees of freedom of an inverse-Wishart
    (full, tied) or inverse-gamma (diag, spherical) prior on the covariances.
    All zero is no prior (the maximum-likelihood estimate).
    """

    means_prior: np.ndarray
    means_weight: np.ndarray
    covars_prior: np.ndarray
    covars_weight: float

    @classmethod
    def check(cls, options, kind, n_components, n_features):
        """Validated float64 copies of the prior arguments (errors name them), or None
        when they are all zero (no prior)."""
        from .. import validation as v

        K, d = n_components, n_features
        means_prior = v.float_array("means_prior", options.get("means_prior", 0.0))
        means_weight = v.float_array("means_weight", options.get("means_weight", 0.0))
        covars_weight = options.get("covars_weight", 0.0)
        v.check_real("covars_weight", covars_weight)
        for name, array, shape in (("means_prior", means_prior, (K, d)),
                                   ("means_weight", means_weight, (K,))):
            if array.ndim and array.shape != shape:
                raise ValueError(f"{name} must be a scalar or have shape {shape}, got "
                                 f"{array.shape}.")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must be finite.")
        if np.any(means_weight < 0):
            raise ValueError("means_weight must be non-negative.")
        covars_prior = kind.prior_scale(options.get("covars_prior", 0.0), K, d)
        if kind.name not in ("full", "tied") and np.any(covars_prior < 0):
            raise ValueError("covars_prior must be non-negative.")
        if (not np.any(means_weight) and not np.any(covars_prior)
                and max(covars_weight - (d if kind.name in ("full", "tied") else 1), 0) == 0):
            return None
        return cls(np.broadcast_to(means_prior, (K, d)).copy(),
                   np.broadcast_to(means_weight, (K,)).copy(), covars_prior,
                   float(covars_weight))

    def estimate(self, kind, stats, reg_covar, means=None):
        """MAP means and covariances from statistics (``means`` given: kept fixed)."""
        nk = stats.nk
        centers = stats._centers()
        d = centers.shape[1]
        if means is None:
            sums = stats.moments[:, -d:] + nk[:, None] * centers
            means = ((self.means_weight[:, None] * self.means_prior + sums)
                     / (self.means_weight + nk + cov.EMPTY_COMPONENT_GUARD)[:, None])
        _, around_means = kind.estimate(nk, stats.moments, 0.0, means=means, centers=centers)
        covariances = kind.map_covariances(around_means, nk, means - self.means_prior,
                                           self.means_weight, self.covars_prior,
                                           self.covars_weight)
        return means, kind._add_to_diagonal(covariances, reg_covar)


class CenteredData:
    """Complete rows as float64 chunks, centered on ``shift`` and transposed.

    ``X`` keeps its dtype (float32 data are not copied to float64 as a whole);
    each chunk of at most ``chunk_size`` rows is converted, centered and
    transposed to ``(n_features, n_rows)``, and turned into its statistics
    ``T`` in a reused buffer -- or, when ``cache`` is set and they fit in
    128 MiB, computed once for all rows (the HMM visits every row twice per
    iteration).
    """

    def __init__(self, X, shift, sample_weight=None, chunk_size=None):
        self.X = X
        self.shift = shift
        self.sample_weight = sample_weight
        self.chunk_size = chunk_size
        self.n_samples, self.n_features = X.shape
        self.total_weight = (
            float(self.n_samples) if sample_weight is None else float(sample_weight.sum())
        )
        self._cached = None

    @classmethod
    def from_data(cls, X, sample_weight=None):
        """Center on the (weighted) mean of ``X``, accumulated in float64 by row chunks."""
        return cls(X, observed_means(X, sample_weight), sample_weight)

    def rows_per_chunk(self, n_statistics):
        """Chunk length keeping the statistics buffer near 4 MiB (cache sized)."""
        if self.chunk_size is not None:
            return self.chunk_size
        return int(np.clip((1 << 19) // max(n_statistics, 1), 64, 8192))

    def cache(self, family):
        """Keep ``T`` of all rows when it fits in 128 MiB; returns self."""
        m = family.n_statistics(self.n_features)
        if self.n_samples * m <= (1 << 24):
            T = np.empty((m, self.n_samples))
            for start, stop, chunk in self.chunks(family):
                T[:, start:stop] = chunk
            self._cached = (family.name, T)
        return self

    def chunks(self, family):
        """Yield ``(start, stop, T)``; the rows' centered values are ``T[-d:]``."""
        if self._cached is not None and self._cached[0] == family.name:
            yield 0, self.n_samples, self._cached[1]
            return
        n_statistics = family.n_statistics(self.n_features)
        size = min(self.rows_per_chunk(n_statistics), self.n_samples)
        xT = np.empty((self.n_features, size))
        buffer = np.empty((n_statistics, size))
        for start in range(0, self.n_samples, size):
            stop = min(start + size, self.n_samples)
            width = stop - start
            np.subtract(self.X[start:stop].T, self.shift[:, None], out=xT[:, :width])
            # Query rows beyond 1e154 overflow their squares: their densities
            # underflow, and the evaluator takes their posteriors another way.
            with np.errstate(over="ignore"):
                T = family.statistics(xT[:, :width], out=buffer[:, :width])
            yield start, stop, T

    def weights(self, start, stop):
        return None if self.sample_weight is None else self.sample_weight[start:stop]


# Rows with missing entries whose grouped copies (about 16 bytes per entry) would
# exceed this are grouped by pattern part by part at every E-step instead of once.
STREAM_BYTES = 1 << 28


def has_nan(X):
    """Whether ``X`` holds a NaN, part by part (no whole-size boolean temporary)."""
    return any(np.isnan(X[start:stop]).any() for start, stop in row_parts(X.shape[0]))


def _columns_without_observed_value(X, sample_weight=None):
    """Columns of ``X`` that are NaN in every row (of non-zero weight)."""
    if hasattr(X, "compute"):  # a dask array: from the one pass of its summary
        from ..blocks import summary

        return np.flatnonzero(summary(X).counts == 0)
    if not has_nan(X):
        return np.zeros(0, dtype=np.intp)
    observed = np.zeros(X.shape[1], dtype=bool)
    for start, stop in row_parts(X.shape[0]):  # no whole-size temporary
        seen = ~np.isnan(X[start:stop])
        if sample_weight is not None:
            seen &= (sample_weight[start:stop] > 0)[:, None]
        observed |= seen.any(axis=0)
    return np.flatnonzero(~observed)


def _extremes(X):
    """``(max, min)`` of the non-NaN entries of ``X`` (NaN when there is none)."""
    if X.size == 0:
        return np.nan, np.nan
    if hasattr(X, "compute"):  # a dask array: from the one pass of its summary
        from ..blocks import summary

        known = summary(X)
        return known.top, known.bottom
    flat = X.reshape(-1)
    return float(np.fmax.reduce(flat)), float(np.fmin.reduce(flat))


def _residuals(data, chunk, means):
    """``x - mu_k`` of the chunk's rows for the given means (n_means, n_rows, d).

    Taken from the rows themselves, not from their centered copies: exact to
    the rows' own rounding however far the data's center is.
    """
    rows = data.X[chunk[0]:chunk[1]].astype(np.float64, copy=False)
    return rows[None, :, :] - means[:, None, :]


def _add_moments_around(kind, data, chunk, components, centers, weights, moments):
    """Add to ``moments[k]`` the chunk's statistics around ``centers`` (one per component),
    weighted by the rows of ``weights`` (one per component)."""
    for k, residual, w in zip(components, _residuals(data, chunk, centers), weights):
        moments[k] += kind.statistics(np.ascontiguousarray(residual.T)) @ w


class _CompleteEvaluator(Evaluator):
    """One-product log-densities and statistics, far components on their own."""

    def __init__(self, family, data, params):
        super().__init__(data, params["means"].shape[0])
        self.family = family
        kind = family.covariance
        d = data.n_features
        relative = params["means"] - data.shift
        self.theta, self.const = kind.natural_parameters(relative, params["precisions_cholesky"])
        self.far = far_from_center(kind, relative, params["precisions_cholesky"])
        self.any_far = bool(self.far.any())
        self.whitening = np.broadcast_to(kind.dense(params["precisions_cholesky"], d),
                                         (self.n_components, d, d))
        self.relative_means = relative
        self.means = params["means"]
        self.log_det = kind.log_det_cholesky(params["precisions_cholesky"],
                                             self.n_components, d)
        self.centers = np.where(self.far[:, None], params["means"], data.shift)

    def chunks(self):
        return self.data.chunks(self.family.covariance)

    def rows(self, chunk):
        return slice(chunk[0], chunk[1])

    def chunk_weights(self, chunk):
        return self.data.weights(chunk[0], chunk[1])

    def log_prob(self, chunk):
        T = chunk[2]
        with np.errstate(over="ignore", invalid="ignore"):  # overflowing rows: see chunks
            out = self.theta @ T
            out += self.const[:, None]
        if self.any_far:
            d = self.data.n_features
            far = np.flatnonzero(self.far)
            z = np.matmul(_residuals(self.data, chunk, self.means[far]), self.whitening[far])
            out[far] = (-0.5 * np.einsum("knd,knd->kn", z, z) - 0.5 * d * LOG_2PI
                        + self.log_det[far, None])
        if not np.isfinite(out).all():
            # Squares that overflow: the density underflows (see relative_log_prob).
            out[~np.isfinite(out)] = -np.inf
        return out

    def relative_log_prob(self, chunk, rows):
        """Posterior-exact log-densities of far rows, up to a per-row constant.

        With ``x = s u`` (``|u|_inf = 1``) measured from the data's center,
        ``log N_k(x) = -s^2 A_k / 2 + s B_k + C_k`` where ``A_k = u P_k u``,
        ``B_k = mu_k P_k u`` and ``C_k`` is constant.  Relative to the smallest
        ``A`` the huge quadratic terms cancel exactly where they are equal
        (tied covariances), so the linear terms still decide.
        """
        d = self.data.n_features
        xT = chunk[2][-d:, rows]
        scale = np.abs(xT).max(axis=0)
        scale[scale == 0] = 1.0
        u = xT / scale
        whitened_u = np.matmul(u.T[None], self.whitening)            # (K, n, d)
        whitened_mu = np.matmul(self.relative_means[:, None, :], self.whitening)  # (K, 1, d)
        A = np.einsum("knd,knd->kn", whitened_u, whitened_u)
        B = np.einsum("knd,kd->kn", whitened_u, whitened_mu[:, 0])
        C = -0.5 * np.einsum("kd,kd->k", whitened_mu[:, 0], whitened_mu[:, 0]) + self.log_det
        gap = A - A.min(axis=0)
        # Among the components with the smallest A, the largest B wins; factor
        # the scale out so that no intermediate overflows to inf - inf.
        reference = np.where(gap == 0, B, -np.inf).max(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            relative = scale * (-0.5 * gap * scale + (B - reference)) + C[:, None]
        return np.nan_to_num(relative, nan=-np.inf, posinf=-np.inf)

    def new_statistics(self):
        kind = self.family.covariance
        return GaussianStatistics.zeros(self.n_components,
                                        kind.n_statistics(self.data.n_features),
                                        self.centers.copy(), kind.name)

    def accumulate(self, stats, chunk, weights):
        T = chunk[2]
        if not self.any_far:
            stats.add(weights, T)
            return stats
        kind = self.family.covariance
        stats.nk += weights.sum(axis=1)
        near = np.flatnonzero(~self.far)
        if near.size:
            stats.moments[near] += weights[near] @ T.T
        far = np.flatnonzero(self.far)
        _add_moments_around(kind, self.data, chunk, far, self.means[far], weights[far],
                            stats.moments)
        return stats


class _IncompleteEvaluator(Evaluator):
    """Marginal densities of observed coordinates, expected statistics (by pattern)."""

    def __init__(self, family, data, params):
        super().__init__(data, params["means"].shape[0])
        self.family = family
        self.means = params["means"]
        self.gaussians = ConditionalGaussians(
            family.covariance, params["means"] - data.shift, params["covariances"],
            params["precisions_cholesky"])
        self._last = (None, None)

    def chunks(self):
        """``(first row of the part, part, block)``: parts are grouped as they are read."""
        for offset, part in self.data.parts():
            for block in part.blocks:
                yield offset, part, block

    def rows(self, chunk):
        offset, part, block = chunk
        return offset + part.order[block.start:block.stop]

    def chunk_weights(self, chunk):
        return chunk[1].weights(chunk[2])

    def conditionals(self, chunk):
        """The block's conditionals, computed once for consecutive calls."""
        _, part, block = chunk
        if self._last[0] is not block:
            self._last = (block, self.gaussians.condition(part, block))
        return self._last[1]

    def log_prob(self, chunk):
        return self.conditionals(chunk).log_prob.copy()

    def relative_log_prob(self, chunk, rows):
        return self.gaussians.relative_log_prob(chunk[1], chunk[2], rows)

    def impute(self, chunk, resp, random_state=None):
        """The block's rows completed (centered coordinates): posterior means, or draws.

        Without ``random_state``, each missing entry gets the
        responsibility-weighted conditional means of the components; with
        one, a draw from its posterior (a component, then its conditional
        Gaussian).
        """
        conditionals = self.conditionals(chunk)
        if random_state is not None:
            return self.gaussians.draw(chunk[1], chunk[2], conditionals, resp, random_state)
        return (np.einsum("kn,knd->nd", resp, conditionals.completed)
                + resp.T @ self.gaussians.means)

    def new_statistics(self):
        return ExpectedMoments(self.n_components, self.data.n_features)

    def accumulate(self, stats, chunk, weights):
        return stats.add(chunk[2], self.conditionals(chunk), weights)

    def finish(self, stats):
        return stats.statistics(self.family.covariance, self.gaussians.covariances,
                                self.means)


class GaussianFamily:
    """Gaussian components with a covariance type and a ridge ``reg_covar``.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    reg_covar : float, default=1e-6
        Added to the diagonal of every estimated covariance.
    pooled_start : bool, default=False
        Start every component with the pooled within-component covariance
        (keeps a small initial cluster from starting collapsed) instead of
        its own.
    """

    name = "gaussian"
    parameter_names = ("means", "covariances")
    init_arguments = {"means": "means_init", "covariances": "covariances_init"}
    allow_nan = True
    needs_responsibilities = True

    def __init__(self, covariance_type="full", reg_covar=1e-6, pooled_start=False,
                 prior=None, n_components=None):
        self.covariance = cov.covariance_type(covariance_type)
        self.reg_covar = reg_covar
        self.pooled_start = pooled_start
        self.prior = prior
        self.n_components = n_components

    @classmethod
    def from_options(cls, options, pooled_start=False):
        """The family an estimator's parameters describe (priors when it has them)."""
        prior = {name: options[name] for name in PRIOR_ARGUMENTS if name in options}
        return cls(options["covariance_type"], options["reg_covar"], pooled_start,
                   prior or None, options.get("n_components"))

    def fitted(self, estimator):
        return self

    def assemble(self, values):
        """Parameters from their learnable parts (the precisions' factors computed)."""
        return self.params(values["means"], values["covariances"])

    # -- input -------------------------------------------------------------------------
    def check_X(self, X):
        """Training data whose squares fit their dtype (k-means starts compute in it)."""
        top, bottom = _extremes(X)
        if np.isfinite(top):
            largest = max(abs(top), abs(bottom))
            dtype = np.dtype(X.dtype)
            if largest > math.sqrt(np.finfo(dtype).max) / 16:
                advice = ("Pass X.astype(np.float64), or rescale the data."
                          if dtype == np.float32 else
                          "Rescale the data (e.g. with StandardScaler).")
                raise ValueError(f"X has values as large as {largest:.3g}: their squares "
                                 f"overflow {dtype.name}. {advice}")
        return X

    def configure(self, X, sample_weight=None):
        """The family for training data ``X``: every column needs an observed value
        (and the priors, validated against its number of features)."""
        self._check_columns(X, sample_weight)
        if self.prior is None or isinstance(self.prior, GaussianPrior):
            return self
        prior = GaussianPrior.check(self.prior, self.covariance, self.n_components,
                                    X.shape[1])
        return GaussianFamily(self.covariance.name, self.reg_covar, self.pooled_start,
                              prior, self.n_components)

    def _check_columns(self, X, sample_weight):
        empty = _columns_without_observed_value(X, sample_weight)
        if empty.size:
            raise ValueError(
                f"X has no observed value in column(s) {empty.tolist()}: their "
                "parameters cannot be estimated. Drop these columns (EMImputer drops "
                "or keeps them per keep_empty_features).")

    def check_init(self, name, value, n_components, n_features):
        if name == "means":
            array = cov._float_array("means_init", value)
            if array.shape != (n_components, n_features):
                raise ValueError(f"means_init must have shape {(n_components, n_features)}, "
                                 f"got {array.shape}.")
            if not np.all(np.isfinite(array)):
                raise ValueError("means_init must be finite.")
            return array
        argument = {"covariances": "covariances_init", "precisions": "precisions_init"}[name]
        return self.covariance.check_matrices(value, n_components, n_features, argument)

    def params(self, means, covariances):
        """A parameter value: means, covariances and the Cholesky factors of the precisions."""
        return {"means": means, "covariances": covariances,
                "precisions_cholesky": self.covariance.precisions_cholesky(covariances)}

    def params_from_precisions(self, means, precisions):
        chol = self.covariance.precisions_cholesky_from_precisions(precisions)
        return {"means": means,
                "covariances": self.covariance.covariances_from_precisions_cholesky(chol),
                "precisions_cholesky": chol}

    # -- data ----------------------------------------------------------------------------
    def prepare(self, X, sample_weight=None, n_components=1, shift=None, cache=False,
                incomplete=None):
        """:class:`CenteredData` for complete rows, :class:`IncompleteData` with NaN.

        ``shift`` defaults to the (observed, weighted) column means;
        ``incomplete`` forces the missing-data form (None: when X has NaN).
        """
        if incomplete or (incomplete is None and has_nan(X)):
            if X.shape[0] * (X.shape[1] + 1) * 16 > STREAM_BYTES:
                return StreamedIncompleteData(X, shift, sample_weight, n_components)
            return IncompleteData(X, shift, sample_weight, n_components)
        data = (CenteredData.from_data(X, sample_weight) if shift is None
                else CenteredData(X, shift, sample_weight))
        return data.cache(self.covariance) if cache else data

    def row_floats(self, n_components, n_features, incomplete=False):
        """Float64 values the prepared data and evaluation hold per row, beyond the
        ``n_components`` log-likelihoods: the statistics terms of complete rows, or
        rows grouped by pattern (centered values and observed mask, and the mask)."""
        floats = self.covariance.n_statistics(n_features)
        if incomplete:
            floats += 2 * (n_features + 1) + n_features / 8 + 1
        return floats

    def shift_of(self, X, has_nan):
        """The center all parts (dask blocks, parts of a long array) share: the
        (observed) column means, read part by part from a numpy array or memmap."""
        if not hasattr(X, "compute"):
            return observed_means(X)
        from ..blocks import summary  # a dask array: from the one pass of its checks

        return summary(X).means

    def complete_rows(self, data):
        """Rows without missing entries to start from (missing ones set to the column means)."""
        if isinstance(data, (IncompleteData, StreamedIncompleteData)):
            return data.mean_imputed()
        return data

    def evaluator(self, data, params):
        if isinstance(data, (IncompleteData, StreamedIncompleteData)):
            return _IncompleteEvaluator(self, data, params)
        return _CompleteEvaluator(self, data, params)

    # -- statistics and M-step -----------------------------------------------------------------
    def statistics(self, data, resp):
        """Exact statistics for responsibilities ``resp`` (K, n) of complete rows.

        One product around the data's center; components that turn out too
        far from it for that (judged from their own moments) are summed again
        around their means.
        """
        kind = self.covariance
        n_components = resp.shape[0]
        stats = GaussianStatistics.zeros(n_components, kind.n_statistics(data.n_features),
                                         np.tile(data.shift, (n_components, 1)), kind.name)
        for start, stop, T in data.chunks(kind):
            w = data.weights(start, stop)
            r = resp[:, start:stop]
            stats.add(r if w is None else r * w, T)
        far = far_from_center_by_moments(kind, stats.nk, stats.moments)
        if far.any():
            means = stats.moments[far, -data.n_features:] / stats.nk[far, None]
            stats.centers[far] += means
            stats.moments[far] = 0.0
            components = np.flatnonzero(far)
            for chunk in data.chunks(kind):
                start, stop = chunk[0], chunk[1]
                w = data.weights(start, stop)
                r = resp[components, start:stop]
                _add_moments_around(kind, data, chunk, components, stats.centers[far],
                                    r if w is None else r * w, stats.moments)
        return stats

    def m_step(self, stats, previous=None, fixed=()):
        visited = stats.nk > MIN_WEIGHT
        old_means = None if previous is None else previous["means"]
        old_covariances = None if previous is None else previous["covariances"]
        fixed_means = "means" in fixed and previous is not None
        if isinstance(self.prior, GaussianPrior):
            means, covariances = self.prior.estimate(self.covariance, stats, self.reg_covar,
                                                     old_means if fixed_means else None)
        else:
            means, covariances = self.covariance.estimate(
                stats.nk, stats.moments, self.reg_covar,
                means=old_means if fixed_means else None, centers=stats._centers())
        if not fixed_means:
            means = keep_unvisited(means, old_means, visited)
        if "covariances" in fixed and previous is not None:
            covariances = old_covariances
        elif self.covariance.name != "tied":
            covariances = keep_unvisited(covariances, old_covariances, visited)
        return self.params(means, covariances)

    def initialize(self, data, resp, random_state=None):
        """Starting parameters from responsibilities ``resp`` (K, n) (missing entries:
        the column means)."""
        stats = self.statistics(self.complete_rows(data), resp)
        params = self.m_step(stats)
        if self.pooled_start and self.covariance.name != "tied":
            weights = stats.nk / stats.nk.sum()
            pooled = np.tensordot(weights, params["covariances"], axes=1)
            params = self.params(params["means"],
                                 np.repeat(pooled[None], len(weights), axis=0))
        return params

    # -- model selection, attributes, sampling -----------------------------------------------
    def n_parameters(self, n_components, n_features, fixed=()):
        count = 0
        if "means" not in fixed:
            count += n_components * n_features
        if "covariances" not in fixed:
            count += self.covariance.n_parameters(n_components, n_features)
        return count

    def attributes(self, params):
        """Fitted attributes: ``means_``, ``covariances_``, ``precisions_``,
        ``precisions_cholesky_``."""
        return {
            "means_": params["means"],
            "covariances_": params["covariances"],
            "precisions_": self.covariance.precisions(params["precisions_cholesky"]),
            "precisions_cholesky_": params["precisions_cholesky"],
        }

    def params_from(self, attributes):
        """Parameters (float64) from fitted attributes (a mapping or an estimator)."""
        get = attributes.get if isinstance(attributes, dict) else (
            lambda name: getattr(attributes, name, None))
        means = np.asarray(get("means_"), dtype=np.float64)
        covariances = np.asarray(get("covariances_"), dtype=np.float64)
        chol = get("precisions_cholesky_")
        if chol is None:
            return self.params(means, covariances)
        return {"means": means, "covariances": covariances,
                "precisions_cholesky": np.asarray(chol, dtype=np.float64)}

    def center(self, params, weights=None):
        """A point near all components: the data are centered on it for inference."""
        means = params["means"]
        if weights is None:
            return means.mean(axis=0)
        return weights @ means

    def sample(self, rng, params, labels):
        X = np.empty((len(labels), params["means"].shape[1]))
        for k in np.unique(labels):
            rows = np.flatnonzero(labels == k)
            X[rows] = self.covariance.sample(rng, params["means"][k], params["covariances"],
                                             k, len(rows))
        return X
