"""emlearn: Expectation-Maximization estimators for scikit-learn.

- :class:`GaussianMixtureEM`: Gaussian mixtures (clustering, density estimation).
- :class:`HMMEM`: hidden Markov models trained by Baum-Welch (regimes, sequences).
"""

from .hmm import HMMEM
from .mixture import GaussianMixtureEM

__version__ = "0.1.0"
__all__ = ["GaussianMixtureEM", "HMMEM", "__version__"]
