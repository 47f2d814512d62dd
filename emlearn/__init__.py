"""emlearn: Expectation-Maximization estimators for scikit-learn.

- :class:`GaussianMixtureEM`: Gaussian mixtures (clustering, density estimation),
  with missing values.
- :class:`HMMEM`: hidden Markov models trained by Baum-Welch (regimes, sequences).
- :class:`EMImputer`: missing-value imputation under a Gaussian or a Gaussian mixture.
"""

from .hmm import HMMEM
from .impute import EMImputer
from .mixture import GaussianMixtureEM

__version__ = "0.1.0"
__all__ = ["EMImputer", "GaussianMixtureEM", "HMMEM", "__version__"]
