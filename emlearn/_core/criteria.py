"""Information criteria shared by every estimator's ``bic`` and ``aic``."""

import math


def bic(total_log_likelihood, n_parameters, n_samples):
    """Bayesian information criterion: ``-2 log L + p log n`` (lower is better)."""
    return -2.0 * total_log_likelihood + n_parameters * math.log(n_samples)


def aic(total_log_likelihood, n_parameters):
    """Akaike information criterion: ``-2 log L + 2 p`` (lower is better)."""
    return -2.0 * total_log_likelihood + 2.0 * n_parameters
