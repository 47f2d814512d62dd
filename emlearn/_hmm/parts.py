"""The E-step of a long training set, part by part: memory bounded by a part.

The one-shot E-step holds, for every row, its emission log-likelihoods, the
packed forward, backward and posterior buffers and the emission statistics'
terms: several times the data.  When that would exceed :data:`PART_BYTES`, the
rows are visited in *parts* of the stream (sequences laid end to end, see
:class:`~emlearn._hmm.sequences.Sequences`):

* short sequences are grouped whole into parts of about ``part_rows`` rows;
  each part is an ordinary forward-backward over its sequences;
* a sequence longer than ``part_rows`` is cut into *pieces*, one part each,
  and forward-backward runs across them exactly in two passes:

  1. forward, piece after piece: the forward pass alone (filtering) started
     from the predictive distribution of the piece's first state given the
     rows before it; it keeps the filtered distribution of the piece's last
     state (``K`` numbers) and the piece's share of the log-likelihood
     ``log p(piece | rows before it)``;
  2. backward, last piece first: forward-backward on the piece alone, with
     the backward message of the rows after it folded into the emission of
     its last row.  Folding is exact: it leaves the forward vectors of the
     piece unchanged and multiplies the last backward vector by the message,
     so the piece's posteriors and transition counts are those of the whole
     sequence.  The piece's first posterior then gives the message for the
     piece before it and the expected transitions across the cut.

Additive statistics of all parts are summed; the log-likelihood is the sum
over sequences, as in the one-shot E-step.
"""

from typing import NamedTuple

import numpy as np

from .filtering import filter_ends
from .forward_backward import ForwardBackward
from .sequences import Sequences

# The E-step's working memory the one-shot path may use; beyond it, parts of
# about this size (tests set it small to exercise parts on small data).
PART_BYTES = 1 << 26

# A part holds at least this many rows: the recursions' per-step Python
# overhead is paid per part, so tiny parts would be slow.
MIN_PART_ROWS = 64


def e_step_bytes_per_row(n_components, emission_floats, extra=0):
    """Working bytes of the one-shot E-step per row.

    Emission log-likelihoods (and their temporaries), the packed emission,
    forward, backward and posterior buffers and the posteriors in row order
    (about eight ``K``-vectors of float64, as measured), the prepared
    emission data (``emission_floats`` float64 values, e.g. the statistics'
    terms), plus ``extra`` bytes (a known-state clamp).
    """
    return int(8 * (8 * n_components + emission_floats) + extra)


def rows_per_part(bytes_per_row, budget=None):
    """Rows of a part whose E-step fits ``budget`` (:data:`PART_BYTES` by default)."""
    budget = PART_BYTES if budget is None else budget
    return max(MIN_PART_ROWS, int(budget // max(bytes_per_row, 1)))


class Part(NamedTuple):
    """Stream rows ``start:stop``: whole sequences, or one piece of one sequence.

    Attributes
    ----------
    start, stop : int
        Positions in the stream (``Sequences.order``).
    lengths : ndarray of int
        Lengths of the part's sequences; one entry (``stop - start``) for a piece.
    piece : int
        Index of the piece within its sequence; -1 for a part of whole sequences.
    n_pieces : int
        Pieces of the part's sequence (0 for a part of whole sequences).
    """

    start: int
    stop: int
    lengths: np.ndarray
    piece: int = -1
    n_pieces: int = 0

    @property
    def n_rows(self):
        return self.stop - self.start

    @property
    def is_piece(self):
        return self.piece >= 0


def plan_parts(lengths, part_rows):
    """Cut a stream of sequences (``lengths``, in stream order) into parts.

    Consecutive short sequences are grouped until a part reaches
    ``part_rows`` rows; a sequence longer than ``part_rows`` gets parts of its
    own, ``ceil(length / part_rows)`` pieces of nearly equal length.
    """
    lengths = np.asarray(lengths, dtype=np.intp)
    parts, group_start, group = [], 0, []
    position = 0

    def close_group():
        if group:
            parts.append(Part(group_start, position, np.array(group, dtype=np.intp)))
            group.clear()

    for length in lengths.tolist():
        if length > part_rows:
            close_group()
            n_pieces = -(-length // part_rows)
            bounds = position + np.linspace(0, length, n_pieces + 1).round().astype(np.intp)
            for piece in range(n_pieces):
                start, stop = int(bounds[piece]), int(bounds[piece + 1])
                parts.append(Part(start, stop, np.array([stop - start]), piece, n_pieces))
            position += length
            group_start = position
            continue
        if not group:
            group_start = position
        group.append(length)
        position += length
        if position - group_start >= part_rows:
            close_group()
    close_group()
    return parts


def _runs(parts):
    """The parts, with the pieces of each long sequence gathered in one list."""
    run = []
    for part in parts:
        if not part.is_piece:
            yield [part]
            continue
        run.append(part)
        if part.piece == part.n_pieces - 1:
            yield run
            run = []


class PartTotals:
    """What the E-step sums over parts: log-likelihood, start and transition counts,
    emission statistics."""

    def __init__(self, n_components):
        self.log_likelihood = 0.0
        self.start = np.zeros(n_components)
        self.transitions = np.zeros((n_components, n_components))
        self.emission = None

    def add_emission(self, statistics):
        self.emission = statistics if self.emission is None else self.emission + statistics


def e_step_by_parts(parts, emissions, startprob, transmat):
    """Forward-backward over ``parts`` with additive totals (see the module docstring).

    Parameters
    ----------
    parts : list of Part
        From :func:`plan_parts`, in stream order.
    emissions : callable
        ``emissions(part, statistics=True) -> (log_B, statistics)``: the
        part's emission log-likelihoods (n_components, n_rows), rows in stream
        order (known states already clamped), and ``statistics(weights)`` the
        emission statistics for weights (n_components, n_rows);
        ``statistics=False`` tells that they will not be asked for (the
        forward pass over pieces), so nothing need be kept for them.
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)

    Returns
    -------
    PartTotals
        ``log_likelihood`` is the sum over all sequences (``-inf`` when one is
        impossible; the statistics are then meaningless).
    """
    totals = PartTotals(len(startprob))
    for run in _runs(parts):
        if run[0].is_piece:
            _add_long_sequence(totals, run, emissions, startprob, transmat)
        else:
            _add_whole_sequences(totals, run[0], emissions, startprob, transmat)
        if not np.isfinite(totals.log_likelihood):
            break  # an impossible sequence: EM stops on the log-likelihood
    return totals


def _one_sequence(n_rows):
    return Sequences(None, [n_rows])


def _add_whole_sequences(totals, part, emissions, startprob, transmat):
    log_B, statistics = emissions(part)
    sequences = Sequences(None, part.lengths)
    log_likelihood, gamma, xi = ForwardBackward(sequences).posteriors(log_B, startprob,
                                                                      transmat)
    totals.log_likelihood += log_likelihood.sum()
    totals.start += gamma[sequences.first_rows].sum(axis=0)
    totals.transitions += xi
    totals.add_emission(statistics(gamma.T))


def _add_long_sequence(totals, pieces, emissions, startprob, transmat):
    """The pieces of one sequence: a forward pass, then a backward pass over pieces."""
    predictive, last_filtered, log_likelihood = _forward_over_pieces(pieces, emissions,
                                                                     startprob, transmat)
    totals.log_likelihood += log_likelihood
    if not np.isfinite(log_likelihood):
        return
    message = np.ones(len(startprob))
    for p in range(len(pieces) - 1, -1, -1):
        log_B, statistics = emissions(pieces[p])
        with np.errstate(divide="ignore"):
            log_B[:, -1] += np.log(message)
        # Its log-likelihood includes the message; the forward pass gave the piece's own.
        _, gamma, xi = ForwardBackward(_one_sequence(pieces[p].n_rows)).posteriors(
            log_B, predictive[p], transmat)
        totals.transitions += xi
        totals.add_emission(statistics(gamma.T))
        if p == 0:
            totals.start += gamma[0]
        else:
            crossing, message = _crossing(last_filtered[p - 1], transmat, gamma[0])
            totals.transitions += crossing


def _forward_over_pieces(pieces, emissions, startprob, transmat):
    """Each piece's starting (predictive) distribution, the filtered distribution of
    its last row, and the sequence's log-likelihood."""
    predictive, last_filtered = [], []
    log_likelihood = 0.0
    start = startprob
    for piece in pieces:
        log_B, _ = emissions(piece, statistics=False)
        piece_log_likelihood, last = filter_ends(log_B, start, transmat,
                                                 _one_sequence(piece.n_rows))
        log_likelihood += piece_log_likelihood[0]
        if not np.isfinite(log_likelihood):
            break
        last = last[0]
        predictive.append(start)
        last_filtered.append(last)
        following = last @ transmat
        start = following / following.sum()
    return predictive, last_filtered, log_likelihood


def _crossing(filtered, transmat, first_posterior):
    """Expected transition counts across a cut, and the backward message before it.

    ``filtered`` is the distribution of the last state before the cut given
    the rows up to it, ``first_posterior`` the posterior of the first state
    after it.  With ``u = filtered @ A`` (the predictive distribution of that
    state), ``xi(i, j) = filtered_i A_ij posterior_j / u_j`` and the message
    (the backward vector at the last row before the cut, up to a constant) is
    ``A @ (posterior / u)``.  A state with ``u_j == 0`` has posterior 0 and
    contributes nothing; one whose ``u_j`` underflowed to 0 has a posterior
    that underflowed too, so dropping it is exact to double precision.
    """
    predictive = filtered @ transmat
    ratio = np.divide(first_posterior, predictive, out=np.zeros_like(predictive),
                      where=predictive > 0)
    crossing = filtered[:, None] * transmat * ratio[None, :]
    message = transmat @ ratio
    top = message.max()
    # (Scaled so its largest entry is 1: its logarithm is folded into an emission.)
    return crossing, message / top if top > 0 else message
