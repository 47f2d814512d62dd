"""What the estimators share: parameter constraints, warnings, information criteria."""

import warnings
from numbers import Integral, Real

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from .families import covariance


COVARIANCE_TYPES = tuple(covariance.COVARIANCE_TYPES)


def em_constraints(**extra):
    """scikit-learn ``_parameter_constraints`` of the EM hyperparameters every estimator has."""
    constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left"), None],
    }
    constraints.update(extra)
    return constraints


def warn_about_run(run, max_iter, what="EM"):
    """Warnings about the best run, raised in the caller's process (never in a worker)."""
    if run.n_failed:
        warnings.warn(
            f"{run.n_failed} restart(s) failed and were dropped; the best of the "
            f"others was kept. First failure: {run.failure}",
            UserWarning,
            stacklevel=3,
        )
    if not run.converged and max_iter > 0:
        warnings.warn(
            f"{what} did not converge in max_iter iterations for the best "
            "initialization. Increase max_iter or tol, or try other starting values.",
            ConvergenceWarning,
            stacklevel=3,
        )
