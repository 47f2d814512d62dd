"""
Gaussian mixture: components as ellipses, and BIC to choose the model
======================================================================

A Gaussian mixture describes data as a weighted sum of Gaussian components.  This
example fits :class:`~emlearn.GaussianMixtureEM` to a two-dimensional data set
made of three clusters -- two elongated, one round -- draws every fitted
component as an ellipse, and then chooses the number of components and the
covariance structure by the Bayesian information criterion (BIC).
"""

# %%
# The data: three clusters of different shapes
# --------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from emlearn import GaussianMixtureEM

def rotation(degrees):
    angle = np.radians(degrees)
    return np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])


rng = np.random.RandomState(0)
stretched = rng.normal(size=(250, 2)) * [2.5, 0.4] @ rotation(25)
tilted = rng.normal(size=(200, 2)) * [1.6, 0.35] @ rotation(-60) + [6.0, 0.5]
round_ = 0.7 * rng.normal(size=(150, 2)) + [1.0, 5.0]
X = np.vstack([stretched, tilted, round_])
truth = np.repeat([0, 1, 2], [250, 200, 150])


# %%
# Each component as an ellipse
# ----------------------------
# The ellipses are the 1-, 2- and 3-standard-deviation contours of each fitted
# component: for a covariance matrix with eigenvalues :math:`\lambda_1,
# \lambda_2`, the axes have half-lengths :math:`k\sqrt{\lambda_i}` along the
# eigenvectors.  ``covariances_`` has one shape per covariance type, so it is
# first turned into one full matrix per component.
def full_covariances(gm):
    """The covariance matrix of every component, whatever the covariance type."""
    k, d = gm.means_.shape
    c = gm.covariances_
    if gm.covariance_type == "full":
        return c
    if gm.covariance_type == "tied":
        return np.repeat(c[None], k, axis=0)
    if gm.covariance_type == "diag":
        return np.stack([np.diag(row) for row in c])
    return c[:, None, None] * np.eye(d)  # spherical: one variance per component


def draw_components(gm, ax):
    for k, (mean, cov) in enumerate(zip(gm.means_, full_covariances(gm))):
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        angle = np.degrees(np.arctan2(eigenvectors[1, -1], eigenvectors[0, -1]))
        for n_std in (1, 2, 3):
            width, height = 2 * n_std * np.sqrt(eigenvalues[::-1])
            ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False,
                                 color=f"C{k}", alpha=0.9 / n_std, lw=1.5))
        ax.plot(*mean, "k+", ms=10)


fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), sharex=True, sharey=True)
for ax, covariance_type in zip(axes, ["full", "tied", "diag", "spherical"]):
    gm = GaussianMixtureEM(3, covariance_type=covariance_type, n_init=3,
                           random_state=0).fit(X)
    labels = gm.predict(X)
    ax.scatter(*X.T, c=[f"C{label}" for label in labels], s=4, alpha=0.4)
    draw_components(gm, ax)
    ax.set_title(f"{covariance_type}: BIC {gm.bic(X):.0f}")
    ax.set_aspect("equal")
fig.suptitle("Three components, four covariance structures")
fig.tight_layout()

# %%
# ``full`` gives each component its own orientation and spread and follows the
# three clusters; ``tied`` forces one shared ellipse on all of them, ``diag``
# keeps the axes parallel to the coordinates and ``spherical`` makes every
# component round.  The BIC in each title already says which fits best for the
# number of parameters it spends (lower is better).
#
# Choosing the number of components and the covariance type
# ---------------------------------------------------------
# BIC is :math:`-2 \log L + p \log n`: the fit, penalized by the number of free
# parameters :math:`p` times the log of the number of rows.  We compute it over a
# grid of ``n_components`` x ``covariance_type``, with a few restarts per model
# so that each point is the best of several local optima.
n_components_range = range(1, 8)
covariance_types = ["full", "tied", "diag", "spherical"]
bic = {
    covariance_type: [
        GaussianMixtureEM(n, covariance_type=covariance_type, n_init=3,
                          random_state=0).fit(X).bic(X)
        for n in n_components_range
    ]
    for covariance_type in covariance_types
}
best_type = min(bic, key=lambda name: min(bic[name]))
best_n = n_components_range[int(np.argmin(bic[best_type]))]
print(f"lowest BIC: covariance_type={best_type!r}, n_components={best_n}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for covariance_type in covariance_types:
    ax.plot(n_components_range, bic[covariance_type], "o-", label=covariance_type)
ax.plot(best_n, bic[best_type][best_n - 1], "k*", ms=16, label="lowest")
ax.set_xlabel("n_components")
ax.set_ylabel("BIC (lower is better)")
ax.legend(title="covariance_type")
ax.set_title("BIC over the grid")
fig.tight_layout()

# %%
# The same search with scikit-learn's tools
# -----------------------------------------
# :class:`~sklearn.model_selection.GridSearchCV` maximizes a score, so a BIC-based
# scorer returns minus the BIC of the fitted model on the data it is given.
# Cross-validation is not needed for BIC itself, so a single split that trains
# and scores on all rows reproduces the grid above.
from sklearn.model_selection import GridSearchCV


def negative_bic(estimator, X, y=None):
    return -estimator.bic(X)


all_rows = [(np.arange(len(X)), np.arange(len(X)))]
search = GridSearchCV(
    GaussianMixtureEM(n_init=3, random_state=0),
    {"n_components": list(n_components_range), "covariance_type": covariance_types},
    scoring=negative_bic, cv=all_rows,
).fit(X)
print("GridSearchCV picks", search.best_params_)

# %%
# How well does the chosen model recover the three clusters?
from sklearn.metrics import adjusted_rand_score

chosen = search.best_estimator_
print(f"adjusted Rand index against the true clusters: "
      f"{adjusted_rand_score(truth, chosen.predict(X)):.3f}")
