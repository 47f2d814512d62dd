"""
Hidden Markov model: detecting regimes in a time series
=======================================================

A hidden Markov model explains a series by a hidden state that follows a Markov
chain and decides the distribution of each observation.  Here we simulate daily
returns that switch between three regimes -- calm, trending and turbulent -- fit
:class:`~emlearn.HMMEM` with Gaussian emissions, choose the number of states by
BIC, and plot the posterior probability of each state under the series.
"""

# %%
# A simulated series with three regimes
# -------------------------------------
# Regimes persist: each day the chain stays in its regime with probability 0.98
# (calm), 0.95 (trending) or 0.9 (turbulent).
import matplotlib.pyplot as plt
import numpy as np

from emlearn import HMMEM

rng = np.random.RandomState(7)
transmat = np.array([[0.98, 0.01, 0.01],
                     [0.03, 0.95, 0.02],
                     [0.05, 0.05, 0.90]])
means = np.array([0.0, 0.6, -0.4])
scales = np.array([0.5, 0.7, 2.0])
n_days = 1500
regime = np.zeros(n_days, dtype=int)
for t in range(1, n_days):
    regime[t] = rng.choice(3, p=transmat[regime[t - 1]])
returns = rng.normal(means[regime], scales[regime])
X = returns[:, None]  # one feature, one row per day

# %%
# How many states?
# ----------------
# BIC penalizes the log-likelihood by the number of free parameters: the start
# probabilities, the transition matrix and the emission parameters.  Each
# candidate gets a few restarts (in parallel) to avoid a poor local optimum.
models = {k: HMMEM(k, n_init=4, n_jobs=2, random_state=0).fit(X) for k in range(1, 6)}
bic = {k: model.bic(X) for k, model in models.items()}
for k, value in bic.items():
    print(f"{k} states: BIC {value:9.1f}")
n_states = min(bic, key=bic.get)
print(f"lowest BIC: {n_states} states")

# %%
# The fitted model
# ----------------
# States are numbered arbitrarily; we order them by their volatility so that the
# comparison with the simulated regimes is easy to read.
model = models[n_states]
order = np.argsort(model.covariances_[:, 0])
print("state means      :", np.round(model.means_[order, 0], 2), "(true", means, ")")
print("state std devs   :", np.round(np.sqrt(model.covariances_[order, 0]), 2),
      "(true", scales, ")")
print("stay probabilities:", np.round(np.diag(model.transmat_)[order], 3),
      "(true", np.diag(transmat), ")")

# %%
# Posterior state probabilities under the data
# --------------------------------------------
# ``predict_proba`` gives, for every day, the probability of each state given the
# *whole* series (forward-backward smoothing); ``predict`` gives the single most
# likely path (Viterbi).  The bottom strip shows the simulated regimes.
posteriors = model.predict_proba(X)[:, order]
path = np.argsort(order)[model.predict(X)]  # Viterbi states, renumbered by volatility
print(f"days on the right regime (Viterbi): {np.mean(path == regime):.1%}")

names = ["calm", "trending", "turbulent"]
colors = ["C0", "C2", "C3"]
days = np.arange(n_days)
fig, (top, middle, bottom) = plt.subplots(
    3, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2, 0.4]})
top.plot(days, returns, color="0.3", lw=0.6)
top.set_ylabel("daily return")
top.set_title(f"Simulated returns and the posterior of a {n_states}-state HMM")
middle.stackplot(days, posteriors.T, colors=colors, labels=names, alpha=0.8)
middle.set_ylim(0, 1)
middle.set_ylabel("P(state | series)")
middle.legend(loc="upper left", ncol=3, fontsize="small")
bottom.imshow(regime[None], aspect="auto", interpolation="nearest",
              cmap=plt.matplotlib.colors.ListedColormap(colors),
              extent=(-0.5, n_days - 0.5, 0, 1))
bottom.set_yticks([])
bottom.set_ylabel("true", rotation=0, ha="right", va="center")
bottom.set_xlabel("day")
fig.tight_layout()

# %%
# Several sequences
# -----------------
# Real data often come as many separate sequences (one per asset, patient or
# recording).  Give their rows with ``lengths`` (consecutive blocks, hmmlearn's
# convention) or ``sequence_ids`` (one label per row).  No transition is assumed
# between the end of one sequence and the start of the next.
lengths = [500, 500, 500]
per_sequence = HMMEM(n_states, n_init=4, n_jobs=2, random_state=0).fit(X, lengths=lengths)
print("log-likelihood of each sequence:",
      np.round(per_sequence.score_sequences(X, lengths=lengths), 1))
