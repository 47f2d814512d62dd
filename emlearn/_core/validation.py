"""Validation of hyper-parameters and inputs, with errors that name the argument."""

import numbers

import numpy as np


def check_integer(name, value, minimum=None, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}.")


def check_real(name, value, minimum=None, exclusive_minimum=False, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if minimum is not None:
        if value < minimum or (exclusive_minimum and value == minimum):
            relation = ">" if exclusive_minimum else ">="
            raise ValueError(f"{name} must be {relation} {minimum}, got {value!r}.")


def check_option(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}.")


def check_n_jobs(value):
    check_integer("n_jobs", value, allow_none=True)
    if value == 0:
        raise ValueError("n_jobs must not be 0 (use None, a positive count, or -1).")


def check_sample_weight(sample_weight, n_samples):
    """Float64 copy-free view of ``sample_weight``, or None when not given.

    Raises ValueError when the weights have the wrong shape, are negative or
    non-finite, or are all zero.
    """
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({n_samples},), "
            f"got {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight must be finite.")
    if np.any(weights < 0):
        raise ValueError("sample_weight must be non-negative.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight must contain at least one non-zero weight.")
    return weights


def float_array(name, value):
    """``value`` as a new float64 array; a TypeError naming ``name`` if it is not numeric."""
    try:
        return np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, "
                        f"got {value!r}.") from None


def check_random_state(name, value):
    """:func:`sklearn.utils.check_random_state`, with an error naming the argument."""
    from sklearn.utils import check_random_state as sklearn_check

    try:
        return sklearn_check(value)
    except ValueError:
        raise ValueError(f"{name} must be None, an int or a numpy RandomState, "
                         f"got {value!r}.") from None


def check_array_init(name, value, shape):
    """A float64 copy of a user-supplied array (never a view), with the expected shape."""
    array = float_array(name, value)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite.")
    return array


def check_probabilities(name, value, shape, axis=-1):
    """Non-negative entries that sum to one along ``axis``."""
    array = check_array_init(name, value, shape)
    if np.any(array < 0) or np.any(array > 1):
        raise ValueError(f"{name} must lie in [0, 1].")
    if not np.allclose(array.sum(axis=axis), 1.0, rtol=0, atol=1e-6):
        what = "rows of " if array.ndim > 1 else ""
        raise ValueError(f"The {what}{name} must sum to 1.")
    return array


def check_concentration(name, value, shape):
    """A Dirichlet concentration: a positive scalar, or a positive array of ``shape``."""
    array = float_array(name, value)
    if array.ndim and array.shape != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape}.")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must be positive.")
    return array
