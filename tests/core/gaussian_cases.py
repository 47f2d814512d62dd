"""Random covariances of every type, and their dense matrices, for the core tests."""

import numpy as np


def random_covariances(name, rng, n_components, n_features, ridge):
    """Covariances of covariance type ``name``; ``ridge`` is added to full matrices."""
    def spd():
        a = rng.normal(size=(n_features, n_features))
        return a @ a.T + ridge * np.eye(n_features)

    return {
        "full": lambda: np.stack([spd() for _ in range(n_components)]),
        "tied": spd,
        "diag": lambda: rng.uniform(0.5, 2.0, size=(n_components, n_features)),
        "spherical": lambda: rng.uniform(0.5, 2.0, size=n_components),
    }[name]()


def dense(name, covariances, k, n_features):
    """The full covariance matrix of component ``k``."""
    return {
        "full": lambda: covariances[k],
        "tied": lambda: covariances,
        "diag": lambda: np.diag(covariances[k]),
        "spherical": lambda: covariances[k] * np.eye(n_features),
    }[name]()
