"""hmmlearn 0.3's API on top of :class:`emlearn.HMMEM`.

A thin layer: the classes take hmmlearn's constructor arguments and expose its
attributes, and every computation is :class:`~emlearn.HMMEM`'s.  hmmlearn is
never imported.
"""

import numpy as np

from .. import HMMEM
from .._core.families.gaussian_mixture import GaussianMixtureFamily, MixturePrior

def gmm_prior(covariance_type, n_components, n_mix, n_features, weights_prior=1.0,
              means_prior=0.0, means_weight=0.0, covars_prior=None, covars_weight=None):
    """hmmlearn ``GMMHMM``'s prior arguments as a canonical :class:`MixturePrior`.

    hmmlearn 0.3.3's ``GMMHMM`` M-step divides the covariances' numerator
    ``covars_prior^T + lambda dev dev^T + scatter`` by ``weight + covars_weight
    + d + 2`` (full) or ``state weight + n_mix + covars_weight + d + 1``
    (tied); for ``diag`` it reads ``covars_prior`` as ``alpha`` and
    ``covars_weight`` as ``beta`` of an inverse gamma, ``(2 beta + lambda dev^2
    + scatter) / (weight + 2 alpha + 3)``; for ``spherical`` ``(2 beta + lambda
    |dev|^2 + trace of scatter) / (d (weight + 1) + 2 alpha + 2)``.  ``None``
    takes hmmlearn's defaults (which make the full, tied and diag updates
    maximum likelihood; its spherical default does so only when ``n_mix ==
    n_features``, and is reproduced as it is).

    Returns
    -------
    prior : MixturePrior
    """
    K, M, d = n_components, n_mix, n_features
    kind = covariance_type
    defaults = {"full": (0.0, -(1.0 + d + 1.0)), "tied": (0.0, -(M + d + 1.0)),
                "diag": (-1.5, 0.0), "spherical": (-(M + 2.0) / 2.0, 0.0)}[kind]
    covars_prior = defaults[0] if covars_prior is None else covars_prior
    covars_weight = defaults[1] if covars_weight is None else covars_weight
    layout = GaussianMixtureFamily.covariance_shape(kind, K, M, d)
    offset_shape = MixturePrior.offset_shape(kind, K, M, d)
    base = MixturePrior.from_options(
        {"weights_prior": weights_prior, "means_prior": means_prior,
         "means_weight": means_weight}, kind, K, M, d)
    if kind in ("full", "tied"):
        psi = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), layout)
        scale = np.swapaxes(psi, -1, -2).copy()
        nu = np.broadcast_to(np.asarray(covars_weight, dtype=np.float64), offset_shape)
        offset = nu + d + 2.0 if kind == "full" else nu + M + d + 1.0
    elif kind == "diag":
        alpha = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), layout)
        beta = np.broadcast_to(np.asarray(covars_weight, dtype=np.float64), layout)
        scale, offset = 2.0 * beta, 2.0 * alpha + 3.0
    else:
        alpha = np.broadcast_to(np.asarray(covars_prior, dtype=np.float64), layout)
        beta = np.broadcast_to(np.asarray(covars_weight, dtype=np.float64), layout)
        scale, offset = 2.0 * beta / d, 1.0 + (2.0 * alpha + 2.0) / d
    return base._replace(covars_scale=np.array(scale, dtype=np.float64),
                         covars_offset=np.array(offset, dtype=np.float64))


class _GMMHMMFamily(GaussianMixtureFamily):
    """Gaussian-mixture emissions with hmmlearn ``GMMHMM``'s priors and covariance update."""

    def __init__(self, covariance_type, n_mix, n_components, gmm_options):
        super().__init__(covariance_type, n_mix, 0.0, None, n_components,
                         hmmlearn_covariances=True)
        self.gmm_options = gmm_options

    def configure(self, X, sample_weight=None):
        prior = gmm_prior(self.covariance.name, self.n_components, self.n_mix, X.shape[1],
                          **self.gmm_options)
        return GaussianMixtureFamily(self.covariance.name, self.n_mix, 0.0, prior,
                                     self.n_components, hmmlearn_covariances=True)


class _GMMHMMEstimator(HMMEM):
    """:class:`HMMEM` with hmmlearn ``GMMHMM``'s M-step (no ``reg_covar``).

    ``gmm_options`` (an attribute, not a parameter) holds hmmlearn's prior
    arguments: ``weights_prior``, ``means_prior``, ``means_weight``,
    ``covars_prior``, ``covars_weight``.
    """

    gmm_options = {}

    def _family(self):
        return _GMMHMMFamily(self.covariance_type, self.n_mix, self.n_components,
                             self.gmm_options)
