"""The demo run by ``python -m emlearn``."""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from . import HMMEM, EMImputer, GaussianMixtureEM


def demo_mixture():
    """Pick a Gaussian mixture for iris by BIC and compare its clusters to the species."""
    iris = load_iris()
    X = StandardScaler().fit_transform(iris.data)
    print("GaussianMixtureEM on iris (150 flowers, 4 measurements, standardized)")
    start = time.perf_counter()
    best = None
    for covariance_type in ("full", "diag"):
        for n_components in range(1, 6):
            model = GaussianMixtureEM(
                n_components, covariance_type=covariance_type, n_init=5,
                random_state=0, n_jobs=2,
            ).fit(X)
            bic = model.bic(X)
            if best is None or bic < best[0]:
                best = (bic, model)
    bic, model = best
    labels = model.predict(X)
    print(f"  best by BIC: {model.n_components} components, "
          f"covariance_type={model.covariance_type!r} (BIC {bic:.1f})")
    print(f"  agreement with the species (adjusted Rand index): "
          f"{adjusted_rand_score(iris.target, labels):.2f}")
    print(f"  ({time.perf_counter() - start:.1f}s for 10 models x 5 parallel restarts)")
    three = GaussianMixtureEM(3, n_init=5, random_state=0, n_jobs=2).fit(X)
    print(f"  with 3 components (one per species): adjusted Rand index "
          f"{adjusted_rand_score(iris.target, three.predict(X)):.2f}, "
          f"weights {np.round(three.weights_, 2).tolist()}")


def simulated_regimes(n_days=2000, seed=0):
    """Daily returns that switch between a calm and a volatile regime."""
    rng = np.random.RandomState(seed)
    transmat = np.array([[0.99, 0.01], [0.03, 0.97]])
    regimes = np.zeros(n_days, dtype=int)
    for t in range(1, n_days):
        regimes[t] = rng.choice(2, p=transmat[regimes[t - 1]])
    volatility = np.array([0.5, 2.0])[regimes]
    returns = rng.normal(loc=np.array([0.05, -0.1])[regimes], scale=volatility)
    return returns[:, None], regimes


def demo_hmm():
    """Recover calm and volatile regimes of a simulated return series."""
    X, regimes = simulated_regimes()
    print("\nHMMEM on a simulated return series (2,000 days, calm and volatile regimes)")
    start = time.perf_counter()
    models = {k: HMMEM(k, n_init=5, random_state=0, n_jobs=2).fit(X) for k in (1, 2, 3)}
    bics = {k: model.bic(X) for k, model in models.items()}
    best = min(bics, key=bics.get)
    print("  BIC by number of states: "
          + ", ".join(f"{k}: {bic:.0f}" for k, bic in bics.items()) + f" -> {best} states")
    model = models[2]
    volatile = int(np.argmax(model.covariances_[:, 0]))
    found = (model.predict(X) == volatile).astype(int)
    print(f"  regime volatilities: {np.round(np.sqrt(np.sort(model.covariances_[:, 0])), 2)}"
          " (true [0.5, 2.0])")
    stay = np.diag(model.transmat_)[[1 - volatile, volatile]]
    print(f"  probability of staying calm / volatile: {np.round(stay, 3)} (true [0.99, 0.97])")
    print(f"  days assigned to the right regime (Viterbi): {np.mean(found == regimes):.1%}"
          f"  ({time.perf_counter() - start:.1f}s)")


def demo_imputer():
    """Impute breast_cancer with 20% of its entries removed; compare; pool 5 imputations."""
    data = load_breast_cancer()
    X = data.data
    rng = np.random.RandomState(0)
    removed = rng.uniform(size=X.shape) < 0.2
    X_missing = np.where(removed, np.nan, X)
    scale = X.std(axis=0)
    print(f"\nEMImputer on breast_cancer ({X.shape[0]} tumours, {X.shape[1]} measurements), "
          "20% of the entries removed at random")
    print("  RMSE on the removed entries, in standard deviations of each feature:")
    for name, imputer in (
        ("EMImputer()", EMImputer(random_state=0)),
        ("IterativeImputer()", IterativeImputer(random_state=0)),
        ("SimpleImputer(mean)", SimpleImputer()),
    ):
        # One BLAS thread for all three: IterativeImputer's many small solves
        # run slower, not faster, with two threads on a busy machine.
        with threadpool_limits(limits=1, user_api="blas"):
            start = time.perf_counter()
            completed = imputer.fit_transform(X_missing)
            seconds = time.perf_counter() - start
        error = np.sqrt(np.mean(((completed - X) / scale)[removed] ** 2))
        print(f"    {name:<20} {error:.3f}   ({seconds:.2f}s)")
    # Multiple imputation: each imputer is fitted on its own bootstrap resample and
    # draws the missing values; Rubin's rules pool the five analyses.
    column = list(data.feature_names).index("mean radius")
    estimates, variances = [], []
    for seed in range(5):
        completed = EMImputer(sample_posterior=True, random_state=seed).fit_transform(X_missing)
        estimates.append(completed[:, column].mean())
        variances.append(completed[:, column].var(ddof=1) / len(X))
    total = np.mean(variances) + (1 + 1 / 5) * np.var(estimates, ddof=1)
    print(f"  mean radius from 5 multiple imputations: {np.mean(estimates):.2f} "
          f"+- {np.sqrt(total):.2f} (standard error, Rubin's rules); "
          f"before removal: {X[:, column].mean():.2f}")


def main():
    demo_mixture()
    demo_hmm()
    demo_imputer()
    return 0
