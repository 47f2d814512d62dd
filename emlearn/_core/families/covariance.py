"""Covariance structures of the Gaussian family: the four covariance types.

The Gaussian family (:mod:`.gaussian`) serves the mixture, the HMM's emissions
and the imputer; this module holds what depends on the covariance type.  A
Gaussian log-density is linear in a vector of sufficient statistics ``T(x)``:

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

Statistics are accumulated in float64 around a center per component: the data
mean for components near it (one product for all of them), the component's own
mean for a component so far from it that the second moments would cancel (see
:func:`far_from_center`).  Layout: a chunk is passed transposed, ``xT`` of shape
``(n_features, n_rows)``, so reductions over components run along contiguous
rows.

Precision Cholesky factors follow scikit-learn: ``U`` is upper triangular with
``precision = U @ U.T``, so ``(x - mu) @ U`` is whitened.
"""

import functools
import math

import numpy as np
from scipy.linalg import lapack

from ..validation import float_array as _float_array

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
    def estimate(self, nk, moments, reg_covar, means=None, centers=None):
        """Means and covariances from statistics ``(nk, moments = R @ T.T)``.

        ``nk`` (n_components,) are the summed weights, ``moments``
        (n_components, n_statistics) the weighted sums of ``T(x - center)``,
        with ``centers`` (n_components, n_features) the center of each
        component's sums (0 when None).  With ``means`` given (kept fixed),
        covariances are taken around them.  ``reg_covar`` is added to the
        diagonal here and nowhere else.  A component with no weight gets a
        finite placeholder (its center and a covariance of ``reg_covar``); the
        caller keeps its previous parameters instead (:func:`.base.keep_unvisited`).
        """
        nk = np.asarray(nk, dtype=np.float64) + EMPTY_COMPONENT_GUARD
        d = self.n_features_from_statistics(moments.shape[1])
        q = moments.shape[1] - d
        if centers is None:
            centers = np.zeros((len(nk), d))
        relative_mean = moments[:, q:] / nk[:, None]
        relative_center = relative_mean if means is None else means - centers
        covariances = self._covariances(nk, moments[:, :q], relative_mean, relative_center)
        covariances = self._add_to_diagonal(covariances, reg_covar)
        return (centers + relative_mean if means is None else means), covariances

    def recenter(self, nk, moments, shift):
        """Moments around ``center + shift`` from moments around ``center``.

        With ``y = x - center`` and ``delta = -shift``: ``sum w (y + delta)``
        and its second-order terms, exactly (used when statistics taken around
        different centers are added).
        """
        d = shift.shape[1]
        q = moments.shape[1] - d
        first = moments[:, q:]
        delta = -shift
        out = np.empty_like(moments)
        out[:, q:] = first + nk[:, None] * delta
        out[:, :q] = moments[:, :q] + self._second_order_shift(first, delta, nk)
        return out

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

    def check_matrices(self, precisions, n_components, n_features, name):
        """A validated float64 copy of user-supplied covariances or precisions.

        Shape, finiteness, symmetry and positive definiteness (positivity for
        ``diag`` and ``spherical``) are checked; the error names ``name``.
        """
        precisions = _float_array(name, precisions)
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

    # -- MAP estimates (priors with hmmlearn's parametrization) -------------------
    def prior_scale(self, value, n_components, n_features, name="covars_prior"):
        """``covars_prior`` as an array of ``shape``: a scalar ``c`` is ``c * I`` (full,
        tied), ``c`` (diag, spherical); arrays must broadcast to the covariances' shape."""
        array = _float_array(name, value)
        shape = self.shape(n_components, n_features)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite.")
        if array.ndim == 0 and len(shape) > 1 and self.name in ("full", "tied"):
            return np.broadcast_to(float(array) * np.eye(n_features), shape).copy()
        try:
            return np.broadcast_to(array, shape).copy()
        except ValueError:
            raise ValueError(f"{name} for covariance_type={self.name!r} must be a scalar or "
                             f"broadcast to shape {shape}, got {array.shape}.") from None

    def map_covariances(self, covariances, nk, deviation, means_weight, covars_prior,
                        covars_weight):
        """Covariances maximizing the posterior under hmmlearn's priors.

        ``covariances`` are the weighted covariances around the (MAP) means,
        ``nk`` the components' weights, ``deviation`` (n_components, d) the
        means minus ``means_prior``, ``means_weight`` (n_components,).  The
        result is ``(covars_prior + scatter + means_weight * deviation
        deviation^T) / (dof + nk)``, with ``dof = max(covars_weight - d, 0)``
        for full and tied and ``max(covars_weight - 1, 0)`` for diag and
        spherical (whose denominator is floored at 1e-5), as hmmlearn's
        ``GaussianHMM``.
        """
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
            np.multiply(xT[i], xT[i:], out=out[row: row + d - i])
            row += d - i

    def _second_order_shift(self, first, delta, nk):
        rows, cols = self._pairs(delta.shape[1])
        cross = first[:, rows] * delta[:, cols] + delta[:, rows] * first[:, cols]
        return cross + nk[:, None] * delta[:, rows] * delta[:, cols]

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

    def diagonal_of_second_order(self, second_order, n_features):
        rows, cols = self._pairs(n_features)
        return second_order[:, rows == cols]


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

    def map_covariances(self, covariances, nk, deviation, means_weight, covars_prior,
                        covars_weight):
        d = deviation.shape[1]
        scatter = covariances * nk[:, None, None] + means_weight[:, None, None] * (
            deviation[:, :, None] * deviation[:, None, :])
        return (covars_prior + scatter) / (max(covars_weight - d, 0.0) + nk)[:, None, None]

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

    def map_covariances(self, covariances, nk, deviation, means_weight, covars_prior,
                        covars_weight):
        d = deviation.shape[1]
        scatter = covariances * nk.sum() + (means_weight[:, None] * deviation).T @ deviation
        return (covars_prior + scatter) / (max(covars_weight - d, 0.0) + nk.sum())

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

    def _second_order_shift(self, first, delta, nk):
        return 2.0 * first * delta + nk[:, None] * delta**2

    def _covariances(self, nk, second_order, mean_estimate, center):
        return second_order / nk[:, None] - 2.0 * mean_estimate * center + center**2

    def map_covariances(self, covariances, nk, deviation, means_weight, covars_prior,
                        covars_weight):
        scatter = covariances * nk[:, None] + means_weight[:, None] * deviation**2
        return (covars_prior + scatter) / np.maximum(max(covars_weight - 1, 0.0) + nk,
                                                     1e-5)[:, None]

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

    def diagonal_of_second_order(self, second_order, n_features):
        return second_order


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

    def _second_order_shift(self, first, delta, nk):
        return (2.0 * np.einsum("kd,kd->k", first, delta)
                + nk * np.einsum("kd,kd->k", delta, delta))[:, None]

    def _covariances(self, nk, second_order, mean_estimate, center):
        d = mean_estimate.shape[1]
        per_feature = (
            second_order[:, 0] / nk
            - 2.0 * np.einsum("kd,kd->k", mean_estimate, center)
            + np.einsum("kd,kd->k", center, center)
        )
        return per_feature / d

    def map_covariances(self, covariances, nk, deviation, means_weight, covars_prior,
                        covars_weight):
        # hmmlearn's spherical estimate: the diag one, averaged over features.
        scatter = covariances * nk + means_weight * (deviation**2).mean(axis=1)
        return (covars_prior + scatter) / np.maximum(max(covars_weight - 1, 0.0) + nk, 1e-5)

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

    def diagonal_of_second_order(self, second_order, n_features):
        return second_order  # the trace: one column


# Second moments summed around a center at Mahalanobis distance ``m`` from a
# component lose a relative ``eps * m`` of their precision to cancellation when
# the covariance is formed (and the one-product log-density an absolute
# ``eps * m``).  Past this bound a component is summed around its own mean.
CANCELLATION_LIMIT = 1e-10
EPS = np.finfo(np.float64).eps


def far_from_center(family, means, precisions_cholesky):
    """Components whose one-product statistics around 0 would lose precision.

    ``means`` are relative to the center of the data; the test is the squared
    Mahalanobis distance of the center from each component, times ``eps``.
    """
    d = means.shape[1]
    whitening = family.dense(precisions_cholesky, d)
    whitened = np.matmul(means[:, None, :], whitening)[:, 0]
    return EPS * np.einsum("kd,kd->k", whitened, whitened) > CANCELLATION_LIMIT


def far_from_center_by_moments(family, nk, moments):
    """The same test from statistics alone (no covariance yet: initialization).

    Per feature (or in total for ``spherical``), the ratio of the raw second
    moment to the variance it leaves after subtracting the squared mean: the
    factor by which rounding errors are amplified.
    """
    d = family.n_features_from_statistics(moments.shape[1])
    q = moments.shape[1] - d
    weight = np.asarray(nk, dtype=np.float64)[:, None] + EMPTY_COMPONENT_GUARD
    mean = moments[:, q:] / weight
    raw = family.diagonal_of_second_order(moments[:, :q], d) / weight
    squared = mean**2 if raw.shape[1] == d else (mean**2).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        amplification = raw / (raw - squared)
    amplification = np.where(raw - squared > 0, amplification, np.inf)
    return (EPS * amplification > CANCELLATION_LIMIT).any(axis=1) & (nk > 0)


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
