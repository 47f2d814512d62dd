"""The demo run by ``python -m emlearn``."""

import time

import numpy as np
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from . import HMMEM, GaussianMixtureEM


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


def main():
    demo_mixture()
    demo_hmm()
    return 0
