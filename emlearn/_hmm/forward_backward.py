"""Forward-backward and Viterbi for many sequences at once, with numpy only.

The time recursion is sequential, so the vectorization runs across chains:
every chain advances one step per Python iteration (:class:`LockstepLayout`).
Short sequences are chains as they are.  A long sequence is cut into pieces
that run side by side; each piece but the first starts ``warmup`` steps early
from an uninformative vector.  The normalized forward (and backward) vector
forgets where it started -- a positive linear map never increases the Hilbert
projective distance between two vectors and usually contracts it -- so after
the warm-up a piece usually carries the exact vector.  Every piece boundary is
verified against the exact vector computed by its neighbour; a piece that
fails is recomputed from that exact vector, until all agree.  The result is
the exact recursion whatever the data (in the worst case, one piece per round).

Everything runs in the scaled domain: emission likelihoods are shifted by
their row max before exponentiating, each step is normalized, and the
log-likelihood is the sum of the log normalizers plus the shifts.  A sequence
whose scaled recursion underflows (a normalizer below ``UNDERFLOW``) is redone
in the log domain, so an impossible observation yields ``-inf``, never NaN.
"""

import math

import numpy as np

from .._core.logsumexp import logsumexp, shifted_exp
from .._core.threads import single_threaded_blas
from .sequences import LockstepLayout

UNDERFLOW = 1e-250
# Vectors below this (relative to a normalized vector) are treated as equal when
# checking a piece boundary: they cannot influence the recursion at double precision.
BOUNDARY_FLOOR = 1e-200
BOUNDARY_TOL = 1e-12


def hilbert_distance(p, q):
    """Hilbert projective distance between rows of positive vectors (floored)."""
    log_ratio = np.log(np.maximum(p, BOUNDARY_FLOOR)) - np.log(np.maximum(q, BOUNDARY_FLOOR))
    return log_ratio.max(axis=1) - log_ratio.min(axis=1)


def _normalize_rows(a):
    total = a.sum(axis=1, keepdims=True)
    return a / total


# -- lock-step kernels ----------------------------------------------------------------
def forward_lockstep(B, A, prior, layout):
    """Normalized forward vectors of every chain.

    Parameters
    ----------
    B : ndarray (n_positions, K)
        Emission likelihoods (scaled) in packed order.
    A : ndarray (K, K)
        Transition matrix, ``A[i, j] = P(j | i)``.
    prior : ndarray (n_chains, K)
        Per chain (in ``layout.rank`` order): the first vector is
        ``prior * B[first row]``, normalized.

    Returns
    -------
    alpha : ndarray (n_positions, K)
        Normalized forward vectors.
    scale : ndarray (n_positions,)
        The normalizers; their logs sum to the log-likelihood.
    """
    alpha = np.empty_like(B)
    scale = np.empty(B.shape[0])
    ones = np.ones(B.shape[1])
    n = layout.counts[0]
    first = alpha[:n]
    np.multiply(prior, B[:n], out=first)
    np.matmul(first, ones, out=scale[:n])
    first /= scale[:n, None]
    for t in range(1, layout.n_steps):
        previous, start, n = layout.offsets[t - 1], layout.offsets[t], layout.counts[t]
        a = alpha[start : start + n]
        np.matmul(alpha[previous : previous + n], A, out=a)
        a *= B[start : start + n]
        s = scale[start : start + n]
        np.matmul(a, ones, out=s)
        a /= s[:, None]
    return alpha, scale


def backward_lockstep(B, A, end, layout):
    """Normalized backward vectors of chains laid out in reverse time order.

    Step 0 of each chain is its last row in time, where its backward vector is
    ``end`` (n_chains, K), in ``layout.rank`` order.  Each later step applies
    ``beta_t = A @ (B_{t+1} * beta_{t+1})`` and normalizes (only the direction
    of a backward vector matters for posteriors).
    """
    beta = np.empty_like(B)
    ones = np.ones(B.shape[1])
    n = layout.counts[0]
    beta[:n] = end
    AT = np.ascontiguousarray(A.T)
    carried = np.empty((layout.counts[0], B.shape[1]))
    total = np.empty(layout.counts[0])
    for t in range(1, layout.n_steps):
        previous, start, n = layout.offsets[t - 1], layout.offsets[t], layout.counts[t]
        v = carried[:n]
        np.multiply(B[previous : previous + n], beta[previous : previous + n], out=v)
        u = beta[start : start + n]
        np.matmul(v, AT, out=u)
        s = total[:n]
        np.matmul(u, ones, out=s)
        u /= s[:, None]
    return beta


def viterbi_lockstep(log_B, log_A, prior, layout):
    """Max-product recursion of every chain, normalized so each step's max is 0.

    Parameters
    ----------
    log_B : ndarray (n_positions, K)
        Emission log-likelihoods in packed order.
    log_A : ndarray (K, K)
        Log transition matrix.
    prior : ndarray (n_chains, K)
        Per chain (rank order): log-scores added to the first emission.

    Returns
    -------
    delta : ndarray (n_positions, K)
        Best log-score of a path ending in each state, minus ``best``.
    best : ndarray (n_positions,)
        The subtracted maxima; their sum over a whole sequence is the
        log-probability of its best path.
    pointers : ndarray (n_positions, K)
        Best previous state for each state (undefined at step 0).
    """
    n_positions, K = log_B.shape
    delta = np.empty_like(log_B)
    best = np.empty(n_positions)
    pointers = np.zeros((n_positions, K), dtype=np.intp)
    n = layout.counts[0]
    np.add(prior, log_B[:n], out=delta[:n])
    _subtract_max(delta[:n], best[:n])
    candidate = np.empty((n, K))
    better = np.empty((n, K), dtype=bool)
    for t in range(1, layout.n_steps):
        previous, start, n = layout.offsets[t - 1], layout.offsets[t], layout.counts[t]
        before = delta[previous : previous + n]
        d, choice = delta[start : start + n], pointers[start : start + n]
        # Max over the previous state, one previous state at a time: numpy
        # reductions over a short axis cost far more per element than these
        # K whole-block operations (ties keep the first state, as argmax).
        np.add(before[:, :1], log_A[0], out=d)
        for j in range(1, K):
            c, b = candidate[:n], better[:n]
            np.add(before[:, j : j + 1], log_A[j], out=c)
            np.greater(c, d, out=b)
            np.copyto(d, c, where=b)
            np.copyto(choice, j, where=b)
        d += log_B[start : start + n]
        _subtract_max(d, best[start : start + n])
    return delta, best, pointers


def _subtract_max(d, out):
    out[:] = d[:, 0]
    for k in range(1, d.shape[1]):
        np.maximum(out, d[:, k], out=out)
    if np.isfinite(out).all():
        d -= out[:, None]
    else:  # an impossible row: its path has -inf log-probability; keep scores finite-free
        finite = np.isfinite(out)
        d[finite] -= out[finite, None]


def backtrack_lockstep(pointers, layout):
    """States of every chain for every possible final state, walking pointers back.

    ``layout`` holds chains in reverse time order (step 0 = last row).
    ``pointers`` (n_positions, K) are in that packed order.  Returns
    ``paths`` (n_positions, K): column k is the path that ends in state k, and
    ``entry`` (n_chains, K): the pointer out of each chain's first row, i.e.
    the best state of the row before the chain, per hypothesis.
    """
    K = pointers.shape[1]
    paths = np.empty_like(pointers)
    current = np.tile(np.arange(K), (layout.n_chains, 1))
    entry = np.empty_like(current)
    for t in range(layout.n_steps):
        start, n = layout.offsets[t], layout.counts[t]
        if t:
            ending = layout.sorted_lengths[: layout.counts[t - 1]] == t
            # chains that ended at the previous step record their entry pointer
            entry[: layout.counts[t - 1]][ending] = current[: layout.counts[t - 1]][ending]
        paths[start : start + n] = current[:n]
        current[:n] = np.take_along_axis(pointers[start : start + n], current[:n], axis=1)
    last = layout.sorted_lengths == layout.n_steps
    entry[last] = current[last]
    return paths, entry


# -- log-domain reference (one sequence) -------------------------------------------------
def forward_backward_log(log_B, log_start, log_A):
    """Forward-backward in the log domain for one sequence ``log_B`` (T, K).

    The slow, simple reference: used when the scaled recursion underflows and
    as a test oracle.  Returns ``(log_likelihood, gamma (T, K), xi_sum (K, K))``.
    """
    T, K = log_B.shape
    log_alpha = np.empty((T, K))
    log_beta = np.zeros((T, K))
    log_alpha[0] = log_start + log_B[0]
    for t in range(1, T):
        log_alpha[t] = logsumexp(log_alpha[t - 1][:, None] + log_A, axis=0) + log_B[t]
    for t in range(T - 2, -1, -1):
        log_beta[t] = logsumexp(log_A + (log_B[t + 1] + log_beta[t + 1])[None, :], axis=1)
    log_likelihood = float(logsumexp(log_alpha[-1]))
    if not np.isfinite(log_likelihood):
        return log_likelihood, np.full((T, K), np.nan), np.full((K, K), np.nan)
    gamma = np.exp(log_alpha + log_beta - log_likelihood)
    xi_sum = np.zeros((K, K))
    for t in range(T - 1):
        xi_sum += np.exp(
            log_alpha[t][:, None] + log_A + (log_B[t + 1] + log_beta[t + 1])[None, :]
            - log_likelihood
        )
    return log_likelihood, gamma, xi_sum


# -- the plan: sequences cut into pieces ------------------------------------------------
class _Pass:
    """One direction of the recursion: its layout and where results go."""

    def __init__(self, rows, lengths, leads):
        self.layout = LockstepLayout(rows, lengths)
        real = np.ones(len(rows), dtype=bool)
        if leads.any():
            chains = np.repeat(np.arange(len(leads)), leads)
            steps = np.arange(chains.size) - np.repeat(np.cumsum(leads) - leads, leads)
            real[self.layout.positions(chains, steps)] = False
        # Every row occurs once outside warm-ups: results go back to row order by
        # a gather through this inverse map (np.take is ~3x faster than fancy
        # assignment into the rows).
        self.inverse = np.empty(self.layout.packed_rows.shape[0] if real.all()
                                else int(real.sum()), dtype=np.intp)
        self.inverse[self.layout.packed_rows[real]] = np.flatnonzero(real)
        self.leads = leads

    def gather(self, by_row):
        return np.take(by_row, self.layout.packed_rows, axis=0)

    def to_rows(self, packed):
        return np.take(packed, self.inverse, axis=0)

    def carried(self, packed, check):
        """Vectors the pieces ``check`` carried at their last warm-up step."""
        return packed[self.layout.positions(check, self.leads[check] - 1)]


class ForwardBackward:
    """Forward-backward and Viterbi over all sequences; long ones cut into pieces.

    Parameters
    ----------
    sequences : Sequences
    piece_length : int, default=None
        Rows per piece of a long sequence; default ``max(256, sqrt(n) / 2)``:
        short pieces mean few Python steps, and ``warmup`` must stay small next
        to them.  Sequences up to twice this length are not cut.
    warmup : int, default=64
        Steps a piece starts early.
    """

    def __init__(self, sequences, piece_length=None, warmup=64):
        self.sequences = sequences
        n = sequences.n_samples
        L = piece_length or max(256, int(math.sqrt(n) / 2))
        self.pieces = self._cut(sequences, L, min(warmup, L))
        order, starts = sequences.order, sequences.starts
        first = starts[self.pieces[:, 0]] + self.pieces[:, 1]
        stop = starts[self.pieces[:, 0]] + self.pieces[:, 2]
        leads, trails = self.pieces[:, 3], self.pieces[:, 4]
        forward_lengths = stop - first + leads
        backward_lengths = stop - first + trails
        # Row indices of every forward chain (time order) and backward chain (reversed).
        forward_index = np.repeat(first - leads, forward_lengths) + _ranges(forward_lengths)
        backward_index = np.repeat(stop + trails - 1, backward_lengths) - _ranges(
            backward_lengths)
        self.forward = _Pass(order[forward_index], forward_lengths, leads)
        self.backward = _Pass(order[backward_index], backward_lengths, trails)
        # Rows a piece's warm-up ends on: the row before it (forward), after it (backward).
        self._before = order[np.maximum(first - 1, 0)]
        self._after = order[np.minimum(stop, n - 1)]
        self._first_rows, self._stops = first, stop
        self._contiguous = np.array_equal(order, np.arange(n))
        last_rows = order[starts + sequences.lengths - 1]
        if self._contiguous:
            # Transition (r, r + 1) is real unless r ends a sequence.
            self._transition_weight = np.ones(n - 1)
            self._transition_weight[last_rows[:-1]] = 0.0
        else:
            inner = np.ones(n, dtype=bool)
            inner[starts + sequences.lengths - 1] = False
            self._transition_from = order[inner]
            self._transition_to = order[np.roll(inner, 1)]
        self._backtrack_layout = None
        self._stop_rows = order[stop - 1]
        self._piece_of_row = np.empty(n, dtype=np.intp)
        self._piece_of_row[order[np.repeat(first, stop - first) + _ranges(stop - first)]] = \
            np.repeat(np.arange(len(self.pieces)), stop - first)

    @staticmethod
    def _cut(sequences, L, W):
        """(sequence, start, stop, forward lead, backward trail) of every piece."""
        long = np.flatnonzero(sequences.lengths > 2 * L)
        if not long.size:
            n_seq = sequences.n_sequences
            return np.column_stack([np.arange(n_seq), np.zeros(n_seq, int), sequences.lengths,
                                    np.zeros(n_seq, int), np.zeros(n_seq, int)]).astype(np.intp)
        pieces = []
        for i, length in enumerate(sequences.lengths):
            bounds = list(range(0, length, L)) + [length] if i in set(long) else [0, length]
            for start, stop in zip(bounds[:-1], bounds[1:]):
                pieces.append((i, start, stop, min(W, start), min(W, length - stop)))
        return np.array(pieces, dtype=np.intp)

    # -- posteriors ----------------------------------------------------------------
    def posteriors(self, log_B, startprob, transmat, want_xi=True):
        """E-step quantities for all sequences.

        Parameters
        ----------
        log_B : ndarray (K, n_samples)
            Emission log-likelihoods, rows in input order.
        startprob : ndarray (K,)
        transmat : ndarray (K, K)

        Returns
        -------
        log_likelihood : ndarray (n_sequences,)
        gamma : ndarray (n_samples, K)
            Posterior state probabilities.
        xi_sum : ndarray (K, K) or None
            Expected transition counts summed over all sequences.
        """
        with single_threaded_blas():
            return self._posteriors(log_B, startprob, transmat, want_xi)

    def log_likelihood(self, log_B, startprob, transmat):
        """Log-likelihood of every sequence: the forward pass alone.

        ``log_B`` is (K, n_samples); returns (n_sequences,).
        """
        with single_threaded_blas():
            _, _, log_likelihood, broken = self._scaled_forward(log_B, startprob, transmat)
        for i in np.flatnonzero(broken):
            rows = self.sequences.rows(i)
            with np.errstate(divide="ignore"):
                log_likelihood[i] = forward_backward_log(
                    log_B[:, rows].T, np.log(startprob), np.log(transmat))[0]
        return log_likelihood

    def _scaled_forward(self, log_B, startprob, transmat):
        """Scaled emissions (rows), forward vectors, log-likelihoods, underflowed sequences."""
        B, shift = shifted_exp(log_B, axis=0)
        B = np.ascontiguousarray(B.T)
        # An impossible row (all emissions zero) yields 0/0 in its own chain only; the
        # sequence is detected below and redone in the log domain.
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha, log_scale = self._forward(B, startprob, transmat)
        log_likelihood = self.sequences.sum_per_sequence(log_scale + shift[0])
        broken = ~np.isfinite(log_likelihood) | self._underflowed(log_scale)
        return B, alpha, log_likelihood, broken

    def _posteriors(self, log_B, startprob, transmat, want_xi):
        B, alpha, log_likelihood, broken = self._scaled_forward(log_B, startprob, transmat)
        self._neutralize(broken, B, alpha)
        beta = self._backward(B, transmat)
        gamma = alpha * beta
        total = gamma.sum(axis=1, keepdims=True)
        empty = ~(total[:, 0] > 0)
        if empty.any():  # alpha and beta concentrated on different states: underflow
            broken[self.sequences.sequence_of_row[empty]] = True
            self._neutralize(broken, B, alpha, beta, gamma, total)
        gamma /= total
        xi_sum = self._transition_counts(B, alpha, beta, transmat, broken) if want_xi else None
        for i in np.flatnonzero(broken):
            rows = self.sequences.rows(i)
            with np.errstate(divide="ignore"):
                loglik, gamma[rows], xi = forward_backward_log(
                    log_B[:, rows].T, np.log(startprob), np.log(transmat)
                )
            log_likelihood[i] = loglik
            if want_xi:
                xi_sum += xi
        return log_likelihood, gamma, xi_sum

    def _neutralize(self, broken, *arrays):
        """Set rows of broken sequences to 1: they are redone in the log domain."""
        if broken.any():
            rows = broken[self.sequences.sequence_of_row]
            for array in arrays:
                array[rows] = 1.0

    def _underflowed(self, log_scale):
        low = ~(log_scale > math.log(UNDERFLOW))
        return np.bincount(self.sequences.sequence_of_row, weights=low,
                           minlength=self.sequences.n_sequences) > 0

    def _transition_counts(self, B, alpha, beta, transmat, broken):
        """Sum over t of xi_t(i, j) = alpha_t(i) A_ij v_j / (alpha_t . A v), v = B_{t+1} beta_{t+1}.

        Sequences redone in the log domain contribute their own counts.
        """
        if self._contiguous:
            a, v = alpha[:-1], B[1:] * beta[1:]
            weight = self._transition_weight
            if broken.any():
                weight = weight * ~broken[self.sequences.sequence_of_row[:-1]]
        else:
            a = alpha[self._transition_from]
            v = B[self._transition_to] * beta[self._transition_to]
            weight = ~broken[self.sequences.sequence_of_row[self._transition_from]]
        denominator = np.einsum("ij,ij->i", a @ transmat, v)
        denominator[denominator == 0] = 1.0
        return transmat * ((a * (weight / denominator)[:, None]).T @ v)

    # -- the two passes ------------------------------------------------------------
    def _forward(self, B, startprob, transmat):
        pass_, pieces = self.forward, self.pieces
        layout = pass_.layout
        prior = np.where((pieces[:, 1] == 0)[:, None], startprob, 1.0 / B.shape[1])
        packed, scale = forward_lockstep(pass_.gather(B), transmat,
                                         prior[np.argsort(layout.rank)], layout)
        alpha, log_scale = pass_.to_rows(packed), pass_.to_rows(np.log(scale))

        def rerun(index, exact):
            chains = LockstepLayout(*self._piece_rows(index))
            prior = (exact @ transmat)[np.argsort(chains.rank)]
            packed, scale = forward_lockstep(B[chains.packed_rows], transmat, prior, chains)
            alpha[chains.packed_rows] = packed
            log_scale[chains.packed_rows] = np.log(scale)

        self._settle(alpha, packed, pass_, self._before, rerun)
        return alpha, log_scale

    def _backward(self, B, transmat):
        pass_ = self.backward
        layout = pass_.layout
        end = np.full((layout.n_chains, B.shape[1]), 1.0 / B.shape[1])
        packed = backward_lockstep(pass_.gather(B), transmat, end, layout)
        beta = pass_.to_rows(packed)

        def rerun(index, exact):
            chains = LockstepLayout(*self._piece_rows(index, reverse=True))
            after = self._after[index]
            end = _normalize_rows((B[after] * exact) @ transmat.T)[np.argsort(chains.rank)]
            beta[chains.packed_rows] = backward_lockstep(B[chains.packed_rows], transmat, end,
                                                         chains)

        self._settle(beta, packed, pass_, self._after, rerun)
        return beta

    def _piece_rows(self, index, reverse=False):
        """(rows, lengths) of the real rows of pieces ``index``, optionally reversed."""
        first, stop = self._first_rows[index], self._stops[index]
        lengths = stop - first
        if reverse:
            flat = np.repeat(stop - 1, lengths) - _ranges(lengths)
        else:
            flat = np.repeat(first, lengths) + _ranges(lengths)
        return self.sequences.order[flat], lengths

    @staticmethod
    def _settle(out, packed, pass_, boundary_rows, rerun, distance=hilbert_distance):
        """Verify every piece's warm-up against its neighbour; rerun until all agree.

        A piece with a warm-up carried, at its last warm-up step, a vector for
        ``boundary_rows[piece]`` -- a row its neighbour owns.  While the two
        differ, the piece is recomputed from the neighbour's current vector; the
        first piece of a sequence is exact, so this terminates.
        """
        check = np.flatnonzero(pass_.leads > 0)
        if not check.size:
            return
        used = pass_.carried(packed, check)
        while True:
            exact = out[boundary_rows[check]]
            bad = distance(used, exact) > BOUNDARY_TOL
            if not bad.any():
                return
            rerun(check[bad], exact[bad])
            used[bad] = exact[bad]

    # -- Viterbi -------------------------------------------------------------------
    def viterbi(self, log_B, log_start, log_A):
        """Most likely path of every sequence (long ones in verified pieces).

        ``log_B`` is (K, n_samples).  Returns the best path's joint
        log-probability per sequence and the state of every row (input order).
        """
        log_B = np.ascontiguousarray(log_B.T)
        pass_, pieces = self.forward, self.pieces
        layout = pass_.layout
        prior = np.where((pieces[:, 1] == 0)[:, None], log_start, 0.0)
        with np.errstate(invalid="ignore"):
            packed = viterbi_lockstep(pass_.gather(log_B), log_A,
                                      prior[np.argsort(layout.rank)], layout)
        delta, best, pointers = (pass_.to_rows(a) for a in packed)

        def rerun(index, exact):
            scores = exact[:, :, None] + log_A
            chains = LockstepLayout(*self._piece_rows(index))
            rows = chains.packed_rows
            with np.errstate(invalid="ignore"):
                d, b, p = viterbi_lockstep(log_B[rows], log_A,
                                           scores.max(axis=1)[np.argsort(chains.rank)], chains)
            delta[rows], best[rows], pointers[rows] = d, b, p
            pointers[self.sequences.order[self._first_rows[index]]] = scores.argmax(axis=1)

        self._settle(delta, packed[0], pass_, self._before, rerun, _log_vector_distance)
        return self.sequences.sum_per_sequence(best), self._backtrack(delta, pointers)

    def _backtrack(self, delta, pointers):
        """Walk every piece back from each possible end state, then chain the pieces."""
        if self._backtrack_layout is None:
            rows, lengths = self._piece_rows(np.arange(len(self.pieces)), reverse=True)
            self._backtrack_layout = _Pass(rows, lengths, np.zeros(len(lengths), np.intp))
        pass_ = self._backtrack_layout
        paths, entry = backtrack_lockstep(pass_.gather(pointers), pass_.layout)
        paths, entry = pass_.to_rows(paths), entry[pass_.layout.rank]
        # End state of each piece: the sequence's best final state for its last piece,
        # then the entry pointer of the piece after it, walking back.
        sequence, start = self.pieces[:, 0], self.pieces[:, 1]
        is_last = np.append(sequence[1:] != sequence[:-1], True)
        end_state = np.empty(len(self.pieces), dtype=np.intp)
        current = np.flatnonzero(is_last)
        end_state[current] = np.argmax(delta[self._stop_rows[current]], axis=1)
        while True:
            current = current[start[current] > 0]
            if not current.size:
                break
            end_state[current - 1] = entry[current, end_state[current]]
            current = current - 1
        return paths[np.arange(len(paths)), end_state[self._piece_of_row]]


def _log_vector_distance(p, q):
    """Largest difference between normalized log-vectors (-inf equal to -inf)."""
    with np.errstate(invalid="ignore"):
        difference = np.abs(p - q)
    difference[(p == -np.inf) & (q == -np.inf)] = 0.0
    return difference.max(axis=1)


def _ranges(lengths):
    """Concatenated ``arange(length)`` for each length."""
    lengths = np.asarray(lengths, dtype=np.intp)
    return np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
