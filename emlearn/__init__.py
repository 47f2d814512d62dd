"""emlearn: Expectation-Maximization estimators for scikit-learn.

- :class:`GaussianMixtureEM`: Gaussian mixtures (clustering, density estimation).
"""

from .mixture import GaussianMixtureEM

__version__ = "0.1.0"
__all__ = ["GaussianMixtureEM", "__version__"]
