"""Filtering: the forward pass alone, per row.

``P(state_t | rows 1..t of its sequence)`` (what online regime detection
uses) and the one-step-ahead predictive log-densities ``log p(x_t | rows
1..t-1)``, whose sum over a sequence is its log-likelihood.  Built on the
forward recursion of :class:`.forward_backward.ForwardBackward` (all chains
advance together in the scaled domain); a sequence whose scaled recursion
underflows is redone in the log domain.
"""

import numpy as np

from .._core.logsumexp import exp_normalize, logsumexp
from .._core.threads import single_threaded_blas
from .forward_backward import ForwardBackward


def forward_filter(log_B, startprob, transmat, sequences):
    """Filtered state probabilities and predictive log-densities of every row.

    Parameters
    ----------
    log_B : ndarray of shape (n_components, n_samples)
        Emission log-likelihoods, rows in input order.
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)
    sequences : Sequences

    Returns
    -------
    filtered : ndarray of shape (n_samples, n_components)
        ``P(state_t | rows up to t)``; NaN on rows of impossible sequences.
    log_predictive : ndarray of shape (n_samples,)
        ``log p(x_t | rows before t)``; ``-inf`` where impossible.
    """
    filtered, log_predictive, broken = ForwardBackward(sequences).filtered(
        log_B, startprob, transmat)
    for i in np.flatnonzero(broken):
        rows = sequences.rows(i)
        filtered[rows], log_predictive[rows] = _log_domain_filter(
            log_B[:, rows].T, startprob, transmat)
    return filtered, log_predictive


def filter_ends(log_B, startprob, transmat, sequences):
    """The log-likelihood of every sequence and the filtered distribution of its last
    state: the forward pass without the per-row outputs of :func:`forward_filter`.

    Parameters
    ----------
    log_B : ndarray of shape (n_components, n_samples)
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)
    sequences : Sequences

    Returns
    -------
    log_likelihood : ndarray of shape (n_sequences,)
        ``-inf`` for an impossible sequence.
    last : ndarray of shape (n_sequences, n_components)
        ``P(last state | the whole sequence)``; NaN for an impossible sequence.
    """
    fb = ForwardBackward(sequences)
    with single_threaded_blas():
        _, alpha, _, log_likelihood, broken, _ = fb._scaled_forward(log_B, startprob,
                                                                    transmat)
    # The scaled forward vectors are the filtered distributions (each step normalized).
    last = fb.last_rows(alpha)
    for i in np.flatnonzero(broken):
        rows = sequences.rows(i)
        filtered, log_predictive = _log_domain_filter(log_B[:, rows].T, startprob, transmat)
        log_likelihood[i], last[i] = log_predictive.sum(), filtered[-1]
    return log_likelihood, last


def _log_domain_filter(log_B, startprob, transmat):
    """The forward recursion of one sequence in the log domain (rows x states)."""
    with np.errstate(divide="ignore"):
        log_start, log_A = np.log(startprob), np.log(transmat)
    T = log_B.shape[0]
    log_alpha = np.empty_like(log_B)
    log_alpha[0] = log_start + log_B[0]
    for t in range(1, T):
        log_alpha[t] = logsumexp(log_alpha[t - 1][:, None] + log_A, axis=0) + log_B[t]
    totals = logsumexp(log_alpha, axis=1)
    with np.errstate(invalid="ignore"):
        log_predictive = np.diff(totals, prepend=0.0)
    filtered = exp_normalize(log_alpha, axis=1)[0]
    # Once impossible, every later total is -inf: the increments are undefined.
    impossible = ~np.isfinite(totals)
    log_predictive[impossible] = -np.inf
    filtered[impossible] = np.nan
    return filtered, log_predictive
