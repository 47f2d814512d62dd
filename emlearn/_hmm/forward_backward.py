"""Forward-backward and Viterbi for many sequences at once, with numpy only.

The time recursion is sequential, so the vectorization runs across chains:
the sequences are laid end to end and the stream is cut into ``P`` chains of
``L`` rows that all advance one step per Python iteration
(:class:`~emlearn._hmm.sequences.ChainLayout`, packed ``(L, K, P)`` so each
step is one contiguous ``(K, P)`` block).  The recursions restart at every
sequence start (forward) or end (backward), so a chain may hold several
sequences.

A chain that starts inside a sequence starts ``warmup`` steps early from an
uninformative vector.  The normalized forward (and backward) vector forgets
where it started -- a positive linear map never increases the Hilbert
projective distance between two vectors and usually contracts it -- so after
the warm-up a chain usually carries the exact vector.  Every such boundary is
verified against the exact vector computed by the neighbouring chain; a chain
that fails is recomputed from that exact vector only until its new vectors
agree with the old ones (from there on they cannot drift apart), and
boundaries are checked again until all agree.  The result is the exact
recursion whatever the data (in the worst case, one chain per round).
Viterbi does the same with max-plus scores, and its backtracking, too, runs
chain by chain: each chain starts ``warmup`` rows into the next chain from a
guessed state and is verified to pass through the next chain's first state.

Everything runs in the scaled domain: emission likelihoods are shifted by
their row max before exponentiating, each step is normalized, and the
log-likelihood is the sum of the log normalizers plus the shifts.  A sequence
whose scaled recursion underflows (a normalizer below ``UNDERFLOW``) is redone
in the log domain, so an impossible observation yields ``-inf``, never NaN.
"""

import math
import threading
import warnings

import numpy as np

from .._core.logsumexp import EXP_FLOOR, logsumexp, shifted_exp
from .._core.threads import single_threaded_blas
from .sequences import ChainLayout

# Emission likelihoods are floored at exp(EXP_FLOOR) relative to their row max, so a
# normalizer near that floor may be made of floored values: such a sequence is redone
# in the log domain.  Above exp(EXP_FLOOR + 40) the floor's share is below 1e-17.
UNDERFLOW = math.exp(EXP_FLOOR + 40.0)
BOUNDARY_TOL = 1e-12


def hilbert_distance(p, q):
    """Hilbert projective distance between columns of non-negative vectors.

    Exact for tiny entries: a zero against a positive entry is infinitely far
    (a state the exact vector rules out must be ruled out by the carried one:
    later evidence can amplify any leftover mass, however small, into a wrong
    finite answer), and entries zero in both are left out.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(p) - np.log(q)
    both_zero = (p == 0) & (q == 0)
    one_zero = (p == 0) != (q == 0)
    log_ratio[both_zero] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-zero column: equal
        distance = np.nanmax(log_ratio, axis=0) - np.nanmin(log_ratio, axis=0)
    distance[one_zero.any(axis=0)] = np.inf
    return np.nan_to_num(distance, nan=0.0)


def log_vector_distance(p, q):
    """Largest difference between columns of normalized log-vectors (-inf equal to -inf)."""
    with np.errstate(invalid="ignore"):
        difference = np.abs(p - q)
    difference[(p == -np.inf) & (q == -np.inf)] = 0.0
    return difference.max(axis=0)


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


def viterbi_sequential(log_B, log_start, log_A):
    """Plain Viterbi for one sequence ``log_B`` (T, K): the test oracle.

    Unnormalized scores, first state on ties.  Returns ``(log_prob, path)``.
    """
    T, K = log_B.shape
    delta = log_start + log_B[0]
    pointers = np.zeros((T, K), dtype=np.intp)
    for t in range(1, T):
        scores = delta[:, None] + log_A
        pointers[t] = np.argmax(scores, axis=0)
        delta = scores[pointers[t], np.arange(K)] + log_B[t]
    path = np.empty(T, dtype=np.intp)
    path[-1] = np.argmax(delta)
    for t in range(T - 1, 0, -1):
        path[t - 1] = pointers[t, path[t]]
    return float(delta[path[-1]]), path


# -- chain kernels: one step for a (K, n_chains) block --------------------------------
def _restart(block, chains, value):
    if chains is not None:
        block[:, chains] = value[:, None]


def _forward_step(AT, previous, B, out, scale, restart, startprob, ones):
    np.matmul(AT, previous, out=out)
    _restart(out, restart, startprob)
    out *= B
    np.matmul(ones, out, out=scale)
    out /= scale


def _backward_step(A, following, B_following, out, restart, uniform, ones, carried):
    np.multiply(B_following, following, out=carried)
    np.matmul(A, carried, out=out)
    _restart(out, restart, uniform)
    out /= np.matmul(ones, out)


def _viterbi_step(log_A3, previous, log_B, out, best, restart, log_start, scores):
    np.add(previous[:, None, :], log_A3, out=scores)
    np.max(scores, axis=0, out=out)
    _restart(out, restart, log_start)
    out += log_B
    np.max(out, axis=0, out=best)
    out -= best


def _backtrack_step(log_A, following, delta, out, restart):
    scores = np.take(log_A, following, axis=1)
    scores += delta
    np.argmax(scores, axis=0, out=out)
    if restart is not None:
        out[restart] = np.argmax(delta[:, restart], axis=0)


def _subset(selection, chains):
    """Positions in ``chains`` of the chains a step selection holds."""
    if selection is None:
        return None
    if isinstance(selection, slice):
        return selection
    index = np.flatnonzero(np.isin(chains, selection))
    return index if index.size else None


class ForwardBackward:
    """Forward-backward and Viterbi over all sequences, in chains of ``L`` rows.

    Parameters
    ----------
    sequences : Sequences
    piece_length : int, default=None
        Rows per chain ``L``.  By default, when all sequences have the same
        length up to ``2 * max(64, sqrt(n) / 2)`` rows, one sequence per chain
        (no warm-up at all); otherwise ``max(64, sqrt(n) / 2)``: few Python
        steps, many chains, and ``warmup`` small next to ``L``.
    warmup : int, default=32
        Steps a chain that starts (ends) inside a sequence runs early (late).
    """

    def __init__(self, sequences, piece_length=None, warmup=32):
        self.sequences = sequences
        n = sequences.n_samples
        lengths = sequences.lengths
        L = piece_length
        if L is None:
            L = max(64, int(math.sqrt(n) / 2))
            if lengths.min() == lengths.max() and lengths[0] <= 2 * L:
                L = int(lengths[0])
        self.layout = layout = ChainLayout(lengths, L, warmup)
        self.pieces = np.arange(layout.P)
        self._order = None if sequences.contiguous else sequences.order
        self._starts = sequences.starts
        self._transitions = layout.transition_grid.astype(float)
        self._workspaces = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_workspaces"] = {}
        return state

    def _buffer(self, name, shape):
        """A reused (uninitialized) array: fresh pages cost more than the arithmetic.

        One set per thread, so that threads sharing this object never share a buffer.
        """
        work = self._workspaces.setdefault(threading.get_ident(), {})
        array = work.get(name)
        if array is None or array.shape != shape:
            array = work[name] = np.empty(shape)
        return array

    def _to_stream(self, by_row):
        return by_row if self._order is None else np.take(by_row, self._order, axis=1)

    def _to_rows(self, stream, axis=0):
        if self._order is None:
            return stream
        out = np.empty_like(stream)
        index = [slice(None)] * stream.ndim
        index[axis] = self._order
        out[tuple(index)] = stream
        return out

    def _per_sequence(self, packed_steps, reduce=np.add):
        return reduce.reduceat(self.layout.unpack_steps(packed_steps), self._starts)

    def _sequence_grid(self, flags):
        """(L, P) mask of the rows of sequences flagged in ``flags``."""
        return self.layout.grid(np.repeat(flags, self.sequences.lengths))

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
            log_likelihood, broken = self._scaled_forward(log_B, startprob, transmat)[3:5]
        for i in np.flatnonzero(broken):
            rows = self.sequences.rows(i)
            with np.errstate(divide="ignore"):
                log_likelihood[i] = forward_backward_log(
                    log_B[:, rows].T, np.log(startprob), np.log(transmat))[0]
        return log_likelihood

    def filtered(self, log_B, startprob, transmat):
        """The forward pass alone, per row: filtered posteriors and predictive densities.

        Returns ``(filtered (n_samples, K), log_predictive (n_samples,),
        broken (n_sequences,))``: ``P(state_t | rows up to t)``, ``log p(x_t |
        rows before t)`` (their sum over a sequence is its log-likelihood), and
        which sequences underflowed in the scaled domain (their rows must be
        redone in the log domain).
        """
        with single_threaded_blas():
            _, alpha, scale, _, broken, shift = self._scaled_forward(log_B, startprob,
                                                                     transmat)
            L, K, P = alpha.shape
            rows = np.empty((P, L, K))
            rows.transpose(1, 2, 0)[...] = alpha
            filtered = self._to_rows(rows.reshape(P * L, K)[: self.layout.n])
            with np.errstate(divide="ignore"):
                per_step = np.log(scale) + shift[:, 0]
            log_predictive = self._to_rows(self.layout.unpack_steps(per_step))
        return filtered, log_predictive, broken

    def _scaled_forward(self, log_B, startprob, transmat):
        """Packed scaled emissions, forward vectors, normalizers, log-likelihoods, underflows,
        and the emission shifts."""
        layout = self.layout
        B = layout.pack(self._to_stream(log_B), out=self._buffer("B", (layout.L, len(log_B),
                                                                       layout.P)))
        B, shift = shifted_exp(B, axis=1, out=B)
        # An impossible row (all emissions zero) yields 0/0 in its own sequence only
        # (the next sequence restarts); the sequence is redone in the log domain.
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha, scale = self._forward(B, startprob, transmat)
            log_scale = np.log(scale)
        log_likelihood = self._per_sequence(log_scale + shift[:, 0])
        low = ~(log_scale > math.log(UNDERFLOW))
        broken = ~np.isfinite(log_likelihood) | (self._per_sequence(low, np.logical_or) > 0)
        return B, alpha, scale, log_likelihood, broken, shift

    def _posteriors(self, log_B, startprob, transmat, want_xi):
        B, alpha, scale, log_likelihood, broken, _ = self._scaled_forward(log_B, startprob,
                                                                          transmat)
        if broken.any():
            self._neutralize(broken, B, alpha)
        with np.errstate(invalid="ignore"):
            beta = self._backward(B, transmat)
        gamma = np.multiply(alpha, beta, out=self._buffer("gamma", B.shape))
        total = np.matmul(np.ones(B.shape[1]), gamma)
        empty = ~(total > 0)
        if empty.any():  # alpha and beta concentrated on different states: underflow
            mask = self._sequence_grid(broken)
            mask |= empty
            broken |= self._per_sequence(mask, np.logical_or) > 0
            self._neutralize(broken, B, alpha, beta, gamma)
            total[self._sequence_grid(broken)] = 1.0
        # Normalized straight into row order (n, K): one pass, no separate transposition.
        L, K, P = gamma.shape
        rows = np.empty((P, L, K))
        np.divide(gamma, total[:, None, :], out=rows.transpose(1, 2, 0))
        gamma = self._to_rows(rows.reshape(P * L, K)[: self.layout.n])
        xi_sum = None
        if want_xi:
            xi_sum = self._transition_counts(B, alpha, beta, scale, total, transmat, broken)
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
        mask = self._sequence_grid(broken)
        for array in arrays:
            array.transpose(0, 2, 1)[mask] = 1.0

    def _transition_counts(self, B, alpha, beta, scale, total, transmat, broken):
        """Sum over t of xi_t(i, j) = alpha_t(i) A_ij v_j / (alpha_t . A v), v = B_t+1 beta_t+1.

        The denominator is ``scale_{t+1} * (alpha_{t+1} . beta_{t+1})``: both
        factors are at hand.  Sequences redone in the log domain contribute
        their own counts.  Overwrites ``alpha`` and ``beta``.
        """
        weight = self._transitions
        if broken.any():
            weight = weight * ~self._sequence_grid(broken)
        denominator = np.ones_like(scale)
        np.multiply(scale[1:], total[1:], out=denominator[:-1])
        np.multiply(scale[0, 1:], total[0, 1:], out=denominator[-1, :-1])
        denominator[denominator == 0] = 1.0
        alpha *= (weight / denominator)[:, None, :]
        beta *= B
        counts = np.matmul(alpha[:-1], beta[1:].transpose(0, 2, 1)).sum(axis=0)
        counts += alpha[-1, :, :-1] @ beta[0, :, 1:].T
        return transmat * counts

    # -- the two passes ------------------------------------------------------------
    def _forward(self, B, startprob, transmat):
        L, K, P = B.shape
        AT = np.ascontiguousarray(transmat.T)
        ones = np.ones(K)
        alpha, scale = self._buffer("alpha", B.shape), np.empty((L, P))

        def step(previous, B_t, out, norm, restart):
            _forward_step(AT, previous, B_t, out, norm, restart, startprob, ones)

        self._chains_forward(B, alpha, scale, 1.0 / K, step, hilbert_distance)
        return alpha, scale

    def _chains_forward(self, data, out, norms, initial, step, distance):
        """Run a forward recursion ``step`` over all chains, warm-ups and verification.

        ``step(previous, data_t, out_t, norm_t, restart)`` advances (K, m)
        blocks; ``out`` (L, K, P) and ``norms`` (L, P) receive every step.
        Warm-ups start from the constant ``initial``; ``distance`` compares the
        vector a warm-up carried with the neighbouring chain's.
        """
        layout = self.layout
        L, K, P = data.shape
        previous = np.full((K, P), initial)
        if layout.forward_warmup:
            warm, spare = previous[:, 1:], np.empty((K, P - 1))
            for t, restart in zip(range(L - layout.W, L), layout.warm_starts_at):
                step(warm, data[t, :, :-1], spare, np.empty(P - 1), restart)
                warm, spare = spare, warm
            previous[:, 1:] = warm
        for t in range(L):
            step(out[t - 1] if t else previous, data[t], out[t], norms[t], layout.starts_at[t])

        def rerun(chains, exact):
            vector = exact
            for t in range(L):
                columns = (slice(None), chains)
                new, norm = np.empty_like(vector), np.empty(len(chains))
                step(vector, data[t][columns], new, norm, _subset(layout.starts_at[t], chains))
                same = distance(new, out[t][columns]) <= BOUNDARY_TOL
                out[t][columns], norms[t, chains] = new, norm
                if same.all():
                    return
                chains, vector = chains[~same], new[:, ~same]

        check = layout.forward_check
        self._settle(previous[:, check], lambda: out[L - 1][:, check - 1], check, rerun,
                     distance)

    def _backward(self, B, transmat):
        layout = self.layout
        L, K, P = B.shape
        A = np.ascontiguousarray(transmat)
        ones = np.ones(K)
        uniform = np.full(K, 1.0 / K)
        beta = self._buffer("beta", B.shape)
        carried = np.empty((K, P))
        following = np.full((K, P), 1.0 / K)
        B_following = np.ones((K, P))
        if layout.backward_warmup:
            trail, spare = np.full((K, P - 1), 1.0 / K), np.empty((K, P - 1))
            for step in range(layout.W - 2, -1, -1):
                _backward_step(A, trail, B[step + 1, :, 1:], spare, layout.trail_ends_at[step],
                               uniform, ones, carried[:, 1:])
                trail, spare = spare, trail
            following[:, :-1] = trail
            B_following[:, :-1] = B[0, :, 1:]
        check = layout.backward_check
        used = following[:, check]
        for t in range(L - 1, -1, -1):
            if t < L - 1:
                following, B_following = beta[t + 1], B[t + 1]
            _backward_step(A, following, B_following, beta[t], layout.ends_at[t], uniform,
                           ones, carried)

        def rerun(chains, exact):
            vector, B_next = exact, B[0][:, chains + 1]
            for t in range(L - 1, -1, -1):
                columns = (slice(None), chains)
                new = np.empty_like(vector)
                _backward_step(A, vector, B_next, new, _subset(layout.ends_at[t], chains),
                               uniform, ones, np.empty_like(vector))
                same = hilbert_distance(new, beta[t][columns]) <= BOUNDARY_TOL
                beta[t][columns] = new
                if same.all() or t == 0:
                    return
                chains, vector = chains[~same], new[:, ~same]
                B_next = B[t][:, chains]

        self._settle(used, lambda: beta[0][:, check + 1], check, rerun, hilbert_distance)
        return beta

    @staticmethod
    def _settle(used, exact_vectors, check, rerun, distance):
        """Verify the carried vectors ``used`` of chains ``check``; rerun until all agree.

        ``exact_vectors()`` gives the current vectors of the neighbouring
        chains at the rows the warm-ups ended on.  While a chain's carried
        vector differs, the chain is recomputed from the neighbour's vector;
        the first chain of a sequence is exact, so this terminates.
        """
        if not check.size:
            return
        while True:
            exact = exact_vectors()
            bad = distance(used, exact) > BOUNDARY_TOL
            if not bad.any():
                return
            rerun(check[bad], exact[:, bad])
            used[:, bad] = exact[:, bad]

    # -- Viterbi -------------------------------------------------------------------

    def viterbi(self, log_B, log_start, log_A):
        """Most likely path of every sequence.

        ``log_B`` is (K, n_samples).  Returns the best path's joint
        log-probability per sequence and the state of every row (input order).
        """
        with single_threaded_blas(), np.errstate(invalid="ignore"):
            log_B = self.layout.pack(self._to_stream(log_B))
            delta, best = self._viterbi_forward(log_B, log_start, log_A)
            path = self._backtrack(delta, log_A)
            log_prob = self._per_sequence(best)
        log_prob[np.isnan(log_prob)] = -np.inf
        return log_prob, self._to_rows(self.layout.unpack_steps(path))

    def viterbi_ends(self, log_B, log_start, log_A):
        """The Viterbi forward pass alone: what a sequence cut into pieces carries over.

        ``log_B`` is (K, n_samples).  Returns the best path's joint
        log-probability per sequence, and per sequence the max-plus scores of
        its last row (n_sequences, K), shifted to max 0 (``-inf`` where no path
        ends; NaN for an impossible sequence).
        """
        with single_threaded_blas(), np.errstate(invalid="ignore"):
            delta, best = self._viterbi_forward(self.layout.pack(self._to_stream(log_B)),
                                                log_start, log_A)
            log_prob = self._per_sequence(best)
        log_prob[np.isnan(log_prob)] = -np.inf
        return log_prob, self.last_rows(delta)

    def last_rows(self, packed):
        """The vectors (n_sequences, K) of the last row of every sequence in ``packed``
        (L, K, P)."""
        L = packed.shape[0]
        ends = self._starts + self.sequences.lengths - 1
        return packed[ends % L, :, ends // L].copy()

    def _viterbi_forward(self, log_B, log_start, log_A):
        """Max-product scores (L, K, P), each step shifted to max 0, and the shifts (L, P)."""
        L, K, P = log_B.shape
        log_A3 = np.ascontiguousarray(log_A)[:, :, None]
        delta, best = np.empty_like(log_B), np.empty((L, P))
        scores = np.empty((K, K, P))

        def step(previous, log_B_t, out, norm, restart):
            _viterbi_step(log_A3, previous, log_B_t, out, norm, restart, log_start,
                          scores[:, :, : previous.shape[1]])

        self._chains_forward(log_B, delta, best, 0.0, step, log_vector_distance)
        return delta, best

    def _backtrack(self, delta, log_A):
        """Best state of every row (L, P): chains walk back in lock-step.

        A chain that ends inside a sequence starts ``warmup`` rows into the next
        chain from that row's best state; the state it reaches at the next
        chain's first row must be the one the next chain holds there.  Chains
        that disagree are walked again from that state until their new states
        meet the old ones (from there on the walks are identical).
        """
        layout = self.layout
        L, K, P = delta.shape
        path = np.empty((L, P), dtype=np.intp)
        following = np.zeros(P, dtype=np.intp)
        if layout.backward_warmup:
            W = max(layout.W, 1)
            trail = np.argmax(delta[W - 1, :, 1:], axis=0)
            for step in range(W - 2, -1, -1):
                _backtrack_step(log_A, trail, delta[step, :, 1:], trail,
                                layout.trail_ends_at[step])
            following[:-1] = trail
        check = layout.backward_check
        used = following[check]
        for t in range(L - 1, -1, -1):
            _backtrack_step(log_A, path[t + 1] if t < L - 1 else following, delta[t], path[t],
                            layout.ends_at[t])

        def rerun(chains, exact):
            state = exact[0]
            for t in range(L - 1, -1, -1):
                new = np.empty(len(chains), dtype=np.intp)
                _backtrack_step(log_A, state, delta[t][:, chains], new,
                                _subset(layout.ends_at[t], chains))
                same = new == path[t, chains]
                path[t, chains] = new
                if same.all():
                    return
                chains, state = chains[~same], new[~same]

        def distance(a, b):
            return (a != b).any(axis=0).astype(float)

        self._settle(used[None], lambda: path[0][None, check + 1], check, rerun, distance)
        return path
