"""Which rows form which sequence, and the lock-step layout recursions run on.

Users describe sequences either by ``lengths`` (hmmlearn's convention: the
rows are contiguous, sequence after sequence) or by ``sequence_ids`` (one label
per row; rows with the same label form one sequence in their order of
appearance and need not be contiguous).  Both become a :class:`Sequences`.

The HMM recursions are sequential in time, so they are vectorized across
sequences instead: all chains advance one time step per Python iteration.  A
:class:`LockstepLayout` packs chains sorted by decreasing length time-major,
so at time ``t`` the active chains are a prefix and occupy the contiguous
packed positions ``offsets[t] : offsets[t] + counts[t]``; packing wastes no
memory on padding.
"""

import numbers

import numpy as np


class Sequences:
    """A partition of ``n_samples`` rows into ordered sequences.

    Attributes
    ----------
    order : ndarray of shape (n_samples,)
        Row indices, sequence after sequence, each in time order.
    lengths : ndarray of shape (n_sequences,)
    starts : ndarray of shape (n_sequences,)
        Offsets of each sequence into ``order``.
    sequence_of_row : ndarray of shape (n_samples,)
        Sequence index of each row (input row order).
    """

    def __init__(self, order, lengths):
        self.order = np.asarray(order, dtype=np.intp)
        self.lengths = np.asarray(lengths, dtype=np.intp)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.intp)
        self.n_samples = int(self.lengths.sum())
        self.sequence_of_row = np.empty(self.n_samples, dtype=np.intp)
        self.sequence_of_row[self.order] = np.repeat(
            np.arange(len(self.lengths)), self.lengths
        )

    @property
    def n_sequences(self):
        return len(self.lengths)

    def rows(self, i):
        """Row indices of sequence ``i`` in time order."""
        return self.order[self.starts[i] : self.starts[i] + self.lengths[i]]

    @property
    def first_rows(self):
        return self.order[self.starts]

    def sum_per_sequence(self, values):
        """Sum a per-row quantity over each sequence."""
        return np.bincount(self.sequence_of_row, weights=values, minlength=self.n_sequences)


def make_sequences(n_samples, lengths=None, sequence_ids=None):
    """Validate ``lengths`` / ``sequence_ids`` and build :class:`Sequences`.

    With neither, all rows form one sequence.
    """
    if lengths is not None and sequence_ids is not None:
        raise ValueError("Pass either lengths or sequence_ids, not both.")
    if sequence_ids is not None:
        return _from_ids(n_samples, sequence_ids)
    if lengths is None:
        return Sequences(np.arange(n_samples), [n_samples])
    return Sequences(np.arange(n_samples), _check_lengths(lengths, n_samples))


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


class LockstepLayout:
    """Chains of rows packed time-major for lock-step recursions.

    Parameters
    ----------
    rows : ndarray of int
        Row indices of all chains, chain after chain, each in the order the
        recursion visits them.
    lengths : ndarray of int
        Length of each chain.

    Attributes
    ----------
    rank : ndarray of shape (n_chains,)
        Position of each chain in the length-sorted order (longest first).
    packed_rows : ndarray of shape (n_positions,)
        The row at each packed position.
    offsets, counts : ndarray of shape (n_steps,)
        Step ``t`` covers packed positions ``offsets[t] : offsets[t] + counts[t]``;
        chain ``c`` is at position ``offsets[t] + rank[c]``.
    """

    def __init__(self, rows, lengths):
        lengths = np.asarray(lengths, dtype=np.intp)
        by_length = np.argsort(-lengths, kind="stable")
        self.rank = np.empty_like(by_length)
        self.rank[by_length] = np.arange(len(lengths))
        self.sorted_lengths = lengths[by_length]
        self.n_chains = len(lengths)
        self.n_steps = int(self.sorted_lengths[0])
        # counts[t] = number of chains longer than t (lengths are sorted descending)
        self.counts = np.searchsorted(-self.sorted_lengths, -np.arange(1, self.n_steps + 1),
                                      side="right")
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.intp)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
        chain = np.repeat(np.arange(self.n_chains), lengths)
        step = np.arange(len(rows)) - starts[chain]
        self.packed_rows = np.empty(len(rows), dtype=np.intp)
        self.packed_rows[self.offsets[step] + self.rank[chain]] = rows
        self.lengths = lengths

    @classmethod
    def from_chains(cls, chains):
        """Layout of a list of row-index arrays."""
        return cls(np.concatenate(chains), [len(c) for c in chains])

    def positions(self, chains, steps):
        """Packed positions of ``(chain, step)`` pairs."""
        return self.offsets[steps] + self.rank[chains]
