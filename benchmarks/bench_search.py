"""GaussianMixtureSearch (hierarchical starts) vs k-means starts, and vs mclust's optima.

Over the grid n_components 1..9 x the four covariance types, fitted as mclust
fits (``reg_covar=0, tol=1e-6, max_iter=1000``), one process, ``n_jobs=1``:

- time of the search with its default start (model-based agglomeration, one
  start per model; the tree's time included) against the same grid fitted by
  ``GaussianMixtureEM`` with ``n_init=10`` k-means starts;
- the log-likelihood each reaches for 2, 3 and 4 components, against R mclust
  6.0.0's (``tests/mclust_reference.py``); "hit" when within 0.01 or above, a
  failed fit is a miss.

    python benchmarks/bench_search.py            # the recorded configuration
    python benchmarks/bench_search.py --quick    # a seconds-long smoke run
"""

import argparse
import pathlib
import sys
import time

from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from emlearn import GaussianMixtureSearch
from emlearn._core import hierarchical

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from mclust_reference import MCLUST_LOGLIK, TOLERANCE  # noqa: E402

AS_MCLUST = dict(reg_covar=0, tol=1e-6, max_iter=1000, n_jobs=1, random_state=0)
STARTS = {"hierarchical": dict(init_params="hierarchical", n_init=1),
          "kmeans x10": dict(init_params="kmeans", n_init=10)}


def timed_search(X, n_components, starts):
    hierarchical._CACHE.clear()  # the agglomeration's time counts
    start = time.perf_counter()
    search = GaussianMixtureSearch(n_components, **starts, **AS_MCLUST).fit(X)
    return time.perf_counter() - start, search.results_


def log_likelihoods(name, results):
    return {(name, int(k), c): ll for k, c, ll in zip(
        results["param_n_components"], results["param_covariance_type"],
        results["log_likelihood"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="iris and wine, 1 to 4 components")
    args = parser.parse_args()
    data = {"iris": load_iris().data, "wine": load_wine().data}
    if not args.quick:
        data["breast_cancer"] = load_breast_cancer().data
    n_components = tuple(range(1, 5 if args.quick else 10))

    print(f"grid: n_components {n_components[0]}..{n_components[-1]} x 4 covariance types; "
          "reg_covar=0, tol=1e-6, max_iter=1000; n_jobs=1")
    print(f"{'data':>14} {'hierarchical s':>15} {'kmeans x10 s':>13} {'ratio':>6}")
    found = {name: {} for name in STARTS}
    for name, X in data.items():
        seconds = {}
        for label, starts in STARTS.items():
            seconds[label], results = timed_search(X, n_components, starts)
            found[label].update(log_likelihoods(name, results))
        print(f"{name:>14} {seconds['hierarchical']:>15.2f} {seconds['kmeans x10']:>13.2f} "
              f"{seconds['hierarchical'] / seconds['kmeans x10']:>6.2f}")

    print("\nlog-likelihood reached vs mclust (diff = ours - mclust; NaN: the fit failed)")
    print(f"{'data':>14} {'G':>2} {'covariance':>10} {'mclust':>11} {'hierarchical':>13} "
          f"{'diff':>8} {'kmeans x10':>11} {'diff':>8}")
    hits = dict.fromkeys(STARTS, 0)
    cells = [cell for cell in MCLUST_LOGLIK if cell[0] in data]
    for cell in cells:
        reference = MCLUST_LOGLIK[cell]
        row = f"{cell[0]:>14} {cell[1]:>2} {cell[2]:>10} {reference:>11.3f}"
        for label in STARTS:
            ll = found[label][cell]
            hits[label] += bool(ll >= reference - TOLERANCE)
            row += f" {ll:>{13 if label == 'hierarchical' else 11}.3f} {ll - reference:>+8.3f}"
        print(row)
    print("cells reaching mclust: " + ", ".join(
        f"{label} {count}/{len(cells)}" for label, count in hits.items()))


if __name__ == "__main__":
    main()
