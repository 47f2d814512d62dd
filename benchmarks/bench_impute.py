"""EMImputer vs scikit-learn's imputers: accuracy and speed, same data, same process.

Data: the data sets bundled with scikit-learn (iris, wine, breast_cancer,
diabetes, digits), constant columns dropped, standardized.  Entries removed:

- MCAR: each entry independently with probability ``rate``;
- MAR: the first column is always observed; every other entry of row ``i``
  goes missing with probability ``min(0.95, c * rank_i)``, ``rank_i`` the rank
  (1..n) of the row's first-column value, ``c`` chosen so that the expected
  fraction of removed entries (over all entries) is ``rate``.

Each cell (data set x mechanism x rate in 10/20/40%) averages 5 random masks.
Scores: RMSE over the removed entries (standardized units) for EMImputer with
its defaults (one Gaussian), EMImputer with the number of components (1-4)
chosen by BIC, IterativeImputer (defaults), KNNImputer (defaults) and
SimpleImputer(mean); time of fit + transform for EMImputer (defaults) vs
IterativeImputer, summed over the 5 masks.  Then: a multimodal data set
(make_blobs in 5 dimensions), and a classification pipeline on breast_cancer
with 20% of the entries removed.

    python benchmarks/bench_impute.py            # the recorded configuration
    python benchmarks/bench_impute.py --quick    # a seconds-long smoke run
    python benchmarks/bench_impute.py --sweep    # only: RMSE over the grid vs reg_covar, tol

BLAS runs on one thread for every imputer: on the shared 2-core development
machine, threaded BLAS made IterativeImputer's times swing by up to 20x between
runs (EMImputer limits its own small kernels to one thread in any case).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from emlearn import EMImputer

warnings.simplefilter("ignore", ConvergenceWarning)

DATASETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
    "digits": load_digits,
}
RATES = (0.1, 0.2, 0.4)
MECHANISMS = ("MCAR", "MAR")
BIC_COMPONENTS = (1, 2, 3, 4)


def standardized(X):
    X = X[:, X.std(axis=0) > 0]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def mcar_mask(shape, rate, rng):
    return rng.uniform(size=shape) < rate


def mar_mask(X, rate, rng):
    """First column observed; others missing with probability ~ rank of column 0."""
    n, d = X.shape
    rank = np.argsort(np.argsort(X[:, 0])) + 1.0
    target = rate * d / (d - 1)  # the rate over the entries that may go missing
    low, high = 0.0, 2.0 * target / (n + 1) * 10
    for _ in range(100):  # bisection on the scale c
        c = (low + high) / 2
        if np.minimum(0.95, c * rank).mean() < target:
            low = c
        else:
            high = c
    p = np.minimum(0.95, c * rank)
    mask = rng.uniform(size=(n, d)) < p[:, None]
    mask[:, 0] = False
    return mask


def masks(X, mechanism, rate, n_masks, seed):
    rng = np.random.RandomState(seed)
    for _ in range(n_masks):
        yield mcar_mask(X.shape, rate, rng) if mechanism == "MCAR" else mar_mask(X, rate, rng)


def rmse(X_imputed, X, mask):
    return float(np.sqrt(np.mean((X_imputed[mask] - X[mask]) ** 2)))


def timed_fit_transform(imputer, X):
    start = time.perf_counter()
    out = imputer.fit_transform(X)
    return out, time.perf_counter() - start


def best_by_bic(X_missing, components=BIC_COMPONENTS):
    fits = [EMImputer(k, random_state=0).fit(X_missing) for k in components]
    best = min(fits, key=lambda imputer: imputer.bic(X_missing))
    return best.transform(X_missing), best.n_components


def cell(X, mechanism, rate, n_masks, seed):
    scores = {name: [] for name in ("em", "em_bic", "iterative", "knn", "mean")}
    times = {"em": 0.0, "iterative": 0.0}
    chosen = []
    for mask in masks(X, mechanism, rate, n_masks, seed):
        X_missing = np.where(mask, np.nan, X)
        out, seconds = timed_fit_transform(EMImputer(random_state=0), X_missing)
        scores["em"].append(rmse(out, X, mask))
        times["em"] += seconds
        out, seconds = timed_fit_transform(IterativeImputer(random_state=0), X_missing)
        scores["iterative"].append(rmse(out, X, mask))
        times["iterative"] += seconds
        out, k = best_by_bic(X_missing)
        scores["em_bic"].append(rmse(out, X, mask))
        chosen.append(k)
        scores["knn"].append(rmse(KNNImputer().fit_transform(X_missing), X, mask))
        scores["mean"].append(rmse(SimpleImputer().fit_transform(X_missing), X, mask))
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    return means, times, chosen


def accuracy_grid(datasets, rates, n_masks):
    print(f"RMSE on the removed entries (standardized units), mean of {n_masks} masks; "
          "time = fit + transform, summed over the masks")
    header = (f"{'data':>13} {'mech':>4} {'rate':>4} | {'EM':>6} {'EM-BIC':>6} {'k':>7} "
              f"{'Iter.':>6} {'KNN':>6} {'mean':>6} | {'EM/It':>5} | {'EM s':>6} "
              f"{'Iter. s':>7} {'ratio':>5}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in datasets:
        X = standardized(DATASETS[name]().data)
        for mechanism in MECHANISMS:
            for rate in rates:
                seed = sum(map(ord, f"{name}{mechanism}{rate}"))  # stable across runs
                score, times, chosen = cell(X, mechanism, rate, n_masks, seed)
                ratio = score["em"] / score["iterative"]
                time_ratio = times["em"] / times["iterative"]
                ks = "".join(str(k) for k in chosen)
                print(f"{name:>13} {mechanism:>4} {rate:4.0%} | {score['em']:6.3f} "
                      f"{score['em_bic']:6.3f} {ks:>7} {score['iterative']:6.3f} "
                      f"{score['knn']:6.3f} {score['mean']:6.3f} | {ratio:5.2f} | "
                      f"{times['em']:6.3f} {times['iterative']:7.3f} {time_ratio:5.2f}",
                      flush=True)
                rows.append((name, mechanism, rate, score, time_ratio))
    summarize(rows)
    return rows


def summarize(rows):
    em = np.array([row[3]["em"] for row in rows])
    iterative = np.array([row[3]["iterative"] for row in rows])
    knn = np.array([row[3]["knn"] for row in rows])
    time_ratios = np.array([row[4] for row in rows])
    ratios = em / iterative
    print(f"\nmean RMSE over the grid: EMImputer {em.mean():.4f}, IterativeImputer "
          f"{iterative.mean():.4f}, KNNImputer {knn.mean():.4f}")
    print(f"EMImputer lower than IterativeImputer on {np.sum(ratios < 1)}/{len(rows)} cells; "
          f"worst cell ratio {ratios.max():.3f}; best {ratios.min():.3f}")
    print(f"time ratio EMImputer / IterativeImputer: max {time_ratios.max():.3f}, "
          f"median {np.median(time_ratios):.3f}")
    knn_wins = [f"{name} {mechanism} {rate:.0%}" for (name, mechanism, rate, score, _)
                in rows if score["knn"] < score["em"]]
    print(f"KNNImputer beats EMImputer on {len(knn_wins)} cells: "
          + (", ".join(knn_wins) if knn_wins else "none"))


def multimodal(n_masks, seed=0):
    X, _ = make_blobs(n_samples=600, n_features=5, centers=4, cluster_std=1.0,
                      random_state=seed)
    X = standardized(X)
    scores = {name: [] for name in ("1 component", "4 components", "BIC", "iterative", "knn")}
    chosen = []
    for mask in masks(X, "MCAR", 0.2, n_masks, seed):
        X_missing = np.where(mask, np.nan, X)
        for k, name in ((1, "1 component"), (4, "4 components")):
            out = EMImputer(k, n_init=3, random_state=0).fit_transform(X_missing)
            scores[name].append(rmse(out, X, mask))
        out, k = best_by_bic(X_missing, components=(1, 2, 3, 4, 5, 6))
        scores["BIC"].append(rmse(out, X, mask))
        chosen.append(k)
        scores["iterative"].append(rmse(IterativeImputer(random_state=0)
                                        .fit_transform(X_missing), X, mask))
        scores["knn"].append(rmse(KNNImputer().fit_transform(X_missing), X, mask))
    print("\nmultimodal: make_blobs(600 rows, 5 features, 4 centers), 20% MCAR, "
          f"RMSE mean of {n_masks} masks")
    for name, values in scores.items():
        print(f"  {name:>13}: {np.mean(values):.3f}")
    print(f"  components chosen by BIC: {chosen}")


def pipeline_accuracy(seed=0):
    data = load_breast_cancer()
    rng = np.random.RandomState(seed)
    X = np.where(mcar_mask(data.data.shape, 0.2, rng), np.nan, data.data)
    y = data.target
    outer = StratifiedKFold(5, shuffle=True, random_state=seed)

    def classifier(imputer):
        return make_pipeline(imputer, StandardScaler(), LogisticRegression(max_iter=1000))

    searched = GridSearchCV(classifier(EMImputer(random_state=0)),
                            {"emimputer__n_components": [1, 2, 3]}, cv=3)
    print("\npipeline on breast_cancer, 20% MCAR: imputer + StandardScaler + "
          "LogisticRegression, 5-fold accuracy")
    for name, model in (
        ("EMImputer, GridSearchCV(n_components)", searched),
        ("EMImputer()", classifier(EMImputer(random_state=0))),
        ("IterativeImputer()", classifier(IterativeImputer(random_state=0))),
    ):
        start = time.perf_counter()
        scores = cross_val_score(model, X, y, cv=outer)
        print(f"  {name:>38}: {scores.mean():.4f} +- {scores.std():.4f} "
              f"({time.perf_counter() - start:.1f}s)")


def sweep(datasets, rates, n_masks):
    """RMSE and time over the grid for a few reg_covar and tol values (defaults' evidence)."""
    print("\nsweep: mean RMSE and total fit+transform time of EMImputer over the grid")
    grid = []
    for name in datasets:
        X = standardized(DATASETS[name]().data)
        for mechanism in MECHANISMS:
            for rate in rates:
                seed = sum(map(ord, f"{name}{mechanism}{rate}"))
                grid.extend((X, mask) for mask in masks(X, mechanism, rate, n_masks, seed))
    for parameter, values in (("reg_covar", (1e-6, 1e-3, 1e-2, 3e-2, 1e-1)),
                              ("tol", (1e-2, 1e-3, 1e-4, 1e-6))):
        for value in values:
            errors, seconds, iterations = [], 0.0, []
            for X, mask in grid:
                imputer = EMImputer(random_state=0, max_iter=1000, **{parameter: value})
                out, t = timed_fit_transform(imputer, np.where(mask, np.nan, X))
                errors.append(rmse(out, X, mask))
                seconds += t
                iterations.append(imputer.n_iter_)
            print(f"  {parameter}={value:<8g} mean RMSE {np.mean(errors):.4f}  "
                  f"median iterations {np.median(iterations):5.0f}  time {seconds:6.2f}s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small data sets, one mask")
    parser.add_argument("--sweep", action="store_true", help="only sweep reg_covar and tol")
    args = parser.parse_args()
    if args.quick:
        datasets, rates, n_masks = ("iris", "wine"), (0.2,), 1
    else:
        datasets, rates, n_masks = tuple(DATASETS), RATES, 5
    with threadpool_limits(limits=1, user_api="blas"):
        if args.sweep:
            sweep(datasets, rates, n_masks)
            return
        accuracy_grid(datasets, rates, n_masks)
        multimodal(n_masks)
        if not args.quick:
            pipeline_accuracy()


if __name__ == "__main__":
    main()
