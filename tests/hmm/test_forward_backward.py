"""Lock-step forward-backward and Viterbi against brute force over all state paths."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from emlearn._hmm.forward_backward import (
    ForwardBackward,
    forward_backward_log,
    viterbi_sequential,
)
from emlearn._hmm.sequences import make_sequences


def random_hmm(rng, K, sticky=None):
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), size=K)
    if sticky is not None:
        transmat = sticky * np.eye(K) + (1 - sticky) * transmat
    return startprob, transmat


def brute_force(log_B, startprob, transmat):
    """Log-likelihood, posteriors, expected transitions and best path by enumeration."""
    T, K = log_B.shape
    paths = np.array(list(itertools.product(range(K), repeat=T)))
    with np.errstate(divide="ignore"):
        log_start, log_A = np.log(startprob), np.log(transmat)
    joint = log_start[paths[:, 0]] + log_B[np.arange(T), paths].sum(axis=1)
    if T > 1:
        joint += log_A[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    log_likelihood = logsumexp(joint)
    weight = np.exp(joint - log_likelihood)
    gamma = np.zeros((T, K))
    xi = np.zeros((K, K))
    for path, w in zip(paths, weight):
        gamma[np.arange(T), path] += w
        for a, b in zip(path[:-1], path[1:]):
            xi[a, b] += w
    best = paths[np.argmax(joint)]
    return log_likelihood, gamma, xi, best, joint.max()


@pytest.mark.parametrize("K", [2, 3])
def test_posteriors_equal_brute_force_over_several_sequences(K):
    rng = np.random.RandomState(K)
    lengths = [1, 5, 3, 4, 2]
    log_B = rng.normal(scale=2.0, size=(sum(lengths), K))
    startprob, transmat = random_hmm(rng, K)
    sequences = make_sequences(len(log_B), lengths=lengths)
    log_likelihood, gamma, xi = ForwardBackward(sequences).posteriors(log_B.T, startprob,
                                                                      transmat)
    expected_xi = np.zeros((K, K))
    for i in range(len(lengths)):
        rows = sequences.rows(i)
        loglik, g, x, _, _ = brute_force(log_B[rows], startprob, transmat)
        np.testing.assert_allclose(log_likelihood[i], loglik, rtol=1e-12)
        np.testing.assert_allclose(gamma[rows], g, atol=1e-12)
        expected_xi += x
    np.testing.assert_allclose(xi, expected_xi, atol=1e-12)


@pytest.mark.parametrize("K", [2, 3])
def test_viterbi_equals_brute_force_argmax(K):
    rng = np.random.RandomState(10 + K)
    lengths = [5, 1, 4, 5, 2]
    log_B = rng.normal(scale=2.0, size=(sum(lengths), K))
    startprob, transmat = random_hmm(rng, K)
    sequences = make_sequences(len(log_B), lengths=lengths)
    log_prob, path = ForwardBackward(sequences).viterbi(log_B.T, np.log(startprob),
                                                        np.log(transmat))
    for i in range(len(lengths)):
        rows = sequences.rows(i)
        _, _, _, best, best_joint = brute_force(log_B[rows], startprob, transmat)
        np.testing.assert_array_equal(path[rows], best)
        np.testing.assert_allclose(log_prob[i], best_joint, rtol=1e-12)


@pytest.mark.parametrize("sticky", [None, 0.99])
def test_viterbi_in_pieces_equals_whole_sequence(sticky):
    rng = np.random.RandomState(1)
    K = 3
    startprob, transmat = random_hmm(rng, K, sticky)
    log_B = rng.normal(scale=1.0, size=(900, K))
    sequences = make_sequences(900, lengths=[600, 7, 293])
    args = (log_B.T, np.log(startprob), np.log(transmat))
    whole_prob, whole_path = ForwardBackward(sequences, piece_length=10_000).viterbi(*args)
    pieces = ForwardBackward(sequences, piece_length=16, warmup=4)
    assert len(pieces.pieces) > 40
    log_prob, path = pieces.viterbi(*args)
    np.testing.assert_allclose(log_prob, whole_prob, rtol=1e-12)
    np.testing.assert_array_equal(path, whole_path)


@pytest.mark.parametrize("sticky", [None, 0.999])
def test_long_sequence_cut_into_pieces_is_exact(sticky):
    # Pieces of 16 rows with 4 warm-up steps: many boundaries must be verified, and with
    # sticky transitions most warm-ups fail and are recomputed from the exact vector.
    rng = np.random.RandomState(0)
    K, T = 3, 700
    startprob, transmat = random_hmm(rng, K, sticky)
    log_B = rng.normal(scale=0.3 if sticky else 2.0, size=(T + 30, K))
    sequences = make_sequences(len(log_B), lengths=[T, 30])
    pieces = ForwardBackward(sequences, piece_length=16, warmup=4)
    assert len(pieces.pieces) > 40
    log_likelihood, gamma, xi = pieces.posteriors(log_B.T, startprob, transmat)
    np.testing.assert_array_equal(pieces.log_likelihood(log_B.T, startprob, transmat),
                                  log_likelihood)
    expected_xi = np.zeros((K, K))
    for i in range(2):
        rows = sequences.rows(i)
        loglik, g, x = forward_backward_log(log_B[rows], np.log(startprob), np.log(transmat))
        np.testing.assert_allclose(log_likelihood[i], loglik, rtol=1e-12)
        np.testing.assert_allclose(gamma[rows], g, atol=1e-10)
        expected_xi += x
    np.testing.assert_allclose(xi, expected_xi, rtol=1e-9)


def test_interleaved_sequence_ids_follow_the_rows():
    rng = np.random.RandomState(3)
    K = 2
    log_B = rng.normal(size=(9, K))
    startprob, transmat = random_hmm(rng, K)
    ids = np.array(["b", "a", "b", "a", "a", "c", "b", "a", "c"])
    sequences = make_sequences(9, sequence_ids=ids)
    log_likelihood, gamma, _ = ForwardBackward(sequences).posteriors(log_B.T, startprob,
                                                                     transmat)
    for position, label in enumerate(["b", "a", "c"]):  # order of first appearance
        rows = np.flatnonzero(ids == label)
        loglik, g, _, _, _ = brute_force(log_B[rows], startprob, transmat)
        np.testing.assert_allclose(log_likelihood[position], loglik, rtol=1e-12)
        np.testing.assert_allclose(gamma[rows], g, atol=1e-12)


def test_scaled_underflow_falls_back_to_log_domain():
    # State 1 explains every row 800 nats better but can never be reached: the scaled
    # recursion underflows, the log domain gives the exact answer.
    startprob = np.array([1.0, 0.0])
    transmat = np.eye(2)
    log_B = np.tile([-800.0, 0.0], (6, 1))
    sequences = make_sequences(12, lengths=[6, 6])
    log_B = np.vstack([log_B, np.zeros((6, 2))])
    fb = ForwardBackward(sequences)
    log_likelihood, gamma, xi = fb.posteriors(log_B.T, startprob, transmat)
    np.testing.assert_allclose(log_likelihood, [-4800.0, 0.0])
    np.testing.assert_allclose(fb.log_likelihood(log_B.T, startprob, transmat), [-4800.0, 0.0])
    np.testing.assert_allclose(gamma[:6], [[1.0, 0.0]] * 6)
    np.testing.assert_allclose(xi, [[10.0, 0.0], [0.0, 0.0]])


def test_impossible_sequence_has_minus_inf_likelihood():
    startprob, transmat = np.array([0.5, 0.5]), np.full((2, 2), 0.5)
    log_B = np.zeros((4, 2))
    log_B[2] = -np.inf
    sequences = make_sequences(4, lengths=[4])
    fb = ForwardBackward(sequences)
    log_likelihood, _, _ = fb.posteriors(log_B.T, startprob, transmat)
    assert log_likelihood[0] == -np.inf
    assert fb.log_likelihood(log_B.T, startprob, transmat)[0] == -np.inf


# -- chains: sequences end to end, cut into chains of L rows -------------------------------
def test_default_chain_length():
    one_long = ForwardBackward(make_sequences(200_000))
    assert one_long.layout.L == int(np.sqrt(200_000) / 2) and one_long.layout.P > 800
    equal = ForwardBackward(make_sequences(200_000, lengths=[200] * 1000))
    assert (equal.layout.L, equal.layout.P) == (200, 1000)
    assert not equal.layout.forward_warmup and not equal.layout.backward_warmup
    short = ForwardBackward(make_sequences(50, lengths=[30, 20]))
    assert (short.layout.L, short.layout.P) == (50, 1)


@pytest.mark.parametrize("sticky", [None, 0.999])
@pytest.mark.parametrize("warmup", [0, 2, 32])
def test_chains_across_sequence_boundaries_are_exact(sticky, warmup):
    # Chains of 23 rows hold ends and starts of ragged sequences; with warm-ups of 0 or 2
    # steps nearly every boundary fails and is recomputed until it meets the old vectors.
    rng = np.random.RandomState(7)
    K = 3
    startprob, transmat = random_hmm(rng, K, sticky)
    lengths = [1, 57, 3, 200, 23, 46, 2, 150]
    log_B = rng.normal(scale=0.3 if sticky else 2.0, size=(sum(lengths), K))
    sequences = make_sequences(len(log_B), lengths=lengths)
    fb = ForwardBackward(sequences, piece_length=23, warmup=warmup)
    log_likelihood, gamma, xi = fb.posteriors(log_B.T, startprob, transmat)
    np.testing.assert_allclose(fb.log_likelihood(log_B.T, startprob, transmat), log_likelihood,
                               rtol=1e-13)
    log_prob, path = fb.viterbi(log_B.T, np.log(startprob), np.log(transmat))
    expected_xi = np.zeros((K, K))
    for i in range(len(lengths)):
        rows = sequences.rows(i)
        loglik, g, x = forward_backward_log(log_B[rows], np.log(startprob), np.log(transmat))
        np.testing.assert_allclose(log_likelihood[i], loglik, rtol=1e-12)
        np.testing.assert_allclose(gamma[rows], g, atol=1e-10)
        expected_xi += x
        best, best_path = viterbi_sequential(log_B[rows], np.log(startprob), np.log(transmat))
        np.testing.assert_array_equal(path[rows], best_path)
        np.testing.assert_allclose(log_prob[i], best, rtol=1e-12)
    np.testing.assert_allclose(xi, expected_xi, rtol=1e-9)


@pytest.mark.parametrize("sticky", [None, 0.99])
def test_viterbi_on_a_long_sequence_equals_sequential_viterbi_with_ties(sticky):
    # Integer scores make every sum exact, so ties are exact ties: both must keep the
    # first state (numpy's argmax) at every step and at the end.
    rng = np.random.RandomState(5)
    K, T = 4, 5000
    log_B = rng.randint(-3, 1, size=(T, K)).astype(float)
    log_A = rng.randint(-4, 0, size=(K, K)).astype(float)
    if sticky:
        log_A[np.diag_indices(K)] = 0.0
    log_start = np.zeros(K)
    best, expected = viterbi_sequential(log_B, log_start, log_A)
    sequences = make_sequences(T)
    for L, warmup in [(None, 32), (40, 3), (97, 0)]:
        log_prob, path = ForwardBackward(sequences, piece_length=L, warmup=warmup).viterbi(
            log_B.T, log_start, log_A)
        np.testing.assert_array_equal(path, expected)
        assert log_prob[0] == best


def test_pieces_with_interleaved_ids_and_an_impossible_sequence():
    rng = np.random.RandomState(11)
    K = 3
    startprob, transmat = random_hmm(rng, K)
    ids = np.repeat(np.arange(6), [40, 7, 90, 31, 60, 12])
    rng.shuffle(ids)
    log_B = rng.normal(size=(len(ids), K))
    impossible_row = np.flatnonzero(ids == 2)[10]
    log_B[impossible_row] = -np.inf
    sequences = make_sequences(len(ids), sequence_ids=ids)
    impossible = sequences.sequence_of_row[impossible_row]
    fb = ForwardBackward(sequences, piece_length=16, warmup=4)
    log_likelihood, gamma, _ = fb.posteriors(log_B.T, startprob, transmat)
    with np.errstate(divide="ignore"):
        log_prob, path = fb.viterbi(log_B.T, np.log(startprob), np.log(transmat))
    for i in range(6):
        rows = sequences.rows(i)
        loglik, g, _ = forward_backward_log(log_B[rows], np.log(startprob), np.log(transmat))
        best, best_path = viterbi_sequential(log_B[rows], np.log(startprob), np.log(transmat))
        if i == impossible:
            assert log_likelihood[i] == -np.inf and log_prob[i] == -np.inf
            continue
        np.testing.assert_allclose(log_likelihood[i], loglik, rtol=1e-12)
        np.testing.assert_allclose(gamma[rows], g, atol=1e-10)
        np.testing.assert_array_equal(path[rows], best_path)


def test_pickled_plan_leaves_its_buffers_behind():
    import pickle

    rng = np.random.RandomState(0)
    startprob, transmat = random_hmm(rng, 2)
    log_B = rng.normal(size=(2, 300))
    fb = ForwardBackward(make_sequences(300), piece_length=50)
    expected = fb.posteriors(log_B, startprob, transmat)
    copy = pickle.loads(pickle.dumps(fb))
    assert copy._workspaces == {}
    np.testing.assert_array_equal(copy.posteriors(log_B, startprob, transmat)[1], expected[1])


def test_a_state_ruled_out_stays_ruled_out_across_chains():
    """A chain's warm-up leaves tiny mass (1e-250) in a state the exact forward vector
    rules out; the boundary check must not take it for zero.  Here state 1 is
    unreachable and alone can emit the symbol at row 390: the 600-row sequence, cut into
    chains, is impossible (it had a finite log-likelihood, about -886)."""
    rng = np.random.RandomState(0)
    lengths = [20, 600, 30, 300, 50]
    symbols = rng.randint(0, 2, size=1000)
    symbols[390] = 3
    emissionprob = np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    startprob, transmat = np.array([1.0, 0.0]), np.array([[1.0, 0.0], [0.5, 0.5]])
    with np.errstate(divide="ignore"):
        log_B = np.log(emissionprob[:, symbols])
        expected = [forward_backward_log(log_B[:, rows].T, np.log(startprob),
                                         np.log(transmat))[0]
                    for rows in np.split(np.arange(1000), np.cumsum(lengths)[:-1])]
    fb = ForwardBackward(make_sequences(1000, lengths=lengths))
    assert fb.layout.P > 5  # the long sequence is cut into chains with warm-ups
    np.testing.assert_allclose(fb.log_likelihood(log_B, startprob, transmat), expected)
    assert expected[1] == -np.inf
