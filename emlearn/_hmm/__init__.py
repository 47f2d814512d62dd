"""The Markov-chain half of an HMM: sequences, forward-backward and Viterbi.

Nothing here knows what a state emits: the recursions take per-row, per-state
emission log-likelihoods from a component family (:mod:`emlearn._core.families`).
"""
