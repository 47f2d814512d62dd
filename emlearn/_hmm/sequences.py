"""Which rows form which sequence, and the chain layout recursions run on.

Users describe sequences either by ``lengths`` (hmmlearn's convention: the
rows are contiguous, sequence after sequence) or by ``sequence_ids`` (one label
per row; rows with the same label form one sequence in their order of
appearance and need not be contiguous).  Both become a :class:`Sequences`.

The HMM recursions are sequential in time, so they are vectorized across
chains instead: all chains advance one time step per Python iteration.  A
:class:`ChainLayout` lays the sequences end to end in one stream and cuts the
stream into ``P`` chains of ``L`` rows, packed ``(L, K, P)`` (step, state,
chain): every step is one contiguous ``(K, P)`` block, and packing or
unpacking is a transposition, not a gather.  A chain may hold the end of one
sequence and the start of the next: the recursions restart at every sequence
start (forward) and end (backward), so they never mix sequences.
"""

import functools
import numbers

import numpy as np


class Sequences:
    """A partition of ``n_samples`` rows into ordered sequences.

    Parameters
    ----------
    order : ndarray of shape (n_samples,) or None
        Row indices, sequence after sequence; None when the rows are already
        in that order (each sequence contiguous), which is then never stored:
        a long training set needs no ``n_samples`` index array.
    lengths : array-like of int

    Attributes
    ----------
    order : ndarray of shape (n_samples,)
        Row indices, sequence after sequence, each in time order (built on
        access when ``contiguous``).
    contiguous : bool
        Whether ``order`` is ``arange(n_samples)``.
    lengths : ndarray of shape (n_sequences,)
    starts : ndarray of shape (n_sequences,)
        Offsets of each sequence into ``order``.
    sequence_of_row : ndarray of shape (n_samples,)
        Sequence index of each row (input row order), built on first access.
    """

    def __init__(self, order, lengths):
        self.lengths = np.asarray(lengths, dtype=np.intp)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.intp)
        self.n_samples = int(self.lengths.sum())
        if order is not None:
            order = np.asarray(order, dtype=np.intp)
            if _is_identity(order):
                order = None
        self._order = order

    @property
    def contiguous(self):
        return self._order is None

    @property
    def order(self):
        return np.arange(self.n_samples) if self._order is None else self._order

    def stream_rows(self, start, stop):
        """Row indices of stream positions ``start:stop``: a slice when contiguous."""
        if self._order is None:
            return slice(start, stop)
        return self._order[start:stop]

    @functools.cached_property
    def sequence_of_row(self):
        sequence_of_row = np.empty(self.n_samples, dtype=np.intp)
        sequence_of_row[self.order] = np.repeat(np.arange(len(self.lengths)), self.lengths)
        return sequence_of_row

    @property
    def n_sequences(self):
        return len(self.lengths)

    def rows(self, i):
        """Row indices of sequence ``i`` in time order."""
        start, stop = self.starts[i], self.starts[i] + self.lengths[i]
        return np.arange(start, stop) if self._order is None else self._order[start:stop]

    @property
    def first_rows(self):
        return self.starts if self._order is None else self._order[self.starts]

    def sum_per_sequence(self, values):
        """Sum a per-row quantity over each sequence."""
        return np.bincount(self.sequence_of_row, weights=values, minlength=self.n_sequences)


def _is_identity(order):
    """Whether ``order`` is ``0 .. n - 1``, without an ``n``-sized temporary at once."""
    step = 1 << 16
    return all(np.array_equal(order[start:start + step],
                              np.arange(start, min(start + step, len(order))))
               for start in range(0, len(order), step))


def make_sequences(n_samples, lengths=None, sequence_ids=None):
    """Validate ``lengths`` / ``sequence_ids`` and build :class:`Sequences`.

    With neither, all rows form one sequence.
    """
    if lengths is not None and sequence_ids is not None:
        raise ValueError("Pass either lengths or sequence_ids, not both.")
    if sequence_ids is not None:
        return _from_ids(n_samples, sequence_ids)
    if lengths is None:
        return Sequences(None, [n_samples])
    return Sequences(None, _check_lengths(lengths, n_samples))


def _check_lengths(lengths, n_samples):
    values = np.asarray(lengths)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"lengths must be a non-empty 1-D array, got shape {values.shape}.")
    if not all(isinstance(v, numbers.Integral) or float(v).is_integer() for v in values.tolist()):
        raise ValueError("lengths must contain integers.")
    values = values.astype(np.int64)
    if np.any(values <= 0):
        raise ValueError("lengths must be positive.")
    if values.sum() != n_samples:
        raise ValueError(
            f"lengths must sum to n_samples = {n_samples}, got {int(values.sum())}."
        )
    return values


def _from_ids(n_samples, sequence_ids):
    ids = np.asarray(sequence_ids)
    if ids.ndim != 1 or ids.shape[0] != n_samples:
        raise ValueError(
            f"sequence_ids must have shape (n_samples,) = ({n_samples},), got {ids.shape}."
        )
    try:
        _, first, codes = np.unique(ids, return_index=True, return_inverse=True)
    except TypeError:
        raise ValueError("sequence_ids must be comparable labels (numbers or strings).") from None
    # Sequences are numbered in order of first appearance; rows keep their order.
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    sequence = rank[codes.ravel()]
    order = np.argsort(sequence, kind="stable")
    return Sequences(order, np.bincount(sequence))


class ChainLayout:
    """All rows, sequence after sequence, cut into ``P`` chains of ``L`` rows.

    Chain ``c`` holds stream rows ``c * L .. c * L + L - 1``; row ``r`` is at
    step ``r % L`` of chain ``r // L``.  The stream is padded to ``P * L``
    rows with neutral rows (emission log-likelihood 0) after its end.

    Parameters
    ----------
    lengths : ndarray of int
        Sequence lengths, in stream order.
    L : int
        Rows per chain.
    warmup : int
        Steps a chain that starts inside a sequence begins early (forward) or
        ends late (backward), from an uninformative vector; see
        :mod:`emlearn._hmm.forward_backward`.

    Attributes
    ----------
    starts_at, ends_at : list of (ndarray or slice or None), one per step
        Chains whose row at that step starts (ends) a sequence.
    forward_check, backward_check : ndarray of int
        Chains whose warm-up must be verified: ``c >= 1`` whose rows
        ``c * L - warmup .. c * L`` hold no sequence start (the forward
        recursion does not restart there), ``c <= P - 2`` whose rows
        ``c * L + L - 1 .. c * L + L - 1 + warmup`` hold no sequence end.
    forward_warmup, backward_warmup : bool
        Whether any chain starts (ends) inside a sequence, so the warm-up
        steps must run at all.
    """

    def __init__(self, lengths, L, warmup):
        lengths = np.asarray(lengths, dtype=np.intp)
        self.n = n = int(lengths.sum())
        self.L = L = max(1, min(int(L), n))
        self.P = P = -(-n // L)
        self.W = W = max(0, min(int(warmup), L))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
        is_start = np.zeros(P * L + 1, dtype=bool)
        is_start[starts] = True
        is_end = np.zeros(P * L + 1, dtype=bool)
        is_end[starts + lengths - 1] = True
        self.start_grid = is_start[:-1].reshape(P, L).T
        self.end_grid = is_end[:-1].reshape(P, L).T
        self.starts_at = [_selection(row) for row in self.start_grid]
        self.ends_at = [_selection(row) for row in self.end_grid]
        # Warm-up steps of chains 1..P-1 run on the last W rows of chains 0..P-2.
        self.warm_starts_at = [_selection(row[:-1]) for row in self.start_grid[L - W:]]
        self.trail_ends_at = [_selection(row[1:]) for row in self.end_grid[:W]]
        chain_first = np.arange(1, P) * L
        chain_last = np.arange(P - 1) * L + L - 1
        started = np.concatenate([[0], np.cumsum(is_start)])  # started[r] = starts before r
        ended = np.concatenate([[0], np.cumsum(is_end)])
        self.forward_check = 1 + np.flatnonzero(
            started[chain_first + 1] - started[chain_first - W] == 0)
        self.backward_check = np.flatnonzero(
            ended[np.minimum(chain_last + W + 1, P * L + 1)] - ended[chain_last] == 0)
        self.forward_warmup = P > 1 and not is_start[chain_first].all()
        self.backward_warmup = P > 1 and not is_end[chain_last].all()
        # transitions (r, r + 1) inside a sequence, at the packed position of r
        inner = np.zeros(P * L, dtype=bool)
        inner[:n] = True
        inner[starts + lengths - 1] = False
        self.transition_grid = inner.reshape(P, L).T

    def pack(self, by_row, fill=0.0, out=None):
        """(K, n) stream-ordered values to the packed (L, K, P) layout."""
        K, L, P, n = by_row.shape[0], self.L, self.P, self.n
        if out is None:
            out = np.empty((L, K, P))
        full = (P - 1) * L
        out[:, :, : P - 1] = by_row[:, :full].reshape(K, P - 1, L).transpose(2, 0, 1)
        tail = n - full
        out[:tail, :, P - 1] = by_row[:, full:].T
        out[tail:, :, P - 1] = fill
        return out

    def unpack_steps(self, packed):
        """Packed (L, P) per-row values to (n,) in stream order."""
        return packed.T.reshape(-1)[: self.n]

    def grid(self, by_row, fill=False):
        """(n,) stream-ordered values to the packed (L, P) layout."""
        full = np.full(self.P * self.L, fill, dtype=np.asarray(by_row).dtype)
        full[: self.n] = by_row
        return full.reshape(self.P, self.L).T


def _selection(mask):
    """Index of the True entries, a full slice when all are, None when none is."""
    if mask.all():
        return slice(None)
    index = np.flatnonzero(mask)
    return index if index.size else None
