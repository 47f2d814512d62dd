import numpy as np
import pytest
from scipy.special import logsumexp as scipy_logsumexp

from emlearn._core.logsumexp import exp_normalize, logsumexp, shifted_exp


@pytest.fixture
def values():
    rng = np.random.RandomState(0)
    return rng.normal(scale=300.0, size=(7, 11))


@pytest.mark.parametrize("axis", [0, 1])
def test_logsumexp_matches_scipy(values, axis):
    np.testing.assert_allclose(
        logsumexp(values, axis=axis), scipy_logsumexp(values, axis=axis), rtol=1e-13
    )


def test_logsumexp_extreme_values_do_not_overflow():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(logsumexp(a, axis=1), [1000 + np.log(2), -1000 + np.log(2)])


def test_all_minus_inf_slice_has_zero_probability_not_nan():
    a = np.array([[-np.inf, 0.0], [-np.inf, np.log(3.0)]])
    assert logsumexp(a, axis=0)[0] == -np.inf
    p, log_norm = exp_normalize(a.copy(), axis=0)
    np.testing.assert_array_equal(p[:, 0], [0.0, 0.0])
    np.testing.assert_allclose(p[:, 1], [0.25, 0.75])
    assert log_norm[0] == -np.inf


@pytest.mark.parametrize("axis", [0, 1])
def test_exp_normalize_matches_definition(values, axis):
    p, log_norm = exp_normalize(values.copy(), axis=axis)
    expected_norm = scipy_logsumexp(values, axis=axis, keepdims=True)
    np.testing.assert_allclose(log_norm, np.squeeze(expected_norm, axis), rtol=1e-13)
    np.testing.assert_allclose(p, np.exp(values - expected_norm), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-14)


def test_exp_normalize_in_place(values):
    a = values.copy()
    p, _ = exp_normalize(a, axis=0, out=a)
    assert p is a


def test_shifted_exp_recovers_log_values(values):
    p, m = shifted_exp(values, axis=1)
    assert np.all(p.max(axis=1) == 1.0)
    close = values - m > -700
    np.testing.assert_allclose((np.log(p) + m)[close], values[close], rtol=1e-12)


def test_far_tail_is_negligible_not_wrong():
    # Entries more than 700 below the max are floored (fast exp path): their
    # probabilities are below 1e-300, as the exact ones (0 or subnormal) are.
    a = np.array([0.0, -720.0, -5000.0, -np.inf])
    p, log_norm = exp_normalize(a.copy())
    assert p[0] == 1.0 and np.all(p[1:] < 1e-300) and log_norm == 0.0
