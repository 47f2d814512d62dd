"""HMMEM vs hmmlearn (compiled kernels), same data, same process.

Four cases, 20 fixed Baum-Welch iterations from identical starting values
(hmmlearn with neutral priors), median of several repeats, ratio ours/theirs
against hmmlearn's default ``implementation="log"`` and its ``"scaling"``:

(a) one sequence, T = 200,000, 6 states, 4-dim diagonal Gaussian;
(b) 5,000 sequences of length 40, 4 states, 3-dim full Gaussian;
(c) 1,000 categorical sequences of length 200, 5 states, 20 symbols;
(d) Viterbi ``predict`` on (b); (e) Viterbi ``predict`` on (a).

hmmlearn runs with BLAS limited to one thread, its fastest setting here: with a
threaded BLAS its per-sequence calls on tiny matrices are up to 60x slower on
this two-core machine (emlearn limits BLAS threads inside its recursions too).

    python benchmarks/bench_hmm.py            # the recorded configuration
    python benchmarks/bench_hmm.py --quick    # a seconds-long smoke run
    python benchmarks/bench_hmm.py --cases a,e   # some cases only (quick iteration)
    python benchmarks/bench_hmm.py --defaults # default settings against hmmlearn's
"""

import argparse
import time
import warnings

import numpy as np
from hmmlearn import hmm
from threadpoolctl import threadpool_limits

from emlearn import HMMEM

warnings.simplefilter("ignore")


def sticky_chain(rng, K, stay):
    transmat = (1 - stay) * rng.dirichlet(np.ones(K), size=K) + stay * np.eye(K)
    return rng.dirichlet(np.ones(K)), transmat


def sample_states(rng, startprob, transmat, lengths):
    states = []
    for length in lengths:
        s = np.empty(length, dtype=int)
        s[0] = rng.choice(len(startprob), p=startprob)
        u = rng.uniform(size=length)
        cumulative = np.cumsum(transmat, axis=1)
        for t in range(1, length):
            s[t] = min(np.searchsorted(cumulative[s[t - 1]], u[t]), len(startprob) - 1)
        states.append(s)
    return np.concatenate(states)


def gaussian_case(rng, n_sequences, length, K, d, covariance_type):
    lengths = [length] * n_sequences
    startprob, transmat = sticky_chain(rng, K, 0.9)
    means = rng.normal(scale=3.0, size=(K, d))
    states = sample_states(rng, startprob, transmat, lengths)
    X = means[states] + rng.normal(size=(len(states), d))
    start_means = means + rng.normal(scale=0.5, size=means.shape)
    covariances = np.full((K, d), 1.5) if covariance_type == "diag" else \
        np.repeat(1.5 * np.eye(d)[None], K, axis=0)
    start = dict(startprob=np.full(K, 1 / K), transmat=np.full((K, K), 1 / K) * 0.5
                 + 0.5 * np.eye(K), means=start_means, covariances=covariances)
    return X, lengths, start


def categorical_case(rng, n_sequences, length, K, n_symbols):
    lengths = [length] * n_sequences
    startprob, transmat = sticky_chain(rng, K, 0.8)
    emissionprob = rng.dirichlet(np.ones(n_symbols) * 0.5, size=K)
    states = sample_states(rng, startprob, transmat, lengths)
    cumulative = np.cumsum(emissionprob, axis=1)[states]
    X = (rng.uniform(size=(len(states), 1)) > cumulative).sum(axis=1, keepdims=True)
    start = dict(startprob=np.full(K, 1 / K), transmat=np.full((K, K), 0.5 / K)
                 + 0.5 * np.eye(K), emissionprob=rng.dirichlet(np.ones(n_symbols), size=K))
    return np.minimum(X, n_symbols - 1), lengths, start


def theirs(kind, start, covariance_type, implementation, n_iter):
    K = len(start["startprob"])
    common = dict(n_iter=n_iter, tol=-1e300, init_params="", implementation=implementation)
    if kind == "gaussian":
        model = hmm.GaussianHMM(K, covariance_type=covariance_type, covars_prior=0,
                                covars_weight=1, means_weight=0, min_covar=0, **common)
        model.means_, model.covars_ = start["means"], start["covariances"]
    else:
        model = hmm.CategoricalHMM(K, **common)
        model.emissionprob_ = start["emissionprob"]
    model.startprob_, model.transmat_ = start["startprob"], start["transmat"]
    return model


def ours(kind, start, covariance_type, n_iter):
    K = len(start["startprob"])
    inits = dict(startprob_init=start["startprob"], transmat_init=start["transmat"])
    if kind == "gaussian":
        inits.update(means_init=start["means"], covariances_init=start["covariances"])
        return HMMEM(K, covariance_type=covariance_type, max_iter=n_iter, tol=0, reg_covar=0,
                     **inits)
    return HMMEM(K, emission="categorical", max_iter=n_iter, tol=0,
                 emissionprob_init=start["emissionprob"], **inits)


def median_seconds(fn, repeats, single_thread=False):
    times = []
    for _ in range(repeats):
        with threadpool_limits(1 if single_thread else None, user_api="blas"):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--cases", default="a,b,c,d,e", help="comma-separated letters")
    args = parser.parse_args()
    selected = set(args.cases.split(","))
    rng = np.random.RandomState(0)
    scale = 20 if args.quick else 1
    repeats = 1 if args.quick else 3
    n_iter = 3 if args.quick else 20
    cases = {
        "(a) 1 x 200,000, 6 states, diag": ("gaussian", "diag",
                                            gaussian_case(rng, 1, 200_000 // scale, 6, 4,
                                                          "diag")),
        "(b) 5,000 x 40, 4 states, full": ("gaussian", "full",
                                           gaussian_case(rng, 5_000 // scale, 40, 4, 3,
                                                         "full")),
        "(c) 1,000 x 200, categorical": ("categorical", None,
                                         categorical_case(rng, 1_000 // scale, 200, 5, 20)),
    }
    print(f"{n_iter} fixed iterations, median of {repeats}; ratio = emlearn / hmmlearn")
    print(f"{'case':34} {'emlearn s':>10} {'log s':>8} {'ratio':>6} {'scaling s':>10} "
          f"{'ratio':>6}")
    fitted = {}
    for name, (kind, covariance_type, (X, lengths, start)) in cases.items():
        if name[1] not in selected:
            if {"b": "d", "a": "e"}.get(name[1]) in selected:  # fitted model to decode with
                fitted[name] = ours(kind, start, covariance_type, n_iter).fit(X, lengths=lengths)
            continue
        mine = median_seconds(
            lambda: fitted.__setitem__(name, ours(kind, start, covariance_type, n_iter).fit(
                X, lengths=lengths)), repeats)
        log = median_seconds(
            lambda: theirs(kind, start, covariance_type, "log", n_iter).fit(X, lengths),
            repeats, single_thread=True)
        scaling = median_seconds(
            lambda: theirs(kind, start, covariance_type, "scaling", n_iter).fit(X, lengths),
            repeats, single_thread=True)
        print(f"{name:34} {mine:10.3f} {log:8.3f} {mine / log:6.2f} {scaling:10.3f} "
              f"{mine / scaling:6.2f}")

    for label, name in [("(d) Viterbi predict on (b)", "(b) 5,000 x 40, 4 states, full"),
                        ("(e) Viterbi predict on (a)", "(a) 1 x 200,000, 6 states, diag")]:
        if label[1] not in selected:
            continue
        kind, covariance_type, (X, lengths, start) = cases[name]
        model = fitted[name]
        with threadpool_limits(1, user_api="blas"):
            reference = {impl: theirs(kind, start, covariance_type, impl, n_iter).fit(
                X, lengths) for impl in ("log", "scaling")}
        mine = median_seconds(lambda: model.predict(X, lengths=lengths), repeats)
        log = median_seconds(lambda: reference["log"].predict(X, lengths), repeats, True)
        scaling = median_seconds(lambda: reference["scaling"].predict(X, lengths), repeats,
                                 True)
        print(f"{label:34} {mine:10.3f} {log:8.3f} {mine / log:6.2f} "
              f"{scaling:10.3f} {mine / scaling:6.2f}")


# -- --defaults: what default settings reach, emlearn against hmmlearn ------------------------
def uniform_sticky(K, stay=0.95):
    move = (1 - stay) / (K - 1)
    return np.full((K, K), move) + np.eye(K) * (stay - move)


def defaults_cases(n_scale=1):
    """(name, emission, K, X, true parameters as HMMEM starting values, hmmlearn class)."""
    rng = np.random.RandomState(0)
    casino_T = np.array([[0.95, 0.05], [0.1, 0.9]])
    casino_E = np.array([[1 / 6] * 6, [1 / 10] * 5 + [1 / 2]])
    states = sample_states(rng, np.array([1.0, 0.0]), casino_T, [30_000 // n_scale])
    rolls = (rng.uniform(size=(len(states), 1))
             > np.cumsum(casino_E, axis=1)[states]).sum(axis=1, keepdims=True)
    means = np.array([[0.0, 0.0], [1.5, 0.5], [0.0, 1.5]])
    states = sample_states(rng, np.eye(3)[0], uniform_sticky(3), [5_000 // n_scale])
    gaussian_X = means[states] + rng.normal(size=(len(states), 2))
    rates = np.array([[2.0], [4.0], [7.0]])
    states = sample_states(rng, np.eye(3)[0], uniform_sticky(3), [5_000 // n_scale])
    poisson_X = rng.poisson(rates[states])
    return [
        ("casino (30,000 rolls)", "categorical", 2, rolls,
         dict(startprob_init=[1.0, 0.0], transmat_init=casino_T, emissionprob_init=casino_E),
         hmm.CategoricalHMM),
        ("sticky Gaussian (5,000 x 2)", "gaussian", 3, gaussian_X,
         dict(startprob_init=np.eye(3)[0], transmat_init=uniform_sticky(3), means_init=means,
              covariances_init=np.ones((3, 2)), reg_covar=0), hmm.GaussianHMM),
        ("sticky Poisson (5,000)", "poisson", 3, poisson_X,
         dict(startprob_init=np.eye(3)[0], transmat_init=uniform_sticky(3), rates_init=rates),
         hmm.PoissonHMM),
    ]


def defaults_main(quick=False):
    """Every parameter at its default but n_components and random_state, seeds 0..9."""
    seeds = range(3 if quick else 10)
    print("default settings, seeds 0..%d; reached = final log-likelihood within 0.1%% of the "
          "true model's" % (len(seeds) - 1))
    print(f"{'case':28} {'library':9} {'true':>11} {'median':>11} {'worst':>11} "
          f"{'reached':>8} {'median s':>9}")
    for name, emission, K, X, truth, their_class in defaults_cases(20 if quick else 1):
        true_score = HMMEM(K, emission=emission, max_iter=0, **truth).fit(X).score(X)
        for library in ("emlearn", "hmmlearn"):
            scores, times = [], []
            for seed in seeds:
                start = time.perf_counter()
                if library == "emlearn":
                    model = HMMEM(K, emission=emission, random_state=seed).fit(X)
                    times.append(time.perf_counter() - start)
                    scores.append(model.score(X))
                else:
                    model = their_class(K, random_state=seed).fit(X)
                    times.append(time.perf_counter() - start)
                    scores.append(model.score(X))
            reached = sum(score >= true_score * (1 + 1e-3) for score in scores)
            print(f"{name:28} {library:9} {true_score:11.1f} {np.median(scores):11.1f} "
                  f"{min(scores):11.1f} {reached:5d}/{len(scores)} {np.median(times):9.3f}")


if __name__ == "__main__":
    import sys

    if "--defaults" in sys.argv:
        defaults_main(quick="--quick" in sys.argv)
    else:
        main()
