"""HMMEM's E-step part by part (``emlearn/_hmm/parts.py``): the same fit, bounded memory.

A small ``PART_BYTES`` sends small data through the parts: parts of 64 rows,
long sequences cut into pieces, whose forward-backward runs exactly across
the cuts.  Every fit is compared with the one-shot fit of the same data from
the same starting values.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from emlearn import HMMEM
from emlearn import hmm as hmm_module
from emlearn._hmm import parts as hmm_parts
from emlearn._hmm.forward_backward import ForwardBackward, forward_backward_log
from emlearn._hmm.sequences import make_sequences

N_ROWS = 1200
FITTED = ("startprob_", "transmat_", "means_", "covariances_", "weights_", "emissionprob_",
          "rates_")


def _chain(rng, n, K=3, stay=0.95):
    states = np.empty(n, dtype=np.intp)
    states[0] = rng.randint(K)
    for t in range(1, n):
        states[t] = states[t - 1] if rng.uniform() < stay else rng.randint(K)
    return states


def _rows(emission, rng, states, nan=False):
    n = len(states)
    if emission == "categorical":
        probabilities = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.6, 0.2, 0.1],
                                  [0.05, 0.05, 0.2, 0.7]])
        cumulative = np.cumsum(probabilities, axis=1)[states]
        return (rng.uniform(size=(n, 1)) > cumulative).sum(axis=1, keepdims=True).astype(float)
    if emission == "poisson":
        return rng.poisson(np.array([[1.0, 4.0], [5.0, 1.0], [9.0, 9.0]])[states]).astype(float)
    X = rng.normal(size=(n, 2)) + 3.0 * states[:, None] * np.array([1.0, -0.5])
    if nan:
        X[rng.uniform(size=X.shape) < 0.15] = np.nan
    return X


def _layout(kind, rng, n=N_ROWS):
    """Sequence arguments: many short sequences, one long, a mix, interleaved ids."""
    if kind == "short":
        lengths = []
        while sum(lengths) < n - 40:
            lengths.append(int(rng.randint(5, 31)))
        return {"lengths": lengths + [n - sum(lengths)]}
    if kind == "long":
        return {}
    if kind == "mix":
        return {"lengths": [15, 20, 700, 10, 25, 330, 100]}
    # "interleaved": four long sequences whose rows are scattered through X, and 15
    # short ones of 8 scattered rows
    ids = rng.randint(0, 4, size=n)
    ids[rng.choice(n, size=120, replace=False)] = 10 + np.arange(120) // 8
    return {"sequence_ids": ids}


def _fit_both(monkeypatch, plans, X, options, sequences, states=None):
    """The one-shot fit and the fit by parts (64-row parts), from the same start."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one_shot = HMMEM(**options).fit(X, states=states, **sequences)
        assert not plans
        monkeypatch.setattr(hmm_parts, "PART_BYTES", 0)
        by_parts = HMMEM(**options).fit(X, states=states, **sequences)
    monkeypatch.setattr(hmm_parts, "PART_BYTES", 1 << 26)
    assert len(plans) == 1
    return one_shot, by_parts, plans.pop()


def _assert_same_fit(one_shot, by_parts):
    compared = 0
    for name in FITTED:
        if hasattr(one_shot, name):
            np.testing.assert_allclose(getattr(by_parts, name), getattr(one_shot, name),
                                       rtol=1e-10, atol=1e-14, err_msg=name)
            compared += 1
    assert compared >= 3
    assert by_parts.n_iter_ == one_shot.n_iter_
    assert by_parts.lower_bound_ == pytest.approx(one_shot.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(by_parts.lower_bounds_, one_shot.lower_bounds_, rtol=1e-10)


CASES = [
    ("gaussian", "diag", False),
    ("gaussian", "full", False),
    ("gaussian", "diag", True),
    ("gaussian", "full", True),
    ("categorical", None, False),
    ("poisson", None, False),
]


@pytest.mark.parametrize("layout", ["short", "long", "mix", "interleaved"])
@pytest.mark.parametrize("emission, covariance_type, nan", CASES)
def test_fit_by_parts_is_the_one_shot_fit(monkeypatch, recorded_plans, emission,
                                          covariance_type, nan, layout):
    rng = np.random.RandomState(7)
    X = _rows(emission, rng, _chain(rng, N_ROWS), nan)
    sequences = _layout(layout, rng)
    options = dict(n_components=3, emission=emission, max_iter=8, tol=0, random_state=1)
    if covariance_type:
        options["covariance_type"] = covariance_type
    one_shot, by_parts, plan = _fit_both(monkeypatch, recorded_plans, X, options, sequences)
    _assert_same_fit(one_shot, by_parts)
    pieces = [part for part in plan if part.is_piece]
    whole = [part for part in plan if not part.is_piece]
    if layout == "short":
        assert not pieces and len(whole) >= 10
    elif layout == "long":
        assert len(plan) == len(pieces) >= 4
    elif layout == "mix":
        assert len(pieces) >= 4 and len(whole) >= 2
    else:
        assert len(pieces) >= 4 and whole


@pytest.mark.parametrize("emission", ["gaussian", "poisson"])
@pytest.mark.parametrize("layout", ["long", "mix"])
def test_known_states_by_parts(monkeypatch, recorded_plans, emission, layout):
    """Semi-supervised: the clamp is built part by part, the start from the labels."""
    rng = np.random.RandomState(3)
    truth = _chain(rng, N_ROWS)
    X = _rows(emission, rng, truth)
    states = np.full(N_ROWS, -1)
    known = rng.choice(N_ROWS, size=150, replace=False)
    states[known] = truth[known]
    options = dict(n_components=3, emission=emission, max_iter=8, tol=0, random_state=0)
    one_shot, by_parts, plan = _fit_both(monkeypatch, recorded_plans, X, options,
                                         _layout(layout, rng), states=states)
    _assert_same_fit(one_shot, by_parts)
    assert sum(part.is_piece for part in plan) >= 4


def test_gaussian_mixture_emissions_by_parts(monkeypatch, recorded_plans):
    rng = np.random.RandomState(5)
    X = _rows("gaussian", rng, _chain(rng, N_ROWS))
    options = dict(n_components=2, emission="gaussian_mixture", n_mix=2, max_iter=6, tol=0,
                   random_state=0)
    one_shot, by_parts, _ = _fit_both(monkeypatch, recorded_plans, X, options,
                                      _layout("mix", rng))
    _assert_same_fit(one_shot, by_parts)


@pytest.mark.parametrize("emission, nan", [("gaussian", False), ("gaussian", True),
                                           ("categorical", False), ("poisson", False)])
def test_log_likelihood_never_decreases_by_parts(monkeypatch, emission, nan):
    monkeypatch.setattr(hmm_parts, "PART_BYTES", 0)
    rng = np.random.RandomState(11)
    X = _rows(emission, rng, _chain(rng, N_ROWS), nan)
    options = dict(n_components=3, emission=emission, max_iter=30, tol=0, random_state=2)
    if emission == "gaussian":
        options["reg_covar"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HMMEM(**options).fit(X, lengths=[900, 40, 60, 200])
    assert np.all(np.diff(model.lower_bounds_) >= -1e-10 * np.abs(model.lower_bounds_[1:]))


def test_e_step_by_parts_is_exact_across_pieces():
    """One E-step of a sequence in pieces against the log-domain reference, including
    pieces whose cut falls where a state is impossible (zero transition, zero start)."""
    rng = np.random.RandomState(0)
    K, n = 3, 500
    transmat = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.3, 0.0, 0.7]])
    startprob = np.array([1.0, 0.0, 0.0])
    log_B = rng.normal(scale=3.0, size=(K, n))
    with np.errstate(divide="ignore"):
        reference = forward_backward_log(log_B.T, np.log(startprob), np.log(transmat))

    def emissions(part, statistics=True):
        return log_B[:, part.start:part.stop].copy(), lambda w: _Sum(w.sum(axis=1))

    parts = hmm_parts.plan_parts([n], 70)
    assert len(parts) == 8 and all(part.is_piece for part in parts)
    totals = hmm_parts.e_step_by_parts(parts, emissions, startprob, transmat)
    assert totals.log_likelihood == pytest.approx(reference[0], rel=1e-12)
    np.testing.assert_allclose(totals.transitions, reference[2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(totals.emission.value, reference[1].sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(totals.start, reference[1][0], atol=1e-12)


class _Sum:
    """The smallest additive statistics: a vector."""

    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return _Sum(self.value + other.value)


def test_impossible_sequence_stops_the_fit_by_parts(monkeypatch):
    """A piece with zero likelihood gives a -inf lower bound (and the usual error)."""
    monkeypatch.setattr(hmm_parts, "PART_BYTES", 0)
    X = np.zeros((400, 1))
    X[300] = 3.0  # a symbol state 0 never emits, and state 0 never leaves
    model = HMMEM(2, emission="categorical", startprob_init=[1.0, 0.0],
                  transmat_init=[[1.0, 0.0], [0.5, 0.5]],
                  emissionprob_init=[[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]],
                  max_iter=3)
    with pytest.raises(ValueError, match="not finite"):
        model.fit(X)


def test_plan_parts():
    plan = hmm_parts.plan_parts([10, 20, 30, 250, 5, 5, 90], 100)
    assert [(p.start, p.stop, p.piece, p.n_pieces) for p in plan] == [
        (0, 60, -1, 0), (60, 143, 0, 3), (143, 227, 1, 3), (227, 310, 2, 3),
        (310, 410, -1, 0)]
    assert [p.lengths.tolist() for p in plan] == [[10, 20, 30], [83], [84], [83], [5, 5, 90]]
    assert hmm_parts.rows_per_part(1000, budget=1 << 20) == 1048
    assert hmm_parts.rows_per_part(1000, budget=0) == hmm_parts.MIN_PART_ROWS


def test_one_shot_path_unchanged_for_ordinary_data():
    """Data that fit the budget are prepared once (the E-step as before)."""
    X = np.random.RandomState(0).normal(size=(500, 2))
    model = HMMEM(2, max_iter=2, random_state=0)
    family = model._family().configure(X)
    data = model._training_data(X, family, make_sequences(500), None)
    assert isinstance(data, hmm_module.HMMData)
    assert isinstance(data.forward_backward, ForwardBackward)


MEMORY_CHILD = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    from emlearn import HMMEM
    from emlearn._hmm import parts

    def peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024

    path, n, d, K = sys.argv[1], 1_000_000, 4, 4
    parts.PART_BYTES = 1 << 22
    warnings.simplefilter("ignore")
    options = dict(means_init=np.arange(K)[:, None] * np.ones((1, d)),
                   covariances_init=np.ones((K, d)), max_iter=2, tol=0)
    # Imports and BLAS buffers first: they are not the fit's memory.
    HMMEM(K, **options).fit(np.random.RandomState(0).normal(size=(2000, d)))
    X = np.memmap(path, dtype=np.float64, mode="r", shape=(n, d))
    float(X.sum())  # the input's pages are resident before the baseline
    before = peak()
    HMMEM(K, **options).fit(X)
    print((peak() - before) / X.nbytes)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_fit_of_one_long_memmapped_sequence_has_bounded_memory(tmp_path):
    """1,000,000 x 4 rows as ONE sequence from a memmap: the fit adds a fraction of the
    input (parts of 4 MiB), where the one-shot E-step added about four times the input."""
    path = tmp_path / "X.dat"
    X = np.memmap(path, dtype=np.float64, mode="w+", shape=(1_000_000, 4))
    rng = np.random.RandomState(0)
    for start in range(0, len(X), 250_000):
        X[start:start + 250_000] = rng.normal(size=(250_000, 4))
    X.flush()
    del X
    result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    added = float(result.stdout.split()[-1])
    assert added < 0.5


def test_filter_ends_is_the_last_row_of_forward_filter():
    from emlearn._hmm.filtering import filter_ends, forward_filter

    rng = np.random.RandomState(4)
    K, n = 3, 700
    log_B = rng.normal(scale=2.0, size=(K, n))
    log_B[:, 650] = [-2000.0, -1000.0, -3000.0]  # the scaled recursion underflows here
    transmat = rng.dirichlet(np.ones(K), size=K)
    startprob = np.array([0.2, 0.3, 0.5])
    sequences = make_sequences(n, sequence_ids=rng.randint(0, 5, size=n))
    log_likelihood, last = filter_ends(log_B, startprob, transmat, sequences)
    filtered, log_predictive = forward_filter(log_B, startprob, transmat, sequences)
    ends = sequences.order[sequences.starts + sequences.lengths - 1]
    np.testing.assert_allclose(last, filtered[ends], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(log_likelihood, sequences.sum_per_sequence(log_predictive),
                               rtol=1e-12)


def test_starting_values_from_a_sample_of_many_rows(monkeypatch, recorded_plans):
    """Beyond INIT_ROWS rows, k-means sees a uniform sample (both paths the same one)."""
    clustered = []
    kmeans = hmm_module.kmeans_labels

    def recording(X, n_clusters, random_state):
        clustered.append(X.shape[0])
        return kmeans(X, n_clusters, random_state)

    monkeypatch.setattr(hmm_module, "kmeans_labels", recording)
    monkeypatch.setattr(hmm_module, "INIT_ROWS", 300)
    rng = np.random.RandomState(2)
    X = _rows("gaussian", rng, _chain(rng, N_ROWS), nan=True)
    options = dict(n_components=3, max_iter=5, tol=0, random_state=0)
    one_shot, by_parts, _ = _fit_both(monkeypatch, recorded_plans, X, options, {})
    assert clustered == [300, 300]
    _assert_same_fit(one_shot, by_parts)


def test_known_states_start_from_the_sampled_labels(monkeypatch):
    monkeypatch.setattr(hmm_module, "INIT_ROWS", 300)
    monkeypatch.setattr(hmm_parts, "PART_BYTES", 0)
    monkeypatch.setattr(hmm_module, "kmeans_labels", None)  # never called: labels suffice
    rng = np.random.RandomState(8)
    truth = _chain(rng, N_ROWS)
    X = _rows("gaussian", rng, truth)
    states = np.where(rng.uniform(size=N_ROWS) < 0.5, truth, -1)
    model = HMMEM(3, max_iter=0, random_state=0).fit(X, states=states)
    centers = [X[truth == k].mean(axis=0) for k in range(3)]
    np.testing.assert_allclose(model.means_, centers, atol=0.3)


def test_float32_rows_are_read_part_by_part(monkeypatch, recorded_plans):
    """A float32 array is not copied whole to float64: parts are converted as read."""
    seen = []
    training_data = HMMEM._training_data

    def recording(self, X, *args):
        seen.append(X)
        return training_data(self, X, *args)

    monkeypatch.setattr(HMMEM, "_training_data", recording)
    rng = np.random.RandomState(6)
    X = _rows("gaussian", rng, _chain(rng, N_ROWS), nan=True).astype(np.float32)
    options = dict(n_components=3, max_iter=5, tol=0, random_state=0)
    one_shot, by_parts, _ = _fit_both(monkeypatch, recorded_plans, X, options,
                                      {"lengths": [200, 1000]})
    assert seen[0].dtype == np.float64  # the one-shot path, as before
    assert seen[1] is X or np.shares_memory(seen[1], X)
    _assert_same_fit(one_shot, by_parts)
