"""Proper multiple imputation with :class:`~emlearn.EMImputer` (its ``multiple_impute``)."""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._core import validation as v


def multiple_impute(imputer, X, n_imputations, n_jobs):
    """``n_imputations`` completed copies of ``X``, one bootstrap fit + posterior draw each.

    Every imputation is a clone of ``imputer`` with ``sample_posterior=True``
    and its own seed, fitted on ``X`` (on a bootstrap resample of its rows,
    drawn from that seed) and applied to ``X``.  The seeds are drawn from
    ``imputer.random_state`` before the fits are dispatched, so ``n_jobs``
    changes the wall time, never the result.  ``imputer`` is not modified.
    """
    v.check_integer("n_imputations", n_imputations, minimum=1)
    v.check_n_jobs(n_jobs)
    seeds = check_random_state(imputer.random_state).randint(
        np.iinfo(np.int32).max, size=n_imputations)
    # Parallel over imputations; each fit runs its restarts in sequence.
    inner_jobs = imputer.n_jobs if n_imputations == 1 else 1
    template = clone(imputer).set_params(sample_posterior=True, n_jobs=inner_jobs)
    return Parallel(n_jobs=n_jobs)(
        delayed(_impute_once)(template, X, int(seed)) for seed in seeds
    )


def _impute_once(template, X, seed):
    return clone(template).set_params(random_state=seed).fit_transform(X)
