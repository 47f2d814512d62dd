"""Drop-in replacements for other libraries' estimators, computing with emlearn.

:mod:`emlearn.compat.hmmlearn`: hmmlearn 0.3's ``GaussianHMM``, ``GMMHMM``,
``CategoricalHMM``, ``MultinomialHMM`` and ``PoissonHMM``.
"""
