"""emlearn: Expectation-Maximization estimators for scikit-learn.

- :class:`GaussianMixtureEM`: Gaussian mixtures (clustering, density estimation),
  with missing values.
- :class:`EMImputer`: missing-value imputation under a Gaussian or a Gaussian mixture.
"""

from .impute import EMImputer
from .mixture import GaussianMixtureEM

__version__ = "0.1.0"
__all__ = ["EMImputer", "GaussianMixtureEM", "__version__"]
