"""Component families: everything that depends on what a component emits.

A new family is a new module and one entry in :data:`FAMILIES`; estimators
look families up here by name and never branch on it.
"""

from .categorical import CategoricalFamily
from .gaussian import GaussianFamily
from .gaussian_mixture import GaussianMixtureFamily
from .multinomial import MultinomialFamily
from .poisson import PoissonFamily

FAMILIES = {family.name: family for family in (GaussianFamily, CategoricalFamily, PoissonFamily,
                                               MultinomialFamily, GaussianMixtureFamily)}
DEFAULT_FAMILY = GaussianFamily.name
