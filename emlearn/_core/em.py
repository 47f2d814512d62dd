"""The EM driver shared by every estimator.

A *model* is a small object with three pure methods::

    initialize(data, random_state) -> params
    e_step(data, params)           -> (lower_bound, stats)
    m_step(stats, params)          -> params

``lower_bound`` is the mean log-likelihood per (weighted) row, computed with the
parameters the E-step received; ``stats`` are additive sufficient statistics.
Parameters are values: the driver never touches an estimator, so restarts are
independent and can run in separate processes.

The driver owns the loop, the tolerance test, ``max_iter``, the per-iteration
history and ``verbose`` progress.  Restarts draw their seeds from
``random_state`` before being dispatched to ``joblib.Parallel``, so the result
does not depend on ``n_jobs``.  Warnings are never raised in a worker (they
would not reach the caller): runs return a ``converged`` flag and the estimator
warns in the caller's process.
"""

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state


@dataclass(frozen=True)
class EMRun:
    """The outcome of one EM run.

    Attributes
    ----------
    params : object
        Parameters after the last M-step (the starting values when
        ``n_iter == 0``).
    lower_bound : float
        Mean log-likelihood per row of the parameters the last E-step saw.
    lower_bounds : list of float
        ``lower_bound`` after every iteration.
    n_iter : int
        Number of EM iterations performed.
    converged : bool
        Whether the change of ``lower_bound`` fell below ``tol``.
    error : Exception or None
        Why the run failed (a singular covariance, a non-finite likelihood);
        its other fields are then meaningless.
    n_failed : int
        On the run :func:`fit_restarts` returns: how many other restarts
        failed and were dropped, with ``failure`` the first one's message.
    """

    params: object
    lower_bound: float
    lower_bounds: list
    n_iter: int
    converged: bool
    error: Exception = None
    n_failed: int = 0
    failure: str = ""


def _report(verbose, message):
    if verbose:
        print(message, flush=True)


def run_em(
    model,
    data,
    params,
    *,
    tol,
    max_iter,
    previous_lower_bound=-math.inf,
    verbose=0,
    verbose_interval=10,
    label="",
):
    """Iterate E- and M-steps from ``params`` until converged or ``max_iter``.

    The tolerance test is scikit-learn's: stop when the absolute change of the
    lower bound is below ``tol``.  With ``max_iter=0`` the starting values are
    evaluated (one E-step) and returned unchanged.
    """
    if max_iter == 0:
        lower_bound, _ = model.e_step(data, params)
        return EMRun(params, float(lower_bound), [], 0, False)

    _report(verbose, f"{label}EM started")
    lower_bound = previous_lower_bound
    history = []
    converged = False
    start = tick = time.perf_counter()
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        lower_bound, stats = model.e_step(data, params)
        lower_bound = float(lower_bound)
        if not np.isfinite(lower_bound):
            raise ValueError(
                "The log-likelihood of the data is not finite under the current "
                "parameters (some rows have zero probability). Check the data "
                "for outliers or extreme values, or increase reg_covar."
            )
        params = model.m_step(stats, params)
        history.append(lower_bound)
        change = lower_bound - previous
        if verbose and n_iter % verbose_interval == 0:
            now = time.perf_counter()
            detail = f"\tlower bound {lower_bound:.6f}\tchange {change:.3e}"
            if verbose >= 2:
                detail += f"\t{now - tick:.3f}s"
            _report(verbose, f"{label}  iteration {n_iter}{detail}")
            tick = now
        if abs(change) < tol:
            converged = True
            break
    state = "converged" if converged else "did not converge"
    _report(
        verbose,
        f"{label}EM {state} after {n_iter} iterations "
        f"({time.perf_counter() - start:.3f}s), lower bound {lower_bound:.6f}",
    )
    return EMRun(params, lower_bound, history, n_iter, converged)


# What a restart may raise because of where it started (a component collapsing on
# a point, a start with zero likelihood somewhere): the restart is dropped.
RESTART_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def _initialize_and_run(model, data, seed, label, em_options, catch=False):
    try:
        params = model.initialize(data, np.random.RandomState(seed))
        return run_em(model, data, params, label=label, **em_options)
    except RESTART_FAILURES as error:
        if not catch:
            raise
        _report(em_options.get("verbose"), f"{label}failed: {error}")
        return EMRun(None, -math.inf, [], 0, False, error=error)


def restart_seeds(random_state, n_init):
    """Seeds for ``n_init`` restarts, drawn up front from ``random_state``."""
    rng = check_random_state(random_state)
    return rng.randint(np.iinfo(np.int32).max, size=n_init)


def fit_restarts(
    model,
    data,
    *,
    n_init,
    random_state,
    n_jobs=None,
    tol,
    max_iter,
    verbose=0,
    verbose_interval=10,
):
    """Run ``n_init`` initializations + EM, in parallel; return the best run.

    The best run has the highest final lower bound; ties go to the earliest
    restart, so the choice is deterministic.  All seeds are drawn before
    dispatch: ``n_jobs`` changes the wall time, never the result.  With
    several restarts, one that fails (see ``RESTART_FAILURES``) is dropped and
    counted in the returned run's ``n_failed``; when all fail, the first
    failure is raised.
    """
    seeds = restart_seeds(random_state, n_init)
    em_options = dict(
        tol=tol, max_iter=max_iter, verbose=verbose, verbose_interval=verbose_interval
    )
    labels = [f"[init {i + 1}/{n_init}] " if n_init > 1 else "" for i in range(n_init)]
    if n_init == 1:
        return _initialize_and_run(model, data, seeds[0], labels[0], em_options)
    runs = Parallel(n_jobs=n_jobs)(
        delayed(_initialize_and_run)(model, data, seed, label, em_options, catch=True)
        for seed, label in zip(seeds, labels)
    )
    failed = [run for run in runs if run.error is not None]
    if len(failed) == len(runs):
        raise failed[0].error
    best = best_run([run for run in runs if run.error is None])
    if failed:
        best = dataclasses.replace(best, n_failed=len(failed), failure=str(failed[0].error))
    return best


def best_run(runs):
    """The run with the highest lower bound (NaN counts as -inf; first wins ties)."""
    def key(i):
        bound = runs[i].lower_bound
        return -math.inf if math.isnan(bound) else bound

    return runs[max(range(len(runs)), key=key)]


# -- streaming: stepwise EM ------------------------------------------------------------------
@dataclass(frozen=True)
class StreamState:
    """Where stepwise EM stands after some chunks.

    Attributes
    ----------
    params : object
        The parameters after the last chunk's M-step.
    statistics : object
        Running statistics per unit of weight (a weighted average over chunks).
    n_seen : float
        Total weight of the rows seen.
    n_chunks : int
        Chunks seen.
    """

    params: object
    statistics: object
    n_seen: float
    n_chunks: int


def step_size(n_chunks, decay, offset):
    """Weight of the next chunk's statistics after ``n_chunks`` chunks: ``(offset + n)^-decay``.

    Stepwise EM (Cappe and Moulines, 2009) converges for ``0.5 < decay <= 1``;
    the first chunk has weight one.
    """
    return 1.0 if n_chunks == 0 else (offset + n_chunks) ** (-decay)


def stream_step(model, data, state, *, decay, offset, random_state=None):
    """One stepwise-EM update from a chunk; returns ``(state, lower_bound)``.

    With no ``state``, the chunk also initializes the parameters.  The
    running statistics are ``s <- (1 - g) s + g stats(chunk) / weight(chunk)``
    (per unit of weight, so chunks of any size mix), and the M-step sees
    ``n_seen * s``: statistics on the scale of everything seen, so priors keep
    the strength they have in a batch fit.  ``lower_bound`` is the chunk's mean
    log-likelihood under the parameters it was scored with (before the update).
    """
    if state is None:
        state = StreamState(model.initialize(data, random_state), None, 0.0, 0)
    lower_bound, stats = model.e_step(data, state.params)
    if not np.isfinite(lower_bound):
        raise ValueError("A chunk has zero likelihood under the current parameters "
                         "(some rows are impossible); check it for outliers.")
    per_unit = (1.0 / data.total_weight) * stats
    gain = step_size(state.n_chunks, decay, offset)
    # The new chunk's statistics come first: sums are kept around its centers
    # (those of the current parameters), which follow the components.
    running = per_unit if state.statistics is None else (
        gain * per_unit + (1.0 - gain) * state.statistics)
    n_seen = state.n_seen + data.total_weight
    params = model.m_step(n_seen * running, state.params)
    return StreamState(params, running, n_seen, state.n_chunks + 1), float(lower_bound)
