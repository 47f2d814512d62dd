"""Log-space primitives.

Every probability in emlearn lives in log space; these helpers are the only
places where a log-probability is exponentiated or normalized.  They accept
slices that are entirely ``-inf`` (zero probability): such a slice has a
log-sum-exp of ``-inf`` and normalizes to all zeros instead of NaN, so it
contributes nothing to sufficient statistics.
"""

import numpy as np

# exp(x) for x below about -708 is subnormal or zero, and numpy computes it on a
# slow scalar path (~15x slower than the vectorized one; E-steps are full of such
# values: far components).  After shifting by the slice max, entries are clipped
# here: exp(-700) ~ 1e-304 is nothing next to the max term (1), so every sum,
# normalization and log-sum-exp is unchanged to double precision.
EXP_FLOOR = -700.0


def _exp_shifted(a, axis, out=None):
    """``(exp(a - m), m, dead)`` with ``m`` the slice max (kept dims).

    ``dead`` marks slices that are all ``-inf`` (their ``m`` is set to 0 and
    their exponentials to 0), or None when there is none.
    """
    m = np.max(a, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    dead = None
    if not finite.all():
        dead = ~finite
        m[dead] = 0.0
    p = np.subtract(a, m, out=out)
    np.maximum(p, EXP_FLOOR, out=p)
    np.exp(p, out=p)
    if dead is not None:
        p *= ~dead
    return p, m, dead


def logsumexp(a, axis=0, keepdims=False):
    """``log(sum(exp(a), axis))`` without overflow or underflow.

    Parameters
    ----------
    a : ndarray
        Log-values.
    axis : int, default=0
        Axis to reduce.
    keepdims : bool, default=False
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray
        The log of the sum of the exponentials; ``-inf`` where every entry of
        the slice is ``-inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from emlearn._core.logsumexp import logsumexp
    >>> float(logsumexp(np.array([-1000.0, -1000.0])))
    -999.30685...
    """
    p, m, _ = _exp_shifted(np.asarray(a, dtype=np.float64), axis)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(p, axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def exp_normalize(a, axis=0, out=None):
    """Probabilities ``exp(a - logsumexp(a))`` and ``logsumexp(a)`` in one pass.

    One exponential per entry: ``exp(a - max)`` is computed once and divided by
    its sum.  Pass ``out=a`` to work in place (``a`` is then overwritten).

    Returns
    -------
    probabilities : ndarray
        Same shape as ``a``; each slice sums to one, or is all zeros where the
        slice of ``a`` is all ``-inf``.
    log_norm : ndarray
        ``logsumexp(a, axis)``.
    """
    p, m, dead = _exp_shifted(a, axis, out=out)
    total = np.sum(p, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        log_norm = np.log(total) + m
    if dead is not None:
        total[dead] = 1.0
    p *= 1.0 / total
    return p, np.squeeze(log_norm, axis=axis)


def shifted_exp(a, axis=0, out=None):
    """Leave log space safely: ``(exp(a - max), max)`` along ``axis``.

    The largest entry of each slice maps to 1, so nothing overflows and at
    least one entry per (finite) slice does not underflow.  ``max`` is kept
    with length one along ``axis`` (0 for an all ``-inf`` slice, whose
    exponentials are all 0); ``log(result) + max`` recovers ``a`` wherever
    ``a - max >= -700``.
    """
    p, m, _ = _exp_shifted(a, axis, out=out)
    return p, m
