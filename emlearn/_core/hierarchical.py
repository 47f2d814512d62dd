"""Model-based agglomerative clustering: the ``"hierarchical"`` EM start.

Every row starts as its own cluster; each step merges the two clusters whose
merge lowers the classification likelihood of a Gaussian model with
unconstrained covariances the least (Banfield and Raftery 1993; Fraley 1998).
With ``n_C`` rows and scatter matrix ``W_C`` (the sum of the outer products of
its centered rows), cluster ``C`` costs

    n_C log det((W_C + gamma_C I) / n_C),
    gamma_C = alpha tr(W) / (n d) + beta tr(W_C),

the negative profile classification log-likelihood up to constants, with a
ridge ``gamma_C I`` that keeps the determinant defined for clusters with
fewer rows than dimensions: the average variance of the data (``W`` is the
scatter of all rows) plus the cluster's own total scatter.  With
``alpha = beta = 1`` this reproduces the trees of R's mclust closely (on the
wine data, the same partitions at every cut from 1 to 9 clusters; measured,
not derived).

A merge costs ``cost(A + B) - cost(A) - cost(B)``, with ``W_{A+B} = W_A +
W_B + n_A n_B / (n_A + n_B) (m_A - m_B)(m_A - m_B)^T``.  After a merge only
the costs of the pairs holding the new cluster change; they are computed for
all other clusters at once (one batched log-determinant), and every cluster
keeps its cheapest partner, so finding the next merge is one pass over the
clusters, not over all pairs.  Pairs of single rows have a rank-one scatter
and a closed-form cost.

The agglomeration runs on a scaled SVD of the standardized data
(``Z = U D^{1/2}`` for ``(X - mean) / std = U D V^T``), the transformation
Scrucca and Raftery (2015) recommend for starting EM (and mclust's default).

Costs: O(n^2 d^3) time over the whole agglomeration and O(n^2 + n d^2)
memory (about 3 s for 569 rows in 30 dimensions), so it runs on at most
:data:`MAX_SAMPLES` distinct rows: a subsample drawn with a fixed seed; the
other rows join the cluster under which they are most likely.
"""

import hashlib
import threading
from collections import OrderedDict

import numpy as np

#: Largest number of rows the agglomeration runs on; larger data are subsampled.
MAX_SAMPLES = 1000
#: Seed of the subsample, fixed so that the start depends on the data only.
SUBSAMPLE_SEED = 0
ALPHA = 1.0
BETA = 1.0


# -- transformation -----------------------------------------------------------------
class ScaledSVD:
    """The map ``x -> ((x - mean) / std) V D^{-1/2}`` fitted on some rows.

    Constant columns keep a unit scale; directions with (numerically) zero
    singular value are dropped, so ``Z`` has full column rank.
    """

    def __init__(self, X, weights):
        self.mean = weights @ X / weights.sum()
        centered = X - self.mean
        std = np.sqrt(weights @ centered**2 / weights.sum())
        self.std = np.where(std > 0, std, 1.0)
        _, singular, vt = np.linalg.svd(
            np.sqrt(weights)[:, None] * centered / self.std, full_matrices=False
        )
        keep = singular > singular[:1].max(initial=0.0) * 1e-10
        self.rotation = vt[keep].T / np.sqrt(singular[keep])

    def __call__(self, X):
        return (X - self.mean) / self.std @ self.rotation


# -- agglomeration ------------------------------------------------------------------
def ridge_floor(Z, weights, alpha=ALPHA):
    """``alpha * tr(W) / (n d)``: the average variance of the (weighted) data."""
    centered = Z - weights @ Z / weights.sum()
    floor = alpha * (weights @ centered**2).sum() / (weights.sum() * Z.shape[1])
    return floor if floor > 0 else 1.0  # all rows identical: any tree is as good


def ridge(floor, trace, beta=BETA):
    """The ridge ``gamma`` added to a scatter matrix whose trace is ``trace``."""
    return floor + beta * trace


class _Clusters:
    """Sizes, means, scatters and costs of the clusters (named by a row index)."""

    def __init__(self, Z, weights, floor, beta):
        n, d = Z.shape
        self.d = d
        self.floor = floor
        self.beta = beta
        self.size = weights.astype(np.float64).copy()
        self.mean = Z.copy()
        self.scatter = np.zeros((n, d, d))
        self.cost = self.size * d * np.log(floor / self.size)

    def singleton_pair_costs(self):
        """Merge costs of all pairs of single rows, in closed form: (n, n).

        The merged scatter is rank one, ``t u u^T`` with ``|u| = 1``, so the
        determinant of its regularized form is ``gamma^(d-1) (gamma + t)``.
        """
        size, mean = self.size, self.mean
        sq = np.einsum("ij,ij->i", mean, mean)
        dist2 = np.maximum(sq[:, None] + sq[None, :] - 2 * mean @ mean.T, 0.0)
        n_ab = size[:, None] + size[None, :]
        trace = size[:, None] * size[None, :] / n_ab * dist2
        gamma = ridge(self.floor, trace, self.beta)
        merged = n_ab * (
            (self.d - 1) * np.log(gamma) + np.log(gamma + trace) - self.d * np.log(n_ab)
        )
        return merged - self.cost[:, None] - self.cost[None, :]

    def merged(self, a, others):
        """Size, mean, scatter and cost of ``a`` merged with each of ``others``."""
        n_a, n_o = self.size[a], self.size[others]
        size = n_a + n_o
        delta = self.mean[others] - self.mean[a]
        scatter = self.scatter[others] + self.scatter[a]
        scatter += (n_a * n_o / size)[:, None, None] * delta[:, :, None] * delta[:, None, :]
        regularized = scatter.copy()
        diagonal = np.einsum("kii->ki", regularized)  # a writable view
        diagonal += ridge(self.floor, diagonal.sum(axis=1), self.beta)[:, None]
        _, logdet = np.linalg.slogdet(regularized)
        cost = size * (logdet - self.d * np.log(size))
        mean = self.mean[a] + (n_o / size)[:, None] * delta
        return size, mean, scatter, cost

    def merge_costs(self, a, others):
        return self.merged(a, others)[3] - self.cost[a] - self.cost[others]

    def absorb(self, a, b):
        """Merge cluster ``b`` into ``a``."""
        size, mean, scatter, cost = self.merged(a, np.array([b]))
        self.size[a], self.mean[a] = size[0], mean[0]
        self.scatter[a], self.cost[a] = scatter[0], cost[0]


def merge_tree(Z, weights=None, alpha=ALPHA, beta=BETA):
    """The agglomeration of the rows of ``Z`` down to one cluster.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
    weights : ndarray of shape (n_samples,), default=None
        Positive row counts (a weight of 2 is a duplicated row).

    Returns
    -------
    merges : ndarray of shape (n_samples - 1, 2)
        Row ``i`` holds the clusters ``(a, b)`` merged at step ``i``; a cluster
        is named by its smallest row index, so ``b`` joins ``a`` (``a < b``).
    """
    n = Z.shape[0]
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    clusters = _Clusters(Z, weights, ridge_floor(Z, weights, alpha), beta)
    costs = clusters.singleton_pair_costs()
    np.fill_diagonal(costs, np.inf)
    active = np.ones(n, dtype=bool)
    partner = np.argmin(costs, axis=1)  # every cluster's cheapest merge
    best = costs[np.arange(n), partner]
    merges = np.empty((max(n - 1, 0), 2), dtype=np.intp)
    for step in range(n - 1):
        i = int(np.argmin(best))
        a, b = sorted((i, int(partner[i])))
        merges[step] = a, b
        clusters.absorb(a, b)
        active[b] = False
        costs[b, :] = costs[:, b] = best[b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        if others.size == 0:
            break
        costs[a, others] = costs[others, a] = clusters.merge_costs(a, others)
        partner[a] = others[np.argmin(costs[a, others])]
        best[a] = costs[a, partner[a]]
        _refresh_partners(costs, partner, best, others, a, b)
    return merges


def _refresh_partners(costs, partner, best, others, a, b):
    """Cheapest partners after ``b`` merged into ``a`` (only ``a``'s costs changed)."""
    stale = others[(partner[others] == a) | (partner[others] == b)]
    if stale.size:
        partner[stale] = np.argmin(costs[stale], axis=1)
        best[stale] = costs[stale, partner[stale]]
    cheaper = others[costs[others, a] < best[others]]
    partner[cheaper] = a
    best[cheaper] = costs[cheaper, a]


def cut_tree(merges, n_samples, n_clusters):
    """Cluster labels ``0..n_clusters-1`` after the first ``n_samples - n_clusters`` merges.

    Labels are numbered in the order of the clusters' first rows.
    """
    parent = np.arange(n_samples)
    for a, b in merges[: n_samples - n_clusters]:
        parent[b] = a
    # Merges name clusters by their smallest row, so one pass from the left
    # resolves every row to its root.
    for row in range(n_samples):
        parent[row] = parent[parent[row]]
    _, labels = np.unique(parent, return_inverse=True)
    return labels


# -- the EM start -------------------------------------------------------------------
class _Agglomeration:
    """The tree of one data set, with what is needed to label every row from a cut.

    Identical rows start as one cluster (their count is their weight): they
    can only end up together, and the tree is smaller.
    """

    def __init__(self, X, sample_weight):
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        self.positive = np.flatnonzero(weights > 0)
        unique, inverse = np.unique(X[self.positive], axis=0, return_inverse=True)
        self.inverse = inverse.ravel()  # unique row of each positive-weight row
        self.n_unique = len(unique)
        counts = np.bincount(self.inverse, weights=weights[self.positive])
        self.rows = _subsample(self.n_unique)
        self.covers_all = len(self.positive) == X.shape[0] and len(self.rows) == self.n_unique
        self.weights = counts[self.rows]
        self.transform = ScaledSVD(unique[self.rows], self.weights)
        self.Z = self.transform(unique[self.rows])
        self.merges = merge_tree(self.Z, self.weights)

    def labels(self, X, n_clusters):
        """Labels of all rows of ``X``: the cut tree's, or the most likely cluster's."""
        n_clusters = min(n_clusters, len(self.rows))
        tree_labels = cut_tree(self.merges, len(self.rows), n_clusters)
        if self.covers_all:
            return tree_labels[self.inverse]
        labels = _most_likely_cluster(self.transform(X), self.Z, self.weights, tree_labels)
        # Rows in the tree keep their cluster.
        position = np.full(self.n_unique, -1)
        position[self.rows] = np.arange(len(self.rows))
        in_tree = position[self.inverse]
        labels[self.positive[in_tree >= 0]] = tree_labels[in_tree[in_tree >= 0]]
        return labels


def _subsample(n_rows):
    """Indices of the rows the agglomeration runs on: all, or MAX_SAMPLES of them."""
    if n_rows <= MAX_SAMPLES:
        return np.arange(n_rows)
    rng = np.random.RandomState(SUBSAMPLE_SEED)
    return np.sort(rng.choice(n_rows, MAX_SAMPLES, replace=False))


def _most_likely_cluster(Z, Z_tree, weights, labels):
    """Label each row of ``Z`` by the cluster of ``labels`` most likely to hold it.

    Each cluster is the Gaussian of its rows, with covariance
    ``(W_C + floor I) / n_C``: the ridge of the agglomeration's single rows,
    which keeps it positive definite when a cluster has fewer rows than
    dimensions, without its ``beta`` part (which would give every cluster
    nearly the total variance, and the largest cluster every row).
    """
    floor = ridge_floor(Z_tree, weights)
    log_prob = np.empty((Z.shape[0], labels.max() + 1))
    for k in range(log_prob.shape[1]):
        w, points = weights[labels == k], Z_tree[labels == k]
        mean = w @ points / w.sum()
        scatter = (w * (points - mean).T) @ (points - mean)
        scatter += floor * np.eye(Z.shape[1])
        chol = np.linalg.cholesky(scatter / w.sum())
        whitened = np.linalg.solve(chol, (Z - mean).T)
        log_prob[:, k] = (
            np.log(w.sum()) - np.log(np.diag(chol)).sum() - 0.5 * (whitened**2).sum(axis=0)
        )
    return np.argmax(log_prob, axis=1)


_CACHE = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def _fingerprint(X, sample_weight):
    digest = hashlib.blake2b(repr(MAX_SAMPLES).encode(), digest_size=16)
    for array in (X, sample_weight):
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(repr((array.shape, array.dtype.str)).encode())
            digest.update(array.data)
    return digest.hexdigest()


def _agglomeration(X, sample_weight):
    """The tree of ``X``, computed once per data set and process.

    A search over ``n_components`` and covariance types starts every fit from
    the same tree: the last few trees are kept, keyed by a hash of the data.
    """
    key = _fingerprint(X, sample_weight)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    tree = _Agglomeration(X, sample_weight)
    with _CACHE_LOCK:
        _CACHE[key] = tree
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return tree


def hierarchical_labels(X, n_clusters, sample_weight=None):
    """Labels of the model-based agglomeration of ``X`` cut at ``n_clusters``.

    Deterministic given the data: no random state is involved, except the
    fixed seed :data:`SUBSAMPLE_SEED` that draws the rows the agglomeration
    runs on when more than :data:`MAX_SAMPLES` rows have a positive weight.
    The other rows (and rows of zero weight) then take the label of the cluster
    under which they are most likely.  Sample weights count as repeated rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_clusters : int
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Integers in ``[0, n_clusters)``, each used at least once when
        ``n_clusters`` rows or more have a positive weight.
    """
    X = np.asarray(X, dtype=np.float64)
    return _agglomeration(X, sample_weight).labels(X, n_clusters)
