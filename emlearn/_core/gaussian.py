"""The Gaussian family, written once for the four covariance types.

The mixture, the HMM's Gaussian emissions and the imputer all use this module.
A Gaussian log-density is linear in a vector of sufficient statistics ``T(x)``:

    log N(x | mu, P) = theta . T(x) + const,   T(x) = (second-order terms, x)

so for a chunk of rows the log-densities of *all* components are one matrix
product ``Theta @ T`` and the M-step statistics are another, ``R @ T.T``.  Each
covariance type only says which second-order terms it needs:

=========== =============================== ==========================
type        second-order rows of ``T(x)``   covariance shape
=========== =============================== ==========================
full        ``x_i x_j`` for ``i <= j``      (n_components, d, d)
tied        ``x_i x_j`` for ``i <= j``      (d, d)
diag        ``x_i ** 2``                    (n_components, d)
spherical   ``sum_i x_i ** 2``              (n_components,)
=========== =============================== ==========================

Statistics are accumulated in float64 around a fixed shift (the data mean), so
second moments do not lose precision to cancellation when the data sit far
from the origin.  Layout: a chunk is passed transposed, ``xT`` of shape
``(n_features, n_rows)``, so reductions over components run along contiguous
rows.

Precision Cholesky factors follow scikit-learn: ``U`` is upper triangular with
``precision = U @ U.T``, so ``(x - mu) @ U`` is whitened.
"""

import functools
import math

import numpy as np
from scipy.linalg import lapack

LOG_2PI = math.log(2.0 * math.pi)
EMPTY_COMPONENT_GUARD = 10.0 * np.finfo(np.float64).eps


def _not_positive_definite(what="covariance"):
    return ValueError(
        f"A Gaussian {what} is not positive definite: some component has too few "
        "distinct points (duplicates, a constant feature or a collapsed "
        "component). Increase reg_covar, reduce n_components, or rescale the data."
    )


def _triangular_inverse(matrix, lower):
    # LAPACK's trtri: unthreaded and exact-triangular (a threaded triangular
    # solve costs ~30x more on the small matrices met here).
    inverse, info = lapack.dtrtri(matrix, lower=int(lower))
    if info != 0:
        raise _not_positive_definite()
    return inverse


def _upper_cholesky_of_precision(covariance):
    """``U`` upper triangular with ``inv(covariance) == U @ U.T``."""
    try:
        lower = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        raise _not_positive_definite() from None
    return _triangular_inverse(lower, lower=True).T


def _upper_cholesky_from_precision(precision):
    """``U`` upper triangular with ``precision == U @ U.T`` (reversed Cholesky)."""
    try:
        reversed_lower = np.linalg.cholesky(precision[..., ::-1, ::-1])
    except np.linalg.LinAlgError:
        raise _not_positive_definite("precision") from None
    return np.ascontiguousarray(reversed_lower[..., ::-1, ::-1])


def _covariance_from_upper_cholesky(upper):
    """``inv(U @ U.T)`` from the upper Cholesky factor of a precision."""
    inverse = _triangular_inverse(upper, lower=False)
    return inverse.T @ inverse


@functools.lru_cache(maxsize=64)
def _upper_triangle_indices(n_features):
    """``np.triu_indices(n_features)``, cached (it costs ~0.1 ms, every iteration)."""
    rows, cols = np.triu_indices(n_features)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


class CovarianceType:
    """Operations of the Gaussian family for one covariance structure."""

    name = None

    # -- sufficient statistics -------------------------------------------------
    def n_second_order(self, n_features):
        raise NotImplementedError

    def n_statistics(self, n_features):
        """Rows of ``T(x)``: second-order terms, then the ``n_features`` linear ones."""
        return self.n_second_order(n_features) + n_features

    def statistics(self, xT, out=None):
        """``T(x)`` for a transposed chunk ``xT`` (n_features, n_rows), float64."""
        d, n = xT.shape
        if out is None:
            out = np.empty((self.n_statistics(d), n))
        q = self.n_second_order(d)
        self._second_order(xT, out[:q])
        out[q:] = xT
        return out

    # -- log-densities -----------------------------------------------------------
    def natural_parameters(self, means, precisions_cholesky):
        """``(Theta, const)`` with ``log N(x | k) = Theta[k] @ T(x) + const[k]``."""
        precisions = self.precisions(precisions_cholesky)
        n_components, d = means.shape
        quadratic, linear = self._natural(means, precisions)
        const = (
            -0.5 * np.einsum("kd,kd->k", means, linear)
            - 0.5 * d * LOG_2PI
            + self.log_det_cholesky(precisions_cholesky, n_components, d)
        )
        return np.concatenate([quadratic, linear], axis=1), const

    # -- M-step ------------------------------------------------------------------
    def estimate(self, nk, moments, reg_covar, means=None):
        """Means and covariances from statistics ``(nk, moments = R @ T.T)``.

        ``nk`` (n_components,) are the summed weights, ``moments``
        (n_components, n_statistics) the weighted sums of ``T(x)``.  With
        ``means`` given (kept fixed), covariances are taken around them.
        ``reg_covar`` is added to the diagonal here and nowhere else.  A
        component with no weight gets mean 0 and covariance ``reg_covar``
        instead of NaN.
        """
        nk = np.asarray(nk, dtype=np.float64) + EMPTY_COMPONENT_GUARD
        d = self.n_features_from_statistics(moments.shape[1])
        q = moments.shape[1] - d
        mean_estimate = moments[:, q:] / nk[:, None]
        center = mean_estimate if means is None else means
        covariances = self._covariances(nk, moments[:, :q], mean_estimate, center)
        covariances = self._add_to_diagonal(covariances, reg_covar)
        return mean_estimate if means is None else means, covariances

    def n_features_from_statistics(self, n_statistics):
        """Inverse of :meth:`n_statistics`: the number of features."""
        raise NotImplementedError

    # -- parametrizations ----------------------------------------------------------
    def precisions_cholesky(self, covariances):
        raise NotImplementedError

    def precisions(self, precisions_cholesky):
        raise NotImplementedError

    def precisions_cholesky_from_precisions(self, precisions):
        raise NotImplementedError

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        raise NotImplementedError

    def log_det_cholesky(self, precisions_cholesky, n_components, n_features):
        """``log det U`` per component (half the log-determinant of the precision)."""
        raise NotImplementedError

    def n_parameters(self, n_components, n_features):
        """Free parameters of the covariances."""
        raise NotImplementedError

    def shape(self, n_components, n_features):
        """Shape of ``covariances`` / ``precisions`` arrays."""
        raise NotImplementedError

    def check_precisions(self, precisions, n_components, n_features, name):
        """Validate user-supplied precisions (shape, symmetry, positivity)."""
        precisions = np.asarray(precisions, dtype=np.float64)
        expected = self.shape(n_components, n_features)
        if precisions.shape != expected:
            raise ValueError(
                f"{name} for covariance_type={self.name!r} must have shape "
                f"{expected}, got {precisions.shape}."
            )
        if not np.all(np.isfinite(precisions)):
            raise ValueError(f"{name} must be finite.")
        self._check_positive(precisions, name)
        return precisions

    def _check_positive(self, precisions, name):
        if np.any(precisions <= 0):
            raise ValueError(
                f"{name} must be strictly positive for covariance_type={self.name!r}."
            )

    def sample(self, rng, mean, covariances, component, size):
        """``size`` draws from component ``component``."""
        raise NotImplementedError

    # -- dense views (used by the missing-data E-step) ----------------------------
    def dense(self, array, n_features):
        """``covariances``, ``precisions`` or their Cholesky factors as matrices.

        Returns shape (n_components, d, d), or (1, d, d) for ``tied`` (shared).
        """
        raise NotImplementedError

    def second_order_from_outer(self, outer):
        """The second-order rows of ``T`` from summed outer products ``x x^T``.

        ``outer`` (n_components, d, d) -> (n_components, n_second_order): the
        statistics of rows whose second moments are known only as matrices
        (missing coordinates contribute their conditional covariance).
        """
        raise NotImplementedError

    @staticmethod
    def _add_to_diagonal(covariances, value):
        raise NotImplementedError


class _MatrixCovariance(CovarianceType):
    """Shared code of ``full`` and ``tied``: all products ``x_i x_j``."""

    def n_second_order(self, n_features):
        return n_features * (n_features + 1) // 2

    def n_features_from_statistics(self, n_statistics):
        # n_statistics = d (d + 3) / 2  ->  solve for the number of features d
        return int(round((-3 + math.sqrt(9 + 8 * n_statistics)) / 2))

    @staticmethod
    def _pairs(n_features):
        return _upper_triangle_indices(n_features)

    def _second_order(self, xT, out):
        d = xT.shape[0]
        row = 0
        for i in range(d):
            np.multiply(xT[i], xT[i:], out=out[row : row + d - i])
            row += d - i

    def _quadratic_coefficients(self, precisions):
        """Coefficients of ``x_i x_j`` (i <= j) in ``-x.P.x / 2``, for stacked P."""
        d = precisions.shape[-1]
        rows, cols = self._pairs(d)
        coefficients = -precisions[..., rows, cols]
        coefficients[..., rows == cols] *= 0.5
        return coefficients

    def _unpack_second_order(self, packed, n_features):
        rows, cols = self._pairs(n_features)
        full = np.empty(packed.shape[:-1] + (n_features, n_features))
        full[..., rows, cols] = packed
        full[..., cols, rows] = packed
        return full

    def _check_positive(self, precisions, name):
        if not np.allclose(precisions, np.swapaxes(precisions, -1, -2)):
            raise ValueError(f"{name} must be symmetric.")
        if np.any(np.linalg.eigvalsh(precisions) <= 0):
            raise ValueError(f"{name} must be positive definite.")

    @staticmethod
    def _add_to_diagonal(covariances, value):
        d = covariances.shape[-1]
        covariances[..., np.arange(d), np.arange(d)] += value
        return covariances

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, -1, -2)

    def precisions_cholesky_from_precisions(self, precisions):
        return _upper_cholesky_from_precision(np.asarray(precisions, dtype=np.float64))

    def second_order_from_outer(self, outer):
        rows, cols = self._pairs(outer.shape[-1])
        return outer[:, rows, cols]


class FullCovariance(_MatrixCovariance):
    name = "full"

    def _natural(self, means, precisions):
        return self._quadratic_coefficients(precisions), np.einsum(
            "kij,kj->ki", precisions, means
        )

    def _covariances(self, nk, second_order, mean_estimate, center):
        d = mean_estimate.shape[1]
        second = self._unpack_second_order(second_order, d) / nk[:, None, None]
        return (
            second
            - mean_estimate[:, :, None] * center[:, None, :]
            - center[:, :, None] * mean_estimate[:, None, :]
            + center[:, :, None] * center[:, None, :]
        )

    def precisions_cholesky(self, covariances):
        return np.stack([_upper_cholesky_of_precision(c) for c in covariances])

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return np.stack([_covariance_from_upper_cholesky(u) for u in precisions_cholesky])

    def log_det_cholesky(self, precisions_cholesky, n_components, n_features):
        return np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def dense(self, array, n_features):
        return array

    def sample(self, rng, mean, covariances, component, size):
        factor = np.linalg.cholesky(covariances[component])
        return mean + rng.standard_normal((size, mean.shape[0])) @ factor.T


class TiedCovariance(_MatrixCovariance):
    name = "tied"

    def _natural(self, means, precisions):
        quadratic = self._quadratic_coefficients(precisions)
        return np.broadcast_to(quadratic, (means.shape[0], quadratic.shape[0])), (
            means @ precisions
        )

    def _covariances(self, nk, second_order, mean_estimate, center):
        d = mean_estimate.shape[1]
        second = self._unpack_second_order(second_order.sum(axis=0), d)
        cross = (nk[:, None] * mean_estimate).T @ center
        return (second - cross - cross.T + (nk[:, None] * center).T @ center) / nk.sum()

    def precisions_cholesky(self, covariances):
        return _upper_cholesky_of_precision(covariances)

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return _covariance_from_upper_cholesky(precisions_cholesky)

    def log_det_cholesky(self, precisions_cholesky, n_components, n_features):
        return np.full(n_components, np.log(np.diagonal(precisions_cholesky)).sum())

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def dense(self, array, n_features):
        return array[None]

    def sample(self, rng, mean, covariances, component, size):
        factor = np.linalg.cholesky(covariances)
        return mean + rng.standard_normal((size, mean.shape[0])) @ factor.T


class _VectorCovariance(CovarianceType):
    """Shared code of ``diag`` and ``spherical``: positive variances."""

    @staticmethod
    def _add_to_diagonal(covariances, value):
        return covariances + value

    def precisions_cholesky(self, covariances):
        if np.any(covariances <= 0) or not np.all(np.isfinite(covariances)):
            raise _not_positive_definite()
        return 1.0 / np.sqrt(covariances)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def precisions_cholesky_from_precisions(self, precisions):
        return np.sqrt(np.asarray(precisions, dtype=np.float64))

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return 1.0 / precisions_cholesky**2

    def sample(self, rng, mean, covariances, component, size):
        scale = np.sqrt(covariances[component])
        return mean + rng.standard_normal((size, mean.shape[0])) * scale


class DiagCovariance(_VectorCovariance):
    name = "diag"

    def n_second_order(self, n_features):
        return n_features

    def n_features_from_statistics(self, n_statistics):
        return n_statistics // 2

    def _second_order(self, xT, out):
        np.multiply(xT, xT, out=out)

    def _natural(self, means, precisions):
        return -0.5 * precisions, precisions * means

    def _covariances(self, nk, second_order, mean_estimate, center):
        return second_order / nk[:, None] - 2.0 * mean_estimate * center + center**2

    def log_det_cholesky(self, precisions_cholesky, n_components, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def dense(self, array, n_features):
        return array[:, :, None] * np.eye(n_features)

    def second_order_from_outer(self, outer):
        return np.diagonal(outer, axis1=1, axis2=2).copy()


class SphericalCovariance(_VectorCovariance):
    name = "spherical"

    def n_second_order(self, n_features):
        return 1

    def n_features_from_statistics(self, n_statistics):
        return n_statistics - 1

    def _second_order(self, xT, out):
        np.einsum("ij,ij->j", xT, xT, out=out[0])

    def _natural(self, means, precisions):
        return -0.5 * precisions[:, None], precisions[:, None] * means

    def _covariances(self, nk, second_order, mean_estimate, center):
        d = mean_estimate.shape[1]
        per_feature = (
            second_order[:, 0] / nk
            - 2.0 * np.einsum("kd,kd->k", mean_estimate, center)
            + np.einsum("kd,kd->k", center, center)
        )
        return per_feature / d

    def log_det_cholesky(self, precisions_cholesky, n_components, n_features):
        return n_features * np.log(precisions_cholesky)

    def n_parameters(self, n_components, n_features):
        return n_components

    def shape(self, n_components, n_features):
        return (n_components,)

    def dense(self, array, n_features):
        return array[:, None, None] * np.eye(n_features)

    def second_order_from_outer(self, outer):
        return np.trace(outer, axis1=1, axis2=2)[:, None]


COVARIANCE_TYPES = {
    cls.name: cls()
    for cls in (FullCovariance, TiedCovariance, DiagCovariance, SphericalCovariance)
}


def covariance_type(name):
    """The :class:`CovarianceType` called ``name``."""
    try:
        return COVARIANCE_TYPES[name]
    except KeyError:
        raise ValueError(
            f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, got {name!r}."
        ) from None


class GaussianStatistics:
    """Additive sufficient statistics of weighted Gaussian components.

    ``nk`` (n_components,) holds the summed weights and ``moments``
    (n_components, n_statistics) the weighted sums of ``T(x)``.  Statistics
    of disjoint row sets add up: ``stats(A) + stats(B) == stats(A and B)``.
    """

    __slots__ = ("nk", "moments")

    def __init__(self, nk, moments):
        self.nk = nk
        self.moments = moments

    @classmethod
    def zeros(cls, n_components, n_statistics):
        return cls(np.zeros(n_components), np.zeros((n_components, n_statistics)))

    def add(self, resp, statistics):
        """Accumulate rows in place: ``resp`` (K, n) weights, ``statistics`` (m, n)."""
        self.nk += resp.sum(axis=1)
        self.moments += resp @ statistics.T
        return self

    def __add__(self, other):
        return GaussianStatistics(self.nk + other.nk, self.moments + other.moments)


class CenteredData:
    """Rows of ``X`` as float64 chunks, centered on a fixed shift and transposed.

    ``X`` keeps its dtype (float32 data are not copied to float64 as a whole);
    each chunk of at most ``chunk_size`` rows is converted, centered on
    ``shift`` and transposed to ``(n_features, n_rows)`` in a reused buffer.
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

    @classmethod
    def from_data(cls, X, sample_weight=None):
        """Center on the (weighted) mean of ``X``, computed in float64."""
        X64 = X.astype(np.float64, copy=False)
        if sample_weight is None:
            shift = X64.mean(axis=0)
        else:
            shift = sample_weight @ X64 / sample_weight.sum()
        return cls(X, shift, sample_weight)

    def rows_per_chunk(self, n_statistics):
        """Chunk length keeping the statistics buffer near 4 MiB (cache sized)."""
        if self.chunk_size is not None:
            return self.chunk_size
        return int(np.clip((1 << 19) // max(n_statistics, 1), 64, 8192))

    def chunks(self, family):
        """Yield ``(start, stop, T)`` with ``T = family.statistics`` of the rows."""
        n_statistics = family.n_statistics(self.n_features)
        size = min(self.rows_per_chunk(n_statistics), self.n_samples)
        xT = np.empty((self.n_features, size))
        buffer = np.empty((n_statistics, size))
        for start in range(0, self.n_samples, size):
            stop = min(start + size, self.n_samples)
            width = stop - start
            np.subtract(self.X[start:stop].T, self.shift[:, None], out=xT[:, :width])
            yield start, stop, family.statistics(xT[:, :width], out=buffer[:, :width])

    def weights(self, start, stop):
        return None if self.sample_weight is None else self.sample_weight[start:stop]
