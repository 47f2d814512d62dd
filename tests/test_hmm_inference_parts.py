"""HMMEM's inference part by part (``emlearn/_hmm/parts.py``): the same results, memory
bounded by a part.

A small ``PART_BYTES`` sends small data through the parts (parts of 64 rows,
long sequences cut into pieces); every method is compared with the one-shot
result of the same fitted model on the same rows.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from emlearn import HMMEM
from emlearn._hmm import parts as hmm_parts
from emlearn._hmm.filtering import forward_filter
from emlearn._hmm.forward_backward import forward_backward_log, viterbi_sequential
from emlearn._hmm.sequences import make_sequences

from test_hmm_parts import CASES, N_ROWS, _chain, _layout, _rows

RTOL = 1e-10


def _fitted(emission, covariance_type, X, sequences):
    options = dict(n_components=3, emission=emission, max_iter=5, tol=0, random_state=1)
    if covariance_type:
        options["covariance_type"] = covariance_type
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HMMEM(**options).fit(X, **sequences)


def _everything(model, X, sequences):
    """Every inference method's result on ``X``."""
    return {
        "score": model.score(X, **sequences),
        "score_sequences": model.score_sequences(X, **sequences),
        "score_samples": model.score_samples(X, **sequences),
        "predict_proba": model.predict_proba(X, **sequences),
        "filtered": model.predict_proba(X, filtered=True, **sequences),
        "transform": model.transform(X, **sequences),
        "viterbi": model.decode(X, algorithm="viterbi", **sequences),
        "map": model.decode(X, algorithm="map", **sequences),
        "predict": model.predict(X, **sequences),
    }


def _assert_same(by_parts, one_shot):
    for name, expected in one_shot.items():
        got = by_parts[name]
        if name in ("viterbi", "map"):
            assert got[0] == pytest.approx(expected[0], rel=RTOL), name
            np.testing.assert_array_equal(got[1], expected[1], err_msg=name)
        elif name == "predict":
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            # (a row with nothing observed has log-density 0, to rounding)
            atol = 1e-12 if name == "score_samples" else 1e-300
            np.testing.assert_allclose(got, expected, rtol=RTOL, atol=atol, err_msg=name)


def _by_parts(monkeypatch, plans, compute):
    assert not plans  # the one-shot path (within the budget) made no plan
    monkeypatch.setattr(hmm_parts, "PART_BYTES", 0)
    result = compute()
    monkeypatch.setattr(hmm_parts, "PART_BYTES", 1 << 26)
    assert plans
    return result


@pytest.mark.parametrize("layout", ["short", "long", "mix", "interleaved"])
@pytest.mark.parametrize("emission, covariance_type, nan", CASES)
def test_inference_by_parts_is_the_one_shot_inference(monkeypatch, recorded_plans, emission,
                                                      covariance_type, nan, layout):
    rng = np.random.RandomState(7)
    sequences = _layout(layout, rng)
    model = _fitted(emission, covariance_type, _rows(emission, rng, _chain(rng, N_ROWS), nan),
                    sequences)
    X = _rows(emission, rng, _chain(rng, N_ROWS), nan)  # new rows, the same layout
    one_shot = _everything(model, X, sequences)
    plans = recorded_plans
    by_parts = _by_parts(monkeypatch, plans, lambda: _everything(model, X, sequences))
    _assert_same(by_parts, one_shot)
    assert len(plans) == len(one_shot)  # every method went by parts
    pieces = [part for part in plans[0] if part.is_piece]
    whole = [part for part in plans[0] if not part.is_piece]
    if layout == "short":
        assert not pieces and len(whole) >= 10
    elif layout == "long":
        assert len(plans[0]) == len(pieces) >= 4
    else:
        assert len(pieces) >= 4 and whole


def _impossible_model():
    """No state emits symbol 3; state 0 never emits 2."""
    X = np.tile([[0.0], [1.0], [2.0], [3.0]], (10, 1))
    return HMMEM(2, emission="categorical", startprob_init=[0.5, 0.5],
                 transmat_init=[[0.9, 0.1], [0.2, 0.8]],
                 emissionprob_init=[[0.5, 0.5, 0.0, 0.0], [0.2, 0.3, 0.5, 0.0]],
                 max_iter=0).fit(X)


def test_impossible_sequences_by_parts(monkeypatch, recorded_plans):
    """A row no state can emit: the same -inf scores, and the same error, naming the
    same sequences (one cut into pieces, one short), as the one-shot path."""
    model = _impossible_model()
    rng = np.random.RandomState(0)
    X = rng.randint(0, 3, size=(1000, 1)).astype(float)
    lengths = [20, 600, 30, 300, 50]
    X[20 + 350] = 3.0  # in the third piece of the 600-row sequence
    X[650 + 10] = 3.0  # in the 300-row sequence
    sequences = {"lengths": lengths}

    def results():
        outcome = {"score": model.score(X, **sequences),
                   "score_sequences": model.score_sequences(X, **sequences),
                   "score_samples": model.score_samples(X, **sequences)}
        for name, method in [("predict_proba", model.predict_proba),
                             ("filtered", lambda X, **s: model.predict_proba(X, filtered=True,
                                                                             **s)),
                             ("viterbi", lambda X, **s: model.decode(X, algorithm="viterbi",
                                                                     **s)),
                             ("map", lambda X, **s: model.decode(X, algorithm="map", **s))]:
            with pytest.raises(ValueError) as error:
                method(X, **sequences)
            outcome[name] = str(error.value)
        return outcome

    one_shot = results()
    assert one_shot["score"] == -np.inf
    assert "[1, 3]" in one_shot["viterbi"]
    by_parts = _by_parts(monkeypatch, recorded_plans, results)
    assert sum(part.is_piece for part in recorded_plans[0]) >= 4
    for name in ("score", "score_sequences", "score_samples"):
        np.testing.assert_allclose(by_parts[name], one_shot[name], rtol=RTOL, err_msg=name)
    for name in ("predict_proba", "filtered", "viterbi", "map"):
        assert by_parts[name] == one_shot[name], name


def test_inference_of_float32_rows_by_parts(monkeypatch, recorded_plans):
    rng = np.random.RandomState(3)
    X = _rows("gaussian", rng, _chain(rng, N_ROWS), nan=True)
    model = _fitted("gaussian", "full", X, {})
    X32 = X.astype(np.float32)
    one_shot = _everything(model, X32, {})
    _assert_same(_by_parts(monkeypatch, recorded_plans, lambda: _everything(model, X32, {})),
                 one_shot)


# -- the recursions over pieces against the log-domain references ----------------------
def _pieces_of(log_B, part_rows):
    parts = hmm_parts.plan_parts([log_B.shape[1]], part_rows)
    assert len(parts) >= 6 and all(part.is_piece for part in parts)

    def emissions(part, statistics=True):
        return log_B[:, part.start:part.stop].copy(), None

    return parts, emissions


def _chain_with_zeros():
    transmat = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.3, 0.0, 0.7]])
    return np.array([1.0, 0.0, 0.0]), transmat


def test_inference_recursions_are_exact_across_pieces():
    """Pieces whose cuts fall where a state is impossible (zero transition, zero start),
    and a row where the scaled recursion underflows."""
    rng = np.random.RandomState(0)
    K, n = 3, 500
    startprob, transmat = _chain_with_zeros()
    log_B = rng.normal(scale=3.0, size=(K, n))
    log_B[:, 333] = [-2000.0, -1000.0, -3000.0]
    parts, emissions = _pieces_of(log_B, 70)
    with np.errstate(divide="ignore"):
        log_start, log_A = np.log(startprob), np.log(transmat)
    log_likelihood, gamma, _ = forward_backward_log(log_B.T, log_start, log_A)
    best, path = viterbi_sequential(log_B.T, log_start, log_A)
    filtered, log_predictive = forward_filter(log_B, startprob, transmat,
                                              make_sequences(n))

    assert hmm_parts.log_likelihood_by_parts(parts, emissions, startprob, transmat)[0] == \
        pytest.approx(log_likelihood, rel=1e-12)
    got = {"gamma": np.full((n, K), np.nan), "filtered": np.full((n, K), np.nan),
           "log_predictive": np.full(n, np.nan), "path": np.full(n, -1)}

    def store(name):
        def write(part, *values):
            for key, value in zip(name, values):
                got[key][part.start:part.stop] = value
        return write

    for posterior in hmm_parts.posteriors_by_parts(parts, emissions, startprob, transmat,
                                                   counts=False):
        store(["gamma"])(posterior.part, posterior.gamma)
    hmm_parts.filter_by_parts(parts, emissions, startprob, transmat,
                              store(["filtered", "log_predictive"]))
    viterbi = hmm_parts.viterbi_by_parts(parts, emissions, log_start, log_A, store(["path"]))
    np.testing.assert_allclose(got["gamma"], gamma, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["filtered"], filtered, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got["log_predictive"], log_predictive, rtol=1e-10)
    assert viterbi[0] == pytest.approx(best, rel=1e-12)
    np.testing.assert_array_equal(got["path"], path)


MEMORY_CHILD = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    from emlearn import HMMEM
    from emlearn._hmm import parts

    def peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024

    def reset_peak():  # (Linux >= 4.0: writing 5 resets VmHWM to the current RSS)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")

    path, method, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n, d, K = 1_000_000, 4, 4
    parts.PART_BYTES = budget
    warnings.simplefilter("ignore")
    options = dict(means_init=np.arange(K)[:, None] * np.ones((1, d)),
                   covariances_init=np.ones((K, d)), max_iter=0)
    model = HMMEM(K, **options).fit(np.random.RandomState(0).normal(size=(2000, d)))
    # Imports and BLAS buffers first: they are not the method's memory.
    getattr(model, method)(np.random.RandomState(0).normal(size=(2000, d)))
    X = np.memmap(path, dtype=np.float64, mode="r", shape=(n, d))
    float(X.sum())  # the input's pages are resident before the baseline
    reset_peak()
    before = peak()
    out = getattr(model, method)(X)
    output = np.asarray(out).nbytes
    print((peak() - before - output) / X.nbytes)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_inference_on_one_long_memmapped_sequence_has_bounded_memory(tmp_path):
    """1,000,000 x 4 rows as ONE sequence from a memmap: score, predict and predict_proba
    add (beyond their output) a fraction of the input with parts of 4 MiB."""
    path = tmp_path / "X.dat"
    X = np.memmap(path, dtype=np.float64, mode="w+", shape=(1_000_000, 4))
    rng = np.random.RandomState(0)
    for start in range(0, len(X), 250_000):
        X[start:start + 250_000] = rng.normal(size=(250_000, 4)) + 2.0
    X.flush()
    del X
    for method in ("score", "predict", "predict_proba"):
        result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path), method,
                                 str(1 << 22)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        added = float(result.stdout.split()[-1])
        assert added < 0.5, (method, added)
