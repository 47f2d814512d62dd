"""Starting responsibilities for EM, as scikit-learn's mixture offers them.

Each method returns a dense ``(n_samples, n_components)`` responsibility
matrix; the model turns it into starting parameters with one M-step.  Sample
weights are honoured where the method can use them (``kmeans``,
``k-means++``, ``random_from_data``, ``hierarchical``), so a weight of 2 behaves like a
duplicated row and a weight of 0 like a removed one.
"""

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from .hierarchical import hierarchical_labels

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical")


def _one_hot(n_samples, n_components, rows, columns):
    resp = np.zeros((n_samples, n_components))
    resp[rows, columns] = 1.0
    return resp


def initial_responsibilities(X, n_components, method, random_state, sample_weight=None):
    """Responsibilities that start EM.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Complete (NaN-free) data.
    n_components : int
    method : {"kmeans", "k-means++", "random", "random_from_data", "hierarchical"}
        ``kmeans``: hard labels of one k-means run; ``k-means++``: each
        component starts on one k-means++ seed point; ``random``: uniform random
        responsibilities; ``random_from_data``: each component starts on a
        distinct random row; ``hierarchical``: hard labels of model-based
        agglomerative clustering cut at ``n_components`` clusters
        (:mod:`emlearn._core.hierarchical`), which does not use
        ``random_state``.
    random_state : numpy.random.RandomState
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    n_samples = X.shape[0]
    if n_components == 1 and method in ("kmeans", "random"):
        # What both methods return for one component, without running k-means.
        return np.ones((n_samples, 1))
    if method == "kmeans":
        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
            .fit(X, sample_weight=sample_weight)
            .labels_
        )
        return _one_hot(n_samples, n_components, np.arange(n_samples), labels)
    if method == "k-means++":
        _, indices = kmeans_plusplus(
            X, n_components, random_state=random_state, sample_weight=sample_weight
        )
        return _one_hot(n_samples, n_components, indices, np.arange(n_components))
    if method == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        return resp / resp.sum(axis=1, keepdims=True)
    if method == "random_from_data":
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
        return _one_hot(n_samples, n_components, indices, np.arange(n_components))
    if method == "hierarchical":
        labels = hierarchical_labels(X, n_components, sample_weight)
        return _one_hot(n_samples, n_components, np.arange(n_samples), labels)
    raise ValueError(f"init_params must be one of {INIT_METHODS}, got {method!r}.")


def kmeans_labels(X, n_clusters, random_state):
    """k-means labels of the rows of ``X`` that do not depend on the rows' order.

    k-means itself does (its seeding walks the rows in order), so it runs on
    the rows sorted lexicographically and the labels are mapped back: a model
    fitted on the same sequences given in another order starts the same.
    """
    order = np.lexsort(X.T[::-1])
    labels = np.empty(len(X), dtype=np.intp)
    labels[order] = KMeans(n_clusters=n_clusters, n_init=1,
                           random_state=random_state).fit(X[order]).labels_
    return labels
