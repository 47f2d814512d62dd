"""emlearn: Expectation-Maximization estimators for scikit-learn.

- :class:`GaussianMixtureEM`: Gaussian mixtures (clustering, density estimation),
  with missing values.
- :class:`HMMEM`: hidden Markov models trained by Baum-Welch (regimes, sequences).
- :class:`EMImputer`: missing-value imputation under a Gaussian or a Gaussian mixture,
  and multiple imputation, pooled by :func:`pool_rubin` (Rubin's rules).
- :class:`GaussianMixtureSearch`: the best Gaussian mixture over sizes and
  covariance types by BIC, ICL or AIC, as mclust's ``Mclust`` selects it.
"""

from .hmm import HMMEM
from .impute import EMImputer
from .mixture import GaussianMixtureEM
from .pooling import pool_rubin
from .search import GaussianMixtureSearch

__version__ = "0.1.0"
__all__ = ["EMImputer", "GaussianMixtureEM", "GaussianMixtureSearch", "HMMEM", "pool_rubin",
           "__version__"]
