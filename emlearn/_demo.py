"""The demo run by ``python -m emlearn``."""

import time

import numpy as np
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from . import GaussianMixtureEM


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


def main():
    demo_mixture()
    return 0
