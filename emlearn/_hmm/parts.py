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

from .filtering import filter_ends, forward_filter
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


class PartPosteriors(NamedTuple):
    """The posteriors of one part, as :func:`posteriors_by_parts` yields them.

    Attributes
    ----------
    part : Part
    log_likelihood : float
        Of the part's sequences; for a piece, its whole sequence's on the first
        piece yielded (the last one) and 0 on the others, so that the values
        add up to the log-likelihood of all sequences.
    gamma : ndarray of shape (n_rows, n_components) or None
        Posterior state probabilities of the part's rows, in stream order.
    transitions : ndarray of shape (n_components, n_components) or None
        Expected transition counts within the part, and for a piece across the
        cut before it (None when counts were not asked for).
    start : ndarray of shape (n_components,) or None
        Expected counts of the first states of the part's sequences.
    statistics : callable or None
        ``statistics(weights)``, from the part's ``emissions``.
    """

    part: Part
    log_likelihood: float
    gamma: np.ndarray = None
    transitions: np.ndarray = None
    start: np.ndarray = None
    statistics: object = None


def posteriors_by_parts(parts, emissions, startprob, transmat, counts=True):
    """Forward-backward over ``parts`` (see the module docstring), one part at a time.

    Parameters
    ----------
    parts : list of Part
        From :func:`plan_parts`, in stream order.
    emissions : callable
        ``emissions(part, statistics=True) -> (log_B, statistics)``: the
        part's emission log-likelihoods (n_components, n_rows), rows in stream
        order (known states already clamped), and ``statistics(weights)`` the
        emission statistics for weights (n_components, n_rows);
        ``statistics=False`` tells that they will not be asked for, so nothing
        need be kept for them.
    startprob : ndarray of shape (n_components,)
    transmat : ndarray of shape (n_components, n_components)
    counts : bool, default=True
        Whether the transition counts and emission statistics are wanted (the
        E-step); False: the posteriors alone (inference).

    Yields
    ------
    PartPosteriors
        Parts of whole sequences in order; the pieces of a long sequence last
        first.  After a part whose ``log_likelihood`` is ``-inf`` (an
        impossible sequence; its other fields are then meaningless, or None),
        nothing more is yielded.
    """
    for run in _runs(parts):
        if run[0].is_piece:
            posteriors = _long_sequence_posteriors(run, emissions, startprob, transmat, counts)
        else:
            posteriors = [_whole_sequence_posteriors(run[0], emissions, startprob, transmat,
                                                     counts)]
        for posterior in posteriors:
            yield posterior
            if not np.isfinite(posterior.log_likelihood):
                return


def e_step_by_parts(parts, emissions, startprob, transmat):
    """The E-step's totals over ``parts``: the sums of :func:`posteriors_by_parts`.

    Parameters are those of :func:`posteriors_by_parts`.

    Returns
    -------
    PartTotals
        ``log_likelihood`` is the sum over all sequences (``-inf`` when one is
        impossible; the statistics are then meaningless).
    """
    totals = PartTotals(len(startprob))
    for posterior in posteriors_by_parts(parts, emissions, startprob, transmat):
        totals.log_likelihood += posterior.log_likelihood
        if not np.isfinite(totals.log_likelihood):
            break  # an impossible sequence: EM stops on the log-likelihood
        totals.start += posterior.start
        totals.transitions += posterior.transitions
        totals.add_emission(posterior.statistics(posterior.gamma.T))
    return totals


def _one_sequence(n_rows):
    return Sequences(None, [n_rows])


def _whole_sequence_posteriors(part, emissions, startprob, transmat, counts):
    log_B, statistics = emissions(part, statistics=counts)
    sequences = Sequences(None, part.lengths)
    log_likelihood, gamma, xi = ForwardBackward(sequences).posteriors(
        log_B, startprob, transmat, want_xi=counts)
    return PartPosteriors(part, log_likelihood.sum(), gamma, xi,
                          gamma[sequences.first_rows].sum(axis=0), statistics)


def _long_sequence_posteriors(pieces, emissions, startprob, transmat, counts):
    """The pieces of one sequence: a forward pass, then a backward pass over pieces
    (a generator: one piece's arrays at a time)."""
    predictive, last_filtered, log_likelihood = _forward_over_pieces(pieces, emissions,
                                                                     startprob, transmat)
    if not np.isfinite(log_likelihood):
        yield PartPosteriors(pieces[-1], log_likelihood)
        return
    message = np.ones(len(startprob))
    no_start = np.zeros(len(startprob))
    for p in range(len(pieces) - 1, -1, -1):
        log_B, statistics = emissions(pieces[p], statistics=counts)
        with np.errstate(divide="ignore"):
            log_B[:, -1] += np.log(message)
        # Its log-likelihood includes the message; the forward pass gave the piece's own.
        _, gamma, xi = ForwardBackward(_one_sequence(pieces[p].n_rows)).posteriors(
            log_B, predictive[p], transmat, want_xi=counts)
        start = gamma[0] if p == 0 else no_start
        if p > 0:
            crossing, message = _crossing(last_filtered[p - 1], transmat, gamma[0])
            if counts:
                xi += crossing
        yield PartPosteriors(pieces[p], log_likelihood if p == len(pieces) - 1 else 0.0,
                             gamma, xi, start, statistics)


def log_likelihood_by_parts(parts, emissions, startprob, transmat):
    """The log-likelihood of every sequence: the forward pass alone, part by part.

    Parameters are those of :func:`posteriors_by_parts`.

    Returns
    -------
    ndarray of shape (n_sequences,)
        In stream order; ``-inf`` for an impossible sequence.
    """
    per_sequence = []
    for run in _runs(parts):
        if run[0].is_piece:
            per_sequence.append([_forward_over_pieces(run, emissions, startprob, transmat)[2]])
            continue
        log_B, _ = emissions(run[0], statistics=False)
        fb = ForwardBackward(Sequences(None, run[0].lengths))
        per_sequence.append(fb.log_likelihood(log_B, startprob, transmat))
    return np.concatenate(per_sequence)


def filter_by_parts(parts, emissions, startprob, transmat, write):
    """Filtered state probabilities and one-step log-densities of every row, part by part.

    Parameters
    ----------
    parts, emissions, startprob, transmat
        As for :func:`posteriors_by_parts`.
    write : callable
        ``write(part, filtered, log_predictive)`` receives the part's rows, in
        stream order: ``filtered`` (n_rows, n_components) and
        ``log_predictive`` (n_rows,), as :func:`.filtering.forward_filter`
        gives them (NaN and ``-inf`` from where a sequence became impossible).
    """
    for run in _runs(parts):
        if not run[0].is_piece:
            log_B, _ = emissions(run[0], statistics=False)
            write(run[0], *forward_filter(log_B, startprob, transmat,
                                          Sequences(None, run[0].lengths)))
            continue

        def filter_rows(piece, log_B, start, transmat):
            filtered, log_predictive = forward_filter(log_B, start, transmat,
                                                      _one_sequence(piece.n_rows))
            write(piece, filtered, log_predictive)
            return log_predictive.sum(), filtered[-1]

        done = len(_forward_over_pieces(run, emissions, startprob, transmat, filter_rows)[0])
        # Past the piece that made the sequence impossible, as the log-domain filter gives.
        for piece in run[done + 1:]:
            write(piece, np.full((piece.n_rows, len(startprob)), np.nan),
                  np.full(piece.n_rows, -np.inf))


def _filter_ends(piece, log_B, start, transmat):
    """The forward pass of a piece: its log-likelihood and last filtered distribution."""
    log_likelihood, last = filter_ends(log_B, start, transmat, _one_sequence(piece.n_rows))
    return log_likelihood[0], last[0]


def _forward_over_pieces(pieces, emissions, startprob, transmat, forward=_filter_ends):
    """Each piece's starting (predictive) distribution, the filtered distribution of
    its last row, and the sequence's log-likelihood.

    ``forward(piece, log_B, start, transmat) -> (log-likelihood, last
    filtered)`` runs the forward pass of a piece (by default
    :func:`.filtering.filter_ends`: nothing per row).  Stops at the piece
    that makes the sequence impossible (the lists then hold the pieces
    before it).
    """
    predictive, last_filtered = [], []
    log_likelihood = 0.0
    start = startprob
    for piece in pieces:
        log_B, _ = emissions(piece, statistics=False)
        piece_log_likelihood, last = forward(piece, log_B, start, transmat)
        log_likelihood += piece_log_likelihood
        if not np.isfinite(log_likelihood):
            break
        predictive.append(start)
        last_filtered.append(last)
        following = last @ transmat
        start = following / following.sum()
    return predictive, last_filtered, log_likelihood


def viterbi_by_parts(parts, emissions, log_start, log_A, write):
    """The most likely path of every sequence, part by part, exact across pieces.

    Parameters
    ----------
    parts, emissions
        As for :func:`posteriors_by_parts`.
    log_start : ndarray of shape (n_components,)
    log_A : ndarray of shape (n_components, n_components)
    write : callable
        ``write(part, path)`` receives the states of the part's rows, in
        stream order (not called for the pieces of an impossible sequence).

    Returns
    -------
    ndarray of shape (n_sequences,)
        The best path's joint log-probability per sequence, in stream order
        (``-inf`` for an impossible sequence).
    """
    per_sequence = []
    for run in _runs(parts):
        if run[0].is_piece:
            per_sequence.append([_viterbi_over_pieces(run, emissions, log_start, log_A, write)])
            continue
        log_B, _ = emissions(run[0], statistics=False)
        log_prob, path = ForwardBackward(Sequences(None, run[0].lengths)).viterbi(
            log_B, log_start, log_A)
        write(run[0], path)
        per_sequence.append(log_prob)
    return np.concatenate(per_sequence)


def _viterbi_over_pieces(pieces, emissions, log_start, log_A, write):
    """Viterbi over the pieces of one sequence, checkpointed at the cuts.

    The forward pass (:func:`_viterbi_starts`) keeps each piece's starting
    scores.  Then, last piece first, each piece runs Viterbi alone with
    ``log A[:, first]`` folded into its last row's emission, ``first`` the
    state the path holds at the next piece's first row: its best path then
    ends where the whole sequence's path does (the state maximizing
    ``delta_T(i) + log A(i, first)``), and backtracks as it does.  On an exact
    tie the first state wins, as in one pass; but the scores are shifted
    differently than in one pass, so a tie at the rounding level may break
    the other way (an equally likely path).
    """
    starts, log_prob = _viterbi_starts(pieces, emissions, log_start, log_A)
    if not np.isfinite(log_prob):
        return log_prob  # no path at all: nothing to write
    first = None
    for piece, start in zip(pieces[::-1], starts[::-1]):
        log_B, _ = emissions(piece, statistics=False)
        if first is not None:
            log_B[:, -1] += log_A[:, first]
        _, path = ForwardBackward(_one_sequence(piece.n_rows)).viterbi(log_B, start, log_A)
        write(piece, path)
        first = path[0]
    return log_prob


def _viterbi_starts(pieces, emissions, log_start, log_A):
    """Max-plus forward pass over pieces: each piece's starting scores, and the best
    path's log-probability.

    A piece starts from ``s(j) = max_i delta_end(i) + log A(i, j)``, with
    ``delta_end`` the previous piece's last scores; ``s`` is shifted to max 0
    (which changes no argmax) and the shifts are added to the pieces' own best
    scores.
    """
    starts, log_prob = [], 0.0
    start = log_start
    for p, piece in enumerate(pieces):
        starts.append(start)
        log_B, _ = emissions(piece, statistics=False)
        piece_log_prob, last = ForwardBackward(_one_sequence(piece.n_rows)).viterbi_ends(
            log_B, start, log_A)
        log_prob += piece_log_prob[0]
        if not np.isfinite(log_prob) or p == len(pieces) - 1:
            break
        following = np.max(last[0][:, None] + log_A, axis=0)
        shift = following.max()
        log_prob += shift
        start = following - shift
    return starts, log_prob


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
