"""
Imputation error against the missing rate
=========================================

How well do imputers recover values removed at random?  This example removes an
increasing fraction of the entries of the wine data set (178 wines, 13 chemical
measurements, standardized) completely at random and measures the root mean
squared error (RMSE) of the imputed entries for :class:`~emlearn.EMImputer`,
scikit-learn's :class:`~sklearn.impute.IterativeImputer` and
:class:`~sklearn.impute.KNNImputer`, and the column mean
(:class:`~sklearn.impute.SimpleImputer`).
"""

# %%
# The data and the masks
# ----------------------
# Each missing rate is tried with three random masks; the errors are measured on
# the removed entries only, in units of each column's standard deviation.
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import StandardScaler

from emlearn import EMImputer

X_full = StandardScaler().fit_transform(load_wine().data)
rates = [0.1, 0.2, 0.3, 0.4, 0.5]
n_masks = 3

imputers = {
    "EMImputer": lambda seed: EMImputer(random_state=seed),
    "IterativeImputer": lambda seed: IterativeImputer(random_state=seed),
    "KNNImputer": lambda seed: KNNImputer(),
    "mean": lambda seed: SimpleImputer(strategy="mean"),
}

# %%
# Imputing
# --------
rmse = {name: np.zeros((len(rates), n_masks)) for name in imputers}
seconds = dict.fromkeys(imputers, 0.0)
for i, rate in enumerate(rates):
    for seed in range(n_masks):
        rng = np.random.RandomState(seed)
        mask = rng.uniform(size=X_full.shape) < rate
        X = np.where(mask, np.nan, X_full)
        for name, make in imputers.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                # IterativeImputer warns when its 10 rounds do not settle.
                warnings.simplefilter("ignore", ConvergenceWarning)
                completed = make(seed).fit_transform(X)
            seconds[name] += time.perf_counter() - start
            rmse[name][i, seed] = np.sqrt(np.mean((completed[mask] - X_full[mask]) ** 2))

print("RMSE on the removed entries (mean over masks)")
print("missing  " + "  ".join(f"{name:>16}" for name in imputers))
for i, rate in enumerate(rates):
    print(f"{rate:>7.0%}  " + "  ".join(f"{rmse[name][i].mean():>16.3f}" for name in imputers))
print("total fit + transform time: "
      + ", ".join(f"{name} {seconds[name]:.2f}s" for name in imputers))

# %%
# The figure
# ----------
# The mean ignores the other columns, so its error stays near 1 (one standard
# deviation).  The model-based imputers use the correlations between columns,
# and their errors generally grow with the missing rate, as less is left to
# predict from.
fig, ax = plt.subplots(figsize=(8, 4))
for name, errors in rmse.items():
    ax.errorbar(np.array(rates) * 100, errors.mean(axis=1), yerr=errors.std(axis=1),
                marker="o", capsize=3, label=name)
ax.set_xlabel("entries removed completely at random (%)")
ax.set_ylabel("RMSE of the imputed entries\n(standardized units)")
ax.set_title("Wine data: imputation error against the missing rate")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
fig.tight_layout()

# %%
# What EMImputer does differently
# -------------------------------
# :class:`~emlearn.EMImputer` fits the maximum-likelihood Gaussian of the
# *incomplete* data by EM (no complete row is needed) and fills each missing
# entry with its conditional mean given the observed entries of its row.
# IterativeImputer regresses each column on the others in turn, for a fixed
# number of rounds.  Under a Gaussian model the two aim at similar conditional
# means; EM reaches the likelihood maximum directly and accounts for the
# uncertainty of the other imputed values in the covariance it estimates.
