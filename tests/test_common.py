"""scikit-learn's estimator checks over every public estimator, no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from emlearn import EMImputer, GaussianMixtureEM

ESTIMATORS = [GaussianMixtureEM(), EMImputer()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
