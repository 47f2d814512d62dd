"""scikit-learn's estimator checks over every public estimator, no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from emlearn import HMMEM, EMImputer, GaussianMixtureEM, GaussianMixtureSearch

ESTIMATORS = [GaussianMixtureEM(), GaussianMixtureSearch(), HMMEM(), EMImputer()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_discrete_hmm_families_only_reject_what_the_checks_feed():
    """The estimator checks feed real-valued X, which is neither symbols nor counts.

    Categorical and Poisson emissions must reject it with a clear error naming X;
    every check they fail must fail for that reason and no other.
    """
    from sklearn.utils.estimator_checks import check_estimator

    for emission in ("categorical", "poisson"):
        results = check_estimator(HMMEM(emission=emission), on_fail=None)
        failed = [r for r in results if r["status"] == "failed"]
        assert len(failed) < len(results)
        for result in failed:
            message = str(result["exception"])
            assert "X must hold" in message or "negative input values" in message, (
                emission, result["check_name"], message)
