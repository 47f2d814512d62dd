"""GaussianMixtureEM vs scikit-learn's GaussianMixture, same data, same process.

Per-iteration time (30 fixed EM iterations from identical starting values),
achieved GFLOP/s of a ``full`` iteration against the machine's dgemm rate,
peak traced memory, and end-to-end time with default initialization and
``n_init=4`` (ours with ``n_jobs=2``).  Prints medians and ratios ours/theirs.

    python benchmarks/bench_mixture.py            # the recorded configuration
    python benchmarks/bench_mixture.py --quick    # a seconds-long smoke run
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from emlearn import GaussianMixtureEM

warnings.simplefilter("ignore", ConvergenceWarning)


def dgemm_gflops(n=2000, repeats=3):
    a, b = np.random.rand(n, n), np.random.rand(n, n)
    a @ b
    best = min(timed(lambda: a @ b)[0] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def peak_memory(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def starting_values(X, covariance_type, n_components, rng):
    means = X[rng.choice(len(X), n_components, replace=False)]
    precision = np.linalg.inv(np.cov(X.T))
    precisions = {
        "full": np.stack([precision] * n_components),
        "tied": precision,
        "diag": np.tile(np.diag(precision), (n_components, 1)),
        "spherical": np.full(n_components, np.diag(precision).mean()),
    }[covariance_type]
    return dict(weights_init=np.full(n_components, 1 / n_components), means_init=means,
                precisions_init=precisions, covariance_type=covariance_type)


def median_time(make, X, repeats):
    return float(np.median([timed(lambda: make().fit(X))[0] for _ in range(repeats)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    n_samples, repeats, n_iter = (5_000, 1, 5) if args.quick else (200_000, 3, 30)
    n_features, n_components = 16, 10
    X, _ = make_blobs(n_samples=n_samples, n_features=n_features, centers=n_components,
                      random_state=0)
    rng = np.random.RandomState(0)
    print(f"make_blobs(n_samples={n_samples}, n_features={n_features}, "
          f"centers={n_components}); {n_components} components; median of {repeats}")
    print(f"machine dgemm rate: {dgemm_gflops():.0f} GFLOP/s")

    print(f"\nper iteration ({n_iter} fixed iterations, same starting values)")
    print(f"{'covariance':>10} {'sklearn ms':>11} {'emlearn ms':>11} {'ratio':>6} "
          f"{'sklearn MiB':>12} {'emlearn MiB':>12}")
    for covariance_type in ("full", "tied", "diag", "spherical"):
        options = dict(starting_values(X, covariance_type, n_components, rng), tol=0,
                       max_iter=n_iter)
        theirs = median_time(lambda: GaussianMixture(n_components, **options), X, repeats)
        ours = median_time(lambda: GaussianMixtureEM(n_components, **options), X, repeats)
        mem_theirs = peak_memory(lambda: GaussianMixture(n_components, **options).fit(X))
        mem_ours = peak_memory(lambda: GaussianMixtureEM(n_components, **options).fit(X))
        print(f"{covariance_type:>10} {1e3 * theirs / n_iter:11.1f} {1e3 * ours / n_iter:11.1f}"
              f" {ours / theirs:6.2f} {mem_theirs / 2**20:12.1f} {mem_ours / 2**20:12.1f}")
        if covariance_type == "full":
            flops = 4 * n_samples * n_components * n_features**2
            full_gflops = flops / (ours / n_iter) / 1e9
    print(f"full iteration: {full_gflops:.1f} GFLOP/s achieved (4 n K d^2 flops)")

    print("\nend to end: default init (k-means), n_init=4")
    theirs = median_time(lambda: GaussianMixture(n_components, n_init=4, random_state=0),
                         X, repeats)
    ours = median_time(lambda: GaussianMixtureEM(n_components, n_init=4, random_state=0,
                                                 n_jobs=2), X, repeats)
    print(f"sklearn {theirs:.2f}s  emlearn (n_jobs=2) {ours:.2f}s  ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
